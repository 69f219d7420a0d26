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

// ServeHTTP serves the Lambda Invoke API:
// POST /2015-03-31/functions/{FunctionName}/invocations with
// X-Amz-Invocation-Type RequestResponse (default), Event or DryRun,
// X-Amz-Log-Type Tail and X-Amz-Client-Context, answering as Lambda does
// (200 + X-Amz-Function-Error on function errors, 202 for Event, 204 for
// DryRun, REST-JSON errors with x-amzn-ErrorType otherwise).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	path := r.URL.EscapedPath()
	if !strings.HasPrefix(path, invokePrefix) || !strings.HasSuffix(path, "/invocations") {
		writeAPIError(w, &APIError{Status: http.StatusNotFound, Code: "UnknownOperationException", Message: "the local Lambda service implements only Invoke (POST " + invokePrefix + "{FunctionName}/invocations), not " + r.Method + " " + r.URL.Path})
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
