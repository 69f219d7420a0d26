package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/faults"
)

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		name          string
		data          string
		fixture       string
		wantScheduled bool
		wantErr       string
	}{
		{name: "scheduled fixture", fixture: "monitor-scheduled.json", wantScheduled: true},
		{name: "on-demand fixture", fixture: "monitor-on-demand.json"},
		{name: "S3 event sent to the monitor", fixture: "monitor-wrong-source.json", wantErr: `source "aws.s3"`},
		{name: "empty payload", data: ""},
		{name: "null", data: " null\n"},
		{name: "replayed scheduled event", data: `{"source":"aws.events","detail-type":"Scheduled Event","time":"2026-11-25T10:00:00Z","replay-name":"r1"}`, wantScheduled: true},
		{name: "not JSON", data: `{"source":`, wantErr: "want a scheduled event or {}"},
		{name: "array", data: `[{}]`, wantErr: "want a scheduled event or {}"},
		{name: "trailing data", data: `{} {}`, wantErr: "want a scheduled event or {}"},
		{name: "parameters on demand", data: `{"endpointName":"other"}`, wantErr: "an on-demand run takes {}"},
		{name: "wrong source", data: `{"source":"aws.s3","detail-type":"Scheduled Event","time":"2026-11-25T10:00:00Z"}`, wantErr: `source "aws.s3"`},
		{name: "wrong detail-type", data: `{"source":"aws.events","detail-type":"Object Created","time":"2026-11-25T10:00:00Z"}`, wantErr: `detail-type "Object Created"`},
		{name: "bad time", data: `{"source":"aws.events","detail-type":"Scheduled Event","time":"yesterday"}`, wantErr: "not RFC 3339"},
		{name: "wrong field type", data: `{"source":7}`, wantErr: "monitor event"},
		{name: "oversized payload", data: `{"pad":"` + strings.Repeat("x", maxEventBytes) + `"}`, wantErr: "more than EventBridge's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			if tt.fixture != "" {
				var err error
				data, err = os.ReadFile(filepath.Join("..", "..", "events", tt.fixture))
				require.NoError(t, err)
			}
			got, err := DecodeEvent(data)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Equal(t, faults.Invalid, faults.KindOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantScheduled, got.Scheduled)
			if tt.wantScheduled {
				assert.False(t, got.Time.IsZero())
			}
		})
	}
}

// A malformed event can never succeed: the monitor drops it, counted, with
// the reason in its response, and does no work (no checkpoint, no scores).
func TestMalformedEventIsDroppedNotRetried(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "2026-11-25T07:30:00Z")
	e.capture(t, "AllTraffic", "2026-11-25T09:00:00Z", "a", "3,20,0,0")
	data, err := os.ReadFile(filepath.Join("..", "..", "events", "monitor-wrong-source.json"))
	require.NoError(t, err)
	res, err := e.h.Handle(context.Background(), data)
	require.NoError(t, err)
	assert.True(t, res.Failed)
	assert.Contains(t, res.Reason, `source "aws.s3"`)
	assert.Equal(t, []float64{1}, e.emitted(t, MetricFailures, map[string]string{DimensionEndpoint: testEndpoint, DimensionKind: "invalid"}))
	assert.Empty(t, e.emitted(t, MetricRows, epDims), "no capture was read")
	_, ok := e.s3.get(testBucket, checkpointKey(testEndpoint))
	assert.False(t, ok, "no checkpoint written")
}

// FuzzMonitorEvent feeds arbitrary payloads to the monitor's event decoding.
// No input may panic; an accepted payload is either an on-demand run (an
// empty object, or nothing) or a scheduled event with its envelope checked;
// everything else is a permanent Invalid error.
func FuzzMonitorEvent(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("..", "..", "events", "monitor-*.json"))
	require.NoError(f, err)
	require.NotEmpty(f, seeds)
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`{"source":"aws.events","detail-type":"Scheduled Event","time":"2026-11-25T10:00:00+01:00"}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeEvent(data)
		if err != nil {
			require.Equal(t, faults.Invalid, faults.KindOf(err), "a rejected event is permanent: %v", err)
			require.Equal(t, Trigger{}, got)
			return
		}
		require.LessOrEqual(t, len(data), maxEventBytes)
		if !got.Scheduled {
			trimmed := bytes.TrimSpace(data)
			if len(trimmed) != 0 && string(trimmed) != "null" {
				var fields map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(trimmed, &fields))
				require.Empty(t, fields, "only nothing, null or an empty object runs on demand")
			}
			require.Empty(t, got.ID)
			return
		}
		require.False(t, got.Time.IsZero(), "a scheduled event has a time")
		require.Equal(t, got.Time.UTC(), got.Time)
	})
}
