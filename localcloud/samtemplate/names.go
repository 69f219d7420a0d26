package samtemplate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// nameProperty is the property holding a resource's explicit physical name.
var nameProperty = map[string]string{
	"AWS::Serverless::Function":        "FunctionName",
	"AWS::Lambda::Function":            "FunctionName",
	"AWS::S3::Bucket":                  "BucketName",
	"AWS::SNS::Topic":                  "TopicName",
	"AWS::SQS::Queue":                  "QueueName",
	"AWS::Serverless::StateMachine":    "Name",
	"AWS::StepFunctions::StateMachine": "StateMachineName",
	"AWS::Events::Rule":                "Name",
	"AWS::Events::EventBus":            "Name",
	"AWS::IAM::Role":                   "RoleName",
	"AWS::IAM::ManagedPolicy":          "ManagedPolicyName",
	"AWS::Logs::LogGroup":              "LogGroupName",
	"AWS::CloudWatch::Alarm":           "AlarmName",
	"AWS::CloudWatch::CompositeAlarm":  "AlarmName",
	"AWS::Glue::Job":                   "Name",
	"AWS::Glue::Database":              "DatabaseInput.Name",
	"AWS::DynamoDB::Table":             "TableName",
	"AWS::Serverless::SimpleTable":     "TableName",
	"AWS::Serverless::Api":             "Name",
	"AWS::ApiGateway::RestApi":         "Name",
	"AWS::Serverless::HttpApi":         "Name",
	"AWS::KMS::Alias":                  "AliasName",
	"AWS::SSM::Parameter":              "Name",
	"AWS::SageMaker::Model":            "ModelName",
	"AWS::SageMaker::Endpoint":         "EndpointName",
	"AWS::SageMaker::EndpointConfig":   "EndpointConfigName",
	"AWS::ApiGateway::UsagePlan":       "UsagePlanName",
	"AWS::ApiGateway::ApiKey":          "Name",
	"AWS::Serverless::LayerVersion":    "LayerName",
	"AWS::Lambda::LayerVersion":        "LayerName",
	"AWS::SecretsManager::Secret":      "Name",
	"AWS::ECR::Repository":             "RepositoryName",
	"AWS::Scheduler::Schedule":         "Name",
	"AWS::Pipes::Pipe":                 "Name",
}

// physicalName returns the resource's explicit name, or
// "<stack>-<LogicalId>" (bucket names lower-cased, everything cut to the
// service's length limit). It resolves the name property on demand, so a
// name built from other resources' names works; cycles are errors.
func (r *resolver) physicalName(id string) (string, error) {
	if n, ok := r.nameMemo[id]; ok {
		return n, nil
	}
	res, ok := r.resources[id]
	if !ok {
		return "", fmt.Errorf("no resource %q", id)
	}
	if r.nameBusy[id] {
		return "", fmt.Errorf("resource %s: its name refers to itself", id)
	}
	r.nameBusy[id] = true
	defer delete(r.nameBusy, id)

	name := ""
	if prop := nameProperty[res.typ]; prop != "" {
		var v any = res.properties
		for _, p := range strings.Split(prop, ".") {
			v = mapOf(v)[p]
		}
		if v != nil {
			rv, err := r.resolve(v, "resource "+id+" property "+prop)
			if err != nil {
				return "", err
			}
			if _, drop := rv.(noValue); !drop {
				s, err := scalarString(rv)
				if err != nil {
					return "", fmt.Errorf("resource %s property %s: %w", id, prop, err)
				}
				name = s
			}
		}
	}
	if name == "" {
		name = generatedName(r.opts.StackName, id, res)
	}
	r.nameMemo[id] = name
	return name, nil
}

func generatedName(stack, id string, res *rawResource) string {
	name := stack + "-" + id
	limit := 64
	switch res.typ {
	case "AWS::S3::Bucket":
		name = strings.ToLower(name)
		limit = 63
	case "AWS::SQS::Queue":
		limit = 80
		if b, _ := res.properties["FifoQueue"].(bool); b {
			return truncate(name, limit-5) + ".fifo"
		}
	case "AWS::SNS::Topic":
		limit = 256
		if b, _ := res.properties["FifoTopic"].(bool); b {
			return truncate(name, limit-5) + ".fifo"
		}
	case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
		limit = 80
	}
	return truncate(name, limit)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// localUUID is a deterministic UUID-shaped id derived from seed.
func localUUID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// localID is a deterministic lower-case alphanumeric id of length n
// (API Gateway ids are 10 such characters).
func localID(seed string, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	h := sha256.Sum256([]byte(seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[int(h[i])%len(alphabet)]
	}
	return string(b)
}

// arn returns the resource's ARN.
func (r *resolver) arn(id string) (string, error) {
	res, ok := r.resources[id]
	if !ok {
		return "", fmt.Errorf("no resource %q", id)
	}
	name, err := r.physicalName(id)
	if err != nil {
		return "", err
	}
	reg, acct := r.opts.Region, r.opts.AccountID
	switch res.typ {
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", reg, acct, name), nil
	case "AWS::S3::Bucket":
		return "arn:aws:s3:::" + name, nil
	case "AWS::SNS::Topic":
		return fmt.Sprintf("arn:aws:sns:%s:%s:%s", reg, acct, name), nil
	case "AWS::SQS::Queue":
		return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", reg, acct, name), nil
	case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
		return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", reg, acct, name), nil
	case "AWS::Events::Rule":
		bus, err := r.propString(id, "EventBusName")
		if err != nil {
			return "", err
		}
		if bus != "" && bus != "default" {
			if strings.HasPrefix(bus, "arn:") {
				bus = bus[strings.LastIndex(bus, "/")+1:]
			}
			return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", reg, acct, bus, name), nil
		}
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", reg, acct, name), nil
	case "AWS::Events::EventBus":
		return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", reg, acct, name), nil
	case "AWS::IAM::Role":
		return fmt.Sprintf("arn:aws:iam::%s:role/%s", acct, name), nil
	case "AWS::IAM::ManagedPolicy":
		return fmt.Sprintf("arn:aws:iam::%s:policy/%s", acct, name), nil
	case "AWS::KMS::Key":
		return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", reg, acct, localUUID("kms/"+id)), nil
	case "AWS::KMS::Alias":
		return fmt.Sprintf("arn:aws:kms:%s:%s:%s", reg, acct, name), nil
	case "AWS::Logs::LogGroup":
		return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", reg, acct, name), nil
	case "AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm":
		return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", reg, acct, name), nil
	case "AWS::Glue::Job":
		return fmt.Sprintf("arn:aws:glue:%s:%s:job/%s", reg, acct, name), nil
	case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
		return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", reg, acct, name), nil
	case "AWS::Serverless::Api", "AWS::ApiGateway::RestApi":
		return fmt.Sprintf("arn:aws:apigateway:%s::/restapis/%s", reg, localID("api/"+id, 10)), nil
	case "AWS::Serverless::HttpApi":
		return fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s", reg, localID("api/"+id, 10)), nil
	case "AWS::SageMaker::Model":
		return fmt.Sprintf("arn:aws:sagemaker:%s:%s:model/%s", reg, acct, strings.ToLower(name)), nil
	case "AWS::SageMaker::Endpoint":
		return fmt.Sprintf("arn:aws:sagemaker:%s:%s:endpoint/%s", reg, acct, strings.ToLower(name)), nil
	case "AWS::SageMaker::EndpointConfig":
		return fmt.Sprintf("arn:aws:sagemaker:%s:%s:endpoint-config/%s", reg, acct, strings.ToLower(name)), nil
	case "AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion":
		return fmt.Sprintf("arn:aws:lambda:%s:%s:layer:%s:1", reg, acct, name), nil
	case "AWS::SSM::Parameter":
		return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", reg, acct, strings.TrimPrefix(name, "/")), nil
	case "AWS::SecretsManager::Secret":
		return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", reg, acct, name, localID("secret/"+id, 6)), nil
	case "AWS::WAFv2::WebACL":
		return fmt.Sprintf("arn:aws:wafv2:%s:%s:regional/webacl/%s/%s", reg, acct, name, localUUID("waf/"+id)), nil
	case "AWS::Scheduler::Schedule":
		return fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/default/%s", reg, acct, name), nil
	}
	// Generic: arn:aws:<service>:<region>:<account>:<type>/<name>.
	parts := strings.Split(res.typ, "::")
	if len(parts) == 3 && parts[0] == "AWS" {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", strings.ToLower(parts[1]), reg, acct, strings.ToLower(parts[2]), name), nil
	}
	return "", fmt.Errorf("resource %s: type %s has no local ARN", id, res.typ)
}

// propString resolves a string property of a resource ("" when unset).
func (r *resolver) propString(id, prop string) (string, error) {
	res := r.resources[id]
	v, ok := res.properties[prop]
	if !ok {
		return "", nil
	}
	rv, err := r.resolve(v, "resource "+id+" property "+prop)
	if err != nil {
		return "", err
	}
	if _, drop := rv.(noValue); drop {
		return "", nil
	}
	s, err := scalarString(rv)
	if err != nil {
		return "", fmt.Errorf("resource %s property %s: %w", id, prop, err)
	}
	return s, nil
}

// queueURL is where the local SQS emulator (or AWS) serves a queue.
func (r *resolver) queueURL(name string) string {
	if r.opts.Endpoint != "" {
		return strings.TrimRight(r.opts.Endpoint, "/") + "/" + r.opts.AccountID + "/" + name
	}
	return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", r.opts.Region, r.opts.AccountID, name)
}

// refResource is what Ref returns for each resource type.
func (r *resolver) refResource(id string, res *rawResource) (any, error) {
	switch res.typ {
	case "AWS::SNS::Topic", "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine",
		"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion", "AWS::SecretsManager::Secret",
		"AWS::SageMaker::Model", "AWS::SageMaker::Endpoint", "AWS::SageMaker::EndpointConfig",
		"AWS::IAM::ManagedPolicy":
		return r.arn(id)
	case "AWS::SQS::Queue":
		name, err := r.physicalName(id)
		if err != nil {
			return nil, err
		}
		return r.queueURL(name), nil
	case "AWS::KMS::Key":
		return localUUID("kms/" + id), nil
	case "AWS::Serverless::Api", "AWS::ApiGateway::RestApi", "AWS::Serverless::HttpApi",
		"AWS::ApiGatewayV2::Api", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::ApiKey",
		"AWS::ApiGateway::Resource", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Authorizer":
		return localID("api/"+id, 10), nil
	case "AWS::WAFv2::WebACL":
		name, err := r.physicalName(id)
		if err != nil {
			return nil, err
		}
		arn, err := r.arn(id)
		if err != nil {
			return nil, err
		}
		return name + "|" + localUUID("waf/"+id) + "|REGIONAL|" + arn, nil
	case "AWS::Lambda::Permission", "AWS::SNS::Subscription", "AWS::SQS::QueuePolicy",
		"AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::IAM::Policy",
		"AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventInvokeConfig",
		"AWS::WAFv2::WebACLAssociation", "AWS::ApiGateway::UsagePlanKey", "AWS::ApiGateway::Method",
		"AWS::ApiGateway::Stage":
		return r.opts.StackName + "-" + id + "-" + localID("id/"+id, 8), nil
	}
	return r.physicalName(id)
}

// getAtt resolves Fn::GetAtt for the attributes the local cloud knows.
func (r *resolver) getAtt(id, attr string) (any, error) {
	res, ok := r.resources[id]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such resource", id, attr)
	}
	name := func() (any, error) { return r.physicalName(id) }
	arn := func() (any, error) { return r.arn(id) }
	attrs := map[string]func() (any, error){}
	switch res.typ {
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		attrs["Arn"] = arn
	case "AWS::S3::Bucket":
		attrs["Arn"] = arn
		domain := func(suffix string) func() (any, error) {
			return func() (any, error) {
				n, err := r.physicalName(id)
				return n + suffix, err
			}
		}
		attrs["DomainName"] = domain(".s3.amazonaws.com")
		attrs["RegionalDomainName"] = domain(".s3." + r.opts.Region + ".amazonaws.com")
		attrs["DualStackDomainName"] = domain(".s3.dualstack." + r.opts.Region + ".amazonaws.com")
		attrs["WebsiteURL"] = func() (any, error) {
			n, err := r.physicalName(id)
			return "http://" + n + ".s3-website-" + r.opts.Region + ".amazonaws.com", err
		}
	case "AWS::SNS::Topic":
		attrs["TopicArn"] = arn
		attrs["TopicName"] = name
	case "AWS::SQS::Queue":
		attrs["Arn"] = arn
		attrs["QueueName"] = name
		attrs["QueueUrl"] = func() (any, error) {
			n, err := r.physicalName(id)
			return r.queueURL(n), err
		}
	case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
		attrs["Arn"] = arn
		attrs["Name"] = name
	case "AWS::IAM::Role":
		attrs["Arn"] = arn
		attrs["RoleId"] = func() (any, error) { return "AROA" + strings.ToUpper(localID("role/"+id, 17)), nil }
	case "AWS::KMS::Key":
		attrs["Arn"] = arn
		attrs["KeyId"] = func() (any, error) { return localUUID("kms/" + id), nil }
	case "AWS::Serverless::Api", "AWS::ApiGateway::RestApi":
		attrs["RootResourceId"] = func() (any, error) { return localID("root/"+id, 10), nil }
		attrs["RestApiId"] = func() (any, error) { return localID("api/"+id, 10), nil }
	case "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api":
		attrs["ApiEndpoint"] = func() (any, error) {
			return "https://" + localID("api/"+id, 10) + ".execute-api." + r.opts.Region + ".amazonaws.com", nil
		}
		attrs["ApiId"] = func() (any, error) { return localID("api/"+id, 10), nil }
	case "AWS::DynamoDB::Table":
		attrs["Arn"] = arn
		attrs["StreamArn"] = func() (any, error) {
			a, err := r.arn(id)
			return a + "/stream/1970-01-01T00:00:00.000", err
		}
	case "AWS::SageMaker::Model":
		attrs["ModelName"] = name
	case "AWS::SageMaker::Endpoint":
		attrs["EndpointName"] = name
	case "AWS::SageMaker::EndpointConfig":
		attrs["EndpointConfigName"] = name
	case "AWS::Logs::LogGroup", "AWS::Events::Rule", "AWS::Events::EventBus", "AWS::CloudWatch::Alarm",
		"AWS::CloudWatch::CompositeAlarm", "AWS::SecretsManager::Secret", "AWS::WAFv2::WebACL":
		attrs["Arn"] = arn
		if res.typ == "AWS::Events::EventBus" {
			attrs["Name"] = name
		}
		if res.typ == "AWS::WAFv2::WebACL" {
			attrs["Id"] = func() (any, error) { return localUUID("waf/" + id), nil }
		}
	default:
		attrs["Arn"] = arn
		attrs["Name"] = name
	}
	f, ok := attrs[attr]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: attribute %q of %s is not supported locally (supported: %s)", id, attr, attr, res.typ, sortedAttrs(attrs))
	}
	return f()
}
