package sfnemu

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/awsproto"
)

// ServeHTTP answers the AWS JSON 1.0 Step Functions API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, op, ok := awsproto.JSONTarget(r)
	if r.Method != http.MethodPost || !ok || prefix != TargetPrefix {
		awsproto.WriteJSONError(w, r, awsproto.UnknownOperation(op))
		return
	}
	h, ok := s.operations()[op]
	if !ok {
		awsproto.WriteJSONError(w, r, awsproto.UnknownOperation(op))
		return
	}
	out, err := h(r)
	if err != nil {
		var ae *awsproto.Error
		if !errors.As(err, &ae) {
			s.log.Error("step functions request failed", "operation", op, "err", err)
		}
		awsproto.WriteJSONError(w, r, err)
		return
	}
	awsproto.WriteJSON(w, r, out)
}

type operation func(r *http.Request) (any, error)

func (s *Service) operations() map[string]operation {
	return map[string]operation{
		"CreateStateMachine":               s.apiCreateStateMachine,
		"UpdateStateMachine":               s.apiUpdateStateMachine,
		"DeleteStateMachine":               s.apiDeleteStateMachine,
		"DescribeStateMachine":             s.apiDescribeStateMachine,
		"DescribeStateMachineForExecution": s.apiDescribeStateMachineForExecution,
		"ListStateMachines":                s.apiListStateMachines,
		"ValidateStateMachineDefinition":   s.apiValidateStateMachineDefinition,
		"StartExecution":                   s.apiStartExecution,
		"DescribeExecution":                s.apiDescribeExecution,
		"ListExecutions":                   s.apiListExecutions,
		"GetExecutionHistory":              s.apiGetExecutionHistory,
		"StopExecution":                    s.apiStopExecution,
		"SendTaskSuccess":                  s.apiSendTaskSuccess,
		"SendTaskFailure":                  s.apiSendTaskFailure,
		"SendTaskHeartbeat":                s.apiSendTaskHeartbeat,
	}
}

// epoch renders a time as AWS JSON protocols do: seconds since the epoch.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func required(field, value string) error {
	if value == "" {
		return awsproto.Validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
	}
	return nil
}

func (s *Service) apiCreateStateMachine(r *http.Request) (any, error) {
	var in struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
		RoleArn    string `json:"roleArn"`
		Type       string `json:"type"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	for _, f := range [][2]string{{"name", in.Name}, {"definition", in.Definition}, {"roleArn", in.RoleArn}} {
		if err := required(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	arn, created, err := s.CreateStateMachine(CreateStateMachineInput{Name: in.Name, Definition: in.Definition, RoleARN: in.RoleArn, Type: in.Type})
	if err != nil {
		return nil, err
	}
	return map[string]any{"stateMachineArn": arn, "creationDate": epoch(created)}, nil
}

func (s *Service) apiUpdateStateMachine(r *http.Request) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
		Definition      string `json:"definition"`
		RoleArn         string `json:"roleArn"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("stateMachineArn", in.StateMachineArn); err != nil {
		return nil, err
	}
	if _, err := s.UpdateStateMachine(in.StateMachineArn, in.Definition, in.RoleArn); err != nil {
		return nil, err
	}
	return map[string]any{"updateDate": epoch(s.opts.Clock.Now())}, nil
}

func (s *Service) apiDeleteStateMachine(r *http.Request) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("stateMachineArn", in.StateMachineArn); err != nil {
		return nil, err
	}
	return map[string]any{}, s.DeleteStateMachine(in.StateMachineArn)
}

func describeMachine(sm *stateMachine) map[string]any {
	return map[string]any{
		"stateMachineArn": sm.ARN, "name": sm.Name, "status": "ACTIVE", "definition": sm.Definition,
		"roleArn": sm.RoleARN, "type": sm.Type, "creationDate": epoch(sm.CreationDate),
		"loggingConfiguration": map[string]any{"level": "OFF", "includeExecutionData": false},
		"tracingConfiguration": map[string]any{"enabled": false},
	}
}

func (s *Service) apiDescribeStateMachine(r *http.Request) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("stateMachineArn", in.StateMachineArn); err != nil {
		return nil, err
	}
	sm, err := s.machine(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	return describeMachine(sm), nil
}

func (s *Service) apiDescribeStateMachineForExecution(r *http.Request) (any, error) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	ex, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	sm, err := s.machine(ex.StateMachineARN)
	if err != nil {
		return nil, err
	}
	d := describeMachine(sm)
	delete(d, "status")
	delete(d, "type")
	delete(d, "creationDate")
	d["updateDate"] = epoch(sm.CreationDate)
	return d, nil
}

func (s *Service) apiValidateStateMachineDefinition(r *http.Request) (any, error) {
	var in struct {
		Definition string `json:"definition"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	_, err := asl.Parse([]byte(in.Definition))
	var ve *asl.ValidationError
	if !errors.As(err, &ve) {
		return map[string]any{"result": "OK", "diagnostics": []any{}}, nil
	}
	diags := []any{}
	for _, d := range ve.Diagnostics {
		diags = append(diags, map[string]any{"severity": "ERROR", "code": d.Code, "message": d.Message, "location": d.Location})
	}
	return map[string]any{"result": "FAIL", "diagnostics": diags}, nil
}

// page applies maxResults/nextToken paging over n items (tokens are
// opaque offsets).
func page(n int, maxResults int, token string) (start, end int, next string, err error) {
	if token != "" {
		b, derr := base64.RawURLEncoding.DecodeString(token)
		off, cerr := strconv.Atoi(string(b))
		if derr != nil || cerr != nil || off < 0 || off > n {
			return 0, 0, "", awsproto.Errorf(http.StatusBadRequest, "InvalidToken", "Invalid Token: '%s'", token)
		}
		start = off
	}
	if maxResults < 0 || maxResults > 1000 {
		return 0, 0, "", awsproto.Validation("maxResults must be between 0 and 1000")
	}
	if maxResults == 0 {
		maxResults = 100
	}
	end = min(start+maxResults, n)
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return start, end, next, nil
}

func (s *Service) apiListStateMachines(r *http.Request) (any, error) {
	var in struct {
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	all := s.sortedMachines()
	start, end, next, err := page(len(all), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	list := []any{}
	for _, sm := range all[start:end] {
		list = append(list, map[string]any{"stateMachineArn": sm.ARN, "name": sm.Name, "type": sm.Type, "creationDate": epoch(sm.CreationDate)})
	}
	out := map[string]any{"stateMachines": list}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Service) apiStartExecution(r *http.Request) (any, error) {
	var in struct {
		StateMachineArn string  `json:"stateMachineArn"`
		Name            string  `json:"name"`
		Input           *string `json:"input"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("stateMachineArn", in.StateMachineArn); err != nil {
		return nil, err
	}
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	arn, start, err := s.StartExecution(r.Context(), in.StateMachineArn, in.Name, input)
	if err != nil {
		return nil, err
	}
	return map[string]any{"executionArn": arn, "startDate": epoch(start)}, nil
}

func (s *Service) apiDescribeExecution(r *http.Request) (any, error) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("executionArn", in.ExecutionArn); err != nil {
		return nil, err
	}
	d, err := s.DescribeExecution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"executionArn": d.ExecutionARN, "stateMachineArn": d.StateMachineARN, "name": d.Name, "status": d.Status,
		"startDate": epoch(d.StartDate), "input": d.Input, "inputDetails": map[string]any{"included": true},
		"redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE",
	}
	if d.StopDate != nil {
		out["stopDate"] = epoch(*d.StopDate)
	}
	if d.Output != nil {
		out["output"] = *d.Output
		out["outputDetails"] = map[string]any{"included": true}
	}
	if d.Error != "" {
		out["error"] = d.Error
	}
	if d.Cause != "" {
		out["cause"] = d.Cause
	}
	return out, nil
}

var executionStatuses = map[string]bool{"RUNNING": true, "SUCCEEDED": true, "FAILED": true, "TIMED_OUT": true, "ABORTED": true, "PENDING_REDRIVE": true}

func (s *Service) apiListExecutions(r *http.Request) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
		StatusFilter    string `json:"statusFilter"`
		MaxResults      int    `json:"maxResults"`
		NextToken       string `json:"nextToken"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("stateMachineArn", in.StateMachineArn); err != nil {
		return nil, err
	}
	if in.StatusFilter != "" && !executionStatuses[in.StatusFilter] {
		return nil, awsproto.Validation("1 validation error detected: Value '%s' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]", in.StatusFilter)
	}
	if _, err := s.machine(in.StateMachineArn); err != nil {
		return nil, err
	}
	all := s.sortedExecutions(in.StateMachineArn, in.StatusFilter)
	start, end, next, err := page(len(all), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	list := []any{}
	for _, ex := range all[start:end] {
		item := map[string]any{"executionArn": ex.ARN, "stateMachineArn": ex.StateMachineARN, "name": ex.Name, "status": ex.Status, "startDate": epoch(ex.StartDate)}
		if ex.StopDate != nil {
			item["stopDate"] = epoch(*ex.StopDate)
		}
		list = append(list, item)
	}
	out := map[string]any{"executions": list}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// renderEvent gives an event AWS's HistoryEvent shape.
func renderEvent(e asl.Event, includeData bool) map[string]any {
	out := map[string]any{"id": e.ID, "previousEventId": e.PreviousEventID, "timestamp": epoch(e.Timestamp), "type": e.Type}
	if e.DetailsKey != "" {
		d := make(map[string]any, len(e.Details))
		for k, v := range e.Details {
			if !includeData && (k == "input" || k == "output" || k == "parameters") {
				continue
			}
			d[k] = v
		}
		out[e.DetailsKey] = d
	}
	return out
}

func (s *Service) apiGetExecutionHistory(r *http.Request) (any, error) {
	var in struct {
		ExecutionArn         string `json:"executionArn"`
		MaxResults           int    `json:"maxResults"`
		ReverseOrder         bool   `json:"reverseOrder"`
		NextToken            string `json:"nextToken"`
		IncludeExecutionData *bool  `json:"includeExecutionData"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("executionArn", in.ExecutionArn); err != nil {
		return nil, err
	}
	events, err := s.History(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	if in.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	start, end, next, err := page(len(events), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	include := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	list := []any{}
	for _, e := range events[start:end] {
		list = append(list, renderEvent(e, include))
	}
	out := map[string]any{"events": list}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Service) apiStopExecution(r *http.Request) (any, error) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
		Error        string `json:"error"`
		Cause        string `json:"cause"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("executionArn", in.ExecutionArn); err != nil {
		return nil, err
	}
	stop, err := s.StopExecution(in.ExecutionArn, in.Error, in.Cause)
	if err != nil {
		return nil, err
	}
	return map[string]any{"stopDate": epoch(stop)}, nil
}

func tokenError(err error) error {
	switch {
	case errors.Is(err, asl.ErrTaskDoesNotExist):
		return apiErr("TaskDoesNotExist", "Task Does Not Exist")
	case errors.Is(err, asl.ErrInvalidOutput):
		return apiErr("InvalidOutput", "Invalid Output: %v", err)
	}
	return err
}

func (s *Service) apiSendTaskSuccess(r *http.Request) (any, error) {
	var in struct {
		TaskToken string `json:"taskToken"`
		Output    string `json:"output"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("taskToken", in.TaskToken); err != nil {
		return nil, err
	}
	if err := required("output", in.Output); err != nil {
		return nil, err
	}
	return map[string]any{}, tokenError(s.engine.SendTaskSuccess(in.TaskToken, in.Output))
}

func (s *Service) apiSendTaskFailure(r *http.Request) (any, error) {
	var in struct {
		TaskToken string `json:"taskToken"`
		Error     string `json:"error"`
		Cause     string `json:"cause"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("taskToken", in.TaskToken); err != nil {
		return nil, err
	}
	return map[string]any{}, tokenError(s.engine.SendTaskFailure(in.TaskToken, in.Error, in.Cause))
}

func (s *Service) apiSendTaskHeartbeat(r *http.Request) (any, error) {
	var in struct {
		TaskToken string `json:"taskToken"`
	}
	if err := awsproto.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if err := required("taskToken", in.TaskToken); err != nil {
		return nil, err
	}
	return map[string]any{}, tokenError(s.engine.SendTaskHeartbeat(in.TaskToken))
}
