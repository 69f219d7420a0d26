package guardrails

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/cfnyaml"
)

const goodTemplate = "testdata/good/template.yaml"

// decode reads a template into the generic form mutations edit.
func decode(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	raw, err := cfnyaml.Decode(data)
	require.NoError(t, err)
	return raw
}

// node walks raw along path (map keys, or list indexes as ints) and
// returns the map found there; the test fails if it is missing.
func node(t *testing.T, raw any, path ...any) map[string]any {
	t.Helper()
	v := raw
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.Truef(t, ok, "%v: %q is not under a mapping", path, k)
			v, ok = m[k]
			require.Truef(t, ok, "%v: no %q", path, k)
		case int:
			l, ok := v.([]any)
			require.Truef(t, ok && k < len(l), "%v: no index %d", path, k)
			v = l[k]
		}
	}
	m, ok := v.(map[string]any)
	require.Truef(t, ok, "%v is %T, want a mapping", path, v)
	return m
}

// res returns the Properties of a resource of raw.
func res(t *testing.T, raw map[string]any, id string, path ...any) map[string]any {
	t.Helper()
	return node(t, raw, append([]any{"Resources", id, "Properties"}, path...)...)
}

// task returns a state of the good pipeline definition.
func task(t *testing.T, tmpl *Template, path ...any) map[string]any {
	t.Helper()
	return node(t, tmpl.Definitions["PipelineStateMachine"], path...)
}

// breakage is one way to break one rule of the good template.
type breakage struct {
	name string
	rule string
	// resource and property must appear in the finding.
	resource, property string
	mutate             func(t *testing.T, raw map[string]any)
	mutateDef          func(t *testing.T, tmpl *Template)
	// files, when set, replaces events/ fixtures (name -> content) in a copy
	// of the good template's directory.
	files map[string]string
}

func breakages() []breakage {
	return []breakage{
		// IAM
		{name: "star action", rule: "iam-wildcard-action", resource: "TrainRole", property: "Statement[0].Action",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "TrainRole"), "Policies", 0, "PolicyDocument", "Statement", 0)["Action"] = "*"
			}},
		{name: "service star action", rule: "iam-wildcard-action", resource: "IngestFunction", property: "Policies[2].Statement[0].Action",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "IngestFunction"), "Policies", 2, "Statement", 0)["Action"] = "s3:*"
			}},
		{name: "star resource on scopable action", rule: "iam-wildcard-resource", resource: "TrainRole", property: "Statement[0].Resource",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "TrainRole"), "Policies", 0, "PolicyDocument", "Statement", 0)["Resource"] = "*"
			}},
		{name: "policy template on every queue", rule: "iam-wildcard-resource", resource: "IngestFunction", property: "SQSSendMessagePolicy.Resource",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "IngestFunction"), "Policies", 1, "SQSSendMessagePolicy")["QueueName"] = "*"
			}},
		{name: "passrole on any role", rule: "iam-passrole-scoped", resource: "TrainRole", property: "Statement[1].Resource",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "TrainRole"), "Policies", 0, "PolicyDocument", "Statement", 1)["Resource"] = "arn:aws:iam::123456789012:role/*"
			}},
		{name: "passrole to any service", rule: "iam-passrole-scoped", resource: "TrainRole", property: "Statement[1].Condition",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(node(t, res(t, raw, "TrainRole"), "Policies", 0, "PolicyDocument", "Statement", 1), "Condition")
			}},
		{name: "admin managed policy", rule: "iam-privileged-managed-policy", resource: "TrainRole", property: "ManagedPolicyArns[0]",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "TrainRole")["ManagedPolicyArns"] = []any{"arn:aws:iam::aws:policy/AdministratorAccess"}
			}},
		{name: "full access policy on a function", rule: "iam-privileged-managed-policy", resource: "DeployFunction", property: "Policies[0]",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "DeployFunction")["Policies"] = []any{"AmazonSageMakerFullAccess"}
			}},
		{name: "unknown policy template", rule: "iam-policy-template-known", resource: "DeployFunction", property: "Policies[0].DynamoDBCrudPolicy",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "DeployFunction")["Policies"] = []any{map[string]any{"DynamoDBCrudPolicy": map[string]any{"TableName": "t"}}}
			}},
		{name: "shared role", rule: "iam-role-per-function", resource: "DeployFunction", property: "Properties.Role",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "DeployFunction")["Role"] = map[string]any{"Fn::GetAtt": []any{"TrainRole", "Arn"}}
			}},
		{name: "anyone may invoke", rule: "lambda-permission-principal", resource: "PartnerInvokePermission", property: "Properties.Principal",
			mutate: func(t *testing.T, raw map[string]any) { res(t, raw, "PartnerInvokePermission")["Principal"] = "*" }},
		{name: "service principal from any account", rule: "lambda-permission-source", resource: "PartnerInvokePermission", property: "Properties.SourceArn",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "PartnerInvokePermission"), "SourceArn") }},
		// Data
		{name: "bucket unencrypted", rule: "s3-encryption", resource: "RawBucket", property: "BucketEncryption",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "RawBucket"), "BucketEncryption") }},
		{name: "public policy allowed", rule: "s3-public-access-block", resource: "RawBucket", property: "BlockPublicPolicy",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "RawBucket", "PublicAccessBlockConfiguration")["BlockPublicPolicy"] = false
			}},
		{name: "versioning suspended", rule: "s3-versioning", resource: "RawBucket", property: "VersioningConfiguration.Status",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "RawBucket", "VersioningConfiguration")["Status"] = "Suspended"
			}},
		{name: "TLS deny turned into allow", rule: "s3-tls-only", resource: "RawBucket", property: "BucketPolicy",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "RawBucketPolicy"), "PolicyDocument", "Statement", 0)["Effect"] = "Allow"
			}},
		{name: "TLS condition on true", rule: "s3-tls-only", resource: "RawBucket", property: "BucketPolicy",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "RawBucketPolicy"), "PolicyDocument", "Statement", 0, "Condition", "Bool")["aws:SecureTransport"] = "true"
			}},
		{name: "topic unencrypted", rule: "sns-encryption", resource: "Topic", property: "KmsMasterKeyId",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "Topic"), "KmsMasterKeyId") }},
		{name: "queue unencrypted", rule: "sqs-encryption", resource: "IngestDLQ", property: "KmsMasterKeyId",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "IngestDLQ"), "KmsMasterKeyId") }},
		{name: "endpoint config without key", rule: "sagemaker-endpoint-kms", resource: "EndpointConfig", property: "Properties.KmsKeyId",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "EndpointConfig"), "KmsKeyId") }},
		{name: "data capture without key", rule: "sagemaker-endpoint-kms", resource: "EndpointConfig", property: "DataCaptureConfig.KmsKeyId",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "EndpointConfig", "DataCaptureConfig"), "KmsKeyId")
			}},
		{name: "deploy function without KMS key", rule: "sagemaker-endpoint-kms", resource: "DeployFunction", property: "KMS_KEY_ARN",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "DeployFunction", "Environment", "Variables"), "KMS_KEY_ARN")
			}},
		{name: "model without isolation", rule: "sagemaker-model-network-isolation", resource: "Model", property: "EnableNetworkIsolation",
			mutate: func(t *testing.T, raw map[string]any) { res(t, raw, "Model")["EnableNetworkIsolation"] = false }},
		{name: "train function without KMS key", rule: "sagemaker-training-encryption", resource: "TrainFunction", property: "KMS_KEY_ARN",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "TrainFunction", "Environment", "Variables"), "KMS_KEY_ARN")
			}},
		{name: "train KMS_KEY_ARN is a bucket", rule: "sagemaker-training-encryption", resource: "TrainFunction", property: "KMS_KEY_ARN",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "TrainFunction", "Environment", "Variables")["KMS_KEY_ARN"] = map[string]any{"Fn::GetAtt": []any{"RawBucket", "Arn"}}
			}},
		{name: "Glue job without security configuration", rule: "glue-security-configuration", resource: "PrepareJob", property: "SecurityConfiguration",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "PrepareJob"), "SecurityConfiguration") }},
		{name: "Glue security configuration without S3 encryption", rule: "glue-security-configuration", resource: "GlueSecurityConfiguration", property: "S3EncryptionMode",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "GlueSecurityConfiguration"), "EncryptionConfiguration", "S3Encryptions", 0)["S3EncryptionMode"] = "DISABLED"
			}},
		{name: "password in environment", rule: "lambda-env-secrets", resource: "DeployFunction", property: "Variables.DB_PASSWORD",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "DeployFunction", "Environment", "Variables")["DB_PASSWORD"] = "hunter2hunter2"
			}},
		{name: "access key in environment", rule: "lambda-env-secrets", resource: "DeployFunction", property: "Variables.UPSTREAM",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "DeployFunction", "Environment", "Variables")["UPSTREAM"] = "AKIAABCDEFGHIJKLMNOP"
			}},
		// API
		{name: "no default authorizer, API key only", rule: "api-authorization", resource: "InferFunction", property: "Events.Predict.Properties.Auth.Authorizer",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "Api", "Auth"), "DefaultAuthorizer") }},
		{name: "event opts out of authorization", rule: "api-authorization", resource: "InferFunction", property: "Events.Predict.Properties.Auth.Authorizer",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "InferFunction", "Events", "Predict", "Properties")["Auth"] = map[string]any{"Authorizer": "NONE"}
			}},
		{name: "plain method without authorization", rule: "api-authorization", resource: "OpenMethod", property: "AuthorizationType",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, raw, "Resources")["OpenMethod"] = map[string]any{"Type": "AWS::ApiGateway::Method", "Properties": map[string]any{
					"HttpMethod": "GET", "AuthorizationType": "NONE", "ApiKeyRequired": true, "RestApiId": map[string]any{"Ref": "Api"}, "ResourceId": "abc"}}
			}},
		{name: "OpenAPI operation with only an API key", rule: "api-authorization", resource: "Api", property: "paths./predict.post.security",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "Api")["DefinitionBody"] = map[string]any{
					"openapi": "3.0.1",
					"components": map[string]any{"securitySchemes": map[string]any{
						"key": map[string]any{"type": "apiKey", "name": "x-api-key", "in": "header"}}},
					"paths": map[string]any{"/predict": map[string]any{"post": map[string]any{"security": []any{map[string]any{"key": []any{}}}}}},
				}
			}},
		{name: "access log not JSON", rule: "api-access-logs-json", resource: "Api", property: "AccessLogSetting.Format",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "Api", "AccessLogSetting")["Format"] = "$context.requestId $context.status"
			}},
		{name: "no access log", rule: "api-access-logs-json", resource: "Api", property: "AccessLogSetting.DestinationArn",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "Api"), "AccessLogSetting") }},
		{name: "implicit API", rule: "api-access-logs-json", resource: "InferFunction", property: "RestApiId",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "InferFunction", "Events", "Predict", "Properties"), "RestApiId")
			}},
		{name: "no stage throttling", rule: "api-throttling", resource: "Api", property: "MethodSettings",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(node(t, res(t, raw, "Api"), "MethodSettings", 0), "ThrottlingBurstLimit")
			}},
		{name: "stage not traced", rule: "api-tracing", resource: "Api", property: "TracingEnabled",
			mutate: func(t *testing.T, raw map[string]any) { res(t, raw, "Api")["TracingEnabled"] = false }},
		// Functions
		{name: "x86 function", rule: "function-runtime", resource: "DeployFunction", property: "Architectures",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "DeployFunction")["Architectures"] = []any{"x86_64"}
			}},
		{name: "other runtime", rule: "function-runtime", resource: "DeployFunction", property: "Runtime",
			mutate: func(t *testing.T, raw map[string]any) { res(t, raw, "DeployFunction")["Runtime"] = "go1.x" }},
		{name: "no timeout anywhere", rule: "function-timeout-memory", resource: "DeployFunction", property: "Timeout",
			mutate: func(t *testing.T, raw map[string]any) { delete(node(t, raw, "Globals", "Function"), "Timeout") }},
		{name: "no memory size anywhere", rule: "function-timeout-memory", resource: "IngestFunction", property: "MemorySize",
			mutate: func(t *testing.T, raw map[string]any) { delete(node(t, raw, "Globals", "Function"), "MemorySize") }},
		{name: "tracing passthrough", rule: "function-tracing", resource: "TrainFunction", property: "Tracing",
			mutate: func(t *testing.T, raw map[string]any) { res(t, raw, "TrainFunction")["Tracing"] = "PassThrough" }},
		{name: "log group without retention", rule: "function-log-retention", resource: "DeployLogGroup", property: "RetentionInDays",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "DeployLogGroup"), "RetentionInDays") }},
		{name: "function without log group", rule: "function-log-retention", resource: "TrainFunction", property: "LoggingConfig.LogGroup",
			mutate: func(t *testing.T, raw map[string]any) { delete(node(t, raw, "Resources"), "TrainLogGroup") }},
		{name: "infer timeout beyond API Gateway", rule: "infer-timeout", resource: "InferFunction", property: "Timeout",
			mutate: func(t *testing.T, raw map[string]any) { res(t, raw, "InferFunction")["Timeout"] = 30 }},
		{name: "SageMaker call outlives the function", rule: "infer-timeout", resource: "InferFunction", property: "INVOKE_TIMEOUT",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "InferFunction")["Environment"] = map[string]any{"Variables": map[string]any{"INVOKE_TIMEOUT": "25s"}}
			}},
		{name: "INVOKE_TIMEOUT not a duration", rule: "infer-timeout", resource: "InferFunction", property: "INVOKE_TIMEOUT",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "InferFunction")["Environment"] = map[string]any{"Variables": map[string]any{"INVOKE_TIMEOUT": "5"}}
			}},
		{name: "integration gives up before the function", rule: "infer-timeout", resource: "Api", property: "timeoutInMillis",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "Api")["DefinitionBody"] = map[string]any{
					"security":   []any{map[string]any{"sigv4": []any{}}},
					"components": map[string]any{"securitySchemes": map[string]any{"sigv4": map[string]any{"type": "apiKey", "x-amazon-apigateway-authtype": "awsSigv4"}}},
					"paths": map[string]any{"/predict": map[string]any{"post": map[string]any{"x-amazon-apigateway-integration": map[string]any{
						"uri": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${InferFunction.Arn}/invocations"}, "timeoutInMillis": 5000}}}},
				}
			}},
		{name: "async without destination", rule: "function-async-failure", resource: "IngestFunction", property: "OnFailure",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "IngestFunction", "EventInvokeConfig"), "DestinationConfig")
			}},
		{name: "async retries unbounded", rule: "function-async-failure", resource: "IngestFunction", property: "MaximumRetryAttempts",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "IngestFunction", "EventInvokeConfig"), "MaximumRetryAttempts")
			}},
		{name: "async event age default", rule: "function-async-failure", resource: "IngestFunction", property: "MaximumEventAgeInSeconds",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "IngestFunction", "EventInvokeConfig"), "MaximumEventAgeInSeconds")
			}},
		{name: "async without invoke config", rule: "function-async-failure", resource: "IngestFunction", property: "EventInvokeConfig",
			mutate: func(t *testing.T, raw map[string]any) { delete(res(t, raw, "IngestFunction"), "EventInvokeConfig") }},
		{name: "ingest without reserved concurrency", rule: "function-reserved-concurrency", resource: "IngestFunction", property: "ReservedConcurrentExecutions",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "IngestFunction"), "ReservedConcurrentExecutions")
			}},
		// Events and queues
		{name: "rule target without DLQ", rule: "eventbridge-target-dlq", resource: "IngestFunction", property: "Events.ObjectCreated.Properties.DeadLetterConfig",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "IngestFunction", "Events", "ObjectCreated", "Properties"), "DeadLetterConfig")
			}},
		{name: "rule target without retry policy", rule: "eventbridge-target-retry", resource: "IngestFunction", property: "RetryPolicy.MaximumRetryAttempts",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "IngestFunction", "Events", "ObjectCreated", "Properties"), "RetryPolicy")
			}},
		{name: "DLQ without alarm", rule: "failure-queue-alarm", resource: "IngestDLQ", property: "Alarm",
			mutate: func(t *testing.T, raw map[string]any) { delete(node(t, raw, "Resources"), "IngestDLQDepthAlarm") }},
		{name: "SAM-generated DLQ", rule: "failure-queue-alarm", resource: "IngestFunction", property: "DeadLetterConfig.Type",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "IngestFunction", "Events", "ObjectCreated", "Properties")["DeadLetterConfig"] = map[string]any{"Type": "SQS"}
			}},
		// State machines
		{name: "definition missing", rule: "sfn-definition", resource: "PipelineStateMachine", property: "DefinitionUri",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "PipelineStateMachine")["DefinitionUri"] = "missing.asl.json"
			}},
		{name: "logging off", rule: "sfn-logging", resource: "PipelineStateMachine", property: "Logging.Level",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "PipelineStateMachine", "Logging")["Level"] = "OFF"
			}},
		{name: "logging without destination", rule: "sfn-logging", resource: "PipelineStateMachine", property: "Logging.Destinations",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "PipelineStateMachine", "Logging"), "Destinations")
			}},
		{name: "tracing off", rule: "sfn-tracing", resource: "PipelineStateMachine", property: "Tracing.Enabled",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "PipelineStateMachine", "Tracing")["Enabled"] = false
			}},
		{name: "task without timeout", rule: "sfn-task-timeout", resource: "PipelineStateMachine", property: "States.Train.TimeoutSeconds",
			mutateDef: func(t *testing.T, tmpl *Template) { delete(task(t, tmpl, "States", "Train"), "TimeoutSeconds") }},
		{name: "nested task without retry", rule: "sfn-task-retry", resource: "PipelineStateMachine", property: "Branches[0].States.Notify.Retry",
			mutateDef: func(t *testing.T, tmpl *Template) {
				delete(task(t, tmpl, "States", "Fanout", "Branches", 0, "States", "Notify"), "Retry")
			}},
		{name: "retry without MaxAttempts", rule: "sfn-task-retry", resource: "PipelineStateMachine", property: "States.Train.Retry[0].MaxAttempts",
			mutateDef: func(t *testing.T, tmpl *Template) {
				delete(task(t, tmpl, "States", "Train", "Retry", 0), "MaxAttempts")
			}},
		{name: "retry unbounded", rule: "sfn-task-retry", resource: "PipelineStateMachine", property: "States.Train.Retry[0].MaxAttempts",
			mutateDef: func(t *testing.T, tmpl *Template) {
				task(t, tmpl, "States", "Train", "Retry", 0)["MaxAttempts"] = 99999999
			}},
		{name: "only a do-not-retry retrier", rule: "sfn-task-retry", resource: "PipelineStateMachine", property: "States.Train.Retry",
			mutateDef: func(t *testing.T, tmpl *Template) { task(t, tmpl, "States", "Train", "Retry", 0)["MaxAttempts"] = 0 }},
		{name: "retry without backoff", rule: "sfn-task-retry", resource: "PipelineStateMachine", property: "States.Train.Retry[0].BackoffRate",
			mutateDef: func(t *testing.T, tmpl *Template) { task(t, tmpl, "States", "Train", "Retry", 0)["BackoffRate"] = 1.0 }},
		{name: "task without catch", rule: "sfn-task-catch", resource: "PipelineStateMachine", property: "States.Train.Catch",
			mutateDef: func(t *testing.T, tmpl *Template) { delete(task(t, tmpl, "States", "Train"), "Catch") }},
		{name: "substitution undefined", rule: "sfn-substitutions", resource: "PipelineStateMachine", property: "DefinitionSubstitutions.TopicArn",
			mutate: func(t *testing.T, raw map[string]any) {
				delete(res(t, raw, "PipelineStateMachine", "DefinitionSubstitutions"), "TopicArn")
			}},
		{name: "substitution unused", rule: "sfn-substitutions", resource: "PipelineStateMachine", property: "DefinitionSubstitutions.Stale",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "PipelineStateMachine", "DefinitionSubstitutions")["Stale"] = "x"
			}},
		{name: "invoked function not in template", rule: "sfn-lambda-wiring", resource: "PipelineStateMachine", property: "Parameters.FunctionName",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "PipelineStateMachine", "DefinitionSubstitutions")["TrainFunctionArn"] = map[string]any{"Fn::GetAtt": []any{"TrianFunction", "Arn"}}
			}},
		{name: "role may not invoke the function", rule: "sfn-lambda-wiring", resource: "PipelineStateMachine", property: "Parameters.FunctionName",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "PipelineStateMachine"), "Policies", 0, "LambdaInvokePolicy")["FunctionName"] = map[string]any{"Ref": "DeployFunction"}
			}},
		// Wiring
		{name: "event DLQ that does not exist", rule: "wiring-references", resource: "IngestFunction", property: "Properties.Events",
			mutate: func(t *testing.T, raw map[string]any) {
				res(t, raw, "IngestFunction", "Events", "ObjectCreated", "Properties", "DeadLetterConfig")["Arn"] = map[string]any{"Fn::GetAtt": []any{"IngestDQL", "Arn"}}
			}},
		{name: "pattern drifted from fixture", rule: "event-fixtures", resource: "IngestFunction", property: "events/ingest-object-created.json",
			mutate: func(t *testing.T, raw map[string]any) {
				node(t, res(t, raw, "IngestFunction", "Events", "ObjectCreated", "Properties", "Pattern", "detail", "object"), "key", 0)["prefix"] = "datasets/"
			}},
		{name: "rejected fixture that matches", rule: "event-fixtures", resource: "IngestFunction", property: "events/ingest-wrong-prefix.json",
			files: map[string]string{"ingest-wrong-prefix.json": readFile("testdata/good/events/ingest-object-created.json")}},
		{name: "manifest lists a missing fixture", rule: "event-fixtures", resource: "Template", property: "events/rule-matches.json",
			files: map[string]string{"rule-matches.json": `{"notMatching": {"ingest-gone.json": "kept for a case that was deleted long ago"}}`}},
		{name: "rejected fixture without a reason", rule: "event-fixtures", resource: "Template", property: "events/rule-matches.json",
			files: map[string]string{"rule-matches.json": `{"notMatching": {"ingest-wrong-prefix.json": "no"}}`}},
	}
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err) // test data is part of the package
	}
	return string(b)
}

// copyGood copies the good template's directory so fixtures can be edited.
func copyGood(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/good")))
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "events", name), []byte(content), 0o644))
	}
	return dir
}

func TestGoodTemplatePasses(t *testing.T) {
	tmpl, err := Load(goodTemplate)
	require.NoError(t, err)
	rep := Check(tmpl, Rules())
	assert.Empty(t, rep.Findings)
	assert.Empty(t, rep.Errors)
	assert.Empty(t, rep.Suppressions)
}

func TestEachRuleCatchesItsBreakage(t *testing.T) {
	for _, b := range breakages() {
		t.Run(b.rule+"/"+b.name, func(t *testing.T) {
			raw := decode(t, goodTemplate)
			if b.mutate != nil {
				b.mutate(t, raw)
			}
			dir := filepath.Dir(goodTemplate)
			if b.files != nil {
				dir = copyGood(t, b.files)
			}
			tmpl, err := New(raw, dir)
			require.NoError(t, err)
			if b.mutateDef != nil {
				b.mutateDef(t, tmpl)
			}
			rep := Check(tmpl, Rules())
			var hits []Finding
			for _, f := range rep.Findings {
				if f.Rule == b.rule {
					hits = append(hits, f)
				}
			}
			require.NotEmptyf(t, hits, "rule %s did not fire; findings: %v", b.rule, rep.Findings)
			found := false
			for _, f := range hits {
				if f.Resource == b.resource && strings.Contains(f.Property, b.property) {
					found = true
				}
			}
			assert.Truef(t, found, "no %s finding on %s.%s; got %v", b.rule, b.resource, b.property, hits)
		})
	}
}

func TestEveryRuleHasABreakingTest(t *testing.T) {
	covered := map[string]bool{}
	for _, b := range breakages() {
		covered[b.rule] = true
	}
	for _, r := range Rules() {
		assert.Truef(t, covered[r.ID], "rule %s has no breaking case in breakages()", r.ID)
	}
}

// publicRuleID matches the public rule ids the rules may cite.
var publicRuleID = regexp.MustCompile(`^(checkov CKV2?_AWS_\d+|cfn-nag [WF]\d+|serverless-rules [EW]S\d{4}|CT\.[A-Z]+\.PR\.\d+|AWS Config [A-Z0-9_]+)$`)

func TestRuleMetadata(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		t.Run(r.ID, func(t *testing.T) {
			assert.Regexp(t, `^[a-z0-9]+(-[a-z0-9]+)+$`, r.ID)
			assert.False(t, seen[r.ID], "duplicate id")
			seen[r.ID] = true
			assert.NotEmpty(t, r.Reason)
			assert.NotContains(t, r.Reason, "\n", "reason is one line")
			assert.NotNil(t, r.Check)
			for _, m := range r.Mirrors {
				assert.Regexp(t, publicRuleID, m)
			}
		})
	}
}

func TestRulesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/guardrails.md")
	require.NoError(t, err)
	for _, r := range Rules() {
		assert.Containsf(t, string(doc), "`"+r.ID+"`", "docs/guardrails.md does not list %s", r.ID)
		for _, m := range r.Mirrors {
			id := m[strings.LastIndex(m, " ")+1:]
			assert.Containsf(t, string(doc), id, "docs/guardrails.md does not cite %s for %s", id, r.ID)
		}
	}
}
