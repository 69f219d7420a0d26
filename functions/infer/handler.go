// Command infer is the Lambda behind the inference API: it validates a
// prediction request from API Gateway (REST proxy integration), invokes the
// SageMaker endpoint and maps every outcome to an HTTP answer whose body
// never carries AWS error text.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"

	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/metrics"
)

// Routes of the API (API Gateway resource paths).
const (
	PredictionsResource = "/v1/predictions"
	HealthResource      = "/v1/health"
)

// apiGatewayTimeout is API Gateway's default integration timeout for REST
// APIs; an invocation that outlives it is answered 504 by API Gateway
// itself, so the handler's own deadlines must be shorter.
const apiGatewayTimeout = 29 * time.Second

// deadlineMargin is kept free before the Lambda deadline so the handler can
// still answer 504 itself when SageMaker is slow.
const deadlineMargin = 250 * time.Millisecond

// healthTTL is how long one DescribeEndpoint answer serves health checks,
// so frequent probes cannot exhaust the control plane's low rate limits.
const healthTTL = 5 * time.Second

// Retry-After values (seconds) for retryable answers.
const (
	retryAfterThrottled   = "1"
	retryAfterUnavailable = "30"
)

// Config is the function's configuration.
type Config struct {
	// EndpointName is the SageMaker endpoint served (ENDPOINT_NAME).
	EndpointName string
	// MaxBodyBytes caps the decoded request body (MAX_BODY_BYTES).
	MaxBodyBytes int
	// InvokeTimeout bounds one InvokeEndpoint call, retries included
	// (INVOKE_TIMEOUT, a Go duration).
	InvokeTimeout time.Duration
}

// LoadConfig reads the configuration, reporting every problem at once.
func LoadConfig(r *config.Reader) (Config, error) {
	c := Config{
		EndpointName:  r.String("ENDPOINT_NAME"),
		MaxBodyBytes:  int(r.Int64Or("MAX_BODY_BYTES", DefaultMaxBodyBytes, 1, SageMakerMaxBodyBytes)),
		InvokeTimeout: r.DurationOr("INVOKE_TIMEOUT", 10*time.Second),
	}
	err := r.Err()
	if c.InvokeTimeout >= apiGatewayTimeout {
		err = errors.Join(err, fmt.Errorf("INVOKE_TIMEOUT: %s must be below API Gateway's %s integration timeout", c.InvokeTimeout, apiGatewayTimeout))
	}
	return c, err
}

// EndpointInvoker is the SageMaker Runtime operation the handler calls;
// *sagemakerruntime.Client satisfies it.
type EndpointInvoker interface {
	InvokeEndpoint(ctx context.Context, params *sagemakerruntime.InvokeEndpointInput, optFns ...func(*sagemakerruntime.Options)) (*sagemakerruntime.InvokeEndpointOutput, error)
}

// StatusDescriber returns an endpoint's EndpointStatus (DescribeEndpoint);
// *ControlPlane satisfies it.
type StatusDescriber interface {
	EndpointStatus(ctx context.Context, name string) (string, error)
}

// Handler answers API Gateway REST proxy requests.
type Handler struct {
	cfg     Config
	runtime EndpointInvoker
	status  StatusDescriber
	metrics *metrics.Emitter
	log     *slog.Logger
	now     func() time.Time

	// endpointDim is the EndpointName metric dimension, built once.
	endpointDim metrics.Dimension

	healthMu      sync.Mutex
	healthStatus  string
	healthErr     error
	healthFetched time.Time
}

// NewHandler returns a Handler. now is injected for deterministic tests.
func NewHandler(cfg Config, runtime EndpointInvoker, status StatusDescriber, m *metrics.Emitter, log *slog.Logger, now func() time.Time) *Handler {
	return &Handler{
		cfg: cfg, runtime: runtime, status: status, metrics: m, log: log, now: now,
		endpointDim: metrics.Dimension{Name: "EndpointName", Value: cfg.EndpointName},
	}
}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Message         string `json:"message"`
	RequestID       string `json:"requestId"`
	ModelStatusCode int32  `json:"modelStatusCode,omitempty"`
}

// healthBody is the JSON body of GET /v1/health.
type healthBody struct {
	Status    string `json:"status"`
	InService bool   `json:"inService"`
	RequestID string `json:"requestId"`
}

// Handle routes one API Gateway request. It never returns an error: every
// failure is an HTTP answer, so API Gateway never turns it into a bare 502.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	reqID := requestID(ctx, &ev)
	switch ev.Resource {
	case PredictionsResource:
		if ev.HTTPMethod != http.MethodPost {
			return methodNotAllowed(reqID, http.MethodPost), nil
		}
		return h.predict(ctx, &ev, reqID), nil
	case HealthResource:
		if ev.HTTPMethod != http.MethodGet {
			return methodNotAllowed(reqID, http.MethodGet), nil
		}
		return h.health(ctx, reqID), nil
	}
	return errorResponse(http.StatusNotFound, "no such route", reqID), nil
}

// predict serves POST /v1/predictions.
func (h *Handler) predict(ctx context.Context, ev *events.APIGatewayProxyRequest, reqID string) events.APIGatewayProxyResponse {
	req, rerr := parseRequest(ev, h.cfg.MaxBodyBytes)
	if rerr != nil {
		h.log.LogAttrs(ctx, slog.LevelInfo, "request refused", slog.Int("status", rerr.status), slog.String("reason", rerr.message), slog.String("apiRequestId", reqID))
		h.emitError(ctx, variantDim(""), errorClass(rerr.status), reqID)
		return errorResponse(rerr.status, rerr.message, reqID)
	}

	// One allocation holds the input and the strings it points to.
	call := &invokeCall{req: req, reqID: reqID}
	in := &call.in
	in.EndpointName = &h.cfg.EndpointName
	in.Body = call.req.body
	in.ContentType = &call.req.contentType
	in.InferenceId = &call.reqID
	if req.accept != "" {
		in.Accept = &call.req.accept
	}
	if req.variant != "" {
		in.TargetVariant = &call.req.variant
	}

	callCtx, cancel := context.WithTimeout(ctx, h.callTimeout(ctx))
	start := h.now()
	out, err := h.runtime.InvokeEndpoint(callCtx, in)
	elapsed := h.now().Sub(start)
	cancel()

	if err != nil {
		a := classify(err)
		level := slog.LevelWarn
		if a.status >= 500 {
			level = slog.LevelError
		}
		h.log.LogAttrs(ctx, level, "invoke endpoint failed",
			slog.Int("status", a.status), slog.String("class", a.class),
			slog.String("endpoint", h.cfg.EndpointName), slog.String("targetVariant", req.variant),
			slog.String("apiRequestId", reqID), slog.String("error", err.Error()))
		h.emitError(ctx, variantDim(req.variant), a.class, reqID)
		return a.response(reqID)
	}

	variant := ""
	if out.InvokedProductionVariant != nil {
		variant = *out.InvokedProductionVariant
	}
	h.emit(ctx, []metrics.Dimension{h.endpointDim, variantDim(variant)}, reqID,
		metrics.Metric{Name: "InvokeLatency", Unit: metrics.Milliseconds, Value: float64(elapsed.Microseconds()) / 1000},
		metrics.Metric{Name: "RequestBytes", Unit: metrics.Bytes, Value: float64(len(req.body))},
		metrics.Metric{Name: "ResponseBytes", Unit: metrics.Bytes, Value: float64(len(out.Body))},
	)

	contentType := "application/octet-stream"
	if out.ContentType != nil && *out.ContentType != "" {
		contentType = *out.ContentType
	}
	if req.isJSON {
		preds, ok := predictionsJSON(out.Body)
		if !ok {
			h.log.LogAttrs(ctx, slog.LevelError, "model answer is not a list of predictions",
				slog.String("endpoint", h.cfg.EndpointName), slog.String("variant", variant), slog.String("apiRequestId", reqID))
			h.emitError(ctx, variantDim(variant), "model-response", reqID)
			return errorResponse(http.StatusBadGateway, "the model's answer could not be read as predictions", reqID)
		}
		out.Body, contentType = preds, "application/json"
	}
	resp := events.APIGatewayProxyResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"Content-Type": contentType, RequestIDHeader: reqID},
	}
	if variant != "" {
		resp.Headers[ModelVariantHeader] = variant
	}
	if utf8.Valid(out.Body) {
		// The SDK hands over a slice nobody else holds and nothing writes
		// to it again: it becomes the response string without a copy.
		resp.Body = unsafe.String(unsafe.SliceData(out.Body), len(out.Body))
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(out.Body)
		resp.IsBase64Encoded = true
	}
	return resp
}

// invokeCall keeps an InvokeEndpoint input together with the values its
// pointer fields refer to.
type invokeCall struct {
	in    sagemakerruntime.InvokeEndpointInput
	req   predictRequest
	reqID string
}

// callTimeout is INVOKE_TIMEOUT, shortened when the Lambda deadline is
// nearer so the handler still has time to answer 504 itself.
func (h *Handler) callTimeout(ctx context.Context) time.Duration {
	d := h.cfg.InvokeTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := dl.Sub(h.now()) - deadlineMargin; left < d {
			d = max(left, time.Millisecond)
		}
	}
	return d
}

// health serves GET /v1/health: 200 while the endpoint serves traffic,
// 503 otherwise, with the endpoint's status in the body.
func (h *Handler) health(ctx context.Context, reqID string) events.APIGatewayProxyResponse {
	status, err := h.endpointStatus(ctx)
	if err != nil {
		if endpointMissing(apiMessage(err)) || faults.KindOf(err) == faults.NotFound {
			// DescribeEndpoint answers ValidationException "Could not find
			// endpoint ..." when the endpoint does not exist.
			status = "NotFound"
		} else {
			h.log.LogAttrs(ctx, slog.LevelError, "describe endpoint failed",
				slog.String("endpoint", h.cfg.EndpointName), slog.String("apiRequestId", reqID), slog.String("error", err.Error()))
			status = "Unknown"
		}
	}
	code := http.StatusServiceUnavailable
	if servesTraffic(status) {
		code = http.StatusOK
	}
	body, _ := json.Marshal(healthBody{Status: status, InService: status == "InService", RequestID: reqID})
	resp := events.APIGatewayProxyResponse{
		StatusCode: code,
		Headers:    map[string]string{"Content-Type": "application/json", RequestIDHeader: reqID, "Cache-Control": "no-store"},
		Body:       string(body),
	}
	if code != http.StatusOK {
		resp.Headers["Retry-After"] = retryAfterUnavailable
	}
	return resp
}

// endpointStatus returns the endpoint's status, from a cache younger than
// healthTTL when there is one. Errors are cached too, so a throttled
// control plane is not hammered.
func (h *Handler) endpointStatus(ctx context.Context) (string, error) {
	h.healthMu.Lock()
	defer h.healthMu.Unlock()
	now := h.now()
	if !h.healthFetched.IsZero() && now.Sub(h.healthFetched) < healthTTL {
		return h.healthStatus, h.healthErr
	}
	callCtx, cancel := context.WithTimeout(ctx, h.callTimeout(ctx))
	defer cancel()
	status, err := h.status.EndpointStatus(callCtx, h.cfg.EndpointName)
	if err != nil {
		err = fmt.Errorf("describe endpoint %q: %w", h.cfg.EndpointName, err)
	}
	h.healthStatus, h.healthErr, h.healthFetched = status, err, now
	return status, err
}

// servesTraffic reports whether an endpoint in this status answers
// InvokeEndpoint: during a blue/green update (Updating, RollingBack) or a
// SageMaker maintenance (SystemUpdating) the old fleet keeps serving.
func servesTraffic(status string) bool {
	switch status {
	case "InService", "Updating", "SystemUpdating", "RollingBack":
		return true
	}
	return false
}

// Error classes, used in metrics and logs.
const (
	classInvalid         = "invalid"
	classUnsupported     = "unsupported-media-type"
	classTooLarge        = "too-large"
	classThrottled       = "throttled"
	classModel           = "model-error"
	classEndpointMissing = "endpoint-unavailable"
	classTimeout         = "timeout"
	classInternal        = "internal"
)

// errorClass names the class of a client error by its status.
func errorClass(status int) string {
	switch status {
	case http.StatusUnsupportedMediaType:
		return classUnsupported
	case http.StatusRequestEntityTooLarge:
		return classTooLarge
	}
	return classInvalid
}

// answer is how a SageMaker failure is told to the client.
type answer struct {
	status      int
	class       string
	message     string
	retryAfter  string
	modelStatus int32
}

// Fixed client messages of SageMaker failures.
const (
	msgInvalid     = "the model endpoint rejected the request as invalid"
	msgThrottled   = "too many requests; retry later"
	msgModel       = "the model failed to process the request"
	msgUnavailable = "the model endpoint is not available; retry later"
	msgTimeout     = "the model did not answer in time"
	msgInternal    = "internal error"
)

// classify maps an InvokeEndpoint failure to its answer. SageMaker's typed
// errors come first; everything else is classified by package faults.
func classify(err error) answer {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return answer{status: http.StatusGatewayTimeout, class: classTimeout, message: msgTimeout}
	}
	var modelErr *types.ModelError
	if errors.As(err, &modelErr) {
		a := answer{status: http.StatusBadGateway, class: classModel, message: msgModel}
		if modelErr.OriginalStatusCode != nil {
			a.modelStatus = *modelErr.OriginalStatusCode
		}
		return a
	}
	var notReady *types.ModelNotReadyException
	var dependency *types.InternalDependencyException
	if errors.As(err, &notReady) || errors.As(err, &dependency) {
		return answer{status: http.StatusServiceUnavailable, class: classEndpointMissing, message: msgUnavailable, retryAfter: retryAfterUnavailable}
	}
	var validation *types.ValidationError
	if errors.As(err, &validation) && endpointMissing(validation.ErrorMessage()) {
		return answer{status: http.StatusServiceUnavailable, class: classEndpointMissing, message: msgUnavailable, retryAfter: retryAfterUnavailable}
	}
	switch faults.KindOf(err) {
	case faults.Invalid:
		if endpointMissing(apiMessage(err)) {
			return answer{status: http.StatusServiceUnavailable, class: classEndpointMissing, message: msgUnavailable, retryAfter: retryAfterUnavailable}
		}
		return answer{status: http.StatusBadRequest, class: classInvalid, message: msgInvalid}
	case faults.Throttled:
		return answer{status: http.StatusTooManyRequests, class: classThrottled, message: msgThrottled, retryAfter: retryAfterThrottled}
	case faults.NotFound, faults.Unavailable:
		return answer{status: http.StatusServiceUnavailable, class: classEndpointMissing, message: msgUnavailable, retryAfter: retryAfterUnavailable}
	case faults.Timeout:
		return answer{status: http.StatusGatewayTimeout, class: classTimeout, message: msgTimeout}
	}
	// Unknown, Denied (our IAM, not the caller's fault) and Conflict.
	return answer{status: http.StatusInternalServerError, class: classInternal, message: msgInternal}
}

// endpointMissing reports whether a SageMaker validation message says the
// endpoint does not exist or is not in service: InvokeEndpoint answers
// ValidationError "Endpoint <name> of account <id> not found." (also while
// the endpoint is being created) and DescribeEndpoint ValidationException
// "Could not find endpoint ...". The message is only matched, never shown.
func endpointMissing(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "endpoint") &&
		(strings.Contains(m, "not found") || strings.Contains(m, "could not find") || strings.Contains(m, "not in service"))
}

// apiMessage returns the AWS error message in err's chain, or "".
func apiMessage(err error) string {
	var v interface{ ErrorMessage() string }
	if errors.As(err, &v) {
		return v.ErrorMessage()
	}
	return ""
}

// response renders the answer with fixed texts only.
func (a answer) response(reqID string) events.APIGatewayProxyResponse {
	body, _ := json.Marshal(errorBody{Message: a.message, RequestID: reqID, ModelStatusCode: a.modelStatus})
	resp := events.APIGatewayProxyResponse{
		StatusCode: a.status,
		Headers:    map[string]string{"Content-Type": "application/json", RequestIDHeader: reqID},
		Body:       string(body),
	}
	if a.retryAfter != "" {
		resp.Headers["Retry-After"] = a.retryAfter
	}
	return resp
}

// errorResponse is a JSON error answer with a fixed message.
func errorResponse(status int, message, reqID string) events.APIGatewayProxyResponse {
	return answer{status: status, message: message}.response(reqID)
}

// methodNotAllowed answers 405 with the route's one method.
func methodNotAllowed(reqID, allow string) events.APIGatewayProxyResponse {
	resp := errorResponse(http.StatusMethodNotAllowed, "method not allowed", reqID)
	resp.Headers["Allow"] = allow
	return resp
}

// requestID is API Gateway's request id, which also becomes the SageMaker
// InferenceId; the Lambda request id stands in when it is missing.
func requestID(ctx context.Context, ev *events.APIGatewayProxyRequest) string {
	if id := ev.RequestContext.RequestID; id != "" && len(id) <= 64 && printableASCII(id, 64) && id[0] != ' ' {
		return id
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return "unknown"
}

// variantDim is the Variant dimension; "none" when no variant is known
// (CloudWatch dimension values cannot be empty).
func variantDim(v string) metrics.Dimension {
	if v == "" {
		v = "none"
	}
	return metrics.Dimension{Name: "Variant", Value: v}
}

// emitError counts one failed request by class, per endpoint and variant.
func (h *Handler) emitError(ctx context.Context, variant metrics.Dimension, class, reqID string) {
	h.emit(ctx, []metrics.Dimension{h.endpointDim, variant, {Name: "ErrorClass", Value: class}}, reqID,
		metrics.Metric{Name: "Errors", Unit: metrics.Count, Value: 1})
}

// emit writes one EMF record; a metrics failure is logged, never returned:
// it must not fail a prediction.
func (h *Handler) emit(ctx context.Context, dims []metrics.Dimension, reqID string, ms ...metrics.Metric) {
	if err := h.metrics.Emit(dims, map[string]string{"apiRequestId": reqID}, ms...); err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "emit metrics", slog.String("error", err.Error()))
	}
}
