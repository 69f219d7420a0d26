package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/pipeline"
)

const (
	testBucket   = "artifacts"
	testEndpoint = "churn-dev"
	liveKey      = "registry/churn-dev/live.json"
	liveURI      = "s3://artifacts/" + liveKey
)

// fakeS3 serves objects by key and records what it was asked.
type fakeS3 struct {
	objects map[string][]byte
	// err, when set, answers every call.
	err error
	// putErr, when set, answers PutObject of that key.
	putErr map[string]error
	// readErr, when set, fails reading a body after GetObject succeeded.
	readErr error
	gets    []string
	puts    []string
	heads   []string
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.Bucket) != testBucket {
		return nil, &smithy.GenericAPIError{Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
	}
	f.gets = append(f.gets, aws.ToString(in.Key))
	if f.err != nil {
		return nil, f.err
	}
	data, ok := f.objects[aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	var body io.Reader = bytes.NewReader(data)
	if f.readErr != nil {
		body = io.MultiReader(body, errReader{f.readErr})
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(body)}, nil
}

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	key := aws.ToString(in.Key)
	f.puts = append(f.puts, key)
	if aws.ToString(in.ContentType) != "application/json" {
		return nil, errors.New("content type " + aws.ToString(in.ContentType))
	}
	if err := f.putErr[key]; err != nil {
		return nil, err
	}
	data, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	if f.objects == nil {
		f.objects = map[string][]byte{}
	}
	f.objects[key] = data
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	f.heads = append(f.heads, aws.ToString(in.Key))
	if f.err != nil {
		return nil, f.err
	}
	if _, ok := f.objects[aws.ToString(in.Key)]; !ok {
		return nil, &s3types.NotFound{}
	}
	return &s3.HeadObjectOutput{}, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

func testRecord() pipeline.LiveModel {
	return pipeline.LiveModel{
		EndpointName: testEndpoint, EndpointConfigName: "cfg-2", ModelName: "model-2",
		ExecutionName: "exec-2", TrainingJobName: "job-2",
		Metric:                     &pipeline.MetricValue{Name: "validation:error", Value: 0.1},
		BaselineURI:                "s3://artifacts/baselines/exec-2.json",
		PreviousEndpointConfigName: "cfg-1",
		DeployedAt:                 time.Date(2026, 11, 25, 7, 30, 0, 0, time.UTC),
	}
}

func TestRead(t *testing.T) {
	record, err := json.Marshal(testRecord())
	require.NoError(t, err)
	want := testRecord()
	tests := []struct {
		name      string
		s3        *fakeS3
		bucket    string
		want      *pipeline.LiveModel
		wantErr   string
		wantKind  faults.Kind
		transient bool
	}{
		{name: "live record", s3: &fakeS3{objects: map[string][]byte{liveKey: record}}, want: &want},
		{name: "no record yet is nil, not an error", s3: &fakeS3{}},
		{name: "generic NoSuchKey code is absent too", s3: &fakeS3{err: apiErr("NoSuchKey")}},
		{name: "missing bucket is an error, not absence", s3: &fakeS3{}, bucket: "elsewhere",
			wantErr: "read registry record s3://elsewhere/" + liveKey, wantKind: faults.NotFound},
		{name: "throttled is transient with the location", s3: &fakeS3{err: apiErr("SlowDown")},
			wantErr: "read registry record " + liveURI + ": ", wantKind: faults.Throttled, transient: true},
		{name: "denied is permanent", s3: &fakeS3{err: apiErr("AccessDenied")},
			wantErr: "read registry record " + liveURI, wantKind: faults.Denied},
		{name: "body read failure keeps its class", s3: &fakeS3{objects: map[string][]byte{liveKey: record}, readErr: context.DeadlineExceeded},
			wantErr: "read registry record " + liveURI, wantKind: faults.Timeout, transient: true},
		{name: "not JSON is invalid", s3: &fakeS3{objects: map[string][]byte{liveKey: []byte("{not json")}},
			wantErr: "registry record " + liveURI + " is not a live-model record", wantKind: faults.Invalid},
		{name: "empty object is invalid", s3: &fakeS3{objects: map[string][]byte{liveKey: {}}},
			wantErr: "is not a live-model record", wantKind: faults.Invalid},
		{name: "record at the limit is read", s3: &fakeS3{objects: map[string][]byte{liveKey: padded(record, MaxRecordBytes)}}, want: &want},
		{name: "record over the limit is invalid", s3: &fakeS3{objects: map[string][]byte{liveKey: padded(record, MaxRecordBytes+1)}},
			wantErr: "registry record " + liveURI + " is larger than 1048576 bytes", wantKind: faults.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := tt.bucket
			if bucket == "" {
				bucket = testBucket
			}
			got, err := Read(context.Background(), tt.s3, bucket, testEndpoint)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Nil(t, got)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Equal(t, tt.wantKind, faults.KindOf(err), "kind")
				assert.Equal(t, tt.transient, faults.IsTransient(err), "transient")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			if bucket == testBucket {
				assert.Equal(t, []string{liveKey}, tt.s3.gets)
			}
		})
	}
}

// padded returns record followed by white space up to n bytes: still valid
// JSON, so only the size decides.
func padded(record []byte, n int) []byte {
	return append(bytes.Clone(record), bytes.Repeat([]byte(" "), n-len(record))...)
}

func TestReadConfigRecord(t *testing.T) {
	const cfgKey = "registry/churn-dev/configs/cfg-1.json"
	tests := []struct {
		name     string
		s3       *fakeS3
		want     []byte
		wantErr  string
		wantKind faults.Kind
	}{
		{name: "returned as stored, unknown fields kept", s3: &fakeS3{objects: map[string][]byte{cfgKey: []byte(`{"endpointConfigName":"cfg-1","extra":1}`)}},
			want: []byte(`{"endpointConfigName":"cfg-1","extra":1}`)},
		{name: "present but empty is not absent", s3: &fakeS3{objects: map[string][]byte{cfgKey: {}}}, want: []byte{}},
		{name: "absent is nil", s3: &fakeS3{}},
		{name: "throttled names the configuration's record", s3: &fakeS3{err: apiErr("Throttling")},
			wantErr: "read registry record s3://artifacts/" + cfgKey, wantKind: faults.Throttled},
		{name: "over the limit is invalid", s3: &fakeS3{objects: map[string][]byte{cfgKey: bytes.Repeat([]byte(" "), MaxRecordBytes+1)}},
			wantErr: "is larger than", wantKind: faults.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadConfigRecord(context.Background(), tt.s3, testBucket, testEndpoint, "cfg-1")
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Equal(t, tt.wantKind, faults.KindOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, []string{cfgKey}, tt.s3.gets)
		})
	}
}

func TestExists(t *testing.T) {
	tests := []struct {
		name     string
		s3       *fakeS3
		want     bool
		wantErr  string
		wantKind faults.Kind
	}{
		{name: "live record", s3: &fakeS3{objects: map[string][]byte{liveKey: []byte("{}")}}, want: true},
		{name: "typed NotFound is absent", s3: &fakeS3{}},
		{name: "generic 404 code is absent", s3: &fakeS3{err: apiErr("NotFound")}},
		{name: "throttled is an error", s3: &fakeS3{err: apiErr("SlowDown")}, wantErr: "head registry record " + liveURI, wantKind: faults.Throttled},
		{name: "denied is an error", s3: &fakeS3{err: apiErr("AccessDenied")}, wantErr: "head registry record " + liveURI, wantKind: faults.Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Exists(context.Background(), tt.s3, testBucket, testEndpoint)
			assert.Equal(t, []string{liveKey}, tt.s3.heads)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.False(t, got)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Equal(t, tt.wantKind, faults.KindOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestWrite(t *testing.T) {
	const cfgKey = "registry/churn-dev/configs/cfg-2.json"
	tests := []struct {
		name      string
		s3        *fakeS3
		mutate    func(*pipeline.LiveModel)
		wantPuts  []string
		wantErr   string
		wantKind  faults.Kind
		wantFinal []string // keys holding the record afterwards
	}{
		{name: "configuration record first, then live", s3: &fakeS3{},
			wantPuts: []string{cfgKey, liveKey}, wantFinal: []string{cfgKey, liveKey}},
		{name: "configuration record failure writes no live record", s3: &fakeS3{putErr: map[string]error{cfgKey: apiErr("SlowDown")}},
			wantPuts: []string{cfgKey}, wantErr: "write registry record s3://artifacts/" + cfgKey, wantKind: faults.Throttled},
		{name: "live record failure is returned", s3: &fakeS3{putErr: map[string]error{liveKey: apiErr("AccessDenied")}},
			wantPuts: []string{cfgKey, liveKey}, wantErr: "write registry record " + liveURI, wantKind: faults.Denied, wantFinal: []string{cfgKey}},
		{name: "no endpoint name is invalid and writes nothing", s3: &fakeS3{}, mutate: func(l *pipeline.LiveModel) { l.EndpointName = "" },
			wantErr: "both names are required", wantKind: faults.Invalid},
		{name: "no configuration name is invalid and writes nothing", s3: &fakeS3{}, mutate: func(l *pipeline.LiveModel) { l.EndpointConfigName = "" },
			wantErr: "both names are required", wantKind: faults.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := testRecord()
			if tt.mutate != nil {
				tt.mutate(&live)
			}
			err := Write(context.Background(), tt.s3, testBucket, live)
			assert.Equal(t, tt.wantPuts, tt.s3.puts, "puts")
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Equal(t, tt.wantKind, faults.KindOf(err))
			} else {
				require.NoError(t, err)
			}
			for _, key := range tt.wantFinal {
				var got pipeline.LiveModel
				require.NoError(t, json.Unmarshal(tt.s3.objects[key], &got), key)
				assert.Equal(t, live, got, key)
			}
			assert.Len(t, tt.s3.objects, len(tt.wantFinal))
		})
	}
}

// TestWriteThenRead checks that what Write stores is what Read and
// ReadConfigRecord return, and that Restore puts a configuration's record
// back as the live one.
func TestWriteThenRead(t *testing.T) {
	ctx := context.Background()
	s := &fakeS3{}
	first := testRecord()
	first.EndpointConfigName, first.PreviousEndpointConfigName = "cfg-1", ""
	require.NoError(t, Write(ctx, s, testBucket, first))
	second := testRecord()
	require.NoError(t, Write(ctx, s, testBucket, second))

	got, err := Read(ctx, s, testBucket, testEndpoint)
	require.NoError(t, err)
	assert.Equal(t, &second, got)

	previous, err := ReadConfigRecord(ctx, s, testBucket, testEndpoint, got.PreviousEndpointConfigName)
	require.NoError(t, err)
	require.NotNil(t, previous)
	require.NoError(t, Restore(ctx, s, testBucket, testEndpoint, previous))
	got, err = Read(ctx, s, testBucket, testEndpoint)
	require.NoError(t, err)
	assert.Equal(t, &first, got)
}

func TestRestoreFailure(t *testing.T) {
	s := &fakeS3{putErr: map[string]error{liveKey: apiErr("AccessDenied")}}
	err := Restore(context.Background(), s, testBucket, testEndpoint, []byte("{}"))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "write registry record "+liveURI+": "), err.Error())
	assert.Equal(t, faults.Denied, faults.KindOf(err))
	assert.Empty(t, s.objects)
}
