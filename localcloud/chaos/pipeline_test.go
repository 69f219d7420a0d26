package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/faultinject"
	"github.com/gomlops/mlops/localcloud/stack"
	"github.com/gomlops/mlops/shared/naming"
	"github.com/gomlops/mlops/shared/pipeline"
)

// stackRun is the whole local cloud (localcloud/stack: Glue, SageMaker
// with XGBoost, CloudWatch) started with the scenario's fault injector
// (stack.Options.Faults): every AWS call through its endpoint, every
// Lambda attempt, S3 notification and EventBridge delivery can be faulted.
type stackRun struct {
	st                                *stack.Stack
	inj                               *faultinject.Injector
	s3                                *s3.Client
	sfn                               *sfn.Client
	sm                                *sagemaker.Client
	raw, artifacts, endpoint, machine string
	topic                             string
	stateDirPath                      string
}

// startStack starts the stack for a pipeline scenario, or skips when the
// machine cannot train (no python3-xgboost).
func startStack(t *testing.T, inj *faultinject.Injector) *stackRun {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import xgboost").Run(); err != nil {
		t.Skip("python3-xgboost is not installed: the local SageMaker cannot train (make check-tools installs it)")
	}
	stateDir := stateDir(t)
	require.NoError(t, linkBuildCache(stateDir, ""))
	logs := &lockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		Template: filepath.Join(repoRoot(), "template.yaml"), StateDir: stateDir,
		Clock: stack.NewWarp(10), Output: logs, Faults: inj,
		Timings: stack.Timings{TrainingStartup: 5 * time.Second, EndpointProvision: 10 * time.Second, CaptureFlush: 24 * time.Hour, AlarmPoll: time.Minute},
	})
	require.NoError(t, err, "start the stack; logs under %s/logs", stateDir)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = st.Close(ctx)
	})

	tpl := st.Template
	topic, _ := tpl.Ref("Topic")
	cfg := st.AWSConfig()
	return &stackRun{
		st: st, inj: inj, s3: s3.NewFromConfig(cfg), sfn: sfn.NewFromConfig(cfg), sm: sagemaker.NewFromConfig(cfg),
		raw: tpl.PhysicalName("RawBucket"), artifacts: tpl.PhysicalName("ArtifactsBucket"),
		endpoint: tpl.Parameters["EndpointName"], machine: tpl.ARN("PipelineStateMachine"), topic: topic,
		stateDirPath: stateDir,
	}
}

// dataset runs scripts/gen_dataset.py.
func dataset(t *testing.T, mode string, seed, rows int) []byte {
	t.Helper()
	cmd := exec.Command("python3", filepath.Join(repoRoot(), "scripts", "gen_dataset.py"), "--mode", mode, "--seed", fmt.Sprint(seed), "--rows", fmt.Sprint(rows))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	return out
}

// runPipeline uploads a dataset and waits for the execution it starts to
// end; it returns the execution ARN and how it ended.
func (r *stackRun) runPipeline(t *testing.T, key string, body []byte) (arn, status, errName, cause string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	before := map[string]bool{}
	list, err := r.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(r.machine)})
	require.NoError(t, err)
	for _, e := range list.Executions {
		before[aws.ToString(e.ExecutionArn)] = true
	}
	_, err = r.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.raw), Key: aws.String(key), Body: bytes.NewReader(body), ContentType: aws.String("text/csv")})
	require.NoError(t, err)
	require.True(t, waitFor(2*time.Minute, func() bool {
		list, err := r.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(r.machine)})
		if err != nil {
			return false
		}
		for _, e := range list.Executions {
			if !before[aws.ToString(e.ExecutionArn)] {
				arn = aws.ToString(e.ExecutionArn)
				return true
			}
		}
		return false
	}), "no execution started for s3://%s/%s", r.raw, key)
	out, err := r.st.StepFunctions.AwaitExecution(ctx, arn)
	require.NoError(t, err, "execution %s did not end", arn)
	return arn, out.Status, out.Error, out.Cause
}

// injectedBy counts the injected faults by service/operation.
func injectedBy(inj *faultinject.Injector) map[string]int {
	out := map[string]int{}
	for _, r := range inj.Injected() {
		out[r.Service+":"+r.Operation]++
	}
	return out
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// runPipelineThrottling throttles the functions' Glue, SageMaker and Step
// Functions calls and expects the pipeline to succeed anyway.
func runPipelineThrottling(t *testing.T, _ Guards) Outcome {
	throttle := func(service, op string, n int) faultinject.Rule {
		return faultinject.Rule{ID: service + "-" + op, Service: service, Operation: op, Action: faultinject.ActionThrottle, Count: n}
	}
	inj := newInjector(t,
		throttle("states", "StartExecution", 2),
		throttle("glue", "StartJobRun", 2),
		throttle("glue", "GetJobRun", 2),
		throttle("sagemaker", "CreateTrainingJob", 2),
		throttle("sagemaker", "DescribeTrainingJob", 2),
		throttle("sagemaker", "CreateModel", 1),
		throttle("sagemaker", "CreateEndpointConfig", 1),
		throttle("sagemaker", "CreateEndpoint", 1),
		throttle("sagemaker", "DescribeEndpoint", 2),
	)
	r := startStack(t, inj)
	arn, status, errName, cause := r.runPipeline(t, "raw/churn-throttled.csv", dataset(t, "train", 42, 800))
	got := injectedBy(inj)
	var missing []string
	for _, rule := range inj.Rules() {
		if rule.Applied == 0 {
			missing = append(missing, rule.ID)
		}
	}
	ctx := context.Background()
	ep, err := r.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(r.endpoint)})
	epState := "absent"
	if err == nil {
		epState = string(ep.EndpointStatus) + " on " + aws.ToString(ep.EndpointConfigName)
	}
	return Outcome{
		Held:     status == "SUCCEEDED" && len(missing) == 0 && err == nil && ep.EndpointStatus == "InService",
		Detail:   fmt.Sprintf("execution %s%s; endpoint %s; throttles injected: %s; rules that never fired: %v", status, failureOf(errName, cause), epState, sortedCounts(got), missing),
		Evidence: fmt.Sprintf("execution history of %s; function logs under %s/logs", arn, r.stateDirPath),
	}
}

// runPipelinePermanentFailure makes SageMaker refuse the training job for
// good and expects a failed execution, a failure notification naming the
// cause, and no endpoint configuration.
func runPipelinePermanentFailure(t *testing.T, _ Guards) Outcome {
	inj := newInjector(t, faultinject.Rule{ID: "training-refused", Service: "sagemaker", Operation: "CreateTrainingJob", Action: faultinject.ActionFail,
		Error: "ValidationException", Status: 400, Message: "chaos: the training image cannot be pulled"})
	r := startStack(t, inj)
	arn, status, errName, cause := r.runPipeline(t, "raw/churn-refused.csv", dataset(t, "train", 7, 400))
	ctx := context.Background()

	outbox, err := r.st.SNS.Outbox(r.topic)
	require.NoError(t, err)
	notified := false
	for _, m := range outbox {
		if strings.Contains(m.Subject+" "+m.Message, "the training image cannot be pulled") {
			notified = true
		}
	}
	// The deploy step would have named its configuration after the
	// execution (naming.Resource); it must not exist.
	configName := naming.Resource("config", arn[strings.LastIndex(arn, ":")+1:])
	_, cfgErr := r.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String(configName)})
	_, epErr := r.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(r.endpoint)})
	_, liveErr := r.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.artifacts), Key: aws.String(pipeline.RegistryKey(r.endpoint))})
	return Outcome{
		Held: status == "FAILED" && notified && cfgErr != nil && epErr != nil && liveErr != nil,
		Detail: fmt.Sprintf("execution %s (%s: %s); failure notification with the cause: %v; endpoint config %s exists: %v; endpoint exists: %v; live record exists: %v",
			status, errName, truncate(cause, 160), notified, configName, cfgErr == nil, epErr == nil, liveErr == nil),
		Evidence: fmt.Sprintf("execution history of %s; SNS outbox %s (%d messages)", arn, r.st.SNS.OutboxPath(), len(outbox)),
	}
}

// failureOf is " (Error: Cause)" of a failed execution, "" otherwise.
func failureOf(errName, cause string) string {
	if errName == "" && cause == "" {
		return ""
	}
	return fmt.Sprintf(" (%s: %s)", errName, truncate(cause, 200))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// runEndpointUpdateFails deploys a first model, then makes SageMaker
// refuse the endpoint update of a second pipeline: the deployment must be
// reported as failed and the first model must keep serving.
func runEndpointUpdateFails(t *testing.T, _ Guards) Outcome {
	inj := newInjector(t)
	r := startStack(t, inj)
	body := dataset(t, "train", 42, 800)
	firstARN, status, errName, cause := r.runPipeline(t, "raw/churn-v1.csv", body)
	require.Equal(t, "SUCCEEDED", status, "the first pipeline must deploy (%s: %s)", errName, cause)
	ctx := context.Background()
	before, err := r.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(r.endpoint)})
	require.NoError(t, err)
	liveBefore := r.liveExecution(t)

	_, err = inj.Add(faultinject.Rule{ID: "update-refused", Service: "sagemaker", Operation: "UpdateEndpoint", Action: faultinject.ActionFail,
		Error: "ValidationException", Status: 400, Message: "chaos: the endpoint update is refused"})
	require.NoError(t, err)
	// The same data under a new key: a model exactly as good, which the
	// quality gate lets through to the update.
	secondARN, status, errName, cause := r.runPipeline(t, "raw/churn-v2.csv", body)

	after, err := r.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(r.endpoint)})
	require.NoError(t, err)
	outbox, err := r.st.SNS.Outbox(r.topic)
	require.NoError(t, err)
	notified := false
	for _, m := range outbox {
		if strings.Contains(m.Message, secondARN[strings.LastIndex(secondARN, ":")+1:]) && strings.Contains(m.Message, "the endpoint update is refused") {
			notified = true
		}
	}
	serves, serveDetail := r.predict(t)
	liveAfter := r.liveExecution(t)
	sameConfig := aws.ToString(after.EndpointConfigName) == aws.ToString(before.EndpointConfigName)
	return Outcome{
		Held: status == "FAILED" && notified && sameConfig && after.EndpointStatus == "InService" && serves && liveAfter == liveBefore,
		Detail: fmt.Sprintf("second execution %s (%s: %s); failure notified with the cause: %v; endpoint %s on %s (before: %s); live record: %s (before: %s); prediction: %s",
			status, errName, truncate(cause, 120), notified, after.EndpointStatus, aws.ToString(after.EndpointConfigName), aws.ToString(before.EndpointConfigName), liveAfter, liveBefore, serveDetail),
		Evidence: fmt.Sprintf("execution histories of %s and %s; SNS outbox %s; injected: %s", firstARN, secondARN, r.st.SNS.OutboxPath(), sortedCounts(injectedBy(inj))),
	}
}

// liveExecution is the execution the live-model record names.
func (r *stackRun) liveExecution(t *testing.T) string {
	t.Helper()
	out, err := r.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(r.artifacts), Key: aws.String(pipeline.RegistryKey(r.endpoint))})
	if err != nil {
		return "none (" + err.Error() + ")"
	}
	defer out.Body.Close()
	var live pipeline.LiveModel
	if err := json.NewDecoder(out.Body).Decode(&live); err != nil {
		return "unreadable: " + err.Error()
	}
	return live.ExecutionName + " on " + live.EndpointConfigName
}

// predict sends one feature row to the endpoint.
func (r *stackRun) predict(t *testing.T) (bool, string) {
	t.Helper()
	client := sagemakerruntime.NewFromConfig(r.st.AWSConfig())
	out, err := client.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{
		EndpointName: aws.String(r.endpoint), ContentType: aws.String("text/csv"), Body: []byte("12,70.5,1,0\n"),
	})
	if err != nil {
		return false, err.Error()
	}
	return len(bytes.TrimSpace(out.Body)) > 0, "200 " + strings.TrimSpace(string(out.Body))
}

// runEndpointRollback deploys a first model, then holds the deployment's
// rollback alarm in ALARM while the next model's blue/green update runs,
// so that SageMaker rolls it back: the deployment must be reported as
// failed and the first model must keep serving.
func runEndpointRollback(t *testing.T, _ Guards) Outcome {
	inj := newInjector(t)
	r := startStack(t, inj)
	body := dataset(t, "train", 42, 800)
	firstARN, status, errName, cause := r.runPipeline(t, "raw/churn-v1.csv", body)
	require.Equal(t, "SUCCEEDED", status, "the first pipeline must deploy (%s: %s)", errName, cause)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before, err := r.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(r.endpoint)})
	require.NoError(t, err)
	liveBefore := r.liveExecution(t)
	deploy, err := r.st.Template.Function("DeployFunction")
	require.NoError(t, err)
	alarm := strings.Split(deploy.Env["ROLLBACK_ALARM_NAMES"], ",")[0]
	require.NotEmpty(t, alarm, "deploy has rollback alarms in the template")

	// While the endpoint updates, the alarm is (re)set to ALARM, as a
	// release that errors would make it.
	cw := cloudwatch.NewFromConfig(r.st.AWSConfig())
	var sets atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			ep, err := r.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(r.endpoint)})
			if err == nil && ep.EndpointStatus == "Updating" {
				if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(alarm), StateValue: cwtypes.StateValueAlarm,
					StateReason: aws.String("chaos: the new model answers errors")}); err == nil {
					sets.Add(1)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	secondARN, status, errName, cause := r.runPipeline(t, "raw/churn-v2.csv", body)
	cancel()
	<-done

	bg := context.Background()
	after, err := r.sm.DescribeEndpoint(bg, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(r.endpoint)})
	require.NoError(t, err)
	outbox, err := r.st.SNS.Outbox(r.topic)
	require.NoError(t, err)
	notified := false
	for _, m := range outbox {
		if strings.Contains(m.Message, secondARN[strings.LastIndex(secondARN, ":")+1:]) && strings.Contains(strings.ToLower(m.Message), "roll") {
			notified = true
		}
	}
	serves, serveDetail := r.predict(t)
	liveAfter := r.liveExecution(t)
	sameConfig := aws.ToString(after.EndpointConfigName) == aws.ToString(before.EndpointConfigName)
	return Outcome{
		Held: sets.Load() > 0 && status == "FAILED" && notified && sameConfig && after.EndpointStatus == "InService" && serves && liveAfter == liveBefore,
		Detail: fmt.Sprintf("alarm %s set to ALARM %d times during the update; second execution %s%s; failure notified: %v; endpoint %s on %s (before: %s; failure reason: %s); live record: %s (before: %s); prediction: %s",
			alarm, sets.Load(), status, failureOf(errName, cause), notified, after.EndpointStatus, aws.ToString(after.EndpointConfigName), aws.ToString(before.EndpointConfigName),
			truncate(aws.ToString(after.FailureReason), 160), liveAfter, liveBefore, serveDetail),
		Evidence: fmt.Sprintf("execution histories of %s and %s; SNS outbox %s; SageMaker log under %s/logs", firstARN, secondARN, r.st.SNS.OutboxPath(), r.stateDirPath),
	}
}
