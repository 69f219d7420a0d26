package endpoint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/endpoint"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/gomlops/mlops/localcloud/s3emu"
	"github.com/gomlops/mlops/localcloud/snsemu"
	"github.com/gomlops/mlops/localcloud/sqsemu"
	"github.com/gomlops/mlops/localcloud/stsemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeLambda stands in for the Lambda emulator: it records asynchronous
// invocations and fails those of the function named "broken".
type fakeLambda struct {
	mu    sync.Mutex
	calls map[string][][]byte
}

func (f *fakeLambda) InvokeAsync(_ context.Context, fn string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string][][]byte{}
	}
	f.calls[fn] = append(f.calls[fn], payload)
	if strings.HasSuffix(fn, ":broken") {
		return awsproto.Errorf(500, "ServiceException", "function broken crashed")
	}
	return nil
}

func (f *fakeLambda) Calls(fn string) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.calls[fn]...)
}

type cloud struct {
	srv    *endpoint.Server
	clk    *clock.Manual
	lambda *fakeLambda
	eb     *eventbridge.Service
	sqs    *sqsemu.Service
	sns    *snsemu.Service
	cfg    aws.Config
}

const (
	ingestARN = "arn:aws:lambda:us-east-1:123456789012:function:ingest"
	brokenARN = "arn:aws:lambda:us-east-1:123456789012:function:broken"
	dlqARN    = "arn:aws:sqs:us-east-1:123456789012:ingest-dlq"
)

// startCloud wires the endpoint's services the way `localcloud up` does,
// with a fake Lambda and a manual clock.
func startCloud(t *testing.T, dir string) *cloud {
	t.Helper()
	c := &cloud{clk: clock.NewManual(time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)), lambda: &fakeLambda{}}
	var err error
	c.sqs, err = sqsemu.New(sqsemu.Options{StateDir: dir, Clock: c.clk})
	require.NoError(t, err)
	_, err = c.sqs.CreateQueue("ingest-dlq", nil)
	require.NoError(t, err)
	c.sns, err = snsemu.New(snsemu.Options{StateDir: dir, Clock: c.clk, Topics: []string{"notifications"}})
	require.NoError(t, err)
	retries := 2
	c.eb, err = eventbridge.New(eventbridge.Options{StateDir: dir, Clock: c.clk, Lambda: c.lambda, SQS: c.sqs, SNS: c.sns, Rules: []eventbridge.Rule{
		{
			Name:         "raw-uploads",
			EventPattern: `{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["raw-bucket"]},"object":{"key":[{"prefix":"raw/"}]}}}`,
			Targets:      []eventbridge.Target{{ID: "ingest", Arn: ingestARN}},
		},
		{
			Name:         "raw-uploads-broken",
			EventPattern: `{"source":["aws.s3"],"detail":{"object":{"key":[{"suffix":".csv"}]}}}`,
			Targets: []eventbridge.Target{{ID: "broken", Arn: brokenARN,
				RetryPolicy:      &eventbridge.RetryPolicy{MaximumRetryAttempts: &retries},
				DeadLetterConfig: &eventbridge.DeadLetterConfig{Arn: dlqARN}}},
		},
	}})
	require.NoError(t, err)
	t.Cleanup(c.eb.Close)
	s3svc, err := s3emu.New(s3emu.Options{StateDir: dir, Clock: c.clk, Events: c.eb, Buckets: []s3emu.Bucket{
		{Name: "raw-bucket", EventBridge: true, Versioned: true},
	}})
	require.NoError(t, err)

	rt := endpoint.NewRouter(nil)
	rt.Handle("s3", s3svc)
	rt.Handle("events", c.eb)
	rt.Handle("sqs", c.sqs)
	rt.Handle("sns", c.sns)
	rt.Handle("sts", stsemu.New(stsemu.Options{}))
	c.srv, err = endpoint.Start("127.0.0.1:0", rt)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, c.srv.Close(ctx))
	})
	c.cfg = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "SECRET", ""), BaseEndpoint: aws.String(c.srv.URL())}
	return c
}

// settle fast-forwards retries until every delivery has finished.
func (c *cloud) settle(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() { c.eb.Wait(); close(done) }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-done:
			return
		case <-deadline:
			t.Fatal("deliveries did not finish")
		default:
			if !c.clk.AdvanceToNext() {
				time.Sleep(time.Millisecond)
			}
		}
	}
}

// TestUploadRoutesToLambdaAndFailuresDeadLetter is the end-to-end
// check: a Go SDK upload to an EventBridge-enabled bucket produces AWS's
// event shape, a rule routes it to a (fake) Lambda, and a failing target
// ends in the SQS DLQ with the original event intact.
func TestUploadRoutesToLambdaAndFailuresDeadLetter(t *testing.T) {
	c := startCloud(t, t.TempDir())
	ctx := context.Background()
	put, err := s3.NewFromConfig(c.cfg).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("raw-bucket"), Key: aws.String("raw/churn 2026.csv"), Body: strings.NewReader("tenure_months,churned\n3,1\n"),
	})
	require.NoError(t, err)
	c.settle(t)

	calls := c.lambda.Calls(ingestARN)
	require.Len(t, calls, 1)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(calls[0], &ev))
	assert.Equal(t, "0", ev["version"])
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, ev["id"])
	assert.Equal(t, "Object Created", ev["detail-type"])
	assert.Equal(t, "aws.s3", ev["source"])
	assert.Equal(t, "123456789012", ev["account"])
	assert.Equal(t, "2026-08-01T09:00:00Z", ev["time"])
	assert.Equal(t, "us-east-1", ev["region"])
	assert.Equal(t, []any{"arn:aws:s3:::raw-bucket"}, ev["resources"])
	detail := ev["detail"].(map[string]any)
	assert.Equal(t, map[string]any{"name": "raw-bucket"}, detail["bucket"])
	obj := detail["object"].(map[string]any)
	assert.Equal(t, "raw/churn+2026.csv", obj["key"])
	assert.Equal(t, float64(26), obj["size"])
	assert.Equal(t, strings.Trim(aws.ToString(put.ETag), `"`), obj["etag"])
	assert.Equal(t, aws.ToString(put.VersionId), obj["version-id"])
	assert.Equal(t, "000000000000000001", obj["sequencer"])
	assert.Equal(t, "PutObject", detail["reason"])
	assert.Equal(t, "127.0.0.1", detail["source-ip-address"])
	assert.Equal(t, "123456789012", detail["requester"])
	assert.NotEmpty(t, detail["request-id"])

	assert.Len(t, c.lambda.Calls(brokenARN), 3, "one attempt and two retries")
	msgs, err := c.sqs.Messages(dlqARN)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.JSONEq(t, string(calls[0]), msgs[0].Body, "the DLQ holds the original event intact")
	attrs := map[string]string{}
	for k, v := range msgs[0].Attributes {
		attrs[k] = v.StringValue
	}
	assert.Equal(t, map[string]string{
		"RULE_ARN":                  "arn:aws:events:us-east-1:123456789012:rule/raw-uploads-broken",
		"TARGET_ARN":                brokenARN,
		"ERROR_CODE":                "SDK_CLIENT_ERROR",
		"ERROR_MESSAGE":             "ServiceException: function broken crashed",
		"EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttemptsExhausted",
		"RETRY_ATTEMPTS":            "2",
	}, attrs)

	// The same DLQ message through the Go SDK's SQS client (AWS JSON 1.0).
	q := sqs.NewFromConfig(c.cfg)
	url, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("ingest-dlq")})
	require.NoError(t, err)
	recv, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, MessageAttributeNames: []string{"All"}})
	require.NoError(t, err)
	require.Len(t, recv.Messages, 1)
	assert.Equal(t, "MaximumRetryAttemptsExhausted", aws.ToString(recv.Messages[0].MessageAttributes["EXHAUSTED_RETRY_CONDITION"].StringValue))

	id, err := sts.NewFromConfig(c.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Equal(t, "123456789012", aws.ToString(id.Account))
}

// TestStateSurvivesEndpointRestart restarts every service on the same
// state directory: buckets, objects, rules and queued messages remain.
func TestStateSurvivesEndpointRestart(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir)
	ctx := context.Background()
	_, err := s3.NewFromConfig(c.cfg).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("raw/a.csv"), Body: strings.NewReader("a")})
	require.NoError(t, err)
	c.settle(t)
	require.NoError(t, c.srv.Close(ctx))

	again := startCloud(t, dir)
	out, err := s3.NewFromConfig(again.cfg).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("raw/a.csv")})
	require.NoError(t, err)
	assert.Equal(t, int64(1), aws.ToInt64(out.ContentLength))
	msgs, err := again.sqs.Messages(dlqARN)
	require.NoError(t, err)
	assert.Len(t, msgs, 1, "the dead-lettered event is still queued")
	assert.Len(t, again.eb.Rules(""), 2)
}

// TestAWSCLI drives the endpoint with the AWS CLI (v1) as a developer
// would: s3 mb/cp/ls/rm and events put-events/test-event-pattern/
// list-rules. The CLI is pointed at the loopback endpoint with dummy
// credentials and no config files, so it never reaches the internet.
func TestAWSCLI(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI is not installed; skipping the CLI check")
	}
	dir := t.TempDir()
	c := startCloud(t, dir)
	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsBin, append([]string{"--endpoint-url", c.srv.URL(), "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + home,
			"AWS_ACCESS_KEY_ID=dummy", "AWS_SECRET_ACCESS_KEY=dummy",
			"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
			"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "aws %s: %s", strings.Join(args, " "), stderr.String())
		return stdout.String()
	}
	local := filepath.Join(dir, "upload.csv")
	require.NoError(t, os.WriteFile(local, []byte("tenure_months,churned\n1,0\n"), 0o644))

	run("s3", "mb", "s3://cli-bucket")
	run("s3", "cp", local, "s3://cli-bucket/raw/upload.csv")
	assert.Contains(t, run("s3", "ls", "s3://cli-bucket/raw/"), "upload.csv")
	assert.Contains(t, run("s3", "ls"), "cli-bucket")
	run("s3", "rm", "s3://cli-bucket/raw/upload.csv")
	assert.NotContains(t, run("s3", "ls", "s3://cli-bucket/", "--recursive"), "upload.csv")

	out := run("events", "put-events", "--entries", `[{"Source":"app.cli","DetailType":"Ping","Detail":"{\"n\":1}"}]`)
	var put struct {
		FailedEntryCount int
		Entries          []struct{ EventId string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &put))
	assert.Equal(t, 0, put.FailedEntryCount)
	require.Len(t, put.Entries, 1)
	assert.NotEmpty(t, put.Entries[0].EventId)

	out = run("events", "test-event-pattern", "--event-pattern", `{"source":["app.cli"],"detail":{"n":[{"numeric":[">",0]}]}}`,
		"--event", `{"id":"1","source":"app.cli","detail-type":"Ping","account":"123456789012","region":"us-east-1","time":"2026-01-01T00:00:00Z","detail":{"n":1}}`)
	assert.JSONEq(t, `{"Result":true}`, out)

	out = run("events", "list-rules")
	var rules struct{ Rules []struct{ Name string } }
	require.NoError(t, json.Unmarshal([]byte(out), &rules))
	require.Len(t, rules.Rules, 2)
	assert.Equal(t, "raw-uploads", rules.Rules[0].Name)
}

// boto3Script exercises every service of the endpoint through boto3 and
// prints one JSON summary line.
const boto3Script = `
import json, boto3
kw = dict(endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="dummy", aws_secret_access_key="dummy")
s3 = boto3.client("s3", **kw)
s3.put_object(Bucket="raw-bucket", Key="raw/boto3 file.csv", Body=b"a,b\n1,2\n")
body = s3.get_object(Bucket="raw-bucket", Key="raw/boto3 file.csv")["Body"].read().decode()
ev = boto3.client("events", **kw).put_events(Entries=[{"Source": "app.boto3", "DetailType": "T", "Detail": "{}"}])
topic = boto3.client("sns", **kw).publish(TopicArn="arn:aws:sns:us-east-1:123456789012:notifications", Subject="s", Message="hello")
sqs = boto3.client("sqs", **kw)
url = sqs.get_queue_url(QueueName="ingest-dlq")["QueueUrl"]
sqs.send_message(QueueUrl=url, MessageBody="from boto3", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
n = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
who = boto3.client("sts", **kw).get_caller_identity()["Account"]
try:
    sqs.get_queue_url(QueueName="missing")
    missing = "no error"
except sqs.exceptions.QueueDoesNotExist as e:
    missing = e.response["Error"]["Code"]
print(json.dumps({"body": body, "failed": ev["FailedEntryCount"], "messageId": topic["MessageId"], "queued": n, "account": who, "missing": missing}))
`

// TestBoto3 checks the endpoint with boto3, the other client NOTES.md
// names, when it is installed.
func TestBoto3(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import boto3").Run() != nil {
		t.Skip("python3 with boto3 is not installed; skipping the boto3 check")
	}
	c := startCloud(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", "ENDPOINT = "+strconvQuote(c.srv.URL())+"\n"+boto3Script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	var got struct {
		Body, MessageID, Queued, Account, Missing string
		Failed                                    int
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got), stdout.String())
	assert.Equal(t, "a,b\n1,2\n", got.Body)
	assert.Equal(t, 0, got.Failed)
	assert.NotEmpty(t, got.MessageID)
	assert.Equal(t, "1", got.Queued)
	assert.Equal(t, "123456789012", got.Account)
	assert.Equal(t, "AWS.SimpleQueueService.NonExistentQueue", got.Missing)
	c.settle(t)
	require.Len(t, c.lambda.Calls(ingestARN), 1, "the boto3 upload reached the rule's target")
	var ev map[string]any
	require.NoError(t, json.Unmarshal(c.lambda.Calls(ingestARN)[0], &ev))
	assert.Equal(t, "raw/boto3+file.csv", ev["detail"].(map[string]any)["object"].(map[string]any)["key"])
	recs, err := c.sns.Outbox("")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, "hello", recs[0].Message)
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }
