package guardrails

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// apiStageTypes are the resources that configure a REST API stage.
var apiStageTypes = []string{"AWS::Serverless::Api", "AWS::ApiGateway::Stage"}

// contextVar matches the $context / $stageVariables substitutions of an
// access log format; they are replaced by 0 before parsing it as JSON.
var contextVar = regexp.MustCompile(`\$(context|stageVariables)\.[A-Za-z0-9_.\-]+`)

var openAPIMethods = []string{"get", "put", "post", "delete", "patch", "head", "x-amazon-apigateway-any-method"}

func apiRules() []Rule {
	return []Rule{
		{
			ID:      "api-authorization",
			Mirrors: []string{"cfn-nag W59", "checkov CKV_AWS_59"},
			Reason:  "Every API method needs an authorizer (IAM, Cognito or Lambda); an API key identifies a client, it does not authenticate it.",
			Check:   checkAPIAuthorization,
		},
		{
			ID:      "api-access-logs-json",
			Mirrors: []string{"serverless-rules ES2000", "serverless-rules WS2001", "checkov CKV_AWS_76", "cfn-nag W69"},
			Reason:  "Access logs in JSON are the record of who called the API and what came back.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, r := range t.Sorted(apiStageTypes...) {
					als := asMap(r.Properties["AccessLogSetting"])
					if !present(als["DestinationArn"]) {
						out = append(out, finding(r.ID, "Properties.AccessLogSetting.DestinationArn", "no access log destination"))
						continue
					}
					if err := jsonLogFormat(als["Format"]); err != nil {
						out = append(out, finding(r.ID, "Properties.AccessLogSetting.Format", "access log format is not JSON: %v", err))
					}
				}
				out = append(out, implicitAPI(t)...)
				return out
			},
		},
		{
			ID:      "api-throttling",
			Mirrors: []string{"serverless-rules ES2003"},
			Reason:  "Stage-wide throttling keeps one client from exhausting the endpoint and the account's Lambda concurrency.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, r := range t.Sorted(apiStageTypes...) {
					ok := false
					for _, s := range asList(r.Properties["MethodSettings"]) {
						m := asMap(s)
						rate, r1 := t.number(m["ThrottlingRateLimit"])
						burst, r2 := t.number(m["ThrottlingBurstLimit"])
						if m["ResourcePath"] == "/*" && m["HttpMethod"] == "*" && r1 && r2 && rate > 0 && burst > 0 {
							ok = true
						}
					}
					if !ok {
						out = append(out, finding(r.ID, "Properties.MethodSettings", "no MethodSettings entry for ResourcePath /* and HttpMethod * with ThrottlingRateLimit and ThrottlingBurstLimit"))
					}
				}
				return out
			},
		},
		{
			ID:      "api-tracing",
			Mirrors: []string{"serverless-rules WS2002", "checkov CKV_AWS_73", "CT.APIGATEWAY.PR.2"},
			Reason:  "X-Ray on the stage links a client request to the Lambda and SageMaker calls behind it.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, r := range t.Sorted(apiStageTypes...) {
					if !isTrue(r.Properties["TracingEnabled"]) {
						out = append(out, finding(r.ID, "Properties.TracingEnabled", "X-Ray tracing is not enabled on the stage"))
					}
				}
				return out
			},
		},
	}
}

// implicitAPI reports Api events that use SAM's implicit API, whose stage
// the template cannot configure.
func implicitAPI(t *Template) []Finding {
	var out []Finding
	for _, fn := range t.Sorted("AWS::Serverless::Function") {
		for _, name := range sortedKeys(asMap(fn.Properties["Events"])) {
			ev := asMap(asMap(fn.Properties["Events"])[name])
			if ev["Type"] == "Api" && asMap(ev["Properties"])["RestApiId"] == nil {
				out = append(out, finding(fn.ID, "Properties.Events."+name+".Properties.RestApiId",
					"event uses the implicit API: declare an AWS::Serverless::Api so its stage can be configured"))
			}
		}
	}
	return out
}

func checkAPIAuthorization(t *Template) []Finding {
	var out []Finding
	for _, m := range t.Sorted("AWS::ApiGateway::Method") {
		method, _ := m.Properties["HttpMethod"].(string)
		at, _ := m.Properties["AuthorizationType"].(string)
		if strings.EqualFold(method, "OPTIONS") {
			continue
		}
		if at == "" || strings.EqualFold(at, "NONE") {
			out = append(out, finding(m.ID, "Properties.AuthorizationType", "%s method has AuthorizationType %q", method, at))
		}
	}
	for _, api := range t.Sorted("AWS::Serverless::Api") {
		if body := asMap(api.Properties["DefinitionBody"]); body != nil {
			out = append(out, openAPIAuth(api.ID, body)...)
		}
	}
	for _, fn := range t.Sorted("AWS::Serverless::Function") {
		events := asMap(fn.Properties["Events"])
		for _, name := range sortedKeys(events) {
			ev := asMap(events[name])
			if ev["Type"] != "Api" {
				continue
			}
			props := asMap(ev["Properties"])
			if strings.EqualFold(fmt.Sprint(props["Method"]), "options") {
				continue
			}
			prop := "Properties.Events." + name + ".Properties.Auth.Authorizer"
			if a, ok := asMap(props["Auth"])["Authorizer"].(string); ok {
				if strings.EqualFold(a, "NONE") {
					out = append(out, finding(fn.ID, prop, "API event %s opts out of authorization", name))
				}
				continue
			}
			apiID, _ := refTarget(props["RestApiId"])
			api := t.Resources[apiID]
			if api == nil {
				out = append(out, finding(fn.ID, prop, "API event %s has no Authorizer and no declared API with a DefaultAuthorizer", name))
				continue
			}
			if api.Properties["DefinitionBody"] != nil {
				continue // checked per operation above
			}
			def, _ := asMap(api.Properties["Auth"])["DefaultAuthorizer"].(string)
			if def == "" || strings.EqualFold(def, "NONE") {
				out = append(out, finding(fn.ID, prop, "API event %s has no Authorizer and %s has no DefaultAuthorizer (ApiKeyRequired alone does not count)", name, api.ID))
			}
		}
	}
	return out
}

// openAPIAuth checks that every operation of an inline OpenAPI definition
// requires a security scheme that authenticates (not only an API key).
func openAPIAuth(apiID string, body map[string]any) []Finding {
	// Fn::If may choose the schemes and the requirements (e.g. Cognito or
	// IAM by parameter): the schemes of every branch are known, and every
	// branch of a requirement must authenticate.
	schemes := map[string]any{}
	for _, v := range []any{asMap(body["components"])["securitySchemes"], body["securityDefinitions"]} {
		for _, b := range ifBranches(v) {
			for k, s := range asMap(b) {
				schemes[k] = s
			}
		}
	}
	authenticates := func(reqs any) bool {
		for _, b := range ifBranches(reqs) {
			if !authenticatesOne(schemes, b) {
				return false
			}
		}
		return true
	}
	var out []Finding
	paths := asMap(body["paths"])
	for _, p := range sortedKeys(paths) {
		ops := asMap(paths[p])
		for _, m := range openAPIMethods {
			op := asMap(ops[m])
			if op == nil {
				continue
			}
			reqs, ok := op["security"]
			if !ok {
				reqs = body["security"]
			}
			if !authenticates(reqs) {
				out = append(out, finding(apiID, fmt.Sprintf("Properties.DefinitionBody.paths.%s.%s.security", p, m), "operation has no authorizer"))
			}
		}
	}
	return out
}

// authenticatesOne reports whether one security requirement list has a
// requirement that uses a scheme which authenticates the caller.
func authenticatesOne(schemes map[string]any, reqs any) bool {
	for _, req := range asList(reqs) {
		for name := range asMap(req) {
			s := asMap(schemes[name])
			if s["x-amazon-apigateway-authtype"] != nil || (s["type"] != nil && s["type"] != "apiKey") {
				return true
			}
		}
	}
	return false
}

// ifBranches expands Fn::If into the values of both branches, recursively.
func ifBranches(v any) []any {
	if l, ok := asMap(v)["Fn::If"].([]any); ok && len(l) == 3 {
		return append(ifBranches(l[1]), ifBranches(l[2])...)
	}
	return []any{v}
}

// jsonLogFormat checks that an access log format renders JSON objects.
func jsonLogFormat(v any) error {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case map[string]any:
		if sub, ok := x["Fn::Sub"].(string); ok {
			s = sub
		} else if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			sep, _ := j[0].(string)
			parts := asStrings(j[1])
			if len(parts) != len(asList(j[1])) {
				return fmt.Errorf("Fn::Join with non-literal parts cannot be checked")
			}
			s = strings.Join(parts, sep)
		} else {
			return fmt.Errorf("format is an intrinsic the guardrails cannot read")
		}
	case nil:
		return fmt.Errorf("no format (the default is CLF, not JSON)")
	default:
		return fmt.Errorf("format is %T", v)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(contextVar.ReplaceAllString(s, "0")), &m); err != nil {
		return err
	}
	if len(m) == 0 {
		return fmt.Errorf("empty object")
	}
	return nil
}
