package stack

// Differences lists how the local cloud differs from AWS in ways a
// developer of the template can notice. docs/localcloud.md explains each.
func Differences() []string {
	return []string{
		"No IAM: roles and policies are recorded, never enforced; SigV4 signatures are parsed for routing, not verified.",
		"API Gateway: AWS_IAM routes check that a SigV4 signature scoped to execute-api is present and well-formed, not that it is valid; API keys, usage plans, throttling, request validation, WAF and Cognito authorizers are not applied; routes have no stage prefix.",
		"Lambda: functions are built for this machine (not linux/arm64) and run as local processes; memory size is not enforced; no X-Ray.",
		"S3: one local disk store, path-style addressing; no KMS encryption, bucket policies, lifecycle or public-access blocks.",
		"SNS: messages are appended to <state-dir>/sns/outbox.jsonl; subscriptions (e-mail, SQS, Lambda) are not delivered.",
		"EventBridge: the default bus only; no archives, replays, API destinations or cross-account buses.",
		"Step Functions: JSONPath only (no JSONata); executions running at shutdown are ABORTED on the next start; no CloudWatch Logs or X-Ray for executions.",
		"Glue: Python shell jobs run the script with the local python3 (no Spark, no DPUs, no security configuration).",
		"SageMaker: only the built-in XGBoost 1.7-1 image is emulated, trained and served with the local XGBoost; instances, spot capacity, KMS and VPC settings are recorded, not provisioned.",
		"CloudWatch: metrics come from EMF log lines and PutMetricData; alarms evaluate on the local clock; logs are files under <state-dir>/logs, not log groups.",
		"Time: every emulated wait uses the local clock (--speed N makes waits N times shorter, not the hours longer: alarm periods end on the machine's clock); function code runs in real time.",
	}
}
