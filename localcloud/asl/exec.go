package asl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
)

// Execution statuses, as DescribeExecution reports them.
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// Config holds the engine's dependencies. Integrations left nil make the
// Tasks that need them fail with States.Runtime naming what is missing.
type Config struct {
	Clock      clock.Clock
	Lambda     LambdaInvoker
	SDK        SDKCaller
	SNS        SNSPublisher
	Events     EventPublisher
	Executions ExecutionStarter
	Sync       SyncRunner
	// Random returns a number in [0,1) for retry jitter and
	// States.MathRandom; default math/rand.
	Random func() float64
	// NewUUID returns a random UUID for States.UUID, request ids and task
	// tokens; default crypto/rand.
	NewUUID func() string
	Region  string
	// Mock, when set, answers the Task states it mocks instead of their
	// integrations (Step Functions Local's MockConfigFile; see Mocker).
	Mock TaskMocker
}

// Engine runs state machines. It is safe for concurrent use; one Engine
// serves every execution of a local cloud, and owns their task tokens.
type Engine struct {
	cfg    Config
	mu     sync.Mutex
	tokens map[string]*tokenWaiter
}

// New returns an Engine.
func New(cfg Config) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Random == nil {
		cfg.Random = mrand.Float64
	}
	if cfg.NewUUID == nil {
		cfg.NewUUID = randomUUID
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return &Engine{cfg: cfg, tokens: map[string]*tokenWaiter{}}
}

func randomUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms; fall back to math/rand.
		for i := range b {
			b[i] = byte(mrand.IntN(256))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ExecutionInfo is what the context object tells about an execution.
type ExecutionInfo struct {
	ARN              string
	Name             string
	StateMachineARN  string
	StateMachineName string
	RoleARN          string
	StartTime        time.Time
	Input            any
}

// Result is how an execution ended.
type Result struct {
	Status string
	Output any // for SUCCEEDED
	Error  string
	Cause  string
}

// ErrAborted is the cancellation cause for an execution stopped without
// an error or cause.
var ErrAborted = errors.New("execution aborted")

// AbortError is the cancellation cause StopExecution uses: its Error and
// Cause go into the ExecutionAborted event, as in AWS.
type AbortError struct {
	Err   string
	Cause string
}

// Error implements error.
func (a *AbortError) Error() string { return "execution aborted: " + a.Err + " " + a.Cause }

var errExecutionTimedOut = errors.New("execution timed out")

// Run executes sm to completion, recording history events, and returns the
// result. Cancelling ctx aborts the execution (ABORTED).
func (e *Engine) Run(ctx context.Context, sm *StateMachine, info ExecutionInfo, h *History) Result {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &run{engine: e, info: info, hist: h}
	start := h.add(0, e.cfg.Clock.Now(), "ExecutionStarted", "executionStartedEventDetails", map[string]any{
		"input": marshalCompact(info.Input), "inputDetails": payloadDetails(), "roleArn": info.RoleARN,
		"stateMachineArn": info.StateMachineARN,
	})
	if sm.TimeoutSeconds > 0 {
		timer := e.cfg.Clock.After(time.Duration(sm.TimeoutSeconds) * time.Second)
		go func() {
			select {
			case <-timer:
				cancel(errExecutionTimedOut)
			case <-ctx.Done():
			}
		}()
	}
	th := &thread{prev: start}
	out, fail := r.runMachine(ctx, th, sm, deepCopy(info.Input))
	now := e.cfg.Clock.Now()
	if cause := context.Cause(ctx); cause != nil && fail != nil {
		if errors.Is(cause, errExecutionTimedOut) {
			h.add(th.prev, now, "ExecutionTimedOut", "executionTimedOutEventDetails", map[string]any{"error": ErrTimeout, "cause": "The execution timed out"})
			return Result{Status: StatusTimedOut, Error: ErrTimeout, Cause: "The execution timed out"}
		}
		details := map[string]any{}
		res := Result{Status: StatusAborted}
		var ab *AbortError
		if errors.As(cause, &ab) {
			if ab.Err != "" {
				details["error"], res.Error = ab.Err, ab.Err
			}
			if ab.Cause != "" {
				details["cause"], res.Cause = ab.Cause, ab.Cause
			}
		}
		h.add(th.prev, now, "ExecutionAborted", "executionAbortedEventDetails", details)
		return res
	}
	if fail != nil {
		h.add(th.prev, now, "ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": fail.Name, "cause": fail.Cause})
		return Result{Status: StatusFailed, Error: fail.Name, Cause: fail.Cause}
	}
	h.add(th.prev, now, "ExecutionSucceeded", "executionSucceededEventDetails", map[string]any{"output": marshalCompact(out), "outputDetails": payloadDetails()})
	return Result{Status: StatusSucceeded, Output: out}
}

type run struct {
	engine *Engine
	info   ExecutionInfo
	hist   *History
}

// thread is one line of control (the execution, a Parallel branch, a Map
// iteration) and the id of its latest event, for previousEventId.
type thread struct {
	prev int64
}

func (r *run) record(th *thread, typ, key string, details map[string]any) {
	th.prev = r.hist.add(th.prev, r.engine.cfg.Clock.Now(), typ, key, details)
}

func (r *run) contextObject(stateName string, entered time.Time, retry int, extra map[string]any) map[string]any {
	c := map[string]any{
		"Execution": map[string]any{
			"Id": r.info.ARN, "Name": r.info.Name, "Input": deepCopy(r.info.Input), "RoleArn": r.info.RoleARN,
			"StartTime": r.info.StartTime.UTC().Format("2006-01-02T15:04:05.000Z"), "RedriveCount": int64(0),
		},
		"StateMachine": map[string]any{"Id": r.info.StateMachineARN, "Name": r.info.StateMachineName},
		"State":        map[string]any{"Name": stateName, "EnteredTime": entered.UTC().Format("2006-01-02T15:04:05.000Z"), "RetryCount": int64(retry)},
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func (r *run) env(data any, ctxObj map[string]any) *intrinsicEnv {
	return &intrinsicEnv{data: data, context: ctxObj, random: r.engine.cfg.Random, uuid: r.engine.cfg.NewUUID}
}

// runMachine runs states from StartAt until an end state or a failure.
func (r *run) runMachine(ctx context.Context, th *thread, sm *StateMachine, input any) (any, *Failure) {
	name := sm.StartAt
	data := input
	for {
		if ctx.Err() != nil {
			return nil, &Failure{Name: errAborted, Cause: context.Cause(ctx).Error()}
		}
		st := sm.States[name]
		if st == nil {
			return nil, failf(ErrRuntime, "state %q does not exist", name)
		}
		entered := r.engine.cfg.Clock.Now()
		r.record(th, st.Type+"StateEntered", "stateEnteredEventDetails", map[string]any{"name": st.Name, "input": marshalCompact(data), "inputDetails": payloadDetails()})
		out, next, fail := r.runState(ctx, th, st, data, entered)
		if fail != nil {
			if ctx.Err() != nil {
				return nil, &Failure{Name: errAborted, Cause: context.Cause(ctx).Error()}
			}
			return nil, fail
		}
		if size := len(marshalCompact(out)); size > maxPayloadBytes {
			return nil, failf(ErrDataLimitExceeded, "The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", st.Name)
		}
		r.record(th, st.Type+"StateExited", "stateExitedEventDetails", map[string]any{"name": st.Name, "output": marshalCompact(out), "outputDetails": payloadDetails()})
		if next == "" {
			return out, nil
		}
		name, data = next, out
	}
}

// runState executes one state and returns its output and the next state
// ("" for an end state).
func (r *run) runState(ctx context.Context, th *thread, st *State, input any, entered time.Time) (any, string, *Failure) {
	ctxObj := r.contextObject(st.Name, entered, 0, nil)
	if st.Type == TypeFail {
		return nil, "", r.failState(th, st, input, ctxObj)
	}
	effective, fail := applyInputPath(st.InputPath, input, ctxObj)
	if fail != nil {
		return nil, "", fail
	}
	var out any
	next := st.Next
	switch st.Type {
	case TypeSucceed:
		out = effective
	case TypeChoice:
		n, err := evalChoice(st.Choices, effective, ctxObj)
		if err != nil {
			return nil, "", AsFailure(err)
		}
		if n == "" {
			n = st.Default
		}
		if n == "" {
			return nil, "", failf(ErrNoChoiceMatched, "No Choice Rule matched and no Default was specified in state '%s'", st.Name)
		}
		next, out = n, effective
	case TypeWait:
		if fail := r.wait(ctx, st, effective, ctxObj); fail != nil {
			return nil, "", fail
		}
		out = effective
	case TypePass:
		result := effective
		if st.HasParameters {
			v, err := evalTemplate(st.Parameters, r.env(effective, ctxObj))
			if err != nil {
				return nil, "", AsFailure(err)
			}
			result = v
		}
		if st.HasResult {
			result = deepCopy(st.Result)
		}
		v, err := applyResultPath(st.ResultPath, input, result)
		if err != nil {
			return nil, "", AsFailure(err)
		}
		out = v
	case TypeTask, TypeParallel, TypeMap:
		v, n, fail := r.withRetryAndCatch(ctx, th, st, input, effective, entered)
		if fail != nil {
			return nil, "", fail
		}
		if n != "" {
			return v, n, nil // caught: the catcher's ResultPath already applied, no OutputPath
		}
		out = v
	}
	out, fail = applyOutputPath(st.OutputPath, out, ctxObj)
	if fail != nil {
		return nil, "", fail
	}
	if st.End || st.Type == TypeSucceed {
		next = ""
	}
	return out, next, nil
}

func applyInputPath(p OptPath, input any, ctxObj any) (any, *Failure) {
	if !p.Set {
		return input, nil
	}
	if p.Null {
		return map[string]any{}, nil
	}
	v, err := selectPath(p.Path, input, ctxObj)
	if err != nil {
		return nil, failf(ErrRuntime, "Invalid path '%s' : %v", p.Path, err)
	}
	return v, nil
}

func applyOutputPath(p OptPath, output any, ctxObj any) (any, *Failure) {
	if !p.Set {
		return output, nil
	}
	if p.Null {
		return map[string]any{}, nil
	}
	v, err := selectPath(p.Path, output, ctxObj)
	if err != nil {
		return nil, failf(ErrRuntime, "Invalid path '%s' : %v", p.Path, err)
	}
	return v, nil
}

func (r *run) failState(th *thread, st *State, input any, ctxObj map[string]any) *Failure {
	f := &Failure{Name: st.Error, Cause: st.Cause}
	resolve := func(expr string) (string, *Failure) {
		var v any
		var err error
		if len(expr) > 7 && expr[:7] == "States." {
			call, perr := parseIntrinsic(expr)
			if perr != nil {
				return "", failf(ErrRuntime, "%v", perr)
			}
			v, err = call.eval(r.env(input, ctxObj))
		} else {
			v, err = selectPath(expr, input, ctxObj)
		}
		if err != nil {
			return "", failf(ErrRuntime, "Invalid path '%s': %v", expr, err)
		}
		s, ok := v.(string)
		if !ok {
			return "", failf(ErrRuntime, "The value at '%s' must be a string, got %s", expr, typeName(v))
		}
		return s, nil
	}
	if st.ErrorPath != "" {
		s, fail := resolve(st.ErrorPath)
		if fail != nil {
			return fail
		}
		f.Name = s
	}
	if st.CausePath != "" {
		s, fail := resolve(st.CausePath)
		if fail != nil {
			return fail
		}
		f.Cause = s
	}
	return f
}

func (r *run) wait(ctx context.Context, st *State, data any, ctxObj map[string]any) *Failure {
	now := r.engine.cfg.Clock.Now()
	var d time.Duration
	switch {
	case st.Seconds != nil:
		d = time.Duration(*st.Seconds * float64(time.Second))
	case st.Timestamp != "":
		t, _ := parseTimestamp(st.Timestamp)
		d = t.Sub(now)
	case st.SecondsPath != "":
		v, err := selectPath(st.SecondsPath, data, ctxObj)
		if err != nil {
			return failf(ErrRuntime, "Invalid path '%s': %v", st.SecondsPath, err)
		}
		secs, ok := toFloat(v)
		if !ok || secs < 0 {
			return failf(ErrRuntime, "The SecondsPath parameter does not reference a valid non-negative number: %s", marshalCompact(v))
		}
		d = time.Duration(secs * float64(time.Second))
	case st.TimestampPath != "":
		v, err := selectPath(st.TimestampPath, data, ctxObj)
		if err != nil {
			return failf(ErrRuntime, "Invalid path '%s': %v", st.TimestampPath, err)
		}
		s, _ := v.(string)
		t, terr := parseTimestamp(s)
		if terr != nil {
			return failf(ErrRuntime, "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s", marshalCompact(v))
		}
		d = t.Sub(now)
	}
	if d <= 0 {
		return nil
	}
	select {
	case <-r.engine.cfg.Clock.After(d):
		return nil
	case <-ctx.Done():
		return &Failure{Name: errAborted, Cause: context.Cause(ctx).Error()}
	}
}

// withRetryAndCatch runs the attempts of a Task, Parallel or Map state. On
// success it returns the state's output before OutputPath; when a Catcher
// handles the failure it returns the catcher's output and its Next.
func (r *run) withRetryAndCatch(ctx context.Context, th *thread, st *State, rawInput, effective any, entered time.Time) (any, string, *Failure) {
	counts := make([]int, len(st.Retry))
	retryCount := 0
	for {
		out, fail := r.attempt(ctx, th, st, rawInput, effective, entered, retryCount)
		if fail == nil {
			return out, "", nil
		}
		if ctx.Err() != nil || terminal(fail.Name) {
			return nil, "", fail
		}
		retried := false
		for i, rt := range st.Retry {
			if !errorMatches(rt.ErrorEquals, fail.Name) {
				continue
			}
			if counts[i] >= rt.MaxAttempts {
				break
			}
			delay := RetryDelay(rt, counts[i], r.engine.cfg.Random)
			counts[i]++
			retryCount++
			select {
			case <-r.engine.cfg.Clock.After(delay):
			case <-ctx.Done():
				return nil, "", &Failure{Name: errAborted, Cause: context.Cause(ctx).Error()}
			}
			retried = true
			break
		}
		if retried {
			continue
		}
		for _, c := range st.Catch {
			if !errorMatches(c.ErrorEquals, fail.Name) {
				continue
			}
			errOut := map[string]any{"Error": fail.Name, "Cause": fail.Cause}
			out, err := applyResultPath(c.ResultPath, rawInput, errOut)
			if err != nil {
				return nil, "", AsFailure(err)
			}
			return out, c.Next, nil
		}
		return nil, "", fail
	}
}

// RetryDelay is the wait before retry number attempt (0-based) of a
// Retrier: IntervalSeconds × BackoffRate^attempt, capped by MaxDelaySeconds,
// and with FULL jitter a uniformly random share of that.
func RetryDelay(rt Retrier, attempt int, random func() float64) time.Duration {
	secs := rt.IntervalSeconds * math.Pow(rt.BackoffRate, float64(attempt))
	if rt.MaxDelaySeconds > 0 && secs > rt.MaxDelaySeconds {
		secs = rt.MaxDelaySeconds
	}
	if rt.JitterStrategy == "FULL" {
		secs *= random()
	}
	return time.Duration(secs * float64(time.Second))
}

// attempt runs one try of a Task, Parallel or Map: Parameters, the work,
// ResultSelector and ResultPath.
func (r *run) attempt(ctx context.Context, th *thread, st *State, rawInput, effective any, entered time.Time, retryCount int) (any, *Failure) {
	var token string
	extra := map[string]any{}
	var res *Resource
	if st.Type == TypeTask {
		res, _ = ParseResource(st.Resource)
		if res != nil && res.Pattern == PatternWaitForTaskToken {
			token = r.engine.newToken()
			extra["Task"] = map[string]any{"Token": token}
		}
	}
	ctxObj := r.contextObject(st.Name, entered, retryCount, extra)
	params := effective
	if st.HasParameters {
		v, err := evalTemplate(st.Parameters, r.env(effective, ctxObj))
		if err != nil {
			r.engine.dropToken(token)
			return nil, AsFailure(err)
		}
		params = v
	}
	var result any
	var fail *Failure
	switch st.Type {
	case TypeTask:
		result, fail = r.task(ctx, th, st, res, effective, params, token, ctxObj)
	case TypeParallel:
		result, fail = r.parallel(ctx, th, st, params)
	case TypeMap:
		result, fail = r.mapState(ctx, th, st, params, ctxObj)
	}
	if fail != nil {
		return nil, fail
	}
	if st.HasResultSelector {
		v, err := evalTemplate(st.ResultSelector, r.env(result, ctxObj))
		if err != nil {
			return nil, AsFailure(err)
		}
		result = v
	}
	out, err := applyResultPath(st.ResultPath, rawInput, result)
	if err != nil {
		return nil, AsFailure(err)
	}
	return out, nil
}

func (r *run) parallel(ctx context.Context, th *thread, st *State, input any) (any, *Failure) {
	r.record(th, "ParallelStateStarted", "", nil)
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make([]any, len(st.Branches))
	fails := make([]*Failure, len(st.Branches))
	threads := make([]*thread, len(st.Branches))
	var wg sync.WaitGroup
	for i, b := range st.Branches {
		threads[i] = &thread{prev: th.prev}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, fail := r.runMachine(bctx, threads[i], b, deepCopy(input))
			results[i], fails[i] = out, fail
			if fail != nil {
				cancel(errBranchFailed)
			}
		}()
	}
	wg.Wait()
	if f := firstRealFailure(fails); f != nil {
		r.record(th, "ParallelStateFailed", "", nil)
		return nil, f
	}
	if ctx.Err() != nil {
		return nil, &Failure{Name: errAborted, Cause: context.Cause(ctx).Error()}
	}
	th.prev = lastPrev(threads, th.prev)
	r.record(th, "ParallelStateSucceeded", "", nil)
	return results, nil
}

var errBranchFailed = errors.New("another branch failed")

// firstRealFailure returns the first failure that is not the cancellation
// of a sibling branch.
func firstRealFailure(fails []*Failure) *Failure {
	var aborted *Failure
	for _, f := range fails {
		if f == nil {
			continue
		}
		if f.Name != errAborted {
			return f
		}
		if aborted == nil {
			aborted = f
		}
	}
	return aborted
}

func lastPrev(threads []*thread, def int64) int64 {
	best := def
	for _, t := range threads {
		if t.prev > best {
			best = t.prev
		}
	}
	return best
}

func (r *run) mapState(ctx context.Context, th *thread, st *State, input any, ctxObj map[string]any) (any, *Failure) {
	itemsVal := input
	if st.ItemsPath.Set && !st.ItemsPath.Null {
		v, err := selectPath(st.ItemsPath.Path, input, ctxObj)
		if err != nil {
			return nil, failf(ErrRuntime, "Invalid path '%s': %v", st.ItemsPath.Path, err)
		}
		itemsVal = v
	}
	items, ok := itemsVal.([]any)
	if !ok {
		return nil, failf(ErrRuntime, "Map state input must be an array, got %s", typeName(itemsVal))
	}
	maxConc := st.MaxConcurrency
	if st.MaxConcurrencyPath != "" {
		v, err := selectPath(st.MaxConcurrencyPath, input, ctxObj)
		n, isInt := toInt(v)
		if err != nil || !isInt || n < 0 {
			return nil, failf(ErrRuntime, "MaxConcurrencyPath '%s' must reference a non-negative integer", st.MaxConcurrencyPath)
		}
		maxConc = n
	}
	tolCount, tolPct := -1, -1.0
	if st.HasToleratedFailureCount {
		tolCount = st.ToleratedFailureCount
	}
	if st.HasToleratedFailurePercentage {
		tolPct = st.ToleratedFailurePercentage
	}
	if st.ToleratedFailureCountPath != "" {
		v, err := selectPath(st.ToleratedFailureCountPath, input, ctxObj)
		n, isInt := toInt(v)
		if err != nil || !isInt || n < 0 {
			return nil, failf(ErrRuntime, "ToleratedFailureCountPath '%s' must reference a non-negative integer", st.ToleratedFailureCountPath)
		}
		tolCount = n
	}
	if st.ToleratedFailurePercentagePath != "" {
		v, err := selectPath(st.ToleratedFailurePercentagePath, input, ctxObj)
		f, isNum := toFloat(v)
		if err != nil || !isNum || f < 0 || f > 100 {
			return nil, failf(ErrRuntime, "ToleratedFailurePercentagePath '%s' must reference a number between 0 and 100", st.ToleratedFailurePercentagePath)
		}
		tolPct = f
	}
	tolerant := tolCount >= 0 || tolPct >= 0
	r.record(th, "MapStateStarted", "mapStateStartedEventDetails", map[string]any{"length": int64(len(items))})
	// Item inputs: ItemSelector sees the Map's effective input and $$.Map.Item.
	inputs := make([]any, len(items))
	for i, it := range items {
		if !st.HasItemSelector {
			inputs[i] = deepCopy(it)
			continue
		}
		itemCtx := r.contextObject(st.Name, time.Time{}, 0, map[string]any{"Map": map[string]any{"Item": map[string]any{"Index": int64(i), "Value": deepCopy(it)}}})
		itemCtx["State"] = ctxObj["State"]
		v, err := evalTemplate(st.ItemSelector, r.env(input, itemCtx))
		if err != nil {
			return nil, AsFailure(err)
		}
		inputs[i] = v
	}
	mctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make([]any, len(items))
	fails := make([]*Failure, len(items))
	threads := make([]*thread, len(items))
	limit := maxConc
	if limit <= 0 || limit > len(items) {
		limit = len(items)
	}
	sem := make(chan struct{}, max(limit, 1))
	var mu sync.Mutex
	failed := 0
	var wg sync.WaitGroup
	for i := range items {
		sem <- struct{}{}
		if mctx.Err() != nil {
			<-sem
			break
		}
		threads[i] = &thread{prev: th.prev}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t := threads[i]
			r.record(t, "MapIterationStarted", "mapIterationStartedEventDetails", map[string]any{"name": st.Name, "index": int64(i)})
			out, fail := r.runMachine(mctx, t, st.ItemProcessor, inputs[i])
			if fail != nil {
				if fail.Name != errAborted {
					r.record(t, "MapIterationFailed", "mapIterationFailedEventDetails", map[string]any{"name": st.Name, "index": int64(i)})
				} else {
					r.record(t, "MapIterationAborted", "mapIterationAbortedEventDetails", map[string]any{"name": st.Name, "index": int64(i)})
				}
				fails[i] = fail
				results[i] = map[string]any{"Error": fail.Name, "Cause": fail.Cause}
				mu.Lock()
				failed++
				exceeded := !tolerant || exceedsTolerance(failed, len(items), tolCount, tolPct)
				mu.Unlock()
				if exceeded && fail.Name != errAborted {
					cancel(errBranchFailed)
				}
				return
			}
			r.record(t, "MapIterationSucceeded", "mapIterationSucceededEventDetails", map[string]any{"name": st.Name, "index": int64(i)})
			results[i] = out
		}()
	}
	wg.Wait()
	live := make([]*thread, 0, len(threads))
	for _, t := range threads {
		if t != nil {
			live = append(live, t)
		}
	}
	th.prev = lastPrev(live, th.prev)
	if ctx.Err() != nil {
		return nil, &Failure{Name: errAborted, Cause: context.Cause(ctx).Error()}
	}
	if failed > 0 {
		if !tolerant {
			r.record(th, "MapStateFailed", "", nil)
			return nil, firstRealFailure(fails)
		}
		if exceedsTolerance(failed, len(items), tolCount, tolPct) {
			r.record(th, "MapStateFailed", "", nil)
			return nil, failf(ErrExceedToleratedFailure, "The number of failed items (%d of %d) exceeded the tolerated failure threshold", failed, len(items))
		}
	}
	r.record(th, "MapStateSucceeded", "", nil)
	return results, nil
}

func exceedsTolerance(failed, total, count int, pct float64) bool {
	countOK := count >= 0 && failed <= count
	pctOK := pct >= 0 && total > 0 && float64(failed)*100/float64(total) <= pct
	return !countOK && !pctOK
}

func (r *run) task(ctx context.Context, th *thread, st *State, res *Resource, effective, params any, token string, ctxObj map[string]any) (any, *Failure) {
	if res == nil {
		return nil, failf(ErrRuntime, "invalid resource %q", st.Resource)
	}
	timeout := st.TimeoutSeconds
	if st.TimeoutSecondsPath != "" {
		v, err := selectPath(st.TimeoutSecondsPath, effective, ctxObj)
		n, isInt := toInt(v)
		if err != nil || !isInt || n <= 0 {
			r.engine.dropToken(token)
			return nil, failf(ErrRuntime, "TimeoutSecondsPath '%s' must reference a positive integer", st.TimeoutSecondsPath)
		}
		timeout = n
	}
	heartbeat := st.HeartbeatSeconds
	if st.HeartbeatSecondsPath != "" {
		v, err := selectPath(st.HeartbeatSecondsPath, effective, ctxObj)
		n, isInt := toInt(v)
		if err != nil || !isInt || n <= 0 {
			r.engine.dropToken(token)
			return nil, failf(ErrRuntime, "HeartbeatSecondsPath '%s' must reference a positive integer", st.HeartbeatSecondsPath)
		}
		heartbeat = n
	}
	lambdaEvents := res.Kind == KindLambdaFunction
	if lambdaEvents {
		d := map[string]any{"resource": res.Function, "input": marshalCompact(params), "inputDetails": payloadDetails()}
		if timeout > 0 {
			d["timeoutInSeconds"] = int64(timeout)
		}
		r.record(th, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", d)
		r.record(th, "LambdaFunctionStarted", "", nil)
	} else {
		d := map[string]any{"resourceType": res.HistoryType(), "resource": res.HistoryResource(), "region": r.engine.cfg.Region, "parameters": marshalCompact(params)}
		if timeout > 0 {
			d["timeoutInSeconds"] = int64(timeout)
		}
		if heartbeat > 0 {
			d["heartbeatInSeconds"] = int64(heartbeat)
		}
		r.record(th, "TaskScheduled", "taskScheduledEventDetails", d)
		r.record(th, "TaskStarted", "taskStartedEventDetails", map[string]any{"resourceType": res.HistoryType(), "resource": res.HistoryResource()})
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		v    any
		fail *Failure
	}
	done := make(chan outcome, 1)
	submitted := make(chan any)
	var waiter *tokenWaiter
	if token != "" {
		waiter = r.engine.tokenWaiter(token)
	}
	go func() {
		v, mocked, err := r.engine.callTask(tctx, r.info, st.Name, res, params)
		if err != nil {
			done <- outcome{fail: AsFailure(err)}
			return
		}
		if waiter == nil || mocked {
			done <- outcome{v: v}
			return
		}
		select {
		case submitted <- v:
		case <-tctx.Done():
			return
		}
		select {
		case tr := <-waiter.result:
			done <- outcome{v: tr.output, fail: tr.fail}
		case <-tctx.Done():
		}
	}()
	defer r.engine.dropToken(token)
	var timeoutC <-chan time.Time
	if timeout > 0 {
		timeoutC = r.engine.cfg.Clock.After(time.Duration(timeout) * time.Second)
	}
	var beats <-chan struct{}
	var heartbeatC <-chan time.Time
	if heartbeat > 0 && waiter != nil {
		beats = waiter.heartbeat
		heartbeatC = r.engine.cfg.Clock.After(time.Duration(heartbeat) * time.Second)
	}
	for {
		select {
		case oc := <-done:
			if oc.fail != nil {
				if lambdaEvents {
					r.record(th, "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", map[string]any{"error": oc.fail.Name, "cause": oc.fail.Cause})
				} else {
					r.record(th, "TaskFailed", "taskFailedEventDetails", map[string]any{"resourceType": res.HistoryType(), "resource": res.HistoryResource(), "error": oc.fail.Name, "cause": oc.fail.Cause})
				}
				return nil, oc.fail
			}
			if lambdaEvents {
				r.record(th, "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", map[string]any{"output": marshalCompact(oc.v), "outputDetails": payloadDetails()})
			} else {
				r.record(th, "TaskSucceeded", "taskSucceededEventDetails", map[string]any{"resourceType": res.HistoryType(), "resource": res.HistoryResource(), "output": marshalCompact(oc.v), "outputDetails": payloadDetails()})
			}
			return oc.v, nil
		case v := <-submitted:
			// Only this goroutine records events of the thread (previousEventId).
			r.record(th, "TaskSubmitted", "taskSubmittedEventDetails", map[string]any{"resourceType": res.HistoryType(), "resource": res.HistoryResource(), "output": marshalCompact(v), "outputDetails": payloadDetails()})
		case <-beats:
			heartbeatC = r.engine.cfg.Clock.After(time.Duration(heartbeat) * time.Second)
		case <-heartbeatC:
			return nil, r.timedOut(th, res, lambdaEvents, ErrHeartbeatTimeout, "The task did not send a heartbeat within HeartbeatSeconds")
		case <-timeoutC:
			return nil, r.timedOut(th, res, lambdaEvents, ErrTimeout, fmt.Sprintf("The task did not complete within TimeoutSeconds (%d)", timeout))
		case <-ctx.Done():
			return nil, &Failure{Name: errAborted, Cause: context.Cause(ctx).Error()}
		}
	}
}

func (r *run) timedOut(th *thread, res *Resource, lambdaEvents bool, name, cause string) *Failure {
	if lambdaEvents {
		r.record(th, "LambdaFunctionTimedOut", "lambdaFunctionTimedOutEventDetails", map[string]any{"error": name, "cause": cause})
	} else {
		r.record(th, "TaskTimedOut", "taskTimedOutEventDetails", map[string]any{"resourceType": res.HistoryType(), "resource": res.HistoryResource(), "error": name, "cause": cause})
	}
	return &Failure{Name: name, Cause: cause}
}
