package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/pipeline"
)

const (
	testBucket   = "mlops-dev-artifacts"
	testEndpoint = "churn-dev"
	baselineKey  = "prepared/ingest-churn-1/baseline.json"
)

type env struct {
	h       *Handler
	s3      *fakeS3
	clock   *fixedClock
	metrics *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{s3: newFakeS3(), clock: &fixedClock{t: mustTime(t, "2026-11-25T10:05:00Z")}, metrics: &bytes.Buffer{}}
	e.h = &Handler{
		S3: e.s3,
		Config: Config{
			EndpointName: testEndpoint, ArtifactsBucket: testBucket, PageSize: 5,
			Lateness: 2 * time.Hour, FirstLookback: 24 * time.Hour, MaxObjectsPerRun: 1000, MinRows: 1,
		},
		Log:     logging.New(&bytes.Buffer{}, "ERROR"),
		Metrics: metrics.New(e.metrics, "MLOps/test", e.clock.Now),
		Now:     e.clock.Now,
	}
	return e
}

// deploy writes the registry record and the baseline it points to.
func (e *env) deploy(t *testing.T, deployedAt string) {
	t.Helper()
	base, err := os.ReadFile("testdata/baseline.json")
	require.NoError(t, err)
	e.s3.put(testBucket, baselineKey, base)
	live := pipeline.LiveModel{
		EndpointName: testEndpoint, EndpointConfigName: "config-b", BaselineURI: "s3://" + testBucket + "/" + baselineKey,
		DeployedAt: mustTime(t, deployedAt),
	}
	data, err := json.Marshal(live)
	require.NoError(t, err)
	e.s3.put(testBucket, pipeline.RegistryKey(testEndpoint), data)
}

// captureFile is a JSONL capture file with one request per row.
func captureFile(rows ...string) []byte {
	var b strings.Builder
	for i, r := range rows {
		fmt.Fprintf(&b, `{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":%q,"encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv; charset=utf-8","mode":"OUTPUT","data":"0.3","encoding":"CSV"}},"eventMetadata":{"eventId":"ev-%d","inferenceTime":"2026-11-25T08:00:00Z"},"eventVersion":"0"}`+"\n", r, i)
	}
	return []byte(b.String())
}

func (e *env) capture(t *testing.T, variant, hour, name string, rows ...string) string {
	t.Helper()
	key := captureKey(testEndpoint, variant, mustTime(t, hour), name)
	e.s3.put(testBucket, key, captureFile(rows...))
	return key
}

func (e *env) run(t *testing.T) Result {
	t.Helper()
	res, err := e.h.Handle(context.Background(), loadEvent(t))
	require.NoError(t, err)
	return res
}

func loadEvent(t *testing.T) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("../../events/monitor-scheduled.json")
	require.NoError(t, err)
	return data
}

func (e *env) checkpoint(t *testing.T) Checkpoint {
	t.Helper()
	data, ok := e.s3.get(testBucket, checkpointKey(testEndpoint))
	require.True(t, ok, "no checkpoint written")
	var cp Checkpoint
	require.NoError(t, json.Unmarshal(data, &cp))
	return cp
}

// emitted returns the value of metric name in the records whose dimension
// values match dims, and how many such records there were.
func (e *env) emitted(t *testing.T, name string, dims map[string]string) []float64 {
	t.Helper()
	var out []float64
	for _, line := range strings.Split(strings.TrimSpace(e.metrics.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		match := true
		for k, v := range dims {
			if rec[k] != v {
				match = false
			}
		}
		if v, ok := rec[name].(float64); ok && match {
			out = append(out, v)
		}
	}
	return out
}

var epDims = map[string]string{DimensionEndpoint: testEndpoint}

func TestOnDemandEventRunsTheSamePass(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T07:30:00Z")
	e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "a", "3,20,0,0")
	data, err := os.ReadFile("../../events/monitor-on-demand.json")
	require.NoError(t, err)
	res, err := e.h.Handle(context.Background(), data)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Objects)
	assert.Len(t, e.emitted(t, MetricDriftScore, epDims), 1)
}

func TestNoLiveModelEmitsNoData(t *testing.T) {
	e := newEnv(t)
	res := e.run(t)
	assert.True(t, res.NoData)
	assert.Contains(t, res.Reason, "no live model")
	assert.Equal(t, []float64{1}, e.emitted(t, MetricNoData, epDims))
	assert.Empty(t, e.emitted(t, MetricDriftScore, epDims))
	_, ok := e.s3.get(testBucket, checkpointKey(testEndpoint))
	assert.False(t, ok, "no checkpoint without a live model")
}

func TestFirstRunCountsEveryVariantAndHourSinceDeployment(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T07:30:00Z")
	e.capture(t, "AllTraffic", "2026-11-25T06:00:00Z", "before-deploy", "1,20,0,0") // before the deployment hour
	k1 := e.capture(t, "AllTraffic", "2026-11-25T07:00:00Z", "a", "3,20,0,0", "10,40,1,1")
	k2 := e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "b", "30,60,3,2")
	k3 := e.capture(t, "Canary", "2026-11-25T10:00:00Z", "c", "50,95,5,0")

	res := e.run(t)
	require.NotNil(t, res.Report)
	assert.False(t, res.NoData)
	assert.True(t, res.Complete)
	assert.Equal(t, 3, res.Objects)
	assert.Equal(t, int64(4), res.Report.Rows)
	assert.Len(t, e.emitted(t, MetricDriftScore, epDims), 1)
	assert.Equal(t, []float64{0}, e.emitted(t, MetricNoData, epDims))
	assert.Equal(t, []float64{4}, e.emitted(t, MetricRows, epDims))
	psi := e.emitted(t, MetricFeaturePSI, map[string]string{DimensionEndpoint: testEndpoint, DimensionFeature: "plan"})
	require.Len(t, psi, 1)
	assert.InDelta(t, res.Report.Features[3].PSI, psi[0], 1e-12)

	cp := e.checkpoint(t)
	// Hours before 08:00 (now 10:05 minus 2h lateness) are closed.
	assert.Equal(t, mustTime(t, "2026-11-25T08:00:00Z"), cp.OpenFrom)
	assert.Equal(t, []string{k2, k3}, cp.Processed, "closed partitions leave the checkpoint")
	assert.NotContains(t, cp.Processed, k1)
}

func TestNothingCountedTwiceAndLateFilesAreCounted(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T07:30:00Z")
	e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "a", "3,20,0,0")
	e.capture(t, "AllTraffic", "2026-11-25T10:00:00Z", "b", "10,40,1,1")
	first := e.run(t)
	assert.Equal(t, 2, first.Objects)

	// An hour later: one new file in the current hour, and one that landed
	// late in the 09:00 partition, which is still open.
	e.clock.t = e.clock.t.Add(time.Hour)
	e.metrics.Reset()
	late := e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "late", "30,60,3,2")
	e.capture(t, "AllTraffic", "2026-11-25T11:00:00Z", "c", "50,95,5,0", "1,1,1,1")
	second := e.run(t)
	assert.Equal(t, 2, second.Objects)
	assert.Equal(t, int64(3), second.Report.Rows, "only the new rows count")
	assert.Equal(t, 1, e.s3.gets[late])
	for _, k := range e.checkpoint(t).Processed {
		assert.Equal(t, 1, e.s3.gets[k], "%s read more than once", k)
	}

	// Nothing new: no data, and the drift alarm's metric stays missing.
	e.metrics.Reset()
	third := e.run(t)
	assert.True(t, third.NoData)
	assert.Equal(t, 0, third.Objects)
	assert.Equal(t, []float64{1}, e.emitted(t, MetricNoData, epDims))
	assert.Empty(t, e.emitted(t, MetricDriftScore, epDims))
}

func TestPagingOverManyCaptureFiles(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T07:30:00Z")
	const files = 137
	for i := range files {
		e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", fmt.Sprintf("f%03d", i), "3,20,0,0", "30,60,3,2")
	}
	res := e.run(t)
	assert.Equal(t, files, res.Objects)
	assert.Equal(t, int64(2*files), res.Report.Rows)
	assert.Equal(t, e.h.Config.PageSize, e.s3.maxKeysSeen, "every listing is bounded by the page size")
	assert.Len(t, e.checkpoint(t).Processed, files)
}

func TestBudgetLeavesTheRestForTheNextRun(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T00:30:00Z")
	e.h.Config.MaxObjectsPerRun = 3
	for i := range 5 {
		e.capture(t, "AllTraffic", "2026-11-25T03:00:00Z", fmt.Sprintf("f%d", i), "3,20,0,0")
	}
	e.capture(t, "AllTraffic", "2026-11-25T10:00:00Z", "now", "3,20,0,0")
	first := e.run(t)
	assert.False(t, first.Complete)
	assert.Equal(t, 3, first.Objects)
	cp := e.checkpoint(t)
	assert.Equal(t, mustTime(t, "2026-11-25T03:00:00Z"), cp.OpenFrom, "the unfinished hour stays open")

	second := e.run(t)
	assert.True(t, second.Complete)
	assert.Equal(t, 3, second.Objects)
	for k, n := range e.s3.gets {
		if strings.HasPrefix(k, "capture/") {
			assert.Equal(t, 1, n, "%s read %d times", k, n)
		}
	}
}

func TestOverlappingRunsCountEachFileOnce(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T07:30:00Z")
	e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "a", "3,20,0,0")
	// Run B starts and finishes while run A is listing, after A read the
	// (missing) checkpoint: A's conditional write must lose.
	other := newEnv(t)
	other.s3 = e.s3
	other.h.S3 = e.s3
	started := false
	e.s3.beforeList = func(*s3.ListObjectsV2Input) error {
		if !started {
			started = true
			other.run(t)
		}
		return nil
	}
	res := e.run(t)
	assert.True(t, res.Discarded)
	assert.Empty(t, e.metrics.String(), "the losing run emits nothing")
	assert.Equal(t, []float64{1}, other.emitted(t, MetricRows, epDims))

	// A third run with a new file counts only the new file.
	e.s3.beforeList = nil
	e.capture(t, "AllTraffic", "2026-11-25T10:00:00Z", "b", "3,20,0,0", "3,20,0,0")
	res = e.run(t)
	assert.False(t, res.Discarded)
	assert.Equal(t, int64(2), res.Report.Rows)
}

func TestMalformedAndEmptyCaptureFilesAreCountedNotFatal(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T07:30:00Z")
	e.s3.put(testBucket, captureKey(testEndpoint, "AllTraffic", mustTime(t, "2026-11-25T09:00:00Z"), "empty"), nil)
	e.s3.put(testBucket, captureKey(testEndpoint, "AllTraffic", mustTime(t, "2026-11-25T09:00:00Z"), "garbage"),
		[]byte("not json\n{\"captureData\":{}}\n"))
	e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "good", "3,20,0,0", "1,2,3", "x,1,1,1")
	res := e.run(t)
	assert.Equal(t, 3, res.Objects)
	assert.Equal(t, int64(1), res.Report.Rows)
	assert.Equal(t, []float64{2}, e.emitted(t, MetricMalformedLines, epDims))
	assert.Equal(t, []float64{2}, e.emitted(t, MetricMalformedRows, epDims))
}

func TestTooFewRowsIsNoData(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T07:30:00Z")
	e.h.Config.MinRows = 10
	e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "a", "3,20,0,0")
	res := e.run(t)
	assert.True(t, res.NoData)
	assert.Contains(t, res.Reason, "fewer than the 10")
	assert.Empty(t, e.emitted(t, MetricDriftScore, epDims))
	assert.Equal(t, []float64{1}, e.emitted(t, MetricRows, epDims))
}

func TestFailuresLeaveTheCheckpointAlone(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "SlowDown", Message: "slow down"}
	tests := []struct {
		name      string
		setup     func(t *testing.T, e *env)
		transient bool
		want      string
	}{
		{
			name: "capture read throttled",
			setup: func(t *testing.T, e *env) {
				e.s3.beforeGet = func(key string) error {
					if strings.HasPrefix(key, "capture/") {
						return throttled
					}
					return nil
				}
			},
			transient: true, want: "get capture file",
		},
		{
			name: "listing fails",
			setup: func(t *testing.T, e *env) {
				e.s3.beforeList = func(*s3.ListObjectsV2Input) error { return throttled }
			},
			transient: true, want: "list variants",
		},
		{
			name:  "baseline missing",
			setup: func(t *testing.T, e *env) { delete(e.s3.objects, testBucket+"/"+baselineKey) },
			want:  "get baseline",
		},
		{
			name:  "baseline invalid",
			setup: func(t *testing.T, e *env) { e.s3.put(testBucket, baselineKey, []byte(`{"version":1,"features":[]}`)) },
			want:  "no features",
		},
		{
			name: "baseline URI names no object",
			setup: func(t *testing.T, e *env) {
				data, err := json.Marshal(pipeline.LiveModel{EndpointName: testEndpoint, EndpointConfigName: "config-b",
					BaselineURI: "s3://" + testBucket + "/prepared/", DeployedAt: mustTime(t, "2026-11-25T07:30:00Z")})
				require.NoError(t, err)
				e.s3.put(testBucket, pipeline.RegistryKey(testEndpoint), data)
			},
			want: "does not name an object",
		},
		{
			name:  "registry record is not JSON",
			setup: func(t *testing.T, e *env) { e.s3.put(testBucket, pipeline.RegistryKey(testEndpoint), []byte("{")) },
			want:  "registry record",
		},
		{
			name: "checkpoint corrupt",
			setup: func(t *testing.T, e *env) {
				e.s3.put(testBucket, checkpointKey(testEndpoint), []byte(`{"version":1}`))
			},
			want: "delete it to start over",
		},
		{
			name: "checkpoint write throttled",
			setup: func(t *testing.T, e *env) {
				e.s3.beforePut = func(string) error { return throttled }
			},
			transient: true, want: "put checkpoint",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.deploy(t, "2026-11-25T07:30:00Z")
			e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "a", "3,20,0,0")
			tt.setup(t, e)
			before, hadCheckpoint := e.s3.get(testBucket, checkpointKey(testEndpoint))
			res, err := e.h.Handle(context.Background(), loadEvent(t))
			if tt.transient {
				// Returned, so that the asynchronous invocation is retried.
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.want)
				assert.True(t, faults.IsTransient(err), "kind %v", faults.KindOf(err))
				assert.Empty(t, e.emitted(t, MetricFailures, epDims))
			} else {
				// Dropped: every retry would fail the same way.
				require.NoError(t, err)
				assert.True(t, res.Failed)
				assert.Contains(t, res.Reason, tt.want)
				assert.Equal(t, []float64{1}, e.emitted(t, MetricFailures, epDims), "the drop is counted")
			}
			after, hasCheckpoint := e.s3.get(testBucket, checkpointKey(testEndpoint))
			if hadCheckpoint || hasCheckpoint {
				assert.Equal(t, string(before), string(after), "checkpoint changed")
			}
			assert.Empty(t, e.emitted(t, MetricDriftScore, epDims))
			assert.Empty(t, e.emitted(t, MetricRows, epDims))
		})
	}
}

func TestCapturedFileDeletedBeforeReadIsSkipped(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T07:30:00Z")
	gone := e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "gone", "3,20,0,0")
	e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "kept", "3,20,0,0")
	e.s3.beforeGet = func(key string) error {
		if key == gone {
			delete(e.s3.objects, testBucket+"/"+gone)
		}
		return nil
	}
	res := e.run(t)
	assert.Equal(t, int64(1), res.Report.Rows)
	assert.Contains(t, e.checkpoint(t).Processed, gone)
}

func TestKeyHour(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want string
		ok   bool
	}{
		{name: "capture key", key: "capture/ep/AllTraffic/2026/11/25/09/abc.jsonl", want: "2026-11-25T09:00:00Z", ok: true},
		{name: "too short", key: "capture/x.jsonl"},
		{name: "not a date", key: "capture/ep/v/2026/xx/25/09/a.jsonl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := keyHour(tt.key)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, mustTime(t, tt.want), got)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	cfg := LoadConfig(configReader(map[string]string{"ENDPOINT_NAME": "ep", "ARTIFACTS_BUCKET": "b"}))
	assert.Equal(t, "ep", cfg.EndpointName)
	assert.Equal(t, int32(DefaultPageSize), cfg.PageSize)
	r := configReader(map[string]string{})
	LoadConfig(r)
	require.Error(t, r.Err())
	assert.Contains(t, r.Err().Error(), "ENDPOINT_NAME")
	assert.Contains(t, r.Err().Error(), "ARTIFACTS_BUCKET")
}

// deadlineContext reports a deadline on the test's clock without ever being
// cancelled, so a test can place the invocation's deadline in fake time.
type deadlineContext struct {
	context.Context
	deadline time.Time
}

func (c deadlineContext) Deadline() (time.Time, bool) { return c.deadline, true }

func TestNearDeadlineCommitsWhatWasRead(t *testing.T) {
	tests := []struct {
		name         string
		left         time.Duration // from the start of the run to the deadline
		wantObjects  int
		wantComplete bool
	}{
		{name: "ample time reads everything", left: 5 * time.Minute, wantObjects: 4, wantComplete: true},
		{name: "deadline stops reading and commits", left: commitReserve + 2*time.Minute + time.Second, wantObjects: 3},
		{name: "no time for any file still commits", left: commitReserve - time.Second, wantObjects: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.deploy(t, "2026-11-25T00:30:00Z")
			for i := range 4 {
				e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", fmt.Sprintf("f%d", i), "3,20,0,0")
			}
			// Every capture file takes a minute to read.
			e.s3.beforeGet = func(key string) error {
				if strings.HasPrefix(key, "capture/") {
					e.clock.t = e.clock.t.Add(time.Minute)
				}
				return nil
			}
			ctx := deadlineContext{Context: context.Background(), deadline: e.clock.t.Add(tt.left)}
			res, err := e.h.Handle(ctx, loadEvent(t))
			require.NoError(t, err)
			assert.Equal(t, tt.wantObjects, res.Objects)
			assert.Equal(t, tt.wantComplete, res.Complete)
			assert.Len(t, e.checkpoint(t).Processed, tt.wantObjects, "what was read is committed")
		})
	}
}
