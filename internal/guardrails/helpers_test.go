package guardrails

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefTarget(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
		ok   bool
	}{
		{"ref", map[string]any{"Ref": "Queue"}, "Queue", true},
		{"getatt", map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}, "Queue", true},
		{"sub with pseudo parameters", map[string]any{"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Queue.QueueName}"}, "Queue", true},
		{"sub of pseudo parameters only", map[string]any{"Fn::Sub": "${AWS::StackName}"}, "", false},
		{"literal", "arn:aws:sqs:us-east-1:1:q", "", false},
		{"other intrinsic", map[string]any{"Fn::ImportValue": "x"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := refTarget(tt.in)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReferences(t *testing.T) {
	v := map[string]any{
		"A": map[string]any{"Ref": "Bucket"},
		"B": []any{map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}},
		"C": map[string]any{"Fn::Sub": []any{"${Local}-${Topic}-${!Escaped}", map[string]any{"Local": "x"}}},
		"D": map[string]any{"Fn::Sub": "${Fn.Arn}"},
	}
	assert.ElementsMatch(t, []string{"Bucket", "Queue", "Topic", "Fn"}, references(v))
}

func TestJSONLogFormat(t *testing.T) {
	tests := []struct {
		name   string
		format any
		ok     bool
	}{
		{"quoted and bare variables", `{"id":"$context.requestId","status":$context.status,"len":$context.responseLength}`, true},
		{"sub", map[string]any{"Fn::Sub": `{"id":"$context.requestId","stage":"${Stage}"}`}, true},
		{"join of literals", map[string]any{"Fn::Join": []any{",", []any{`{"a":"$context.requestId"`, `"b":$context.status}`}}}, true},
		{"join with intrinsic", map[string]any{"Fn::Join": []any{"", []any{map[string]any{"Ref": "X"}}}}, false},
		{"CLF", `$context.identity.sourceIp - [$context.requestTime] "$context.httpMethod"`, false},
		{"empty object", `{}`, false},
		{"missing", nil, false},
		{"other intrinsic", map[string]any{"Fn::ImportValue": "fmt"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := jsonLogFormat(tt.format)
			assert.Equal(t, tt.ok, err == nil, "err %v", err)
		})
	}
}

func TestNumberResolvesParameterDefaults(t *testing.T) {
	tmpl := &Template{Parameters: map[string]any{"Days": map[string]any{"Type": "Number", "Default": 14}, "NoDefault": map[string]any{"Type": "Number"}}}
	n, ok := tmpl.number(map[string]any{"Ref": "Days"})
	assert.True(t, ok)
	assert.Equal(t, 14.0, n)
	_, ok = tmpl.number(map[string]any{"Ref": "NoDefault"})
	assert.False(t, ok)
	n, ok = tmpl.number("30")
	assert.True(t, ok)
	assert.Equal(t, 30.0, n)
	_, ok = tmpl.number("thirty")
	assert.False(t, ok)
}

// TestPlainCloudFormationResources checks the rules on the plain
// CloudFormation forms (AWS::Events::Rule, AWS::Lambda::Function,
// AWS::StepFunctions::StateMachine) that the good SAM template does not use.
func TestPlainCloudFormationResources(t *testing.T) {
	raw := decode(t, goodTemplate)
	resources := node(t, raw, "Resources")
	resources["NightlyRule"] = map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
		"ScheduleExpression": "rate(1 day)",
		"Targets":            []any{map[string]any{"Id": "deploy", "Arn": map[string]any{"Fn::GetAtt": []any{"DeployFunction", "Arn"}}}},
	}}
	resources["PlainFunction"] = map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{
		"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Timeout": 10, "MemorySize": 128,
		"Role": map[string]any{"Fn::GetAtt": []any{"TrainRole", "Arn"}},
	}}
	resources["PlainMachine"] = map[string]any{"Type": "AWS::StepFunctions::StateMachine", "Properties": map[string]any{
		"RoleArn":          map[string]any{"Fn::GetAtt": []any{"SageMakerRole", "Arn"}},
		"DefinitionString": `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:1:function:f"},"End":true}}}`,
	}}
	tmpl, err := New(raw, filepath.Dir(goodTemplate))
	require.NoError(t, err)
	got := map[string][]string{}
	for _, f := range Check(tmpl, Rules()).Findings {
		got[f.Rule] = append(got[f.Rule], f.Resource+"."+f.Property)
	}
	want := map[string]string{
		"eventbridge-target-dlq":   "NightlyRule.Properties.Targets[0].DeadLetterConfig",
		"eventbridge-target-retry": "NightlyRule.Properties.Targets[0].RetryPolicy.MaximumRetryAttempts",
		"function-async-failure":   "DeployFunction.Properties.EventInvokeConfig",
		"function-tracing":         "PlainFunction.Properties.Tracing",
		"function-log-retention":   "PlainFunction.Properties.LoggingConfig.LogGroup",
		"iam-role-per-function":    "PlainFunction.Properties.Role",
		"sfn-logging":              "PlainMachine.Properties.LoggingConfiguration.Level",
		"sfn-tracing":              "PlainMachine.Properties.TracingConfiguration.Enabled",
		"sfn-task-timeout":         "PlainMachine.Definition.States.T.TimeoutSeconds",
		"sfn-task-retry":           "PlainMachine.Definition.States.T.Retry",
		"sfn-task-catch":           "PlainMachine.Definition.States.T.Catch",
		"sfn-lambda-wiring":        "PlainMachine.Definition.States.T.Parameters.FunctionName",
	}
	for rule, where := range want {
		assert.Containsf(t, got[rule], where, "rule %s", rule)
	}
}

func TestOpenAPIAuthorizerPasses(t *testing.T) {
	raw := decode(t, goodTemplate)
	res(t, raw, "Api")["DefinitionBody"] = map[string]any{
		"openapi":  "3.0.1",
		"security": []any{map[string]any{"cognito": []any{}}},
		"components": map[string]any{"securitySchemes": map[string]any{
			"cognito": map[string]any{"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "cognito_user_pools"},
			"key":     map[string]any{"type": "apiKey", "name": "x-api-key", "in": "header"},
		}},
		"paths": map[string]any{
			"/predict": map[string]any{"post": map[string]any{"security": []any{map[string]any{"cognito": []any{}, "key": []any{}}}}},
			"/health":  map[string]any{"get": map[string]any{}},
		},
	}
	tmpl, err := New(raw, filepath.Dir(goodTemplate))
	require.NoError(t, err)
	for _, f := range Check(tmpl, Rules()).Findings {
		assert.NotEqual(t, "api-authorization", f.Rule, "%s", f)
	}
}

func TestOpenAPIAuthWithConditions(t *testing.T) {
	schemes := map[string]any{"Fn::If": []any{"UseCognito",
		map[string]any{"key": map[string]any{"type": "apiKey"}, "cognito": map[string]any{"type": "apiKey", "x-amazon-apigateway-authtype": "cognito_user_pools"}},
		map[string]any{"key": map[string]any{"type": "apiKey"}, "sigv4": map[string]any{"type": "apiKey", "x-amazon-apigateway-authtype": "awsSigv4"}},
	}}
	body := func(security any) map[string]any {
		return map[string]any{
			"components": map[string]any{"securitySchemes": schemes},
			"paths":      map[string]any{"/p": map[string]any{"post": map[string]any{"security": security}}},
		}
	}
	req := func(names ...string) []any {
		m := map[string]any{}
		for _, n := range names {
			m[n] = []any{}
		}
		return []any{m}
	}
	tests := []struct {
		name     string
		security any
		ok       bool
	}{
		{"both branches authenticate", map[string]any{"Fn::If": []any{"UseCognito", req("cognito", "key"), req("sigv4", "key")}}, true},
		{"one branch is only an API key", map[string]any{"Fn::If": []any{"UseCognito", req("cognito", "key"), req("key")}}, false},
		{"one branch drops security", map[string]any{"Fn::If": []any{"UseCognito", req("cognito"), map[string]any{"Ref": "AWS::NoValue"}}}, false},
		{"plain requirement", req("sigv4"), true},
		{"unknown scheme", req("oauth"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := openAPIAuth("Api", body(tt.security))
			assert.Equal(t, tt.ok, len(got) == 0, "%v", got)
		})
	}
}

func TestFixtureStackName(t *testing.T) {
	tests := []struct {
		name, samconfig, want string
	}{
		{"dev stack", "[default.deploy.parameters]\nstack_name = \"other\"\n[dev.deploy.parameters]\nstack_name = \"mlops-dev\"\n", "mlops-dev"},
		{"no dev stack", "[prod.deploy.parameters]\nstack_name = \"mlops-prod\"\n", "localcloud"},
		{"no samconfig", "", "localcloud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.samconfig != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "samconfig.toml"), []byte(tt.samconfig), 0o644))
			}
			assert.Equal(t, tt.want, fixtureStackName(dir))
		})
	}
}
