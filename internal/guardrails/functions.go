package guardrails

import (
	"fmt"
	"strings"
	"time"
)

// asyncEventTypes are the SAM event sources that invoke a function
// asynchronously.
var asyncEventTypes = map[string]bool{
	"S3": true, "SNS": true, "EventBridgeRule": true, "CloudWatchEvent": true,
	"Schedule": true, "ScheduleV2": true, "CloudWatchLogs": true, "IoTRule": true,
}

// asyncPrincipals are the services that invoke Lambda asynchronously.
var asyncPrincipals = map[string]bool{
	"events.amazonaws.com": true, "s3.amazonaws.com": true, "sns.amazonaws.com": true,
	"scheduler.amazonaws.com": true, "logs.amazonaws.com": true,
}

// Limits of the asynchronous invocation settings the guardrails accept.
const (
	maxAsyncRetries  = 2
	maxAsyncEventAge = 21600
	minAsyncEventAge = 60
	// apiGatewayTimeout is API Gateway's integration timeout (29 s): the
	// inference proxy must give up before it so the client gets its answer.
	apiGatewayTimeout = 29
)

// reservedConcurrency lists the functions that must reserve concurrency:
// ingestion (a burst of uploads must not start a burst of trainings) and
// remediation (an alarm storm must not start a storm of retrains).
var reservedConcurrency = []string{"IngestFunction", "RemediateFunction"}

func functionRules() []Rule {
	return []Rule{
		{
			ID:     "function-runtime",
			Reason: "Functions are Go binaries on provided.al2023 for arm64 (DESIGN.md); anything else is a build that was not tested.",
			Check: eachFunction(func(t *Template, r *Resource) []Finding {
				var out []Finding
				if rt := r.Properties["Runtime"]; rt != "provided.al2023" {
					out = append(out, finding(r.ID, "Properties.Runtime", "runtime %v, want provided.al2023", rt))
				}
				arch := asStrings(r.Properties["Architectures"])
				if len(arch) != 1 || arch[0] != "arm64" {
					out = append(out, finding(r.ID, "Properties.Architectures", "architectures %v, want [arm64]", arch))
				}
				return out
			}),
		},
		{
			ID:      "function-timeout-memory",
			Mirrors: []string{"serverless-rules ES1005", "serverless-rules ES1006"},
			Reason:  "The defaults (3 s, 128 MB) are never what a function needs; the values must be chosen (in Globals or on the function).",
			Check: eachFunction(func(t *Template, r *Resource) []Finding {
				var out []Finding
				for _, p := range []string{"Timeout", "MemorySize"} {
					if _, ok := t.number(r.Properties[p]); !ok {
						out = append(out, finding(r.ID, "Properties."+p, "%s is not set", p))
					}
				}
				return out
			}),
		},
		{
			ID:      "function-tracing",
			Mirrors: []string{"serverless-rules WS1000"},
			Reason:  "Active X-Ray tracing follows one upload through every function and service call.",
			Check: eachFunction(func(t *Template, r *Resource) []Finding {
				mode := r.Properties["Tracing"]
				if r.Type == "AWS::Lambda::Function" {
					mode = asMap(r.Properties["TracingConfig"])["Mode"]
				}
				if mode != "Active" {
					return []Finding{finding(r.ID, "Properties.Tracing", "tracing is %v, want Active", mode)}
				}
				return nil
			}),
		},
		{
			ID:      "function-log-retention",
			Mirrors: []string{"serverless-rules WS1004", "checkov CKV_AWS_66"},
			Reason:  "Without a declared log group with retention, logs are kept forever and the group outlives the stack.",
			Check:   eachFunction(checkLogGroup),
		},
		{
			ID:     "infer-timeout",
			Reason: "API Gateway gives up after 29 s; the inference proxy must time out first so the client gets a clear error.",
			Check: func(t *Template) []Finding {
				r := t.Resources["InferFunction"]
				if r == nil {
					return nil
				}
				n, ok := t.number(r.Properties["Timeout"])
				if !ok || n >= apiGatewayTimeout {
					return []Finding{finding(r.ID, "Properties.Timeout", "timeout %v, want under %d s (API Gateway's integration timeout)", r.Properties["Timeout"], apiGatewayTimeout)}
				}
				return inferTimeouts(t, r, n)
			},
		},
		{
			ID:      "function-async-failure",
			Mirrors: []string{"serverless-rules ES1007", "checkov CKV_AWS_116"},
			Reason:  "An asynchronously invoked function must bound its retries and event age and send what still fails to a destination.",
			Check:   checkAsync,
		},
		{
			ID:      "function-reserved-concurrency",
			Mirrors: []string{"checkov CKV_AWS_115", "cfn-nag W92"},
			Reason:  "Ingestion and remediation start pipelines; reserved concurrency caps how many run at once.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, id := range reservedConcurrency {
					r := t.Resources[id]
					if r == nil {
						continue
					}
					if n, ok := t.number(r.Properties["ReservedConcurrentExecutions"]); !ok || n < 1 {
						out = append(out, finding(id, "Properties.ReservedConcurrentExecutions", "no reserved concurrency"))
					}
				}
				return out
			},
		},
	}
}

// inferTimeouts checks the timeouts around the inference function: its
// SageMaker call (INVOKE_TIMEOUT) ends before the function does, and the
// function ends before any API integration that calls it gives up.
func inferTimeouts(t *Template, r *Resource, timeout float64) []Finding {
	var out []Finding
	v := asMap(asMap(r.Properties["Environment"])["Variables"])["INVOKE_TIMEOUT"]
	if id, ok := asMap(v)["Ref"].(string); ok {
		v = asMap(t.Parameters[id])["Default"]
	}
	if s, ok := v.(string); ok {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			out = append(out, finding(r.ID, "Properties.Environment.Variables.INVOKE_TIMEOUT", "INVOKE_TIMEOUT %q is not a Go duration", s))
		case d.Seconds() >= timeout:
			out = append(out, finding(r.ID, "Properties.Environment.Variables.INVOKE_TIMEOUT", "INVOKE_TIMEOUT %s is not below the function timeout (%g s)", d, timeout))
		}
	}
	for _, api := range t.Sorted("AWS::Serverless::Api") {
		walk(api.Properties["DefinitionBody"], func(x any) {
			integ := asMap(asMap(x)["x-amazon-apigateway-integration"])
			if integ == nil || !contains(references(integ["uri"]), r.ID) {
				return
			}
			if ms, ok := t.number(integ["timeoutInMillis"]); ok && timeout*1000 > ms {
				out = append(out, finding(api.ID, "Properties.DefinitionBody.x-amazon-apigateway-integration.timeoutInMillis",
					"integration gives up after %g ms, before %s's %g s timeout", ms, r.ID, timeout))
			}
		})
	}
	return out
}

func eachFunction(fn func(*Template, *Resource) []Finding) func(*Template) []Finding {
	return func(t *Template) []Finding {
		var out []Finding
		for _, r := range t.Functions() {
			out = append(out, fn(t, r)...)
		}
		return out
	}
}

func checkLogGroup(t *Template, r *Resource) []Finding {
	retention := func(lg *Resource) []Finding {
		if _, ok := t.number(lg.Properties["RetentionInDays"]); !ok {
			return []Finding{finding(lg.ID, "Properties.RetentionInDays", "log group of %s has no retention", r.ID)}
		}
		return nil
	}
	if v := asMap(r.Properties["LoggingConfig"])["LogGroup"]; v != nil {
		id, ok := refTarget(v)
		if lg := t.Resources[id]; ok && lg != nil && lg.Type == "AWS::Logs::LogGroup" {
			return retention(lg)
		}
	}
	name, _ := r.Properties["FunctionName"].(string)
	for _, lg := range t.Sorted("AWS::Logs::LogGroup") {
		n := lg.Properties["LogGroupName"]
		if s, ok := asMap(n)["Fn::Sub"].(string); ok && (s == "/aws/lambda/${"+r.ID+"}") {
			return retention(lg)
		}
		if s, ok := n.(string); ok && name != "" && s == "/aws/lambda/"+name {
			return retention(lg)
		}
	}
	return []Finding{finding(r.ID, "Properties.LoggingConfig.LogGroup", "no AWS::Logs::LogGroup for this function (LoggingConfig.LogGroup or LogGroupName /aws/lambda/${%s})", r.ID)}
}

// asyncInvoked reports whether something invokes the function asynchronously.
func asyncInvoked(t *Template, fn *Resource) (string, bool) {
	events := asMap(fn.Properties["Events"])
	for _, name := range sortedKeys(events) {
		if typ, _ := asMap(events[name])["Type"].(string); asyncEventTypes[typ] {
			return fmt.Sprintf("event %s (%s)", name, typ), true
		}
	}
	for _, rule := range t.Sorted("AWS::Events::Rule") {
		for _, tg := range asList(rule.Properties["Targets"]) {
			if id, ok := refTarget(asMap(tg)["Arn"]); ok && id == fn.ID {
				return "rule " + rule.ID, true
			}
		}
	}
	for _, p := range t.Sorted("AWS::Lambda::Permission") {
		if id, ok := refTarget(p.Properties["FunctionName"]); ok && id == fn.ID {
			if pr, _ := p.Properties["Principal"].(string); asyncPrincipals[pr] {
				return "permission " + p.ID + " for " + pr, true
			}
		}
	}
	return "", false
}

func checkAsync(t *Template) []Finding {
	var out []Finding
	for _, fn := range t.Functions() {
		why, ok := asyncInvoked(t, fn)
		if !ok {
			continue
		}
		cfg, prop := asMap(fn.Properties["EventInvokeConfig"]), "Properties.EventInvokeConfig"
		for _, eic := range t.Sorted("AWS::Lambda::EventInvokeConfig") {
			if id, ok := refTarget(eic.Properties["FunctionName"]); ok && id == fn.ID {
				cfg, prop = eic.Properties, eic.ID
			}
		}
		if cfg == nil {
			out = append(out, finding(fn.ID, prop, "invoked asynchronously by %s but has no EventInvokeConfig", why))
			continue
		}
		if !present(asMap(asMap(cfg["DestinationConfig"])["OnFailure"])["Destination"]) {
			out = append(out, finding(fn.ID, prop+".DestinationConfig.OnFailure", "invoked asynchronously by %s without an on-failure destination", why))
		}
		if n, ok := t.number(cfg["MaximumRetryAttempts"]); !ok || n < 0 || n > maxAsyncRetries {
			out = append(out, finding(fn.ID, prop+".MaximumRetryAttempts", "MaximumRetryAttempts %v, want 0..%d", cfg["MaximumRetryAttempts"], maxAsyncRetries))
		}
		if n, ok := t.number(cfg["MaximumEventAgeInSeconds"]); !ok || n < minAsyncEventAge || n > maxAsyncEventAge {
			out = append(out, finding(fn.ID, prop+".MaximumEventAgeInSeconds", "MaximumEventAgeInSeconds %v, want %d..%d", cfg["MaximumEventAgeInSeconds"], minAsyncEventAge, maxAsyncEventAge))
		}
	}
	return out
}

// functionName maps a logical id to the fixture prefix: IngestFunction -> ingest.
func functionName(id string) string {
	return strings.ToLower(strings.TrimSuffix(id, "Function"))
}
