package snsemu

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func client(t *testing.T, s *Service) *sns.Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return sns.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("A", "B", ""), BaseEndpoint: aws.String(srv.URL)})
}

func TestPublishThroughSDKLandsInOutbox(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewManual(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	s, err := New(Options{StateDir: dir, Clock: clk, Topics: []string{"notifications"}})
	require.NoError(t, err)
	c := client(t, s)
	ctx := context.Background()

	created, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:sns:us-east-1:123456789012:alerts", aws.ToString(created.TopicArn))
	list, err := c.ListTopics(ctx, &sns.ListTopicsInput{})
	require.NoError(t, err)
	require.Len(t, list.Topics, 2)
	assert.Equal(t, "arn:aws:sns:us-east-1:123456789012:alerts", aws.ToString(list.Topics[0].TopicArn))

	out, err := c.Publish(ctx, &sns.PublishInput{
		TopicArn: created.TopicArn, Subject: aws.String("Pipeline failed"), Message: aws.String(`{"error":"x"}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"severity": {DataType: aws.String("String"), StringValue: aws.String("high")}},
	})
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(out.MessageId))

	// A restart keeps topics and the outbox.
	again, err := New(Options{StateDir: dir, Clock: clk})
	require.NoError(t, err)
	assert.Len(t, again.ListTopics(), 2)
	recs, err := again.Outbox(aws.ToString(created.TopicArn))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, Record{MessageID: aws.ToString(out.MessageId), TopicARN: aws.ToString(created.TopicArn), Subject: "Pipeline failed",
		Message: `{"error":"x"}`, MessageAttributes: map[string]MessageAttribute{"severity": {DataType: "String", StringValue: "high"}},
		Timestamp: clk.Now()}, recs[0])
	other, err := again.Outbox("arn:aws:sns:us-east-1:123456789012:notifications")
	require.NoError(t, err)
	assert.Empty(t, other)
}

func TestPublishErrors(t *testing.T) {
	s, err := New(Options{StateDir: t.TempDir(), Topics: []string{"t"}})
	require.NoError(t, err)
	c := client(t, s)
	ctx := context.Background()
	arn := s.TopicARN("t")
	tests := []struct {
		name string
		in   *sns.PublishInput
		code string
	}{
		{"unknown topic", &sns.PublishInput{TopicArn: aws.String(s.TopicARN("nope")), Message: aws.String("m")}, "NotFound"},
		{"empty message", &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("")}, "InvalidParameter"},
		{"json structure without default", &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(`{"email":"x"}`), MessageStructure: aws.String("json")}, "InvalidParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Publish(ctx, tt.in)
			var apiErr smithy.APIError
			require.True(t, errors.As(err, &apiErr), "got %v", err)
			assert.Equal(t, tt.code, apiErr.ErrorCode())
		})
	}
	recs, err := s.Outbox("")
	require.NoError(t, err)
	assert.Empty(t, recs, "failed publishes must not reach the outbox")
	_, err = c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bad name")})
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "InvalidParameter", apiErr.ErrorCode())
}

func TestDeliverAndCorruptOutbox(t *testing.T) {
	s, err := New(Options{StateDir: t.TempDir(), Topics: []string{"d"}})
	require.NoError(t, err)
	require.NoError(t, s.Deliver(context.Background(), s.TopicARN("d"), []byte(`{"requestContext":{}}`)))
	recs, err := s.Outbox("")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, `{"requestContext":{}}`, recs[0].Message)
	f, err := os.OpenFile(s.OutboxPath(), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("{broken\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = s.Outbox("")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "outbox line 2")
}

func TestUnknownActionIsInvalidAction(t *testing.T) {
	s, err := New(Options{StateDir: t.TempDir()})
	require.NoError(t, err)
	c := client(t, s)
	_, err = c.Subscribe(context.Background(), &sns.SubscribeInput{TopicArn: aws.String(s.TopicARN("t")), Protocol: aws.String("email")})
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	assert.Equal(t, "InvalidAction", apiErr.ErrorCode())
}
