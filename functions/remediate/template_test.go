package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/cfnyaml"
)

func loadTemplate(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	tpl, err := cfnyaml.Decode(data)
	require.NoError(t, err)
	return tpl["Resources"].(map[string]any)
}

func props(t *testing.T, resources map[string]any, name string) map[string]any {
	t.Helper()
	r, ok := resources[name].(map[string]any)
	require.True(t, ok, "template.yaml has no resource %s", name)
	return r["Properties"].(map[string]any)
}

// TestTemplateAgreesWithRemediate keeps the template's wiring and the
// handler in step: the contract's environment, an allow-list that names the
// alarms the rule delivers, the guards (reserved concurrency, dead letters),
// the IAM actions the handler calls, and deploy's rollback alarms.
func TestTemplateAgreesWithRemediate(t *testing.T) {
	res := loadTemplate(t)
	fn := props(t, res, "RemediateFunction")
	env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	var names []string
	for k := range env {
		names = append(names, k)
	}
	assert.ElementsMatch(t, []string{"STATE_MACHINE_ARN", "ENDPOINT_NAME", "ARTIFACTS_BUCKET", "RAW_BUCKET", "RAW_PREFIX",
		"TOPIC_ARN", "DRIFT_ALARM_NAMES", "ERROR_ALARM_NAMES", "RETRAIN_COOLDOWN", "MAX_RETRAINS_PER_DAY"}, names)
	drift, errs := map[string]any{"Ref": "DriftAlarm"}, map[string]any{"Ref": "EndpointErrorsAlarm"}
	assert.Equal(t, drift, env["DRIFT_ALARM_NAMES"])
	assert.Equal(t, errs, env["ERROR_ALARM_NAMES"])

	rule := fn["Events"].(map[string]any)["AlarmStateChange"].(map[string]any)
	assert.Equal(t, "EventBridgeRule", rule["Type"])
	pattern := rule["Properties"].(map[string]any)["Pattern"].(map[string]any)
	assert.Equal(t, []any{AlarmSource}, pattern["source"])
	assert.Equal(t, []any{AlarmDetailType}, pattern["detail-type"])
	detail := pattern["detail"].(map[string]any)
	assert.Equal(t, []any{drift, errs}, detail["alarmName"], "the rule delivers exactly the allow-list")

	assert.NotNil(t, fn["ReservedConcurrentExecutions"], "reserved concurrency")
	onFailure := fn["EventInvokeConfig"].(map[string]any)["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{"MonitoringDLQ", "Arn"}}, onFailure["Destination"])

	var actions []string
	for _, p := range fn["Policies"].([]any) {
		for _, s := range p.(map[string]any)["Statement"].([]any) {
			switch a := s.(map[string]any)["Action"].(type) {
			case string:
				actions = append(actions, a)
			case []any:
				for _, x := range a {
					actions = append(actions, x.(string))
				}
			}
		}
	}
	for _, want := range []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "states:StartExecution",
		"states:ListExecutions", "sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpoint", "sns:Publish", "cloudwatch:SetAlarmState"} {
		assert.Contains(t, actions, want)
	}

	deployEnv := props(t, res, "DeployFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
	assert.Equal(t, map[string]any{"Fn::Join": []any{",", []any{errs, map[string]any{"Ref": "EndpointLatencyAlarm"}}}},
		deployEnv["ROLLBACK_ALARM_NAMES"], "SageMaker's auto-rollback watches the errors and latency alarms")
}

// TestEveryQueueHasADepthAlarm: every queue that receives failures is
// watched, so nothing waits in a dead-letter queue unnoticed.
func TestEveryQueueHasADepthAlarm(t *testing.T) {
	res := loadTemplate(t)
	watched := map[string]bool{}
	for _, r := range res {
		r := r.(map[string]any)
		if r["Type"] != "AWS::CloudWatch::Alarm" {
			continue
		}
		p := r["Properties"].(map[string]any)
		if p["MetricName"] != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		for _, d := range p["Dimensions"].([]any) {
			if v, ok := d.(map[string]any)["Value"].(map[string]any)["Fn::GetAtt"].([]any); ok {
				watched[v[0].(string)] = true
			}
		}
	}
	var queues []string
	for name, r := range res {
		if r.(map[string]any)["Type"] == "AWS::SQS::Queue" {
			queues = append(queues, name)
			assert.True(t, watched[name], "queue %s has no depth alarm", name)
		}
	}
	assert.NotEmpty(t, queues)
	assert.True(t, strings.Contains(strings.Join(queues, ","), "MonitoringDLQ"))
}
