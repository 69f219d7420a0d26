package apigw

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"
)

// proxyEventV2 is API Gateway's HTTP API event (payload format 2.0).
type proxyEventV2 struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	RequestContext        requestContextV2  `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type requestContextV2 struct {
	AccountID    string `json:"accountId"`
	APIID        string `json:"apiId"`
	DomainName   string `json:"domainName"`
	DomainPrefix string `json:"domainPrefix"`
	HTTP         struct {
		Method    string `json:"method"`
		Path      string `json:"path"`
		Protocol  string `json:"protocol"`
		SourceIP  string `json:"sourceIp"`
		UserAgent string `json:"userAgent"`
	} `json:"http"`
	RequestID string `json:"requestId"`
	RouteKey  string `json:"routeKey"`
	Stage     string `json:"stage"`
	Time      string `json:"time"`
	TimeEpoch int64  `json:"timeEpoch"`
}

func (s *Server) eventV2(req *http.Request, rt *route, params map[string]string, body []byte, reqID string) ([]byte, error) {
	now := s.clock.Now().UTC()
	routeKey := rt.method + " " + rt.path
	if rt.method == "ANY" && rt.path == "/{proxy+}" {
		routeKey = "$default"
	}
	ev := proxyEventV2{
		Version:        "2.0",
		RouteKey:       routeKey,
		RawPath:        req.URL.Path,
		RawQueryString: req.URL.RawQuery,
		Headers:        map[string]string{},
	}
	for k, vs := range req.Header {
		name := strings.ToLower(k)
		if name == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[name] = strings.Join(vs, ",")
	}
	if req.Host != "" {
		ev.Headers["host"] = req.Host
	}
	for k, v := range forwardedHeaders(req) {
		ev.Headers[strings.ToLower(k)] = v
	}
	if q := req.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if len(params) > 0 {
		ev.PathParameters = params
	}
	if len(body) > 0 {
		// HTTP APIs base64-encode every body that is not plainly text.
		if textual(req.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	rc := &ev.RequestContext
	rc.AccountID, rc.APIID = s.account, rt.api.ID
	rc.DomainName, rc.DomainPrefix = req.Host, strings.Split(req.Host, ".")[0]
	rc.HTTP.Method, rc.HTTP.Path, rc.HTTP.Protocol = req.Method, req.URL.Path, req.Proto
	rc.HTTP.SourceIP, rc.HTTP.UserAgent = sourceIP(req), req.UserAgent()
	rc.RequestID, rc.RouteKey, rc.Stage = reqID, routeKey, rt.api.StageName
	rc.Time, rc.TimeEpoch = now.Format("02/Jan/2006:15:04:05 -0700"), now.UnixMilli()
	return json.Marshal(ev)
}

func textual(ct string) bool {
	ct = strings.ToLower(ct)
	return ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml") ||
		strings.Contains(ct, "javascript") || strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}

// writeResponseV2 applies payload format 2.0's rules: an object with a
// statusCode is a structured response; any other valid JSON is the body of
// a 200 application/json response.
func writeResponseV2(w http.ResponseWriter, out []byte) (int, error) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(out, &probe) == nil {
		if _, ok := probe["statusCode"]; ok {
			var resp struct {
				Cookies []string `json:"cookies"`
			}
			_ = json.Unmarshal(out, &resp)
			for _, c := range resp.Cookies {
				w.Header().Add("Set-Cookie", c)
			}
			delete(probe, "cookies")
			stripped, _ := json.Marshal(probe)
			return writeResponseV1(w, stripped)
		}
	}
	if !json.Valid(out) {
		return 0, errMalformed
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return http.StatusOK, nil
}

var errMalformed = errorString("the function's response is not valid JSON")

type errorString string

func (e errorString) Error() string { return string(e) }
