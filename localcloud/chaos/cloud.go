// Package chaos runs the platform's real functions and state machines on
// the local cloud while breaking its arrows on purpose (with
// localcloud/faultinject), and checks the invariants the design promises:
// nothing is lost, nothing happens twice, every failure ends where someone
// sees it.
//
// Cloud composes the emulators a scenario needs from template.yaml with
// every fault-injection point wired in (endpoint, Lambda, S3
// notifications, EventBridge targets). It is a smaller localcloud/stack
// (no Glue, SageMaker or API; only the functions a scenario names) that
// can also turn a guard off (Guards) to show that the invariant then
// breaks, and record what S3 emitted before any fault. The pipeline
// scenarios run the whole stack with stack.Options.Faults instead.
package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/endpoint"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/gomlops/mlops/localcloud/faultinject"
	"github.com/gomlops/mlops/localcloud/lambdaemu"
	"github.com/gomlops/mlops/localcloud/s3emu"
	"github.com/gomlops/mlops/localcloud/samtemplate"
	"github.com/gomlops/mlops/localcloud/sfnemu"
	"github.com/gomlops/mlops/localcloud/snsemu"
	"github.com/gomlops/mlops/localcloud/sqsemu"
)

// Guards turns off, one at a time, the mechanisms the invariants rest on.
// The zero value keeps every guard: what the platform really does.
type Guards struct {
	// RandomExecutionNames gives every StartExecution a unique name, as a
	// handler without deterministic naming would.
	RandomExecutionNames bool
	// NoDeadLetters removes every function's OnFailure destination and
	// dead-letter queue.
	NoDeadLetters bool
	// NoCooldown sets RETRAIN_COOLDOWN to 1 ns on every function (the
	// retraining window and cooldown shrink to nothing).
	NoCooldown bool
}

// Options configure a Cloud.
type Options struct {
	// Template is the SAM template (default: the repository's).
	Template string
	// StateDir holds the state (required; a test's TempDir).
	StateDir string
	// BuildDir caches function binaries across runs (default
	// <user cache>/gomlops-localcloud-build).
	BuildDir string
	// Functions are the logical ids of the functions to run; rules whose
	// targets are other functions are left out. Empty runs every function.
	Functions []string
	// Env is added to every function's environment.
	Env map[string]string
	// Clock paces every emulated wait (default 60x the wall clock).
	Clock clock.Clock
	// Faults is the fault injector wired at every injection point (nil:
	// one without rules).
	Faults *faultinject.Injector
	// Guards turns guards off.
	Guards Guards
	// Output receives the functions' logs (default io.Discard).
	Output io.Writer
}

// Cloud is a running local cloud with fault injection.
type Cloud struct {
	Template      *samtemplate.Template
	Clock         clock.Clock
	Faults        *faultinject.Injector
	Lambda        *lambdaemu.Service
	S3            *s3emu.Service
	Events        *eventbridge.Service
	SQS           *sqsemu.Service
	SNS           *snsemu.Service
	StepFunctions *sfnemu.Service
	// CloudWatch records the CloudWatch calls the functions make.
	CloudWatch *CloudWatchRecorder
	// Emitted records every S3 notification as S3 sent it, before faults.
	Emitted *EventRecorder
	// StateDir holds the services' state: queues, SNS outbox, executions.
	StateDir string

	srv     *endpoint.Server
	logs    *lockedBuffer
	closers []func()
}

// Start composes and starts a Cloud.
func Start(opts Options) (c *Cloud, err error) {
	if opts.StateDir == "" {
		return nil, errors.New("chaos: StateDir is required")
	}
	if opts.Template == "" {
		opts.Template = filepath.Join(repoRoot(), "template.yaml")
	}
	if opts.Clock == nil {
		opts.Clock = clock.NewScaled(60)
	}
	if opts.Faults == nil {
		opts.Faults, _ = faultinject.New(faultinject.Options{})
	}
	logs := &lockedBuffer{}
	var out io.Writer = logs
	if opts.Output != nil {
		out = io.MultiWriter(logs, opts.Output)
	}
	c = &Cloud{Clock: opts.Clock, Faults: opts.Faults, logs: logs, CloudWatch: &CloudWatchRecorder{}, Emitted: &EventRecorder{}, StateDir: opts.StateDir}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if err := linkBuildCache(opts.StateDir, opts.BuildDir); err != nil {
		return nil, err
	}

	router := endpoint.NewRouter(nil)
	var handler http.Handler = router
	if opts.Guards.RandomExecutionNames {
		handler = randomNames(handler)
	}
	c.srv, err = endpoint.Start("127.0.0.1:0", opts.Faults.Wrap(handler))
	if err != nil {
		return nil, fmt.Errorf("start endpoint: %w", err)
	}
	c.closers = append(c.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.srv.Close(ctx)
	})
	url := c.srv.URL()

	c.Template, err = samtemplate.Load(opts.Template, samtemplate.Options{Endpoint: url})
	if err != nil {
		return nil, fmt.Errorf("load template: %w", err)
	}
	tpl := c.Template

	c.SQS, err = sqsemu.New(sqsemu.Options{StateDir: opts.StateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID, BaseURL: url})
	if err != nil {
		return nil, fmt.Errorf("start SQS: %w", err)
	}
	queues, err := tpl.Queues()
	if err != nil {
		return nil, err
	}
	for _, q := range queues {
		if _, err := c.SQS.CreateQueue(q.Name, nil); err != nil {
			return nil, fmt.Errorf("create queue %s: %w", q.Name, err)
		}
	}
	topics, err := tpl.Topics()
	if err != nil {
		return nil, err
	}
	var topicNames []string
	for _, t := range topics {
		topicNames = append(topicNames, t.Name)
	}
	c.SNS, err = snsemu.New(snsemu.Options{StateDir: opts.StateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID, Topics: topicNames})
	if err != nil {
		return nil, fmt.Errorf("start SNS: %w", err)
	}

	all, err := tpl.Functions()
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	var fns []samtemplate.Function
	for _, f := range all {
		if len(opts.Functions) > 0 && !contains(opts.Functions, f.LogicalID) {
			continue
		}
		keep[f.ARN] = true
		if opts.Guards.NoDeadLetters {
			f.DeadLetterARN = ""
			if f.EventInvokeConfig != nil {
				cfg := *f.EventInvokeConfig
				cfg.OnFailure = ""
				f.EventInvokeConfig = &cfg
			}
		}
		if opts.Guards.NoCooldown {
			f.Env = withEnv(f.Env, map[string]string{"RETRAIN_COOLDOWN": "1ns"})
		}
		fns = append(fns, f)
	}
	env := map[string]string{"AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR", "AWS_ACCESS_KEY_ID": "AKIALOCALCLOUD000000",
		"AWS_SECRET_ACCESS_KEY": "localcloud-secret-access-key-not-checked"}
	for k, v := range opts.Env {
		env[k] = v
	}
	c.Lambda, err = lambdaemu.New(lambdaemu.Options{
		Functions: fns, StateDir: opts.StateDir, Region: tpl.Region, Endpoint: url, Env: env,
		Logs: out, Clock: opts.Clock, Destination: c.deliverDestination, Faults: opts.Faults.LambdaHook(),
	})
	if err != nil {
		return nil, fmt.Errorf("start Lambda: %w", err)
	}
	c.closers = append(c.closers, func() { _ = c.Lambda.Close() })
	// Build before any fault or clock matters: a first build takes a
	// while, a cached one is a hash of the sources.
	if err := c.Lambda.Build(); err != nil {
		return nil, fmt.Errorf("build functions: %w", err)
	}

	c.StepFunctions, err = sfnemu.New(sfnemu.Options{
		StateDir: opts.StateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID,
		Lambda: c.Lambda, SNS: snsPublisher{c.SNS},
	})
	if err != nil {
		return nil, fmt.Errorf("start Step Functions: %w", err)
	}
	c.closers = append(c.closers, func() { _ = c.StepFunctions.Close() })
	machines, err := tpl.StateMachines()
	if err != nil {
		return nil, err
	}
	for _, m := range machines {
		if _, err := c.StepFunctions.PutStateMachine(sfnemu.CreateStateMachineInput{Name: m.Name, Definition: string(m.Definition), RoleARN: m.RoleARN, Type: m.Type}); err != nil {
			return nil, fmt.Errorf("create state machine %s: %w", m.Name, err)
		}
	}

	rules, err := tpl.Rules()
	if err != nil {
		return nil, err
	}
	c.Events, err = eventbridge.New(eventbridge.Options{
		StateDir: opts.StateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID,
		Lambda: opts.Faults.LambdaTargets(c.Lambda), StepFunctions: opts.Faults.ExecutionTargets(executionStarter{c.StepFunctions}),
		SQS: c.SQS, SNS: c.SNS, Rules: eventRules(rules, keep),
	})
	if err != nil {
		return nil, fmt.Errorf("start EventBridge: %w", err)
	}
	c.closers = append(c.closers, c.Events.Close)

	var buckets []s3emu.Bucket
	for _, b := range tpl.Buckets() {
		buckets = append(buckets, s3emu.Bucket{Name: b.Name, EventBridge: b.EventBridge, Versioned: b.Versioned})
	}
	c.Emitted.next = opts.Faults.Emitter(c.Events)
	c.S3, err = s3emu.New(s3emu.Options{StateDir: opts.StateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID,
		Buckets: buckets, Events: c.Emitted})
	if err != nil {
		return nil, fmt.Errorf("start S3: %w", err)
	}

	router.Handle("s3", c.S3)
	router.Handle("events", c.Events)
	router.Handle("sqs", c.SQS)
	router.Handle("sns", c.SNS)
	router.Handle("lambda", c.Lambda)
	router.Handle("states", c.StepFunctions)
	router.Handle("monitoring", c.CloudWatch)
	return c, nil
}

// URL is the AWS endpoint.
func (c *Cloud) URL() string { return c.srv.URL() }

// AWSConfig is an SDK configuration for the endpoint.
func (c *Cloud) AWSConfig() aws.Config {
	return aws.Config{
		Region:       c.Template.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIALOCALCLOUD000000", "localcloud-secret-access-key-not-checked", ""),
		BaseEndpoint: aws.String(c.URL()),
		HTTPClient:   &http.Client{Timeout: time.Minute},
	}
}

// Logs returns everything the functions printed so far.
func (c *Cloud) Logs() string { return c.logs.String() }

// Close stops everything.
func (c *Cloud) Close() {
	c.Faults.Clear() // releases held events
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
	c.closers = nil
}

// deliverDestination is Lambda's OnFailure/OnSuccess/DLQ delivery.
func (c *Cloud) deliverDestination(ctx context.Context, arn string, record []byte) error {
	switch strings.SplitN(arn, ":", 4)[2] {
	case "sqs":
		return c.SQS.Deliver(ctx, arn, record)
	case "sns":
		return c.SNS.Deliver(ctx, arn, record)
	}
	return fmt.Errorf("destination %s is not an SQS queue or SNS topic", arn)
}

// QueueName is the physical name of the template's queue logicalID.
func (c *Cloud) QueueName(logicalID string) (string, error) {
	queues, err := c.Template.Queues()
	if err != nil {
		return "", err
	}
	for _, q := range queues {
		if q.LogicalID == logicalID {
			return q.Name, nil
		}
	}
	return "", fmt.Errorf("template has no queue %s", logicalID)
}

// Function returns the template function logicalID.
func (c *Cloud) Function(logicalID string) (samtemplate.Function, error) {
	fns, err := c.Template.Functions()
	if err != nil {
		return samtemplate.Function{}, err
	}
	for _, f := range fns {
		if f.LogicalID == logicalID {
			return f, nil
		}
	}
	return samtemplate.Function{}, fmt.Errorf("template has no function %s", logicalID)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func withEnv(base, extra map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// eventRules maps the template's rules to EventBridge rules, leaving out
// Lambda targets that are not running.
func eventRules(rules []samtemplate.Rule, running map[string]bool) []eventbridge.Rule {
	var out []eventbridge.Rule
	for _, r := range rules {
		er := eventbridge.Rule{Name: r.Name, EventBusName: r.EventBus, EventPattern: string(r.Pattern), ScheduleExpression: r.ScheduleExpression, State: "ENABLED"}
		if !r.Enabled || r.ScheduleExpression != "" {
			er.State = "DISABLED" // scenarios send their own events
		}
		for _, t := range r.Targets {
			if strings.Contains(t.ARN, ":lambda:") && !running[t.ARN] {
				continue
			}
			et := eventbridge.Target{ID: t.ID, Arn: t.ARN, Input: t.Input, InputPath: t.InputPath}
			if t.InputTransformer != nil {
				et.InputTransformer = &eventbridge.InputTransformer{InputPathsMap: t.InputTransformer.InputPathsMap, InputTemplate: t.InputTransformer.InputTemplate}
			}
			if t.RetryPolicy != nil {
				et.RetryPolicy = &eventbridge.RetryPolicy{MaximumRetryAttempts: t.RetryPolicy.MaximumRetryAttempts, MaximumEventAgeInSeconds: t.RetryPolicy.MaximumEventAgeInSeconds}
			}
			if t.DeadLetterARN != "" {
				et.DeadLetterConfig = &eventbridge.DeadLetterConfig{Arn: t.DeadLetterARN}
			}
			er.Targets = append(er.Targets, et)
		}
		if len(er.Targets) > 0 {
			out = append(out, er)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// linkBuildCache points <stateDir>/lambda/build at a shared directory, so
// that every scenario reuses the binaries lambdaemu built (keyed by a hash
// of the sources: a changed function is rebuilt).
func linkBuildCache(stateDir, buildDir string) error {
	if buildDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		buildDir = filepath.Join(base, "gomlops-localcloud-build")
	}
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return nil // no shared cache: lambdaemu builds in the state directory
	}
	if err := os.MkdirAll(filepath.Join(stateDir, "lambda"), 0o755); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	link := filepath.Join(stateDir, "lambda", "build")
	if _, err := os.Lstat(link); err == nil {
		return nil
	}
	if err := os.Symlink(buildDir, link); err != nil {
		return fmt.Errorf("link build cache: %w", err)
	}
	return nil
}

// repoRoot finds the module root from the working directory.
func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// snsPublisher adapts snsemu to asl.SNSPublisher.
type snsPublisher struct{ svc *snsemu.Service }

func (p snsPublisher) Publish(ctx context.Context, topicARN, subject, message string) (string, error) {
	return p.svc.Publish(ctx, topicARN, subject, message, nil)
}

// executionStarter adapts sfnemu to eventbridge.ExecutionStarter.
type executionStarter struct{ svc *sfnemu.Service }

func (e executionStarter) StartExecution(ctx context.Context, arn, name, input string) error {
	_, _, err := e.svc.StartExecution(ctx, arn, name, input)
	return err
}

// randomNames rewrites the name of every StartExecution request to a
// unique one: the platform without deterministic execution names.
func randomNames(next http.Handler) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".StartExecution") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, awsproto.MaxBodyBytes))
		if err != nil {
			awsproto.WriteJSONError(w, r, awsproto.Validation("read body: %v", err))
			return
		}
		var in map[string]any
		if json.Unmarshal(body, &in) == nil {
			name, _ := in["name"].(string)
			in["name"] = fmt.Sprintf("%.60s-%d", name, n.Add(1))
			body, _ = json.Marshal(in)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		next.ServeHTTP(w, r)
	})
}

// CloudWatchRecorder stands in for CloudWatch: it answers every call
// (Smithy RPC v2 CBOR, as the Go SDK speaks it) with an empty success and
// records the operation names.
type CloudWatchRecorder struct {
	mu  sync.Mutex
	ops []string
}

// ServeHTTP implements http.Handler.
func (cw *CloudWatchRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	op := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	cw.mu.Lock()
	cw.ops = append(cw.ops, op)
	cw.mu.Unlock()
	awsproto.RequestID(w)
	w.Header().Set("smithy-protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte{0xa0}) // an empty CBOR map
}

// Calls returns the operations called so far.
func (cw *CloudWatchRecorder) Calls() []string {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	return append([]string(nil), cw.ops...)
}

// EventRecorder sits between S3 and the fault injector and keeps every
// event S3 emitted, before any fault.
type EventRecorder struct {
	next   faultinject.EventEmitter
	mu     sync.Mutex
	events []eventbridge.Event
}

// Emit records ev and passes it on.
func (e *EventRecorder) Emit(ctx context.Context, ev eventbridge.Event) error {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
	return e.next.Emit(ctx, ev)
}

// Events returns the recorded events.
func (e *EventRecorder) Events() []eventbridge.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]eventbridge.Event(nil), e.events...)
}

// lockedBuffer is a concurrency-safe log sink.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
