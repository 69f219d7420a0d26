package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/pipeline"
)

// BenchmarkHandleScheduledRun is one warm scheduled run over a day of
// capture (24 hourly files of 100 requests each, on a hand-written fake
// S3): list, read, score drift against the baseline, write the
// checkpoint, the EMF records. Each iteration starts from a fresh bucket
// (set up with the timer stopped) so that every run has the same work.
func BenchmarkHandleScheduledRun(b *testing.B) {
	base, err := os.ReadFile("testdata/baseline.json")
	require.NoError(b, err)
	now := mustTime(b, "2026-11-25T10:05:00Z")
	live, err := json.Marshal(pipeline.LiveModel{
		EndpointName: testEndpoint, EndpointConfigName: "config-b", BaselineURI: "s3://" + testBucket + "/" + baselineKey,
		DeployedAt: now.Add(-25 * time.Hour),
	})
	require.NoError(b, err)
	rows := make([]string, 100)
	for i := range rows {
		rows[i] = fmt.Sprintf("%d,%d.5,%d,%d", i%60, 20+i%80, i%7, i%3)
	}
	file := captureFile(rows...)
	bucket := func() *fakeS3 {
		s := newFakeS3()
		s.put(testBucket, baselineKey, base)
		s.put(testBucket, pipeline.RegistryKey(testEndpoint), live)
		for h := range 24 {
			hour := now.Add(-time.Duration(h+1) * time.Hour).Truncate(time.Hour)
			s.put(testBucket, captureKey(testEndpoint, "AllTraffic", hour, fmt.Sprintf("f%02d", h)), file)
		}
		return s
	}
	h := &Handler{
		Config: Config{
			EndpointName: testEndpoint, ArtifactsBucket: testBucket, PageSize: 1000,
			Lateness: 2 * time.Hour, FirstLookback: 48 * time.Hour, MaxObjectsPerRun: 1000, MinRows: 1,
		},
		Log:     logging.New(io.Discard, "ERROR"),
		Metrics: metrics.New(io.Discard, "MLOps/bench", func() time.Time { return now }),
		Now:     func() time.Time { return now },
	}
	event := []byte(`{}`)
	h.S3 = bucket()
	res, err := h.Handle(context.Background(), event)
	require.NoError(b, err)
	require.NotNil(b, res.Report, "the run must score drift: %+v", res)
	require.Equal(b, int64(2400), res.Report.Rows)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h.S3 = bucket()
		b.StartTimer()
		if _, err := h.Handle(context.Background(), event); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2400, "ns/row")
}
