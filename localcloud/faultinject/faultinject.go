// Package faultinject breaks the local cloud's arrows on purpose: it
// throttles, fails, slows down or times out calls to any emulated service,
// crashes, hangs or fails the init of Lambda functions, and delivers
// EventBridge and S3 events twice, late or out of order.
//
// Faults are Rules, loaded per run from a JSON file (Load) and changed at
// run time through a small HTTP control API (ControlHandler). An Injector
// plugs into the local cloud at four places, each nil-safe and additive:
//
//   - Wrap(h) in front of the AWS endpoint's router: API call faults
//     (throttle, fail, latency, timeout), answered in each service's own
//     protocol and with its own throttling error;
//   - LambdaHook(): lambdaemu.Options.Faults, for crash, hang, init-error,
//     throttle, fail and latency of function invocations (every attempt,
//     synchronous or asynchronous);
//   - Emitter(next): between S3 and EventBridge, for S3 notifications;
//   - LambdaTargets(next) and ExecutionTargets(next): between EventBridge
//     and its targets, for rule deliveries.
//
// Every injected fault is recorded (Injected), so a failed invariant can
// point at what was done to the system.
package faultinject

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
)

// Actions a Rule can take.
const (
	// ActionThrottle answers with the service's own throttling error.
	ActionThrottle = "throttle"
	// ActionFail answers with Rule.Error / Message / Status.
	ActionFail = "fail"
	// ActionLatency waits Rule.Latency, then lets the call through.
	ActionLatency = "latency"
	// ActionTimeout holds the call until the caller gives up (or
	// Rule.Latency passes, default 30 s) and answers RequestTimeout.
	ActionTimeout = "timeout"
	// ActionCrash ends a Lambda invocation as a crashed process
	// (Runtime.ExitError).
	ActionCrash = "crash"
	// ActionHang makes a Lambda invocation run into its timeout
	// (Sandbox.Timedout) after Rule.Latency (default: the function timeout).
	ActionHang = "hang"
	// ActionInitError fails a Lambda invocation in its init phase
	// (Runtime.InitError).
	ActionInitError = "init-error"
	// ActionDuplicate delivers an event Rule.Times times (default 2).
	ActionDuplicate = "duplicate"
	// ActionDelay delivers an event Rule.Latency late.
	ActionDelay = "delay"
	// ActionReorder holds an event until the next event through the same
	// point (service and operation, any target) has been delivered (or
	// Rule.Latency passes, default 5 s): out of order.
	ActionReorder = "reorder"
)

// Operations of the non-HTTP injection points.
const (
	// OpInvoke is every Lambda invocation attempt (service "lambda",
	// target the function name).
	OpInvoke = "Invoke"
	// OpNotify is an S3 event notification (service "s3", target
	// "bucket/key").
	OpNotify = "Notify"
	// OpDeliver is an EventBridge rule delivery to a target (service
	// "events", target the target ARN).
	OpDeliver = "Deliver"
)

var actions = map[string]bool{
	ActionThrottle: true, ActionFail: true, ActionLatency: true, ActionTimeout: true,
	ActionCrash: true, ActionHang: true, ActionInitError: true,
	ActionDuplicate: true, ActionDelay: true, ActionReorder: true,
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("250ms", "2s") or a number of milliseconds.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string or milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration: want a string like \"2s\" or milliseconds, got %s", b)
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// Rule is one fault: which calls it applies to and what it does to them.
type Rule struct {
	// ID names the rule (assigned when empty).
	ID string `json:"id,omitempty"`
	// Service is the emulated service as it signs its requests ("states",
	// "glue", "sagemaker", "sagemaker-runtime", "s3", "lambda", "events",
	// "sqs", "sns", "sts", "monitoring") or "*".
	Service string `json:"service"`
	// Operation is the API operation ("StartExecution", "InvokeEndpoint",
	// "PutObject"; OpInvoke, OpNotify, OpDeliver for the non-HTTP points);
	// "" or "*" matches every operation. A path.Match pattern is allowed.
	Operation string `json:"operation,omitempty"`
	// Target narrows the rule: a function name for Lambda, "bucket/key"
	// for S3 notifications, the target ARN for EventBridge deliveries, the
	// request path for HTTP calls. A path.Match pattern; a plain string
	// matches as a substring. "" matches everything.
	Target string `json:"target,omitempty"`
	// Action is one of the Action* constants.
	Action string `json:"action"`
	// Count is how many matching calls the rule affects; 0 means all of
	// them, for as long as the rule exists.
	Count int `json:"count,omitempty"`
	// Skip lets the first Skip matching calls through untouched.
	Skip int `json:"skip,omitempty"`
	// Error, Message and Status shape the ActionFail answer (defaults
	// InternalFailure, 500).
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	Status  int    `json:"status,omitempty"`
	// Latency is the wait of latency, timeout, hang, delay and reorder.
	Latency Duration `json:"latency,omitempty"`
	// Times is how many deliveries ActionDuplicate makes (default 2).
	Times int `json:"times,omitempty"`
}

// Validate reports what is wrong with r, naming the field.
func (r Rule) Validate() error {
	var errs []error
	if r.Service == "" {
		errs = append(errs, errors.New("service is required (e.g. \"states\", \"lambda\" or \"*\")"))
	}
	if !actions[r.Action] {
		errs = append(errs, fmt.Errorf("action %q is not one of %s", r.Action, strings.Join(sortedActions(), ", ")))
	}
	if r.Count < 0 || r.Skip < 0 || r.Times < 0 || r.Latency < 0 {
		errs = append(errs, errors.New("count, skip, times and latency must not be negative"))
	}
	if r.Status != 0 && (r.Status < 400 || r.Status > 599) {
		errs = append(errs, fmt.Errorf("status %d is not an HTTP error status", r.Status))
	}
	for _, p := range []string{r.Operation, r.Target} {
		if _, err := path.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("pattern %q: %w", p, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fault %q: %w", r.ID, err)
	}
	return nil
}

func sortedActions() []string {
	out := make([]string, 0, len(actions))
	for a := range actions {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// File is the fault-injection file: {"faults": [Rule, ...]}.
type File struct {
	Faults []Rule `json:"faults"`
}

// Load reads a fault-injection file. Unknown fields are errors, so a typo
// never silently disables a fault.
func Load(name string) ([]Rule, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read fault file: %w", err)
	}
	rules, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("fault file %s: %w", name, err)
	}
	return rules, nil
}

// Parse decodes and validates a fault-injection document.
func Parse(data []byte) ([]Rule, error) {
	var f File
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var errs []error
	for i, r := range f.Faults {
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("faults[%d]: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f.Faults, nil
}

// Record is one injected fault: the evidence a scenario report points at.
type Record struct {
	Time      time.Time `json:"time"`
	Rule      string    `json:"rule"`
	Action    string    `json:"action"`
	Service   string    `json:"service"`
	Operation string    `json:"operation"`
	Target    string    `json:"target,omitempty"`
}

// Options configure an Injector.
type Options struct {
	// Clock paces the waits of latency, hang, delay and reorder faults and
	// stamps records (default the wall clock).
	Clock clock.Clock
	// Rules are installed at start (usually from Load).
	Rules []Rule
}

// Injector holds the active rules. It is safe for concurrent use; a nil
// *Injector injects nothing.
type Injector struct {
	clock clock.Clock

	mu      sync.Mutex
	rules   []*active
	nextID  int
	records []Record
	held    map[string][]chan struct{} // reorder: held events by rule id
	pending sync.WaitGroup             // late and held deliveries
}

// active is an installed rule with its counters.
type active struct {
	Rule
	seen    int // matching calls so far
	applied int // calls the fault was applied to
}

// New returns an Injector with opts.Rules installed.
func New(opts Options) (*Injector, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	inj := &Injector{clock: opts.Clock, held: map[string][]chan struct{}{}}
	if _, err := inj.Add(opts.Rules...); err != nil {
		return nil, err
	}
	return inj, nil
}

// Add validates and installs rules, in order after the existing ones, and
// returns their ids. Nothing is installed when one is invalid.
func (inj *Injector) Add(rules ...Rule) ([]string, error) {
	var errs []error
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("rule %d: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	inj.mu.Lock()
	defer inj.mu.Unlock()
	ids := make([]string, 0, len(rules))
	for _, r := range rules {
		if r.ID == "" {
			inj.nextID++
			r.ID = "fault-" + strconv.Itoa(inj.nextID)
		}
		for _, a := range inj.rules {
			if a.ID == r.ID {
				return ids, fmt.Errorf("fault %q already exists", r.ID)
			}
		}
		inj.rules = append(inj.rules, &active{Rule: r})
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// Remove deletes the rule with id and reports whether it existed. Events
// it holds back (reorder) are released.
func (inj *Injector) Remove(id string) bool {
	inj.mu.Lock()
	defer inj.mu.Unlock()
	for i, a := range inj.rules {
		if a.ID == id {
			inj.rules = append(inj.rules[:i], inj.rules[i+1:]...)
			inj.releaseLocked(id)
			return true
		}
	}
	return false
}

// Clear deletes every rule and releases every held event.
func (inj *Injector) Clear() {
	inj.mu.Lock()
	defer inj.mu.Unlock()
	for _, a := range inj.rules {
		inj.releaseLocked(a.ID)
	}
	inj.rules = nil
}

// RuleStatus is a rule with how often it matched and fired.
type RuleStatus struct {
	Rule
	Matched int `json:"matched"`
	Applied int `json:"applied"`
	// Remaining is how many more calls it affects (-1: unlimited).
	Remaining int `json:"remaining"`
}

// Rules returns the installed rules with their counters.
func (inj *Injector) Rules() []RuleStatus {
	inj.mu.Lock()
	defer inj.mu.Unlock()
	out := make([]RuleStatus, 0, len(inj.rules))
	for _, a := range inj.rules {
		rem := -1
		if a.Count > 0 {
			rem = a.Count - a.applied
		}
		out = append(out, RuleStatus{Rule: a.Rule, Matched: a.seen, Applied: a.applied, Remaining: rem})
	}
	return out
}

// Injected returns every fault injected so far, oldest first.
func (inj *Injector) Injected() []Record {
	if inj == nil {
		return nil
	}
	inj.mu.Lock()
	defer inj.mu.Unlock()
	return append([]Record(nil), inj.records...)
}

// Wait waits for late (delay) and held (reorder) deliveries to be made.
func (inj *Injector) Wait() {
	if inj != nil {
		inj.pending.Wait()
	}
}

// decide returns the first rule that applies to the call and counts it,
// or nil. Rules whose Count is used up stay listed but no longer fire.
func (inj *Injector) decide(service, op, target string, allowed func(action string) bool) *Rule {
	if inj == nil {
		return nil
	}
	inj.mu.Lock()
	defer inj.mu.Unlock()
	for _, a := range inj.rules {
		if !allowed(a.Action) || !a.matches(service, op, target) {
			continue
		}
		if a.Count > 0 && a.applied >= a.Count {
			continue
		}
		a.seen++
		if a.seen <= a.Skip {
			continue
		}
		a.applied++
		inj.records = append(inj.records, Record{
			Time: inj.clock.Now().UTC(), Rule: a.ID, Action: a.Action, Service: service, Operation: op, Target: target,
		})
		r := a.Rule
		return &r
	}
	return nil
}

func (a *active) matches(service, op, target string) bool {
	return matchName(a.Service, service) && matchName(a.Operation, op) && matchTarget(a.Target, target)
}

func matchName(pattern, v string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	if strings.EqualFold(pattern, v) {
		return true
	}
	ok, _ := path.Match(pattern, v)
	return ok
}

func matchTarget(pattern, v string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	if strings.ContainsAny(pattern, "*?[") {
		ok, _ := path.Match(pattern, v)
		return ok
	}
	return strings.Contains(v, pattern)
}

// sleep waits d on the injector's clock, or until ctx ends (false).
func (inj *Injector) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-inj.clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

func latencyOr(r *Rule, def time.Duration) time.Duration {
	if r.Latency > 0 {
		return time.Duration(r.Latency)
	}
	return def
}
