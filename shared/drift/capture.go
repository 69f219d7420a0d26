package drift

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
)

// CaptureRecord is one line of a SageMaker data capture file: one inference
// request and, when output capture is on, its response.
type CaptureRecord struct {
	CaptureData struct {
		EndpointInput  *CaptureEntry `json:"endpointInput"`
		EndpointOutput *CaptureEntry `json:"endpointOutput"`
	} `json:"captureData"`
	EventMetadata struct {
		EventID       string `json:"eventId"`
		InferenceID   string `json:"inferenceId"`
		InferenceTime string `json:"inferenceTime"`
	} `json:"eventMetadata"`
	EventVersion string `json:"eventVersion"`
}

// CaptureEntry is one captured payload. Data is the body as text when
// Encoding is "CSV" or "JSON", and base64 when it is "BASE64" (SageMaker's
// choice when the content type is not one it was told is text).
type CaptureEntry struct {
	ObservedContentType string `json:"observedContentType"`
	Mode                string `json:"mode"`
	Data                string `json:"data"`
	Encoding            string `json:"encoding"`
}

// ErrMalformed marks a capture line that cannot be used. Callers count and
// skip such lines; they never stop a run.
var ErrMalformed = errors.New("malformed capture line")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// ParseCaptureLine decodes one capture line and returns the request's rows
// as CSV text (one row per line, features only).
func ParseCaptureLine(line []byte) (string, error) {
	// Decode only the input: the output and the metadata are not needed for
	// drift, and skipping them halves the allocations per line.
	var rec struct {
		CaptureData struct {
			EndpointInput *CaptureEntry `json:"endpointInput"`
		} `json:"captureData"`
	}
	if err := json.Unmarshal(line, &rec); err != nil {
		return "", malformed("%v", err)
	}
	in := rec.CaptureData.EndpointInput
	if in == nil {
		return "", malformed("no captureData.endpointInput")
	}
	if in.Mode != "" && in.Mode != "INPUT" {
		return "", malformed("endpointInput.mode is %q, want INPUT", in.Mode)
	}
	return in.CSV()
}

// CSV returns the entry's body as CSV rows, decoding BASE64 and converting
// a JSON array (one row) or array of arrays (several rows) to CSV.
func (e CaptureEntry) CSV() (string, error) {
	body := e.Data
	switch strings.ToUpper(e.Encoding) {
	case "CSV", "JSON":
	case "BASE64":
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return "", malformed("base64 data: %v", err)
		}
		body = string(raw)
	default:
		return "", malformed("unknown encoding %q", e.Encoding)
	}
	switch contentKind(e.ObservedContentType, e.Encoding) {
	case "csv":
		return body, nil
	case "json":
		return jsonToCSV(body)
	default:
		return "", malformed("unsupported content type %q", e.ObservedContentType)
	}
}

// contentKind says how to read a body: by its content type, else by its
// capture encoding.
func contentKind(contentType, encoding string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		switch strings.ToUpper(encoding) {
		case "JSON":
			return "json"
		case "CSV":
			return "csv"
		}
		if contentType == "" {
			return "csv"
		}
		return ""
	}
	switch {
	case mt == "text/csv":
		return "csv"
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "application/jsonlines":
		return "json"
	}
	return ""
}

// jsonToCSV turns [1,2,"a"] or [[1,2],[3,4]] or {"instances": [...]} into
// CSV rows.
func jsonToCSV(body string) (string, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", malformed("json data: %v", err)
	}
	if m, ok := v.(map[string]any); ok {
		inst, ok := m["instances"]
		if !ok {
			return "", malformed("json data: object without \"instances\"")
		}
		v = inst
	}
	rows, ok := v.([]any)
	if !ok || len(rows) == 0 {
		return "", malformed("json data: not a non-empty array")
	}
	if _, nested := rows[0].([]any); !nested {
		rows = []any{rows}
	}
	var b strings.Builder
	for _, r := range rows {
		cells, ok := r.([]any)
		if !ok {
			return "", malformed("json data: mixed rows and values")
		}
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(',')
			}
			switch x := c.(type) {
			case nil:
			case json.Number:
				b.WriteString(x.String())
			case string:
				if strings.ContainsAny(x, ",\n\r") {
					return "", malformed("json data: value %q contains a separator", x)
				}
				b.WriteString(x)
			case bool:
				b.WriteString(strconv.FormatBool(x))
			default:
				return "", malformed("json data: nested value in a row")
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// MaxLineBytes bounds one capture line (SageMaker's payload limit is 6 MB;
// a drift monitor reading CSV rows of a few features never needs more than
// this). Longer lines are skipped and counted, so one huge request cannot
// exhaust a monitor's memory.
const MaxLineBytes = 1 << 20

// readBufferBytes is the read buffer of ReadCapture; lines longer than it are
// assembled in a reused buffer up to MaxLineBytes.
const readBufferBytes = 64 << 10

// ReadCapture streams a capture file (JSON Lines) into the accumulator.
// Malformed lines and rows are counted and skipped; only a read error stops
// it, and then everything read before the error has been counted.
func (a *Accumulator) ReadCapture(r io.Reader) error {
	br := bufio.NewReaderSize(r, readBufferBytes)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line := chunk
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it, up to the limit.
			long = append(long[:0], chunk...)
			over := false
			for errors.Is(err, bufio.ErrBufferFull) {
				chunk, err = br.ReadSlice('\n')
				if !over && len(long)+len(chunk) <= MaxLineBytes {
					long = append(long, chunk...)
				} else {
					over = true
				}
			}
			if over {
				a.counts.Lines++
				a.counts.MalformedLines++
				a.counts.OversizeLines++
				line = nil
			} else {
				line = long
			}
		}
		if len(line) > 0 {
			a.addLine(line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read capture: %w", err)
		}
	}
}

func (a *Accumulator) addLine(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	a.counts.Lines++
	rows, err := ParseCaptureLine(line)
	if err != nil {
		a.counts.MalformedLines++
		return
	}
	a.AddCSV(rows)
}
