package faultinject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// ControlPath is where Wrap serves the control API on the AWS endpoint.
const ControlPath = "/_localcloud/faults"

// defaultTimeoutHold is how long ActionTimeout holds a call at most when
// the rule sets no latency.
const defaultTimeoutHold = 30 * time.Second

// throttleErrors is each service's own throttling error: what its SDK
// client and the handlers' error classification see from AWS.
var throttleErrors = map[string]struct {
	code   string
	status int
}{
	"states":            {"ThrottlingException", http.StatusBadRequest},
	"glue":              {"ThrottlingException", http.StatusBadRequest},
	"sagemaker":         {"ThrottlingException", http.StatusBadRequest},
	"sagemaker-runtime": {"ThrottlingException", http.StatusBadRequest},
	"events":            {"ThrottlingException", http.StatusBadRequest},
	"lambda":            {"TooManyRequestsException", http.StatusTooManyRequests},
	"s3":                {"SlowDown", http.StatusServiceUnavailable},
	"sqs":               {"RequestThrottled", http.StatusBadRequest},
	"sns":               {"Throttled", http.StatusBadRequest},
	"sts":               {"Throttling", http.StatusBadRequest},
	"monitoring":        {"Throttling", http.StatusBadRequest},
}

// ThrottleError returns the AWS error a throttled call to service gets.
func ThrottleError(service string) *awsproto.Error {
	t, ok := throttleErrors[service]
	if !ok {
		t.code, t.status = "ThrottlingException", http.StatusBadRequest
	}
	return awsproto.Errorf(t.status, t.code, "Rate exceeded (injected fault)")
}

var httpActions = map[string]bool{ActionThrottle: true, ActionFail: true, ActionLatency: true, ActionTimeout: true}

// Wrap puts the injector in front of the AWS endpoint's handler (the
// router): every signed request is matched by service (from its SigV4
// scope), operation and target, and a matching fault answers in the
// request's protocol before the service sees it. Requests under
// ControlPath go to the control API. A nil injector returns next.
func (inj *Injector) Wrap(next http.Handler) http.Handler {
	if inj == nil {
		return next
	}
	control := inj.ControlHandler(ControlPath)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ControlPath || strings.HasPrefix(r.URL.Path, ControlPath+"/") {
			control.ServeHTTP(w, r)
			return
		}
		scope, err := awsproto.ParseScope(r)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		service := scope.Service
		if service == "sagemaker" && strings.HasPrefix(r.URL.Path, "/endpoints/") {
			service = "sagemaker-runtime"
		}
		op, target := Operation(service, r)
		rule := inj.decide(service, op, target, func(a string) bool { return httpActions[a] })
		if rule == nil {
			next.ServeHTTP(w, r)
			return
		}
		switch rule.Action {
		case ActionLatency:
			body, err := io.ReadAll(io.LimitReader(r.Body, awsproto.MaxBodyBytes))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if !inj.sleep(r.Context(), time.Duration(rule.Latency)) {
				return
			}
			next.ServeHTTP(w, r)
		case ActionTimeout:
			// Read the request first: only then does net/http notice a
			// caller that hangs up and cancel r.Context().
			_, _ = io.Copy(io.Discard, r.Body)
			if !inj.sleep(r.Context(), latencyOr(rule, defaultTimeoutHold)) {
				return // the caller gave up, as against a service that never answers
			}
			writeError(w, r, service, awsproto.Errorf(http.StatusGatewayTimeout, "RequestTimeout", "the service did not answer in time (injected fault)"))
		case ActionThrottle:
			writeError(w, r, service, ThrottleError(service))
		case ActionFail:
			writeError(w, r, service, failError(rule))
		}
	})
}

func failError(r *Rule) *awsproto.Error {
	code, status, msg := r.Error, r.Status, r.Message
	if code == "" {
		code = "InternalFailure"
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if msg == "" {
		msg = "injected fault " + r.ID
	}
	return awsproto.Errorf(status, code, "%s", msg)
}

// writeError answers in the protocol the service speaks.
func writeError(w http.ResponseWriter, r *http.Request, service string, e *awsproto.Error) {
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		awsproto.WriteJSONError(w, r, e)
	case service == "s3":
		awsproto.WriteRESTXMLError(w, e)
	case service == "lambda" || service == "sagemaker-runtime":
		if e.Code == "TooManyRequestsException" {
			w.Header().Set("Retry-After", "1")
		}
		awsproto.WriteJSONError(w, r, e)
	case awsproto.IsQueryProtocol(r):
		awsproto.WriteQueryError(w, e)
	default:
		awsproto.WriteJSONError(w, r, e)
	}
}

// Operation names the API operation of an AWS request and its target
// (a function, endpoint, bucket/key or path) for rule matching. A
// query-protocol body is read and restored.
func Operation(service string, r *http.Request) (op, target string) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndex(t, ".")+1:], r.URL.Path
	}
	p := r.URL.Path
	if i := strings.Index(p, "/operation/"); i >= 0 { // Smithy RPC v2 CBOR
		return p[i+len("/operation/"):], p
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch service {
	case "lambda":
		// /2015-03-31/functions/{name}/invocations
		if len(parts) >= 4 && parts[1] == "functions" && parts[3] == "invocations" {
			name, _ := url.PathUnescape(parts[2])
			return OpInvoke, name
		}
	case "sagemaker-runtime":
		if len(parts) == 3 && parts[0] == "endpoints" {
			return "InvokeEndpoint", parts[1]
		}
	case "s3":
		return s3Operation(r, parts), strings.Trim(p, "/")
	}
	if awsproto.IsQueryProtocol(r) {
		if a := r.URL.Query().Get("Action"); a != "" {
			return a, p
		}
		if r.Body != nil {
			body, err := io.ReadAll(io.LimitReader(r.Body, awsproto.MaxBodyBytes))
			r.Body = io.NopCloser(bytes.NewReader(body))
			if err == nil {
				if v, err := url.ParseQuery(string(body)); err == nil {
					return v.Get("Action"), p
				}
			}
		}
	}
	return r.Method + " " + p, p
}

func s3Operation(r *http.Request, parts []string) string {
	q := r.URL.Query()
	objectLevel := len(parts) >= 2 && parts[1] != ""
	switch r.Method {
	case http.MethodPut:
		switch {
		case !objectLevel:
			return "CreateBucket"
		case r.Header.Get("x-amz-copy-source") != "":
			return "CopyObject"
		case q.Has("partNumber"):
			return "UploadPart"
		}
		return "PutObject"
	case http.MethodGet:
		if !objectLevel {
			if q.Get("list-type") == "2" {
				return "ListObjectsV2"
			}
			if q.Has("versions") {
				return "ListObjectVersions"
			}
			return "ListObjects"
		}
		return "GetObject"
	case http.MethodHead:
		if !objectLevel {
			return "HeadBucket"
		}
		return "HeadObject"
	case http.MethodDelete:
		if !objectLevel {
			return "DeleteBucket"
		}
		return "DeleteObject"
	case http.MethodPost:
		switch {
		case q.Has("delete"):
			return "DeleteObjects"
		case q.Has("uploads"):
			return "CreateMultipartUpload"
		case q.Has("uploadId"):
			return "CompleteMultipartUpload"
		}
	}
	return r.Method
}

// ControlHandler serves the control API under prefix:
//
//	GET    prefix           the rules with their counters
//	POST   prefix           add rules: a Rule or {"faults":[...]}; answers the ids
//	DELETE prefix           remove every rule
//	DELETE prefix/{id}      remove one rule
//	GET    prefix/injected  every fault injected so far
//
// Errors are JSON {"message": "..."} with a 4xx status.
func (inj *Injector) ControlHandler(prefix string) http.Handler {
	prefix = strings.TrimSuffix(prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.Trim(strings.TrimPrefix(r.URL.Path, prefix), "/")
		switch {
		case rest == "" && r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, map[string]any{"faults": inj.Rules()})
		case rest == "" && r.Method == http.MethodPost:
			rules, err := decodeRules(r)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
				return
			}
			ids, err := inj.Add(rules...)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"ids": ids})
		case rest == "" && r.Method == http.MethodDelete:
			inj.Clear()
			w.WriteHeader(http.StatusNoContent)
		case rest == "injected" && r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, map[string]any{"injected": inj.Injected()})
		case rest != "" && !strings.Contains(rest, "/") && r.Method == http.MethodDelete:
			if !inj.Remove(rest) {
				writeJSON(w, http.StatusNotFound, map[string]string{"message": fmt.Sprintf("no fault %q", rest)})
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"message": fmt.Sprintf("no control operation %s %s (see docs/chaos.md)", r.Method, r.URL.Path)})
		}
	})
}

// decodeRules reads a single Rule or a File.
func decodeRules(r *http.Request) ([]Rule, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("body must be a JSON object (a fault or {\"faults\":[...]}): %w", err)
	}
	if _, ok := probe["faults"]; ok {
		return Parse(body)
	}
	var rule Rule
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rule); err != nil {
		return nil, fmt.Errorf("decode fault: %w", err)
	}
	return []Rule{rule}, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
