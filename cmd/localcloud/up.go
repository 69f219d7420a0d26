package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/endpoint"
	"github.com/gomlops/mlops/localcloud/faultinject"
	"github.com/gomlops/mlops/localcloud/samtemplate"
	"github.com/gomlops/mlops/localcloud/stack"
)

func upCommand() command {
	return command{
		name:    "up",
		summary: "run the whole template locally: every emulator behind one AWS endpoint, the API on another port",
		run:     runUp,
	}
}

const upUsage = `Usage: localcloud up [--template template.yaml] [--parameter-overrides 'K=V ...'] [--port 4566] [--api-port 3000] [--speed 1] [flags]

Loads the template, builds every function and starts every emulated service
(S3, EventBridge, Lambda, Step Functions, Glue, SageMaker, CloudWatch, SNS,
SQS, STS) behind one AWS endpoint on 127.0.0.1, creates the template's
resources, uploads the Glue scripts and serves the template's API. Point the
AWS CLI, boto3 or an SDK at it with AWS_ENDPOINT_URL. Runs until Ctrl-C.

--faults file.json injects faults (throttles, errors, latency, Lambda
crashes, duplicated or late events) and serves the control API on the
endpoint at /_localcloud/faults to change them while it runs.
--mock-config file.json mocks Step Functions Task states with a Step
Functions Local MockConfigFile: start an execution on
<state machine ARN>#<TestCase>, or give --mock-test-case to run one test case
for every execution. See docs/chaos.md.`

// upFlags are the flags of `up`.
type upFlags struct {
	template  string
	overrides stringList
	stateDir  string
	region    string
	stackName string
	port      int
	apiPort   int
	speed     float64
	verbose   bool
	faults    string
	mock      string
	mockCase  string
}

func (u *upFlags) register(fs *flag.FlagSet, defaultPort, defaultAPIPort int, defaultSpeed float64) {
	fs.StringVar(&u.template, "template", "template.yaml", "the SAM template")
	fs.StringVar(&u.template, "t", "template.yaml", "shorthand for --template")
	fs.Var(&u.overrides, "parameter-overrides", "template parameters, like sam: 'Key=Value Key2=Value2' (repeatable)")
	fs.StringVar(&u.stateDir, "state-dir", endpoint.DefaultStateDir, "directory for state, build cache and logs (survives restarts)")
	fs.StringVar(&u.region, "region", samtemplate.DefaultRegion, "AWS region of the local cloud")
	fs.StringVar(&u.stackName, "stack-name", samtemplate.DefaultStackName, "stack name: AWS::StackName and the prefix of generated resource names")
	fs.IntVar(&u.port, "port", defaultPort, "port of the AWS endpoint on 127.0.0.1 (0 picks a free one)")
	fs.IntVar(&u.apiPort, "api-port", defaultAPIPort, "port of the template's API on 127.0.0.1 (0 picks a free one)")
	fs.Float64Var(&u.speed, "speed", defaultSpeed, "clock factor: every emulated wait (Wait states, polling, schedules, retries, instance start-up) is this many times shorter")
	fs.BoolVar(&u.verbose, "verbose", false, "log the services' own problems to stderr")
	fs.StringVar(&u.faults, "faults", "", `fault-injection file {"faults": [...]} (docs/chaos.md); also serves the control API at <endpoint>/_localcloud/faults`)
	fs.StringVar(&u.mock, "mock-config", "", "Step Functions Local MockConfigFile: executions started on <state machine ARN>#<TestCase> run that test case (like SFN_MOCK_CONFIG)")
	fs.StringVar(&u.mockCase, "mock-test-case", "", "with --mock-config: the test case every execution of a state machine that has it runs")
}

func (u *upFlags) options(out io.Writer, clk clock.Clock) (stack.Options, error) {
	params, err := samtemplate.ParseParameterOverrides(u.overrides...)
	if err != nil {
		return stack.Options{}, fmt.Errorf("%w (use --parameter-overrides 'Key=Value ...')", err)
	}
	if u.speed <= 0 {
		return stack.Options{}, fmt.Errorf("--speed must be positive, got %g", u.speed)
	}
	opts := stack.Options{
		Template: u.template, Parameters: params, Region: u.region, StackName: u.stackName,
		StateDir: u.stateDir, Port: u.port, APIPort: u.apiPort, Clock: clk, Output: out,
	}
	if u.verbose {
		opts.Logger = slog.New(slog.NewTextHandler(out, nil))
	}
	if u.faults != "" {
		rules, err := faultinject.Load(u.faults)
		if err != nil {
			return stack.Options{}, fmt.Errorf("--faults %s: %w", u.faults, err)
		}
		if opts.Faults, err = faultinject.New(faultinject.Options{Clock: clk, Rules: rules}); err != nil {
			return stack.Options{}, fmt.Errorf("--faults %s: %w", u.faults, err)
		}
	}
	if u.mockCase != "" && u.mock == "" {
		return stack.Options{}, fmt.Errorf("--mock-test-case %s needs --mock-config file.json", u.mockCase)
	}
	if u.mock != "" {
		cfg, err := asl.LoadMockConfig(u.mock)
		if err != nil {
			return stack.Options{}, fmt.Errorf("--mock-config %s: %w", u.mock, err)
		}
		opts.MockConfig, opts.MockTestCase = cfg, u.mockCase
	}
	return opts, nil
}

func runUp(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("up", upUsage, c.stderr)
	var u upFlags
	u.register(fs, endpoint.DefaultPort, 3000, 1)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	// Waits pass --speed times faster while the time itself stays the
	// machine's, which the functions run on (see stack.Warp).
	var clk clock.Clock = clock.Real{}
	if u.speed != 1 {
		clk = stack.NewWarp(u.speed)
	}
	opts, err := u.options(c.stderr, clk)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "localcloud up: loading %s and building its functions (cached in %s)...\n", u.template, u.stateDir)
	st, err := stack.Start(ctx, opts)
	if err != nil {
		if u.mock != "" && errors.Is(err, stack.ErrMockConfig) {
			return fmt.Errorf("--mock-config %s: %w", u.mock, err)
		}
		return err
	}
	defer func() {
		fmt.Fprintln(c.stderr, "localcloud up: stopping (function processes, Glue scripts, model servers)...")
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.Close(closeCtx); err != nil {
			fmt.Fprintf(c.stderr, "localcloud up: stop: %v\n", err)
		}
	}()
	fmt.Fprint(c.stdout, Banner(st, u.speed, chaosFiles{faults: u.faults, mock: u.mock, testCase: u.mockCase}))
	if c.ready != nil {
		c.ready(strings.TrimPrefix(st.EndpointURL(), "http://"))
	}
	<-ctx.Done()
	return nil
}

// chaosFiles are where the active faults and mocks came from.
type chaosFiles struct{ faults, mock, testCase string }

// Banner tells the developer where everything is, which faults and mocks
// are active, and how it differs from AWS.
func Banner(st *stack.Stack, speed float64, files chaosFiles) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nLocal cloud of %s (stack %s, region %s, account %s) is up.\n\n", st.Template.Path, st.Template.StackName, st.Template.Region, st.Template.AccountID)
	fmt.Fprintf(&b, "AWS endpoint:  %s  (services: %s)\n", st.EndpointURL(), strings.Join(st.Services(), ", "))
	if st.APIURL() != "" {
		fmt.Fprintf(&b, "API:           %s  (routes without the stage prefix; AWS_IAM routes need SigV4-signed requests)\n", st.APIURL())
		for _, r := range st.API.Routes() {
			fmt.Fprintf(&b, "                 %s\n", r)
		}
	}
	fmt.Fprintf(&b, "State and logs: %s  (function logs: %s/logs/<function>.log; SNS messages: %s/sns/outbox.jsonl)\n", st.StateDir, st.StateDir, st.StateDir)
	if speed != 1 {
		fmt.Fprintf(&b, "Clock:         every emulated wait %gx shorter (the time itself stays the machine's)\n", speed)
	}
	b.WriteString(chaosBanner(st, files))
	b.WriteString("\nPoint the AWS CLI, boto3 or an SDK at it:\n\n")
	for _, e := range st.Env() {
		fmt.Fprintf(&b, "  export %s\n", e)
	}
	b.WriteString("  aws s3 ls\n")
	for _, bk := range st.Template.Buckets() {
		if bk.EventBridge {
			fmt.Fprintf(&b, "  aws s3 cp data.csv s3://%s/...   # emits the EventBridge Object Created event\n", bk.Name)
			break
		}
	}
	b.WriteString("\n")
	b.WriteString("Differences from AWS (details: docs/localcloud.md):\n")
	for _, d := range append(stack.Differences(), st.Notes()...) {
		fmt.Fprintf(&b, "  - %s\n", d)
	}
	b.WriteString("\nPress Ctrl-C to stop.\n")
	return b.String()
}

// chaosBanner says which faults and Step Functions mocks are active and
// how to change the faults while the stack runs.
func chaosBanner(st *stack.Stack, files chaosFiles) string {
	var b strings.Builder
	if st.Faults != nil {
		rules := st.Faults.Rules()
		fmt.Fprintf(&b, "Faults:        %d rule(s) from %s are active (docs/chaos.md)\n", len(rules), files.faults)
		for _, r := range rules {
			op := r.Operation
			if op == "" {
				op = "*"
			}
			fmt.Fprintf(&b, "                 %s: %s %s/%s", r.ID, r.Action, r.Service, op)
			if r.Target != "" {
				fmt.Fprintf(&b, " on %s", r.Target)
			}
			if r.Count > 0 {
				fmt.Fprintf(&b, " (%d call(s))", r.Count)
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Fault control: %s  (GET lists the rules, POST adds one, DELETE [/id] removes; GET %s/injected)\n", st.FaultsURL(), st.FaultsURL())
		fmt.Fprintf(&b, "                 curl -s -XPOST %s -d '{\"service\":\"states\",\"operation\":\"StartExecution\",\"action\":\"throttle\",\"count\":2}'\n", st.FaultsURL())
	}
	if st.Mocks != nil {
		fmt.Fprintf(&b, "Step Functions mocks: %s (Step Functions Local MockConfigFile)\n", files.mock)
		cases := st.Mocks.TestCases()
		names := make([]string, 0, len(cases))
		for sm := range cases {
			names = append(names, sm)
		}
		sort.Strings(names)
		for _, sm := range names {
			fmt.Fprintf(&b, "                 %s: test cases %s (start on <state machine ARN>#<TestCase>)\n", sm, strings.Join(cases[sm], ", "))
		}
		if files.testCase != "" {
			fmt.Fprintf(&b, "                 executions without #<TestCase> run test case %s\n", files.testCase)
		}
	}
	return b.String()
}
