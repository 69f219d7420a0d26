package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/samtemplate"
	"github.com/gomlops/mlops/localcloud/snsemu"
	"github.com/gomlops/mlops/localcloud/sqsemu"
)

func TestRestampEMF(t *testing.T) {
	now := time.UnixMilli(1795600000000)
	tests := []struct {
		name, line string
		want       string // "" means unchanged
	}{
		{"EMF record gets the clock's time", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"X":1}`, `{"_aws":{"CloudWatchMetrics":[],"Timestamp":1795600000000},"X":1}`},
		{"plain log line", `{"msg":"hello"}`, ""},
		{"not JSON", `START RequestId: 1`, ""},
		{"broken EMF", `{"_aws": 3`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := restampEMF([]byte(tt.line), now)
			if tt.want == "" {
				assert.Equal(t, tt.line, string(got))
				return
			}
			assert.JSONEq(t, tt.want, string(got))
		})
	}
}

func TestDestinations(t *testing.T) {
	dir := t.TempDir()
	q, err := sqsemu.New(sqsemu.Options{StateDir: dir})
	require.NoError(t, err)
	_, err = q.CreateQueue("dlq", nil)
	require.NoError(t, err)
	n, err := snsemu.New(snsemu.Options{StateDir: dir, Topics: []string{"notes"}})
	require.NoError(t, err)
	d := &destinations{sqs: q, sns: n, events: &eventPublisher{}}
	ctx := context.Background()

	tests := []struct {
		name, arn string
		wantErr   string
	}{
		{"sqs queue", "arn:aws:sqs:us-east-1:123456789012:dlq", ""},
		{"sns topic", "arn:aws:sns:us-east-1:123456789012:notes", ""},
		{"event bus before EventBridge runs", "arn:aws:events:us-east-1:123456789012:event-bus/default", "not running"},
		{"lambda without Lambda", "arn:aws:lambda:us-east-1:123456789012:function:f", "not running"},
		{"unsupported service", "arn:aws:s3:::bucket", "not a Lambda destination"},
		{"not an ARN", "dlq", "not a Lambda destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Deliver(ctx, tt.arn, []byte(`{"condition":"RetriesExhausted"}`))
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	msgs, err := q.Messages("dlq")
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.JSONEq(t, `{"condition":"RetriesExhausted"}`, msgs[0].Body)
	out, err := n.Outbox("")
	require.NoError(t, err)
	assert.Len(t, out, 1)
}

func TestGlueJobsAndAlarmsFromTheTemplate(t *testing.T) {
	tpl, err := samtemplate.Load("testdata/template.yaml", samtemplate.Options{Parameters: map[string]string{"Threshold": "7.5"}})
	require.NoError(t, err)
	jobs, err := glueJobs(tpl)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	j := jobs[0]
	assert.Equal(t, "job", j.Name)
	assert.Equal(t, "pythonshell", j.Command.Name)
	assert.Equal(t, "s3://artifacts/scripts/job.py", j.Command.ScriptLocation)
	assert.Equal(t, 5, j.Timeout)
	assert.Equal(t, 2, j.MaxConcurrentRuns)
	assert.Equal(t, map[string]string{"--greeting": "hello"}, j.DefaultArguments)

	alarms, err := cloudWatchAlarms(tpl)
	require.NoError(t, err)
	require.Len(t, alarms, 1)
	assert.Equal(t, "echo-errors", alarms[0].AlarmName)
	assert.Equal(t, 7.5, alarms[0].Threshold)
	assert.Equal(t, int32(60), alarms[0].Period)

	bad, err := samtemplate.Parse([]byte(`
Resources:
  Job:
    Type: AWS::Glue::Job
    Properties:
      Role: r
      Command: {Name: pythonshell, ScriptLocation: s3://b/k.py}
      Timeout: soon
`), samtemplate.Options{})
	require.NoError(t, err)
	_, err = glueJobs(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resource Job")
}

func TestLogFanout(t *testing.T) {
	dir := t.TempDir()
	var console bytes.Buffer
	l, err := newLogFanout(dir, &console)
	require.NoError(t, err)
	var seen []string
	l.addHook(func(fn, line string) { seen = append(seen, fn+"|"+line) })
	_, err = l.Write([]byte("[ingest] START\n[ingest] {\"a\":"))
	require.NoError(t, err)
	_, err = l.Write([]byte("1}\nglue job run: hello\n"))
	require.NoError(t, err)
	require.NoError(t, l.Close())

	assert.Equal(t, []string{"ingest|START", `ingest|{"a":1}`, "|glue job run: hello"}, seen)
	assert.Equal(t, "[ingest] START\n[ingest] {\"a\":1}\nglue job run: hello\n", console.String())
	b, err := os.ReadFile(filepath.Join(dir, "ingest.log"))
	require.NoError(t, err)
	assert.Equal(t, "START\n{\"a\":1}\n", string(b))
	b, err = os.ReadFile(filepath.Join(dir, "localcloud.log"))
	require.NoError(t, err)
	assert.Equal(t, "glue job run: hello\n", string(b))
}

func TestEventRules(t *testing.T) {
	tpl, err := samtemplate.Load("testdata/template.yaml", samtemplate.Options{})
	require.NoError(t, err)
	rules, err := tpl.Rules()
	require.NoError(t, err)
	got := eventRules(rules)
	require.Len(t, got, 2, "the function's rule and the state machine's, sorted by name")
	assert.Equal(t, "localcloud-MachineRequested", got[1].Name)
	require.Len(t, got[1].Targets, 1)
	assert.Equal(t, "arn:aws:states:us-east-1:123456789012:stateMachine:machine", got[1].Targets[0].Arn)
	r := got[0]
	assert.Equal(t, "ENABLED", r.State)
	var pattern map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.EventPattern), &pattern))
	assert.Equal(t, []any{"aws.s3"}, pattern["source"])
	require.Len(t, r.Targets, 1)
	assert.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:echo", r.Targets[0].Arn)
	require.NotNil(t, r.Targets[0].DeadLetterConfig)
	assert.Equal(t, "arn:aws:sqs:us-east-1:123456789012:dlq", r.Targets[0].DeadLetterConfig.Arn)
}
