package sagemakeremu

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
)

// captured is one sampled invocation.
type captured struct {
	endpoint, variant, eventID, inferenceID string
	at                                      time.Time
	inType, outType                         string
	in, out                                 []byte
}

// captureEntry is captureData.endpointInput / endpointOutput.
type captureEntry struct {
	ObservedContentType string `json:"observedContentType"`
	Mode                string `json:"mode"`
	Data                string `json:"data"`
	Encoding            string `json:"encoding"`
}

// captureRecord is one line of a capture file, in SageMaker's shape.
type captureRecord struct {
	CaptureData struct {
		EndpointInput  *captureEntry `json:"endpointInput,omitempty"`
		EndpointOutput *captureEntry `json:"endpointOutput,omitempty"`
	} `json:"captureData"`
	EventMetadata struct {
		EventID       string `json:"eventId"`
		InferenceID   string `json:"inferenceId,omitempty"`
		InferenceTime string `json:"inferenceTime"`
	} `json:"eventMetadata"`
	EventVersion string `json:"eventVersion"`
}

// captureFile identifies the file a record goes to: one per destination,
// endpoint, variant and hour.
type captureFile struct {
	bucket, prefix, endpoint, variant string
	hour                              time.Time
}

// captureWriter buffers capture records and writes them to S3 as JSON
// Lines files under <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/.
type captureWriter struct {
	store ObjectStore
	clock clock.Clock
	log   *slog.Logger

	mu      sync.Mutex
	flushMu sync.Mutex
	buf     map[captureFile]*bytes.Buffer
}

func newCaptureWriter(store ObjectStore, c clock.Clock, log *slog.Logger) *captureWriter {
	return &captureWriter{store: store, clock: c, log: log, buf: map[captureFile]*bytes.Buffer{}}
}

// encode renders a payload as SageMaker does: as text when its media type
// is listed in the configuration's CSV or JSON content types, else base64.
func encode(cfg *DataCaptureConfig, contentType string, data []byte) (string, string) {
	media, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		media = strings.ToLower(strings.TrimSpace(contentType))
	}
	if h := cfg.CaptureContentTypeHeader; h != nil {
		for _, ct := range h.CsvContentTypes {
			if strings.EqualFold(ct, media) {
				return string(data), "CSV"
			}
		}
		for _, ct := range h.JSONContentTypes {
			if strings.EqualFold(ct, media) {
				return string(data), "JSON"
			}
		}
	}
	return base64.StdEncoding.EncodeToString(data), "BASE64"
}

func captures(cfg *DataCaptureConfig, mode string) bool {
	for _, o := range cfg.CaptureOptions {
		if strings.EqualFold(o.CaptureMode, mode) {
			return true
		}
	}
	return false
}

// add buffers one record.
func (w *captureWriter) add(cfg *DataCaptureConfig, c captured) {
	bucket, prefix, err := splitS3URI(cfg.DestinationS3URI)
	if err != nil {
		w.log.Warn("data capture destination", "error", err)
		return
	}
	var rec captureRecord
	if captures(cfg, "Input") {
		data, enc := encode(cfg, c.inType, c.in)
		rec.CaptureData.EndpointInput = &captureEntry{ObservedContentType: c.inType, Mode: "INPUT", Data: data, Encoding: enc}
	}
	if captures(cfg, "Output") {
		data, enc := encode(cfg, c.outType, c.out)
		rec.CaptureData.EndpointOutput = &captureEntry{ObservedContentType: c.outType, Mode: "OUTPUT", Data: data, Encoding: enc}
	}
	rec.EventMetadata.EventID = c.eventID
	rec.EventMetadata.InferenceID = c.inferenceID
	rec.EventMetadata.InferenceTime = c.at.UTC().Format("2006-01-02T15:04:05Z")
	rec.EventVersion = "0"
	line, err := json.Marshal(rec)
	if err != nil {
		w.log.Warn("encode data capture record", "error", err)
		return
	}
	key := captureFile{bucket: bucket, prefix: strings.Trim(prefix, "/"), endpoint: c.endpoint, variant: c.variant, hour: c.at.UTC().Truncate(time.Hour)}
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf[key]
	if b == nil {
		b = &bytes.Buffer{}
		w.buf[key] = b
	}
	b.Write(line)
	b.WriteByte('\n')
}

// Flush writes every buffered file. Files that cannot be written stay
// buffered for the next flush; the errors are returned joined.
func (w *captureWriter) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	pending := w.buf
	w.buf = map[captureFile]*bytes.Buffer{}
	w.mu.Unlock()

	keys := make([]captureFile, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].hour.Before(keys[j].hour) })
	var errs []error
	now := w.clock.Now().UTC()
	for _, k := range keys {
		data := pending[k].Bytes()
		key := fmt.Sprintf("%s/%s/%s/%s", k.endpoint, k.variant, k.hour.Format("2006/01/02/15"),
			fmt.Sprintf("%02d-%02d-%03d-%s.jsonl", now.Minute(), now.Second(), now.Nanosecond()/1e6, awsproto.NewRequestID()))
		if k.prefix != "" {
			key = k.prefix + "/" + key
		}
		if err := w.store.PutObject(ctx, k.bucket, key, bytes.NewReader(data)); err != nil {
			errs = append(errs, fmt.Errorf("write capture file s3://%s/%s: %w", k.bucket, key, err))
			w.mu.Lock()
			if b := w.buf[k]; b != nil {
				// Keep the order: the older records first.
				data = append(data, b.Bytes()...)
			}
			w.buf[k] = bytes.NewBuffer(data)
			w.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// run flushes every interval until ctx ends.
func (w *captureWriter) run(ctx context.Context, every time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.clock.After(every):
		}
		if err := w.Flush(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("flush data capture", "error", err)
		}
	}
}
