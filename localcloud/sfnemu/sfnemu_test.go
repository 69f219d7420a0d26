package sfnemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

const role = "arn:aws:iam::123456789012:role/sfn"

const passDef = `{"StartAt":"Hello","States":{"Hello":{"Type":"Pass","Parameters":{"greeting.$":"States.Format('Hello, {}!', $.who)"},"End":true}}}`

const waitDef = `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"Next":"Done"},"Done":{"Type":"Succeed"}}}`

func newService(t *testing.T, opts Options) (*Service, *sfn.Client) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clock.NewManual(t0)
	}
	svc, err := New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(svc)
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, svc.Close())
	})
	client := sfn.New(sfn.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
	})
	return svc, client
}

func await(t *testing.T, svc *Service, arn string) asl.ExecutionOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	oc, err := svc.AwaitExecution(ctx, arn)
	require.NoError(t, err)
	return oc
}

// advanceUntilDone fast-forwards a manual clock until the execution ends,
// moving to the next wake-up only when the execution is quiescent (same
// history length and the same sleepers for a few ticks), so a timeout never
// fires while an integration call is still answering.
func advanceUntilDone(t *testing.T, svc *Service, m *clock.Manual, arn string) asl.ExecutionOutcome {
	t.Helper()
	ex, err := svc.execution(arn)
	require.NoError(t, err)
	require.Positive(t, svc.Running())
	deadline := time.After(20 * time.Second)
	lastLen, lastPending, stable := -1, -1, 0
	for {
		select {
		case <-ex.done:
			return await(t, svc, arn)
		case <-deadline:
			t.Fatal("execution did not finish")
		case <-time.After(300 * time.Microsecond):
		}
		l, p := int(svc.Activity()), m.Pending()
		if l == lastLen && p == lastPending && p > 0 {
			stable++
		} else {
			stable = 0
		}
		lastLen, lastPending = l, p
		if stable >= 3 {
			m.AdvanceToNext()
			stable = 0
		}
	}
}

func TestSDKStateMachineAndExecutionLifecycle(t *testing.T) {
	svc, client := newService(t, Options{})
	ctx := context.Background()

	created, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("hello"), Definition: aws.String(passDef), RoleArn: aws.String(role)})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:states:us-east-1:123456789012:stateMachine:hello", aws.ToString(created.StateMachineArn))
	assert.Equal(t, t0, created.CreationDate.UTC())

	again, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("hello"), Definition: aws.String(passDef), RoleArn: aws.String(role)})
	require.NoError(t, err, "identical create is idempotent")
	assert.Equal(t, created.StateMachineArn, again.StateMachineArn)

	_, err = client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("hello"), Definition: aws.String(waitDef), RoleArn: aws.String(role)})
	var exists *types.StateMachineAlreadyExists
	require.ErrorAs(t, err, &exists)

	desc, err := client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: created.StateMachineArn})
	require.NoError(t, err)
	assert.Equal(t, passDef, aws.ToString(desc.Definition))
	assert.Equal(t, types.StateMachineStatusActive, desc.Status)
	assert.Equal(t, types.StateMachineTypeStandard, desc.Type)

	list, err := client.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	require.NoError(t, err)
	require.Len(t, list.StateMachines, 1)
	assert.Equal(t, "hello", aws.ToString(list.StateMachines[0].Name))

	start, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("run-1"), Input: aws.String(`{"who":"world"}`)})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:states:us-east-1:123456789012:execution:hello:run-1", aws.ToString(start.ExecutionArn))
	await(t, svc, aws.ToString(start.ExecutionArn))
	assert.Equal(t, 0, svc.Running())
	assert.Equal(t, uint64(4), svc.Activity(), "four history events recorded")

	d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: start.ExecutionArn})
	require.NoError(t, err)
	assert.Equal(t, types.ExecutionStatusSucceeded, d.Status)
	assert.JSONEq(t, `{"greeting":"Hello, world!"}`, aws.ToString(d.Output))
	assert.Equal(t, `{"who":"world"}`, aws.ToString(d.Input))
	require.NotNil(t, d.StopDate)

	h, err := client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: start.ExecutionArn})
	require.NoError(t, err)
	var typesSeen []types.HistoryEventType
	for i, e := range h.Events {
		typesSeen = append(typesSeen, e.Type)
		assert.Equal(t, int64(i+1), e.Id)
		assert.Equal(t, int64(i), e.PreviousEventId)
		assert.Equal(t, t0, e.Timestamp.UTC())
	}
	assert.Equal(t, []types.HistoryEventType{"ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"}, typesSeen)
	require.NotNil(t, h.Events[0].ExecutionStartedEventDetails)
	assert.Equal(t, `{"who":"world"}`, aws.ToString(h.Events[0].ExecutionStartedEventDetails.Input))
	assert.Equal(t, role, aws.ToString(h.Events[0].ExecutionStartedEventDetails.RoleArn))
	require.NotNil(t, h.Events[1].StateEnteredEventDetails)
	assert.Equal(t, "Hello", aws.ToString(h.Events[1].StateEnteredEventDetails.Name))
	require.NotNil(t, h.Events[3].ExecutionSucceededEventDetails)
	assert.JSONEq(t, `{"greeting":"Hello, world!"}`, aws.ToString(h.Events[3].ExecutionSucceededEventDetails.Output))

	rev, err := client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: start.ExecutionArn, ReverseOrder: true, MaxResults: 1})
	require.NoError(t, err)
	require.Len(t, rev.Events, 1)
	assert.Equal(t, types.HistoryEventTypeExecutionSucceeded, rev.Events[0].Type)
	assert.NotNil(t, rev.NextToken)
}

func TestSDKListExecutionsFilterAndPaging(t *testing.T) {
	m := clock.NewManual(t0)
	svc, client := newService(t, Options{Clock: m})
	ctx := context.Background()
	fast, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("fast"), Definition: aws.String(passDef), RoleArn: aws.String(role)})
	require.NoError(t, err)
	for i := range 5 {
		out, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: fast.StateMachineArn, Name: aws.String(fmt.Sprintf("e%d", i)), Input: aws.String(`{"who":"x"}`)})
		require.NoError(t, err)
		await(t, svc, aws.ToString(out.ExecutionArn))
		m.Advance(time.Second)
	}
	slow, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("slow"), Definition: aws.String(waitDef), RoleArn: aws.String(role)})
	require.NoError(t, err)
	_, err = client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: slow.StateMachineArn, Name: aws.String("waiting")})
	require.NoError(t, err)

	var names []string
	var token *string
	pages := 0
	for {
		out, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: fast.StateMachineArn, MaxResults: 2, NextToken: token})
		require.NoError(t, err)
		pages++
		for _, e := range out.Executions {
			names = append(names, aws.ToString(e.Name))
			assert.Equal(t, types.ExecutionStatusSucceeded, e.Status)
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	assert.Equal(t, 3, pages)
	assert.Equal(t, []string{"e4", "e3", "e2", "e1", "e0"}, names, "newest first")

	running, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: slow.StateMachineArn, StatusFilter: types.ExecutionStatusRunning})
	require.NoError(t, err)
	require.Len(t, running.Executions, 1)
	none, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: slow.StateMachineArn, StatusFilter: types.ExecutionStatusFailed})
	require.NoError(t, err)
	assert.Empty(t, none.Executions)

	_, err = client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: fast.StateMachineArn, NextToken: aws.String("garbage!")})
	var bad *types.InvalidToken
	assert.ErrorAs(t, err, &bad)
}

func TestStartExecutionNameSemantics(t *testing.T) {
	m := clock.NewManual(t0)
	svc, client := newService(t, Options{Clock: m})
	ctx := context.Background()
	sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("slow"), Definition: aws.String(waitDef), RoleArn: aws.String(role)})
	require.NoError(t, err)
	start := func(name, input string) (*sfn.StartExecutionOutput, error) {
		return client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String(name), Input: aws.String(input)})
	}
	first, err := start("same", `{"a":1,"b":2}`)
	require.NoError(t, err)

	again, err := start("same", `{"b":2, "a":1}`)
	require.NoError(t, err, "same name and same input while running returns the running execution")
	assert.Equal(t, first.ExecutionArn, again.ExecutionArn)
	assert.Equal(t, first.StartDate.UTC(), again.StartDate.UTC())

	_, err = start("same", `{"a":2}`)
	var exists *types.ExecutionAlreadyExists
	require.ErrorAs(t, err, &exists, "same name, other input")

	advanceUntilDone(t, svc, m, aws.ToString(first.ExecutionArn))
	_, err = start("same", `{"a":1,"b":2}`)
	require.ErrorAs(t, err, &exists, "same name after the execution finished")

	m.Advance(91 * 24 * time.Hour)
	reused, err := start("same", `{"a":3}`)
	require.NoError(t, err, "a name can be reused after 90 days")
	assert.Equal(t, first.ExecutionArn, reused.ExecutionArn)

	_, err = start("bad name", `{}`)
	var invalidName *types.InvalidName
	assert.ErrorAs(t, err, &invalidName)
	_, err = start("badinput", `{nope`)
	var invalidInput *types.InvalidExecutionInput
	assert.ErrorAs(t, err, &invalidInput)
	_, err = client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:nope")})
	var missing *types.StateMachineDoesNotExist
	assert.ErrorAs(t, err, &missing)

	generated, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn})
	require.NoError(t, err)
	assert.Regexp(t, `execution:slow:[0-9a-f-]{36}$`, aws.ToString(generated.ExecutionArn))
}

func TestSDKInvalidDefinition(t *testing.T) {
	_, client := newService(t, Options{})
	tests := []struct{ name, def, want string }{
		{"missing StartAt", `{"States":{"A":{"Type":"Succeed"}}}`, "SCHEMA_VALIDATION_FAILED"},
		{"unknown Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`, "MISSING_TRANSITION_TARGET"},
		{"unreachable", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`, "UNREACHABLE_STATE"},
		{"bad path", `{"StartAt":"A","States":{"A":{"Type":"Pass","OutputPath":"x","End":true}}}`, "INVALID_JSON_PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{Name: aws.String("bad"), Definition: aws.String(tt.def), RoleArn: aws.String(role)})
			var inv *types.InvalidDefinition
			require.ErrorAs(t, err, &inv)
			assert.Contains(t, inv.ErrorMessage(), tt.want)
		})
	}
}

func TestStopExecution(t *testing.T) {
	svc, client := newService(t, Options{})
	ctx := context.Background()
	sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("slow"), Definition: aws.String(waitDef), RoleArn: aws.String(role)})
	require.NoError(t, err)
	ex, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("x")})
	require.NoError(t, err)
	_, err = client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: ex.ExecutionArn, Error: aws.String("Operator"), Cause: aws.String("stopped by test")})
	require.NoError(t, err)
	d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
	require.NoError(t, err)
	assert.Equal(t, types.ExecutionStatusAborted, d.Status)
	assert.Equal(t, "Operator", aws.ToString(d.Error))
	events, err := svc.History(aws.ToString(ex.ExecutionArn))
	require.NoError(t, err)
	last := events[len(events)-1]
	assert.Equal(t, "ExecutionAborted", last.Type)
	assert.Equal(t, "stopped by test", last.Details["cause"])

	_, err = client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:slow:nope")})
	var missing *types.ExecutionDoesNotExist
	assert.ErrorAs(t, err, &missing)
}

// tokenSNS captures the task token sent through sns:publish.
type tokenSNS struct {
	mu     sync.Mutex
	tokens chan string
}

func (f *tokenSNS) Publish(_ context.Context, _, _, message string) (string, error) {
	var m struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(message), &m); err != nil {
		return "", fmt.Errorf("message %q: %w", message, err)
	}
	f.tokens <- m.Token
	return "mid", nil
}

func TestWaitForTaskToken(t *testing.T) {
	def := `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::sns:publish.waitForTaskToken","HeartbeatSeconds":60,
	  "Parameters":{"TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Message":{"token.$":"$$.Task.Token"}},"End":true}}}`
	m := clock.NewManual(t0)
	sns := &tokenSNS{tokens: make(chan string, 4)}
	svc, client := newService(t, Options{Clock: m, SNS: sns})
	ctx := context.Background()
	sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("approve"), Definition: aws.String(def), RoleArn: aws.String(role)})
	require.NoError(t, err)

	t.Run("SendTaskSuccess completes the task", func(t *testing.T) {
		ex, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("ok")})
		require.NoError(t, err)
		token := <-sns.tokens
		_, err = client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)})
		require.NoError(t, err)
		_, err = client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{"approved":true}`)})
		require.NoError(t, err)
		oc := await(t, svc, aws.ToString(ex.ExecutionArn))
		assert.Equal(t, "SUCCEEDED", oc.Status)
		assert.JSONEq(t, `{"approved":true}`, oc.Output)
		_, err = client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{}`)})
		var gone *types.TaskDoesNotExist
		assert.ErrorAs(t, err, &gone, "a token works once")
	})
	t.Run("SendTaskFailure fails it with the given error", func(t *testing.T) {
		ex, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("no")})
		require.NoError(t, err)
		token := <-sns.tokens
		_, err = client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{bad`)})
		var badOut *types.InvalidOutput
		require.ErrorAs(t, err, &badOut)
		_, err = client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String("Rejected"), Cause: aws.String("no way")})
		require.NoError(t, err)
		oc := await(t, svc, aws.ToString(ex.ExecutionArn))
		assert.Equal(t, "FAILED", oc.Status)
		assert.Equal(t, "Rejected", oc.Error)
	})
	t.Run("no heartbeat within HeartbeatSeconds", func(t *testing.T) {
		ex, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("silent")})
		require.NoError(t, err)
		<-sns.tokens
		oc := advanceUntilDone(t, svc, m, aws.ToString(ex.ExecutionArn))
		assert.Equal(t, asl.ErrHeartbeatTimeout, oc.Error)
		events, err := svc.History(aws.ToString(ex.ExecutionArn))
		require.NoError(t, err)
		var seen []string
		for _, e := range events {
			seen = append(seen, e.Type)
		}
		assert.Contains(t, seen, "TaskSubmitted")
		assert.Contains(t, seen, "TaskTimedOut")
	})
}

func TestNestedStartExecutionSync(t *testing.T) {
	svc, client := newService(t, Options{})
	ctx := context.Background()
	child, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("child"), Definition: aws.String(passDef), RoleArn: aws.String(role)})
	require.NoError(t, err)
	parentDef := `{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
	  "Parameters":{"StateMachineArn":"` + aws.ToString(child.StateMachineArn) + `","Name.$":"States.Format('{}-child', $$.Execution.Name)","Input":{"who.$":"$.who"}},
	  "OutputPath":"$.Output","End":true}}}`
	parent, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("parent"), Definition: aws.String(parentDef), RoleArn: aws.String(role)})
	require.NoError(t, err)
	ex, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: parent.StateMachineArn, Name: aws.String("p1"), Input: aws.String(`{"who":"nested"}`)})
	require.NoError(t, err)
	oc := await(t, svc, aws.ToString(ex.ExecutionArn))
	require.Equal(t, "SUCCEEDED", oc.Status, oc.Cause)
	assert.JSONEq(t, `{"greeting":"Hello, nested!"}`, oc.Output)
	childEx, err := svc.DescribeExecution("arn:aws:states:us-east-1:123456789012:execution:child:p1-child")
	require.NoError(t, err)
	assert.Equal(t, "SUCCEEDED", childEx.Status)
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	m := clock.NewManual(t0)
	svc, err := New(Options{StateDir: dir, Clock: m})
	require.NoError(t, err)
	smARN, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "hello", Definition: passDef, RoleARN: role})
	require.NoError(t, err)
	slowARN, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "slow", Definition: waitDef, RoleARN: role})
	require.NoError(t, err)
	done, _, err := svc.StartExecution(context.Background(), smARN, "done", `{"who":"disk"}`)
	require.NoError(t, err)
	await(t, svc, done)
	running, _, err := svc.StartExecution(context.Background(), slowARN, "running", `{}`)
	require.NoError(t, err)
	require.NoError(t, svc.Close())

	again, err := New(Options{StateDir: dir, Clock: m})
	require.NoError(t, err)
	defer again.Close()
	d, err := again.DescribeExecution(done)
	require.NoError(t, err)
	assert.Equal(t, "SUCCEEDED", d.Status)
	assert.JSONEq(t, `{"greeting":"Hello, disk!"}`, *d.Output)
	h, err := again.History(done)
	require.NoError(t, err)
	assert.Len(t, h, 4)

	r, err := again.DescribeExecution(running)
	require.NoError(t, err)
	assert.Equal(t, "ABORTED", r.Status)
	assert.Equal(t, asl.ErrRuntime, r.Error)
	rh, err := again.History(running)
	require.NoError(t, err)
	assert.Equal(t, "ExecutionAborted", rh[len(rh)-1].Type)

	_, _, err = again.StartExecution(context.Background(), smARN, "done", `{"who":"disk"}`)
	require.Error(t, err, "names stay reserved across restarts")
	assert.Contains(t, err.Error(), "ExecutionAlreadyExists")

	arn, err := again.PutStateMachine(CreateStateMachineInput{Name: "hello", Definition: waitDef, RoleARN: role})
	require.NoError(t, err, "the loader replaces a changed definition")
	assert.Equal(t, smARN, arn)
}

func TestUnknownOperationAndBadRequests(t *testing.T) {
	svc, _ := newService(t, Options{})
	tests := []struct {
		name, target, body, wantType string
		wantStatus                   int
	}{
		{"unknown operation", "AWSStepFunctions.CreateActivity2", `{}`, "UnknownOperationException", 400},
		{"wrong prefix", "AWSEvents.PutEvents", `{}`, "UnknownOperationException", 400},
		{"malformed JSON", "AWSStepFunctions.StartExecution", `{`, "SerializationException", 400},
		{"missing field", "AWSStepFunctions.DescribeExecution", `{}`, "ValidationException", 400},
		{"invalid arn", "AWSStepFunctions.DescribeStateMachine", `{"stateMachineArn":"nope"}`, "InvalidArn", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			rec := httptest.NewRecorder()
			svc.ServeHTTP(rec, req)
			assert.Equal(t, tt.wantStatus, rec.Code)
			var body map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, tt.wantType, body["__type"])
			assert.Equal(t, tt.wantType, rec.Header().Get("x-amzn-ErrorType"))
		})
	}
}

func TestValidateStateMachineDefinition(t *testing.T) {
	_, client := newService(t, Options{})
	out, err := client.ValidateStateMachineDefinition(context.Background(), &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`)})
	require.NoError(t, err)
	assert.Equal(t, types.ValidateStateMachineDefinitionResultCodeFail, out.Result)
	require.NotEmpty(t, out.Diagnostics)
	assert.Equal(t, "MISSING_TRANSITION_TARGET", aws.ToString(out.Diagnostics[0].Code))
}
