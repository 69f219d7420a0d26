package sagemakeremu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// maxInvokeBytes is InvokeEndpoint's payload limit (6 MB).
const maxInvokeBytes = 6 * 1024 * 1024

// RuntimeHandler serves the SageMaker runtime's InvokeEndpoint
// (POST /endpoints/{name}/invocations).
func (s *Service) RuntimeHandler() http.Handler { return http.HandlerFunc(s.serveRuntime) }

// runtimeError is a REST-JSON error of the runtime: the x-amzn-ErrorType
// header names it, the body carries Message (and ModelError's fields).
type runtimeError struct {
	Code               string `json:"-"`
	Status             int    `json:"-"`
	Message            string `json:"Message"`
	OriginalStatusCode int    `json:"OriginalStatusCode,omitempty"`
	OriginalMessage    string `json:"OriginalMessage,omitempty"`
	LogStreamArn       string `json:"LogStreamArn,omitempty"`
	ErrorCode          string `json:"ErrorCode,omitempty"`
}

func writeRuntimeError(w http.ResponseWriter, e runtimeError) {
	awsproto.RequestID(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

func validationError(format string, args ...any) runtimeError {
	return runtimeError{Code: "ValidationError", Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func (s *Service) serveRuntime(w http.ResponseWriter, r *http.Request) {
	meter := &invocationMeter{received: time.Now()}
	name, ok := invocationPath(r.URL)
	if !ok {
		writeRuntimeError(w, runtimeError{Code: "UnknownOperationException", Status: http.StatusNotFound, Message: "the local cloud's SageMaker runtime serves POST /endpoints/{EndpointName}/invocations only"})
		return
	}
	if r.Method != http.MethodPost {
		writeRuntimeError(w, runtimeError{Code: "UnknownOperationException", Status: http.StatusMethodNotAllowed, Message: "InvokeEndpoint is POST"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxInvokeBytes+1))
	if err != nil {
		writeRuntimeError(w, validationError("read request body: %v", err))
		return
	}
	if len(body) > maxInvokeBytes {
		writeRuntimeError(w, validationError("Request body size %d exceeds the maximum of %d bytes.", len(body), maxInvokeBytes))
		return
	}
	out, rerr := s.invoke(r.Context(), invocation{
		endpoint:    name,
		variant:     r.Header.Get("X-Amzn-SageMaker-Target-Variant"),
		inferenceID: r.Header.Get("X-Amzn-SageMaker-Inference-Id"),
		contentType: r.Header.Get("Content-Type"),
		accept:      r.Header.Get("Accept"),
		body:        body,
		meter:       meter,
	})
	// Published before answering: a caller that has its answer finds the
	// datapoints in CloudWatch.
	s.publishInvocation(meter)
	if rerr != nil {
		writeRuntimeError(w, *rerr)
		return
	}
	awsproto.RequestID(w)
	w.Header().Set("Content-Type", out.contentType)
	w.Header().Set("x-Amzn-Invoked-Production-Variant", out.variant)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.body)
}

// invocationPath returns the endpoint name of /endpoints/{name}/invocations.
func invocationPath(u *url.URL) (string, bool) {
	p := u.EscapedPath()
	rest, ok := strings.CutPrefix(p, "/endpoints/")
	if !ok {
		return "", false
	}
	enc, ok := strings.CutSuffix(rest, "/invocations")
	if !ok || enc == "" || strings.Contains(enc, "/") {
		return "", false
	}
	name, err := url.PathUnescape(enc)
	if err != nil {
		return "", false
	}
	return name, true
}

type invocation struct {
	endpoint, variant, inferenceID, contentType, accept string
	body                                                []byte
	meter                                               *invocationMeter
}

type invocationResult struct {
	variant, contentType string
	body                 []byte
}

// invoke routes one request to a variant's model server and captures it.
func (s *Service) invoke(ctx context.Context, in invocation) (*invocationResult, *runtimeError) {
	s.mu.Lock()
	ep, ok := s.endpoints[in.endpoint]
	if !ok || ep.serving == nil || ep.Status == epCreating || ep.Status == epFailed || ep.Status == epDeleting {
		s.mu.Unlock()
		e := validationError("Endpoint %s of account %s not found.", in.endpoint, s.opts.AccountID)
		return nil, &e
	}
	f := ep.serving
	var variant string
	if in.variant != "" {
		if _, ok := f.servers[in.variant]; !ok {
			s.mu.Unlock()
			e := validationError("Variant %s not found for Request %s", in.variant, ep.ARN)
			return nil, &e
		}
		variant = in.variant
	} else {
		variant = s.pickVariantLocked(f.spec)
	}
	sample := s.sampleLocked(f.spec.Capture)
	eventID := awsproto.NewRequestID()
	now := s.now()
	in.meter.routed(ep.Name, variant, now)
	s.mu.Unlock()

	srv := f.servers[variant]
	if srv == nil || !srv.alive() {
		e := runtimeError{Code: "ModelError", Status: http.StatusFailedDependency, Message: fmt.Sprintf("Received server error (500) from primary with message \"the model server is not running\". See %s in account %s for more information.", s.logsURL(in.endpoint), s.opts.AccountID), OriginalStatusCode: 500, OriginalMessage: "the model server is not running", LogStreamArn: s.logStreamARN(in.endpoint, variant)}
		return nil, &e
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.url+"/invocations", bytes.NewReader(in.body))
	if err != nil {
		e := runtimeError{Code: "InternalFailure", Status: http.StatusInternalServerError, Message: "An internal error occurred."}
		return nil, &e
	}
	if in.contentType != "" {
		req.Header.Set("Content-Type", in.contentType)
	}
	if in.accept != "" {
		req.Header.Set("Accept", in.accept)
	}
	sent := time.Now()
	resp, err := srv.client.Do(req)
	if err != nil {
		e := runtimeError{Code: "ModelError", Status: http.StatusFailedDependency, Message: fmt.Sprintf("An error occurred while sending the request to the model server of variant %s: %v", variant, err), LogStreamArn: s.logStreamARN(in.endpoint, variant)}
		return nil, &e
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxInvokeBytes+1))
	if err != nil {
		e := runtimeError{Code: "ModelError", Status: http.StatusFailedDependency, Message: fmt.Sprintf("read the model's response: %v", err)}
		return nil, &e
	}
	in.meter.answer(resp.StatusCode, time.Since(sent))
	if resp.StatusCode >= 300 {
		kind := "client"
		if resp.StatusCode >= 500 {
			kind = "server"
		}
		msg := string(out)
		e := runtimeError{
			Code: "ModelError", Status: http.StatusFailedDependency,
			// "primary" is the container of a single-container model.
			Message:            fmt.Sprintf("Received %s error (%d) from primary with message %q. See %s in account %s for more information.", kind, resp.StatusCode, msg, s.logsURL(in.endpoint), s.opts.AccountID),
			OriginalStatusCode: resp.StatusCode, OriginalMessage: msg,
			LogStreamArn: s.logStreamARN(in.endpoint, variant),
			ErrorCode:    strings.ToUpper(kind) + "_ERROR_FROM_MODEL",
		}
		return nil, &e
	}
	ct := resp.Header.Get("Content-Type")
	if sample {
		s.capture.add(f.spec.Capture, captured{
			endpoint: in.endpoint, variant: variant, eventID: eventID, inferenceID: in.inferenceID, at: now,
			inType: in.contentType, in: in.body, outType: ct, out: out,
		})
	}
	return &invocationResult{variant: variant, contentType: ct, body: out}, nil
}

// pickVariantLocked draws a variant by weight; s.mu must be held.
func (s *Service) pickVariantLocked(spec *fleetSpec) string {
	total := 0.0
	for _, v := range spec.Variants {
		total += v.Weight
	}
	if total <= 0 {
		return spec.Variants[0].Name
	}
	x := s.rnd.Float64() * total
	for _, v := range spec.Variants {
		if x < v.Weight {
			return v.Name
		}
		x -= v.Weight
	}
	return spec.Variants[len(spec.Variants)-1].Name
}

func (s *Service) logsURL(endpoint string) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logEventViewer:group=/aws/sagemaker/Endpoints/%s", s.opts.Region, s.opts.Region, endpoint)
}

func (s *Service) logStreamARN(endpoint, variant string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:/aws/sagemaker/Endpoints/%s", s.opts.Region, s.opts.AccountID, endpoint) + ":log-stream:" + variant + "/i-local" + strconv.Itoa(0)
}

// sampleLocked draws whether to capture one invocation at the configured
// sampling percentage; s.mu must be held.
func (s *Service) sampleLocked(c *DataCaptureConfig) bool {
	return c.enabled() && s.rnd.Float64()*100 < float64(deref(c.InitialSamplingPercentage))
}
