package lambdaemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxLogTail bounds the log kept per invocation for InvokeOutput.Log.
const maxLogTail = 64 * 1024

// maxResponseBytes is Lambda's synchronous response limit.
const maxResponseBytes = 6 * 1024 * 1024

// invocation is one event handed to a runtime through /next.
type invocation struct {
	requestID     string
	payload       []byte
	deadline      time.Time
	traceID       string
	clientContext string
	done          chan outcome // buffered 1
}

// outcome is what the runtime reported for an invocation.
type outcome struct {
	payload []byte
	fnErr   *FunctionError
}

// instance is one running bootstrap process with its own Runtime API
// listener. One listener per process keeps the bookkeeping trivial: every
// request on it concerns this process's single in-flight invocation, as in
// a Lambda execution environment.
type instance struct {
	fn   *function
	addr string
	srv  *http.Server
	cmd  *exec.Cmd

	next    chan *invocation
	ready   chan struct{} // closed on the first /next
	initErr chan *FunctionError
	exited  chan struct{} // closed when the process has exited
	exitErr error
	stop    chan struct{}

	readyOnce sync.Once
	stopOnce  sync.Once

	mu      sync.Mutex
	current *invocation
	logBuf  *[]byte // the end of the current invocation's log (for LogType Tail)
	started time.Time

	logPipe       *os.File
	logs          *lineWriter
	readsReturned atomic.Int64
	readsDone     atomic.Int64
}

// startInstance starts a bootstrap process behind a new Runtime API
// listener.
func startInstance(fn *function, binary string, env []string, logs *prefixWriter) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	in := &instance{
		fn:      fn,
		addr:    ln.Addr().String(),
		next:    make(chan *invocation),
		ready:   make(chan struct{}),
		initErr: make(chan *FunctionError, 1),
		exited:  make(chan struct{}),
		stop:    make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", in.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", in.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", in.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", in.handleInitError)
	in.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = in.srv.Serve(ln) }()

	// Our own pipe (rather than an io.Writer) lets drainLogs see whether
	// output written before a response is still unread.
	pr, pw, err := os.Pipe()
	if err != nil {
		_ = in.srv.Close()
		return nil, fmt.Errorf("log pipe: %w", err)
	}
	cmd := exec.Command(binary)
	cmd.Env = append(env, "AWS_LAMBDA_RUNTIME_API="+in.addr)
	cmd.Dir = fn.taskRoot
	cmd.Stdout, cmd.Stderr = pw, pw
	configureProcess(cmd)
	in.started = time.Now()
	err = cmd.Start()
	_ = pw.Close()
	if err != nil {
		_ = pr.Close()
		_ = in.srv.Close()
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	in.cmd = cmd
	in.logPipe = pr
	in.logs = logs.lineWriter(in)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 32*1024)
		for {
			n, err := pr.Read(buf)
			in.readsReturned.Add(1)
			if n > 0 {
				_, _ = in.logs.Write(buf[:n])
			}
			in.readsDone.Add(1)
			if err != nil {
				in.logs.flush()
				return
			}
		}
	}()
	go func() {
		in.exitErr = cmd.Wait()
		select {
		case <-readerDone:
		case <-time.After(time.Second): // a child process still holds the pipe
		}
		_ = pr.Close()
		close(in.exited)
		in.shutdown()
	}()
	return in, nil
}

// drainLogs waits (briefly) until the output the process wrote so far has
// been read, so an invocation's log lines precede its END line and belong
// to its log tail.
func (in *instance) drainLogs() {
	for i := 0; i < 500; i++ {
		if pendingBytes(in.logPipe) == 0 && in.readsReturned.Load() == in.readsDone.Load() {
			in.logs.mu.Lock()
			in.logs.mu.Unlock()
			return
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// kill stops the process and its listener.
func (in *instance) kill() {
	if in.cmd != nil && in.cmd.Process != nil {
		_ = in.cmd.Process.Kill()
	}
	in.shutdown()
}

func (in *instance) shutdown() {
	in.stopOnce.Do(func() {
		close(in.stop)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = in.srv.Shutdown(ctx)
	})
}

// exitMessage describes how the process ended, as Lambda words it.
func (in *instance) exitMessage() string {
	err := in.exitErr
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "Runtime exited with error: " + ee.ProcessState.String()
	}
	if err != nil {
		return "Runtime exited with error: " + err.Error()
	}
	return "Runtime exited without providing a reason"
}

func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	in.readyOnce.Do(func() { close(in.ready) })
	select {
	case inv := <-in.next:
		in.mu.Lock()
		in.current = inv
		in.mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.requestID)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", in.fn.cfg.ARN)
		h.Set("Lambda-Runtime-Trace-Id", inv.traceID)
		if inv.clientContext != "" {
			h.Set("Lambda-Runtime-Client-Context", inv.clientContext)
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	case <-in.stop:
	}
}

// take returns the in-flight invocation if its id matches and clears it.
func (in *instance) take(id string) *invocation {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.current == nil || in.current.requestID != id {
		return nil
	}
	inv := in.current
	in.current = nil
	return inv
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (in *instance) handleResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", "read response body: "+err.Error())
		return
	}
	inv := in.take(id)
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or already answered request id "+id)
		return
	}
	if len(body) > maxResponseBytes {
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)
		inv.done <- outcome{fnErr: newFunctionError(id, "Function.ResponseSizeTooLarge", msg)}
		runtimeError(w, http.StatusRequestEntityTooLarge, "Function.ResponseSizeTooLarge", msg)
		return
	}
	inv.done <- outcome{payload: body}
	accepted(w)
}

func (in *instance) handleError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes))
	inv := in.take(id)
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or already answered request id "+id)
		return
	}
	inv.done <- outcome{fnErr: errorFromRuntime(id, r.Header.Get("Lambda-Runtime-Function-Error-Type"), body)}
	accepted(w)
}

func (in *instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes))
	fe := errorFromRuntime("", r.Header.Get("Lambda-Runtime-Function-Error-Type"), body)
	select {
	case in.initErr <- fe:
	default:
	}
	accepted(w)
}

// errorFromRuntime builds the FunctionError for an /error or /init/error
// call: the body is the payload the caller gets back, as in Lambda.
func errorFromRuntime(id, headerType string, body []byte) *FunctionError {
	var doc struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &doc) != nil || !json.Valid(body) {
		// Not JSON: Lambda wraps it.
		fe := newFunctionError(id, firstNonEmpty(headerType, "Runtime.Unknown"), strings.TrimSpace(string(body)))
		return fe
	}
	return &FunctionError{
		RequestID: id,
		Type:      firstNonEmpty(doc.ErrorType, headerType, "Runtime.Unknown"),
		Message:   doc.ErrorMessage,
		Payload:   body,
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// prefixWriter streams function logs, one line at a time, each prefixed
// with the function name; it also copies the lines of the in-flight
// invocation into the instance's tail buffer.
type prefixWriter struct {
	mu     sync.Mutex
	out    io.Writer
	prefix string
}

func (p *prefixWriter) writeLine(in *instance, line string) {
	p.mu.Lock()
	_, _ = fmt.Fprintf(p.out, "%s %s\n", p.prefix, line)
	p.mu.Unlock()
	if in == nil {
		return
	}
	in.mu.Lock()
	if in.logBuf != nil {
		b := append(append(*in.logBuf, line...), '\n')
		if len(b) > 2*maxLogTail {
			b = append([]byte(nil), b[len(b)-maxLogTail:]...)
		}
		*in.logBuf = b
	}
	in.mu.Unlock()
}

type lineWriter struct {
	p   *prefixWriter
	in  *instance
	mu  sync.Mutex
	buf []byte
}

func (p *prefixWriter) lineWriter(in *instance) *lineWriter { return &lineWriter{p: p, in: in} }

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		l.p.writeLine(l.in, strings.TrimRight(string(l.buf[:i]), "\r"))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 256*1024 {
		l.p.writeLine(l.in, string(l.buf))
		l.buf = nil
	}
	return len(b), nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.p.writeLine(l.in, string(l.buf))
		l.buf = nil
	}
}
