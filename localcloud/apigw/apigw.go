// Package apigw serves a SAM template's Api and HttpApi events on a local
// port, like `sam local start-api`, turning each HTTP request into the
// Lambda proxy event API Gateway builds and the function's answer back into
// an HTTP response.
//
// REST APIs (Api events) get the version 1.0 proxy event: resource and
// path, single- and multi-value headers and query parameters, path
// parameters ({name} and greedy {proxy+}), the request context with request
// id, stage and identity, and the body, base64-encoded when its content
// type is one of the API's BinaryMediaTypes (or it is not UTF-8). The
// function's proxy response (statusCode, headers, multiValueHeaders, body,
// isBase64Encoded) is mapped back; a malformed response or a failed
// invocation is a 502 {"message": "Internal server error"} as in API
// Gateway. HTTP APIs (HttpApi events) get the version 2.0 event and its
// simplified response rules.
//
// Routes are served without the stage prefix, as sam local does; the event
// still carries the stage in requestContext.stage and requestContext.path.
package apigw

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// LambdaInvoker runs a function synchronously; lambdaemu.Service
// satisfies it. A function failure or throttle is an error.
type LambdaInvoker interface {
	Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error)
}

// maxBody is API Gateway's payload limit (10 MB).
const maxBody = 10 * 1024 * 1024

// Options configure a Server.
type Options struct {
	// Clock stamps requestTime (default the wall clock).
	Clock clock.Clock
	// Logger receives one line per request (default slog.Default()).
	Logger *slog.Logger
}

// Server is an http.Handler serving the routes of a template's APIs.
type Server struct {
	routes   []*route
	warnings []string
	invoker  LambdaInvoker
	clock    clock.Clock
	log      *slog.Logger
	account  string
	region   string
}

type route struct {
	api      samtemplate.API
	method   string
	path     string
	segments []string
	function string // physical name
	binary   []string
	cors     *corsConfig
}

// New builds a server for every Api and HttpApi event of the template.
// Two events claiming the same method and path are an error.
func New(tpl *samtemplate.Template, invoker LambdaInvoker, opts Options) (*Server, error) {
	apis, err := tpl.APIs()
	if err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{invoker: invoker, clock: opts.Clock, log: opts.Logger, account: tpl.AccountID, region: tpl.Region}
	seen := map[string]string{}
	for _, api := range apis {
		res := tpl.Resources[api.LogicalID]
		cors, err := parseCors(api, res)
		if err != nil {
			return nil, err
		}
		for _, prop := range []string{"Auth", "Domain", "AccessLogSetting", "MethodSettings"} {
			if _, set := res.Properties[prop]; set {
				s.warnings = append(s.warnings, fmt.Sprintf("resource %s property %s is not enforced by start-api", api.LogicalID, prop))
			}
		}
		binary, err := binaryMediaTypes(tpl.Resources[api.LogicalID])
		if err != nil {
			return nil, fmt.Errorf("resource %s property BinaryMediaTypes: %w", api.LogicalID, err)
		}
		for _, r := range api.Routes {
			key := r.Method + " " + r.Path
			if other, dup := seen[key]; dup {
				return nil, fmt.Errorf("route %s is served by both %s and %s.%s", key, other, r.Function, r.EventName)
			}
			seen[key] = r.Function + "." + r.EventName
			if r.Auth != nil {
				s.warnings = append(s.warnings, fmt.Sprintf("resource %s property Events.%s.Auth is not enforced by start-api", r.Function, r.EventName))
			}
			if !strings.HasPrefix(r.Path, "/") {
				return nil, fmt.Errorf("resource %s property Events.%s.Path: %q must start with /", r.Function, r.EventName, r.Path)
			}
			s.routes = append(s.routes, &route{
				api: api, method: r.Method, path: r.Path, segments: splitPath(r.Path),
				function: tpl.PhysicalName(r.Function), binary: binary, cors: cors,
			})
		}
	}
	sortRoutes(s.routes)
	return s, nil
}

// Warnings names what the APIs configure that start-api does not enforce
// (authorizers, CORS, ...), so the CLI can say so instead of dropping it.
func (s *Server) Warnings() []string { return append([]string(nil), s.warnings...) }

// Routes lists "METHOD /path -> function" for each route, for the CLI.
func (s *Server) Routes() []string {
	out := make([]string, 0, len(s.routes))
	for _, r := range s.routes {
		out = append(out, fmt.Sprintf("%-7s %s -> %s (%s API)", r.method, r.path, r.function, r.api.Type))
	}
	return out
}

func binaryMediaTypes(res samtemplate.Resource) ([]string, error) {
	var out []string
	v, ok := res.Properties["BinaryMediaTypes"]
	if !ok {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%v is not a list", v)
	}
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%v is not a string", x)
		}
		// SAM escapes "/" as "~1" in BinaryMediaTypes.
		out = append(out, strings.ToLower(strings.ReplaceAll(s, "~1", "/")))
	}
	return out, nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// sortRoutes orders routes as API Gateway prefers them: more literal
// segments first, greedy paths last, specific methods before ANY.
func sortRoutes(rs []*route) {
	score := func(r *route) (int, int, int) {
		literal, greedy := 0, 0
		for _, s := range r.segments {
			switch {
			case strings.HasSuffix(s, "+}"):
				greedy = 1
			case !strings.HasPrefix(s, "{"):
				literal++
			}
		}
		any := 0
		if r.method == "ANY" {
			any = 1
		}
		return greedy, -literal, any
	}
	sort.SliceStable(rs, func(i, j int) bool {
		gi, li, ai := score(rs[i])
		gj, lj, aj := score(rs[j])
		if gi != gj {
			return gi < gj
		}
		if li != lj {
			return li < lj
		}
		return ai < aj
	})
}

// match returns the path parameters if r serves the path.
func (r *route) match(segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, s := range r.segments {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}") {
			if i >= len(segs) {
				return nil, false
			}
			params[s[1:len(s)-2]] = strings.Join(segs[i:], "/")
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			params[s[1:len(s)-1]] = segs[i]
			continue
		}
		if s != segs[i] {
			return nil, false
		}
	}
	return params, len(segs) == len(r.segments)
}

func (s *Server) find(method, path string) (*route, map[string]string) {
	segs := splitPath(path)
	for _, r := range s.routes {
		if r.method != method && r.method != "ANY" {
			continue
		}
		if params, ok := r.match(segs); ok {
			return r, params
		}
	}
	return nil, nil
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// ServeHTTP routes one request to its function.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	reqID := newID()
	w.Header().Set("x-amzn-RequestId", reqID)
	path := req.URL.Path
	// With CORS configured, SAM adds an OPTIONS method to every resource;
	// it answers preflights before any ANY route sees them.
	if s.preflight(w, req) {
		s.log.Info("api request", "method", req.Method, "path", path, "status", 200, "reason", "CORS preflight")
		return
	}
	rt, params := s.find(req.Method, path)
	if rt == nil {
		// API Gateway's answer for an unknown resource or method.
		writeMessage(w, http.StatusForbidden, "Missing Authentication Token")
		s.log.Info("api request", "method", req.Method, "path", path, "status", 403, "reason", "no route")
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	if len(body) > maxBody {
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Too Long")
		return
	}
	var event []byte
	if rt.api.Type == "HTTP" {
		event, err = s.eventV2(req, rt, params, body, reqID)
	} else {
		event, err = s.eventV1(req, rt, params, body, reqID)
	}
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "Internal server error")
		s.log.Error("api request: build event", "path", path, "err", err)
		return
	}
	out, err := s.invoker.Invoke(req.Context(), rt.function, event)
	if err != nil {
		status := http.StatusBadGateway
		var throttle interface{ ErrorCode() string }
		if errors.As(err, &throttle) && throttle.ErrorCode() == "TooManyRequestsException" {
			status = http.StatusTooManyRequests
			writeMessage(w, status, "Too Many Requests")
		} else {
			writeMessage(w, status, "Internal server error")
		}
		s.log.Error("api request: invoke", "method", req.Method, "path", path, "function", rt.function, "status", status, "err", err)
		return
	}
	if rt.api.Type == "HTTP" && rt.cors != nil && req.Header.Get("Origin") != "" {
		// HTTP APIs add the CORS headers to every answer themselves.
		w.Header().Set("Access-Control-Allow-Origin", rt.cors.origin)
		if rt.cors.credentials {
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
	}
	var status int
	if rt.api.Type == "HTTP" {
		status, err = writeResponseV2(w, out)
	} else {
		status, err = writeResponseV1(w, out)
	}
	if err != nil {
		writeMessage(w, http.StatusBadGateway, "Internal server error")
		s.log.Error("api request: malformed Lambda proxy response", "function", rt.function, "err", err, "response", truncate(string(out), 512))
		return
	}
	s.log.Info("api request", "method", req.Method, "path", path, "function", rt.function, "status", status, "ms", time.Since(start).Milliseconds())
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// isBinary reports whether API Gateway would base64-encode the body.
func isBinary(contentType string, binary []string, body []byte) bool {
	if !utf8.Valid(body) {
		return true
	}
	if contentType == "" || len(binary) == 0 {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	for _, b := range binary {
		if b == "*/*" || b == mt {
			return true
		}
		if strings.HasSuffix(b, "/*") && strings.HasPrefix(mt, strings.TrimSuffix(b, "*")) {
			return true
		}
	}
	return false
}

func sourceIP(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}

// proxyEventV1 is API Gateway's REST proxy event.
type proxyEventV1 struct {
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  requestContextV1    `json:"requestContext"`
	Body                            *string             `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

type requestContextV1 struct {
	ResourceID        string         `json:"resourceId"`
	ResourcePath      string         `json:"resourcePath"`
	HTTPMethod        string         `json:"httpMethod"`
	ExtendedRequestID string         `json:"extendedRequestId"`
	RequestTime       string         `json:"requestTime"`
	Path              string         `json:"path"`
	AccountID         string         `json:"accountId"`
	Protocol          string         `json:"protocol"`
	Stage             string         `json:"stage"`
	DomainPrefix      string         `json:"domainPrefix"`
	RequestTimeEpoch  int64          `json:"requestTimeEpoch"`
	RequestID         string         `json:"requestId"`
	Identity          map[string]any `json:"identity"`
	DomainName        string         `json:"domainName"`
	DeploymentID      string         `json:"deploymentId"`
	APIID             string         `json:"apiId"`
}

func (s *Server) eventV1(req *http.Request, rt *route, params map[string]string, body []byte, reqID string) ([]byte, error) {
	now := s.clock.Now().UTC()
	ev := proxyEventV1{
		Resource:   rt.path,
		Path:       req.URL.Path,
		HTTPMethod: req.Method,
	}
	if len(req.Header) > 0 || req.Host != "" {
		ev.Headers, ev.MultiValueHeaders = map[string]string{}, map[string][]string{}
		for k, vs := range req.Header {
			ev.MultiValueHeaders[k] = append([]string(nil), vs...)
			ev.Headers[k] = vs[len(vs)-1]
		}
		if req.Host != "" {
			ev.Headers["Host"] = req.Host
			ev.MultiValueHeaders["Host"] = []string{req.Host}
		}
		for k, v := range forwardedHeaders(req) {
			ev.Headers[k] = v
			ev.MultiValueHeaders[k] = []string{v}
		}
	}
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query string: %w", err)
	}
	if len(q) > 0 {
		ev.QueryStringParameters, ev.MultiValueQueryStringParameters = map[string]string{}, map[string][]string{}
		for k, vs := range q {
			ev.MultiValueQueryStringParameters[k] = vs
			ev.QueryStringParameters[k] = vs[len(vs)-1]
		}
	}
	if len(params) > 0 {
		ev.PathParameters = params
	}
	if len(body) > 0 {
		b := string(body)
		if isBinary(req.Header.Get("Content-Type"), rt.binary, body) {
			b = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
		ev.Body = &b
	}
	host := req.Host
	ev.RequestContext = requestContextV1{
		ResourceID:        strings.ToLower(newID()[:6]),
		ResourcePath:      rt.path,
		HTTPMethod:        req.Method,
		ExtendedRequestID: base64.StdEncoding.EncodeToString([]byte(reqID))[:16],
		RequestTime:       now.Format("02/Jan/2006:15:04:05 -0700"),
		Path:              "/" + rt.api.StageName + req.URL.Path,
		AccountID:         s.account,
		Protocol:          req.Proto,
		Stage:             rt.api.StageName,
		DomainPrefix:      strings.Split(host, ".")[0],
		RequestTimeEpoch:  now.UnixMilli(),
		RequestID:         reqID,
		Identity: map[string]any{
			"cognitoIdentityPoolId": nil, "accountId": nil, "cognitoIdentityId": nil, "caller": nil,
			"apiKey": nilIfEmpty(req.Header.Get("X-Api-Key")), "principalOrgId": nil,
			"sourceIp": sourceIP(req), "cognitoAuthenticationType": nil, "cognitoAuthenticationProvider": nil,
			"userArn": nil, "userAgent": req.UserAgent(), "user": nil, "accessKey": nil,
		},
		DomainName:   host,
		DeploymentID: "local",
		APIID:        rt.api.ID,
	}
	return json.Marshal(ev)
}

// forwardedHeaders are the headers API Gateway adds to every request.
func forwardedHeaders(req *http.Request) map[string]string {
	out := map[string]string{"X-Forwarded-Proto": "http"}
	if req.TLS != nil {
		out["X-Forwarded-Proto"] = "https"
	}
	ip := sourceIP(req)
	if prev := req.Header.Get("X-Forwarded-For"); prev != "" {
		ip = prev + ", " + ip
	}
	out["X-Forwarded-For"] = ip
	if _, port, err := net.SplitHostPort(req.Host); err == nil {
		out["X-Forwarded-Port"] = port
	} else {
		out["X-Forwarded-Port"] = "80"
	}
	if req.Header.Get("X-Amzn-Trace-Id") == "" {
		out["X-Amzn-Trace-Id"] = fmt.Sprintf("Root=1-%08x-%s", time.Now().Unix(), strings.ReplaceAll(newID(), "-", "")[:24])
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// writeResponseV1 maps a REST proxy response; anything else is an error
// (API Gateway's "Malformed Lambda proxy response").
func writeResponseV1(w http.ResponseWriter, out []byte) (int, error) {
	var resp struct {
		StatusCode        *int             `json:"statusCode"`
		Headers           map[string]any   `json:"headers"`
		MultiValueHeaders map[string][]any `json:"multiValueHeaders"`
		Body              *string          `json:"body"`
		IsBase64Encoded   bool             `json:"isBase64Encoded"`
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	if err := dec.Decode(&resp); err != nil {
		return 0, fmt.Errorf("response is not a proxy response object: %w", err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(out, &keys); err != nil {
		return 0, fmt.Errorf("response is not a JSON object: %w", err)
	}
	for k := range keys {
		switch k {
		case "statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies":
		default:
			return 0, fmt.Errorf("unexpected field %q in the proxy response", k)
		}
	}
	status := http.StatusOK
	if resp.StatusCode != nil {
		status = *resp.StatusCode
	}
	if status < 100 || status > 599 {
		return 0, fmt.Errorf("statusCode %d is not an HTTP status", status)
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, scalar(v))
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, scalar(v))
		}
	}
	var body []byte
	if resp.Body != nil {
		body = []byte(*resp.Body)
		if resp.IsBase64Encoded {
			dec, err := base64.StdEncoding.DecodeString(*resp.Body)
			if err != nil {
				return 0, fmt.Errorf("isBase64Encoded body is not base64: %w", err)
			}
			body = dec
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status, nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
