package sqsemu

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newService(t *testing.T, dir string, clk clock.Clock) *Service {
	t.Helper()
	s, err := New(Options{StateDir: dir, Clock: clk})
	require.NoError(t, err)
	return s
}

func newClient(t *testing.T, h http.Handler) *sqs.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return sqs.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
}

func TestSDKRoundTrip(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	svc := newService(t, t.TempDir(), clk)
	c := newClient(t, svc)
	ctx := context.Background()

	created, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq"), Attributes: map[string]string{"VisibilityTimeout": "10"}})
	require.NoError(t, err)
	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("dlq")})
	require.NoError(t, err)
	assert.Equal(t, *created.QueueUrl, *got.QueueUrl)

	// The SDK verifies MD5OfMessageBody and MD5OfMessageAttributes itself.
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    created.QueueUrl,
		MessageBody: aws.String(`{"a":1}`),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"RULE_ARN": {DataType: aws.String("String"), StringValue: aws.String("arn:aws:events:us-east-1:123456789012:rule/r")},
			"N":        {DataType: aws.String("Number"), StringValue: aws.String("3")},
		},
	})
	require.NoError(t, err)

	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: created.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "QueueArn"}})
	require.NoError(t, err)
	assert.Equal(t, "1", attrs.Attributes["ApproximateNumberOfMessages"])
	assert.Equal(t, "arn:aws:sqs:us-east-1:123456789012:dlq", attrs.Attributes["QueueArn"])

	recv, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
	require.NoError(t, err)
	require.Len(t, recv.Messages, 1)
	m := recv.Messages[0]
	assert.Equal(t, `{"a":1}`, *m.Body)
	assert.Equal(t, "arn:aws:events:us-east-1:123456789012:rule/r", *m.MessageAttributes["RULE_ARN"].StringValue)
	assert.Equal(t, "1", m.Attributes["ApproximateReceiveCount"])

	// Hidden for the visibility timeout, then visible again.
	again, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl})
	require.NoError(t, err)
	assert.Empty(t, again.Messages)
	clk.Advance(11 * time.Second)
	again, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl})
	require.NoError(t, err)
	require.Len(t, again.Messages, 1)

	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: created.QueueUrl, ReceiptHandle: again.Messages[0].ReceiptHandle})
	require.NoError(t, err)
	attrs, err = c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: created.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	require.NoError(t, err)
	assert.Equal(t, "0", attrs.Attributes["ApproximateNumberOfMessages"])
	assert.Equal(t, "0", attrs.Attributes["ApproximateNumberOfMessagesNotVisible"])

	list, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
	require.NoError(t, err)
	assert.Equal(t, []string{*created.QueueUrl}, list.QueueUrls)
}

func TestSDKErrors(t *testing.T) {
	svc := newService(t, t.TempDir(), clock.NewManual(time.Unix(0, 0)))
	c := newClient(t, svc)
	ctx := context.Background()
	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q")})
	require.NoError(t, err)
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"missing queue", func() error {
			_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue"},
		{"bad name", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bad name!")})
			return err
		}, "InvalidParameterValue"},
		{"conflicting attributes", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"VisibilityTimeout": "5"}})
			return err
		}, "QueueAlreadyExists"},
		{"empty body", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(svc.QueueURL("q")), MessageBody: aws.String("")})
			return err
		}, "MissingParameter"},
		{"too many messages", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(svc.QueueURL("q")), MaxNumberOfMessages: 11})
			return err
		}, "InvalidParameterValue"},
		{"bad receipt handle", func() error {
			_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(svc.QueueURL("q")), ReceiptHandle: aws.String("garbage")})
			return err
		}, "ReceiptHandleIsInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var apiErr smithy.APIError
			require.True(t, errors.As(tt.call(), &apiErr))
			assert.Equal(t, tt.code, apiErr.ErrorCode())
		})
	}
	// As with AWS, the typed error is still QueueDoesNotExist; its code is
	// the legacy one from x-amzn-query-error.
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var missing *sqstypes.QueueDoesNotExist
	assert.True(t, errors.As(err, &missing), "got %T", err)
}

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewManual(time.Unix(100, 0))
	svc := newService(t, dir, clk)
	_, err := svc.CreateQueue("dlq", nil)
	require.NoError(t, err)
	id, err := svc.SendMessage(context.Background(), "arn:aws:sqs:us-east-1:123456789012:dlq", "hello", map[string]string{"ERROR_CODE": "X"})
	require.NoError(t, err)

	again := newService(t, dir, clk)
	msgs, err := again.Messages("dlq")
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, id, msgs[0].MessageID)
	assert.Equal(t, "X", msgs[0].Attributes["ERROR_CODE"].StringValue)
	// A new message after restart gets a fresh id.
	id2, err := again.SendMessage(context.Background(), "dlq", "second", nil)
	require.NoError(t, err)
	assert.NotEqual(t, id, id2)
}

func TestOptionsQueues(t *testing.T) {
	dir := t.TempDir()
	svc, err := New(Options{StateDir: dir, Queues: []string{"stack-IngestDLQ-ABC", "other"}})
	require.NoError(t, err)
	assert.Equal(t, []string{svc.QueueURL("other"), svc.QueueURL("stack-IngestDLQ-ABC")}, svc.ListQueues(""))
	_, err = New(Options{StateDir: t.TempDir(), Queues: []string{"bad name"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `create queue "bad name"`)
	// Restarting with the same queues keeps their messages.
	_, err = svc.SendMessage(context.Background(), "other", "m", nil)
	require.NoError(t, err)
	again, err := New(Options{StateDir: dir, Queues: []string{"other"}})
	require.NoError(t, err)
	msgs, err := again.Messages("other")
	require.NoError(t, err)
	assert.Len(t, msgs, 1)
}

func TestNewRejectsCorruptState(t *testing.T) {
	dir := t.TempDir()
	svc := newService(t, dir, nil)
	_, err := svc.CreateQueue("q", nil)
	require.NoError(t, err)
	require.NoError(t, writeFile(svc.path, "{not json"))
	_, err = New(Options{StateDir: dir})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "parse "+svc.path)
}

func TestQueryProtocol(t *testing.T) {
	svc := newService(t, t.TempDir(), clock.NewManual(time.Unix(0, 0)))
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	post := func(v url.Values) (int, string) {
		resp, err := http.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := post(url.Values{"Action": {"CreateQueue"}, "QueueName": {"q"}})
	require.Equal(t, 200, code, body)
	assert.Contains(t, body, "<QueueUrl>"+svc.QueueURL("q")+"</QueueUrl>")
	code, body = post(url.Values{"Action": {"SendMessage"}, "QueueUrl": {svc.QueueURL("q")}, "MessageBody": {"hi"},
		"MessageAttribute.1.Name": {"k"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"v"}})
	require.Equal(t, 200, code, body)
	assert.Contains(t, body, "<MD5OfMessageBody>49f68a5c8493ec2c0bf489821c21fc3b</MD5OfMessageBody>")
	code, body = post(url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {svc.QueueURL("q")}, "MessageAttributeName.1": {"All"}})
	require.Equal(t, 200, code, body)
	assert.Contains(t, body, "<Body>hi</Body>")
	assert.Contains(t, body, "<Name>k</Name>")
	code, body = post(url.Values{"Action": {"GetQueueAttributes"}, "QueueUrl": {svc.QueueURL("nope")}})
	assert.Equal(t, 400, code)
	assert.Contains(t, body, "AWS.SimpleQueueService.NonExistentQueue")
	code, body = post(url.Values{"Action": {"PurgeEverything"}})
	assert.Equal(t, 400, code)
	assert.Contains(t, body, "<Code>InvalidAction</Code>")
}

func TestLongPollWakesOnSend(t *testing.T) {
	svc := newService(t, t.TempDir(), clock.NewManual(time.Unix(0, 0)))
	_, err := svc.CreateQueue("q", nil)
	require.NoError(t, err)
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = svc.SendMessage(context.Background(), "q", "late", nil)
	}()
	start := time.Now()
	msgs, err := svc.Receive(context.Background(), "q", 1, -1, 5*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o644)
}
