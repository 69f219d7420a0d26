package guardrails

import (
	"fmt"
	"sort"
)

// ruleEventTypes are the SAM event sources that create an EventBridge (or
// EventBridge Scheduler) target.
var ruleEventTypes = map[string]bool{"EventBridgeRule": true, "CloudWatchEvent": true, "Schedule": true, "ScheduleV2": true}

// depthMetrics are the SQS metrics that show messages piling up.
var depthMetrics = map[string]bool{"ApproximateNumberOfMessagesVisible": true, "ApproximateAgeOfOldestMessage": true}

// target is one EventBridge target wherever the template declares it.
type target struct {
	resource, prop string
	props          map[string]any
	// samEvent is the SAM event (function or state machine) that declares
	// it; pattern is its event pattern, if any.
	samEvent string
	pattern  any
}

func targets(t *Template) []target {
	var out []target
	for _, r := range t.Sorted("AWS::Events::Rule") {
		for i, tg := range asList(r.Properties["Targets"]) {
			out = append(out, target{resource: r.ID, prop: fmt.Sprintf("Properties.Targets[%d]", i), props: asMap(tg), pattern: r.Properties["EventPattern"]})
		}
	}
	for _, r := range t.Sorted("AWS::Scheduler::Schedule") {
		out = append(out, target{resource: r.ID, prop: "Properties.Target", props: asMap(r.Properties["Target"])})
	}
	for _, r := range t.Sorted("AWS::Serverless::Function", "AWS::Serverless::StateMachine") {
		events := asMap(r.Properties["Events"])
		for _, name := range sortedKeys(events) {
			ev := asMap(events[name])
			typ, _ := ev["Type"].(string)
			if !ruleEventTypes[typ] {
				continue
			}
			p := asMap(ev["Properties"])
			out = append(out, target{resource: r.ID, prop: "Properties.Events." + name + ".Properties", props: p, samEvent: name, pattern: p["Pattern"]})
		}
	}
	return out
}

func eventRules() []Rule {
	return []Rule{
		{
			ID:      "eventbridge-target-dlq",
			Mirrors: []string{"serverless-rules ES4000"},
			Reason:  "An event EventBridge cannot deliver is dropped unless the target has a dead-letter queue.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, tg := range targets(t) {
					dlq := asMap(tg.props["DeadLetterConfig"])
					if !present(dlq["Arn"]) && dlq["Type"] != "SQS" {
						out = append(out, finding(tg.resource, tg.prop+".DeadLetterConfig", "EventBridge target has no dead-letter queue"))
					}
				}
				return out
			},
		},
		{
			ID:     "eventbridge-target-retry",
			Reason: "The default retry policy retries for 24 hours; the retries and event age are chosen explicitly.",
			Check: func(t *Template) []Finding {
				var out []Finding
				for _, tg := range targets(t) {
					rp := asMap(tg.props["RetryPolicy"])
					for _, p := range []string{"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} {
						if _, ok := t.number(rp[p]); !ok {
							out = append(out, finding(tg.resource, tg.prop+".RetryPolicy."+p, "EventBridge target has no %s", p))
						}
					}
				}
				return out
			},
		},
		{
			ID:     "failure-queue-alarm",
			Reason: "A dead-letter queue nobody watches loses failures silently; each one has an alarm on its depth.",
			Check:  checkFailureQueues,
		},
	}
}

// failureQueues maps each queue that receives failures to where it is
// named as a failure destination.
func failureQueues(t *Template) (map[string]string, []Finding) {
	queues := map[string]string{}
	var unalarmable []Finding
	add := func(v any, where string) {
		if id, ok := refTarget(v); ok {
			if q := t.Resources[id]; q != nil && q.Type == "AWS::SQS::Queue" {
				if _, seen := queues[id]; !seen {
					queues[id] = where
				}
			}
		}
	}
	for _, tg := range targets(t) {
		dlq := asMap(tg.props["DeadLetterConfig"])
		add(dlq["Arn"], tg.resource+"."+tg.prop)
		if dlq["Type"] == "SQS" && !present(dlq["Arn"]) {
			unalarmable = append(unalarmable, finding(tg.resource, tg.prop+".DeadLetterConfig.Type",
				"SAM-generated dead-letter queue cannot carry an alarm: declare the queue and set DeadLetterConfig.Arn"))
		}
	}
	for _, fn := range t.Functions() {
		add(asMap(asMap(asMap(fn.Properties["EventInvokeConfig"])["DestinationConfig"])["OnFailure"])["Destination"], fn.ID+".EventInvokeConfig")
		add(asMap(fn.Properties["DeadLetterQueue"])["TargetArn"], fn.ID+".DeadLetterQueue")
		add(asMap(fn.Properties["DeadLetterConfig"])["TargetArn"], fn.ID+".DeadLetterConfig")
	}
	for _, eic := range t.Sorted("AWS::Lambda::EventInvokeConfig") {
		add(asMap(asMap(asMap(eic.Properties["DestinationConfig"])["OnFailure"]))["Destination"], eic.ID)
	}
	for _, q := range t.Sorted("AWS::SQS::Queue") {
		rp := asMap(q.Properties["RedrivePolicy"])
		add(rp["deadLetterTargetArn"], q.ID+".RedrivePolicy")
	}
	return queues, unalarmable
}

func checkFailureQueues(t *Template) []Finding {
	queues, out := failureQueues(t)
	watched := map[string]bool{}
	for _, a := range t.Sorted("AWS::CloudWatch::Alarm") {
		metrics := []map[string]any{a.Properties}
		for _, m := range asList(a.Properties["Metrics"]) {
			metrics = append(metrics, asMap(asMap(asMap(m)["MetricStat"])["Metric"]))
		}
		for _, m := range metrics {
			name, _ := m["MetricName"].(string)
			if m["Namespace"] != "AWS/SQS" || !depthMetrics[name] {
				continue
			}
			for _, d := range asList(m["Dimensions"]) {
				if asMap(d)["Name"] == "QueueName" {
					if id, ok := refTarget(asMap(d)["Value"]); ok {
						watched[id] = true
					}
				}
			}
		}
	}
	for _, id := range sortedKeys(queues) {
		if !watched[id] {
			out = append(out, finding(id, "Alarm", "queue receives failures (%s) but no AWS::CloudWatch::Alarm watches its depth (AWS/SQS ApproximateNumberOfMessagesVisible with QueueName dimension)", queues[id]))
		}
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
