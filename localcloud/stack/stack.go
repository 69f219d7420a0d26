// Package stack composes the local cloud: it loads a SAM template, builds
// every emulator (Lambda, S3, EventBridge, SNS, SQS, STS, Step Functions,
// Glue, SageMaker, CloudWatch) with the template's resources, wires them to
// each other through their consumer-side interfaces and serves them behind
// one AWS endpoint on 127.0.0.1, with the template's API on a second port.
//
// It is the local cloud's "Main": `localcloud up` and `localcloud demo` run
// a Stack, and the end-to-end test starts the very same Stack, so what the
// test checks is what a developer runs.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/gomlops/mlops/localcloud/apigw"
	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/cloudwatchemu"
	"github.com/gomlops/mlops/localcloud/endpoint"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/gomlops/mlops/localcloud/faultinject"
	"github.com/gomlops/mlops/localcloud/glueemu"
	"github.com/gomlops/mlops/localcloud/lambdaemu"
	"github.com/gomlops/mlops/localcloud/s3emu"
	"github.com/gomlops/mlops/localcloud/sagemakeremu"
	"github.com/gomlops/mlops/localcloud/samtemplate"
	"github.com/gomlops/mlops/localcloud/sfnemu"
	"github.com/gomlops/mlops/localcloud/snsemu"
	"github.com/gomlops/mlops/localcloud/sqsemu"
	"github.com/gomlops/mlops/localcloud/stsemu"
)

// Dummy credentials every local client may use; the local cloud routes by
// the signature's scope and never checks the keys.
const (
	AccessKeyID     = "AKIALOCALCLOUD000000"
	SecretAccessKey = "localcloud-secret-access-key-not-checked"
)

// Options configure a Stack.
type Options struct {
	// Template is the SAM template file (default template.yaml).
	Template string
	// Parameters override template parameters (sam --parameter-overrides).
	Parameters map[string]string
	// Region (default us-east-1) and StackName (default
	// samtemplate.DefaultStackName) bind the template's pseudo parameters.
	Region, StackName string
	// StateDir holds every service's state and the logs (default
	// .localcloud).
	StateDir string
	// Port is the AWS endpoint's port on 127.0.0.1 (0 picks a free one).
	Port int
	// APIPort is the API Gateway port on 127.0.0.1 (0 picks a free one).
	APIPort int
	// Clock paces every emulated wait (default the wall clock).
	Clock clock.Clock
	// Output receives the functions', Glue scripts' and model servers'
	// output, each line prefixed with its source (default os.Stderr).
	Output io.Writer
	// Logger receives the services' own problems (default: discard).
	Logger *slog.Logger
	// GluePython runs Glue scripts: an interpreter with boto3 (default
	// "python3" on PATH).
	GluePython string
	// SageMakerPython runs the XGBoost algorithm and model servers: an
	// interpreter with xgboost 1.7 (default /usr/bin/python3, the one
	// Debian's python3-xgboost installs for).
	SageMakerPython string
	// GlueScripts maps a Glue job's ScriptLocation (s3://...) to a local
	// file uploaded there at start. By default a job whose script location
	// ends in /scripts/<file>.py gets <template dir>/scripts/<file>.py when
	// that file exists.
	GlueScripts map[string]string
	// Timings shorten or lengthen the emulated durations of SageMaker's
	// own work (instance start-up, provisioning); zero keeps AWS-like
	// defaults.
	Timings Timings
	// Go is the go command used to build functions (default "go").
	Go string
	// FunctionEnv adds environment variables to functions, by logical id,
	// over the template's (a local experiment without editing the
	// template). An unknown logical id is an error.
	FunctionEnv map[string]map[string]string
	// Faults, when set, breaks the stack on purpose (docs/chaos.md): it
	// wraps the AWS endpoint (API call faults, and its control API at
	// faultinject.ControlPath), every Lambda invocation attempt, S3's
	// notifications to EventBridge and EventBridge's deliveries to Lambda
	// and Step Functions. Its rules can change while the stack runs.
	Faults *faultinject.Injector
	// MockConfig, when set, mocks Step Functions Task states with a Step
	// Functions Local MockConfigFile: an execution started on
	// "<state machine ARN>#<TestCase>" runs that test case. Its state
	// machines are named by name or by the template's logical id.
	MockConfig *asl.MockConfig
	// MockTestCase, with MockConfig, is the test case every execution of
	// a state machine that has it runs (without a "#<TestCase>" of its
	// own). No state machine having it is an error.
	MockTestCase string
}

// Timings are emulated durations of work the local cloud does not really
// do (launching instances), measured on the Clock.
type Timings struct {
	// TrainingStartup, EndpointProvision, CaptureFlush and AlarmPoll are
	// sagemakeremu.Timings (instance start-up, fleet provisioning, data
	// capture flushes, rollback-alarm checks while a deployment bakes).
	TrainingStartup   time.Duration
	EndpointProvision time.Duration
	CaptureFlush      time.Duration
	AlarmPoll         time.Duration
}

// Stack is a running local cloud. Its fields are the running services, for
// tests and demos that look inside.
type Stack struct {
	Template *samtemplate.Template
	Clock    clock.Clock

	Lambda        *lambdaemu.Service
	S3            *s3emu.Service
	Events        *eventbridge.Service
	SNS           *snsemu.Service
	SQS           *sqsemu.Service
	STS           *stsemu.Service
	StepFunctions *sfnemu.Service
	Glue          *glueemu.Service
	SageMaker     *sagemakeremu.Service
	CloudWatch    *cloudwatchemu.Service
	API           *apigw.Server

	// Faults is Options.Faults (nil without fault injection).
	Faults *faultinject.Injector
	// Mocks are the Step Functions mocks of Options.MockConfig (nil
	// without), keyed by state machine name.
	Mocks *sfnemu.Mocks

	// StateDir is the absolute state directory.
	StateDir string

	router      *endpoint.Router
	endpointSrv *endpoint.Server
	apiSrv      *http.Server
	apiURL      string
	logs        *logFanout
	log         *slog.Logger
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	closers     []func() error
	notes       []string
}

// Start loads the template, builds every function, starts every emulator
// behind one endpoint and creates the template's resources. Close stops it.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Template == "" {
		opts.Template = "template.yaml"
	}
	if opts.StateDir == "" {
		opts.StateDir = endpoint.DefaultStateDir
	}
	if opts.Region == "" {
		opts.Region = samtemplate.DefaultRegion
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Output == nil {
		opts.Output = os.Stderr
	}
	if opts.GluePython == "" {
		opts.GluePython = "python3"
	}
	if opts.SageMakerPython == "" {
		opts.SageMakerPython = "/usr/bin/python3"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stateDir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", opts.StateDir, err)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	if _, err := os.Stat(opts.Template); err != nil {
		return nil, fmt.Errorf("template %s: %w", opts.Template, err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	st := &Stack{Clock: opts.Clock, StateDir: stateDir, log: logger, cancel: cancel, Faults: opts.Faults}
	defer func() {
		if err != nil {
			closeCtx, c := context.WithTimeout(context.Background(), 10*time.Second)
			defer c()
			_ = st.Close(closeCtx)
		}
	}()

	// Listen first: the endpoint URL goes into queue URLs and every
	// function's AWS_ENDPOINT_URL.
	st.router = endpoint.NewRouter(logger)
	// A nil injector's Wrap is the router itself.
	st.endpointSrv, err = endpoint.Start(net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)), opts.Faults.Wrap(st.router))
	if err != nil {
		return nil, fmt.Errorf("start the AWS endpoint on port %d: %w (is another local cloud running? pick another with --port)", opts.Port, err)
	}
	url := st.endpointSrv.URL()

	st.Template, err = samtemplate.Load(opts.Template, samtemplate.Options{
		Region: opts.Region, StackName: opts.StackName, Parameters: opts.Parameters, Endpoint: url,
	})
	if err != nil {
		return nil, fmt.Errorf("load template: %w", err)
	}
	tpl := st.Template

	st.logs, err = newLogFanout(filepath.Join(stateDir, "logs"), opts.Output)
	if err != nil {
		return nil, err
	}
	st.closers = append(st.closers, st.logs.Close)

	// Every service's AWS/* metrics go to CloudWatch, which starts last.
	metrics := &metricsSink{}

	// SQS and SNS first: they are the destinations of everything else.
	st.SQS, err = sqsemu.New(sqsemu.Options{StateDir: stateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID, BaseURL: url, Metrics: metrics})
	if err != nil {
		return nil, fmt.Errorf("start SQS: %w", err)
	}
	queues, err := tpl.Queues()
	if err != nil {
		return nil, err
	}
	for _, q := range queues {
		if _, err := st.SQS.CreateQueue(q.Name, queueAttributes(q)); err != nil {
			return nil, fmt.Errorf("create queue %s (%s): %w", q.Name, q.LogicalID, err)
		}
	}
	topics, err := tpl.Topics()
	if err != nil {
		return nil, err
	}
	var topicNames []string
	for _, t := range topics {
		topicNames = append(topicNames, t.Name)
		for _, sub := range t.Subscriptions {
			st.note("SNS subscription %s:%s of topic %s is not delivered; every message is in %s", sub.Protocol, sub.Endpoint, t.Name, filepath.Join(stateDir, "sns", "outbox.jsonl"))
		}
	}
	st.SNS, err = snsemu.New(snsemu.Options{StateDir: stateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID, Topics: topicNames})
	if err != nil {
		return nil, fmt.Errorf("start SNS: %w", err)
	}
	st.STS = stsemu.New(stsemu.Options{AccountID: tpl.AccountID})

	// Lambda.
	fns, err := tpl.Functions()
	if err != nil {
		return nil, err
	}
	events := &eventPublisher{}
	for id, env := range opts.FunctionEnv {
		found := false
		for i := range fns {
			if fns[i].LogicalID != id {
				continue
			}
			found = true
			merged := map[string]string{}
			for k, v := range fns[i].Env {
				merged[k] = v
			}
			for k, v := range env {
				merged[k] = v
			}
			fns[i].Env = merged
		}
		if !found {
			return nil, fmt.Errorf("FunctionEnv: the template has no function %s", id)
		}
	}
	dest := &destinations{sqs: st.SQS, sns: st.SNS, events: events}
	st.Lambda, err = lambdaemu.New(lambdaemu.Options{
		Functions: fns, StateDir: stateDir, Region: tpl.Region, Endpoint: url,
		Env:  map[string]string{"AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"},
		Logs: st.logs, Clock: opts.Clock, Destination: dest.Deliver, Go: opts.Go,
		Metrics: metrics, Faults: opts.Faults.LambdaHook(),
	})
	if err != nil {
		return nil, fmt.Errorf("start Lambda: %w", err)
	}
	st.closers = append(st.closers, st.Lambda.Close)
	dest.lambda = st.Lambda

	// Step Functions, then EventBridge (which starts executions), then S3
	// (which emits to EventBridge).
	machines, err := tpl.StateMachines()
	if err != nil {
		return nil, err
	}
	var mock asl.TaskMocker
	if opts.MockConfig != nil || opts.MockTestCase != "" {
		if st.Mocks, err = newMocks(opts.MockConfig, opts.MockTestCase, machines); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMockConfig, err)
		}
		mock = st.Mocks
	}
	st.StepFunctions, err = sfnemu.New(sfnemu.Options{
		StateDir: stateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID,
		Lambda: st.Lambda, SNS: snsPublisher{st.SNS}, Events: events, Logger: logger,
		Metrics: metrics, Mock: mock,
	})
	if err != nil {
		return nil, fmt.Errorf("start Step Functions: %w", err)
	}
	st.closers = append(st.closers, st.StepFunctions.Close)
	for _, m := range machines {
		if _, err := st.StepFunctions.PutStateMachine(sfnemu.CreateStateMachineInput{
			Name: m.Name, Definition: string(m.Definition), RoleARN: m.RoleARN, Type: m.Type,
		}); err != nil {
			return nil, fmt.Errorf("create state machine %s (%s): %w", m.Name, m.LogicalID, err)
		}
	}

	rules, err := tpl.Rules()
	if err != nil {
		return nil, err
	}
	st.Events, err = eventbridge.New(eventbridge.Options{
		StateDir: stateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID,
		Lambda: opts.Faults.LambdaTargets(st.Lambda), StepFunctions: opts.Faults.ExecutionTargets(executionStarter{st.StepFunctions}),
		SQS: st.SQS, SNS: st.SNS,
		Rules: eventRules(rules), Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start EventBridge: %w", err)
	}
	st.closers = append(st.closers, func() error { st.Events.Close(); return nil })
	events.set(st.Events)

	var buckets []s3emu.Bucket
	for _, b := range tpl.Buckets() {
		buckets = append(buckets, s3emu.Bucket{Name: b.Name, EventBridge: b.EventBridge, Versioned: b.Versioned})
	}
	st.S3, err = s3emu.New(s3emu.Options{StateDir: stateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID, Buckets: buckets, Events: opts.Faults.Emitter(st.Events), Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("start S3: %w", err)
	}
	objects := newObjectStore(st.awsConfig(url, tpl.Region))
	alarms := &alarmStates{}

	// Glue: the template's jobs; scripts come from the local S3.
	jobs, err := glueJobs(tpl)
	if err != nil {
		return nil, err
	}
	st.Glue, err = glueemu.New(glueemu.Options{
		StateDir: stateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID,
		Jobs: jobs, Scripts: objects, EndpointURL: url, Python: opts.GluePython,
		Output: st.logs, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start Glue: %w", err)
	}
	st.closers = append(st.closers, func() error { st.Glue.Close(); return nil })
	st.router.Handle("s3", st.S3)
	st.router.Handle("events", st.Events)
	st.router.Handle("sqs", st.SQS)
	st.router.Handle("sns", st.SNS)
	st.router.Handle("sts", st.STS)
	st.router.Handle("lambda", st.Lambda)
	st.router.Handle("states", st.StepFunctions)
	st.router.Handle("glue", st.Glue.Handler())

	// SageMaker: training and hosting with the local XGBoost; channels,
	// models and capture go through the local S3.
	smLog, err := os.OpenFile(filepath.Join(stateDir, "logs", "sagemaker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open SageMaker log: %w", err)
	}
	st.closers = append(st.closers, smLog.Close)
	// SageMaker waits until moments (a blue/green bake ends at a time):
	// with a clock whose waits are shortened it needs the view whose
	// waits move the clock.
	smClock := opts.Clock
	if j, ok := opts.Clock.(interface{ Jumping() clock.Clock }); ok {
		smClock = j.Jumping()
	}
	st.SageMaker, err = sagemakeremu.New(sagemakeremu.Options{
		StateDir: stateDir, Clock: smClock, Store: sagemakeremu.NewS3Store(objects.client),
		Python: opts.SageMakerPython, Alarms: alarms, Logger: slog.New(slog.NewTextHandler(smLog, nil)),
		Region: tpl.Region, AccountID: tpl.AccountID, Metrics: metrics,
		Timings: sagemakeremu.Timings{
			TrainingStartup: opts.Timings.TrainingStartup, EndpointProvision: opts.Timings.EndpointProvision,
			CaptureFlush: opts.Timings.CaptureFlush, AlarmPoll: opts.Timings.AlarmPoll,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start SageMaker: %w", err)
	}
	st.closers = append(st.closers, st.SageMaker.Close)
	if err := st.SageMaker.CheckPython(ctx); err != nil {
		st.note("SageMaker training jobs and endpoints will fail: %v", err)
	}
	if len(jobs) > 0 {
		if out, err := exec.CommandContext(ctx, opts.GluePython, "-c", "import boto3").CombinedOutput(); err != nil {
			st.note("Glue jobs will fail: %s cannot import boto3 (%v: %s)", opts.GluePython, err, strings.TrimSpace(string(out)))
		}
	}
	st.router.Handle("sagemaker", st.SageMaker.ControlHandler())
	st.router.Handle(endpoint.SageMakerRuntime, st.SageMaker.RuntimeHandler())

	if err := uploadGlueScripts(ctx, objects, tpl, jobs, opts.GlueScripts); err != nil {
		return nil, err
	}

	// CloudWatch: the template's alarms; metrics from every function's
	// EMF log lines; alarm state changes go to EventBridge.
	cwAlarms, err := cloudWatchAlarms(tpl)
	if err != nil {
		return nil, err
	}
	st.CloudWatch, err = cloudwatchemu.New(cloudwatchemu.Options{
		StateDir: stateDir, Clock: opts.Clock, Region: tpl.Region, AccountID: tpl.AccountID,
		Alarms: cwAlarms, Events: st.Events, Actions: st.SNS, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start CloudWatch: %w", err)
	}
	st.closers = append(st.closers, func() error { st.CloudWatch.Close(); return nil })
	alarms.set(cloudWatchStates{st.CloudWatch})
	if err := metrics.set(st.CloudWatch); err != nil {
		return nil, fmt.Errorf("CloudWatch: metrics published at start: %w", err)
	}
	st.router.Handle("monitoring", st.CloudWatch.Handler())
	st.logs.addHook(func(_, line string) {
		if strings.HasPrefix(line, "{") {
			st.CloudWatch.IngestLog(restampEMF([]byte(line), opts.Clock.Now()))
		}
	})

	// Every function's binary, before anything can invoke one.
	if err := st.Lambda.Build(); err != nil {
		return nil, fmt.Errorf("build functions: %w", err)
	}

	// The template's API.
	if err := st.startAPI(opts); err != nil {
		return nil, err
	}

	st.wg.Add(3)
	go func() {
		defer st.wg.Done()
		st.CloudWatch.Run(runCtx)
	}()
	go func() {
		defer st.wg.Done()
		st.SQS.RunMetrics(runCtx)
	}()
	go func() {
		defer st.wg.Done()
		if err := st.Events.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("EventBridge schedules stopped", "err", err)
		}
	}()
	return st, nil
}

func (st *Stack) startAPI(opts Options) error {
	apis, err := st.Template.APIs()
	if err != nil {
		return err
	}
	if len(apis) == 0 {
		return nil
	}
	srv, err := apigw.New(st.Template, st.Lambda, apigw.Options{Clock: st.Clock, Logger: st.log})
	if err != nil {
		return fmt.Errorf("API Gateway: %w", err)
	}
	st.API = srv
	routes, err := authRoutes(st.Template)
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.auth != AuthIAM && r.auth != AuthNone {
			st.note("API route %s /%s uses a %s authorizer, which the local cloud does not check", r.method, strings.Join(r.segments, "/"), r.auth)
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.APIPort)))
	if err != nil {
		return fmt.Errorf("start the API on port %d: %w", opts.APIPort, err)
	}
	st.apiURL = "http://" + ln.Addr().String()
	st.apiSrv = &http.Server{Handler: &apiAuthorizer{routes: routes, region: st.Template.Region, next: srv}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = st.apiSrv.Serve(ln) }()
	return nil
}

// note records a difference from AWS found in this template.
func (st *Stack) note(format string, args ...any) {
	st.notes = append(st.notes, fmt.Sprintf(format, args...))
}

// FaultsURL is the fault-injection control API on the AWS endpoint
// (docs/chaos.md), or "" without Options.Faults.
func (st *Stack) FaultsURL() string {
	if st.Faults == nil {
		return ""
	}
	return st.EndpointURL() + faultinject.ControlPath
}

// EndpointURL is the AWS endpoint (AWS_ENDPOINT_URL).
func (st *Stack) EndpointURL() string { return st.endpointSrv.URL() }

// APIURL is the base URL of the template's API ("" if it has none).
// Routes are served without the stage prefix, as `sam local start-api`.
func (st *Stack) APIURL() string { return st.apiURL }

// LogPath is the log file of a function (by physical name) or a service.
func (st *Stack) LogPath(name string) string { return st.logs.path(name) }

// OnFunctionLog registers a hook called with every line a function prints.
func (st *Stack) OnFunctionLog(h LogHook) { st.logs.addHook(h) }

// AWSConfig returns an SDK configuration pointing at the stack with the
// dummy credentials.
func (st *Stack) AWSConfig() aws.Config {
	return st.awsConfig(st.EndpointURL(), st.Template.Region)
}

func (st *Stack) awsConfig(url, region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(url),
		HTTPClient:   &http.Client{Timeout: 2 * time.Minute},
	}
}

// Env is the environment a process (AWS CLI, boto3, an SDK program) needs
// to talk to the stack.
func (st *Stack) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + st.EndpointURL(),
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + st.Template.Region,
		"AWS_DEFAULT_REGION=" + st.Template.Region,
	}
}

// Notes lists this template's differences from AWS found while starting
// (unchecked authorizers, undelivered subscriptions...), on top of
// Differences.
func (st *Stack) Notes() []string { return append([]string(nil), st.notes...) }

// Close stops the API, the endpoint and every service (function processes,
// Glue scripts, model servers), in reverse start order.
func (st *Stack) Close(ctx context.Context) error {
	var errs []error
	if st.apiSrv != nil {
		if err := st.apiSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop API: %w", err))
		}
	}
	if st.Faults != nil {
		st.Faults.Clear() // releases the events a reorder fault holds back
	}
	st.cancel()
	st.wg.Wait()
	// Services stop before the endpoint: SageMaker flushes its capture
	// buffers to S3 through it.
	for i := len(st.closers) - 1; i >= 0; i-- {
		if err := st.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	st.closers = nil
	if st.endpointSrv != nil {
		if err := st.endpointSrv.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop endpoint: %w", err))
		}
		st.endpointSrv = nil
	}
	return errors.Join(errs...)
}

// queueAttributes maps a template queue to CreateQueue attributes.
func queueAttributes(q samtemplate.Queue) map[string]string {
	attrs := map[string]string{}
	if q.VisibilityTimeout > 0 {
		attrs["VisibilityTimeout"] = strconv.Itoa(q.VisibilityTimeout)
	}
	if q.MessageRetentionPeriod > 0 {
		attrs["MessageRetentionPeriod"] = strconv.Itoa(q.MessageRetentionPeriod)
	}
	if q.FIFO {
		attrs["FifoQueue"] = "true"
	}
	if q.DeadLetterARN != "" && q.MaxReceiveCount > 0 {
		attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, q.DeadLetterARN, q.MaxReceiveCount)
	}
	return attrs
}

// eventRules maps the template's rules to EventBridge rules.
func eventRules(rules []samtemplate.Rule) []eventbridge.Rule {
	out := make([]eventbridge.Rule, 0, len(rules))
	for _, r := range rules {
		er := eventbridge.Rule{
			Name: r.Name, EventBusName: r.EventBus, EventPattern: string(r.Pattern),
			ScheduleExpression: r.ScheduleExpression, State: "ENABLED",
		}
		if !r.Enabled {
			er.State = "DISABLED"
		}
		for _, t := range r.Targets {
			et := eventbridge.Target{ID: t.ID, Arn: t.ARN, RoleArn: t.RoleARN, Input: t.Input, InputPath: t.InputPath}
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
		out = append(out, er)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Services lists the AWS services the endpoint serves.
func (st *Stack) Services() []string { return st.router.Services() }
