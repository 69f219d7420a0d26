package samtemplate

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadApp(t *testing.T, opts Options) *Template {
	t.Helper()
	tpl, err := Load(filepath.Join("testdata", "app.yaml"), opts)
	require.NoError(t, err)
	return tpl
}

func TestLoadResolvesNamesAndARNs(t *testing.T) {
	tpl := loadApp(t, Options{})
	tests := []struct {
		name, got, want string
	}{
		{"generated bucket name is lower-cased", tpl.PhysicalName("RawBucket"), "localcloud-rawbucket"},
		{"explicit bucket name with Sub", tpl.PhysicalName("NamedBucket"), "artifacts-123456789012-dev"},
		{"function ARN", tpl.ARN("IngestFunction"), "arn:aws:lambda:us-east-1:123456789012:function:localcloud-IngestFunction"},
		{"named function", tpl.PhysicalName("InferFunction"), "infer-dev"},
		{"state machine ARN", tpl.ARN("Pipeline"), "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline-dev"},
		{"topic ARN", tpl.ARN("Topic"), "arn:aws:sns:us-east-1:123456789012:localcloud-Topic"},
		{"queue ARN", tpl.ARN("Dlq"), "arn:aws:sqs:us-east-1:123456789012:localcloud-dlq"},
		{"implicit role", tpl.Outputs["Role"], "arn:aws:iam::123456789012:role/localcloud-IngestFunctionRole"},
		{"unknown resource", tpl.ARN("Nope"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.got) })
	}
	assert.Equal(t, "live", tpl.Outputs["StageRef"], "!Ref Api.Stage")
	assert.Regexp(t, `^https://[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com/live$`, tpl.Outputs["StageURL"], "${Api.Stage} in Fn::Sub")
	assert.Regexp(t, `^https://[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com/Prod/$`, tpl.Outputs["ApiUrl"])
	_, present := tpl.Resources["ProdOnly"]
	assert.False(t, present, "a resource whose condition is false is dropped")
}

func TestFunctionsApplyGlobalsAndResolveEnv(t *testing.T) {
	tpl := loadApp(t, Options{Region: "eu-west-1", Parameters: map[string]string{"Environment": "prod"}})
	fns, err := tpl.Functions()
	require.NoError(t, err)
	require.Len(t, fns, 2)
	f := fns[1]
	assert.Equal(t, "IngestFunction", f.LogicalID)
	assert.Equal(t, "makefile", f.BuildMethod)
	assert.Equal(t, "bootstrap", f.Handler)
	assert.Equal(t, "provided.al2023", f.Runtime)
	assert.Equal(t, 30*time.Second, f.Timeout)
	assert.Equal(t, 1024, f.MemorySize)
	require.NotNil(t, f.ReservedConcurrency)
	assert.Equal(t, 5, *f.ReservedConcurrency)
	assert.Equal(t, map[string]string{
		"LOG_LEVEL":         "INFO",
		"NS":                "App/prod",
		"STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:123456789012:stateMachine:pipeline-prod",
		"RAW_BUCKET":        "localcloud-rawbucket",
		"QUEUE_URL":         "https://sqs.eu-west-1.amazonaws.com/123456789012/localcloud-dlq",
		"ALARMS":            "a,b",
		"MAYBE":             "yes",
	}, f.Env)
	assert.Equal(t, "arn:aws:sqs:eu-west-1:123456789012:localcloud-dlq", f.DeadLetterARN)
	require.NotNil(t, f.EventInvokeConfig)
	assert.Equal(t, 1, *f.EventInvokeConfig.MaximumRetryAttempts)
	assert.Equal(t, "arn:aws:sqs:eu-west-1:123456789012:localcloud-dlq", f.EventInvokeConfig.OnFailure)
	abs, _ := filepath.Abs("testdata")
	assert.Equal(t, abs, f.CodeURI)

	g := fns[0]
	assert.Equal(t, 10*time.Second, g.Timeout)
	assert.Equal(t, 128, g.MemorySize, "SAM's default memory size")
	assert.Nil(t, g.ReservedConcurrency)
	assert.NotContains(t, g.Env, "MAYBE")
	assert.Equal(t, filepath.Join(abs, "functions", "infer"), g.CodeURI)
	assert.Equal(t, LoggingConfig{LogFormat: "JSON", ApplicationLogLevel: "DEBUG", LogGroup: "/mlops/prod/infer"}, g.Logging)
	assert.Equal(t, LoggingConfig{}, f.Logging)
	assert.Equal(t, []string{"resource InferFunction property Layers: layers are not mounted at /opt; the function runs its own binary only"}, g.NotEmulated)
	assert.Empty(t, f.NotEmulated)
}

func TestEndpointOptionPointsQueueURLsAtTheLocalCloud(t *testing.T) {
	tpl := loadApp(t, Options{Endpoint: "http://127.0.0.1:4566/"})
	url, err := tpl.Ref("Dlq")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:4566/123456789012/localcloud-dlq", url)
}

func TestRules(t *testing.T) {
	tpl := loadApp(t, Options{})
	rules, err := tpl.Rules()
	require.NoError(t, err)
	require.Len(t, rules, 3)

	alarm := rules[0]
	assert.Equal(t, "AlarmRule", alarm.LogicalID)
	assert.JSONEq(t, `{"source":["aws.cloudwatch"]}`, string(alarm.Pattern))
	require.Len(t, alarm.Targets, 1)
	assert.Equal(t, tpl.ARN("IngestFunction"), alarm.Targets[0].ARN)
	require.NotNil(t, alarm.Targets[0].InputTransformer)
	assert.Equal(t, "$.detail.alarmName", alarm.Targets[0].InputTransformer.InputPathsMap["alarm"])

	hourly := rules[1]
	assert.Equal(t, "IngestFunctionHourly", hourly.LogicalID)
	assert.Equal(t, "rate(1 hour)", hourly.ScheduleExpression)
	assert.Equal(t, `{"k":1}`, hourly.Targets[0].Input)
	assert.True(t, hourly.Enabled)

	upload := rules[2]
	assert.JSONEq(t, `{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["localcloud-rawbucket"]}}}`, string(upload.Pattern))
	assert.Equal(t, 3, *upload.Targets[0].RetryPolicy.MaximumRetryAttempts)
	assert.Equal(t, tpl.ARN("Dlq"), upload.Targets[0].DeadLetterARN)
	assert.Equal(t, "arn:aws:events:us-east-1:123456789012:rule/localcloud-IngestFunctionUpload", upload.ARN)
	assert.Equal(t, upload.ARN, tpl.Outputs["UploadRuleArn"], "the rule SAM generates for an event can be referenced")
}

func TestStateMachinesApplySubstitutions(t *testing.T) {
	tpl := loadApp(t, Options{})
	sms, err := tpl.StateMachines()
	require.NoError(t, err)
	require.Len(t, sms, 1)
	var def struct {
		States map[string]struct{ Resource string }
	}
	require.NoError(t, json.Unmarshal(sms[0].Definition, &def))
	assert.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:infer-dev", def.States["Prepare"].Resource)
	assert.Equal(t, "STANDARD", sms[0].Type)
	assert.Equal(t, "arn:aws:iam::123456789012:role/localcloud-PipelineRole", sms[0].RoleARN)
}

func TestBucketsTopicsQueuesAPIs(t *testing.T) {
	tpl := loadApp(t, Options{})
	buckets := tpl.Buckets()
	require.Len(t, buckets, 2)
	assert.Equal(t, Bucket{LogicalID: "NamedBucket", Name: "artifacts-123456789012-dev", ARN: "arn:aws:s3:::artifacts-123456789012-dev"}, buckets[0])
	assert.True(t, buckets[1].EventBridge)
	assert.True(t, buckets[1].Versioned)

	topics, err := tpl.Topics()
	require.NoError(t, err)
	require.Len(t, topics, 1)
	assert.Equal(t, []Subscription{{Protocol: "sqs", Endpoint: tpl.ARN("Dlq")}}, topics[0].Subscriptions)

	queues, err := tpl.Queues()
	require.NoError(t, err)
	require.Len(t, queues, 1)
	assert.Equal(t, 1209600, queues[0].MessageRetentionPeriod)
	assert.Equal(t, 30, queues[0].VisibilityTimeout)

	apis, err := tpl.APIs()
	require.NoError(t, err)
	require.Len(t, apis, 2)
	assert.Equal(t, "Api", apis[0].LogicalID)
	assert.Empty(t, apis[0].Routes)
	apis = apis[1:]
	assert.Equal(t, "ServerlessRestApi", apis[0].LogicalID)
	assert.Equal(t, "Prod", apis[0].StageName)
	assert.Equal(t, []Route{
		{Method: "GET", Path: "/health", Function: "InferFunction", EventName: "Health"},
		{Method: "POST", Path: "/predict/{model}", Function: "InferFunction", EventName: "Predict"},
	}, apis[0].Routes)
}

func TestParseErrorsNameWhatIsWrong(t *testing.T) {
	base := "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n"
	tests := []struct {
		name    string
		yaml    string
		opts    Options
		wantErr string
	}{
		{"ImportValue is unsupported", base + "      Environment:\n        Variables:\n          X: !ImportValue other-stack-x\n",
			Options{}, "resource Fn property Environment.Variables.X: Fn::ImportValue is not supported"},
		{"Ref to unknown name", base + "      Role: !Ref Missing\n", Options{}, `resource Fn property Role: Ref "Missing": no such parameter or resource`},
		{"unknown GetAtt attribute", base + "      Role: !GetAtt Fn.Nope\n", Options{}, `attribute "Nope" of AWS::Serverless::Function is not supported locally`},
		{"Sub of unknown variable", base + "      Handler: !Sub '${Nope}'\n", Options{}, "resource Fn property Handler: Fn::Sub ${Nope}"},
		{"parameter without default", "Parameters:\n  P: {Type: String}\n" + base, Options{}, "parameter P has no Default: pass it with --parameter-overrides P=VALUE"},
		{"override of undeclared parameter", base, Options{Parameters: map[string]string{"Nope": "1"}}, `parameter override "Nope": the template declares no such parameter`},
		{"value outside AllowedValues", "Parameters:\n  P: {Type: String, Default: a, AllowedValues: [a, b]}\n" + base, Options{Parameters: map[string]string{"P": "c"}}, `parameter P: "c" is not one of AllowedValues`},
		{"unsupported transform", "Transform: AWS::Include\n" + base, Options{}, `Transform "AWS::Include" is not supported`},
		{"unsupported globals section", "Globals:\n  Nope: {}\n" + base, Options{}, `Globals: unsupported section "Nope"`},
		{"circular reference", "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventBusName: !GetAtt R.Arn\n", Options{}, "a circular reference?"},
		{"plain function loads", base, Options{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), tt.opts)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestFunctionViewErrors(t *testing.T) {
	tests := []struct{ name, props, wantErr string }{
		{"S3 code location", "      CodeUri: {Bucket: b, Key: k}\n", "resource Fn property CodeUri: an S3 location"},
		{"non-string env value", "      CodeUri: .\n      Environment: {Variables: {X: [1, 2]}}\n", "resource Fn property Environment.Variables.X"},
		{"bad timeout", "      CodeUri: .\n      Timeout: soon\n", "resource Fn property Timeout"},
		{"retry attempts out of range", "      CodeUri: .\n      EventInvokeConfig: {MaximumRetryAttempts: 5}\n", "EventInvokeConfig.MaximumRetryAttempts: 5 is not 0, 1 or 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Parse([]byte("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"+tt.props), Options{})
			require.NoError(t, err)
			_, err = tpl.Functions()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestParseParameterOverrides(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{"key value pairs", []string{"A=1 B=two"}, map[string]string{"A": "1", "B": "two"}, ""},
		{"quoted value with spaces", []string{`A="x y" B=z`}, map[string]string{"A": "x y", "B": "z"}, ""},
		{"CloudFormation form", []string{"ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue=a=b"}, map[string]string{"A": "1", "B": "a=b"}, ""},
		{"repeated flag", []string{"A=1", "B=2"}, map[string]string{"A": "1", "B": "2"}, ""},
		{"missing equals", []string{"A"}, nil, "want KEY=VALUE"},
		{"unterminated quote", []string{`A="x`}, nil, "unterminated double quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseParameterOverrides(tt.args...)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
