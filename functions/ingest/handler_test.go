package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
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
	testStateMachine = "arn:aws:states:us-east-1:123456789012:stateMachine:mlops-dev-pipeline"
	testBucket       = "mlops-raw-dev-123456789012"
)

var (
	testNow   = time.Date(2026, 11, 25, 9, 0, 1, 0, time.UTC)
	testRules = Rules{Bucket: testBucket, Prefix: "raw/", MaxObjectBytes: 1 << 30}
)

// loadEvent reads a fixture from the repository's events/ directory.
func loadEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	require.NoError(t, err)
	return b
}

// fakeSFN is a hand-written StartExecutionAPI that records what it gets.
type fakeSFN struct {
	mu    sync.Mutex
	calls []*sfn.StartExecutionInput
	start func(ctx context.Context, in *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error)
}

func (f *fakeSFN) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.mu.Unlock()
	if f.start == nil {
		return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:p:" + aws.ToString(in.Name)), StartDate: aws.Time(testNow)}, nil
	}
	return f.start(ctx, in)
}

type testEnv struct {
	h       *Handler
	sfn     *fakeSFN
	logs    *bytes.Buffer
	metrics *bytes.Buffer
}

func newTestHandler(t testing.TB, f *fakeSFN) testEnv {
	t.Helper()
	var logs, emf bytes.Buffer
	h := &Handler{
		SFN:     f,
		Config:  Config{StateMachineARN: testStateMachine, Rules: testRules},
		Log:     logging.New(&logs, "DEBUG"),
		Metrics: metrics.New(&emf, "MLOps/test", func() time.Time { return testNow }),
		Now:     func() time.Time { return testNow },
	}
	return testEnv{h: h, sfn: f, logs: &logs, metrics: &emf}
}

// emitted returns "Name" or "Name/Reason" for every EMF record written.
func emitted(t testing.TB, buf *bytes.Buffer) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		meta := rec["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
		assert.Equal(t, "MLOps/test", meta["Namespace"])
		assert.Equal(t, "ingest", rec["Function"])
		name := meta["Metrics"].([]any)[0].(map[string]any)["Name"].(string)
		for _, dim := range []string{"Reason", "Kind"} {
			if v, ok := rec[dim]; ok {
				name += "/" + v.(string)
			}
		}
		out = append(out, name)
	}
	return out
}

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " from fake"}
}

func TestHandle(t *testing.T) {
	created := pipeline.Dataset{
		Bucket: testBucket, Key: "raw/churn-2026-11.csv", VersionID: "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
		Sequencer: "00617F08299329D189", ETag: "b1946ac92492d2347c6235b4d2611184", Size: 48213,
		LastModified: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC),
	}
	encoded := created
	encoded.Key = "raw/churn data(2026)+q4.CSV"

	tests := []struct {
		name        string
		event       string // file in events/
		raw         string // inline event when event is empty
		start       func(ctx context.Context, in *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error)
		timeout     time.Duration
		wantStarted *pipeline.Dataset // StartExecution called with this dataset
		wantMetrics []string
		wantErrKind faults.Kind // 0 (Unknown) with wantErr false means nil
		wantErr     bool
	}{
		{name: "object created", event: "ingest-object-created.json", wantStarted: &created, wantMetrics: []string{MetricStarted}},
		{name: "url-encoded key is decoded", event: "ingest-url-encoded-key.json", wantStarted: &encoded, wantMetrics: []string{MetricStarted}},
		{name: "wrong prefix", event: "ingest-wrong-prefix.json", wantMetrics: []string{MetricRejected + "/wrong-prefix"}},
		{name: "wrong bucket", event: "ingest-wrong-bucket.json", wantMetrics: []string{MetricRejected + "/wrong-bucket"}},
		{name: "empty object", event: "ingest-empty-object.json", wantMetrics: []string{MetricRejected + "/empty-object"}},
		{name: "too large", event: "ingest-too-large.json", wantMetrics: []string{MetricRejected + "/too-large"}},
		{name: "not csv", event: "ingest-not-csv.json", wantMetrics: []string{MetricRejected + "/not-csv"}},
		{name: "key fails to URL-decode", event: "ingest-bad-key-encoding.json", wantMetrics: []string{MetricRejected + "/bad-key-encoding"}},
		{name: "wrong source", event: "ingest-wrong-source.json", wantMetrics: []string{MetricMalformed + "/wrong-event"}},
		{name: "wrong detail-type", event: "ingest-wrong-detail-type.json", wantMetrics: []string{MetricMalformed + "/wrong-event"}},
		{name: "not JSON", raw: `{"source": "aws.s3", `, wantMetrics: []string{MetricMalformed + "/not-json"}},
		{name: "JSON array", raw: `[1,2]`, wantMetrics: []string{MetricMalformed + "/not-json"}},
		{name: "no detail", raw: `{"source":"aws.s3","detail-type":"Object Created","time":"2026-11-25T09:00:00Z"}`, wantMetrics: []string{MetricMalformed + "/missing-field"}},
		{name: "size missing", raw: `{"source":"aws.s3","detail-type":"Object Created","time":"2026-11-25T09:00:00Z","detail":{"bucket":{"name":"b"},"object":{"key":"raw/a.csv"}}}`,
			wantMetrics: []string{MetricMalformed + "/missing-field"}},
		{name: "bad time", raw: `{"source":"aws.s3","detail-type":"Object Created","time":"yesterday","detail":{"bucket":{"name":"b"},"object":{"key":"raw/a.csv","size":1}}}`,
			wantMetrics: []string{MetricMalformed + "/bad-time"}},
		{name: "duplicate: execution already exists", event: "ingest-object-created.json", wantStarted: &created,
			start: func(context.Context, *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error) {
				return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists")}
			},
			wantMetrics: []string{MetricDuplicate}},
		{name: "duplicate: already exists as a generic API error", event: "ingest-object-created.json", wantStarted: &created,
			start: func(context.Context, *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error) {
				return nil, apiErr("ExecutionAlreadyExists")
			},
			wantMetrics: []string{MetricDuplicate}},
		{name: "duplicate: same name and input still running", event: "ingest-object-created.json", wantStarted: &created,
			start: func(_ context.Context, in *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error) {
				return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:x"), StartDate: aws.Time(testNow.Add(-time.Hour))}, nil
			},
			wantMetrics: []string{MetricDuplicate}},
		{name: "throttled is returned for retry", event: "ingest-object-created.json", wantStarted: &created,
			start: func(context.Context, *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error) {
				return nil, apiErr("ThrottlingException")
			},
			wantMetrics: []string{MetricStartError + "/throttled"}, wantErr: true, wantErrKind: faults.Throttled},
		{name: "execution limit is returned for retry", event: "ingest-object-created.json", wantStarted: &created,
			start: func(context.Context, *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error) {
				return nil, &sfntypes.ExecutionLimitExceeded{Message: aws.String("limit")}
			},
			wantMetrics: []string{MetricStartError + "/throttled"}, wantErr: true, wantErrKind: faults.Throttled},
		{name: "validation error is returned, not dropped", event: "ingest-object-created.json", wantStarted: &created,
			start: func(context.Context, *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error) {
				return nil, &sfntypes.InvalidExecutionInput{Message: aws.String("bad input")}
			},
			wantMetrics: []string{MetricStartError + "/invalid"}, wantErr: true, wantErrKind: faults.Invalid},
		{name: "state machine not found is returned, not dropped", event: "ingest-object-created.json", wantStarted: &created,
			start: func(context.Context, *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error) {
				return nil, &sfntypes.StateMachineDoesNotExist{Message: aws.String("no such state machine")}
			},
			wantMetrics: []string{MetricStartError + "/not-found"}, wantErr: true, wantErrKind: faults.NotFound},
		{name: "timeout via context deadline", event: "ingest-object-created.json", wantStarted: &created, timeout: 20 * time.Millisecond,
			start: func(ctx context.Context, _ *sfn.StartExecutionInput) (*sfn.StartExecutionOutput, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			},
			wantMetrics: []string{MetricStartError + "/timeout"}, wantErr: true, wantErrKind: faults.Timeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestHandler(t, &fakeSFN{start: tt.start})
			raw := []byte(tt.raw)
			if tt.event != "" {
				raw = loadEvent(t, tt.event)
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}

			err := env.h.Handle(ctx, raw)

			if tt.wantErr {
				require.Error(t, err)
				assert.Equal(t, tt.wantErrKind, faults.KindOf(err), "kind of %v", err)
				assert.Contains(t, err.Error(), "start execution")
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantMetrics, emitted(t, env.metrics))
			if tt.wantStarted == nil {
				assert.Empty(t, env.sfn.calls, "nothing may start")
				assert.Contains(t, env.logs.String(), "event dropped")
				return
			}
			require.Len(t, env.sfn.calls, 1)
			call := env.sfn.calls[0]
			assert.Equal(t, testStateMachine, aws.ToString(call.StateMachineArn))
			assert.Equal(t, naming.Execution("ingest", tt.wantStarted.Identity()), aws.ToString(call.Name))
			var in pipeline.Input
			require.NoError(t, json.Unmarshal([]byte(aws.ToString(call.Input)), &in))
			assert.Equal(t, *tt.wantStarted, in.Dataset)
			assert.Equal(t, pipeline.TriggerUpload, in.Trigger)
		})
	}
}

func TestHandleSameObjectSameExecutionName(t *testing.T) {
	env := newTestHandler(t, &fakeSFN{})
	raw := loadEvent(t, "ingest-object-created.json")
	require.NoError(t, env.h.Handle(context.Background(), raw))
	require.NoError(t, env.h.Handle(context.Background(), raw))
	require.Len(t, env.sfn.calls, 2)
	assert.Equal(t, env.sfn.calls[0].Name, env.sfn.calls[1].Name)
	assert.Equal(t, env.sfn.calls[0].Input, env.sfn.calls[1].Input, "a redelivery must send the same input so Step Functions treats it as the same execution")

	// Another version of the same key is a new dataset.
	other := bytes.Replace(raw, []byte("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"), []byte("otherVersion"), 1)
	require.NoError(t, env.h.Handle(context.Background(), other))
	assert.NotEqual(t, aws.ToString(env.sfn.calls[0].Name), aws.ToString(env.sfn.calls[2].Name))
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string
	}{
		{"defaults", map[string]string{"STATE_MACHINE_ARN": testStateMachine, "RAW_BUCKET": testBucket},
			Config{StateMachineARN: testStateMachine, Rules: Rules{Bucket: testBucket, Prefix: "raw/", MaxObjectBytes: 1073741824}, Trigger: TriggerOnUpload}, nil},
		{"overrides", map[string]string{"STATE_MACHINE_ARN": testStateMachine, "RAW_BUCKET": testBucket, "RAW_PREFIX": "in/", "MAX_OBJECT_BYTES": "10"},
			Config{StateMachineARN: testStateMachine, Rules: Rules{Bucket: testBucket, Prefix: "in/", MaxObjectBytes: 10}, Trigger: TriggerOnUpload}, nil},
		{"drift trigger", map[string]string{"STATE_MACHINE_ARN": testStateMachine, "RAW_BUCKET": testBucket, "TRAINING_TRIGGER": "drift", "ARTIFACTS_BUCKET": "art", "ENDPOINT_NAME": "churn"},
			Config{StateMachineARN: testStateMachine, Rules: Rules{Bucket: testBucket, Prefix: "raw/", MaxObjectBytes: 1073741824}, Trigger: TriggerOnDrift, ArtifactsBucket: "art", EndpointName: "churn"}, nil},
		{"drift trigger needs the registry location", map[string]string{"STATE_MACHINE_ARN": testStateMachine, "RAW_BUCKET": testBucket, "TRAINING_TRIGGER": "drift"}, Config{},
			[]string{"ARTIFACTS_BUCKET: required", "ENDPOINT_NAME: required"}},
		{"unknown trigger", map[string]string{"STATE_MACHINE_ARN": testStateMachine, "RAW_BUCKET": testBucket, "TRAINING_TRIGGER": "hourly"}, Config{},
			[]string{`TRAINING_TRIGGER: "hourly" is not one of upload, drift`}},
		{"missing and malformed are all reported", map[string]string{"MAX_OBJECT_BYTES": "big"}, Config{},
			[]string{"STATE_MACHINE_ARN: required", "RAW_BUCKET: required", `MAX_OBJECT_BYTES: "big" is not an integer`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.New(config.MapLookup(tt.env))
			got := LoadConfig(r)
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					assert.ErrorContains(t, r.Err(), want)
				}
				return
			}
			require.NoError(t, r.Err())
			assert.Equal(t, tt.want, got)
		})
	}
}

// fakeRegistry answers HeadObject for the live-model record.
type fakeRegistry struct {
	err   error
	calls []*s3.HeadObjectInput
}

func (f *fakeRegistry) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &s3.HeadObjectOutput{}, nil
}

func TestDriftTrigger(t *testing.T) {
	tests := []struct {
		name        string
		registry    error
		wantStarted bool
		wantMetrics []string
		wantErrKind faults.Kind
	}{
		{name: "no live model: the first dataset trains", registry: &s3types.NotFound{}, wantStarted: true, wantMetrics: []string{MetricStarted}},
		{name: "live model: the dataset is held for drift", wantMetrics: []string{MetricHeld}},
		{name: "registry throttled is retried, nothing started", registry: apiErr("SlowDown"), wantMetrics: []string{MetricStartError + "/throttled"}, wantErrKind: faults.Throttled},
		{name: "registry denied is returned, not dropped", registry: apiErr("AccessDenied"), wantMetrics: []string{MetricStartError + "/denied"}, wantErrKind: faults.Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestHandler(t, &fakeSFN{})
			reg := &fakeRegistry{err: tt.registry}
			env.h.Registry = reg
			env.h.Config.Trigger, env.h.Config.ArtifactsBucket, env.h.Config.EndpointName = TriggerOnDrift, "art", "churn"

			err := env.h.Handle(context.Background(), loadEvent(t, "ingest-object-created.json"))

			require.Len(t, reg.calls, 1)
			assert.Equal(t, "art", aws.ToString(reg.calls[0].Bucket))
			assert.Equal(t, pipeline.RegistryKey("churn"), aws.ToString(reg.calls[0].Key))
			if tt.wantErrKind != faults.Unknown {
				require.Error(t, err)
				assert.Equal(t, tt.wantErrKind, faults.KindOf(err))
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantStarted, len(env.sfn.calls) == 1)
			assert.Equal(t, tt.wantMetrics, emitted(t, env.metrics))
		})
	}
}

// FuzzDecodeObjectCreated checks that no input panics Decode or Handle, that
// a dataset is only accepted when it satisfies every rule, and that the
// handler starts an execution exactly for accepted datasets and drops
// everything else without an error.
func FuzzDecodeObjectCreated(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "ingest-*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no ingest fixtures in events/: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ds, err := Decode(raw, testRules)
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) || rej.Reason == "" {
				t.Fatalf("Decode error %v is not a Rejection with a reason", err)
			}
		} else {
			switch {
			case ds.Bucket != testRules.Bucket:
				t.Fatalf("accepted bucket %q", ds.Bucket)
			case !strings.HasPrefix(ds.Key, testRules.Prefix):
				t.Fatalf("accepted key %q outside the prefix", ds.Key)
			case !strings.HasSuffix(strings.ToLower(ds.Key), ".csv"):
				t.Fatalf("accepted non-CSV key %q", ds.Key)
			case ds.Size <= 0 || ds.Size > testRules.MaxObjectBytes:
				t.Fatalf("accepted size %d", ds.Size)
			case ds.LastModified.IsZero():
				t.Fatalf("accepted an event without a time")
			}
		}

		env := newTestHandler(t, &fakeSFN{})
		if herr := env.h.Handle(context.Background(), raw); herr != nil {
			t.Fatalf("Handle returned %v for an event the fake accepts", herr)
		}
		if started := len(env.sfn.calls) == 1; started != (err == nil) {
			t.Fatalf("started=%v but Decode error=%v", started, err)
		}
		if err == nil {
			var in pipeline.Input
			if uerr := json.Unmarshal([]byte(aws.ToString(env.sfn.calls[0].Input)), &in); uerr != nil || in.Dataset != ds {
				t.Fatalf("execution input %s does not carry the decoded dataset %+v (%v)", aws.ToString(env.sfn.calls[0].Input), ds, uerr)
			}
		}
	})
}

// TestLambdaWire runs the handler through aws-lambda-go's own adapter with
// the fixture's bytes, as the Lambda runtime does for an EventBridge target.
func TestLambdaWire(t *testing.T) {
	env := newTestHandler(t, &fakeSFN{})
	out, err := lambda.NewHandler(env.h.Handle).Invoke(context.Background(), loadEvent(t, "ingest-object-created.json"))
	require.NoError(t, err)
	assert.Equal(t, "null", string(out))
	assert.Len(t, env.sfn.calls, 1)

	_, err = lambda.NewHandler(env.h.Handle).Invoke(context.Background(), []byte(`"just a string"`))
	require.NoError(t, err, "a malformed event is dropped, not retried")
	assert.Len(t, env.sfn.calls, 1)
}
