// Package endpoint is the local cloud's single AWS-compatible HTTP endpoint:
// it routes each SigV4-signed request by the service named in its credential
// scope (s3, events, states, sns, sqs, sts, lambda, glue, sagemaker,
// monitoring, ...) to the http.Handler registered for that service.
//
// Requests for a service nobody registered, unsigned requests and handler
// panics all get AWS-shaped errors in the protocol the client speaks (AWS
// JSON, query XML or REST-XML), never a hang or an empty 500.
package endpoint

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// DefaultPort is the endpoint's fixed default port (the one LocalStack made
// familiar, so existing AWS_ENDPOINT_URL settings keep working).
const DefaultPort = 4566

// DefaultStateDir is where services keep their state unless told otherwise.
const DefaultStateDir = ".localcloud"

// SageMakerRuntime is the routing key of SageMaker's runtime API. Its
// clients sign as "sagemaker" like the control plane, so the router sends
// POST /endpoints/{name}/invocations to this key instead.
const SageMakerRuntime = "sagemaker-runtime"

// Config is what the endpoint's command-line flags set.
type Config struct {
	// Port is the TCP port on 127.0.0.1 (0 picks a free one).
	Port int
	// StateDir is the directory every service keeps its state under.
	StateDir string
}

// RegisterFlags adds --port and --state-dir to fs, with their defaults.
func RegisterFlags(fs *flag.FlagSet, c *Config) {
	fs.IntVar(&c.Port, "port", DefaultPort, "port of the local AWS endpoint on 127.0.0.1")
	fs.StringVar(&c.StateDir, "state-dir", DefaultStateDir, "directory holding the local cloud's state (survives restarts)")
}

// Addr returns the loopback listen address for the configured port.
func (c Config) Addr() string { return fmt.Sprintf("127.0.0.1:%d", c.Port) }

// Router dispatches requests to per-service handlers. The zero value is not
// usable; call NewRouter.
type Router struct {
	mu       sync.RWMutex
	handlers map[string]http.Handler
	logger   *slog.Logger
}

// NewRouter returns an empty router. logger may be nil (no logging).
func NewRouter(logger *slog.Logger) *Router {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Router{handlers: map[string]http.Handler{}, logger: logger}
}

// Handle registers h for the SigV4 service name (the fourth element of the
// credential scope, e.g. "s3", "events", "states", "sqs") or for
// SageMakerRuntime. A later registration replaces an earlier one.
func (rt *Router) Handle(service string, h http.Handler) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.handlers[service] = h
}

// Services lists the registered service names, sorted.
func (rt *Router) Services() []string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	out := make([]string, 0, len(rt.handlers))
	for s := range rt.handlers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// ServeHTTP routes r by its credential scope.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsproto.RequestID(w)
	defer func() {
		if p := recover(); p != nil {
			rt.logger.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			writeError(w, r, awsproto.Internal())
		}
	}()
	scope, err := awsproto.ParseScope(r)
	if err != nil {
		writeError(w, r, awsproto.Errorf(http.StatusForbidden, "MissingAuthenticationTokenException", "%v", err))
		return
	}
	key := scope.Service
	if key == "sagemaker" && isSageMakerRuntimePath(r.URL.Path) {
		key = SageMakerRuntime
	}
	rt.mu.RLock()
	h, ok := rt.handlers[key]
	rt.mu.RUnlock()
	if !ok {
		writeError(w, r, awsproto.Errorf(http.StatusBadRequest, "UnknownOperationException",
			"service %q is not emulated by the local cloud (emulated: %s)", key, strings.Join(rt.Services(), ", ")))
		return
	}
	h.ServeHTTP(w, r)
}

// isSageMakerRuntimePath reports whether path is
// /endpoints/{name}/invocations (or the async variant).
func isSageMakerRuntimePath(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	return len(parts) == 3 && parts[0] == "endpoints" && parts[1] != "" &&
		(parts[2] == "invocations" || parts[2] == "async-invocations" || parts[2] == "invocations-response-stream")
}

// writeError answers in the protocol of the request: AWS JSON when it has
// an X-Amz-Target, query XML when it is form-encoded, REST-XML otherwise.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		awsproto.WriteJSONError(w, r, err)
	case awsproto.IsQueryProtocol(r):
		awsproto.WriteQueryError(w, err)
	default:
		awsproto.WriteRESTXMLError(w, err)
	}
}

// Server is a running endpoint.
type Server struct {
	srv       *http.Server
	listener  net.Listener
	done      chan error
	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr (use 127.0.0.1:0 for a free port) and serves h in
// the background until Close.
func Start(addr string, h http.Handler) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("endpoint address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("endpoint address %q: the local cloud only listens on loopback", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
		},
		listener: ln,
		done:     make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// URL is the endpoint URL clients use (AWS_ENDPOINT_URL, --endpoint-url).
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.listener.Addr().(*net.TCPAddr).Port }

// Close stops the server, waiting up to the context's deadline for
// requests in flight. Later calls return the first call's result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		err := s.srv.Shutdown(ctx)
		if serveErr := <-s.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
			err = serveErr
		}
		if err != nil {
			s.closeErr = fmt.Errorf("stop endpoint: %w", err)
		}
	})
	return s.closeErr
}
