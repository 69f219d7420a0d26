package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Prediction is the fake endpoint's answer to every InvokeEndpoint.
const Prediction = "0.42\n"

// FakeEndpoint answers SageMaker Runtime's InvokeEndpoint
// (POST /endpoints/{name}/invocations) on a loopback port with a fixed
// prediction at once, so that what is measured around it is the caller.
// Any other request (the control-plane functions' S3, Glue, SageMaker, SFN
// calls) gets an immediate, non-retryable 400 ValidationException: a cold
// start then ends with a fast error response instead of retries.
type FakeEndpoint struct {
	srv *http.Server
	url string

	// Invocations counts InvokeEndpoint calls; Traced those that carried
	// an X-Amzn-Trace-Id header; Other every other request.
	Invocations, Traced, Other atomic.Int64
}

// StartFakeEndpoint listens on 127.0.0.1 on a free port.
func StartFakeEndpoint() (*FakeEndpoint, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake endpoint: %w", err)
	}
	f := &FakeEndpoint{url: "http://" + ln.Addr().String()}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			// Every figure after this is invalid; the runs fail loudly
			// with connection errors, this says why.
			fmt.Fprintln(os.Stderr, "fake endpoint stopped:", err)
		}
	}()
	return f, nil
}

// URL is the endpoint's base URL (AWS_ENDPOINT_URL of the functions).
func (f *FakeEndpoint) URL() string { return f.url }

// Close stops the server.
func (f *FakeEndpoint) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f.srv.Shutdown(ctx)
}

var (
	csvType   = []string{"text/csv; charset=utf-8"}
	variant   = []string{"champion"}
	predLen   = []string{fmt.Sprint(len(Prediction))}
	jsonType  = []string{"application/x-amz-json-1.1"}
	errorType = []string{"ValidationException"}
)

// ServeHTTP implements http.Handler.
func (f *FakeEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/endpoints/") && strings.HasSuffix(r.URL.Path, "/invocations") {
		f.Invocations.Add(1)
		if r.Header.Get("X-Amzn-Trace-Id") != "" {
			f.Traced.Add(1)
		}
		h := w.Header()
		h["Content-Type"], h["X-Amzn-Invoked-Production-Variant"], h["Content-Length"] = csvType, variant, predLen
		_, _ = io.WriteString(w, Prediction)
		return
	}
	f.Other.Add(1)
	h := w.Header()
	h["Content-Type"], h["X-Amzn-Errortype"] = jsonType, errorType
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, `{"__type":"ValidationException","message":"benchmark fake endpoint: only InvokeEndpoint is served"}`)
}
