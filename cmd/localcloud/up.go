package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/endpoint"
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
AWS CLI, boto3 or an SDK at it with AWS_ENDPOINT_URL. Runs until Ctrl-C.`

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
	fmt.Fprint(c.stdout, Banner(st, u.speed))
	if c.ready != nil {
		c.ready(strings.TrimPrefix(st.EndpointURL(), "http://"))
	}
	<-ctx.Done()
	return nil
}

// Banner tells the developer where everything is and how it differs from
// AWS.
func Banner(st *stack.Stack, speed float64) string {
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
