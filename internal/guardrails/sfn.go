package guardrails

import (
	"fmt"
	"regexp"
	"strings"
)

// Bounds of a Task's retriers.
const (
	maxRetryAttempts = 10
	minBackoffRate   = 1.0 // exclusive: a rate of 1 is no backoff
)

// placeholder matches a DefinitionSubstitutions variable in the ASL.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// stateRef is one state with its path in the definition.
type stateRef struct {
	path string
	body map[string]any
}

// states lists every state of a definition, including those inside
// Parallel branches and Map iterators.
func states(def map[string]any, prefix string) []stateRef {
	var out []stateRef
	st := asMap(def["States"])
	for _, name := range sortedKeys(st) {
		s := asMap(st[name])
		path := prefix + "States." + name
		out = append(out, stateRef{path, s})
		for i, b := range asList(s["Branches"]) {
			out = append(out, states(asMap(b), fmt.Sprintf("%s.Branches[%d].", path, i))...)
		}
		for _, k := range []string{"Iterator", "ItemProcessor"} {
			if it := asMap(s[k]); it != nil {
				out = append(out, states(it, path+"."+k+".")...)
			}
		}
	}
	return out
}

// tasks calls fn for every Task state of every loadable definition.
func tasks(t *Template, fn func(sm *Resource, s stateRef) []Finding) []Finding {
	var out []Finding
	for _, sm := range t.Sorted("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine") {
		def := t.Definitions[sm.ID]
		for _, s := range states(def, "Definition.") {
			if s.body["Type"] == "Task" {
				out = append(out, fn(sm, s)...)
			}
		}
	}
	return out
}

func stateMachineRules() []Rule {
	return []Rule{
		{
			ID:     "sfn-definition",
			Reason: "A definition the guardrails cannot read escapes every state machine rule.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, id := range sortedKeys(t.DefinitionErrors) {
					out = append(out, finding(id, "Properties.DefinitionUri", "%v", t.DefinitionErrors[id]))
				}
				return out
			},
		},
		{
			ID:      "sfn-logging",
			Mirrors: []string{"CT.STEPFUNCTIONS.PR.1", "checkov CKV_AWS_285"},
			Reason:  "Execution logs at ERROR or ALL are how a failed pipeline run is diagnosed.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, sm := range t.Sorted("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine") {
					prop := "Logging"
					if sm.Type == "AWS::StepFunctions::StateMachine" {
						prop = "LoggingConfiguration"
					}
					cfg := asMap(sm.Properties[prop])
					if lvl := cfg["Level"]; lvl != "ERROR" && lvl != "ALL" {
						out = append(out, finding(sm.ID, "Properties."+prop+".Level", "logging level %v, want ERROR or ALL", lvl))
					}
					if !present(cfg["Destinations"]) {
						out = append(out, finding(sm.ID, "Properties."+prop+".Destinations", "no log destination"))
					}
				}
				return out
			},
		},
		{
			ID:      "sfn-tracing",
			Mirrors: []string{"CT.STEPFUNCTIONS.PR.2", "serverless-rules WS5000", "checkov CKV_AWS_284"},
			Reason:  "X-Ray on the state machine joins the pipeline's steps into one trace.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, sm := range t.Sorted("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine") {
					prop := "Tracing"
					if sm.Type == "AWS::StepFunctions::StateMachine" {
						prop = "TracingConfiguration"
					}
					if !isTrue(asMap(sm.Properties[prop])["Enabled"]) {
						out = append(out, finding(sm.ID, "Properties."+prop+".Enabled", "X-Ray tracing is not enabled"))
					}
				}
				return out
			},
		},
		{
			ID:     "sfn-task-timeout",
			Reason: "A Task without TimeoutSeconds waits up to a year for a lost worker.",
			Check: func(t *Template) []Finding {
				return tasks(t, func(sm *Resource, s stateRef) []Finding {
					if _, ok := t.number(s.body["TimeoutSeconds"]); !ok && s.body["TimeoutSecondsPath"] == nil {
						return []Finding{finding(sm.ID, s.path+".TimeoutSeconds", "Task has no TimeoutSeconds")}
					}
					return nil
				})
			},
		},
		{
			ID:     "sfn-task-retry",
			Reason: "Transient failures are retried a bounded number of times with backoff, never forever and never in a tight loop.",
			Check: func(t *Template) []Finding {
				return tasks(t, func(sm *Resource, s stateRef) []Finding {
					retry := asList(s.body["Retry"])
					if len(retry) == 0 {
						return []Finding{finding(sm.ID, s.path+".Retry", "Task has no Retry")}
					}
					var out []Finding
					retries := false
					for i, r := range retry {
						m := asMap(r)
						p := fmt.Sprintf("%s.Retry[%d]", s.path, i)
						n, ok := t.number(m["MaxAttempts"])
						if !ok || n < 0 || n > maxRetryAttempts {
							out = append(out, finding(sm.ID, p+".MaxAttempts", "MaxAttempts %v, want 0..%d set explicitly", m["MaxAttempts"], maxRetryAttempts))
							continue
						}
						if n == 0 {
							continue // an explicit "do not retry these errors"
						}
						retries = true
						if b, ok := t.number(m["BackoffRate"]); !ok || b <= minBackoffRate {
							out = append(out, finding(sm.ID, p+".BackoffRate", "BackoffRate %v, want above %g set explicitly", m["BackoffRate"], minBackoffRate))
						}
					}
					if !retries && len(out) == 0 {
						out = append(out, finding(sm.ID, s.path+".Retry", "no retrier retries (every MaxAttempts is 0)"))
					}
					return out
				})
			},
		},
		{
			ID:     "sfn-task-catch",
			Reason: "Every Task catches what its retries do not fix, so a failure notifies and fails cleanly.",
			Check: func(t *Template) []Finding {
				return tasks(t, func(sm *Resource, s stateRef) []Finding {
					for _, c := range asList(s.body["Catch"]) {
						if contains(asStrings(asMap(c)["ErrorEquals"]), "States.ALL") {
							return nil
						}
					}
					return []Finding{finding(sm.ID, s.path+".Catch", "Task has no Catch for States.ALL")}
				})
			},
		},
		{
			ID:     "sfn-substitutions",
			Reason: "An undefined substitution deploys a literal ${Name}; an unused one is a wiring mistake.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, sm := range t.Sorted("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine") {
					def, ok := t.Definitions[sm.ID]
					if !ok {
						continue
					}
					defined := asMap(sm.Properties["DefinitionSubstitutions"])
					used := map[string]bool{}
					walk(def, func(v any) {
						if s, ok := v.(string); ok {
							for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
								used[m[1]] = true
							}
						}
					})
					for _, k := range sortedKeys(used) {
						if _, ok := defined[k]; !ok {
							out = append(out, finding(sm.ID, "Properties.DefinitionSubstitutions."+k, "${%s} is used in the definition but not defined", k))
						}
					}
					for _, k := range sortedKeys(defined) {
						if !used[k] {
							out = append(out, finding(sm.ID, "Properties.DefinitionSubstitutions."+k, "%s is defined but never used in the definition", k))
						}
					}
				}
				return out
			},
		},
		{
			ID:     "sfn-lambda-wiring",
			Reason: "Every Lambda a state machine invokes exists in the template and the state machine's role may invoke it.",
			Check:  checkLambdaWiring,
		},
	}
}

// invokedFunction resolves the Lambda a Task calls to a logical id.
func invokedFunction(t *Template, sm *Resource, s stateRef) (string, string, error) {
	res, _ := s.body["Resource"].(string)
	var v any
	prop := s.path + ".Resource"
	switch {
	case strings.HasPrefix(res, "arn:aws:states:::lambda:invoke"):
		params := asMap(s.body["Parameters"])
		if params == nil {
			params = asMap(s.body["Arguments"])
		}
		v = params["FunctionName"]
		prop = s.path + ".Parameters.FunctionName"
		if v == nil {
			return "", prop, fmt.Errorf("lambda:invoke without a static FunctionName")
		}
	case strings.HasPrefix(res, "${") || strings.Contains(res, ":lambda:"):
		v = res
	default:
		return "", "", nil // not a Lambda task
	}
	str, _ := v.(string)
	m := placeholder.FindStringSubmatch(str)
	if m == nil || m[0] != str {
		return "", prop, fmt.Errorf("function %q is not a ${Substitution}: the guardrails cannot tell which function it is", str)
	}
	sub, ok := asMap(sm.Properties["DefinitionSubstitutions"])[m[1]]
	if !ok {
		return "", prop, fmt.Errorf("${%s} is not defined", m[1])
	}
	id, ok := refTarget(sub)
	if !ok {
		if s, isStr := sub.(string); isStr && !strings.Contains(s, ":lambda:") {
			return "", "", nil // a substitution that is not a function (e.g. an SNS topic)
		}
		return "", prop, fmt.Errorf("${%s} is not a Ref or GetAtt of a function in the template", m[1])
	}
	if r := t.Resources[id]; r == nil {
		return "", prop, fmt.Errorf("${%s} points at %s, which is not in the template", m[1], id)
	} else if r.Type != "AWS::Serverless::Function" && r.Type != "AWS::Lambda::Function" {
		if strings.HasPrefix(res, "arn:aws:states:::lambda:invoke") {
			return "", prop, fmt.Errorf("${%s} points at %s (%s), not a function", m[1], id, r.Type)
		}
		return "", "", nil
	}
	return id, prop, nil
}

func checkLambdaWiring(t *Template) []Finding {
	stmts, _, _ := policies(t)
	return tasks(t, func(sm *Resource, s stateRef) []Finding {
		fn, prop, err := invokedFunction(t, sm, s)
		if err != nil {
			return []Finding{finding(sm.ID, prop, "%v", err)}
		}
		if fn == "" {
			return nil
		}
		principals := []string{sm.ID}
		for _, p := range []string{"Role", "RoleArn"} {
			if id, ok := refTarget(sm.Properties[p]); ok {
				principals = append(principals, id)
			}
		}
		for _, pol := range t.Sorted("AWS::IAM::Policy") {
			for _, r := range asList(pol.Properties["Roles"]) {
				if id, ok := refTarget(r); ok && contains(principals, id) {
					principals = append(principals, pol.ID)
				}
			}
		}
		for _, st := range stmts {
			if !contains(principals, st.resource) || !allows(st.body) {
				continue
			}
			acts := lowerStrings(st.body["Action"])
			if !contains(acts, "lambda:invokefunction") && !contains(acts, "lambda:*") {
				continue
			}
			if contains(references(st.body["Resource"]), fn) {
				return nil
			}
		}
		return []Finding{finding(sm.ID, prop, "the state machine's role may not invoke %s (no lambda:InvokeFunction on it)", fn)}
	})
}
