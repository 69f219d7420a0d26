package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeLambda records asynchronous invocations and fails while fail
// returns an error.
type fakeLambda struct {
	mu    sync.Mutex
	calls []call
	fail  func(n int) error
}

type call struct {
	target, name string
	payload      string
}

func (f *fakeLambda) InvokeAsync(_ context.Context, fn string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{target: fn, payload: string(payload)})
	if f.fail != nil {
		return f.fail(len(f.calls))
	}
	return nil
}

func (f *fakeLambda) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

type fakeSFN struct {
	mu    sync.Mutex
	calls []call
}

func (f *fakeSFN) StartExecution(_ context.Context, arn, name, input string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{target: arn, name: name, payload: input})
	return nil
}

type sqsMessage struct {
	queue, body string
	attrs       map[string]string
}

type fakeSQS struct {
	mu   sync.Mutex
	sent []sqsMessage
}

func (f *fakeSQS) SendMessage(_ context.Context, queue, body string, attrs map[string]string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, sqsMessage{queue, body, attrs})
	return "id", nil
}

func (f *fakeSQS) Sent() []sqsMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sqsMessage(nil), f.sent...)
}

type fakeSNS struct {
	mu        sync.Mutex
	delivered []call
}

func (f *fakeSNS) Deliver(_ context.Context, arn string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivered = append(f.delivered, call{target: arn, payload: string(payload)})
	return nil
}

var t0 = time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC)

type fixture struct {
	svc    *Service
	clk    *clock.Manual
	lambda *fakeLambda
	sfn    *fakeSFN
	sqs    *fakeSQS
	sns    *fakeSNS
	client *eventbridge.Client
}

func newFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	f := &fixture{clk: clock.NewManual(t0), lambda: &fakeLambda{}, sfn: &fakeSFN{}, sqs: &fakeSQS{}, sns: &fakeSNS{}}
	svc, err := New(Options{StateDir: dir, Clock: f.clk, Lambda: f.lambda, StepFunctions: f.sfn, SQS: f.sqs, SNS: f.sns})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	f.svc = svc
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	f.client = eventbridge.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("A", "B", ""), BaseEndpoint: aws.String(srv.URL)})
	return f
}

// settle advances the manual clock through every pending retry until the
// deliveries finish.
func (f *fixture) settle(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() { f.svc.Wait(); close(done) }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-done:
			return
		case <-deadline:
			t.Fatal("deliveries did not finish")
		default:
			if !f.clk.AdvanceToNext() {
				time.Sleep(time.Millisecond)
			}
		}
	}
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "want an API error, got %v", err)
	return apiErr.ErrorCode()
}

func TestRulesAPIThroughSDK(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	out, err := f.client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("uploads"), EventPattern: aws.String(`{"source":["app"]}`)})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:events:us-east-1:123456789012:rule/uploads", aws.ToString(out.RuleArn))
	_, err = f.client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("uploads"), Targets: []ebtypes.Target{{
		Id: aws.String("fn"), Arn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:ingest"),
		RetryPolicy:      &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(3)},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:dlq")},
	}}})
	require.NoError(t, err)
	rules, err := f.client.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String("up")})
	require.NoError(t, err)
	require.Len(t, rules.Rules, 1)
	assert.Equal(t, `{"source":["app"]}`, aws.ToString(rules.Rules[0].EventPattern))
	assert.Equal(t, ebtypes.RuleStateEnabled, rules.Rules[0].State)
	targets, err := f.client.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("uploads")})
	require.NoError(t, err)
	require.Len(t, targets.Targets, 1)
	assert.Equal(t, int32(3), aws.ToInt32(targets.Targets[0].RetryPolicy.MaximumRetryAttempts))
	assert.Equal(t, "arn:aws:sqs:us-east-1:123456789012:dlq", aws.ToString(targets.Targets[0].DeadLetterConfig.Arn))

	// PutRule again keeps the targets.
	_, err = f.client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("uploads"), EventPattern: aws.String(`{"source":["app2"]}`)})
	require.NoError(t, err)
	targets, err = f.client.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("uploads")})
	require.NoError(t, err)
	assert.Len(t, targets.Targets, 1)

	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"invalid pattern", func() error {
			_, err := f.client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad"), EventPattern: aws.String(`{"source":"app"}`)})
			return err
		}, "InvalidEventPatternException"},
		{"invalid schedule", func() error {
			_, err := f.client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad"), ScheduleExpression: aws.String("rate(1 minutes)")})
			return err
		}, "ValidationException"},
		{"neither pattern nor schedule", func() error {
			_, err := f.client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad")})
			return err
		}, "ValidationException"},
		{"targets of a missing rule", func() error {
			_, err := f.client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("nope"), Targets: []ebtypes.Target{{Id: aws.String("x"), Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:q")}}})
			return err
		}, "ResourceNotFoundException"},
		{"input and input path together", func() error {
			_, err := f.client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("uploads"), Targets: []ebtypes.Target{{Id: aws.String("x"), Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:q"), Input: aws.String("{}"), InputPath: aws.String("$.detail")}}})
			return err
		}, "ValidationException"},
		{"other bus", func() error {
			_, err := f.client.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("custom")})
			return err
		}, "ResourceNotFoundException"},
		{"delete rule with targets", func() error {
			_, err := f.client.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("uploads")})
			return err
		}, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.code, apiCode(t, tt.call()))
		})
	}

	_, err = f.client.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("uploads"), Ids: []string{"fn"}})
	require.NoError(t, err)
	_, err = f.client.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("uploads")})
	require.NoError(t, err)
	_, err = f.client.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("uploads")})
	assert.Equal(t, "ResourceNotFoundException", apiCode(t, err))
}

func TestTestEventPatternThroughSDK(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	event := `{"id":"1","source":"aws.s3","detail-type":"Object Created","account":"123456789012","region":"us-east-1","time":"2026-01-01T00:00:00Z","resources":[],"detail":{"object":{"key":"raw/a.csv","size":10}}}`
	tests := []struct {
		name    string
		pattern string
		event   string
		want    bool
		code    string
	}{
		{"match", `{"source":["aws.s3"],"detail":{"object":{"key":[{"prefix":"raw/"}]}}}`, event, true, ""},
		{"no match", `{"detail":{"object":{"size":[{"numeric":[">",100]}]}}}`, event, false, ""},
		{"invalid pattern", `{"detail":{"object":{"size":[{"numeric":[">"]}]}}}`, event, false, "InvalidEventPatternException"},
		{"event lacks required fields", `{"source":["x"]}`, `{"source":"x"}`, false, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.client.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(tt.pattern), Event: aws.String(tt.event)})
			if tt.code != "" {
				assert.Equal(t, tt.code, apiCode(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, out.Result)
		})
	}
}

func TestPutEventsRoutesToTargets(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	require.NoError(t, f.svc.RegisterRule(Rule{Name: "orders", EventPattern: `{"source":["shop"],"detail":{"total":[{"numeric":[">=",100]}]}}`, Targets: []Target{
		{ID: "fn", Arn: "arn:aws:lambda:us-east-1:123456789012:function:big-orders"},
		{ID: "sm", Arn: "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline", InputPath: "$.detail"},
		{ID: "topic", Arn: "arn:aws:sns:us-east-1:123456789012:alerts", Input: `{"fixed":true}`},
		{ID: "queue", Arn: "arn:aws:sqs:us-east-1:123456789012:orders", InputTransformer: &InputTransformer{
			InputPathsMap: map[string]string{"total": "$.detail.total", "who": "$.detail.customer"},
			InputTemplate: `{"amount": <total>, "text": "order of <who> for <total>", "rule": "<aws.events.rule-name>"}`,
		}},
	}}))
	require.NoError(t, f.svc.RegisterRule(Rule{Name: "disabled", State: "DISABLED", EventPattern: `{"source":["shop"]}`, Targets: []Target{
		{ID: "fn", Arn: "arn:aws:lambda:us-east-1:123456789012:function:never"},
	}}))

	out, err := f.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"total":150,"customer":"ann"}`), Resources: []string{"arn:x"}},
		{Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"total":5,"customer":"bob"}`)},
		{Source: aws.String("aws.s3"), DetailType: aws.String("Object Created"), Detail: aws.String(`{}`)},
		{Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`not json`)},
	}})
	require.NoError(t, err)
	assert.Equal(t, int32(2), out.FailedEntryCount)
	require.Len(t, out.Entries, 4)
	assert.NotEmpty(t, aws.ToString(out.Entries[0].EventId))
	assert.NotEmpty(t, aws.ToString(out.Entries[1].EventId))
	assert.Equal(t, "NotAuthorizedForSourceException", aws.ToString(out.Entries[2].ErrorCode))
	assert.Equal(t, "MalformedDetail", aws.ToString(out.Entries[3].ErrorCode))
	f.settle(t)

	calls := f.lambda.Calls()
	require.Len(t, calls, 1, "only the big order matches, the disabled rule never fires")
	var ev map[string]any
	require.NoError(t, json.Unmarshal([]byte(calls[0].payload), &ev))
	assert.Equal(t, aws.ToString(out.Entries[0].EventId), ev["id"])
	assert.Equal(t, "0", ev["version"])
	assert.Equal(t, "Order Placed", ev["detail-type"])
	assert.Equal(t, "123456789012", ev["account"])
	assert.Equal(t, "us-east-1", ev["region"])
	assert.Equal(t, t0.Format(time.RFC3339), ev["time"])
	assert.Equal(t, []any{"arn:x"}, ev["resources"])

	require.Len(t, f.sfn.calls, 1)
	assert.JSONEq(t, `{"total":150,"customer":"ann"}`, f.sfn.calls[0].payload)
	assert.NotEmpty(t, f.sfn.calls[0].name)
	require.Len(t, f.sns.delivered, 1)
	assert.JSONEq(t, `{"fixed":true}`, f.sns.delivered[0].payload)
	sent := f.sqs.Sent()
	require.Len(t, sent, 1)
	assert.JSONEq(t, `{"amount":150,"text":"order of ann for 150","rule":"orders"}`, sent[0].body)
}

func TestFailedDeliveryRetriesThenDeadLetters(t *testing.T) {
	tests := []struct {
		name        string
		fail        error
		retries     int
		wantCalls   int
		wantCode    string
		wantExhaust string
	}{
		{"retryable error exhausts attempts", errors.New("connection reset"), 2, 3, "SDK_CLIENT_ERROR", "MaximumRetryAttemptsExhausted"},
		{"missing function is not retried", awsproto.Errorf(404, "ResourceNotFoundException", "Function not found"), 5, 1, "RESOURCE_NOT_FOUND", ""},
		{"throttling is retried", awsproto.Errorf(429, "TooManyRequestsException", "Rate exceeded"), 1, 2, "THROTTLING", "MaximumRetryAttemptsExhausted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, t.TempDir())
			f.lambda.fail = func(int) error { return tt.fail }
			attempts := tt.retries
			require.NoError(t, f.svc.RegisterRule(Rule{Name: "r", EventPattern: `{"source":["app"]}`, Targets: []Target{{
				ID: "fn", Arn: "arn:aws:lambda:us-east-1:123456789012:function:f",
				InputTransformer: &InputTransformer{InputTemplate: `"transformed"`},
				RetryPolicy:      &RetryPolicy{MaximumRetryAttempts: &attempts},
				DeadLetterConfig: &DeadLetterConfig{Arn: "arn:aws:sqs:us-east-1:123456789012:dlq"},
			}}}))
			require.NoError(t, f.svc.Emit(context.Background(), Event{ID: "e-1", Source: "app", DetailType: "t", Detail: json.RawMessage(`{"k":"v"}`)}))
			f.settle(t)
			assert.Len(t, f.lambda.Calls(), tt.wantCalls)
			sent := f.sqs.Sent()
			require.Len(t, sent, 1)
			assert.Equal(t, "arn:aws:sqs:us-east-1:123456789012:dlq", sent[0].queue)
			var ev Event
			require.NoError(t, json.Unmarshal([]byte(sent[0].body), &ev), "the DLQ holds the original event, not the transformed input")
			assert.Equal(t, "e-1", ev.ID)
			assert.JSONEq(t, `{"k":"v"}`, string(ev.Detail))
			assert.Equal(t, "arn:aws:events:us-east-1:123456789012:rule/r", sent[0].attrs["RULE_ARN"])
			assert.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:f", sent[0].attrs["TARGET_ARN"])
			assert.Equal(t, tt.wantCode, sent[0].attrs["ERROR_CODE"])
			assert.Contains(t, sent[0].attrs["ERROR_MESSAGE"], tt.fail.Error()[:5])
			assert.Equal(t, tt.wantExhaust, sent[0].attrs["EXHAUSTED_RETRY_CONDITION"])
		})
	}
}

func TestRetrySucceedsBeforeExhaustion(t *testing.T) {
	f := newFixture(t, t.TempDir())
	f.lambda.fail = func(n int) error {
		if n < 3 {
			return errors.New("flaky")
		}
		return nil
	}
	require.NoError(t, f.svc.RegisterRule(Rule{Name: "r", EventPattern: `{"source":["app"]}`, Targets: []Target{{
		ID: "fn", Arn: "arn:aws:lambda:us-east-1:123456789012:function:f", DeadLetterConfig: &DeadLetterConfig{Arn: "arn:aws:sqs:us-east-1:123456789012:dlq"},
	}}}))
	start := f.clk.Now()
	require.NoError(t, f.svc.Emit(context.Background(), Event{Source: "app", DetailType: "t"}))
	f.settle(t)
	assert.Len(t, f.lambda.Calls(), 3)
	assert.Empty(t, f.sqs.Sent())
	assert.Equal(t, 3*time.Second, f.clk.Now().Sub(start), "exponential backoff 1s then 2s on the injected clock")
}

func TestMaximumEventAge(t *testing.T) {
	f := newFixture(t, t.TempDir())
	f.lambda.fail = func(int) error { return errors.New("down") }
	age := 60
	require.NoError(t, f.svc.RegisterRule(Rule{Name: "r", EventPattern: `{"source":["app"]}`, Targets: []Target{{
		ID: "fn", Arn: "arn:aws:lambda:us-east-1:123456789012:function:f",
		RetryPolicy:      &RetryPolicy{MaximumEventAgeInSeconds: &age},
		DeadLetterConfig: &DeadLetterConfig{Arn: "arn:aws:sqs:us-east-1:123456789012:dlq"},
	}}}))
	require.NoError(t, f.svc.Emit(context.Background(), Event{Source: "app", DetailType: "t"}))
	f.settle(t)
	sent := f.sqs.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "MaximumEventAgeExhausted", sent[0].attrs["EXHAUSTED_RETRY_CONDITION"])
	assert.LessOrEqual(t, f.clk.Now().Sub(t0), 60*time.Second)
}

func TestRulesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir)
	require.NoError(t, f.svc.RegisterRule(Rule{Name: "keep", EventPattern: `{"source":["a"]}`, Targets: []Target{{ID: "t", Arn: "arn:aws:lambda:us-east-1:123456789012:function:f"}}}))
	again := newFixture(t, dir)
	r, err := again.svc.Rule("keep")
	require.NoError(t, err)
	assert.Equal(t, `{"source":["a"]}`, r.EventPattern)
	require.Len(t, r.Targets, 1)
	require.NoError(t, again.svc.Emit(context.Background(), Event{Source: "a", DetailType: "x"}))
	again.settle(t)
	assert.Len(t, again.lambda.Calls(), 1)
}

func TestFuncAdapters(t *testing.T) {
	var gotFn, gotArn, gotName, gotInput string
	var l LambdaInvoker = LambdaInvokerFunc(func(_ context.Context, fn string, p []byte) error {
		gotFn = fn + string(p)
		return errors.New("nope")
	})
	var s ExecutionStarter = ExecutionStarterFunc(func(_ context.Context, arn, name, input string) error {
		gotArn, gotName, gotInput = arn, name, input
		return nil
	})
	assert.EqualError(t, l.InvokeAsync(context.Background(), "f", []byte("{}")), "nope")
	assert.Equal(t, "f{}", gotFn)
	require.NoError(t, s.StartExecution(context.Background(), "arn", "n", "{}"))
	assert.Equal(t, []string{"arn", "n", "{}"}, []string{gotArn, gotName, gotInput})
}

func TestNewRejectsBadTemplateRule(t *testing.T) {
	_, err := New(Options{StateDir: t.TempDir(), Rules: []Rule{{Name: "bad", EventPattern: `{"source":[]}`}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `register rule "bad"`)
	assert.Contains(t, err.Error(), "Empty arrays are not allowed")
}
