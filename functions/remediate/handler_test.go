package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/naming"
	"github.com/gomlops/mlops/shared/pipeline"
)

const (
	testEndpoint  = "churn-dev"
	testArtifacts = "mlops-dev-artifacts"
	testRaw       = "mlops-dev-raw"
	testMachine   = "arn:aws:states:us-east-1:123456789012:stateMachine:mlops-dev-pipeline"
	testTopic     = "arn:aws:sns:us-east-1:123456789012:mlops-dev-notifications"
	driftAlarm    = "mlops-dev-drift"
	errorsAlarm   = "mlops-dev-endpoint-errors"
)

type env struct {
	h   *Handler
	s3  *fakeS3
	sfn *fakeSFN
	sm  *fakeSageMaker
	sns *fakeSNS
	cw  *fakeCloudWatch
	now time.Time
}

// The drift fixture's alarm fired at 10:05 UTC; the handler runs a second
// later. The live model was trained on a dataset modified at 06:00 and
// deployed at 08:00.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{s3: newFakeS3(), sm: &fakeSageMaker{status: smtypes.EndpointStatusInService, config: "config-new"},
		sns: &fakeSNS{}, cw: &fakeCloudWatch{}, now: mustTime(t, "2026-11-25T10:05:41Z")}
	e.sfn = &fakeSFN{now: func() time.Time { return e.now }}
	e.h = &Handler{
		S3: e.s3, SFN: e.sfn, SageMaker: e.sm, SNS: e.sns, CloudWatch: e.cw,
		Config: Config{
			StateMachineARN: testMachine, EndpointName: testEndpoint, ArtifactsBucket: testArtifacts,
			RawBucket: testRaw, RawPrefix: "raw/", TopicARN: testTopic,
			DriftAlarmNames: []string{driftAlarm}, ErrorAlarmNames: []string{errorsAlarm},
			RetrainCooldown: 6 * time.Hour, MaxRetrainsPerDay: 2, RollbackWindow: 24 * time.Hour,
		},
		Log:     logging.New(&bytes.Buffer{}, "ERROR"),
		Metrics: metrics.New(&bytes.Buffer{}, "MLOps/test", func() time.Time { return e.now }),
		Now:     func() time.Time { return e.now },
	}
	e.live(t, pipeline.LiveModel{
		EndpointName: testEndpoint, EndpointConfigName: "config-new", PreviousEndpointConfigName: "config-old",
		Dataset:    pipeline.Dataset{Bucket: testRaw, Key: "raw/churn-2026-11-24.csv", LastModified: mustTime(t, "2026-11-25T06:00:00Z")},
		DeployedAt: mustTime(t, "2026-11-25T08:00:00Z"),
	})
	e.dataset(t, "raw/churn-2026-11-24.csv", "2026-11-25T06:00:00Z")
	previous, err := json.Marshal(pipeline.LiveModel{EndpointName: testEndpoint, EndpointConfigName: "config-old", DeployedAt: mustTime(t, "2026-11-20T08:00:00Z")})
	require.NoError(t, err)
	e.s3.put(testArtifacts, pipeline.ConfigRecordKey(testEndpoint, "config-old"), previous, e.now, "")
	return e
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func (e *env) live(t *testing.T, m pipeline.LiveModel) {
	t.Helper()
	data, err := json.Marshal(m)
	require.NoError(t, err)
	e.s3.put(testArtifacts, pipeline.RegistryKey(testEndpoint), data, e.now, "")
}

func (e *env) dataset(t *testing.T, key, modified string) {
	t.Helper()
	e.s3.put(testRaw, key, []byte("tenure_months,monthly_charges,support_calls,plan,churned\n1,2,3,basic,0\n"), mustTime(t, modified), "v-"+key)
}

// retrainedBefore records a retraining of this endpoint started ago.
func (e *env) retrainedBefore(ago time.Duration, status sfntypes.ExecutionStatus) {
	name := naming.Retrain(testEndpoint, e.now.Add(-ago).Format(time.RFC3339), naming.ObjectIdentity{Bucket: testRaw, Key: "raw/old.csv"})
	e.sfn.executions = append(e.sfn.executions, fakeExecution{name: name, status: status, started: e.now.Add(-ago)})
}

func event(t *testing.T, name string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("../../events/" + name)
	require.NoError(t, err)
	return data
}

func (e *env) handle(t *testing.T, fixture string) Decision {
	t.Helper()
	d, err := e.h.Handle(context.Background(), event(t, fixture))
	require.NoError(t, err)
	return d
}

func TestDriftDecisions(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(t *testing.T, e *env)
		wantAction  string
		wantReason  string
		wantStarted bool
	}{
		{
			name:        "newer dataset starts a retraining",
			setup:       func(t *testing.T, e *env) { e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z") },
			wantAction:  ActionRetrain,
			wantReason:  "is newer than its training data",
			wantStarted: true,
		},
		{
			name:       "no newer dataset asks for labelled data",
			setup:      func(t *testing.T, e *env) {},
			wantAction: ActionNeedData,
			wantReason: "label new data",
		},
		{
			name:       "no dataset at all asks for labelled data",
			setup:      func(t *testing.T, e *env) { e.s3 = newFakeS3(); e.h.S3 = e.s3 },
			wantAction: ActionNeedData,
			wantReason: "no dataset under s3://mlops-dev-raw/raw/",
		},
		{
			name: "an execution already running holds the retraining",
			setup: func(t *testing.T, e *env) {
				e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
				e.sfn.executions = append(e.sfn.executions, fakeExecution{name: "ingest-churn-2026-11-25-0123456789abcdef", status: sfntypes.ExecutionStatusRunning, started: e.now.Add(-10 * time.Minute)})
			},
			wantAction: ActionRetrainSkipped,
			wantReason: "is already running",
		},
		{
			name: "cooldown after a recent retraining",
			setup: func(t *testing.T, e *env) {
				e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
				e.retrainedBefore(2*time.Hour, sfntypes.ExecutionStatusSucceeded)
			},
			wantAction: ActionRetrainSkipped,
			wantReason: "cooldown: the last retraining started at 2026-11-25T08:05:41Z",
		},
		{
			name: "daily cap",
			setup: func(t *testing.T, e *env) {
				e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
				e.retrainedBefore(20*time.Hour, sfntypes.ExecutionStatusSucceeded)
				e.retrainedBefore(7*time.Hour, sfntypes.ExecutionStatusFailed)
			},
			wantAction: ActionRetrainSkipped,
			wantReason: "daily cap reached: 2 retrainings",
		},
		{
			name: "retrainings older than a day do not count",
			setup: func(t *testing.T, e *env) {
				e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
				e.retrainedBefore(30*time.Hour, sfntypes.ExecutionStatusSucceeded)
				e.retrainedBefore(25*time.Hour, sfntypes.ExecutionStatusSucceeded)
				e.retrainedBefore(7*time.Hour, sfntypes.ExecutionStatusSucceeded)
			},
			wantAction:  ActionRetrain,
			wantStarted: true,
		},
		{
			name: "other endpoints' retrainings do not count",
			setup: func(t *testing.T, e *env) {
				e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
				e.sfn.executions = append(e.sfn.executions, fakeExecution{
					name:   naming.Retrain("fraud-dev", "x", naming.ObjectIdentity{}),
					status: sfntypes.ExecutionStatusSucceeded, started: e.now.Add(-time.Hour),
				})
			},
			wantAction:  ActionRetrain,
			wantStarted: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(t, e)
			d := e.handle(t, "remediate-drift-alarm.json")
			assert.Equal(t, tt.wantAction, d.Action, d.Reason)
			assert.Contains(t, d.Reason, tt.wantReason)
			assert.Equal(t, KindDrift, d.Kind)

			// Always: notified, and the drift alarm re-armed.
			require.Len(t, e.sns.published, 1)
			assert.Equal(t, testTopic, aws.ToString(e.sns.published[0].TopicArn))
			assert.Contains(t, aws.ToString(e.sns.published[0].Subject), tt.wantAction)
			assert.Contains(t, aws.ToString(e.sns.published[0].Message), d.Reason)
			require.Len(t, e.cw.calls, 1)
			assert.Equal(t, driftAlarm, aws.ToString(e.cw.calls[0].AlarmName))
			assert.Equal(t, cwtypes.StateValueOk, e.cw.calls[0].StateValue)
			assert.True(t, d.Rearmed)

			if !tt.wantStarted {
				assert.Empty(t, e.sfn.starts)
				return
			}
			require.Len(t, e.sfn.starts, 1)
			start := e.sfn.starts[0]
			assert.Equal(t, testMachine, aws.ToString(start.StateMachineArn))
			ds := pipeline.Dataset{Bucket: testRaw, Key: "raw/churn-2026-11-25.csv", VersionID: "v-raw/churn-2026-11-25.csv"}
			assert.Equal(t, naming.Retrain(testEndpoint, "2026-11-25T06:00:00Z", ds.Identity()), aws.ToString(start.Name))
			var in pipeline.Input
			require.NoError(t, json.Unmarshal([]byte(aws.ToString(start.Input)), &in))
			assert.Equal(t, pipeline.TriggerRetrain, in.Trigger)
			assert.Equal(t, ds.Key, in.Dataset.Key)
			assert.Equal(t, ds.VersionID, in.Dataset.VersionID)
			assert.Equal(t, mustTime(t, "2026-11-25T09:30:00Z"), in.Dataset.LastModified)
			assert.NotZero(t, in.Dataset.Size)
			assert.Equal(t, d.ExecutionName, aws.ToString(start.Name))
			assert.NotEmpty(t, d.ExecutionARN)
		})
	}
}

func TestTwoDriftAlarmsInOneWindowStartOneExecution(t *testing.T) {
	e := newEnv(t)
	e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
	e.sfn.hideNew = true // the listing has not caught up with the first start
	first := e.handle(t, "remediate-drift-alarm.json")
	require.Equal(t, ActionRetrain, first.Action)

	// A later transition (re-armed alarm fired again) in the same window.
	e.now = e.now.Add(time.Hour)
	second := e.handle(t, "remediate-drift-from-insufficient-data.json")
	assert.Equal(t, first.ExecutionName, second.ExecutionName, "same window, same name")
	assert.Len(t, e.sfn.executions, 1, "one execution")
	assert.Len(t, e.sfn.starts, 2)
}

func TestErrorsDecisions(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(t *testing.T, e *env)
		wantAction   string
		wantReason   string
		wantRollback bool
		wantRestored bool
	}{
		{
			name:         "errors after a deployment roll back and restore the live record",
			setup:        func(t *testing.T, e *env) {},
			wantAction:   ActionRollback,
			wantReason:   "rolling back to config-old",
			wantRollback: true,
			wantRestored: true,
		},
		{
			name: "rollback without a record of the previous configuration says so",
			setup: func(t *testing.T, e *env) {
				delete(e.s3.objects, testArtifacts+"/"+pipeline.ConfigRecordKey(testEndpoint, "config-old"))
			},
			wantAction:   ActionRollback,
			wantReason:   "the registry has no record of config-old",
			wantRollback: true,
		},
		{
			name: "rollback whose registry write fails still rolls back and says so",
			setup: func(t *testing.T, e *env) {
				e.s3.putErr = func(key string) error {
					if key == pipeline.RegistryKey(testEndpoint) {
						return &smithy.GenericAPIError{Code: "AccessDenied", Message: "secret"}
					}
					return nil
				}
			},
			wantAction:   ActionRollback,
			wantReason:   "could not restore the live registry record (denied)",
			wantRollback: true,
		},
		{
			name: "first deployment has nothing to roll back to",
			setup: func(t *testing.T, e *env) {
				e.live(t, pipeline.LiveModel{EndpointName: testEndpoint, EndpointConfigName: "config-new", DeployedAt: e.now.Add(-time.Hour)})
			},
			wantAction: ActionRollbackSkipped,
			wantReason: "first configuration",
		},
		{
			name:       "no deployment recorded",
			setup:      func(t *testing.T, e *env) { delete(e.s3.objects, testArtifacts+"/"+pipeline.RegistryKey(testEndpoint)) },
			wantAction: ActionRollbackSkipped,
			wantReason: "no deployment is recorded",
		},
		{
			name: "old deployment is not blamed",
			setup: func(t *testing.T, e *env) {
				e.live(t, pipeline.LiveModel{EndpointName: testEndpoint, EndpointConfigName: "config-new", PreviousEndpointConfigName: "config-old", DeployedAt: e.now.Add(-48 * time.Hour)})
			},
			wantAction: ActionRollbackSkipped,
			wantReason: "older than 24h0m0s",
		},
		{
			name:       "endpoint updating",
			setup:      func(t *testing.T, e *env) { e.sm.status = smtypes.EndpointStatusUpdating },
			wantAction: ActionRollbackSkipped,
			wantReason: "is Updating",
		},
		{
			name:       "already rolled back",
			setup:      func(t *testing.T, e *env) { e.sm.config = "config-old" },
			wantAction: ActionRollbackSkipped,
			wantReason: "already runs the previous configuration",
		},
		{
			name:       "endpoint runs an unrecorded configuration",
			setup:      func(t *testing.T, e *env) { e.sm.config = "config-manual" },
			wantAction: ActionRollbackSkipped,
			wantReason: "not the recorded live configuration",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.now = mustTime(t, "2026-11-25T10:12:04Z")
			tt.setup(t, e)
			d := e.handle(t, "remediate-errors-alarm.json")
			assert.Equal(t, tt.wantAction, d.Action, d.Reason)
			assert.Contains(t, d.Reason, tt.wantReason)
			assert.Equal(t, KindErrors, d.Kind)
			require.Len(t, e.sns.published, 1, "every decision is notified")
			assert.Empty(t, e.sfn.starts)
			if !tt.wantRollback {
				assert.Empty(t, e.sm.updates)
				assert.Empty(t, e.cw.calls, "errors alarms are re-armed only after a rollback")
				return
			}
			require.Len(t, e.sm.updates, 1)
			assert.Equal(t, testEndpoint, aws.ToString(e.sm.updates[0].EndpointName))
			assert.Equal(t, "config-old", aws.ToString(e.sm.updates[0].EndpointConfigName))
			assert.Equal(t, "config-old", d.EndpointConfigName)
			require.Len(t, e.cw.calls, 1)
			assert.Equal(t, errorsAlarm, aws.ToString(e.cw.calls[0].AlarmName))
			assert.Equal(t, tt.wantRestored, d.RegistryRestored)
			live, err := e.h.liveModel(context.Background())
			require.NoError(t, err)
			if tt.wantRestored {
				assert.Equal(t, "config-old", live.EndpointConfigName, "monitoring follows the rollback")
			} else {
				assert.Equal(t, "config-new", live.EndpointConfigName)
			}
		})
	}
}

func TestIgnoredEventsDoNothing(t *testing.T) {
	tests := []struct {
		name       string
		fixture    string
		wantReason string
	}{
		{name: "transition to OK", fixture: "remediate-ok-transition.json", wantReason: "ALARM -> OK is not into ALARM"},
		{name: "unknown alarm", fixture: "remediate-unknown-alarm.json", wantReason: "not on the allow-list"},
		{name: "reason update while in ALARM", fixture: "remediate-alarm-reason-update.json", wantReason: "ALARM -> ALARM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
			before := len(e.s3.keys(testArtifacts, ""))
			d := e.handle(t, tt.fixture)
			assert.Equal(t, ActionIgnored, d.Action)
			assert.Contains(t, d.Reason, tt.wantReason)
			assert.Empty(t, e.sfn.starts)
			assert.Empty(t, e.sm.updates)
			assert.Empty(t, e.sns.published)
			assert.Empty(t, e.cw.calls)
			assert.Len(t, e.s3.keys(testArtifacts, ""), before, "no marker written")
		})
	}
}

func TestDuplicateEventIsANoOp(t *testing.T) {
	e := newEnv(t)
	e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
	first := e.handle(t, "remediate-drift-alarm.json")
	require.Equal(t, ActionRetrain, first.Action)
	second := e.handle(t, "remediate-drift-alarm.json")
	assert.Equal(t, ActionDuplicate, second.Action)
	assert.Len(t, e.sfn.starts, 1)
	assert.Len(t, e.sns.published, 1)
	assert.Len(t, e.cw.calls, 1)

	markers := e.s3.keys(testArtifacts, "monitor/"+testEndpoint+"/remediation/")
	require.Len(t, markers, 1)
	out, err := e.s3.GetObject(context.Background(), s3GetInput(testArtifacts, markers[0]))
	require.NoError(t, err)
	var recorded Decision
	require.NoError(t, json.NewDecoder(out.Body).Decode(&recorded))
	assert.Equal(t, ActionRetrain, recorded.Action, "the marker records the decision")
}

func TestInsufficientDataToAlarmActs(t *testing.T) {
	e := newEnv(t)
	d := e.handle(t, "remediate-drift-from-insufficient-data.json")
	assert.Equal(t, ActionNeedData, d.Action)
	assert.Len(t, e.sns.published, 1)
}

func TestFailuresReleaseTheClaimSoTheRetryActs(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	tests := []struct {
		name   string
		break_ func(e *env)
		heal   func(e *env)
		want   string
	}{
		{name: "notification fails", break_: func(e *env) { e.sns.err = throttled }, heal: func(e *env) { e.sns.err = nil }, want: "publish decision"},
		{name: "re-arm fails", break_: func(e *env) { e.cw.err = throttled }, heal: func(e *env) { e.cw.err = nil }, want: "re-arm alarm"},
		{name: "listing executions fails", break_: func(e *env) { e.sfn.listErr = throttled }, heal: func(e *env) { e.sfn.listErr = nil }, want: "list running executions"},
		{name: "start fails", break_: func(e *env) { e.sfn.startErr = throttled }, heal: func(e *env) { e.sfn.startErr = nil }, want: "start execution"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
			e.sfn.hideNew = true
			tt.break_(e)
			_, err := e.h.Handle(context.Background(), event(t, "remediate-drift-alarm.json"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, faults.IsTransient(err))
			assert.Empty(t, e.s3.keys(testArtifacts, "monitor/"), "claim released")

			tt.heal(e)
			d := e.handle(t, "remediate-drift-alarm.json")
			assert.Equal(t, ActionRetrain, d.Action, d.Reason)
			assert.Len(t, e.sfn.executions, 1, "the retry starts (or finds) the one execution")
		})
	}
}

// Remediate is an asynchronous EventBridge target: whatever error it returns
// is retried and dead-lettered. A permanent failure is therefore dropped:
// counted, and published when it concerns an alarm on the allow-list.
func TestPermanentFailuresAreDroppedNotRetried(t *testing.T) {
	rejected := &smithy.GenericAPIError{Code: "ValidationException", Message: "1 validation error detected: Value 'config-old' at 'endpointConfigName' failed to satisfy constraint"}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform states:StartExecution"}
	tests := []struct {
		name       string
		raw        func(t *testing.T) json.RawMessage
		break_     func(e *env)
		wantReason string
		wantNotice bool
	}{
		{name: "wrong detail-type", raw: fixture("remediate-wrong-detail-type.json"), wantReason: "detail-type"},
		{name: "not JSON", raw: literal(`{"source":`), wantReason: "alarm event"},
		{name: "oversized payload", raw: func(*testing.T) json.RawMessage {
			return json.RawMessage(`{"pad":"` + strings.Repeat("x", maxEventBytes) + `"}`)
		}, wantReason: "more than EventBridge's"},
		{name: "no alarm name", raw: literal(`{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","id":"1","detail":{"state":{"value":"ALARM"}}}`), wantReason: "no detail.alarmName"},
		{
			name: "rollback refused by SageMaker", raw: fixture("remediate-errors-alarm.json"),
			break_: func(e *env) { e.sm.updateErr = rejected }, wantReason: "failed to satisfy constraint", wantNotice: true,
		},
		{
			name: "retraining denied", raw: fixture("remediate-drift-alarm.json"),
			break_: func(e *env) {
				e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
				e.sfn.startErr = denied
			},
			wantReason: "not authorized", wantNotice: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var out bytes.Buffer
			e.h.Metrics = metrics.New(&out, "MLOps/test", func() time.Time { return e.now })
			if tt.break_ != nil {
				tt.break_(e)
			}
			d, err := e.h.Handle(context.Background(), tt.raw(t))
			require.NoError(t, err, "a permanent failure must not be retried")
			assert.Equal(t, ActionDropped, d.Action)
			assert.Contains(t, d.Reason, tt.wantReason)
			assert.Contains(t, out.String(), `"Action":"dropped"`, "the drop is counted")
			assert.Empty(t, e.sfn.executions, "nothing started")
			assert.Empty(t, e.cw.calls, "nothing re-armed")
			if !tt.wantNotice {
				assert.Empty(t, e.sns.published)
				return
			}
			require.Len(t, e.sns.published, 1, "the operator is told")
			assert.Contains(t, aws.ToString(e.sns.published[0].Message), tt.wantReason)
			assert.Contains(t, aws.ToString(e.sns.published[0].Subject), ActionDropped)
			assert.Empty(t, e.s3.keys(testArtifacts, "monitor/"), "claim released: a redelivery acts again")
		})
	}
}

// A rollback refused because the endpoint started changing after it was
// described is retried; the retry finds the endpoint updating and leaves it
// to that deployment.
func TestRollbackRaceWithADeploymentIsRetried(t *testing.T) {
	e := newEnv(t)
	e.sm.updateErr = &smithy.GenericAPIError{Code: "ValidationException", Message: `Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-dev".`}
	_, err := e.h.Handle(context.Background(), event(t, "remediate-errors-alarm.json"))
	require.Error(t, err)
	assert.True(t, faults.IsTransient(err), "kind %v", faults.KindOf(err))
	assert.Empty(t, e.s3.keys(testArtifacts, "monitor/"), "claim released")
	assert.Empty(t, e.sns.published)

	e.sm.updateErr, e.sm.status = nil, smtypes.EndpointStatusUpdating
	d := e.handle(t, "remediate-errors-alarm.json")
	assert.Equal(t, ActionRollbackSkipped, d.Action)
	assert.Contains(t, d.Reason, "a deployment or rollback is in progress")
	assert.Len(t, e.sm.updates, 1, "no second rollback")
}

func TestDroppedFailureThatCannotBeNotifiedIsReturned(t *testing.T) {
	e := newEnv(t)
	e.sm.updateErr = &smithy.GenericAPIError{Code: "ValidationException", Message: "1 validation error detected"}
	e.sns.err = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	_, err := e.h.Handle(context.Background(), event(t, "remediate-errors-alarm.json"))
	require.Error(t, err, "the failure must reach the dead-letter queue rather than vanish")
	assert.True(t, faults.IsTransient(err))
	assert.Contains(t, err.Error(), "publish decision")
}

func fixture(name string) func(t *testing.T) json.RawMessage {
	return func(t *testing.T) json.RawMessage { t.Helper(); return event(t, name) }
}

func literal(s string) func(t *testing.T) json.RawMessage {
	return func(*testing.T) json.RawMessage { return json.RawMessage(s) }
}

func TestLoadConfig(t *testing.T) {
	full := map[string]string{
		"STATE_MACHINE_ARN": testMachine, "ENDPOINT_NAME": testEndpoint, "ARTIFACTS_BUCKET": testArtifacts,
		"RAW_BUCKET": testRaw, "TOPIC_ARN": testTopic, "DRIFT_ALARM_NAMES": "a, b", "ERROR_ALARM_NAMES": "c",
		"RETRAIN_COOLDOWN": "3h", "MAX_RETRAINS_PER_DAY": "4",
	}
	r := config.New(config.MapLookup(full))
	c := LoadConfig(r)
	require.NoError(t, r.Err())
	assert.Equal(t, []string{"a", "b"}, c.DriftAlarmNames)
	assert.Equal(t, 3*time.Hour, c.RetrainCooldown)
	assert.Equal(t, int64(4), c.MaxRetrainsPerDay)
	assert.Equal(t, "raw/", c.RawPrefix)

	r = config.New(config.MapLookup(map[string]string{"RETRAIN_COOLDOWN": "soon"}))
	LoadConfig(r)
	require.Error(t, r.Err())
	for _, name := range []string{"STATE_MACHINE_ARN", "TOPIC_ARN", "DRIFT_ALARM_NAMES", "RETRAIN_COOLDOWN"} {
		assert.Contains(t, r.Err().Error(), name)
	}
	assert.False(t, strings.Contains(r.Err().Error(), "MAX_RETRAINS_PER_DAY"))
}

func TestStaleClaimIsTakenOver(t *testing.T) {
	tests := []struct {
		name       string
		claimedAgo time.Duration
		action     string
		want       string
		wantErr    string
	}{
		{name: "claim of a dead invocation is taken over", claimedAgo: ClaimTTL + time.Minute, action: actionClaimed, want: ActionRetrain},
		{name: "fresh claim is retried later, not dropped", claimedAgo: time.Minute, action: actionClaimed, wantErr: "claimed at 2026-11-25T10:04:41Z by another invocation"},
		{name: "finished decision is a duplicate however old", claimedAgo: 48 * time.Hour, action: ActionRetrain, want: ActionDuplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
			ev, err := DecodeAlarmEvent(event(t, "remediate-drift-alarm.json"))
			require.NoError(t, err)
			marker, err := json.Marshal(Decision{Action: tt.action, At: e.now.Add(-tt.claimedAgo)})
			require.NoError(t, err)
			e.s3.put(testArtifacts, markerKey(testEndpoint, ev), marker, e.now, "")
			if tt.wantErr != "" {
				_, err := e.h.Handle(context.Background(), event(t, "remediate-drift-alarm.json"))
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.True(t, faults.IsTransient(err), "returned so that Lambda retries it")
				assert.Empty(t, e.sfn.starts, "nothing acted while the claim is held")
				return
			}
			d := e.handle(t, "remediate-drift-alarm.json")
			assert.Equal(t, tt.want, d.Action)
		})
	}
}

// A call that does not answer before the invocation's deadline fails the
// work early enough to release the claim, so the retry acts instead of
// finding a claim and dropping the alarm transition.
func TestTimeoutReleasesTheClaimBeforeTheDeadline(t *testing.T) {
	e := newEnv(t)
	e.dataset(t, "raw/churn-2026-11-25.csv", "2026-11-25T09:30:00Z")
	e.sfn.hideNew = true
	e.sfn.hang = true
	ctx, cancel := context.WithTimeout(context.Background(), releaseReserve+200*time.Millisecond)
	defer cancel()
	_, err := e.h.Handle(ctx, event(t, "remediate-drift-alarm.json"))
	require.Error(t, err)
	assert.Equal(t, faults.Timeout, faults.KindOf(err))
	require.NoError(t, ctx.Err(), "the work stopped before the invocation's deadline")
	assert.Empty(t, e.s3.keys(testArtifacts, "monitor/"), "claim released")

	e.sfn.hang = false
	d := e.handle(t, "remediate-drift-alarm.json")
	assert.Equal(t, ActionRetrain, d.Action, d.Reason)
}
