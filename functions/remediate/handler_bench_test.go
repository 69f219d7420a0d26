package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"testing"
	"time"

	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/pipeline"
)

// BenchmarkHandleDriftAlarm is one warm invocation for a drift alarm with
// no newer dataset (the decision that repeats identically): read the live
// model, look for data, check the guards, notify on SNS, on hand-written
// fakes.
func BenchmarkHandleDriftAlarm(b *testing.B) {
	now := mustTime(b, "2026-11-25T10:05:41Z")
	s3f := newFakeS3()
	live, err := json.Marshal(pipeline.LiveModel{
		EndpointName: testEndpoint, EndpointConfigName: "config-new", PreviousEndpointConfigName: "config-old",
		Dataset:    pipeline.Dataset{Bucket: testRaw, Key: "raw/churn-2026-11-24.csv", LastModified: mustTime(b, "2026-11-25T06:00:00Z")},
		DeployedAt: mustTime(b, "2026-11-25T08:00:00Z"),
	})
	require.NoError(b, err)
	s3f.put(testArtifacts, pipeline.RegistryKey(testEndpoint), live, now, "")
	s3f.put(testRaw, "raw/churn-2026-11-24.csv", []byte("tenure_months,monthly_charges,support_calls,plan,churned\n1,2,3,basic,0\n"),
		mustTime(b, "2026-11-25T06:00:00Z"), "v1")
	sns := &fakeSNS{}
	h := &Handler{
		S3: s3f, SFN: &fakeSFN{now: func() time.Time { return now }},
		SageMaker: &fakeSageMaker{status: smtypes.EndpointStatusInService, config: "config-new"},
		SNS:       sns, CloudWatch: &fakeCloudWatch{},
		Config: Config{
			StateMachineARN: testMachine, EndpointName: testEndpoint, ArtifactsBucket: testArtifacts,
			RawBucket: testRaw, RawPrefix: "raw/", TopicARN: testTopic,
			DriftAlarmNames: []string{driftAlarm}, ErrorAlarmNames: []string{errorsAlarm},
			RetrainCooldown: 6 * time.Hour, MaxRetrainsPerDay: 2, RollbackWindow: 24 * time.Hour,
		},
		Log:     logging.New(io.Discard, "ERROR"),
		Metrics: metrics.New(io.Discard, "MLOps/bench", func() time.Time { return now }),
		Now:     func() time.Time { return now },
	}
	raw, err := os.ReadFile("../../events/remediate-drift-alarm.json")
	require.NoError(b, err)
	d, err := h.Handle(context.Background(), raw)
	require.NoError(b, err)
	require.Equal(b, ActionNeedData, d.Action, "%+v", d)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(context.Background(), raw); err != nil {
			b.Fatal(err)
		}
	}
}
