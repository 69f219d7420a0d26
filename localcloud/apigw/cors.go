package apigw

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// corsConfig is an API's CORS configuration: a REST API's Cors property
// (values are quoted strings, as in SAM: "'*'") or an HTTP API's
// CorsConfiguration (plain values and lists).
type corsConfig struct {
	origin, methods, headers, maxAge string
	credentials                      bool
}

// parseCors reads Cors / CorsConfiguration; nil when the API has none.
func parseCors(api samtemplate.API, res samtemplate.Resource) (*corsConfig, error) {
	unquote := func(v any) string {
		s, _ := v.(string)
		return strings.Trim(s, "'")
	}
	join := func(v any) string {
		switch x := v.(type) {
		case []any:
			parts := make([]string, 0, len(x))
			for _, e := range x {
				parts = append(parts, fmt.Sprint(e))
			}
			return strings.Join(parts, ",")
		case nil:
			return ""
		}
		return fmt.Sprint(v)
	}
	if api.Type == "HTTP" {
		v, ok := res.Properties["CorsConfiguration"]
		if !ok {
			return nil, nil
		}
		if b, ok := v.(bool); ok {
			if !b {
				return nil, nil
			}
			return &corsConfig{origin: "*", methods: "*", headers: "*"}, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s property CorsConfiguration: %v is not a mapping", api.LogicalID, v)
		}
		c := &corsConfig{origin: join(m["AllowOrigins"]), methods: join(m["AllowMethods"]), headers: join(m["AllowHeaders"]), maxAge: join(m["MaxAge"])}
		c.credentials = m["AllowCredentials"] == true
		return c, nil
	}
	v, ok := res.Properties["Cors"]
	if !ok {
		return nil, nil
	}
	switch x := v.(type) {
	case string:
		return &corsConfig{origin: unquote(x)}, nil
	case map[string]any:
		c := &corsConfig{origin: unquote(x["AllowOrigin"]), methods: unquote(x["AllowMethods"]), headers: unquote(x["AllowHeaders"]), maxAge: unquote(fmt.Sprint(x["MaxAge"]))}
		if x["MaxAge"] == nil {
			c.maxAge = ""
		}
		c.credentials = x["AllowCredentials"] == true
		if c.origin == "" {
			return nil, fmt.Errorf("resource %s property Cors.AllowOrigin: required", api.LogicalID)
		}
		return c, nil
	}
	return nil, fmt.Errorf("resource %s property Cors: %v is neither an origin nor a mapping", api.LogicalID, v)
}

// preflight answers an OPTIONS request for a path some route of a
// CORS-enabled API serves, as the OPTIONS method SAM adds does. It
// reports whether it answered.
func (s *Server) preflight(w http.ResponseWriter, req *http.Request) bool {
	if req.Method != http.MethodOptions {
		return false
	}
	segs := splitPath(req.URL.Path)
	var cfg *corsConfig
	methods := map[string]bool{http.MethodOptions: true}
	for _, r := range s.routes {
		if _, ok := r.match(segs); !ok {
			continue
		}
		if r.method == http.MethodOptions {
			return false // the template routes OPTIONS to a function itself
		}
		if r.cors == nil {
			continue
		}
		cfg = r.cors
		if r.method == "ANY" {
			for _, m := range []string{"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"} {
				methods[m] = true
			}
		} else {
			methods[r.method] = true
		}
	}
	if cfg == nil {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", cfg.origin)
	allow := cfg.methods
	if allow == "" {
		list := make([]string, 0, len(methods))
		for m := range methods {
			list = append(list, m)
		}
		sort.Strings(list)
		allow = strings.Join(list, ",")
	}
	h.Set("Access-Control-Allow-Methods", allow)
	if cfg.headers != "" {
		h.Set("Access-Control-Allow-Headers", cfg.headers)
	}
	if cfg.maxAge != "" {
		h.Set("Access-Control-Max-Age", cfg.maxAge)
	}
	if cfg.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	w.WriteHeader(http.StatusOK)
	return true
}
