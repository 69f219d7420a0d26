package pipeline

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJSONFieldNames fixes the wire names the state machine relies on. A
// rename here must come with the same rename in statemachines/*.asl.json.
func TestJSONFieldNames(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	ds := Dataset{Bucket: "b", Key: "raw/a.csv", VersionID: "v", Sequencer: "s", ETag: "e", Size: 3, LastModified: at}
	metric := &MetricValue{Name: "validation:error", Value: 0.1}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"input", Input{Dataset: ds, Trigger: TriggerUpload, Reason: "r"},
			`{"dataset":{"bucket":"b","key":"raw/a.csv","versionId":"v","sequencer":"s","etag":"e","size":3,"lastModified":"2026-11-25T09:00:00Z"},"trigger":"upload","reason":"r"}`},
		{"prepare request", PrepareRequest{Action: ActionStatus, ExecutionName: "x", JobRunID: "jr"},
			`{"action":"status","executionName":"x","dataset":{"bucket":"","key":"","size":0,"lastModified":"0001-01-01T00:00:00Z"},"jobRunId":"jr"}`},
		{"prepare result", PrepareResult{JobName: "j", JobRunID: "jr", Outputs: PreparedData{"p", "t", "v", "b", "m", "q"}},
			`{"jobName":"j","jobRunId":"jr","outputs":{"prefix":"p","train":"t","validation":"v","baseline":"b","manifest":"m","quarantine":"q"}}`},
		{"status", Status{State: StateFailed, Detail: "TIMEOUT", Reason: "r"},
			`{"state":"FAILED","detail":"TIMEOUT","reason":"r"}`},
		{"train result", TrainResult{TrainingJobName: "t"}, `{"trainingJobName":"t"}`},
		{"train status", TrainStatus{Status: Status{State: StateSucceeded, Detail: "Completed"}, ModelDataURL: "s3://m", Metric: metric, LiveMetric: metric},
			`{"state":"SUCCEEDED","detail":"Completed","modelDataUrl":"s3://m","metric":{"name":"validation:error","value":0.1},"liveMetric":{"name":"validation:error","value":0.1}}`},
		{"deployment", Deployment{EndpointName: "e", ModelName: "m", EndpointConfigName: "c", PreviousEndpointConfigName: "p", Mode: "update"},
			`{"endpointName":"e","modelName":"m","endpointConfigName":"c","previousEndpointConfigName":"p","mode":"update"}`},
		{"live model", LiveModel{EndpointName: "e", EndpointConfigName: "c", ModelName: "m", ExecutionName: "x", TrainingJobName: "t", Dataset: ds, BaselineURI: "s3://b", DeployedAt: at},
			`{"endpointName":"e","endpointConfigName":"c","modelName":"m","executionName":"x","trainingJobName":"t","dataset":{"bucket":"b","key":"raw/a.csv","versionId":"v","sequencer":"s","etag":"e","size":3,"lastModified":"2026-11-25T09:00:00Z"},"baselineUri":"s3://b","deployedAt":"2026-11-25T09:00:00Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
}

func TestDatasetValidate(t *testing.T) {
	tests := []struct {
		name    string
		ds      Dataset
		wantErr string
	}{
		{"ok", Dataset{Bucket: "b", Key: "raw/a.csv"}, ""},
		{"no bucket", Dataset{Key: "a.csv"}, "bucket is empty"},
		{"folder", Dataset{Bucket: "b", Key: "raw/"}, "does not name an object"},
		{"no key", Dataset{Bucket: "b"}, "does not name an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ds.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestRegistryKeys(t *testing.T) {
	assert.Equal(t, "registry/churn/live.json", RegistryKey("churn"))
	assert.Equal(t, "registry/churn/configs/config-a-1.json", ConfigRecordKey("churn", "config-a-1"))
}

func TestParseS3URI(t *testing.T) {
	tests := []struct {
		uri, bucket, key string
		ok               bool
	}{
		{"s3://b/k/x.csv", "b", "k/x.csv", true},
		{"s3://b", "b", "", true},
		{"s3:///k", "", "", false},
		{"https://b/k", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			b, k, err := ParseS3URI(tt.uri)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{tt.bucket, tt.key}, []string{b, k})
		})
	}
}
