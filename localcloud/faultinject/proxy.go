package faultinject

import (
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// Proxy returns a fault-injecting AWS endpoint in front of another one:
// Wrap around a reverse proxy to target() (read per request, so the
// target may start after the proxy). Pointing functions' AWS_ENDPOINT_URL
// at it faults every AWS call they make, without any option in the
// running local cloud. An unusable target answers 503 ServiceUnavailable.
func (inj *Injector) Proxy(target func() string) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			u, err := url.Parse(target())
			if err != nil || u.Host == "" {
				return // ErrorHandler answers: the URL has no host
			}
			r.SetURL(u)
			r.Out.Host = r.In.Host // the signature covers the caller's host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			awsproto.WriteJSONError(w, r, awsproto.Errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "fault proxy: the local cloud at %q did not answer: %v", target(), err))
		},
	}
	return inj.Wrap(rp)
}
