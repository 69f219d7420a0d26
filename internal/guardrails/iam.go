package guardrails

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gomlops/mlops/internal/cfnyaml"
)

// unscopableActions may only be granted on Resource "*": IAM has no
// resource type for them (Service Authorization Reference). Anything else
// with Resource "*" is a finding.
var unscopableActions = map[string]bool{
	"xray:puttracesegments":              true,
	"xray:puttelemetryrecords":           true,
	"xray:getsamplingrules":              true,
	"xray:getsamplingtargets":            true,
	"xray:getsamplingstatisticsummaries": true,
	"cloudwatch:putmetricdata":           true,
	"cloudwatch:getmetricdata":           true,
	"cloudwatch:getmetricstatistics":     true,
	"cloudwatch:listmetrics":             true,
	// Step Functions and API Gateway need these to deliver logs to CloudWatch Logs.
	"logs:createlogdelivery":        true,
	"logs:getlogdelivery":           true,
	"logs:updatelogdelivery":        true,
	"logs:deletelogdelivery":        true,
	"logs:listlogdeliveries":        true,
	"logs:putresourcepolicy":        true,
	"logs:describeresourcepolicies": true,
	"logs:describeloggroups":        true,
	"ssm:describeparameters":        true,
	"ecr:getauthorizationtoken":     true,
	"sagemaker:search":              true,
	"states:liststatemachines":      true,
}

// policyTemplates are the SAM policy templates the guardrails understand:
// each expands to the statements SAM generates (actions abridged to what
// the checks need), scoped to the template's parameter. Any other policy
// template is a finding: write an inline statement instead, or add its
// expansion here.
var policyTemplates = map[string]struct {
	param   string
	actions []string
}{
	"S3ReadPolicy":                          {"BucketName", []string{"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:GetLifecycleConfiguration"}},
	"S3WritePolicy":                         {"BucketName", []string{"s3:PutObject", "s3:PutObjectAcl", "s3:PutLifecycleConfiguration"}},
	"S3CrudPolicy":                          {"BucketName", []string{"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:DeleteObject"}},
	"SQSSendMessagePolicy":                  {"QueueName", []string{"sqs:SendMessage*"}},
	"SQSPollerPolicy":                       {"QueueName", []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}},
	"SNSPublishMessagePolicy":               {"TopicName", []string{"sns:Publish"}},
	"LambdaInvokePolicy":                    {"FunctionName", []string{"lambda:InvokeFunction"}},
	"StepFunctionsExecutionPolicy":          {"StateMachineName", []string{"states:StartExecution"}},
	"KMSDecryptPolicy":                      {"KeyId", []string{"kms:Decrypt"}},
	"KMSEncryptPolicy":                      {"KeyId", []string{"kms:Encrypt"}},
	"SSMParameterReadPolicy":                {"ParameterName", []string{"ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"}},
	"EventBridgePutEventsPolicy":            {"EventBusName", []string{"events:PutEvents"}},
	"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn", []string{"secretsmanager:GetSecretValue"}},
	"CloudWatchPutMetricPolicy":             {"", []string{"cloudwatch:PutMetricData"}},
}

// statement is one policy statement with where it came from.
type statement struct {
	resource string
	prop     string
	body     map[string]any
}

// managedRef is one managed policy attached to a principal.
type managedRef struct {
	resource, prop, name string
}

// policies collects every identity policy statement and managed policy in
// the template. Unknown SAM policy templates come back as findings.
func policies(t *Template) (stmts []statement, managed []managedRef, unknown []Finding) {
	addDoc := func(res, prop string, doc any) {
		for i, s := range asList(asMap(doc)["Statement"]) {
			if m := asMap(s); m != nil {
				stmts = append(stmts, statement{res, fmt.Sprintf("%s.Statement[%d]", prop, i), m})
			}
		}
	}
	for _, r := range t.Sorted() {
		switch r.Type {
		case "AWS::IAM::Role":
			for i, p := range asList(r.Properties["Policies"]) {
				addDoc(r.ID, fmt.Sprintf("Policies[%d].PolicyDocument", i), asMap(p)["PolicyDocument"])
			}
			for i, a := range asList(r.Properties["ManagedPolicyArns"]) {
				if s, ok := a.(string); ok {
					managed = append(managed, managedRef{r.ID, fmt.Sprintf("ManagedPolicyArns[%d]", i), s})
				}
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			addDoc(r.ID, "PolicyDocument", r.Properties["PolicyDocument"])
		case "AWS::Serverless::Function", "AWS::Serverless::StateMachine":
			for i, p := range asList(r.Properties["Policies"]) {
				prop := fmt.Sprintf("Policies[%d]", i)
				switch v := p.(type) {
				case string:
					managed = append(managed, managedRef{r.ID, prop, v})
				case map[string]any:
					if _, ok := v["Statement"]; ok {
						addDoc(r.ID, prop, v)
						continue
					}
					if cfnyaml.IsIntrinsic(v) {
						continue // a Ref to a managed policy in the template is checked there
					}
					for name, params := range v {
						exp, ok := policyTemplates[name]
						if !ok {
							unknown = append(unknown, finding(r.ID, prop+"."+name,
								"SAM policy template %s is not understood by the guardrails: use an inline statement (or teach guardrails its expansion)", name))
							continue
						}
						res := any("*")
						if exp.param != "" {
							pv := asMap(params)[exp.param]
							if !present(pv) {
								unknown = append(unknown, finding(r.ID, prop+"."+name, "policy template %s has no %s", name, exp.param))
								continue
							}
							res = pv
						}
						acts := make([]any, len(exp.actions))
						for j, a := range exp.actions {
							acts[j] = a
						}
						stmts = append(stmts, statement{r.ID, prop + "." + name, map[string]any{
							"Effect": "Allow", "Action": acts, "Resource": res, "samTemplate": name,
						}})
					}
				}
			}
		}
	}
	return stmts, managed, unknown
}

func allows(s map[string]any) bool { return s["Effect"] == "Allow" }

func lowerStrings(v any) []string {
	var out []string
	for _, s := range asStrings(v) {
		out = append(out, strings.ToLower(s))
	}
	return out
}

// wildcardResource reports whether a statement's resources include "*" (or
// a policy template parameter that is a wildcard).
func wildcardResource(s map[string]any) bool {
	for _, r := range asStrings(s["Resource"]) {
		if r == "*" || (s["samTemplate"] != nil && strings.Contains(r, "*")) {
			return true
		}
	}
	return s["NotResource"] != nil
}

func iamRules() []Rule {
	return []Rule{
		{
			ID:      "iam-wildcard-action",
			Mirrors: []string{"cfn-nag F3", "checkov CKV_AWS_63"},
			Reason:  "An Allow on \"*\" or \"service:*\" grants every present and future action of the service.",
			Check: func(t *Template) []Finding {
				stmts, _, _ := policies(t)
				var out []Finding
				for _, s := range stmts {
					if !allows(s.body) {
						continue
					}
					if s.body["NotAction"] != nil {
						out = append(out, finding(s.resource, s.prop+".NotAction", "Allow with NotAction grants every other action"))
					}
					for _, a := range lowerStrings(s.body["Action"]) {
						if a == "*" || strings.HasSuffix(a, ":*") {
							out = append(out, finding(s.resource, s.prop+".Action", "allows %q: list the actions the code calls", a))
						}
					}
				}
				return out
			},
		},
		{
			ID:      "iam-wildcard-resource",
			Mirrors: []string{"cfn-nag W11"},
			Reason:  "Resource \"*\" lets a role act on every resource of the account; only actions IAM cannot scope may use it.",
			Check: func(t *Template) []Finding {
				stmts, _, _ := policies(t)
				var out []Finding
				for _, s := range stmts {
					if !allows(s.body) || !wildcardResource(s.body) {
						continue
					}
					var scopable []string
					for _, a := range lowerStrings(s.body["Action"]) {
						if !unscopableActions[a] {
							scopable = append(scopable, a)
						}
					}
					if len(scopable) > 0 || s.body["NotAction"] != nil {
						sort.Strings(scopable)
						out = append(out, finding(s.resource, s.prop+".Resource",
							"Resource \"*\" for actions that can be scoped to named resources: %s", strings.Join(scopable, ", ")))
					}
				}
				return out
			},
		},
		{
			ID:      "iam-passrole-scoped",
			Mirrors: []string{"cfn-nag F38"},
			Reason:  "iam:PassRole on any role, or to any service, is privilege escalation.",
			Check: func(t *Template) []Finding {
				stmts, _, _ := policies(t)
				var out []Finding
				for _, s := range stmts {
					if !allows(s.body) {
						continue
					}
					pass := false
					for _, a := range lowerStrings(s.body["Action"]) {
						if a == "iam:passrole" || a == "iam:pass*" || a == "iam:*" || a == "*" {
							pass = true
						}
					}
					if !pass {
						continue
					}
					for _, r := range asStrings(s.body["Resource"]) {
						if strings.Contains(r, "*") {
							out = append(out, finding(s.resource, s.prop+".Resource", "iam:PassRole on %q: name the roles", r))
						}
					}
					if !hasConditionKey(s.body["Condition"], "iam:PassedToService") {
						out = append(out, finding(s.resource, s.prop+".Condition", "iam:PassRole without an iam:PassedToService condition"))
					}
				}
				return out
			},
		},
		{
			ID:      "iam-privileged-managed-policy",
			Mirrors: []string{"cfn-nag W43", "checkov CKV_AWS_274"},
			Reason:  "AdministratorAccess, PowerUserAccess and *FullAccess managed policies grant far more than a function needs.",
			Check: func(t *Template) []Finding {
				_, managed, _ := policies(t)
				var out []Finding
				for _, m := range managed {
					name := m.name[strings.LastIndex(m.name, "/")+1:]
					if name == "AdministratorAccess" || name == "PowerUserAccess" || strings.HasSuffix(name, "FullAccess") {
						out = append(out, finding(m.resource, m.prop, "managed policy %s is privileged: grant the actions inline", name))
					}
				}
				return out
			},
		},
		{
			ID:     "iam-policy-template-known",
			Reason: "A SAM policy template the guardrails cannot expand would hide its grants from every IAM rule.",
			Check: func(t *Template) []Finding {
				_, _, unknown := policies(t)
				return unknown
			},
		},
		{
			ID:     "iam-role-per-function",
			Reason: "A role shared between functions (or with a state machine) gives each the union of their permissions.",
			Check: func(t *Template) []Finding {
				users := map[string][]string{}
				props := map[string]string{}
				for _, r := range t.Sorted("AWS::Serverless::Function", "AWS::Lambda::Function", "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine") {
					for _, p := range []string{"Role", "RoleArn"} {
						v := r.Properties[p]
						if v == nil {
							continue
						}
						key, ok := refTarget(v)
						if !ok {
							key = fmt.Sprint(v)
						}
						users[key] = append(users[key], r.ID)
						props[r.ID] = p
					}
				}
				var out []Finding
				keys := make([]string, 0, len(users))
				for k := range users {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					if ids := users[k]; len(ids) > 1 {
						for _, id := range ids {
							out = append(out, finding(id, "Properties."+props[id], "role %s is shared by %s: give each its own role", k, strings.Join(ids, ", ")))
						}
					}
				}
				return out
			},
		},
		{
			ID:      "lambda-permission-principal",
			Mirrors: []string{"cfn-nag F13"},
			Reason:  "A Lambda permission for principal \"*\" lets anyone invoke the function.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, r := range t.Sorted("AWS::Lambda::Permission") {
					if p, _ := r.Properties["Principal"].(string); p == "*" || !present(r.Properties["Principal"]) {
						out = append(out, finding(r.ID, "Properties.Principal", "principal %q: name the service or account", p))
					}
				}
				return out
			},
		},
		{
			ID:      "lambda-permission-source",
			Mirrors: []string{"checkov CKV_AWS_364"},
			Reason:  "A service principal without SourceArn or SourceAccount lets the service invoke the function on behalf of any account (confused deputy).",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, r := range t.Sorted("AWS::Lambda::Permission") {
					p, _ := r.Properties["Principal"].(string)
					if strings.HasSuffix(p, ".amazonaws.com") && !present(r.Properties["SourceArn"]) && !present(r.Properties["SourceAccount"]) {
						out = append(out, finding(r.ID, "Properties.SourceArn", "service principal %s without SourceArn or SourceAccount", p))
					}
				}
				return out
			},
		},
	}
}

// hasConditionKey reports whether a Condition block tests key under any operator.
func hasConditionKey(cond any, key string) bool {
	for _, block := range asMap(cond) {
		for k := range asMap(block) {
			if strings.EqualFold(k, key) {
				return true
			}
		}
	}
	return false
}
