// Package e2e is the end-to-end scenario of the MLOps application on the
// local cloud: a dataset lands in the raw bucket and becomes a deployed
// model, predictions go through the API, a newer dataset is held, drifted
// traffic raises the drift alarm and remediation retrains on the newer
// dataset. `localcloud demo` (make local) runs it and prints its timeline;
// the package's test runs the same scenario, plus a failure path, and
// asserts every stage.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/gomlops/mlops/localcloud/sagemakeremu"
	"github.com/gomlops/mlops/localcloud/samtemplate"
	"github.com/gomlops/mlops/localcloud/stack"
	"github.com/gomlops/mlops/shared/pipeline"
)

// Options configure a run of the scenario.
type Options struct {
	// Dir is the application's directory: template.yaml and scripts/.
	Dir string
	// StateDir is the local cloud's state directory. It is emptied first
	// (except the functions' build cache) so every run starts clean.
	StateDir string
	// Speed is the clock factor: how many times faster than real time
	// every emulated wait passes (default 20).
	Speed float64
	// Timeline receives one line per finished step (default discard).
	Timeline io.Writer
	// Logs receives every function's, script's and server's output
	// (default: only the log files under StateDir/logs).
	Logs io.Writer
	// Python runs scripts/gen_dataset.py (default python3).
	Python string
	// FailurePath first uploads a dataset that fails schema validation and
	// checks it ends in the failure notification with nothing deployed.
	FailurePath bool
	// Port and APIPort of the local cloud (0 picks free ports).
	Port, APIPort int
	// AWSCLI, when set, is the AWS CLI executable the datasets are
	// uploaded with (otherwise the SDK uploads them).
	AWSCLI string
}

// Figures are what the scenario measured.
type Figures struct {
	// Accuracy is the live model's accuracy on the held-out labelled
	// sample; Optimal the accuracy of the known relationship itself
	// (predict churn when its true probability is above one half) on the
	// same rows, the best any model can do there.
	Accuracy, Optimal float64
	// Predictions is how many rows were predicted through the API.
	Predictions int
	// FirstConfig and RetrainConfig are the endpoint configurations live
	// after the first deployment and after the retraining.
	FirstConfig, RetrainConfig string
	// FailureReason is the reason the failure notification of the bad
	// dataset gave (FailurePath only).
	FailureReason string
}

// StageError is a failed stage: what was being done, why it failed, and
// where to look.
type StageError struct {
	Stage string
	Err   error
	// Logs lists the files that tell more.
	Logs []string
}

func (e *StageError) Error() string {
	return fmt.Sprintf("stage %q failed: %v (logs: %s)", e.Stage, e.Err, strings.Join(e.Logs, ", "))
}

func (e *StageError) Unwrap() error { return e.Err }

// Run starts the local cloud and runs the scenario. It returns the figures,
// or a *StageError naming the stage that failed.
func Run(ctx context.Context, opts Options) (*Figures, error) {
	r, err := start(ctx, opts)
	if err != nil {
		return nil, &StageError{Stage: "start the local cloud", Err: err, Logs: []string{filepath.Join(opts.StateDir, "logs")}}
	}
	defer r.close()
	if err := r.run(ctx); err != nil {
		return &r.fig, err
	}
	return &r.fig, nil
}

// runner carries the scenario's state.
type runner struct {
	opts  Options
	st    *stack.Stack
	clock *stack.Warp
	began time.Time
	fig   Figures

	s3  *s3.Client
	sfn *sfn.Client

	rawBucket, artifactsBucket, endpointName, machineARN, topicARN string
	ingestFn, monitorFn, remediateFn                               string

	logMu sync.Mutex
	lines map[string][]string // function name -> lines seen
}

func start(ctx context.Context, opts Options) (*runner, error) {
	if opts.Speed <= 0 {
		opts.Speed = 20
	}
	if opts.Python == "" {
		opts.Python = "python3"
	}
	if opts.Timeline == nil {
		opts.Timeline = io.Discard
	}
	if opts.Logs == nil {
		opts.Logs = io.Discard
	}
	if err := cleanStateDir(opts.StateDir); err != nil {
		return nil, err
	}
	tplPath := filepath.Join(opts.Dir, "template.yaml")
	params, fnEnv, err := scenarioParameters(tplPath)
	if err != nil {
		return nil, err
	}
	r := &runner{opts: opts, clock: stack.NewWarp(opts.Speed), began: time.Now(), lines: map[string][]string{}}
	st, err := stack.Start(ctx, stack.Options{
		Template: tplPath, Parameters: params, StateDir: opts.StateDir,
		Port: opts.Port, APIPort: opts.APIPort, Clock: r.clock, Output: opts.Logs,
		FunctionEnv: fnEnv,
		Timings: stack.Timings{
			// Instances "start" in seconds of emulated time, so the
			// pipeline's polling finds them ready at its first look.
			TrainingStartup: 5 * time.Second, EndpointProvision: 10 * time.Second,
			// The scenario flushes data capture itself: a periodic flush
			// would move the clock (see stack.Warp.Jumping).
			CaptureFlush: 24 * time.Hour,
			// Rollback alarms are read once a minute while a blue/green
			// deployment bakes (each read is a step of the clock).
			AlarmPoll: time.Minute,
		},
	})
	if err != nil {
		return nil, err
	}
	r.st = st
	tpl := st.Template
	r.rawBucket = tpl.PhysicalName("RawBucket")
	r.artifactsBucket = tpl.PhysicalName("ArtifactsBucket")
	r.endpointName = tpl.Parameters["EndpointName"]
	r.machineARN = tpl.ARN("PipelineStateMachine")
	r.topicARN, _ = tpl.Ref("Topic")
	for _, id := range []string{"IngestFunction", "MonitorFunction", "RemediateFunction"} {
		fn, err := tpl.Function(id)
		if err != nil {
			_ = st.Close(context.Background())
			return nil, fmt.Errorf("template: %w", err)
		}
		switch id {
		case "IngestFunction":
			r.ingestFn = fn.Name
		case "MonitorFunction":
			r.monitorFn = fn.Name
		case "RemediateFunction":
			r.remediateFn = fn.Name
		}
	}
	cfg := st.AWSConfig()
	r.s3 = s3.NewFromConfig(cfg)
	r.sfn = sfn.NewFromConfig(cfg)
	st.OnFunctionLog(func(fn, line string) {
		r.logMu.Lock()
		r.lines[fn] = append(r.lines[fn], line)
		r.logMu.Unlock()
	})
	r.step(true, "local cloud up", "endpoint %s, API %s, state %s (%d× faster waits)", st.EndpointURL(), st.APIURL(), st.StateDir, int(opts.Speed))
	return r, nil
}

// scenarioParameters are the template parameters the scenario runs with:
// datasets wait for drift once a model is live, and one drifted hourly
// datapoint raises the drift alarm (the template's default is 2 of 3).
// When the template has no TrainingTrigger parameter yet, the ingest
// function gets TRAINING_TRIGGER=drift (and what that mode reads) directly.
func scenarioParameters(tplPath string) (map[string]string, map[string]map[string]string, error) {
	params := map[string]string{"DriftEvaluationPeriods": "1", "DriftDatapointsToAlarm": "1"}
	tpl, err := samtemplate.Load(tplPath, samtemplate.Options{Parameters: params})
	if err != nil {
		return nil, nil, fmt.Errorf("load template: %w", err)
	}
	if _, ok := tpl.Parameters["TrainingTrigger"]; ok {
		params["TrainingTrigger"] = "drift"
		return params, nil, nil
	}
	env := map[string]map[string]string{"IngestFunction": {
		"TRAINING_TRIGGER": "drift",
		"ARTIFACTS_BUCKET": tpl.PhysicalName("ArtifactsBucket"),
		"ENDPOINT_NAME":    tpl.Parameters["EndpointName"],
	}}
	return params, env, nil
}

// cleanStateDir empties the state directory but keeps the build cache.
func cleanStateDir(dir string) error {
	if dir == "" {
		return errors.New("a state directory is required")
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state directory: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.Name() == "lambda" {
			sub, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			for _, s := range sub {
				if s.Name() != "build" {
					if err := os.RemoveAll(filepath.Join(p, s.Name())); err != nil {
						return err
					}
				}
			}
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("clean state directory: %w", err)
		}
	}
	return nil
}

func (r *runner) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = r.st.Close(ctx)
}

// step prints one timeline line.
func (r *runner) step(ok bool, what, format string, args ...any) {
	mark := "✓"
	if !ok {
		mark = "✗"
	}
	fmt.Fprintf(r.opts.Timeline, "[%5.1fs] %s %s: %s\n", time.Since(r.began).Seconds(), mark, what, fmt.Sprintf(format, args...))
}

// fail reports a failed stage with the logs that tell more.
func (r *runner) fail(stage string, err error, logs ...string) error {
	r.step(false, stage, "%v", err)
	paths := []string{}
	for _, l := range logs {
		paths = append(paths, r.st.LogPath(l))
	}
	paths = append(paths,
		filepath.Join(r.st.StateDir, "sns", "outbox.jsonl"),
		filepath.Join(r.st.StateDir, "stepfunctions", "executions"),
		filepath.Join(r.st.StateDir, "logs")+string(filepath.Separator)+" (every function, Glue and SageMaker)")
	return &StageError{Stage: stage, Err: err, Logs: paths}
}

// pipelineLogs are the logs that explain a pipeline execution: its
// functions', the Glue scripts' and SageMaker's.
func (r *runner) pipelineLogs() []string {
	var logs []string
	for _, id := range []string{"PrepareFunction", "TrainFunction", "DeployFunction"} {
		logs = append(logs, r.st.Template.PhysicalName(id))
	}
	return append(logs, "localcloud", "sagemaker")
}

func (r *runner) run(ctx context.Context) error {
	if r.opts.FailurePath {
		if err := r.failurePath(ctx); err != nil {
			return err
		}
	}
	first, err := r.uploadAndTrain(ctx)
	if err != nil {
		return err
	}
	r.fig.FirstConfig = first.EndpointConfigName
	if err := r.predict(ctx); err != nil {
		return err
	}
	held, err := r.holdNewerDataset(ctx)
	if err != nil {
		return err
	}
	return r.driftAndRetrain(ctx, first, held)
}

// dataset runs scripts/gen_dataset.py.
func (r *runner) dataset(ctx context.Context, mode string, seed, rows int) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.opts.Python, filepath.Join(r.opts.Dir, "scripts", "gen_dataset.py"),
		"--mode", mode, "--seed", strconv.Itoa(seed), "--rows", strconv.Itoa(rows))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("gen_dataset.py --mode %s: %w: %s", mode, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// upload puts a dataset in the raw bucket and returns its version id: with
// the AWS CLI when Options.AWSCLI names it (a real, independent client, as a
// user would upload), else with the SDK.
func (r *runner) upload(ctx context.Context, key string, body []byte) (string, error) {
	if r.opts.AWSCLI != "" {
		return r.uploadWithCLI(ctx, key, body)
	}
	out, err := r.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(r.rawBucket), Key: aws.String(key), Body: bytes.NewReader(body), ContentType: aws.String("text/csv"),
	})
	if err != nil {
		return "", fmt.Errorf("upload s3://%s/%s: %w", r.rawBucket, key, err)
	}
	return aws.ToString(out.VersionId), nil
}

// uploader names what uploads the datasets, for the timeline.
func (r *runner) uploader() string {
	if r.opts.AWSCLI != "" {
		return "the AWS CLI"
	}
	return "the AWS SDK"
}

// uploadWithCLI runs `aws s3api put-object` against the local endpoint with
// dummy credentials and reads the version id from its JSON answer.
func (r *runner) uploadWithCLI(ctx context.Context, key string, body []byte) (string, error) {
	file := filepath.Join(r.opts.StateDir, "upload-"+filepath.Base(key))
	if err := os.WriteFile(file, body, 0o644); err != nil {
		return "", fmt.Errorf("stage upload of %s: %w", key, err)
	}
	defer os.Remove(file)
	cmd := exec.CommandContext(ctx, r.opts.AWSCLI, "--endpoint-url", r.st.EndpointURL(), "--region", r.st.Template.Region,
		"--output", "json", "s3api", "put-object", "--bucket", r.rawBucket, "--key", key, "--body", file, "--content-type", "text/csv")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=localcloud", "AWS_SECRET_ACCESS_KEY=localcloud",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_ENDPOINT_URL=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("aws s3api put-object s3://%s/%s: %w: %s", r.rawBucket, key, err, strings.TrimSpace(stderr.String()))
	}
	var answer struct{ VersionId string }
	if err := json.Unmarshal(out, &answer); err != nil {
		return "", fmt.Errorf("aws s3api put-object s3://%s/%s: unreadable answer %q: %w", r.rawBucket, key, out, err)
	}
	return answer.VersionId, nil
}

// executions lists the pipeline's executions, newest first.
func (r *runner) executions(ctx context.Context) ([]execution, error) {
	out, err := r.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(r.machineARN)})
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	var list []execution
	for _, e := range out.Executions {
		list = append(list, execution{ARN: aws.ToString(e.ExecutionArn), Name: aws.ToString(e.Name), Status: string(e.Status)})
	}
	return list, nil
}

type execution struct{ ARN, Name, Status string }

// waitExecution waits for a new execution whose name starts with prefix.
func (r *runner) waitExecution(ctx context.Context, prefix string, known map[string]bool, timeout time.Duration) (execution, error) {
	var found execution
	err := poll(ctx, timeout, func() (bool, error) {
		list, err := r.executions(ctx)
		if err != nil {
			return false, err
		}
		for _, e := range list {
			if strings.HasPrefix(e.Name, prefix) && !known[e.Name] {
				found = e
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return execution{}, fmt.Errorf("no %s… execution started within %s: %w", prefix, timeout, err)
	}
	return found, nil
}

func (r *runner) knownExecutions(ctx context.Context) (map[string]bool, error) {
	list, err := r.executions(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, e := range list {
		known[e.Name] = true
	}
	return known, nil
}

// awaitPipeline waits for an execution to end and returns how it ended and
// the wall-clock time its prepare, train and deploy stages took.
func (r *runner) awaitPipeline(ctx context.Context, e execution, timeout time.Duration) (status, errName, cause, stages string, err error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	watch := r.watchStates(actx, e.ARN)
	out, err := r.st.StepFunctions.AwaitExecution(actx, e.ARN)
	if err != nil {
		return "", "", "", "", fmt.Errorf("execution %s did not end within %s: %w", e.Name, timeout, err)
	}
	return out.Status, out.Error, out.Cause, watch(), nil
}

// pipelineStages are the pipeline's stages: each runs from its Start…
// state to the last entry of its …Done choice.
var pipelineStages = []struct{ name, first, last string }{
	{"prepare", "StartPrepare", "PrepareDone"},
	{"train", "StartTraining", "TrainingDone"},
	{"deploy", "StartDeployment", "DeploymentDone"},
}

// watchStates notes the wall-clock time at which each state of an
// execution is first and last entered (the history's timestamps are on the
// local clock, whose waits are shortened), until the returned function is
// called; that function summarises the stage durations.
func (r *runner) watchStates(ctx context.Context, arn string) func() string {
	var mu sync.Mutex
	first, last := map[string]time.Time{}, map[string]time.Time{}
	counts := map[string]int{}
	done := make(chan struct{})
	stopped := make(chan struct{})
	look := func() {
		hist, err := r.st.StepFunctions.History(arn)
		if err != nil {
			return
		}
		now := time.Now()
		seen := map[string]int{}
		for _, ev := range hist {
			if !strings.HasSuffix(ev.Type, "StateEntered") {
				continue
			}
			name, _ := ev.Details["name"].(string)
			seen[name]++
		}
		mu.Lock()
		defer mu.Unlock()
		for name, n := range seen {
			if _, ok := first[name]; !ok {
				first[name] = now
			}
			if n > counts[name] {
				counts[name], last[name] = n, now
			}
		}
	}
	go func() {
		defer close(stopped)
		for {
			look()
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() string {
		close(done)
		<-stopped
		look()
		mu.Lock()
		defer mu.Unlock()
		var parts []string
		for _, s := range pipelineStages {
			from, ok1 := first[s.first]
			to, ok2 := last[s.last]
			if ok1 && ok2 {
				parts = append(parts, fmt.Sprintf("%s %.1fs", s.name, to.Sub(from).Seconds()))
			}
		}
		return strings.Join(parts, ", ")
	}
}

// failurePath uploads a dataset that breaks the schema and checks that the
// pipeline fails with a notification naming the reason, deploying nothing.
func (r *runner) failurePath(ctx context.Context) error {
	const stage = "bad dataset fails cleanly"
	body, err := r.dataset(ctx, "bad", 3, 400)
	if err != nil {
		return r.fail(stage, err)
	}
	known, err := r.knownExecutions(ctx)
	if err != nil {
		return r.fail(stage, err)
	}
	if _, err := r.upload(ctx, "raw/churn-bad.csv", body); err != nil {
		return r.fail(stage, err)
	}
	e, err := r.waitExecution(ctx, "ingest-", known, 30*time.Second)
	if err != nil {
		return r.fail(stage, err, r.ingestFn)
	}
	status, errName, cause, _, err := r.awaitPipeline(ctx, e, 2*time.Minute)
	if err != nil {
		return r.fail(stage, err, r.pipelineLogs()...)
	}
	if status != "FAILED" {
		return r.fail(stage, fmt.Errorf("execution %s ended %s, want FAILED", e.Name, status), r.pipelineLogs()...)
	}
	msgs, err := r.st.SNS.Outbox(r.topicARN)
	if err != nil {
		return r.fail(stage, err)
	}
	var note string
	for _, m := range msgs {
		if strings.Contains(m.Message, e.Name) && strings.Contains(strings.ToLower(m.Subject), "failed") {
			note = m.Message
		}
	}
	if note == "" {
		return r.fail(stage, fmt.Errorf("no failure notification for %s on %s (%d messages)", e.Name, r.topicARN, len(msgs)))
	}
	reason := failureReason(note)
	if !strings.Contains(reason, "schema validation") {
		return r.fail(stage, fmt.Errorf("the failure notification does not give the schema validation reason: %s", note))
	}
	if _, err := r.st.SageMaker.DescribeEndpoint(ctx, &sagemakeremu.EndpointNameInput{EndpointName: r.endpointName}); err == nil {
		return r.fail(stage, fmt.Errorf("endpoint %s exists after a failed pipeline", r.endpointName))
	}
	if live, err := r.liveModel(ctx); err == nil && live != nil {
		return r.fail(stage, fmt.Errorf("a live model is registered after a failed pipeline: %s", live.ExecutionName))
	}
	r.step(true, "pipeline "+e.Name, "%s (%s) as expected; SNS failure notification: %q; nothing deployed", status, errName, reason)
	r.fig.FailureReason = reason
	_ = cause
	return nil
}

// failureReason digs the reason out of the pipeline's failure notification
// ("Execution … failed: {"Cause": "{\"reason\": …}", "Error": …}").
func failureReason(note string) string {
	_, doc, ok := strings.Cut(note, "failed: ")
	if !ok {
		return firstLine(note, 200)
	}
	var outer struct{ Cause, Error string }
	if json.Unmarshal([]byte(doc), &outer) != nil {
		return firstLine(note, 200)
	}
	var inner struct{ Reason string }
	if json.Unmarshal([]byte(outer.Cause), &inner) != nil || inner.Reason == "" {
		return outer.Error + ": " + firstLine(outer.Cause, 200)
	}
	return inner.Reason
}

// uploadAndTrain is stages 1 and 2: a dataset lands in the raw bucket and
// becomes the live model.
func (r *runner) uploadAndTrain(ctx context.Context) (*pipeline.LiveModel, error) {
	t0 := time.Now()
	body, err := r.dataset(ctx, "train", 42, 800)
	if err != nil {
		return nil, r.fail("generate dataset", err)
	}
	known, err := r.knownExecutions(ctx)
	if err != nil {
		return nil, r.fail("upload dataset", err)
	}
	version, err := r.upload(ctx, "raw/churn-2026-11.csv", body)
	if err != nil {
		return nil, r.fail("upload dataset", err)
	}
	r.step(true, "dataset", "generated 800 rows (seed 42) and uploaded to s3://%s/raw/churn-2026-11.csv (version %s) with %s in %.1fs", r.rawBucket, version, r.uploader(), time.Since(t0).Seconds())
	e, err := r.waitExecution(ctx, "ingest-", known, 30*time.Second)
	if err != nil {
		return nil, r.fail("EventBridge → ingest → pipeline", err, r.ingestFn)
	}
	r.step(true, "EventBridge → ingest", "Object Created → execution %s started", e.Name)
	status, errName, cause, stages, err := r.awaitPipeline(ctx, e, 3*time.Minute)
	if err != nil {
		return nil, r.fail("pipeline", err, r.pipelineLogs()...)
	}
	if status != "SUCCEEDED" {
		return nil, r.fail("pipeline "+e.Name, fmt.Errorf("%s: %s: %s", status, errName, cause), r.pipelineLogs()...)
	}
	r.step(true, "pipeline "+e.Name, "%s (%s)", status, stages)
	live, err := r.inService(ctx, e.Name)
	if err != nil {
		return nil, r.fail("endpoint InService", err, r.pipelineLogs()...)
	}
	metric := ""
	if live.Metric != nil {
		metric = fmt.Sprintf(", %s %.4f", live.Metric.Name, live.Metric.Value)
	}
	r.step(true, "endpoint "+r.endpointName, "InService on %s (model %s%s)", live.EndpointConfigName, live.ModelName, metric)
	return live, nil
}

// inService checks the endpoint serves the configuration the registry
// records for execution.
func (r *runner) inService(ctx context.Context, executionName string) (*pipeline.LiveModel, error) {
	live, err := r.liveModel(ctx)
	if err != nil {
		return nil, err
	}
	if live == nil || live.ExecutionName != executionName {
		got := "none"
		if live != nil {
			got = live.ExecutionName
		}
		return nil, fmt.Errorf("registry s3://%s/%s records %s, want %s", r.artifactsBucket, pipeline.RegistryKey(r.endpointName), got, executionName)
	}
	ep, err := r.st.SageMaker.DescribeEndpoint(ctx, &sagemakeremu.EndpointNameInput{EndpointName: r.endpointName})
	if err != nil {
		return nil, fmt.Errorf("describe endpoint %s: %w", r.endpointName, err)
	}
	if ep.EndpointStatus != "InService" || ep.EndpointConfigName != live.EndpointConfigName {
		return nil, fmt.Errorf("endpoint %s is %s on %s, want InService on %s", r.endpointName, ep.EndpointStatus, ep.EndpointConfigName, live.EndpointConfigName)
	}
	return live, nil
}

// liveModel reads the registry record (nil when there is none).
func (r *runner) liveModel(ctx context.Context) (*pipeline.LiveModel, error) {
	out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.artifactsBucket), Key: aws.String(pipeline.RegistryKey(r.endpointName))})
	if err != nil {
		var nsk interface{ ErrorCode() string }
		if errors.As(err, &nsk) && (nsk.ErrorCode() == "NoSuchKey" || nsk.ErrorCode() == "NotFound") {
			return nil, nil
		}
		return nil, fmt.Errorf("read the registry: %w", err)
	}
	defer out.Body.Close()
	var live pipeline.LiveModel
	if err := json.NewDecoder(out.Body).Decode(&live); err != nil {
		return nil, fmt.Errorf("decode the registry record: %w", err)
	}
	return &live, nil
}

// predict is stage 3: a held-out labelled sample through the API.
func (r *runner) predict(ctx context.Context) error {
	const stage = "predictions through the API"
	t0 := time.Now()
	body, err := r.dataset(ctx, "train", 7, 300)
	if err != nil {
		return r.fail(stage, err)
	}
	rows, labels, optimal, err := heldOut(body)
	if err != nil {
		return r.fail(stage, err)
	}
	// Unsigned requests are refused, as API Gateway refuses them on an
	// AWS_IAM route.
	status, _, err := r.callAPI(ctx, rows[:1], false)
	if err != nil {
		return r.fail(stage, err)
	}
	if status != http.StatusForbidden {
		return r.fail(stage, fmt.Errorf("an unsigned request got HTTP %d, want 403", status))
	}
	var preds []float64
	const batch = 25
	for i := 0; i < len(rows); i += batch {
		end := min(i+batch, len(rows))
		status, resp, err := r.callAPI(ctx, rows[i:end], true)
		if err != nil {
			return r.fail(stage, err)
		}
		if status != http.StatusOK {
			return r.fail(stage, fmt.Errorf("POST /v1/predictions: HTTP %d: %s", status, firstLine(string(resp), 200)), r.st.Template.PhysicalName("InferFunction"))
		}
		p, err := parsePredictions(resp)
		if err != nil {
			return r.fail(stage, err)
		}
		if len(p) != end-i {
			return r.fail(stage, fmt.Errorf("%d predictions for %d rows", len(p), end-i))
		}
		preds = append(preds, p...)
	}
	correct := 0
	for i, p := range preds {
		if (p > 0.5) == (labels[i] == 1) {
			correct++
		}
	}
	r.fig.Predictions = len(preds)
	r.fig.Accuracy = float64(correct) / float64(len(preds))
	r.fig.Optimal = optimal
	if r.fig.Accuracy < optimal-0.1 {
		return r.fail(stage, fmt.Errorf("accuracy %.3f is far below the known relationship's %.3f on the same rows", r.fig.Accuracy, optimal))
	}
	r.step(true, stage, "%d SigV4-signed requests, %d held-out rows: accuracy %.3f (the true relationship scores %.3f on these rows) in %.1fs; unsigned request → 403",
		(len(rows)+batch-1)/batch, len(preds), r.fig.Accuracy, optimal, time.Since(t0).Seconds())
	return nil
}

// callAPI posts CSV rows to /v1/predictions, SigV4-signed for execute-api
// when sign is set.
func (r *runner) callAPI(ctx context.Context, rows []string, sign bool) (int, []byte, error) {
	body := strings.Join(rows, "\n") + "\n"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.st.APIURL()+"/v1/predictions", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/csv")
	if sign {
		sum := sha256.Sum256([]byte(body))
		creds, err := r.st.AWSConfig().Credentials.Retrieve(ctx)
		if err != nil {
			return 0, nil, err
		}
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", r.st.Template.Region, time.Now()); err != nil {
			return 0, nil, fmt.Errorf("sign request: %w", err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("POST /v1/predictions: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// plans are the schema's categories in code order.
var plans = []string{"basic", "standard", "premium"}

var planEffect = map[string]float64{"basic": 0.6, "standard": 0.0, "premium": -0.9}

// churnProbability is the known relationship scripts/gen_dataset.py draws
// labels from.
func churnProbability(tenure, charges, calls float64, plan string) float64 {
	z := -0.5 - 0.08*tenure + 0.05*(charges-65) + 0.9*calls + planEffect[plan]
	return 1 / (1 + math.Exp(-z))
}

// heldOut turns a labelled CSV into inference rows (features in schema
// order, plan as its code), their labels, and the accuracy of the true
// relationship on them. Rows with a missing value are left out.
func heldOut(data []byte) (rows []string, labels []int, optimal float64, err error) {
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read held-out sample: %w", err)
	}
	if len(recs) < 2 {
		return nil, nil, 0, errors.New("held-out sample is empty")
	}
	right := 0
	for _, rec := range recs[1:] {
		if len(rec) != 5 || slicesContainEmpty(rec) {
			continue
		}
		code := -1
		for i, p := range plans {
			if p == rec[3] {
				code = i
			}
		}
		tenure, e1 := strconv.ParseFloat(rec[0], 64)
		charges, e2 := strconv.ParseFloat(rec[1], 64)
		calls, e3 := strconv.ParseFloat(rec[2], 64)
		label, e4 := strconv.Atoi(rec[4])
		if code < 0 || errors.Join(e1, e2, e3, e4) != nil {
			return nil, nil, 0, fmt.Errorf("held-out row %q does not follow the schema", rec)
		}
		rows = append(rows, fmt.Sprintf("%s,%s,%s,%d", rec[0], rec[1], rec[2], code))
		labels = append(labels, label)
		if (churnProbability(tenure, charges, calls, rec[3]) > 0.5) == (label == 1) {
			right++
		}
	}
	if len(rows) == 0 {
		return nil, nil, 0, errors.New("no complete row in the held-out sample")
	}
	return rows, labels, float64(right) / float64(len(rows)), nil
}

func slicesContainEmpty(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) == "" {
			return true
		}
	}
	return false
}

// parsePredictions reads the built-in XGBoost's CSV answer.
func parsePredictions(b []byte) ([]float64, error) {
	fields := strings.FieldsFunc(strings.TrimSpace(string(b)), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	out := make([]float64, 0, len(fields))
	for _, f := range fields {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("prediction %q is not a number (answer %q)", f, firstLine(string(b), 200))
		}
		out = append(out, v)
	}
	return out, nil
}

// holdNewerDataset is stage 4: with a live model, a newer labelled dataset
// is held in the raw bucket, not trained.
func (r *runner) holdNewerDataset(ctx context.Context) (string, error) {
	const stage = "newer dataset held"
	body, err := r.dataset(ctx, "train", 43, 4000)
	if err != nil {
		return "", r.fail(stage, err)
	}
	known, err := r.knownExecutions(ctx)
	if err != nil {
		return "", r.fail(stage, err)
	}
	seen := r.lineCount(r.ingestFn)
	const key = "raw/churn-2026-12.csv"
	if _, err := r.upload(ctx, key, body); err != nil {
		return "", r.fail(stage, err)
	}
	err = poll(ctx, 30*time.Second, func() (bool, error) {
		return r.sawLine(r.ingestFn, seen, `"DatasetsHeld"`), nil
	})
	if err != nil {
		return "", r.fail(stage, fmt.Errorf("ingest did not report the dataset as held (TRAINING_TRIGGER=drift): %w", err), r.ingestFn)
	}
	list, err := r.executions(ctx)
	if err != nil {
		return "", r.fail(stage, err)
	}
	for _, e := range list {
		if !known[e.Name] {
			return "", r.fail(stage, fmt.Errorf("execution %s started for a dataset that should wait for drift", e.Name))
		}
	}
	r.step(true, stage, "s3://%s/%s: ingest held it (a model is live; training waits for drift), no execution started", r.rawBucket, key)
	return key, nil
}

func (r *runner) lineCount(fn string) int {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return len(r.lines[fn])
}

func (r *runner) sawLine(fn string, from int, substr string) bool {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	for _, l := range r.lines[fn][min(from, len(r.lines[fn])):] {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

// driftAndRetrain is stage 5: drifted traffic → capture → monitor → drift
// alarm → remediate → retraining on the held dataset → new configuration.
func (r *runner) driftAndRetrain(ctx context.Context, first *pipeline.LiveModel, heldKey string) error {
	stage := "drifted traffic"
	// Capture files go to the local clock's hour partition; the monitor
	// reads partitions up to the machine clock's hour. SageMaker's waits
	// may have moved the local clock a few seconds ahead: let the machine
	// clock reach the same hour first.
	if err := poll(ctx, 2*time.Minute, func() (bool, error) {
		return !r.clock.Now().Truncate(time.Hour).After(time.Now().Truncate(time.Hour)), nil
	}); err != nil {
		return r.fail(stage, fmt.Errorf("the local clock is %s ahead of the machine's, in a later hour: %w", r.clock.Offset(), err))
	}
	drifted, err := r.dataset(ctx, "drifted", 11, 400)
	if err != nil {
		return r.fail(stage, err)
	}
	rows := strings.Split(strings.TrimSpace(string(drifted)), "\n")
	for i := 0; i < len(rows); i += 20 {
		status, resp, err := r.callAPI(ctx, rows[i:min(i+20, len(rows))], true)
		if err != nil {
			return r.fail(stage, err)
		}
		if status != http.StatusOK {
			return r.fail(stage, fmt.Errorf("POST /v1/predictions: HTTP %d: %s", status, firstLine(string(resp), 200)))
		}
	}
	if err := r.st.SageMaker.Flush(ctx); err != nil {
		return r.fail(stage, fmt.Errorf("flush data capture: %w", err))
	}
	captured, err := r.countObjects(ctx, r.artifactsBucket, "capture/"+r.endpointName+"/")
	if err != nil {
		return r.fail(stage, err)
	}
	if captured == 0 {
		return r.fail(stage, fmt.Errorf("no data capture under s3://%s/capture/%s/", r.artifactsBucket, r.endpointName))
	}
	r.step(true, stage, "%d drifted rows through the API; data capture: %d files under s3://%s/capture/%s/", len(rows), captured, r.artifactsBucket, r.endpointName)

	stage = "monitor"
	seen := r.lineCount(r.monitorFn)
	if _, err := r.st.Lambda.Invoke(ctx, r.monitorFn, []byte(`{}`)); err != nil {
		return r.fail(stage, fmt.Errorf("invoke %s: %w", r.monitorFn, err), r.monitorFn)
	}
	// The function's output may trail its response a little; CloudWatch
	// has ingested a line by the time the scenario's hook records it.
	var score float64
	if err := poll(ctx, 10*time.Second, func() (bool, error) {
		var ok bool
		score, ok = r.driftScore(seen)
		return ok, nil
	}); err != nil {
		return r.fail(stage, fmt.Errorf("the monitor emitted no DriftScore for the drifted traffic: %w", err), r.monitorFn)
	}
	r.step(true, stage, "on-demand run: DriftScore %.3f (EMF → CloudWatch)", score)

	stage = "drift alarm"
	alarmName := r.st.Template.StackName + "-drift"
	if a := r.alarm(alarmName); a == "" {
		return r.fail(stage, fmt.Errorf("alarm %s is not defined", alarmName))
	}
	known, err := r.knownExecutions(ctx)
	if err != nil {
		return r.fail(stage, err)
	}
	// The alarm evaluates whole hourly periods: move the clock past the
	// end of the current one.
	now := r.clock.Now()
	r.clock.Advance(now.Truncate(time.Hour).Add(time.Hour + time.Minute).Sub(now))
	if err := r.st.CloudWatch.EvaluateNow(ctx); err != nil {
		return r.fail(stage, err)
	}
	if state := r.alarm(alarmName); state != "ALARM" {
		return r.fail(stage, fmt.Errorf("alarm %s is %s after a drifted hour, want ALARM", alarmName, state))
	}
	r.step(true, stage, "%s → ALARM (clock advanced to the end of the hourly period); state change event → remediate", alarmName)

	stage = "remediate → retraining"
	e, err := r.waitExecution(ctx, "retrain-", known, 60*time.Second)
	if err != nil {
		return r.fail(stage, err, r.remediateFn)
	}
	r.step(true, "remediate", "retraining execution %s started on the held dataset", e.Name)
	status, errName, cause, stages, err := r.awaitPipeline(ctx, e, 3*time.Minute)
	if err != nil {
		return r.fail(stage, err, r.pipelineLogs()...)
	}
	if status != "SUCCEEDED" {
		return r.fail("pipeline "+e.Name, fmt.Errorf("%s: %s: %s", status, errName, cause), r.pipelineLogs()...)
	}
	r.step(true, "pipeline "+e.Name, "%s (%s)", status, stages)
	live, err := r.inService(ctx, e.Name)
	if err != nil {
		return r.fail("new endpoint configuration", err, r.pipelineLogs()...)
	}
	if live.EndpointConfigName == first.EndpointConfigName {
		return r.fail("new endpoint configuration", fmt.Errorf("endpoint still serves %s", first.EndpointConfigName))
	}
	if live.Dataset.Key != heldKey {
		return r.fail("new endpoint configuration", fmt.Errorf("the retrained model learnt from %s, want the held %s", live.Dataset.Key, heldKey))
	}
	r.fig.RetrainConfig = live.EndpointConfigName
	r.step(true, "endpoint "+r.endpointName, "InService on %s (was %s), trained on s3://%s/%s", live.EndpointConfigName, first.EndpointConfigName, r.rawBucket, heldKey)
	return nil
}

// driftScore finds the DriftScore the monitor emitted after line from.
func (r *runner) driftScore(from int) (float64, bool) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	lines := r.lines[r.monitorFn]
	for _, l := range lines[min(from, len(lines)):] {
		if !strings.Contains(l, `"DriftScore"`) || !strings.Contains(l, `"_aws"`) {
			continue
		}
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil {
			continue
		}
		if v, ok := rec["DriftScore"].(float64); ok {
			return v, true
		}
	}
	return 0, false
}

// alarm returns an alarm's state ("" if it does not exist).
func (r *runner) alarm(name string) string {
	views := r.st.CloudWatch.DescribeAlarms([]string{name}, "", "")
	if len(views) == 0 {
		return ""
	}
	return views[0].StateValue
}

func (r *runner) countObjects(ctx context.Context, bucket, prefix string) (int, error) {
	n := 0
	p := s3.NewListObjectsV2Paginator(r.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		n += len(out.Contents)
	}
	return n, nil
}

// poll calls cond every 100 ms until it is true, fails, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func firstLine(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
