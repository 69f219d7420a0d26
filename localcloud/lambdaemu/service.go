// Package lambdaemu runs the Go functions of a SAM template the way Lambda
// runs them, without Docker.
//
// Each function is compiled for the host (see Builder) and its real
// bootstrap binary runs as a process whose AWS_LAMBDA_RUNTIME_API points
// at a Lambda Runtime API server of this package (one loopback listener
// per process). The Service keeps warm processes per function, starts new
// ones up to the function's concurrency (reserved concurrency respected,
// throttles answered as TooManyRequestsException), enforces the timeout
// (the process is replaced and the caller gets "Task timed out after N.NN
// seconds"), replaces crashed processes and streams every process's output
// with the function name as prefix.
//
// Callers reach it through the Lambda Invoke API (Service is an
// http.Handler for POST /2015-03-31/functions/{name}/invocations, so the
// SDK and `aws lambda invoke --endpoint-url` work) or from Go: Invoke,
// InvokeFunction and InvokeAsync (Event invocations retried per the
// function's EventInvokeConfig and then sent to its OnFailure destination
// or dead-letter queue through Options.Destination).
//
// Function code runs in real time: timeouts and deadlines use the wall
// clock, whatever Options.Clock says, because the handler's own context
// deadline does. Options.Clock paces only what Lambda itself waits for:
// the delays between asynchronous retries and the event age limit.
package lambdaemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// DefaultAccountConcurrency is Lambda's default regional concurrency limit.
const DefaultAccountConcurrency = 1000

// DefaultInitTimeout is Lambda's limit for the init phase.
const DefaultInitTimeout = 10 * time.Second

// maxSyncPayload and maxAsyncPayload are Lambda's request size limits.
const (
	maxSyncPayload  = 6 * 1024 * 1024
	maxAsyncPayload = 1024 * 1024
)

// DestinationFunc delivers an asynchronous invocation record (or, for a
// dead-letter queue, the original event) to an SQS queue, SNS topic or
// EventBridge bus ARN. The SQS/SNS/EventBridge emulators provide it.
type DestinationFunc func(ctx context.Context, destinationARN string, record []byte) error

// Options configure a Service.
type Options struct {
	// Functions are the functions to serve (from Template.Functions()).
	Functions []samtemplate.Function
	// StateDir is the local cloud's state directory; binaries are cached
	// in StateDir/lambda/build.
	StateDir string
	// Region sets AWS_REGION and AWS_DEFAULT_REGION (default us-east-1).
	Region string
	// Endpoint, when set, is passed to every function as
	// AWS_ENDPOINT_URL: the local cloud's AWS endpoint.
	Endpoint string
	// Env is added to every function's environment last (it wins over
	// the template), e.g. AWS_XRAY_CONTEXT_MISSING for local runs.
	Env map[string]string
	// Logs receives every function's output, one line at a time, prefixed
	// with the function name (default os.Stderr).
	Logs io.Writer
	// Clock paces asynchronous retries (default the wall clock).
	Clock clock.Clock
	// Destination delivers async failure/success records and DLQ events.
	Destination DestinationFunc
	// AccountConcurrency bounds concurrent executions of the functions
	// without reserved concurrency (default 1000, minus reservations).
	AccountConcurrency int
	// InitTimeout bounds the init phase of a new process (default 10 s).
	InitTimeout time.Duration
	// Go is the go command used to build (default "go").
	Go string
	// Faults, if set, is asked before each invocation attempt (sync, and
	// every async attempt) once it holds a concurrency slot: a
	// FunctionError is the attempt's outcome without running the function
	// (an injected crash, hang or init error); an error fails the attempt
	// as the service would (an injected throttle); (nil, nil) runs the
	// function. localcloud/faultinject provides it.
	Faults func(ctx context.Context, function string, timeout time.Duration) (*FunctionError, error)
	// Metrics receives the functions' metrics (AWS/Lambda, by
	// FunctionName: Invocations, Errors, Throttles, Duration); nil
	// publishes nothing.
	Metrics awsmetrics.Sink
}

// Service runs the functions. It is safe for concurrent use.
type Service struct {
	opts    Options
	builder *Builder
	clock   clock.Clock
	logs    io.Writer

	mu             sync.Mutex
	funcs          map[string]*function // by name
	order          []string
	unreserved     int // in flight without reservation
	unreservedMax  int
	closed         bool
	closing        chan struct{}
	async          sync.WaitGroup
	asyncCtx       context.Context
	asyncCtxCancel context.CancelFunc
	started        time.Time
	stateDir       string
}

// New returns a Service for the given functions. Nothing is built or
// started until a function is first invoked (or Warm is called).
func New(opts Options) (*Service, error) {
	if opts.Region == "" {
		opts.Region = samtemplate.DefaultRegion
	}
	if opts.StateDir == "" {
		opts.StateDir = ".localcloud"
	}
	if opts.Logs == nil {
		opts.Logs = os.Stderr
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.AccountConcurrency <= 0 {
		opts.AccountConcurrency = DefaultAccountConcurrency
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	stateDir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("state dir %q: %w", opts.StateDir, err)
	}
	s := &Service{
		opts:     opts,
		builder:  &Builder{Dir: filepath.Join(stateDir, "lambda", "build"), Go: opts.Go},
		clock:    opts.Clock,
		logs:     opts.Logs,
		funcs:    map[string]*function{},
		closing:  make(chan struct{}),
		started:  opts.Clock.Now(),
		stateDir: stateDir,
	}
	s.asyncCtx, s.asyncCtxCancel = context.WithCancel(context.Background())
	reserved := 0
	for _, f := range opts.Functions {
		if _, dup := s.funcs[f.Name]; dup {
			return nil, fmt.Errorf("function %s: name %q is used twice", f.LogicalID, f.Name)
		}
		fn := &function{cfg: f, svc: s, logs: &prefixWriter{out: opts.Logs, prefix: "[" + f.Name + "]"}}
		fn.env = s.environment(f)
		for _, w := range f.NotEmulated {
			fn.logs.writeLine(nil, "warning: "+w)
		}
		s.funcs[f.Name] = fn
		s.order = append(s.order, f.Name)
		if f.ReservedConcurrency != nil {
			reserved += *f.ReservedConcurrency
		}
	}
	if reserved > opts.AccountConcurrency {
		return nil, fmt.Errorf("reserved concurrency of all functions (%d) exceeds the account concurrency (%d)", reserved, opts.AccountConcurrency)
	}
	s.unreservedMax = opts.AccountConcurrency - reserved
	if err := s.resumePending(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// FunctionNames returns the names of the served functions, sorted.
func (s *Service) FunctionNames() []string {
	out := append([]string(nil), s.order...)
	sort.Strings(out)
	return out
}

// Close stops every process. Pending asynchronous events stay in the
// state directory and resume at the next New.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.asyncCtxCancel()
	fns := make([]*function, 0, len(s.funcs))
	for _, f := range s.funcs {
		fns = append(fns, f)
	}
	s.mu.Unlock()
	s.async.Wait()
	for _, f := range fns {
		f.killAll()
	}
	return nil
}

// Build builds (or finds in the cache) every function's binary, so the
// first invocation does not pay for compilation.
func (s *Service) Build() error {
	for _, name := range s.order {
		if _, err := s.funcs[name].binary(); err != nil {
			return err
		}
	}
	return nil
}

// Recycle stops the idle processes of a function, so the next invocation
// is a cold start (benchmarks use it).
func (s *Service) Recycle(name string) error {
	fn, err := s.lookup(name)
	if err != nil {
		return err
	}
	fn.mu.Lock()
	idle := fn.idle
	fn.idle = nil
	fn.mu.Unlock()
	for _, in := range idle {
		in.kill()
		<-in.exited
	}
	return nil
}

// environment is the process environment of a function: what Lambda sets,
// then the template's variables (reserved names cannot be overridden, as
// in Lambda), then Options.Env.
func (s *Service) environment(f samtemplate.Function) []string {
	env := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        f.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.MemorySize),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       firstNonEmpty(f.Logging.LogGroup, "/aws/lambda/"+f.Name),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      s.opts.Region,
		"AWS_DEFAULT_REGION":              s.opts.Region,
		"_HANDLER":                        f.Handler,
		"AWS_ACCESS_KEY_ID":               "ASIALOCALCLOUDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":           "localcloudSecretAccessKeyEXAMPLEKEY00000",
		"AWS_SESSION_TOKEN":               "localcloud-session-token",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
	}
	if format := strings.ToUpper(f.Logging.LogFormat); format != "" {
		// lambdacontext.NewLogger reads these, as in Lambda.
		env["AWS_LAMBDA_LOG_FORMAT"] = format
		if format == "JSON" {
			env["AWS_LAMBDA_LOG_LEVEL"] = strings.ToUpper(firstNonEmpty(f.Logging.ApplicationLogLevel, "INFO"))
		}
	}
	if f.Runtime == "go1.x" {
		env["AWS_EXECUTION_ENV"] = "AWS_Lambda_go1.x"
	}
	if f.Tracing == "Active" {
		env["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR"
	}
	if s.opts.Endpoint != "" {
		env["AWS_ENDPOINT_URL"] = s.opts.Endpoint
	}
	reserved := map[string]bool{}
	for k := range env {
		reserved[k] = true
	}
	reserved["AWS_LAMBDA_RUNTIME_API"] = true
	reserved["LAMBDA_TASK_ROOT"] = true
	for k, v := range f.Env {
		if !reserved[k] || k == "AWS_ENDPOINT_URL" {
			env[k] = v
		}
	}
	for k, v := range s.opts.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lookup finds a function by name, ARN or partial ARN, with an optional
// $LATEST qualifier.
func (s *Service) lookup(ref string) (*function, error) {
	name, qualifier := parseFunctionRef(ref)
	s.mu.Lock()
	fn, ok := s.funcs[name]
	if !ok {
		// Also accept the logical id, as `sam local invoke` does.
		for _, f := range s.funcs {
			if f.cfg.LogicalID == name {
				fn, ok = f, true
			}
		}
	}
	s.mu.Unlock()
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.opts.Region, samtemplate.DefaultAccountID, name)
	if !ok {
		if qualifier != "" {
			arn += ":" + qualifier
		}
		return nil, notFound(arn)
	}
	if qualifier != "" && qualifier != "$LATEST" {
		return nil, notFound(fn.cfg.ARN + ":" + qualifier)
	}
	return fn, nil
}

// parseFunctionRef splits "name", "name:qual", "arn:aws:lambda:r:a:function:name[:qual]"
// and "a:function:name[:qual]".
func parseFunctionRef(ref string) (name, qualifier string) {
	parts := strings.Split(ref, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn":
		name = parts[6]
		if len(parts) > 7 {
			qualifier = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function":
		name = parts[2]
		if len(parts) > 3 {
			qualifier = parts[3]
		}
	case len(parts) == 2:
		name, qualifier = parts[0], parts[1]
	default:
		name = ref
	}
	return name, qualifier
}

// InvokeInput is a synchronous invocation request.
type InvokeInput struct {
	// Function is the name, ARN or partial ARN (optionally :$LATEST).
	Function string
	// Payload is the JSON event (empty means {}).
	Payload []byte
	// ClientContext is the decoded client context JSON (optional).
	ClientContext string
	// TraceID is the X-Ray trace header to pass on (optional).
	TraceID string
	// RequestID reuses a request id (async retries); empty means new.
	RequestID string
}

// InvokeOutput is the result of an invocation that ran.
type InvokeOutput struct {
	// Payload is the response, or the error document on FunctionError.
	Payload []byte
	// RequestID is the invocation's request id.
	RequestID string
	// FunctionError is non-nil when the function failed.
	FunctionError *FunctionError
	// Log is the invocation's log output (START ... REPORT lines), its
	// last 64 KB when longer.
	Log string
	// Cold is true when a new process was started for the invocation;
	// InitDuration is then process start to its first /next.
	Cold         bool
	InitDuration time.Duration
	// Duration is dispatch to response.
	Duration time.Duration
}

// Invoke runs a function synchronously and returns its response. A failed
// invocation is a *FunctionError; a throttle, an unknown function or a
// malformed payload is an *APIError.
func (s *Service) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	out, err := s.InvokeFunction(ctx, InvokeInput{Function: fn, Payload: payload})
	if err != nil {
		return nil, err
	}
	if out.FunctionError != nil {
		return nil, out.FunctionError
	}
	return out.Payload, nil
}

// checkPayload validates an event: empty means {}, anything else must be
// JSON within the size limit.
func checkPayload(payload []byte, limit int) ([]byte, error) {
	if len(payload) > limit {
		return nil, tooLarge(limit)
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		return []byte("{}"), nil
	}
	// Validate without building the value: every invocation passes here.
	if !json.Valid(payload) {
		var v any
		return nil, invalidContent(json.Unmarshal(payload, &v))
	}
	return payload, nil
}

// InvokeFunction runs a function synchronously. The error is an *APIError
// when the function did not run; a function failure is reported in
// InvokeOutput.FunctionError.
func (s *Service) InvokeFunction(ctx context.Context, in InvokeInput) (*InvokeOutput, error) {
	fn, err := s.lookup(in.Function)
	if err != nil {
		return nil, err
	}
	payload, err := checkPayload(in.Payload, maxSyncPayload)
	if err != nil {
		return nil, err
	}
	if err := s.acquire(fn); err != nil {
		s.publishThrottle(fn, err)
		return nil, err
	}
	type res struct {
		out *InvokeOutput
		err error
	}
	done := make(chan res, 1)
	go func() {
		// The invocation runs to completion even if the caller goes away,
		// as in Lambda; only then is its concurrency slot released, and
		// before the caller sees the result, so that a caller's next
		// invocation finds the slot free.
		out, err := s.runSync(ctx, fn, in, payload)
		s.release(fn)
		done <- res{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke %s: %w", fn.cfg.Name, ctx.Err())
	}
}

// runSync runs one synchronous invocation, or the fault a hook injects
// instead, and publishes its metrics.
func (s *Service) runSync(ctx context.Context, fn *function, in InvokeInput, payload []byte) (*InvokeOutput, error) {
	if s.opts.Faults != nil {
		fe, err := s.opts.Faults(ctx, fn.cfg.Name, fn.cfg.Timeout)
		if err != nil || fe != nil {
			out := injected(fn, in, fe)
			s.publishThrottle(fn, err)
			s.publishInvocation(fn, out, err)
			return out, err
		}
	}
	out, err := fn.invoke(in, payload)
	s.publishInvocation(fn, out, err)
	return out, err
}

// injected is the outcome of an invocation a fault hook decided.
func injected(fn *function, in InvokeInput, fe *FunctionError) *InvokeOutput {
	if fe == nil {
		return nil
	}
	reqID := firstNonEmpty(in.RequestID, newRequestID())
	fe.RequestID = reqID
	if len(fe.Payload) == 0 {
		fe.Payload = newFunctionError(reqID, fe.Type, fe.Message).Payload
	}
	fn.logs.writeLine(nil, fmt.Sprintf("RequestId: %s injected fault: %s: %s", reqID, fe.Type, fe.Message))
	return &InvokeOutput{RequestID: reqID, FunctionError: fe, Payload: fe.Payload}
}

func (s *Service) acquire(fn *function) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return serviceError("the local Lambda service is shut down")
	}
	if r := fn.cfg.ReservedConcurrency; r != nil {
		if fn.inFlight >= *r {
			return throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
		}
		fn.inFlight++
		return nil
	}
	if s.unreserved >= s.unreservedMax {
		return throttled("ConcurrentInvocationLimitExceeded")
	}
	s.unreserved++
	fn.inFlight++
	return nil
}

func (s *Service) release(fn *function) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn.inFlight--
	if fn.cfg.ReservedConcurrency == nil {
		s.unreserved--
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func newTraceID(now time.Time) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	x := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), x[:24], x[24:40])
}

// function is one function's process pool.
type function struct {
	cfg  samtemplate.Function
	svc  *Service
	logs *prefixWriter
	env  []string

	buildMu  sync.Mutex
	bin      string
	taskRoot string

	mu       sync.Mutex
	idle     []*instance
	all      map[*instance]bool
	inFlight int // guarded by svc.mu
}

// binary builds the function on first use. A failed build is not cached:
// the next invocation tries again, so fixing the code is enough.
func (f *function) binary() (string, error) {
	f.buildMu.Lock()
	defer f.buildMu.Unlock()
	if f.bin != "" {
		return f.bin, nil
	}
	start := time.Now()
	bin, err := f.svc.builder.Build(f.svc.asyncCtx, f.cfg)
	if err != nil {
		return "", err
	}
	f.bin, f.taskRoot = bin, filepath.Dir(bin)
	f.logs.writeLine(nil, fmt.Sprintf("binary ready: %s (%.0f ms)", bin, ms(time.Since(start))))
	return bin, nil
}

func (f *function) killAll() {
	f.mu.Lock()
	all := make([]*instance, 0, len(f.all))
	for in := range f.all {
		all = append(all, in)
	}
	f.idle = nil
	f.mu.Unlock()
	for _, in := range all {
		in.kill()
		<-in.exited
	}
}

// getIdle pops a warm process, skipping any that exited while idle.
func (f *function) getIdle() *instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.idle) > 0 {
		in := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		select {
		case <-in.exited:
			continue
		default:
			return in
		}
	}
	return nil
}

func (f *function) putIdle(in *instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.svc.closing:
		go in.kill()
		return
	default:
	}
	f.idle = append(f.idle, in)
}

func (f *function) forget(in *instance) {
	f.mu.Lock()
	delete(f.all, in)
	for i, x := range f.idle {
		if x == in {
			f.idle = append(f.idle[:i], f.idle[i+1:]...)
			break
		}
	}
	f.mu.Unlock()
}

// start launches a new process and waits for its init phase: the first
// /next call. Init failures are returned as FunctionErrors.
func (f *function) start(requestID string) (*instance, time.Duration, *FunctionError, error) {
	bin, err := f.binary()
	if err != nil {
		return nil, 0, nil, serviceError("%v", err)
	}
	in, err := startInstance(f, bin, f.envForInstance(), f.logs)
	if err != nil {
		return nil, 0, nil, serviceError("function %s: %v", f.cfg.Name, err)
	}
	f.mu.Lock()
	if f.all == nil {
		f.all = map[*instance]bool{}
	}
	f.all[in] = true
	f.mu.Unlock()
	go func() {
		<-in.exited
		f.forget(in)
	}()
	select {
	case <-f.svc.closing:
		// Close ran while this process started: do not leak it.
		in.kill()
		<-in.exited
		return nil, 0, nil, serviceError("the local Lambda service is shut down")
	default:
	}

	limit := f.svc.opts.InitTimeout + f.cfg.Timeout
	timer := time.NewTimer(limit)
	defer timer.Stop()
	fail := func(fe *FunctionError) (*instance, time.Duration, *FunctionError, error) {
		in.kill()
		<-in.exited
		fe.RequestID = requestID
		return nil, time.Since(in.started), fe, nil
	}
	select {
	case <-in.ready:
		return in, time.Since(in.started), nil, nil
	case fe := <-in.initErr:
		return fail(fe)
	case <-in.exited:
		select {
		case fe := <-in.initErr:
			return fail(fe)
		default:
		}
		return fail(newFunctionError(requestID, "Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: %s", requestID, in.exitMessage())))
	case <-timer.C:
		return fail(newFunctionError(requestID, "Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID, limit.Seconds())))
	}
}

func (f *function) envForInstance() []string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	stream := time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(b[:])
	env := append([]string(nil), f.env...)
	env = append(env, "AWS_LAMBDA_LOG_STREAM_NAME="+stream)
	root := f.taskRoot
	env = append(env, "LAMBDA_TASK_ROOT="+root, "LAMBDA_RUNTIME_DIR="+root)
	return env
}

// invoke runs one invocation on a warm or new process.
func (f *function) invoke(req InvokeInput, payload []byte) (*InvokeOutput, error) {
	reqID := req.RequestID
	if reqID == "" {
		reqID = newRequestID()
	}
	out := &InvokeOutput{RequestID: reqID}
	for attempt := 0; ; attempt++ {
		in := f.getIdle()
		if in == nil {
			var fe *FunctionError
			var err error
			in, out.InitDuration, fe, err = f.start(reqID)
			if err != nil {
				return nil, err
			}
			out.Cold = true
			if fe != nil {
				f.logs.writeLine(nil, fmt.Sprintf("INIT_REPORT Init Duration: %.2f ms Phase: init Status: error Error Type: %s", ms(out.InitDuration), fe.Type))
				out.FunctionError, out.Payload = fe, fe.Payload
				return out, nil
			}
		}
		ok := f.run(in, req, reqID, payload, out)
		if ok || attempt >= 2 {
			if !ok {
				return nil, serviceError("function %s: its processes kept exiting before taking the invocation", f.cfg.Name)
			}
			return out, nil
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// platformStart and platformEnd write Lambda's platform log lines (START,
// END, REPORT). They stay in the text format even for LogFormat JSON,
// where Lambda writes platform.* events: they are the local cloud's own
// log lines, which its tools and tests read.
func (f *function) platformStart(in *instance, reqID string) {
	f.logs.writeLine(in, fmt.Sprintf("START RequestId: %s Version: $LATEST", reqID))
}

func (f *function) platformEnd(in *instance, reqID, status string, out *InvokeOutput) {
	f.logs.writeLine(in, "END RequestId: "+reqID)
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB", reqID, ms(out.Duration), out.Duration.Milliseconds()+1, f.cfg.MemorySize)
	if out.Cold {
		report += fmt.Sprintf("\tInit Duration: %.2f ms", ms(out.InitDuration))
	}
	if status != "success" {
		report += "\tStatus: " + status
	}
	f.logs.writeLine(in, report)
}

// run dispatches the invocation to in and waits for its outcome. It
// returns false if the process exited before taking the invocation (the
// caller retries on another one).
func (f *function) run(in *instance, req InvokeInput, reqID string, payload []byte, out *InvokeOutput) bool {
	timeout := f.cfg.Timeout
	start := time.Now()
	inv := &invocation{
		requestID:     reqID,
		payload:       payload,
		deadline:      start.Add(timeout),
		traceID:       firstNonEmpty(req.TraceID, newTraceID(start)),
		clientContext: req.ClientContext,
		done:          make(chan outcome, 1),
	}
	var tail []byte
	in.mu.Lock()
	in.logBuf = &tail
	in.mu.Unlock()
	f.platformStart(in, reqID)

	select {
	case in.next <- inv:
	case <-in.exited:
		in.mu.Lock()
		in.logBuf = nil
		in.mu.Unlock()
		return false
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var o outcome
	healthy := true
	select {
	case o = <-inv.done:
	case <-in.exited:
		select {
		case o = <-inv.done:
		default:
			healthy = false
			o.fnErr = newFunctionError(reqID, "Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: %s", reqID, in.exitMessage()))
		}
	case <-timer.C:
		healthy = false
		in.take(reqID)
		in.kill()
		<-in.exited
		o.fnErr = newFunctionError(reqID, "Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", reqID, timeout.Seconds()))
	}
	out.Duration = time.Since(start)
	if healthy {
		in.drainLogs()
	}
	if o.fnErr != nil {
		o.fnErr.RequestID = reqID
		out.FunctionError, out.Payload = o.fnErr, o.fnErr.Payload
		if !healthy {
			f.logs.writeLine(in, fmt.Sprintf("%s %s %s", time.Now().UTC().Format(time.RFC3339Nano), reqID, o.fnErr.Message))
		}
	} else {
		out.Payload = o.payload
	}
	status := "success"
	if !healthy {
		status = map[bool]string{true: "timeout", false: "error"}[o.fnErr.Type == "Sandbox.Timedout"]
	}
	f.platformEnd(in, reqID, status, out)
	in.mu.Lock()
	in.logBuf = nil
	in.mu.Unlock()
	if len(tail) > maxLogTail {
		tail = tail[len(tail)-maxLogTail:]
	}
	out.Log = string(tail)
	if healthy {
		f.putIdle(in)
	} else {
		in.kill()
	}
	return true
}
