package eventbridge

import (
	"net/http"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// ServeHTTP answers the EventBridge API (AWS JSON 1.1, X-Amz-Target
// AWSEvents.Operation).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, op, ok := awsproto.JSONTarget(r)
	if !ok || prefix != "AWSEvents" {
		awsproto.WriteJSONError(w, r, awsproto.UnknownOperation(r.Header.Get("X-Amz-Target")))
		return
	}
	var in struct {
		Entries            []PutEventsEntry `json:"Entries"`
		EventPattern       string           `json:"EventPattern"`
		Event              string           `json:"Event"`
		Name               string           `json:"Name"`
		NamePrefix         string           `json:"NamePrefix"`
		EventBusName       string           `json:"EventBusName"`
		ScheduleExpression string           `json:"ScheduleExpression"`
		State              string           `json:"State"`
		Description        string           `json:"Description"`
		RoleArn            string           `json:"RoleArn"`
		Rule               string           `json:"Rule"`
		Targets            []Target         `json:"Targets"`
		IDs                []string         `json:"Ids"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		awsproto.WriteJSONError(w, r, err)
		return
	}
	switch op {
	case "PutEvents":
		entries, failed, err := s.PutEvents(r.Context(), in.Entries)
		respond(w, r, map[string]any{"FailedEntryCount": failed, "Entries": entries}, err)
	case "TestEventPattern":
		if in.EventPattern == "" || in.Event == "" {
			awsproto.WriteJSONError(w, r, validationf("EventPattern and Event are required."))
			return
		}
		ok, err := TestEventPattern(in.EventPattern, in.Event)
		respond(w, r, map[string]bool{"Result": ok}, err)
	case "PutRule":
		arn, err := s.PutRule(Rule{Name: in.Name, EventBusName: in.EventBusName, EventPattern: in.EventPattern,
			ScheduleExpression: in.ScheduleExpression, State: in.State, Description: in.Description, RoleArn: in.RoleArn})
		respond(w, r, map[string]string{"RuleArn": arn}, err)
	case "DescribeRule":
		rule, err := s.Rule(in.Name)
		if err != nil {
			respond(w, r, nil, err)
			return
		}
		respond(w, r, s.ruleView(rule), nil)
	case "DeleteRule":
		respond(w, r, map[string]any{}, s.DeleteRule(in.Name))
	case "ListRules":
		if err := s.checkBus(in.EventBusName); err != nil {
			respond(w, r, nil, err)
			return
		}
		views := []map[string]any{}
		for _, rule := range s.Rules(in.NamePrefix) {
			views = append(views, s.ruleView(rule))
		}
		respond(w, r, map[string]any{"Rules": views}, nil)
	case "PutTargets":
		err := s.PutTargets(in.Rule, in.EventBusName, in.Targets)
		respond(w, r, map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, err)
	case "RemoveTargets":
		err := s.RemoveTargets(in.Rule, in.IDs)
		respond(w, r, map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, err)
	case "ListTargetsByRule":
		rule, err := s.Rule(in.Rule)
		if err != nil {
			respond(w, r, nil, err)
			return
		}
		targets := rule.Targets
		if targets == nil {
			targets = []Target{}
		}
		respond(w, r, map[string]any{"Targets": targets}, nil)
	default:
		awsproto.WriteJSONError(w, r, awsproto.UnknownOperation(op))
	}
}

func (s *Service) ruleView(r Rule) map[string]any {
	v := map[string]any{"Name": r.Name, "Arn": s.RuleARN(r.Name), "State": r.State, "EventBusName": DefaultBus}
	if r.EventPattern != "" {
		v["EventPattern"] = r.EventPattern
	}
	if r.ScheduleExpression != "" {
		v["ScheduleExpression"] = r.ScheduleExpression
	}
	if r.Description != "" {
		v["Description"] = r.Description
	}
	if r.RoleArn != "" {
		v["RoleArn"] = r.RoleArn
	}
	return v
}

func respond(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		awsproto.WriteJSONError(w, r, err)
		return
	}
	awsproto.WriteJSON(w, r, v)
}
