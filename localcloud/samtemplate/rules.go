package samtemplate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gomlops/mlops/internal/cfnyaml"
)

// Rule is an EventBridge rule: an AWS::Events::Rule, or one SAM generates
// for an EventBridgeRule, CloudWatchEvent, Schedule or ScheduleV2 event of a
// function or state machine.
type Rule struct {
	// LogicalID is the resource key, or <owner><EventName> for SAM events.
	LogicalID string
	// Name, ARN and EventBus ("default" unless set) identify it.
	Name, ARN, EventBus string
	// Pattern is the event pattern JSON (nil for a schedule).
	Pattern json.RawMessage
	// ScheduleExpression is rate(...) or cron(...) ("" for a pattern).
	ScheduleExpression string
	// Enabled is false for State DISABLED or Enabled: false.
	Enabled bool
	// Targets are the rule's targets.
	Targets []Target
}

// Target is one target of a rule.
type Target struct {
	// ID is the target id; ARN what it invokes.
	ID, ARN string
	// Input (constant JSON) and InputPath are mutually exclusive with
	// InputTransformer.
	Input, InputPath string
	// InputTransformer is nil when unset.
	InputTransformer *InputTransformer
	// RetryPolicy is nil when unset (AWS default: 185 attempts, 24 h).
	RetryPolicy *RetryPolicy
	// DeadLetterARN is DeadLetterConfig.Arn ("" if unset).
	DeadLetterARN string
	// RoleARN is the role EventBridge uses for the target.
	RoleARN string
}

// InputTransformer rewrites the event for a target.
type InputTransformer struct {
	InputPathsMap map[string]string
	InputTemplate string
}

// RetryPolicy bounds EventBridge's retries of a target.
type RetryPolicy struct {
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
}

// Rules returns every EventBridge rule of the template, sorted by logical id.
func (t *Template) Rules() ([]Rule, error) {
	var out []Rule
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		switch res.Type {
		case "AWS::Events::Rule":
			if res.Implicit {
				// Generated for a SAM event: listed with its event below.
				continue
			}
			r, err := t.eventsRule(id, res.Properties)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		case "AWS::Serverless::Function", "AWS::Serverless::StateMachine":
			events, err := eventsOf(id, res.Properties["Events"])
			if err != nil {
				return nil, err
			}
			for _, ev := range events {
				switch ev.Type {
				case "EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2":
					r, err := t.samRule(id, ev)
					if err != nil {
						return nil, err
					}
					out = append(out, r)
				}
			}
		}
	}
	return out, nil
}

func (t *Template) eventsRule(id string, p map[string]any) (Rule, error) {
	r := Rule{LogicalID: id, Name: t.PhysicalName(id), ARN: t.ARN(id), EventBus: "default", Enabled: true}
	if bus, _ := scalarString(p["EventBusName"]); bus != "" {
		r.EventBus = busName(bus)
	}
	if st, _ := p["State"].(string); st != "" && st != "ENABLED" {
		r.Enabled = false
	}
	if err := setPattern(&r, "resource "+id+" property EventPattern", p["EventPattern"]); err != nil {
		return Rule{}, err
	}
	r.ScheduleExpression, _ = scalarString(p["ScheduleExpression"])
	if r.Pattern == nil && r.ScheduleExpression == "" {
		return Rule{}, fmt.Errorf("resource %s: a rule needs EventPattern or ScheduleExpression", id)
	}
	for i, tv := range asList(p["Targets"]) {
		tm := mapOf(tv)
		where := fmt.Sprintf("resource %s property Targets[%d]", id, i)
		tg, err := target(where, tm)
		if err != nil {
			return Rule{}, err
		}
		tg.ID, _ = scalarString(tm["Id"])
		tg.ARN, _ = scalarString(tm["Arn"])
		if tg.ARN == "" {
			return Rule{}, fmt.Errorf("%s.Arn: missing", where)
		}
		tg.RoleARN, _ = scalarString(tm["RoleArn"])
		r.Targets = append(r.Targets, tg)
	}
	return r, nil
}

func (t *Template) samRule(owner string, ev Event) (Rule, error) {
	p := ev.Properties
	where := "resource " + owner + " property Events." + ev.Name
	id := owner + ev.Name
	r := Rule{LogicalID: id, Name: t.PhysicalName(id), ARN: t.ARN(id), EventBus: "default", Enabled: true}
	if bus, _ := scalarString(p["EventBusName"]); bus != "" {
		r.EventBus = busName(bus)
	}
	if st, _ := p["State"].(string); st != "" && st != "ENABLED" {
		r.Enabled = false
	}
	if en, ok := p["Enabled"].(bool); ok {
		r.Enabled = en
	}
	switch ev.Type {
	case "Schedule":
		r.ScheduleExpression, _ = scalarString(p["Schedule"])
	case "ScheduleV2":
		r.ScheduleExpression, _ = scalarString(p["ScheduleExpression"])
	default:
		if err := setPattern(&r, where+".Pattern", p["Pattern"]); err != nil {
			return Rule{}, err
		}
	}
	if r.Pattern == nil && r.ScheduleExpression == "" {
		return Rule{}, fmt.Errorf("%s: missing Pattern or Schedule", where)
	}
	tg, err := target(where, p)
	if err != nil {
		return Rule{}, err
	}
	tg.ARN = t.ARN(owner)
	tg.ID, _ = scalarString(mapOf(p["Target"])["Id"])
	if tg.ID == "" {
		tg.ID = id + "Target"
	}
	r.Targets = []Target{tg}
	return r, nil
}

func busName(bus string) string {
	if strings.HasPrefix(bus, "arn:") {
		return bus[strings.LastIndex(bus, "/")+1:]
	}
	return bus
}

func setPattern(r *Rule, where string, v any) error {
	if v == nil {
		return nil
	}
	b, err := jsonOf(v)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	r.Pattern = b
	return nil
}

// target reads the properties a rule target and a SAM rule event share.
func target(where string, m map[string]any) (Target, error) {
	var tg Target
	if in, ok := m["Input"]; ok {
		s, err := scalarString(in)
		if err != nil {
			return Target{}, fmt.Errorf("%s.Input: %w", where, err)
		}
		if !json.Valid([]byte(s)) {
			return Target{}, fmt.Errorf("%s.Input: %q is not valid JSON", where, s)
		}
		tg.Input = s
	}
	tg.InputPath, _ = scalarString(m["InputPath"])
	if it := mapOf(m["InputTransformer"]); len(it) > 0 {
		x := &InputTransformer{InputPathsMap: map[string]string{}}
		for k, v := range mapOf(it["InputPathsMap"]) {
			x.InputPathsMap[k], _ = scalarString(v)
		}
		x.InputTemplate, _ = scalarString(it["InputTemplate"])
		if x.InputTemplate == "" {
			return Target{}, fmt.Errorf("%s.InputTransformer.InputTemplate: missing", where)
		}
		tg.InputTransformer = x
	}
	if rp := mapOf(m["RetryPolicy"]); len(rp) > 0 {
		pol := &RetryPolicy{}
		if v, ok := rp["MaximumRetryAttempts"]; ok {
			n, err := intOf(v)
			if err != nil {
				return Target{}, fmt.Errorf("%s.RetryPolicy.MaximumRetryAttempts: %w", where, err)
			}
			pol.MaximumRetryAttempts = &n
		}
		if v, ok := rp["MaximumEventAgeInSeconds"]; ok {
			n, err := intOf(v)
			if err != nil {
				return Target{}, fmt.Errorf("%s.RetryPolicy.MaximumEventAgeInSeconds: %w", where, err)
			}
			pol.MaximumEventAgeInSeconds = &n
		}
		tg.RetryPolicy = pol
	}
	if dl := mapOf(m["DeadLetterConfig"]); len(dl) > 0 {
		tg.DeadLetterARN, _ = scalarString(dl["Arn"])
		if tg.DeadLetterARN == "" {
			return Target{}, fmt.Errorf("%s.DeadLetterConfig.Arn: missing; the local cloud does not create implicit dead-letter queues, give the queue ARN", where)
		}
	}
	return tg, nil
}

// API is an API Gateway API served by `localcloud start-api`.
type API struct {
	// LogicalID is the API resource (ServerlessRestApi / ServerlessHttpApi
	// for the implicit ones); ID its local API id.
	LogicalID, ID string
	// Type is "REST" (Api events) or "HTTP" (HttpApi events).
	Type string
	// StageName is the stage (Prod for the implicit REST API, $default
	// for the implicit HTTP API).
	StageName string
	// Routes are the function events routed to this API.
	Routes []Route
}

// Route maps a method and path (with {param} and {proxy+} segments) to a
// function.
type Route struct {
	// Method is upper-case, or ANY.
	Method, Path string
	// Function is the target function's logical id; EventName the event.
	Function, EventName string
	// Auth is the event's Auth property (authorizer, API key, IAM), nil
	// when unset.
	Auth map[string]any
}

// APIs returns the template's API Gateway APIs with the routes of the
// functions' Api and HttpApi events.
func (t *Template) APIs() ([]API, error) {
	byID := map[string]*API{}
	var order []string
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		var typ, stage string
		switch res.Type {
		case "AWS::Serverless::Api":
			typ = "REST"
			stage, _ = scalarString(res.Properties["StageName"])
		case "AWS::Serverless::HttpApi":
			typ, stage = "HTTP", "$default"
			if s, _ := scalarString(res.Properties["StageName"]); s != "" {
				stage = s
			}
		default:
			continue
		}
		ref, err := t.Ref(id)
		if err != nil {
			return nil, err
		}
		byID[ref] = &API{LogicalID: id, ID: ref, Type: typ, StageName: stage}
		order = append(order, ref)
	}
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		events, err := eventsOf(id, res.Properties["Events"])
		if err != nil {
			return nil, err
		}
		for _, ev := range events {
			if ev.Type != "Api" && ev.Type != "HttpApi" {
				continue
			}
			where := "resource " + id + " property Events." + ev.Name
			apiKey, implicit := "RestApiId", "ServerlessRestApi"
			if ev.Type == "HttpApi" {
				apiKey, implicit = "ApiId", "ServerlessHttpApi"
			}
			ref, _ := scalarString(ev.Properties[apiKey])
			if ref == "" {
				ref, _ = t.Ref(implicit)
			}
			api, ok := byID[ref]
			if !ok {
				return nil, fmt.Errorf("%s.%s: %q is not an API of this template", where, apiKey, ref)
			}
			method, _ := scalarString(ev.Properties["Method"])
			path, _ := scalarString(ev.Properties["Path"])
			if ev.Type == "HttpApi" && method == "" && path == "" {
				method, path = "ANY", "/{proxy+}"
			}
			if method == "" || path == "" {
				return nil, fmt.Errorf("%s: Method and Path are required", where)
			}
			m := strings.ToUpper(method)
			if m == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
				m = "ANY"
			}
			route := Route{Method: m, Path: path, Function: id, EventName: ev.Name}
			if a, ok := ev.Properties["Auth"].(map[string]any); ok {
				route.Auth = a
			}
			api.Routes = append(api.Routes, route)
		}
	}
	var out []API
	for _, ref := range order {
		api := byID[ref]
		res := t.Resources[api.LogicalID]
		_, body := res.Properties["DefinitionBody"]
		_, uri := res.Properties["DefinitionUri"]
		if (body || uri) && len(api.Routes) == 0 {
			return nil, fmt.Errorf("resource %s property DefinitionBody/DefinitionUri: routes defined only in OpenAPI are not supported locally; add Api events to the functions", api.LogicalID)
		}
		out = append(out, *api)
	}
	return out, nil
}

func decodeYAMLDefinition(b []byte) (string, error) {
	doc, err := cfnyaml.Decode(b)
	if err != nil {
		return "", err
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	return string(out), nil
}
