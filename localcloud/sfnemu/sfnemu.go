// Package sfnemu is the local cloud's Step Functions service: the AWS JSON
// 1.0 API (target prefix AWSStepFunctions) over the asl interpreter, with
// AWS's execution-name semantics, execution history in AWS's event shape,
// task tokens for .waitForTaskToken, and state that survives a restart.
//
// Persistence: state machines and executions are JSON files under
// <StateDir>/stepfunctions. Finished executions keep their history. An
// execution that was RUNNING when the local cloud stopped cannot be resumed
// (the interpreter's in-flight state is not persisted): on the next start it
// is marked ABORTED with error "States.Runtime" and a cause saying so, and
// an ExecutionAborted event ends its history.
package sfnemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/statefile"
)

// TargetPrefix is the X-Amz-Target prefix of the Step Functions API.
const TargetPrefix = "AWSStepFunctions"

// nameRetention is how long AWS keeps an execution name reserved.
const nameRetention = 90 * 24 * time.Hour

const maxInputBytes = 256 * 1024

// Options configure a Service. Integrations left nil make Tasks that need
// them fail with States.Runtime naming what is missing.
type Options struct {
	// StateDir is the local cloud's state directory; "" keeps everything
	// in memory.
	StateDir  string
	Clock     clock.Clock
	Region    string // default us-east-1
	AccountID string // default 123456789012
	Lambda    asl.LambdaInvoker
	SDK       asl.SDKCaller
	SNS       asl.SNSPublisher
	Events    asl.EventPublisher
	Sync      asl.SyncRunner
	// Random and NewUUID make retries, MathRandom, UUIDs and generated
	// execution names deterministic in tests; defaults are random.
	Random  func() float64
	NewUUID func() string
	Logger  *slog.Logger
	// Metrics receives the execution metrics (AWS/States, by
	// StateMachineArn); nil publishes nothing.
	Metrics awsmetrics.Sink
	// Mock answers the Task states it mocks instead of their integrations
	// (asl.Config.Mock; Step Functions Local's MockConfigFile through
	// asl.MockConfig.Mocker). With a mocker, StartExecution also accepts a
	// state machine ARN ending in "#<TestCase>", Step Functions Local's way
	// to pick a test case per execution. nil mocks nothing.
	Mock asl.TaskMocker
}

// TestCaseChecker is what a Mock may also implement so that StartExecution
// refuses a "#<TestCase>" the mock configuration does not define for the
// state machine, instead of silently calling every real integration.
type TestCaseChecker interface {
	HasTestCase(stateMachine, testCase string) bool
}

// Service is the Step Functions emulator. It is an http.Handler and offers
// typed Go methods; it also satisfies asl.ExecutionStarter for nested
// executions.
type Service struct {
	opts   Options
	engine *asl.Engine
	log    *slog.Logger
	dir    string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	activity atomic.Uint64 // history events recorded, for fast-forward drivers

	mu         sync.Mutex
	machines   map[string]*stateMachine // by ARN
	executions map[string]*execution    // by ARN
}

type stateMachine struct {
	ARN          string    `json:"arn"`
	Name         string    `json:"name"`
	Definition   string    `json:"definition"`
	RoleARN      string    `json:"roleArn"`
	Type         string    `json:"type"`
	CreationDate time.Time `json:"creationDate"`
	parsed       *asl.StateMachine
}

type execution struct {
	ARN             string      `json:"arn"`
	StateMachineARN string      `json:"stateMachineArn"`
	Name            string      `json:"name"`
	Status          string      `json:"status"`
	Input           string      `json:"input"`
	Output          *string     `json:"output,omitempty"`
	Error           string      `json:"error,omitempty"`
	Cause           string      `json:"cause,omitempty"`
	StartDate       time.Time   `json:"startDate"`
	StopDate        *time.Time  `json:"stopDate,omitempty"`
	Events          []asl.Event `json:"events,omitempty"`

	hist   *asl.History
	done   chan struct{}
	cancel context.CancelCauseFunc
}

// New returns a Service, loading the state machines and executions found in
// opts.StateDir.
func New(opts Options) (*Service, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: opts, log: opts.Logger, machines: map[string]*stateMachine{}, executions: map[string]*execution{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.engine = asl.New(asl.Config{
		Clock: opts.Clock, Lambda: opts.Lambda, SDK: opts.SDK, SNS: opts.SNS, Events: opts.Events,
		Executions: s, Sync: opts.Sync, Random: opts.Random, NewUUID: opts.NewUUID, Region: opts.Region,
		Mock: opts.Mock,
	})
	if opts.StateDir != "" {
		s.dir = filepath.Join(opts.StateDir, "stepfunctions")
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close stops the running executions (they end ABORTED in memory; on disk
// they stay RUNNING and are marked aborted by the next New) and waits for
// them.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Activity counts the history events recorded so far by every execution. A
// driver fast-forwarding a clock.Manual (tests, `localcloud demo`) advances
// to the next wake-up only when Activity and the clock's Pending() have not
// changed for a moment, so no timer fires while work is still under way.
func (s *Service) Activity() uint64 { return s.activity.Load() }

// Running returns how many executions are running.
func (s *Service) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ex := range s.executions {
		if ex.Status == asl.StatusRunning {
			n++
		}
	}
	return n
}

// Engine returns the interpreter, for callers that need task-token access.
func (s *Service) Engine() *asl.Engine { return s.engine }

func (s *Service) stateMachineARN(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", s.opts.Region, s.opts.AccountID, name)
}

func (s *Service) executionARN(smName, name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", s.opts.Region, s.opts.AccountID, smName, name)
}

// ---- errors ----

func apiErr(code, format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, code, format, args...)
}

// validName applies AWS's rules for state machine and execution names.
func validName(kind, name string) error {
	if name == "" || len([]rune(name)) > 80 {
		return apiErr("InvalidName", "Invalid Name: '%s' (%s names are 1 to 80 characters)", name, kind)
	}
	for _, r := range name {
		if r <= 0x20 || r == 0x7f || (r >= 0x7f && r <= 0x9f) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return apiErr("InvalidName", "Invalid Name: '%s'", name)
		}
	}
	return nil
}

// ---- state machines ----

// CreateStateMachineInput is the typed form of CreateStateMachine.
type CreateStateMachineInput struct {
	Name       string
	Definition string // DefinitionSubstitutions already applied
	RoleARN    string
	Type       string // STANDARD (default) or EXPRESS
}

// CreateStateMachine creates a state machine. Creating one again with the
// same definition and role returns the existing ARN (AWS's idempotency);
// anything else with the same name is StateMachineAlreadyExists.
func (s *Service) CreateStateMachine(in CreateStateMachineInput) (arn string, created time.Time, err error) {
	if err := validName("state machine", in.Name); err != nil {
		return "", time.Time{}, err
	}
	if in.Type == "" {
		in.Type = "STANDARD"
	}
	if in.Type != "STANDARD" && in.Type != "EXPRESS" {
		return "", time.Time{}, apiErr("ValidationException", "type must be STANDARD or EXPRESS")
	}
	parsed, err := asl.Parse([]byte(in.Definition))
	if err != nil {
		return "", time.Time{}, apiErr("InvalidDefinition", "%v", err)
	}
	arn = s.stateMachineARN(in.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.machines[arn]; ok {
		if old.Definition == in.Definition && old.RoleARN == in.RoleARN && old.Type == in.Type {
			return old.ARN, old.CreationDate, nil
		}
		return "", time.Time{}, apiErr("StateMachineAlreadyExists", "State Machine Already Exists: '%s'", arn)
	}
	sm := &stateMachine{ARN: arn, Name: in.Name, Definition: in.Definition, RoleARN: in.RoleARN, Type: in.Type,
		CreationDate: s.opts.Clock.Now(), parsed: parsed}
	if err := s.saveMachine(sm); err != nil {
		return "", time.Time{}, err
	}
	s.machines[arn] = sm
	return arn, sm.CreationDate, nil
}

// PutStateMachine creates the state machine or replaces its definition and
// role: what the template loader uses so that an edited template takes
// effect on the next start. Running executions keep the definition they
// started with.
func (s *Service) PutStateMachine(in CreateStateMachineInput) (string, error) {
	arn, _, err := s.CreateStateMachine(in)
	var ae *awsproto.Error
	if err == nil || !errors.As(err, &ae) || ae.Code != "StateMachineAlreadyExists" {
		return arn, err
	}
	return s.UpdateStateMachine(s.stateMachineARN(in.Name), in.Definition, in.RoleARN)
}

// UpdateStateMachine replaces the definition and/or role of a state
// machine (empty arguments keep the current value).
func (s *Service) UpdateStateMachine(arn, definition, roleARN string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, ok := s.machines[arn]
	if !ok {
		return "", apiErr("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
	}
	next := *sm
	if definition != "" {
		parsed, err := asl.Parse([]byte(definition))
		if err != nil {
			return "", apiErr("InvalidDefinition", "%v", err)
		}
		next.Definition, next.parsed = definition, parsed
	}
	if roleARN != "" {
		next.RoleARN = roleARN
	}
	if err := s.saveMachine(&next); err != nil {
		return "", err
	}
	s.machines[arn] = &next
	return arn, nil
}

// DeleteStateMachine deletes a state machine; its executions stay
// describable.
func (s *Service) DeleteStateMachine(arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, ok := s.machines[arn]
	if !ok {
		return nil // AWS: deleting a missing state machine succeeds
	}
	delete(s.machines, arn)
	if s.dir != "" {
		if err := os.Remove(filepath.Join(s.dir, "statemachines", sm.Name+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delete state machine %s: %w", sm.Name, err)
		}
	}
	return nil
}

func (s *Service) machine(arn string) (*stateMachine, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, ok := s.machines[arn]
	if !ok {
		if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":stateMachine:") {
			return nil, apiErr("InvalidArn", "Invalid Arn: '%s'", arn)
		}
		return nil, apiErr("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
	}
	return sm, nil
}

// ---- executions ----

// StartExecution starts an execution with AWS's name semantics: an empty
// name gets a UUID; a name already used by a RUNNING execution with the
// same input returns that execution; any other reuse within 90 days is
// ExecutionAlreadyExists. It satisfies asl.ExecutionStarter.
//
// With Options.Mock, a state machine ARN ending in "#<TestCase>" starts
// the state machine with that test case's mocks (Step Functions Local).
func (s *Service) StartExecution(_ context.Context, stateMachineARN, name, input string) (string, time.Time, error) {
	sm, infoARN, err := s.machineForStart(stateMachineARN)
	if err != nil {
		return "", time.Time{}, err
	}
	if name == "" {
		name = s.newUUID()
	}
	if err := validName("execution", name); err != nil {
		return "", time.Time{}, err
	}
	if input == "" {
		input = "{}"
	}
	if len(input) > maxInputBytes {
		return "", time.Time{}, apiErr("InvalidExecutionInput", "Input exceeds the maximum size of %d bytes", maxInputBytes)
	}
	decoded, err := asl.DecodeJSON([]byte(input))
	if err != nil {
		return "", time.Time{}, apiErr("InvalidExecutionInput", "Invalid State Machine Execution Input: '%v'", err)
	}
	arn := s.executionARN(sm.Name, name)
	now := s.opts.Clock.Now()
	s.mu.Lock()
	if old, ok := s.executions[arn]; ok {
		switch {
		case old.Status == asl.StatusRunning && jsonEquivalent(old.Input, input):
			s.mu.Unlock()
			return old.ARN, old.StartDate, nil
		case old.Status != asl.StatusRunning && old.StopDate != nil && now.Sub(*old.StopDate) > nameRetention:
			// The name's 90 days are over: the old record is forgotten.
		default:
			s.mu.Unlock()
			return "", time.Time{}, apiErr("ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
		}
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	ex := &execution{ARN: arn, StateMachineARN: sm.ARN, Name: name, Status: asl.StatusRunning, Input: input,
		StartDate: now, done: make(chan struct{}), cancel: cancel}
	ex.hist = asl.NewHistory(func(asl.Event) { s.activity.Add(1) })
	s.executions[arn] = ex
	s.mu.Unlock()
	if err := s.saveExecution(ex); err != nil {
		s.log.Error("persist execution", "execution", arn, "err", err)
	}
	s.publishStarted(sm.ARN, now)
	info := asl.ExecutionInfo{ARN: arn, Name: name, StateMachineARN: infoARN, StateMachineName: sm.Name,
		RoleARN: sm.RoleARN, StartTime: now, Input: decoded}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel(nil)
		res := s.engine.Run(ctx, sm.parsed, info, ex.hist)
		s.finish(ex, res)
	}()
	return arn, now, nil
}

// machineForStart finds the state machine of a StartExecution and the
// state machine ARN the execution runs with: the ARN itself, or with a
// mocker, "<ARN>#<TestCase>" (the suffix selects the test case in
// asl.Mocker).
func (s *Service) machineForStart(arn string) (*stateMachine, string, error) {
	base, testCase, mocked := strings.Cut(arn, "#")
	if !mocked || s.opts.Mock == nil {
		sm, err := s.machine(arn)
		if err != nil {
			return nil, "", err
		}
		return sm, sm.ARN, nil
	}
	sm, err := s.machine(base)
	if err != nil {
		return nil, "", err
	}
	if testCase == "" {
		return nil, "", apiErr("InvalidArn", "Invalid Arn: '%s' (no test case after '#')", arn)
	}
	if c, ok := s.opts.Mock.(TestCaseChecker); ok && !c.HasTestCase(sm.Name, testCase) {
		return nil, "", apiErr("InvalidArn", "Invalid Arn: '%s': the mock configuration has no test case %q for state machine %q", arn, testCase, sm.Name)
	}
	return sm, sm.ARN + "#" + testCase, nil
}

func (s *Service) newUUID() string {
	if s.opts.NewUUID != nil {
		return s.opts.NewUUID()
	}
	return awsproto.NewRequestID()
}

func jsonEquivalent(a, b string) bool {
	va, errA := asl.DecodeJSON([]byte(a))
	vb, errB := asl.DecodeJSON([]byte(b))
	if errA != nil || errB != nil {
		return a == b
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}

func (s *Service) finish(ex *execution, res asl.Result) {
	stop := s.opts.Clock.Now()
	s.mu.Lock()
	ex.Status = res.Status
	ex.StopDate = &stop
	ex.Error, ex.Cause = res.Error, res.Cause
	if res.Status == asl.StatusSucceeded {
		out, err := json.Marshal(res.Output)
		if err != nil {
			out = []byte("null")
		}
		o := string(out)
		ex.Output = &o
	}
	s.mu.Unlock()
	if s.ctx.Err() != nil {
		// The service is closing: leave the record RUNNING on disk so the next
		// start reports it as interrupted.
		close(ex.done)
		return
	}
	if err := s.saveExecution(ex); err != nil {
		s.log.Error("persist execution", "execution", ex.ARN, "err", err)
	}
	s.log.Info("execution finished", "execution", ex.ARN, "status", res.Status, "error", res.Error)
	s.publishClosed(ex.StateMachineARN, res.Status, ex.StartDate, stop)
	close(ex.done)
}

func (s *Service) execution(arn string) (*execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, ok := s.executions[arn]
	if !ok {
		if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":execution:") {
			return nil, apiErr("InvalidArn", "Invalid Arn: '%s'", arn)
		}
		return nil, apiErr("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
	}
	return ex, nil
}

// ExecutionDescription is the typed result of DescribeExecution.
type ExecutionDescription struct {
	ExecutionARN    string
	StateMachineARN string
	Name            string
	Status          string
	StartDate       time.Time
	StopDate        *time.Time
	Input           string
	Output          *string
	Error, Cause    string
}

// DescribeExecution describes an execution.
func (s *Service) DescribeExecution(arn string) (ExecutionDescription, error) {
	ex, err := s.execution(arn)
	if err != nil {
		return ExecutionDescription{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return ExecutionDescription{ExecutionARN: ex.ARN, StateMachineARN: ex.StateMachineARN, Name: ex.Name, Status: ex.Status,
		StartDate: ex.StartDate, StopDate: ex.StopDate, Input: ex.Input, Output: ex.Output, Error: ex.Error, Cause: ex.Cause}, nil
}

// AwaitExecution waits until an execution ends (or ctx ends) and returns
// how it ended. It satisfies asl.ExecutionStarter for .sync nested
// executions, and lets tests and demos wait without polling.
func (s *Service) AwaitExecution(ctx context.Context, arn string) (asl.ExecutionOutcome, error) {
	ex, err := s.execution(arn)
	if err != nil {
		return asl.ExecutionOutcome{}, err
	}
	if ex.done != nil {
		select {
		case <-ex.done:
		case <-ctx.Done():
			return asl.ExecutionOutcome{}, ctx.Err()
		}
	}
	d, err := s.DescribeExecution(arn)
	if err != nil {
		return asl.ExecutionOutcome{}, err
	}
	oc := asl.ExecutionOutcome{ExecutionARN: d.ExecutionARN, StateMachineARN: d.StateMachineARN, Name: d.Name, Status: d.Status,
		StartDate: d.StartDate, Input: d.Input, Error: d.Error, Cause: d.Cause}
	if d.StopDate != nil {
		oc.StopDate = *d.StopDate
	}
	if d.Output != nil {
		oc.Output = *d.Output
	}
	return oc, nil
}

// StopExecution aborts a running execution with an optional error and
// cause, and returns the stop date. Stopping a finished execution is a
// no-op that returns its stop date, as in AWS.
func (s *Service) StopExecution(arn, errName, cause string) (time.Time, error) {
	ex, err := s.execution(arn)
	if err != nil {
		return time.Time{}, err
	}
	s.mu.Lock()
	running := ex.Status == asl.StatusRunning && ex.cancel != nil
	s.mu.Unlock()
	if running {
		ex.cancel(&asl.AbortError{Err: errName, Cause: cause})
		<-ex.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ex.StopDate == nil {
		return s.opts.Clock.Now(), nil
	}
	return *ex.StopDate, nil
}

// History returns an execution's events.
func (s *Service) History(arn string) ([]asl.Event, error) {
	ex, err := s.execution(arn)
	if err != nil {
		return nil, err
	}
	if ex.hist != nil {
		return ex.hist.Events(), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]asl.Event(nil), ex.Events...), nil
}

// ---- persistence ----

func (s *Service) saveMachine(sm *stateMachine) error {
	if s.dir == "" {
		return nil
	}
	return statefile.Write(filepath.Join(s.dir, "statemachines", sm.Name+".json"), sm)
}

func (s *Service) saveExecution(ex *execution) error {
	if s.dir == "" {
		return nil
	}
	s.mu.Lock()
	rec := *ex
	s.mu.Unlock()
	if ex.hist != nil {
		rec.Events = ex.hist.Events()
	}
	smName := rec.StateMachineARN[strings.LastIndex(rec.StateMachineARN, ":")+1:]
	return statefile.Write(filepath.Join(s.dir, "executions", smName, rec.Name+".json"), &rec)
}

func (s *Service) load() error {
	smFiles, err := filepath.Glob(filepath.Join(s.dir, "statemachines", "*.json"))
	if err != nil {
		return fmt.Errorf("list state machines: %w", err)
	}
	for _, f := range smFiles {
		var sm stateMachine
		if err := readListed(f, &sm); err != nil {
			return err
		}
		parsed, err := asl.Parse([]byte(sm.Definition))
		if err != nil {
			return fmt.Errorf("state machine %s in %s: %w", sm.Name, f, err)
		}
		sm.parsed = parsed
		s.machines[sm.ARN] = &sm
	}
	exFiles, err := filepath.Glob(filepath.Join(s.dir, "executions", "*", "*.json"))
	if err != nil {
		return fmt.Errorf("list executions: %w", err)
	}
	for _, f := range exFiles {
		var ex execution
		if err := readListed(f, &ex); err != nil {
			return err
		}
		if ex.Status == asl.StatusRunning {
			s.interrupted(&ex)
			if err := s.saveExecution(&ex); err != nil {
				return err
			}
			s.publishClosed(ex.StateMachineARN, ex.Status, ex.StartDate, *ex.StopDate)
		}
		s.executions[ex.ARN] = &ex
	}
	return nil
}

// interrupted marks an execution that was running when the local cloud
// stopped as ABORTED, since its in-flight state is gone.
func (s *Service) interrupted(ex *execution) {
	now := s.opts.Clock.Now()
	ex.Status = asl.StatusAborted
	ex.Error = asl.ErrRuntime
	ex.Cause = "The local cloud stopped while this execution was running; it cannot be resumed"
	ex.StopDate = &now
	var prev int64
	if n := len(ex.Events); n > 0 {
		prev = ex.Events[n-1].ID
	}
	ex.Events = append(ex.Events, asl.Event{ID: prev + 1, PreviousEventID: prev, Timestamp: now, Type: "ExecutionAborted",
		DetailsKey: "executionAbortedEventDetails", Details: map[string]any{"error": ex.Error, "cause": ex.Cause}})
}

// readListed reads a state file load found by listing the directory: one
// that is gone by the time it is read is an error, not "nothing stored".
func readListed(path string, v any) error {
	found, err := statefile.Read(path, v)
	if err == nil && !found {
		err = fmt.Errorf("read %s: %w", path, os.ErrNotExist)
	}
	return err
}

// ---- listing ----

func (s *Service) sortedMachines() []*stateMachine {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*stateMachine, 0, len(s.machines))
	for _, sm := range s.machines {
		out = append(out, sm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Service) sortedExecutions(smARN, status string) []execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []execution
	for _, ex := range s.executions {
		if ex.StateMachineARN != smARN || (status != "" && ex.Status != status) {
			continue
		}
		out = append(out, *ex)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartDate.Equal(out[j].StartDate) {
			return out[i].StartDate.After(out[j].StartDate)
		}
		return out[i].Name > out[j].Name
	})
	return out
}
