package sagemakeremu

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/shared/drift"
)

// memStore is a hand-written in-memory ObjectStore whose writes can fail.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte // "bucket/key"
	failPut error
}

func (m *memStore) GetObject(_ context.Context, bucket, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[bucket+"/"+key]
	if !ok {
		return nil, errors.New("NoSuchKey")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memStore) PutObject(_ context.Context, bucket, key string, body io.Reader) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPut != nil {
		return m.failPut
	}
	m.objects[bucket+"/"+key] = data
	return nil
}

func (m *memStore) List(_ context.Context, bucket, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.objects {
		if rest, ok := strings.CutPrefix(k, bucket+"/"); ok && strings.HasPrefix(rest, prefix) {
			keys = append(keys, rest)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func captureConfig(header bool, modes ...string) *DataCaptureConfig {
	pct := int64(100)
	cfg := &DataCaptureConfig{InitialSamplingPercentage: &pct, DestinationS3URI: "s3://bkt/capture/"}
	for _, m := range modes {
		cfg.CaptureOptions = append(cfg.CaptureOptions, CaptureOption{CaptureMode: m})
	}
	if header {
		cfg.CaptureContentTypeHeader = &CaptureContentTypeHeader{CsvContentTypes: []string{"text/csv"}, JSONContentTypes: []string{"application/json"}}
	}
	return cfg
}

func TestCaptureWriter(t *testing.T) {
	at := time.Date(2026, 11, 25, 8, 15, 2, 0, time.UTC)
	tests := []struct {
		name      string
		cfg       *DataCaptureConfig
		inType    string
		wantIn    *captureEntry
		wantOut   *captureEntry
		wantInCSV string
	}{
		{name: "CSV listed: text", cfg: captureConfig(true, "Input", "Output"), inType: "text/csv",
			wantIn:    &captureEntry{ObservedContentType: "text/csv", Mode: "INPUT", Data: "5,0\n7,1", Encoding: "CSV"},
			wantOut:   &captureEntry{ObservedContentType: "text/csv; charset=utf-8", Mode: "OUTPUT", Data: "0.1,0.2", Encoding: "CSV"},
			wantInCSV: "5,0\n7,1"},
		{name: "no content type header: base64", cfg: captureConfig(false, "Input", "Output"), inType: "text/csv",
			wantIn:    &captureEntry{ObservedContentType: "text/csv", Mode: "INPUT", Data: "NSwwCjcsMQ==", Encoding: "BASE64"},
			wantOut:   &captureEntry{ObservedContentType: "text/csv; charset=utf-8", Mode: "OUTPUT", Data: "MC4xLDAuMg==", Encoding: "BASE64"},
			wantInCSV: "5,0\n7,1"},
		{name: "input only", cfg: captureConfig(true, "Input"), inType: "text/csv",
			wantIn:    &captureEntry{ObservedContentType: "text/csv", Mode: "INPUT", Data: "5,0\n7,1", Encoding: "CSV"},
			wantInCSV: "5,0\n7,1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &memStore{objects: map[string][]byte{}}
			w := newCaptureWriter(store, clock.NewManual(at.Add(time.Hour)), slog.New(slog.DiscardHandler))
			w.add(tt.cfg, captured{endpoint: "ep", variant: "AllTraffic", eventID: "ev-1", at: at, inType: tt.inType, in: []byte("5,0\n7,1"), outType: "text/csv; charset=utf-8", out: []byte("0.1,0.2")})
			require.NoError(t, w.Flush(context.Background()))
			keys, _ := store.List(context.Background(), "bkt", "")
			require.Len(t, keys, 1)
			assert.Regexp(t, `^capture/ep/AllTraffic/2026/11/25/08/15-02-000-[0-9a-f-]{36}\.jsonl$`, keys[0])
			data := store.objects["bkt/"+keys[0]]
			assert.True(t, bytes.HasSuffix(data, []byte("\n")))
			var rec drift.CaptureRecord
			require.NoError(t, jsonDecode(data, &rec))
			assert.Equal(t, tt.wantIn, (*captureEntry)(rec.CaptureData.EndpointInput))
			assert.Equal(t, tt.wantOut, (*captureEntry)(rec.CaptureData.EndpointOutput))
			assert.Equal(t, "2026-11-25T08:15:02Z", rec.EventMetadata.InferenceTime)
			assert.Equal(t, "ev-1", rec.EventMetadata.EventID)
			assert.Equal(t, "0", rec.EventVersion)
			csv, err := drift.ParseCaptureLine(bytes.TrimSpace(data))
			require.NoError(t, err)
			assert.Equal(t, tt.wantInCSV, csv)
		})
	}
}

func TestCaptureWriterKeepsRecordsWhenS3Fails(t *testing.T) {
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	store := &memStore{objects: map[string][]byte{}, failPut: errors.New("SlowDown")}
	w := newCaptureWriter(store, clock.NewManual(at), slog.New(slog.DiscardHandler))
	cfg := captureConfig(true, "Input", "Output")
	add := func(id string, at time.Time) {
		w.add(cfg, captured{endpoint: "ep", variant: "v", eventID: id, at: at, inType: "text/csv", in: []byte("1,2"), outType: "text/csv", out: []byte("0.5")})
	}
	add("first", at)
	add("other-hour", at.Add(time.Hour))
	err := w.Flush(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SlowDown")

	add("second", at.Add(time.Minute))
	store.mu.Lock()
	store.failPut = nil
	store.mu.Unlock()
	require.NoError(t, w.Flush(context.Background()))
	keys, _ := store.List(context.Background(), "bkt", "")
	require.Len(t, keys, 2, "one file per hour")
	first := string(store.objects["bkt/"+keys[0]])
	assert.Contains(t, keys[0], "/2026/11/25/08/")
	lines := strings.Split(strings.TrimSpace(first), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"eventId":"first"`, "older records stay first")
	assert.Contains(t, lines[1], `"eventId":"second"`)
	assert.Contains(t, keys[1], "/2026/11/25/09/")
}

func TestSamplingPercentage(t *testing.T) {
	tests := []struct {
		name     string
		pct      int64
		min, max int
	}{
		{name: "0 captures nothing", pct: 0, min: 0, max: 0},
		{name: "100 captures everything", pct: 100, min: 1000, max: 1000},
		{name: "30 captures about 30%", pct: 30, min: 240, max: 360},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{rnd: newTestRand()}
			n := 0
			for range 1000 {
				if s.sampleLocked(&DataCaptureConfig{InitialSamplingPercentage: &tt.pct}) {
					n++
				}
			}
			assert.GreaterOrEqual(t, n, tt.min)
			assert.LessOrEqual(t, n, tt.max)
		})
	}
}

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func jsonDecode(data []byte, v any) error { return json.Unmarshal(bytes.TrimSpace(data), v) }

func TestExtractTarGzRefusesEscapes(t *testing.T) {
	tests := []struct {
		name    string
		entry   string
		wantErr string
	}{
		{name: "parent directory", entry: "../evil", wantErr: "leaves the model directory"},
		{name: "absolute path", entry: "/etc/evil", wantErr: "leaves the model directory"},
		{name: "plain file", entry: "xgboost-model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			tw := tar.NewWriter(gz)
			require.NoError(t, tw.WriteHeader(&tar.Header{Name: tt.entry, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg}))
			_, err := tw.Write([]byte("hi"))
			require.NoError(t, err)
			require.NoError(t, tw.Close())
			require.NoError(t, gz.Close())
			dir := t.TempDir()
			err = extractTarGz(&buf, filepath.Join(dir, "model"))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				_, statErr := os.Stat(filepath.Join(dir, "evil"))
				assert.True(t, os.IsNotExist(statErr))
				return
			}
			require.NoError(t, err)
			data, err := os.ReadFile(filepath.Join(dir, "model", tt.entry))
			require.NoError(t, err)
			assert.Equal(t, "hi", string(data))
		})
	}
}
