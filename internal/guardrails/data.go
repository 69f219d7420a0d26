package guardrails

import (
	"fmt"
	"regexp"
	"strings"
)

// publicAccessFlags are the four S3 public access block settings.
var publicAccessFlags = []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"}

// secretName matches environment variable names that announce a secret.
var secretName = regexp.MustCompile(`(?i)(SECRET|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|APIKEY|ACCESS_KEY|TOKEN|CREDENTIAL)`)

// secretValue matches literal values shaped like AWS access keys or PEM keys.
var secretValue = regexp.MustCompile(`(AKIA|ASIA)[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----`)

// kmsFunctions are the functions that create SageMaker resources at run
// time (training jobs, models, endpoint configs): their KMS key comes from
// the KMS_KEY_ARN environment variable.
var kmsFunctions = map[string]string{
	"TrainFunction":  "training job volume and output",
	"DeployFunction": "endpoint config and data capture",
}

func dataRules() []Rule {
	return []Rule{
		{
			ID:      "s3-encryption",
			Mirrors: []string{"checkov CKV_AWS_19"},
			Reason:  "Objects at rest must be encrypted with a key the account controls.",
			Check: eachOf("AWS::S3::Bucket", func(t *Template, r *Resource) []Finding {
				rules := asList(asMap(r.Properties["BucketEncryption"])["ServerSideEncryptionConfiguration"])
				if len(rules) == 0 {
					return []Finding{finding(r.ID, "Properties.BucketEncryption", "bucket has no server-side encryption configuration")}
				}
				return nil
			}),
		},
		{
			ID:      "s3-public-access-block",
			Mirrors: []string{"checkov CKV_AWS_53", "checkov CKV_AWS_54", "checkov CKV_AWS_55", "checkov CKV_AWS_56"},
			Reason:  "All four public access block flags keep a bucket private whatever a later ACL or policy says.",
			Check: eachOf("AWS::S3::Bucket", func(t *Template, r *Resource) []Finding {
				cfg := asMap(r.Properties["PublicAccessBlockConfiguration"])
				var out []Finding
				for _, f := range publicAccessFlags {
					if !isTrue(cfg[f]) {
						out = append(out, finding(r.ID, "Properties.PublicAccessBlockConfiguration."+f, "public access block flag %s is not true", f))
					}
				}
				return out
			}),
		},
		{
			ID:      "s3-versioning",
			Mirrors: []string{"checkov CKV_AWS_21"},
			Reason:  "Versioning keeps overwritten datasets and models recoverable and gives ingest a version id.",
			Check: eachOf("AWS::S3::Bucket", func(t *Template, r *Resource) []Finding {
				if asMap(r.Properties["VersioningConfiguration"])["Status"] != "Enabled" {
					return []Finding{finding(r.ID, "Properties.VersioningConfiguration.Status", "versioning is not Enabled")}
				}
				return nil
			}),
		},
		{
			ID:      "s3-tls-only",
			Mirrors: []string{"AWS Config S3_BUCKET_SSL_REQUESTS_ONLY"},
			Reason:  "A bucket policy must deny requests without TLS (aws:SecureTransport false).",
			Check: eachOf("AWS::S3::Bucket", func(t *Template, r *Resource) []Finding {
				for _, p := range t.Sorted("AWS::S3::BucketPolicy") {
					if id, ok := refTarget(p.Properties["Bucket"]); !ok || id != r.ID {
						continue
					}
					for _, s := range asList(asMap(p.Properties["PolicyDocument"])["Statement"]) {
						if deniesInsecureTransport(asMap(s)) {
							return nil
						}
					}
				}
				return []Finding{finding(r.ID, "BucketPolicy", "no AWS::S3::BucketPolicy on this bucket denies s3:* when aws:SecureTransport is false")}
			}),
		},
		{
			ID:      "sns-encryption",
			Mirrors: []string{"checkov CKV_AWS_26", "cfn-nag W47"},
			Reason:  "Notifications carry model and data names; topics are encrypted with KMS.",
			Check: eachOf("AWS::SNS::Topic", func(t *Template, r *Resource) []Finding {
				if !present(r.Properties["KmsMasterKeyId"]) {
					return []Finding{finding(r.ID, "Properties.KmsMasterKeyId", "topic is not encrypted")}
				}
				return nil
			}),
		},
		{
			ID:      "sqs-encryption",
			Mirrors: []string{"checkov CKV_AWS_27", "cfn-nag W48"},
			Reason:  "Dead-letter queues hold whole events; queues are encrypted with KMS or SQS-managed SSE.",
			Check: eachOf("AWS::SQS::Queue", func(t *Template, r *Resource) []Finding {
				if !present(r.Properties["KmsMasterKeyId"]) && !isTrue(r.Properties["SqsManagedSseEnabled"]) {
					return []Finding{finding(r.ID, "Properties.KmsMasterKeyId", "queue is not encrypted (no KmsMasterKeyId, SqsManagedSseEnabled not true)")}
				}
				return nil
			}),
		},
		{
			ID:      "sagemaker-endpoint-kms",
			Mirrors: []string{"checkov CKV_AWS_98", "AWS Config SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED"},
			Reason:  "Endpoint volumes and captured inference data are encrypted with the platform's KMS key.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, r := range t.Sorted("AWS::SageMaker::EndpointConfig") {
					if !present(r.Properties["KmsKeyId"]) {
						out = append(out, finding(r.ID, "Properties.KmsKeyId", "endpoint config has no KMS key"))
					}
					if dc := asMap(r.Properties["DataCaptureConfig"]); dc != nil && !present(dc["KmsKeyId"]) {
						out = append(out, finding(r.ID, "Properties.DataCaptureConfig.KmsKeyId", "data capture has no KMS key"))
					}
				}
				return append(out, kmsEnv(t, "DeployFunction")...)
			},
		},
		{
			ID:      "sagemaker-model-network-isolation",
			Mirrors: []string{"checkov CKV_AWS_370", "AWS Config SAGEMAKER_MODEL_ISOLATION_ENABLED"},
			Reason:  "A model container with network access can exfiltrate what it serves.",
			Check: eachOf("AWS::SageMaker::Model", func(t *Template, r *Resource) []Finding {
				if !isTrue(r.Properties["EnableNetworkIsolation"]) {
					return []Finding{finding(r.ID, "Properties.EnableNetworkIsolation", "model network isolation is not enabled")}
				}
				return nil
			}),
		},
		{
			ID:     "sagemaker-training-encryption",
			Reason: "Training volumes, model artifacts and traffic between training instances are encrypted.",
			Check: func(t *Template) []Finding {
				return kmsEnv(t, "TrainFunction")
			},
		},
		{
			ID:      "glue-security-configuration",
			Mirrors: []string{"checkov CKV_AWS_195", "checkov CKV_AWS_99"},
			Reason:  "A Glue job without an encrypting security configuration writes prepared data and logs unencrypted.",
			Check: eachOf("AWS::Glue::Job", func(t *Template, r *Resource) []Finding {
				v := r.Properties["SecurityConfiguration"]
				if !present(v) {
					return []Finding{finding(r.ID, "Properties.SecurityConfiguration", "Glue job has no security configuration")}
				}
				id, ok := refTarget(v)
				sc := t.Resources[id]
				if !ok || sc == nil || sc.Type != "AWS::Glue::SecurityConfiguration" {
					return nil // a name defined elsewhere: nothing more to check here
				}
				enc := asMap(sc.Properties["EncryptionConfiguration"])
				s3 := asList(enc["S3Encryptions"])
				if len(s3) == 0 {
					return []Finding{finding(sc.ID, "Properties.EncryptionConfiguration.S3Encryptions", "security configuration does not encrypt S3 output")}
				}
				for i, e := range s3 {
					if mode, _ := asMap(e)["S3EncryptionMode"].(string); mode == "" || mode == "DISABLED" {
						return []Finding{finding(sc.ID, fmt.Sprintf("Properties.EncryptionConfiguration.S3Encryptions[%d].S3EncryptionMode", i), "S3 encryption mode is %q", mode)}
					}
				}
				return nil
			}),
		},
		{
			ID:      "lambda-env-secrets",
			Mirrors: []string{"checkov CKV_AWS_45"},
			Reason:  "Environment variables are readable by anyone who can read the function configuration; secrets go to Secrets Manager.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, r := range t.Functions() {
					vars := asMap(asMap(r.Properties["Environment"])["Variables"])
					for _, name := range sortedKeys(vars) {
						s, literal := vars[name].(string)
						switch {
						case literal && secretValue.MatchString(s):
							out = append(out, finding(r.ID, "Properties.Environment.Variables."+name, "value looks like a credential"))
						case literal && s != "" && secretName.MatchString(name) && !strings.HasPrefix(s, "arn:"):
							out = append(out, finding(r.ID, "Properties.Environment.Variables."+name, "%s holds a literal secret: pass a Secrets Manager ARN instead", name))
						}
					}
				}
				return out
			},
		},
	}
}

// kmsEnv checks that a function creating SageMaker resources receives the
// KMS key in KMS_KEY_ARN, as a reference to a key or a parameter.
func kmsEnv(t *Template, id string) []Finding {
	r := t.Resources[id]
	if r == nil {
		return nil
	}
	v := asMap(asMap(r.Properties["Environment"])["Variables"])["KMS_KEY_ARN"]
	if !present(v) {
		return []Finding{finding(id, "Properties.Environment.Variables.KMS_KEY_ARN",
			"no KMS_KEY_ARN: the %s it creates would use AWS-owned keys", kmsFunctions[id])}
	}
	if target, ok := refTarget(v); ok {
		if res := t.Resources[target]; res != nil && res.Type != "AWS::KMS::Key" && res.Type != "AWS::KMS::Alias" {
			return []Finding{finding(id, "Properties.Environment.Variables.KMS_KEY_ARN", "KMS_KEY_ARN points at %s (%s), not a KMS key", target, res.Type)}
		}
	}
	return nil
}

func deniesInsecureTransport(s map[string]any) bool {
	if s["Effect"] != "Deny" {
		return false
	}
	p := s["Principal"]
	if p != "*" && asMap(p)["AWS"] != "*" {
		return false
	}
	allActions := false
	for _, a := range lowerStrings(s["Action"]) {
		if a == "s3:*" || a == "*" {
			allActions = true
		}
	}
	if !allActions {
		return false
	}
	for op, block := range asMap(s["Condition"]) {
		if op != "Bool" {
			continue
		}
		for k, v := range asMap(block) {
			if strings.EqualFold(k, "aws:SecureTransport") {
				if b, ok := v.(bool); ok && !b {
					return true
				}
				if str, ok := v.(string); ok && strings.EqualFold(str, "false") {
					return true
				}
			}
		}
	}
	return false
}

// eachOf adapts a per-resource check to a Rule.Check over every resource of typ.
func eachOf(typ string, fn func(*Template, *Resource) []Finding) func(*Template) []Finding {
	return func(t *Template) []Finding {
		var out []Finding
		for _, r := range t.Sorted(typ) {
			out = append(out, fn(t, r)...)
		}
		return out
	}
}
