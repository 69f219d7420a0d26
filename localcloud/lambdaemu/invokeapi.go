package lambdaemu

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const invokePrefix = "/2015-03-31/functions/"

// ServeHTTP serves the Lambda Invoke API (and, for tools that look before
// they invoke, GetFunction, GetFunctionConfiguration and ListFunctions):
// POST /2015-03-31/functions/{FunctionName}/invocations with
// X-Amz-Invocation-Type RequestResponse (default), Event or DryRun,
// X-Amz-Log-Type Tail and X-Amz-Client-Context, answering as Lambda does
// (200 + X-Amz-Function-Error on function errors, 202 for Event, 204 for
// DryRun, REST-JSON errors with x-amzn-ErrorType otherwise).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	path := r.URL.EscapedPath()
	if r.Method == http.MethodGet && s.serveRead(w, r, path) {
		return
	}
	if !strings.HasPrefix(path, invokePrefix) || !strings.HasSuffix(path, "/invocations") {
		writeAPIError(w, &APIError{Status: http.StatusNotFound, Code: "UnknownOperationException", Message: "the local Lambda service implements Invoke, GetFunction, GetFunctionConfiguration and ListFunctions, not " + r.Method + " " + r.URL.Path})
		return
	}
	if r.Method != http.MethodPost {
		writeAPIError(w, &APIError{Status: http.StatusMethodNotAllowed, Code: "UnknownOperationException", Message: "Invoke takes POST, not " + r.Method})
		return
	}
	name, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(path, invokePrefix), "/invocations"))
	if err != nil || name == "" || strings.Contains(name, "/") {
		writeAPIError(w, &APIError{Status: http.StatusBadRequest, Code: "ValidationException", Message: "invalid function name in path " + r.URL.Path})
		return
	}
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		name += ":" + q
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSyncPayload+1))
	if err != nil {
		writeAPIError(w, &APIError{Status: http.StatusBadRequest, Code: "InvalidRequestContentException", Message: "read request body: " + err.Error()})
		return
	}
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
		s.serveSync(w, r, name, body)
	case "Event":
		if _, err := s.invokeAsync(r.Context(), name, body); err != nil {
			writeAPIError(w, asAPIError(err))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case "DryRun":
		if _, err := s.lookup(name); err != nil {
			writeAPIError(w, asAPIError(err))
			return
		}
		if _, err := checkPayload(body, maxSyncPayload); err != nil {
			writeAPIError(w, asAPIError(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeAPIError(w, &APIError{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", Message: "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, not " + typ})
	}
}

func (s *Service) serveSync(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	in := InvokeInput{Function: name, Payload: body, TraceID: r.Header.Get("X-Amzn-Trace-Id")}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		dec, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(dec) {
			writeAPIError(w, &APIError{Status: http.StatusBadRequest, Code: "InvalidRequestContentException", Message: "X-Amz-Client-Context must be base64-encoded JSON"})
			return
		}
		in.ClientContext = string(dec)
	}
	out, err := s.InvokeFunction(r.Context(), in)
	if err != nil {
		if r.Context().Err() != nil {
			return // the caller went away
		}
		writeAPIError(w, asAPIError(err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	if out.FunctionError != nil {
		h.Set("X-Amz-Function-Error", "Unhandled")
	}
	if r.Header.Get("X-Amz-Log-Type") == "Tail" {
		log := out.Log
		if len(log) > 4096 {
			log = log[len(log)-4096:]
		}
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(log)))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Payload)
}

func asAPIError(err error) *APIError {
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	return serviceError("%v", err)
}

// writeAPIError answers in Lambda's REST-JSON error shape.
func writeAPIError(w http.ResponseWriter, e *APIError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	body := map[string]string{"Type": "User", "message": e.Message}
	if e.Status >= 500 {
		body["Type"] = "Service"
	}
	if e.Reason != "" {
		body["Reason"] = e.Reason
	}
	_ = json.NewEncoder(w).Encode(body)
}

// functionConfiguration is Lambda's FunctionConfiguration shape.
type functionConfiguration struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Runtime          string            `json:"Runtime,omitempty"`
	Role             string            `json:"Role,omitempty"`
	Handler          string            `json:"Handler,omitempty"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int               `json:"MemorySize"`
	LastModified     string            `json:"LastModified"`
	Version          string            `json:"Version"`
	Environment      *environment      `json:"Environment,omitempty"`
	TracingConfig    map[string]string `json:"TracingConfig"`
	Architectures    []string          `json:"Architectures,omitempty"`
	PackageType      string            `json:"PackageType"`
	State            string            `json:"State"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

func (s *Service) configuration(fn *function) functionConfiguration {
	c := fn.cfg
	tracing := c.Tracing
	if tracing == "" {
		tracing = "PassThrough"
	}
	fc := functionConfiguration{
		FunctionName: c.Name, FunctionArn: c.ARN, Runtime: c.Runtime, Role: c.RoleARN, Handler: c.Handler,
		Timeout: int(c.Timeout.Seconds()), MemorySize: c.MemorySize,
		LastModified:  s.started.UTC().Format("2006-01-02T15:04:05.000-0700"),
		Version:       "$LATEST",
		TracingConfig: map[string]string{"Mode": tracing},
		Architectures: c.Architectures, PackageType: "Zip", State: "Active", LastUpdateStatus: "Successful",
	}
	if len(c.Env) > 0 {
		fc.Environment = &environment{Variables: c.Env}
	}
	return fc
}

// serveRead answers the read-only operations; false means "not one".
func (s *Service) serveRead(w http.ResponseWriter, r *http.Request, path string) bool {
	writeJSON := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	if path == invokePrefix || path == strings.TrimSuffix(invokePrefix, "/") {
		list := []functionConfiguration{}
		for _, name := range s.FunctionNames() {
			list = append(list, s.configuration(s.funcs[name]))
		}
		writeJSON(map[string]any{"Functions": list})
		return true
	}
	if !strings.HasPrefix(path, invokePrefix) {
		return false
	}
	rest := strings.TrimPrefix(path, invokePrefix)
	rest, config := strings.CutSuffix(rest, "/configuration")
	name, err := url.PathUnescape(rest)
	if err != nil || name == "" || strings.Contains(name, "/") {
		return false
	}
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		name += ":" + q
	}
	fn, err := s.lookup(name)
	if err != nil {
		writeAPIError(w, asAPIError(err))
		return true
	}
	if config {
		writeJSON(s.configuration(fn))
		return true
	}
	out := map[string]any{
		"Configuration": s.configuration(fn),
		"Code":          map[string]string{"RepositoryType": "S3", "Location": "file://" + fn.cfg.CodeURI},
	}
	if rc := fn.cfg.ReservedConcurrency; rc != nil {
		out["Concurrency"] = map[string]int{"ReservedConcurrentExecutions": *rc}
	}
	writeJSON(out)
	return true
}
