package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/cloudwatchemu"
)

// startTestStack runs testdata/template.yaml, which uses every service.
func startTestStack(t *testing.T) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Start(ctx, Options{
		Template: filepath.Join("testdata", "template.yaml"), StateDir: t.TempDir(),
		Parameters: map[string]string{"Threshold": "3"}, Output: io.Discard,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, st.Close(ctx))
	})
	return st
}

// eventually polls cond for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// TestStackWiresTheTemplate checks each service through the real SDK
// clients against the one endpoint, and the wiring between them.
func TestStackWiresTheTemplate(t *testing.T) {
	st := startTestStack(t)
	ctx := context.Background()
	cfg := st.AWSConfig()

	t.Run("sts answers with the local account", func(t *testing.T) {
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		require.NoError(t, err)
		assert.Equal(t, "123456789012", aws.ToString(out.Account))
	})

	t.Run("buckets exist and the Glue script was uploaded", func(t *testing.T) {
		client := s3.NewFromConfig(cfg)
		out, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
		require.NoError(t, err)
		var names []string
		for _, b := range out.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
		assert.ElementsMatch(t, []string{"uploads", "artifacts"}, names)
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("scripts/job.py")})
		require.NoError(t, err)
		body, err := io.ReadAll(obj.Body)
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join("testdata", "scripts", "job.py"))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(body))
	})

	t.Run("queues carry the template's attributes", func(t *testing.T) {
		client := sqs.NewFromConfig(cfg)
		url, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("dlq")})
		require.NoError(t, err)
		attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypesName{"VisibilityTimeout"}})
		require.NoError(t, err)
		assert.Equal(t, "45", attrs.Attributes["VisibilityTimeout"])
	})

	t.Run("topics exist", func(t *testing.T) {
		assert.Contains(t, st.SNS.ListTopics(), "arn:aws:sns:us-east-1:123456789012:notes")
	})

	t.Run("an upload reaches the function through EventBridge", func(t *testing.T) {
		_, err := s3.NewFromConfig(cfg).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String("a.csv"), Body: strings.NewReader("x\n")})
		require.NoError(t, err)
		eventually(t, "the echo function to run", func() bool {
			// Nothing else has invoked echo yet.
			return strings.Contains(readFile(t, st.LogPath("echo")), "END RequestId")
		})
	})

	t.Run("state machines run their Lambda tasks", func(t *testing.T) {
		client := sfn.NewFromConfig(cfg)
		out, err := client.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:machine"), Input: aws.String(`{"hello":"world"}`),
		})
		require.NoError(t, err)
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		res, err := st.StepFunctions.AwaitExecution(wctx, aws.ToString(out.ExecutionArn))
		require.NoError(t, err)
		assert.Equal(t, "SUCCEEDED", res.Status, res.Cause)
		assert.Contains(t, res.Output, `"hello":"world"`)
	})

	t.Run("Glue runs the uploaded script with the job's arguments", func(t *testing.T) {
		client := glue.NewFromConfig(cfg)
		run, err := client.StartJobRun(ctx, &glue.StartJobRunInput{JobName: aws.String("job")})
		require.NoError(t, err)
		var state string
		eventually(t, "the job run to end", func() bool {
			out, err := client.GetJobRun(ctx, &glue.GetJobRunInput{JobName: aws.String("job"), RunId: run.JobRunId})
			require.NoError(t, err)
			state = string(out.JobRun.JobRunState)
			return state == "SUCCEEDED" || state == "FAILED"
		})
		assert.Equal(t, "SUCCEEDED", state)
		job, err := client.GetJob(ctx, &glue.GetJobInput{JobName: aws.String("job")})
		require.NoError(t, err)
		assert.Equal(t, int32(2), job.Job.ExecutionProperty.MaxConcurrentRuns)
		assert.Equal(t, "hello", job.Job.DefaultArguments["--greeting"])
	})

	t.Run("alarms come from the template and EMF lines become metrics", func(t *testing.T) {
		views := st.CloudWatch.DescribeAlarms([]string{"echo-errors"}, "", "")
		require.Len(t, views, 1)
		assert.Equal(t, 3.0, views[0].Threshold, "the parameter override, a string, is a number again")
		emf := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Test","Dimensions":[["Function"]],"Metrics":[{"Name":"Errors","Unit":"Count"}]}]},"Function":"echo","Errors":4}`
		_, err := st.Lambda.Invoke(ctx, "echo", []byte(`{"log":`+quote(emf)+`}`))
		require.NoError(t, err)
		eventually(t, "the metric", func() bool {
			return len(st.CloudWatch.ListMetrics("Test", "Errors", []cloudwatchemu.DimensionFilter{{Name: "Function", Value: "echo"}})) == 1
		})
	})

	t.Run("the services publish their AWS metrics to CloudWatch", func(t *testing.T) {
		eventually(t, "AWS/Lambda and AWS/States metrics", func() bool {
			return len(st.CloudWatch.ListMetrics("AWS/Lambda", "Invocations", []cloudwatchemu.DimensionFilter{{Name: "FunctionName", Value: "echo"}})) == 1 &&
				len(st.CloudWatch.ListMetrics("AWS/States", "ExecutionsSucceeded", nil)) == 1
		})
	})

	t.Run("AWS_IAM routes need a SigV4 signature", func(t *testing.T) {
		status, _ := apiGet(t, st.APIURL()+"/signed/ann", false)
		assert.Equal(t, http.StatusForbidden, status)
		status, body := apiGet(t, st.APIURL()+"/signed/ann", true)
		assert.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, `"name":"ann"`)
		status, _ = apiGet(t, st.APIURL()+"/open/bob", false)
		assert.Equal(t, http.StatusOK, status)
	})
}

type sqstypesName = sqstypes.QueueAttributeName

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func apiGet(t *testing.T, url string, sign bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if sign {
		sum := sha256.Sum256(nil)
		creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
		require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestStartFailsCleanly(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"missing template", Options{Template: "testdata/nope.yaml"}, "nope.yaml"},
		{"bad parameter", Options{Template: "testdata/template.yaml", Parameters: map[string]string{"Nope": "1"}}, "Nope"},
		{"port in use", Options{Template: "testdata/template.yaml", Port: busy.Addr().(*net.TCPAddr).Port}, "--port"},
		{"unknown function in FunctionEnv", Options{Template: "testdata/template.yaml", FunctionEnv: map[string]map[string]string{"GhostFunction": {"A": "b"}}}, "GhostFunction"},
		{"mock config names no state machine of the template", Options{Template: "testdata/template.yaml", MockConfig: &asl.MockConfig{StateMachines: map[string]asl.MockStateMachine{"Ghost": {}}}}, "StateMachines.Ghost"},
		{"mock test case no state machine has", Options{Template: "testdata/template.yaml", MockConfig: &asl.MockConfig{StateMachines: map[string]asl.MockStateMachine{"machine": {}}}, MockTestCase: "Nope"}, `test case "Nope"`},
		{"mock test case without a mock config", Options{Template: "testdata/template.yaml", MockTestCase: "Mocked"}, "needs a mock config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.StateDir, tt.opts.Output = t.TempDir(), io.Discard
			st, err := Start(context.Background(), tt.opts)
			require.Error(t, err)
			assert.Nil(t, st)
			assert.Contains(t, err.Error(), tt.want)
			if tt.opts.MockConfig != nil || tt.opts.MockTestCase != "" {
				assert.ErrorIs(t, err, ErrMockConfig, "up names the file from it")
			}
		})
	}
}
