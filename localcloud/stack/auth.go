package stack

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// Authorization types of API routes the local cloud checks.
const (
	// AuthIAM is an AWS_IAM route: the request must be SigV4-signed for
	// the execute-api service.
	AuthIAM = "AWS_IAM"
	// AuthNone is a route without an authorizer.
	AuthNone = "NONE"
)

// routeAuth is the authorization of one API route.
type routeAuth struct {
	method   string
	segments []string
	auth     string // AuthIAM, AuthNone, or another authorizer type
}

// apiAuthorizer checks, before the request reaches the function, what API
// Gateway checks for the route's authorizer. For AWS_IAM routes that is the
// presence and shape of a SigV4 signature scoped to execute-api: the
// Authorization header's algorithm, credential scope, signed headers
// (including host) and a 64-hex-digit signature, plus X-Amz-Date. The
// signature itself is not verified (the local cloud has no IAM and no
// secret keys): a well-formed signature from any credentials is accepted.
type apiAuthorizer struct {
	routes []routeAuth
	region string
	next   http.Handler
}

// authRoutes reads each route's authorization from the template: the
// OpenAPI DefinitionBody's security requirements (a scheme with
// x-amazon-apigateway-authtype awsSigv4 is AWS_IAM), else the API's SAM
// Auth.DefaultAuthorizer.
func authRoutes(tpl *samtemplate.Template) ([]routeAuth, error) {
	apis, err := tpl.APIs()
	if err != nil {
		return nil, err
	}
	var out []routeAuth
	for _, api := range apis {
		props := tpl.Resources[api.LogicalID].Properties
		def, _ := props["DefinitionBody"].(map[string]any)
		defaultAuth := AuthNone
		if auth, ok := props["Auth"].(map[string]any); ok {
			if d, ok := auth["DefaultAuthorizer"].(string); ok && d != "" {
				defaultAuth = d
			}
		}
		for _, r := range api.Routes {
			a := defaultAuth
			if def != nil {
				if s, ok := definitionAuth(def, r.Path, r.Method); ok {
					a = s
				}
			}
			out = append(out, routeAuth{method: r.Method, segments: splitSegments(r.Path), auth: a})
		}
	}
	return out, nil
}

// definitionAuth returns the authorization an OpenAPI operation's security
// requirements ask for.
func definitionAuth(def map[string]any, path, method string) (string, bool) {
	paths, _ := def["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		op, _ = item["x-amazon-apigateway-any-method"].(map[string]any)
	}
	security, ok := op["security"]
	if !ok {
		security, ok = def["security"]
	}
	if !ok {
		return "", false
	}
	schemes := map[string]any{}
	if comps, ok := def["components"].(map[string]any); ok {
		schemes, _ = comps["securitySchemes"].(map[string]any)
	}
	if sd, ok := def["securityDefinitions"].(map[string]any); ok { // OpenAPI 2
		schemes = sd
	}
	reqs, _ := security.([]any)
	var kinds []string
	for _, req := range reqs {
		m, _ := req.(map[string]any)
		for name := range m {
			scheme, _ := schemes[name].(map[string]any)
			switch t, _ := scheme["x-amazon-apigateway-authtype"].(string); strings.ToLower(t) {
			case "awssigv4":
				kinds = append(kinds, AuthIAM)
			case "cognito_user_pools":
				kinds = append(kinds, "COGNITO_USER_POOLS")
			case "":
				// An API key (x-api-key) meters, it never authenticates.
			default:
				kinds = append(kinds, t)
			}
		}
	}
	if len(kinds) == 0 {
		return AuthNone, true
	}
	sort.Strings(kinds)
	return kinds[0], true
}

func splitSegments(path string) []string {
	return strings.Split(strings.Trim(path, "/"), "/")
}

// match returns the authorization of the route serving method and path, or
// "" when no route matches (the API server then answers as API Gateway).
func (a *apiAuthorizer) match(method, path string) string {
	segs := splitSegments(path)
	for _, r := range a.routes {
		if r.method != "ANY" && r.method != method {
			continue
		}
		if segmentsMatch(r.segments, segs) {
			return r.auth
		}
	}
	return ""
}

func segmentsMatch(pattern, segs []string) bool {
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			return i < len(segs)
		}
		if i >= len(segs) {
			return false
		}
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			continue
		}
		if p != segs[i] {
			return false
		}
	}
	return len(pattern) == len(segs)
}

var (
	signatureRE     = regexp.MustCompile(`(?:^|[ ,])Signature=([0-9a-f]+)(?:,|$)`)
	signedHeadersRE = regexp.MustCompile(`(?:^|[ ,])SignedHeaders=([a-z0-9;-]+)(?:,|$)`)
)

func (a *apiAuthorizer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.match(r.Method, r.URL.Path) == AuthIAM {
		if code, msg := a.checkSigV4(r); code != "" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("x-amzn-ErrorType", code)
			w.Header().Set("x-amzn-RequestId", awsproto.NewRequestID())
			w.WriteHeader(http.StatusForbidden)
			body, _ := json.Marshal(map[string]string{"message": msg})
			_, _ = w.Write(body)
			return
		}
	}
	a.next.ServeHTTP(w, r)
}

// checkSigV4 returns API Gateway's error code and message for a request
// that an AWS_IAM route would refuse, or "" when it is acceptable.
func (a *apiAuthorizer) checkSigV4(r *http.Request) (code, msg string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	if !strings.HasPrefix(h, "AWS4-HMAC-SHA256 ") {
		return "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header and the AWS4-HMAC-SHA256 algorithm."
	}
	scope, err := awsproto.ParseScope(r)
	if err != nil || scope.AccessKey == "" || scope.Region == "" {
		return "IncompleteSignatureException", "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."
	}
	if scope.Service != "execute-api" {
		return "InvalidSignatureException", "Credential should be scoped to correct service: 'execute-api'."
	}
	if a.region != "" && scope.Region != a.region {
		return "InvalidSignatureException", "Credential should be scoped to a valid region."
	}
	sig := signatureRE.FindStringSubmatch(h)
	if sig == nil || len(sig[1]) != 64 {
		return "IncompleteSignatureException", "Authorization header requires 'Signature' parameter."
	}
	sh := signedHeadersRE.FindStringSubmatch(h)
	if sh == nil || !contains(strings.Split(sh[1], ";"), "host") {
		return "IncompleteSignatureException", "Authorization header requires 'SignedHeaders' parameter, and it must include host."
	}
	date := r.Header.Get("X-Amz-Date")
	if date == "" {
		return "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	}
	if _, err := time.Parse("20060102T150405Z", date); err != nil {
		return "IncompleteSignatureException", "X-Amz-Date must be in the ISO8601 basic format (yyyyMMddTHHmmssZ)."
	}
	if !strings.HasPrefix(date, scope.Date) {
		return "InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP."
	}
	return "", ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
