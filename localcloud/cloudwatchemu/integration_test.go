package cloudwatchemu

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/endpoint"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// asyncInvocations records the Lambda invocations EventBridge makes.
type asyncInvocations struct {
	mu    sync.Mutex
	calls map[string][][]byte
}

func (a *asyncInvocations) InvokeAsync(_ context.Context, fn string, payload []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.calls == nil {
		a.calls = map[string][][]byte{}
	}
	a.calls[fn] = append(a.calls[fn], payload)
	return nil
}

func (a *asyncInvocations) get(fn string) [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[fn]
}

// TestAlarmEventsReachTheRemediateRule wires the template's alarms and
// EventBridge rules through the real EventBridge emulator and the local
// endpoint's router: a state change of the drift alarm set through the SDK
// (signed for "monitoring") invokes the remediate function with the event,
// and the remediate function's fixture-shaped fields are there.
func TestAlarmEventsReachTheRemediateRule(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml", samtemplate.Options{StackName: "mlops-dev"})
	require.NoError(t, err)
	rules, err := tpl.Rules()
	require.NoError(t, err)
	var ebRules []eventbridge.Rule
	for _, r := range rules {
		if r.Pattern == nil {
			continue
		}
		er := eventbridge.Rule{Name: r.Name, EventPattern: string(r.Pattern), State: "ENABLED"}
		for _, tg := range r.Targets {
			er.Targets = append(er.Targets, eventbridge.Target{ID: tg.ID, Arn: tg.ARN})
		}
		ebRules = append(ebRules, er)
	}
	var alarms []Alarm
	for id, r := range tpl.Resources {
		if r.Type == "AWS::CloudWatch::Alarm" {
			a, err := AlarmFromTemplate(tpl.PhysicalName(id), r.Properties)
			require.NoError(t, err)
			alarms = append(alarms, a)
		}
	}

	dir := t.TempDir()
	clk := clock.NewManual(time.Now().UTC().Truncate(time.Minute))
	lambda := &asyncInvocations{}
	bus, err := eventbridge.New(eventbridge.Options{StateDir: dir, Clock: clk, Lambda: lambda, Rules: ebRules})
	require.NoError(t, err)
	t.Cleanup(bus.Close)
	cw, err := New(Options{StateDir: dir, Clock: clk, Events: bus, Alarms: alarms})
	require.NoError(t, err)
	t.Cleanup(cw.Close)

	router := endpoint.NewRouter(nil)
	router.Handle("monitoring", cw.Handler())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	client := cloudwatch.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(srv.URL)})

	ctx := context.Background()
	_, err = client.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("mlops-dev-drift"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("drift seen")})
	require.NoError(t, err)
	// Another alarm the remediate rule does not list: no invocation.
	_, err = client.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("mlops-dev-monitoring-dlq"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("dlq")})
	require.NoError(t, err)
	bus.Wait()

	remediate := tpl.ARN("RemediateFunction")
	calls := lambda.get(remediate)
	require.Len(t, calls, 1, "invocations: %v", lambda.calls)
	var ev struct {
		Source     string   `json:"source"`
		DetailType string   `json:"detail-type"`
		Resources  []string `json:"resources"`
		Detail     struct {
			AlarmName string `json:"alarmName"`
			State     struct {
				Value, Reason, Timestamp string
			} `json:"state"`
			PreviousState struct{ Value string } `json:"previousState"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(calls[0], &ev))
	assert.Equal(t, "aws.cloudwatch", ev.Source)
	assert.Equal(t, "CloudWatch Alarm State Change", ev.DetailType)
	assert.Equal(t, []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:mlops-dev-drift"}, ev.Resources)
	assert.Equal(t, "mlops-dev-drift", ev.Detail.AlarmName)
	assert.Equal(t, "ALARM", ev.Detail.State.Value)
	assert.Equal(t, "drift seen", ev.Detail.State.Reason)
	assert.Equal(t, "INSUFFICIENT_DATA", ev.Detail.PreviousState.Value)
}
