package chaos

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/faultinject"
)

var (
	full       = flag.Bool("chaos.full", false, "run every scenario with more repetitions (make chaos); the default is the make-test budget")
	reportPath = flag.String("chaos.report", "", "also write the report to this file")
	verbose    = flag.Bool("chaos.logs", false, "stream the functions' logs to stderr")
	keepDir    = flag.String("chaos.keep", "", "keep each run's state (logs, queues, SNS outbox, execution histories) under this directory instead of a temporary one")
)

// report collects every scenario run of this test binary.
var report = &Report{}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if len(report.Entries()) > 0 {
		fmt.Println("\n== chaos report")
		_ = report.Write(os.Stdout)
		if *reportPath != "" {
			f, err := os.Create(*reportPath)
			if err == nil {
				_ = report.Write(f)
				_ = f.Close()
			}
		}
	}
	os.Exit(code)
}

// scenario is one fault with the invariant it must not break.
type scenario struct {
	name      string
	fault     string
	invariant string
	// guard names what the invariant rests on; removing it (Guards) must
	// break the invariant. Empty: no guard-removal run.
	guard string
	// without returns the Guards with this scenario's guard removed.
	without Guards
	// fullOnly scenarios run only with -chaos.full.
	fullOnly bool
	run      func(t *testing.T, g Guards) Outcome
}

func scenarios() []scenario {
	return []scenario{
		{
			name:      "duplicate-delivery",
			fault:     "the S3 notification of one upload is delivered 10 times in a row, then the same event 10 times concurrently",
			invariant: "exactly one pipeline execution for the object",
			guard:     "deterministic execution names (naming.Execution)",
			without:   Guards{RandomExecutionNames: true},
			run:       runDuplicateDelivery,
		},
		{
			name:      "late-and-reordered-delivery",
			fault:     "of three uploads, the first's notification is overtaken by the second's and the third's arrives 2 minutes late",
			invariant: "each object starts exactly one execution named after it, whatever the order",
			run:       runLateAndReordered,
		},
		{
			name:      "dead-letter-crash",
			fault:     "the ingest function crashes (Runtime.ExitError) on every attempt of an EventBridge-invoked event",
			invariant: "retried 1+2 times, then the original event is in ingest's OnFailure queue, intact",
			guard:     "EventInvokeConfig OnFailure destination / dead-letter queue",
			without:   Guards{NoDeadLetters: true},
			run:       func(t *testing.T, g Guards) Outcome { return runDeadLetter(t, g, faultinject.ActionCrash) },
		},
		{
			name:      "dead-letter-timeout",
			fault:     "the ingest function hangs into its timeout (Sandbox.Timedout) on every attempt",
			invariant: "retried 1+2 times, then the original event is in ingest's OnFailure queue, intact",
			run:       func(t *testing.T, g Guards) Outcome { return runDeadLetter(t, g, faultinject.ActionHang) },
		},
		{
			name:      "alarm-burst",
			fault:     "3 (full: 5) drift-alarm transitions into ALARM within seconds, each delivered 3 times at once, flapping back to OK in between",
			invariant: "exactly one retraining execution inside the cooldown window",
			guard:     "RETRAIN_COOLDOWN (and the per-window execution name)",
			without:   Guards{NoCooldown: true},
			run:       runAlarmBurst,
		},
		{
			name:      "inference-errors",
			fault:     "SageMaker InvokeEndpoint throttled / ModelError 424 / ServiceUnavailable / never answering",
			invariant: "the client gets 429 / 502 / 503 / 504 within INVOKE_TIMEOUT, never a 200 with an error inside, never a hang",
			run:       runInference,
		},
		{
			name:      "pipeline-throttling",
			fault:     "the functions' Glue (StartJobRun, GetJobRun), SageMaker (training, model, endpoint config, endpoint) and Step Functions (StartExecution) calls throttled 1-2 times each",
			invariant: "every throttle is retried with backoff and the pipeline succeeds: endpoint InService",
			fullOnly:  true,
			run:       runPipelineThrottling,
		},
		{
			name:      "pipeline-permanent-failure",
			fault:     "SageMaker refuses the training job (ValidationException) on every call",
			invariant: "the execution fails, the failure notification names the cause, no endpoint configuration, endpoint or live record is made",
			fullOnly:  true,
			run:       runPipelinePermanentFailure,
		},
		{
			name:      "endpoint-update-fails",
			fault:     "after a first model is live, SageMaker refuses the endpoint update of the next pipeline (ValidationException)",
			invariant: "the deployment is reported failed (execution FAILED, notification with the cause) and the previous model keeps serving (same configuration InService, live record unchanged, predictions answer)",
			fullOnly:  true,
			run:       runEndpointUpdateFails,
		},
		{
			name:      "endpoint-rollback",
			fault:     "after a first model is live, the deployment's rollback alarm is in ALARM while the next model's blue/green update runs",
			invariant: "SageMaker rolls back; the deployment is reported failed (execution FAILED, notification) and the previous model keeps serving (same configuration InService, live record unchanged, predictions answer)",
			fullOnly:  true,
			run:       runEndpointRollback,
		},
	}
}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			if sc.fullOnly && !*full {
				t.Skip("runs with -chaos.full (make chaos)")
			}
			out := sc.run(t, Guards{})
			report.Add(Entry{Scenario: sc.name, Fault: sc.fault, Invariant: sc.invariant, Outcome: out, Expect: true})
			if !out.Held {
				t.Errorf("invariant broken: %s\nobserved: %s\nevidence: %s", sc.invariant, out.Detail, out.Evidence)
			}
		})
	}
}

// TestGuardRemoval shows that each invariant rests on its guard: without
// it, the same fault breaks the invariant (and the check notices).
func TestGuardRemoval(t *testing.T) {
	for _, sc := range scenarios() {
		if sc.guard == "" {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			if sc.fullOnly && !*full {
				t.Skip("runs with -chaos.full (make chaos)")
			}
			out := sc.run(t, sc.without)
			report.Add(Entry{Scenario: sc.name, Guard: sc.guard, Fault: sc.fault, Invariant: sc.invariant, Outcome: out, Expect: false})
			if out.Held {
				t.Errorf("with %s removed the invariant still held: the scenario does not test its guard\nobserved: %s", sc.guard, out.Detail)
			}
		})
	}
}

// startCloud starts a Cloud for one scenario and stops it at the end.
func startCloud(t *testing.T, opts Options) *Cloud {
	t.Helper()
	opts.StateDir = stateDir(t)
	if *verbose {
		opts.Output = os.Stderr
	}
	c, err := Start(opts)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// stateDir is the run's state directory: kept under -chaos.keep (emptied
// first), else temporary.
func stateDir(t *testing.T) string {
	t.Helper()
	if *keepDir == "" {
		return t.TempDir()
	}
	dir, err := filepath.Abs(filepath.Join(*keepDir, strings.ReplaceAll(t.Name(), "/", "_")))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

func newInjector(t *testing.T, rules ...faultinject.Rule) *faultinject.Injector {
	t.Helper()
	inj, err := faultinject.New(faultinject.Options{Rules: rules})
	require.NoError(t, err)
	return inj
}

// bucketName returns the physical name of the template's bucket.
func bucketName(t *testing.T, c *Cloud, logicalID string) string {
	t.Helper()
	for _, b := range c.Template.Buckets() {
		if b.LogicalID == logicalID {
			return b.Name
		}
	}
	t.Fatalf("template has no bucket %s", logicalID)
	return ""
}

// sampleCSV is a small dataset in the sample schema.
const sampleCSV = "tenure_months,monthly_charges,support_calls,plan,churned\n" +
	"12,70.5,1,basic,0\n3,99.9,4,premium,1\n40,55.0,0,standard,0\n7,80.2,3,basic,1\n"

func putObject(t *testing.T, c *Cloud, bucket, key, body string) {
	t.Helper()
	client := s3.NewFromConfig(c.AWSConfig())
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body), ContentType: aws.String("text/csv")})
	require.NoError(t, err)
}

// waitFor polls cond until it is true or the timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

// reports counts the finished invocations of a function in the logs.
func reports(c *Cloud, functionName string) int {
	n := 0
	for _, line := range strings.Split(c.Logs(), "\n") {
		if strings.Contains(line, "["+functionName+"]") && strings.Contains(line, "REPORT RequestId") {
			n++
		}
	}
	return n
}

// executions lists the executions of a state machine.
func executions(t *testing.T, c *Cloud, stateMachineARN string) []string {
	t.Helper()
	client := sfn.NewFromConfig(c.AWSConfig())
	var out []string
	p := sfn.NewListExecutionsPaginator(client, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachineARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		for _, e := range page.Executions {
			out = append(out, aws.ToString(e.ExecutionArn))
		}
	}
	return out
}

// logLines returns the log lines containing every one of subs.
func logLines(c *Cloud, subs ...string) []string {
	var out []string
	for _, line := range strings.Split(c.Logs(), "\n") {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}
