package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/mototest"
	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/pipeline"
)

// TestIntegrationMonitorAgainstMoto runs the real S3 client against
// moto_server: registry and baseline reads, paged listings of capture
// partitions, streamed reads, and the conditional checkpoint writes
// (If-None-Match on the first run, If-Match after).
func TestIntegrationMonitorAgainstMoto(t *testing.T) {
	srv := mototest.Start(t)
	ctx := mototest.Context(t, time.Minute)
	client := s3.NewFromConfig(srv.Config())
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)})
	require.NoError(t, err)
	put := func(key string, body []byte) {
		t.Helper()
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		require.NoError(t, err)
	}
	base, err := os.ReadFile("testdata/baseline.json")
	require.NoError(t, err)
	put(baselineKey, base)
	live, err := json.Marshal(pipeline.LiveModel{EndpointName: testEndpoint, BaselineURI: "s3://" + testBucket + "/" + baselineKey,
		DeployedAt: mustTime(t, "2026-11-25T07:30:00Z")})
	require.NoError(t, err)
	put(pipeline.RegistryKey(testEndpoint), live)
	for i := range 12 {
		variant := []string{"AllTraffic", "Canary"}[i%2]
		put(captureKey(testEndpoint, variant, mustTime(t, "2026-11-25T09:00:00Z"), fmt.Sprintf("f%02d", i)),
			captureFile("3,20,0,0", "30,60,3,2", "50,95,5,1"))
	}
	put(captureKey(testEndpoint, "AllTraffic", mustTime(t, "2026-11-25T09:00:00Z"), "broken"), []byte("{not json\n"))

	var emf bytes.Buffer
	clock := &fixedClock{t: mustTime(t, "2026-11-25T10:05:00Z")}
	h := &Handler{
		S3: client,
		Config: Config{EndpointName: testEndpoint, ArtifactsBucket: testBucket, PageSize: 4, Lateness: 2 * time.Hour,
			FirstLookback: 24 * time.Hour, MaxObjectsPerRun: 1000, MinRows: 10},
		Log: logging.New(&bytes.Buffer{}, "ERROR"), Metrics: metrics.New(&emf, "MLOps/test", clock.Now), Now: clock.Now,
	}
	first, err := h.Handle(ctx, nil)
	require.NoError(t, err)
	assert.False(t, first.NoData, first.Reason)
	assert.Equal(t, 13, first.Objects)
	assert.Equal(t, int64(36), first.Report.Rows)
	assert.Equal(t, int64(1), first.Report.MalformedLines)
	assert.True(t, first.Report.Scored)
	assert.Contains(t, emf.String(), `"DriftScore"`)

	clock.t = clock.t.Add(time.Hour)
	second, err := h.Handle(ctx, nil)
	require.NoError(t, err)
	assert.True(t, second.NoData)
	assert.Equal(t, 0, second.Objects, "nothing counted twice")

	// A run holding a stale checkpoint loses the conditional write.
	prev, err := loadCheckpoint(ctx, client, testBucket, testEndpoint)
	require.NoError(t, err)
	require.True(t, prev.exists)
	prev.etag = `"0123456789abcdef0123456789abcdef"`
	err = saveCheckpoint(ctx, client, testBucket, prev, prev.Checkpoint)
	require.Error(t, err)
	assert.True(t, errors.Is(err, errLostRace), "%v", err)
	first2 := storedCheckpoint{Checkpoint: prev.Checkpoint}
	err = saveCheckpoint(ctx, client, testBucket, first2, prev.Checkpoint)
	assert.True(t, errors.Is(err, errLostRace), "If-None-Match on an existing checkpoint must fail: %v", err)
}
