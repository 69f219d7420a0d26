package guardrails

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const realTemplate = "../../template.yaml"

// TestRealTemplate is the guardrail itself: the project's template and
// state machines must pass every rule. Each suppression is logged with its
// reason so `go test -v` shows every exception in force.
func TestRealTemplate(t *testing.T) {
	tmpl, err := Load(realTemplate)
	require.NoError(t, err)
	rep := Check(tmpl, Rules())
	for _, s := range rep.Suppressions {
		for _, f := range s.Suppressed {
			t.Logf("suppressed %s on %s (%s): %s", s.Rule, s.Resource, f.Property, s.Reason)
		}
	}
	for _, e := range rep.Errors {
		t.Errorf("suppression: %s", e)
	}
	for _, f := range rep.Findings {
		t.Errorf("%s", f)
	}
}

func suppress(t *testing.T, raw map[string]any, id string, entries ...any) {
	t.Helper()
	node(t, raw, "Resources", id)["Metadata"] = map[string]any{"guardrails": map[string]any{"suppress": entries}}
}

func TestSuppressions(t *testing.T) {
	const reason = "the partner integration signs requests itself (ticket SEC-12)"
	openPermission := func(t *testing.T, raw map[string]any) { res(t, raw, "PartnerInvokePermission")["Principal"] = "*" }
	tests := []struct {
		name       string
		mutate     func(t *testing.T, raw map[string]any)
		wantOK     bool
		wantErr    string
		wantHidden int
	}{
		{
			name: "justified suppression hides the finding",
			mutate: func(t *testing.T, raw map[string]any) {
				openPermission(t, raw)
				suppress(t, raw, "PartnerInvokePermission", map[string]any{"id": "lambda-permission-principal", "reason": reason})
			},
			wantOK: true, wantHidden: 1,
		},
		{
			name: "suppression on another resource does not apply",
			mutate: func(t *testing.T, raw map[string]any) {
				openPermission(t, raw)
				suppress(t, raw, "Topic", map[string]any{"id": "lambda-permission-principal", "reason": reason})
			},
			wantErr: "hides nothing",
		},
		{
			name: "reason too short",
			mutate: func(t *testing.T, raw map[string]any) {
				openPermission(t, raw)
				suppress(t, raw, "PartnerInvokePermission", map[string]any{"id": "lambda-permission-principal", "reason": "ok"})
			},
			wantErr: "needs a written reason",
		},
		{
			name: "unknown rule",
			mutate: func(t *testing.T, raw map[string]any) {
				suppress(t, raw, "Topic", map[string]any{"id": "CKV_AWS_26", "reason": reason})
			},
			wantErr: `unknown rule "CKV_AWS_26"`,
		},
		{
			name: "no id",
			mutate: func(t *testing.T, raw map[string]any) {
				suppress(t, raw, "Topic", map[string]any{"reason": reason})
			},
			wantErr: "no id",
		},
		{
			name: "stale suppression",
			mutate: func(t *testing.T, raw map[string]any) {
				suppress(t, raw, "Topic", map[string]any{"id": "sns-encryption", "reason": reason})
			},
			wantErr: "Topic: suppression of sns-encryption hides nothing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := decode(t, goodTemplate)
			tt.mutate(t, raw)
			tmpl, err := New(raw, filepath.Dir(goodTemplate))
			require.NoError(t, err)
			rep := Check(tmpl, Rules())
			assert.Equal(t, tt.wantOK, rep.OK(), "findings %v errors %v", rep.Findings, rep.Errors)
			if tt.wantErr != "" {
				assert.Contains(t, strings.Join(rep.Errors, "\n"), tt.wantErr)
			}
			hidden := 0
			for _, s := range rep.Suppressions {
				hidden += len(s.Suppressed)
				assert.Equal(t, reason, s.Reason)
			}
			assert.Equal(t, tt.wantHidden, hidden)
		})
	}
}

// guardRemoval removes one guard from the real template.
type guardRemoval struct {
	// where names the guard, for the test name.
	where string
	// rule must report resource.
	rule, resource string
	// raw edits the decoded template; def edits the loaded definitions.
	raw func(raw map[string]any)
	def func(tmpl *Template)
}

// removals finds every guard of the given kinds in the real template and
// returns one removal per occurrence.
func removals(t *testing.T, raw map[string]any, tmpl *Template) map[string][]guardRemoval {
	t.Helper()
	out := map[string][]guardRemoval{}
	props := func(raw map[string]any, id string) map[string]any {
		return asMap(asMap(asMap(raw["Resources"])[id])["Properties"])
	}
	// Retries: every Retry of every Task.
	for _, sm := range tmpl.Sorted("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine") {
		for _, s := range states(tmpl.Definitions[sm.ID], "") {
			if s.body["Type"] != "Task" || s.body["Retry"] == nil {
				continue
			}
			smID, path := sm.ID, s.path
			out["retry"] = append(out["retry"], guardRemoval{where: smID + " " + path, rule: "sfn-task-retry", resource: smID, def: func(m *Template) {
				for _, st := range states(m.Definitions[smID], "") {
					if st.path == path {
						delete(st.body, "Retry")
					}
				}
			}})
		}
	}
	// Invoke permissions: every LambdaInvokePolicy of a state machine.
	for _, sm := range tmpl.Sorted("AWS::Serverless::StateMachine") {
		for i, p := range asList(props(raw, sm.ID)["Policies"]) {
			if asMap(p)["LambdaInvokePolicy"] == nil {
				continue
			}
			id, i := sm.ID, i
			out["invoke"] = append(out["invoke"], guardRemoval{where: fmt.Sprintf("%s Policies[%d]", id, i), rule: "sfn-lambda-wiring", resource: id, raw: func(raw map[string]any) {
				pols := asList(props(raw, id)["Policies"])
				props(raw, id)["Policies"] = append(append([]any{}, pols[:i]...), pols[i+1:]...)
			}})
		}
	}
	// KMS keys: bucket encryption, topic and queue keys, SageMaker key env.
	for _, r := range tmpl.Sorted("AWS::S3::Bucket") {
		id := r.ID
		out["kms"] = append(out["kms"], guardRemoval{where: id + " BucketEncryption", rule: "s3-encryption", resource: id, raw: func(raw map[string]any) {
			delete(props(raw, id), "BucketEncryption")
		}})
	}
	for _, r := range tmpl.Sorted("AWS::SNS::Topic", "AWS::SQS::Queue") {
		id, rule := r.ID, "sns-encryption"
		if r.Type == "AWS::SQS::Queue" {
			rule = "sqs-encryption"
		}
		if r.Properties["KmsMasterKeyId"] != nil {
			out["kms"] = append(out["kms"], guardRemoval{where: id + " KmsMasterKeyId", rule: rule, resource: id, raw: func(raw map[string]any) {
				delete(props(raw, id), "KmsMasterKeyId")
			}})
		}
	}
	for fn, rule := range map[string]string{"TrainFunction": "sagemaker-training-encryption", "DeployFunction": "sagemaker-endpoint-kms"} {
		if tmpl.Resources[fn] == nil {
			continue
		}
		fn := fn
		out["kms"] = append(out["kms"], guardRemoval{where: fn + " KMS_KEY_ARN", rule: rule, resource: fn, raw: func(raw map[string]any) {
			delete(asMap(asMap(props(raw, fn)["Environment"])["Variables"]), "KMS_KEY_ARN")
		}})
	}
	// The API's authorization: default authorizers, event authorizers, methods.
	for _, r := range tmpl.Sorted("AWS::Serverless::Api") {
		id := r.ID
		if asMap(props(raw, id)["Auth"])["DefaultAuthorizer"] == nil {
			continue
		}
		resource := id
		for _, fn := range tmpl.Sorted("AWS::Serverless::Function") {
			for _, ev := range asMap(fn.Properties["Events"]) {
				if target, _ := refTarget(asMap(asMap(ev)["Properties"])["RestApiId"]); target == id && asMap(asMap(asMap(ev)["Properties"])["Auth"])["Authorizer"] == nil {
					resource = fn.ID
				}
			}
		}
		out["authorization"] = append(out["authorization"], guardRemoval{where: id + " DefaultAuthorizer", rule: "api-authorization", resource: resource, raw: func(raw map[string]any) {
			delete(asMap(props(raw, id)["Auth"]), "DefaultAuthorizer")
		}})
	}
	for _, fn := range tmpl.Sorted("AWS::Serverless::Function") {
		for name, ev := range asMap(fn.Properties["Events"]) {
			if asMap(ev)["Type"] == "Api" && asMap(asMap(asMap(ev)["Properties"])["Auth"])["Authorizer"] != nil {
				id, name := fn.ID, name
				out["authorization"] = append(out["authorization"], guardRemoval{where: id + " " + name + " Authorizer", rule: "api-authorization", resource: id, raw: func(raw map[string]any) {
					asMap(asMap(asMap(asMap(props(raw, id)["Events"])[name])["Properties"])["Auth"])["Authorizer"] = "NONE"
				}})
			}
		}
	}
	for _, r := range tmpl.Sorted("AWS::Serverless::Api") {
		if asMap(props(raw, r.ID)["DefinitionBody"]) == nil {
			continue
		}
		id := r.ID
		out["authorization"] = append(out["authorization"], guardRemoval{where: id + " OpenAPI security", rule: "api-authorization", resource: id, raw: func(raw map[string]any) {
			body := asMap(props(raw, id)["DefinitionBody"])
			delete(body, "security")
			for _, ops := range asMap(body["paths"]) {
				for _, op := range asMap(ops) {
					delete(asMap(op), "security")
				}
			}
		}})
	}
	for _, m := range tmpl.Sorted("AWS::ApiGateway::Method") {
		id := m.ID
		if !strings.EqualFold(fmt.Sprint(m.Properties["HttpMethod"]), "OPTIONS") {
			out["authorization"] = append(out["authorization"], guardRemoval{where: id + " AuthorizationType", rule: "api-authorization", resource: id, raw: func(raw map[string]any) {
				props(raw, id)["AuthorizationType"] = "NONE"
			}})
		}
	}
	// Dead-letter queues: every EventBridge target's, every on-failure destination.
	for _, tg := range targets(tmpl) {
		if tg.props["DeadLetterConfig"] == nil {
			continue
		}
		tg := tg
		out["dlq"] = append(out["dlq"], guardRemoval{where: tg.resource + " " + tg.prop + ".DeadLetterConfig", rule: "eventbridge-target-dlq", resource: tg.resource, raw: func(raw map[string]any) {
			p := props(raw, tg.resource)
			if tg.samEvent != "" {
				delete(asMap(asMap(asMap(p["Events"])[tg.samEvent])["Properties"]), "DeadLetterConfig")
				return
			}
			for _, x := range asList(p["Targets"]) {
				delete(asMap(x), "DeadLetterConfig")
			}
		}})
	}
	for _, fn := range tmpl.Functions() {
		if asMap(asMap(fn.Properties["EventInvokeConfig"])["DestinationConfig"])["OnFailure"] == nil {
			continue
		}
		id := fn.ID
		out["dlq"] = append(out["dlq"], guardRemoval{where: id + " OnFailure", rule: "function-async-failure", resource: id, raw: func(raw map[string]any) {
			delete(asMap(props(raw, id)["EventInvokeConfig"]), "DestinationConfig")
		}})
	}
	return out
}

// TestRealTemplateGuardRemovals removes each guard of the real template,
// one at a time, and expects the rule protecting it to name the resource.
func TestRealTemplateGuardRemovals(t *testing.T) {
	base := decode(t, realTemplate)
	tmpl, err := New(base, filepath.Dir(realTemplate))
	require.NoError(t, err)
	all := removals(t, base, tmpl)
	for _, kind := range []string{"retry", "invoke", "kms", "authorization", "dlq"} {
		t.Run(kind, func(t *testing.T) {
			require.NotEmptyf(t, all[kind], "the real template has no %s guard to remove", kind)
			for _, g := range all[kind] {
				t.Run(g.where, func(t *testing.T) {
					raw := decode(t, realTemplate)
					if g.raw != nil {
						g.raw(raw)
					}
					m, err := New(raw, filepath.Dir(realTemplate))
					require.NoError(t, err)
					if g.def != nil {
						g.def(m)
					}
					rep := Check(m, Rules())
					for _, f := range rep.Findings {
						if f.Rule == g.rule && f.Resource == g.resource {
							t.Logf("caught: %s", f)
							return
						}
					}
					t.Errorf("removing %s: no %s finding on %s; findings: %v", g.where, g.rule, g.resource, rep.Findings)
				})
			}
		})
	}
}

func TestSageMakerHooks(t *testing.T) {
	key := aws.String("arn:aws:kms:us-east-1:123456789012:key/k")
	tests := []struct {
		name string
		got  []Finding
		want []string // properties expected in the findings
	}{
		{"training job encrypted", CheckCreateTrainingJob(&sagemaker.CreateTrainingJobInput{
			TrainingJobName:                       aws.String("train-x"),
			ResourceConfig:                        &types.ResourceConfig{VolumeKmsKeyId: key},
			OutputDataConfig:                      &types.OutputDataConfig{KmsKeyId: key},
			EnableInterContainerTrafficEncryption: aws.Bool(true),
		}), nil},
		{"training job without keys", CheckCreateTrainingJob(&sagemaker.CreateTrainingJobInput{
			TrainingJobName:  aws.String("train-x"),
			ResourceConfig:   &types.ResourceConfig{},
			OutputDataConfig: &types.OutputDataConfig{},
		}), []string{"ResourceConfig.VolumeKmsKeyId", "OutputDataConfig.KmsKeyId", "EnableInterContainerTrafficEncryption"}},
		{"training job nil", CheckCreateTrainingJob(nil), []string{""}},
		{"model isolated", CheckCreateModel(&sagemaker.CreateModelInput{ModelName: aws.String("m"), EnableNetworkIsolation: aws.Bool(true)}), nil},
		{"model not isolated", CheckCreateModel(&sagemaker.CreateModelInput{ModelName: aws.String("m")}), []string{"EnableNetworkIsolation"}},
		{"endpoint config encrypted", CheckCreateEndpointConfig(&sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String("c"), KmsKeyId: key, DataCaptureConfig: &types.DataCaptureConfig{KmsKeyId: key},
		}), nil},
		{"endpoint config capture unencrypted", CheckCreateEndpointConfig(&sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String("c"), KmsKeyId: key, DataCaptureConfig: &types.DataCaptureConfig{},
		}), []string{"DataCaptureConfig.KmsKeyId"}},
		{"endpoint config without key or capture", CheckCreateEndpointConfig(&sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String("c"),
		}), []string{"KmsKeyId", "DataCaptureConfig"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var props []string
			for _, f := range tt.got {
				props = append(props, f.Property)
				assert.NotEmpty(t, f.Rule)
				assert.NotEmpty(t, f.Message)
			}
			assert.Equal(t, tt.want, props)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"resources not a mapping", map[string]any{"Resources": []any{}}, "Resources is []interface {}"},
		{"resource not a mapping", map[string]any{"Resources": map[string]any{"A": "x"}}, "resource A is string"},
		{"resource without type", map[string]any{"Resources": map[string]any{"A": map[string]any{}}}, "resource A has no Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.raw, ".")
			assert.ErrorContains(t, err, tt.want)
		})
	}
	_, err := Load("testdata/missing.yaml")
	assert.ErrorContains(t, err, "read template")
}

func TestGlobalsMerge(t *testing.T) {
	raw := map[string]any{
		"Globals": map[string]any{"Function": map[string]any{
			"Timeout":       30,
			"Layers":        []any{"a"},
			"Environment":   map[string]any{"Variables": map[string]any{"LOG_LEVEL": "INFO", "X": "global"}},
			"Architectures": []any{"arm64"},
		}},
		"Resources": map[string]any{"F": map[string]any{"Type": "AWS::Serverless::Function", "Properties": map[string]any{
			"Timeout":     10,
			"Layers":      []any{"b"},
			"Environment": map[string]any{"Variables": map[string]any{"X": "local"}},
			"CodeUri":     map[string]any{"Ref": "P"},
		}}},
	}
	tmpl, err := New(raw, ".")
	require.NoError(t, err)
	p := tmpl.Resources["F"].Properties
	assert.Equal(t, 10, p["Timeout"], "the resource wins over Globals")
	assert.Equal(t, []any{"a", "b"}, p["Layers"], "lists concatenate")
	assert.Equal(t, map[string]any{"LOG_LEVEL": "INFO", "X": "local"}, asMap(p["Environment"])["Variables"], "maps merge")
	assert.Equal(t, []any{"arm64"}, p["Architectures"])
	assert.Nil(t, asMap(asMap(raw["Resources"])["F"])["Properties"].(map[string]any)["Architectures"], "raw is not modified")
}
