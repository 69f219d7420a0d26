// Package eventbridge emulates Amazon EventBridge's default event bus for
// the local cloud: rules with event patterns (localcloud/eventpattern) or
// schedule expressions (rate/cron on the injected clock), targets (Lambda,
// Step Functions, SNS, SQS) with Input, InputPath and InputTransformer,
// per-target RetryPolicy and SQS dead-letter queues carrying AWS's DLQ
// message attributes, and the API (AWS JSON 1.1, target prefix
// AWSEvents.): PutEvents, TestEventPattern, PutRule, PutTargets,
// ListRules, ListTargetsByRule, DescribeRule, DeleteRule, RemoveTargets.
//
// Other emulators (S3) publish through Emit; the services it calls are
// small consumer-side interfaces the local cloud wires to the real
// emulators.
package eventbridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/eventpattern"
	"github.com/gomlops/mlops/localcloud/statefile"
)

// LambdaInvoker queues an asynchronous (Event) Lambda invocation.
type LambdaInvoker interface {
	InvokeAsync(ctx context.Context, fn string, payload []byte) error
}

// ExecutionStarter starts a Step Functions execution.
type ExecutionStarter interface {
	StartExecution(ctx context.Context, stateMachineARN, name, input string) error
}

// LambdaInvokerFunc adapts a function to LambdaInvoker.
type LambdaInvokerFunc func(ctx context.Context, fn string, payload []byte) error

// InvokeAsync calls f.
func (f LambdaInvokerFunc) InvokeAsync(ctx context.Context, fn string, payload []byte) error {
	return f(ctx, fn, payload)
}

// ExecutionStarterFunc adapts a function to ExecutionStarter, e.g. a
// Step Functions emulator whose StartExecution also returns the execution
// ARN and start date.
type ExecutionStarterFunc func(ctx context.Context, stateMachineARN, name, input string) error

// StartExecution calls f.
func (f ExecutionStarterFunc) StartExecution(ctx context.Context, stateMachineARN, name, input string) error {
	return f(ctx, stateMachineARN, name, input)
}

// QueueSender sends a message to an SQS queue (URL, ARN or name) with
// string message attributes and returns its id.
type QueueSender interface {
	SendMessage(ctx context.Context, queue, body string, attributes map[string]string) (string, error)
}

// TopicPublisher delivers a payload to an SNS topic ARN.
type TopicPublisher interface {
	Deliver(ctx context.Context, topicARN string, payload []byte) error
}

// DefaultBus is the only event bus the local cloud emulates.
const DefaultBus = "default"

// Options configure a Service. Targets whose service is not wired fail
// delivery (and land in their DLQ), they never vanish silently.
type Options struct {
	// StateDir holds rules and targets (StateDir/events/rules.json).
	StateDir string
	// Clock drives schedules, retries and event times.
	Clock clock.Clock
	// Region and AccountID (defaults us-east-1, 123456789012).
	Region, AccountID string
	Lambda            LambdaInvoker
	StepFunctions     ExecutionStarter
	SQS               QueueSender
	SNS               TopicPublisher
	// Rules are registered at start (from the template), replacing stored
	// rules of the same name.
	Rules []Rule
	// Logger receives delivery failures (default: discard).
	Logger *slog.Logger
}

// Rule is an EventBridge rule with its targets. JSON names follow the
// EventBridge API.
type Rule struct {
	Name               string   `json:"Name"`
	EventBusName       string   `json:"EventBusName,omitempty"`
	EventPattern       string   `json:"EventPattern,omitempty"`
	ScheduleExpression string   `json:"ScheduleExpression,omitempty"`
	State              string   `json:"State,omitempty"`
	Description        string   `json:"Description,omitempty"`
	RoleArn            string   `json:"RoleArn,omitempty"`
	Targets            []Target `json:"Targets,omitempty"`
}

// Target is a rule target.
type Target struct {
	ID               string            `json:"Id"`
	Arn              string            `json:"Arn"`
	RoleArn          string            `json:"RoleArn,omitempty"`
	Input            string            `json:"Input,omitempty"`
	InputPath        string            `json:"InputPath,omitempty"`
	InputTransformer *InputTransformer `json:"InputTransformer,omitempty"`
	RetryPolicy      *RetryPolicy      `json:"RetryPolicy,omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
}

// InputTransformer rewrites the event for a target.
type InputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate string            `json:"InputTemplate"`
}

// RetryPolicy bounds delivery retries (AWS defaults: 185 attempts, 24 h).
type RetryPolicy struct {
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
}

// DeadLetterConfig names the SQS queue failed events go to.
type DeadLetterConfig struct {
	Arn string `json:"Arn,omitempty"`
}

// Event is an event in EventBridge's envelope, fields in AWS's order.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

type compiledRule struct {
	Rule
	pattern  *eventpattern.Pattern
	schedule *schedule
}

// Service is the EventBridge emulator. It is safe for concurrent use.
type Service struct {
	opts    Options
	path    string
	logger  *slog.Logger
	mu      sync.Mutex
	rules   map[string]*compiledRule
	changed chan struct{}

	ctx      context.Context
	cancel   context.CancelFunc
	inflight sync.WaitGroup
}

var ruleNameRE = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)

// New loads stored rules, registers opts.Rules and returns the service.
// Call Run to evaluate schedules and Close to stop deliveries.
func New(opts Options) (*Service, error) {
	if opts.StateDir == "" {
		return nil, errors.New("eventbridge: StateDir is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(opts.StateDir, "events")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("eventbridge: create state dir: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{opts: opts, path: filepath.Join(dir, "rules.json"), logger: logger, rules: map[string]*compiledRule{},
		changed: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
	var stored []Rule
	if _, err := statefile.Read(s.path, &stored); err != nil {
		cancel()
		return nil, fmt.Errorf("eventbridge: stored rules: %w", err)
	}
	for _, r := range stored {
		cr, err := s.compile(r)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("eventbridge: stored rule %q: %w", r.Name, err)
		}
		s.rules[r.Name] = cr
	}
	for _, r := range opts.Rules {
		if err := s.RegisterRule(r); err != nil {
			cancel()
			return nil, fmt.Errorf("eventbridge: register rule %q: %w", r.Name, err)
		}
	}
	return s, nil
}

// Close stops retries and schedules and waits for deliveries in flight.
func (s *Service) Close() {
	s.cancel()
	s.inflight.Wait()
}

// Wait blocks until every delivery started so far (including retries) has
// finished. With a Manual clock, retries only progress when the clock is
// advanced.
func (s *Service) Wait() { s.inflight.Wait() }

// RuleARN returns the ARN of a rule on the default bus.
func (s *Service) RuleARN(name string) string {
	return "arn:aws:events:" + s.opts.Region + ":" + s.opts.AccountID + ":rule/" + name
}

// BusARN returns the ARN of the default bus.
func (s *Service) BusARN() string {
	return "arn:aws:events:" + s.opts.Region + ":" + s.opts.AccountID + ":event-bus/default"
}

func validationf(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

func notFoundf(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ResourceNotFoundException", format, args...)
}

// checkBus accepts the default bus by name or ARN.
func (s *Service) checkBus(name string) error {
	if name == "" || name == DefaultBus || name == s.BusARN() {
		return nil
	}
	return notFoundf("Event bus %s does not exist.", name)
}

func (s *Service) compile(r Rule) (*compiledRule, error) {
	if !ruleNameRE.MatchString(r.Name) {
		return nil, validationf("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", r.Name)
	}
	if err := s.checkBus(r.EventBusName); err != nil {
		return nil, err
	}
	r.EventBusName = DefaultBus
	if r.State == "" {
		r.State = "ENABLED"
	}
	if r.State != "ENABLED" && r.State != "DISABLED" {
		return nil, validationf("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]", r.State)
	}
	if r.EventPattern == "" && r.ScheduleExpression == "" {
		return nil, validationf("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	cr := &compiledRule{Rule: r}
	if r.EventPattern != "" {
		p, err := eventpattern.Compile([]byte(r.EventPattern))
		if err != nil {
			return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidEventPatternException", "%s", err.Error())
		}
		cr.pattern = p
	}
	if r.ScheduleExpression != "" {
		sc, err := parseSchedule(r.ScheduleExpression)
		if err != nil {
			return nil, validationf("Parameter ScheduleExpression is not valid: %v", err)
		}
		cr.schedule = sc
	}
	for _, t := range r.Targets {
		if err := validateTarget(t); err != nil {
			return nil, err
		}
	}
	return cr, nil
}

func validateTarget(t Target) error {
	if t.ID == "" || len(t.ID) > 64 {
		return validationf("Target Id must be between 1 and 64 characters.")
	}
	if !strings.HasPrefix(t.Arn, "arn:") {
		return validationf("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", t.Arn)
	}
	set := 0
	if t.Input != "" {
		set++
		if !json.Valid([]byte(t.Input)) {
			return validationf("Target %s: Input is not valid JSON.", t.ID)
		}
	}
	if t.InputPath != "" {
		set++
		if _, err := parsePath(t.InputPath); err != nil {
			return validationf("Target %s: InputPath is not valid: %v", t.ID, err)
		}
	}
	if t.InputTransformer != nil {
		set++
		if err := validateTransformer(t.InputTransformer); err != nil {
			return validationf("Target %s: InputTransformer is not valid: %v", t.ID, err)
		}
	}
	if set > 1 {
		return validationf("Target %s: only one of Input, InputPath and InputTransformer may be set.", t.ID)
	}
	if rp := t.RetryPolicy; rp != nil {
		if a := rp.MaximumRetryAttempts; a != nil && (*a < 0 || *a > 185) {
			return validationf("Target %s: MaximumRetryAttempts must be between 0 and 185.", t.ID)
		}
		if a := rp.MaximumEventAgeInSeconds; a != nil && (*a < 60 || *a > 86400) {
			return validationf("Target %s: MaximumEventAgeInSeconds must be between 60 and 86400.", t.ID)
		}
	}
	if d := t.DeadLetterConfig; d != nil && d.Arn != "" && !strings.HasPrefix(d.Arn, "arn:aws:sqs:") {
		return validationf("Target %s: DeadLetterConfig Arn must be an SQS queue ARN.", t.ID)
	}
	return nil
}

// save writes the rules. Callers hold s.mu.
func (s *Service) save() error {
	list := make([]Rule, 0, len(s.rules))
	for _, name := range s.sortedNamesLocked() {
		list = append(list, s.rules[name].Rule)
	}
	if err := statefile.Write(s.path, list); err != nil {
		return fmt.Errorf("save rules: %w", err)
	}
	return nil
}

func (s *Service) sortedNamesLocked() []string {
	names := make([]string, 0, len(s.rules))
	for n := range s.rules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *Service) notifyChanged() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// RegisterRule creates or replaces a rule together with its targets (the
// template's rules arrive this way).
func (s *Service) RegisterRule(r Rule) error {
	cr, err := s.compile(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.rules[r.Name]
	s.rules[r.Name] = cr
	if err := s.save(); err != nil {
		if had {
			s.rules[r.Name] = old
		} else {
			delete(s.rules, r.Name)
		}
		return err
	}
	s.notifyChanged()
	return nil
}

// PutRule creates or updates a rule, keeping its targets, and returns its
// ARN.
func (s *Service) PutRule(r Rule) (string, error) {
	s.mu.Lock()
	if old, ok := s.rules[r.Name]; ok {
		r.Targets = old.Targets
	} else {
		r.Targets = nil
	}
	s.mu.Unlock()
	if err := s.RegisterRule(r); err != nil {
		return "", err
	}
	return s.RuleARN(r.Name), nil
}

// PutTargets adds or replaces targets (by Id) of a rule.
func (s *Service) PutTargets(ruleName, bus string, targets []Target) error {
	if err := s.checkBus(bus); err != nil {
		return err
	}
	if len(targets) == 0 || len(targets) > 10 {
		return validationf("Targets must contain between 1 and 10 items.")
	}
	for _, t := range targets {
		if err := validateTarget(t); err != nil {
			return err
		}
	}
	s.mu.Lock()
	cr, ok := s.rules[ruleName]
	if !ok {
		s.mu.Unlock()
		return notFoundf("Rule %s does not exist on EventBus default.", ruleName)
	}
	r := cr.Rule
	r.Targets = append([]Target{}, r.Targets...)
	for _, t := range targets {
		replaced := false
		for i := range r.Targets {
			if r.Targets[i].ID == t.ID {
				r.Targets[i], replaced = t, true
			}
		}
		if !replaced {
			r.Targets = append(r.Targets, t)
		}
	}
	s.mu.Unlock()
	if len(r.Targets) > 5 {
		return awsproto.Errorf(http.StatusBadRequest, "LimitExceededException", "The requested resource exceeds the maximum number allowed (5 targets per rule).")
	}
	return s.RegisterRule(r)
}

// RemoveTargets removes targets by Id.
func (s *Service) RemoveTargets(ruleName string, ids []string) error {
	s.mu.Lock()
	cr, ok := s.rules[ruleName]
	if !ok {
		s.mu.Unlock()
		return notFoundf("Rule %s does not exist on EventBus default.", ruleName)
	}
	r := cr.Rule
	var kept []Target
	for _, t := range r.Targets {
		drop := false
		for _, id := range ids {
			drop = drop || t.ID == id
		}
		if !drop {
			kept = append(kept, t)
		}
	}
	r.Targets = kept
	s.mu.Unlock()
	return s.RegisterRule(r)
}

// DeleteRule deletes a rule that has no targets left.
func (s *Service) DeleteRule(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cr, ok := s.rules[name]
	if !ok {
		return nil // AWS answers success for a missing rule.
	}
	if len(cr.Targets) > 0 {
		return validationf("Rule can't be deleted since it has targets.")
	}
	delete(s.rules, name)
	if err := s.save(); err != nil {
		s.rules[name] = cr
		return err
	}
	s.notifyChanged()
	return nil
}

// Rules returns the rules whose name starts with prefix, sorted by name.
func (s *Service) Rules(prefix string) []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Rule
	for _, n := range s.sortedNamesLocked() {
		if strings.HasPrefix(n, prefix) {
			r := s.rules[n].Rule
			r.Targets = append([]Target(nil), r.Targets...)
			out = append(out, r)
		}
	}
	return out
}

// Rule returns one rule.
func (s *Service) Rule(name string) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cr, ok := s.rules[name]
	if !ok {
		return Rule{}, notFoundf("Rule %s does not exist on EventBus default.", name)
	}
	r := cr.Rule
	r.Targets = append([]Target(nil), r.Targets...)
	return r, nil
}

// TestEventPattern reports whether event matches pattern, validating both
// as AWS does.
func TestEventPattern(pattern, event string) (bool, error) {
	p, err := eventpattern.Compile([]byte(pattern))
	if err != nil {
		return false, awsproto.Errorf(http.StatusBadRequest, "InvalidEventPatternException", "%s", err.Error())
	}
	var ev map[string]any
	dec := json.NewDecoder(strings.NewReader(event))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil || ev == nil {
		return false, validationf("Parameter Event is not valid.")
	}
	for _, f := range []string{"id", "account", "source", "time", "region", "detail-type"} {
		if _, ok := ev[f].(string); !ok {
			return false, validationf("Parameter Event is not valid. Reason: Provided Event must have a %q field of type string.", f)
		}
	}
	return p.MatchValue(ev), nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
