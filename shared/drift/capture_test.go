package drift

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// captureLine returns one capture line as SageMaker writes it.
func captureLine(t testing.TB, contentType, encoding, data string) string {
	t.Helper()
	rec := map[string]any{
		"captureData": map[string]any{
			"endpointInput":  map[string]any{"observedContentType": contentType, "mode": "INPUT", "data": data, "encoding": encoding},
			"endpointOutput": map[string]any{"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": "0.2", "encoding": "CSV"},
		},
		"eventMetadata": map[string]any{"eventId": "e1", "inferenceId": "i1", "inferenceTime": "2026-11-25T08:00:00Z"},
		"eventVersion":  "0",
	}
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	return string(b)
}

func TestParseCaptureLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want string
	}{
		{name: "csv", line: captureLine(t, "text/csv", "CSV", "12,70.5,3,1"), want: "12,70.5,3,1"},
		{name: "csv with several rows", line: captureLine(t, "text/csv", "CSV", "1,2,3,0\n4,5,6,1"), want: "1,2,3,0\n4,5,6,1"},
		{name: "base64 csv", line: captureLine(t, "text/csv", "BASE64", base64.StdEncoding.EncodeToString([]byte("1,2,3,0"))), want: "1,2,3,0"},
		{name: "json one row", line: captureLine(t, "application/json", "JSON", `[1, 2.5, 3, "0"]`), want: "1,2.5,3,0\n"},
		{name: "json rows", line: captureLine(t, "application/json", "JSON", `[[1,2,3,0],[4,null,6,1]]`), want: "1,2,3,0\n4,,6,1\n"},
		{name: "json instances", line: captureLine(t, "application/json", "JSON", `{"instances":[[1,2,3,0]]}`), want: "1,2,3,0\n"},
		{name: "base64 json", line: captureLine(t, "application/json", "BASE64", base64.StdEncoding.EncodeToString([]byte(`[1,2,3,0]`))), want: "1,2,3,0\n"},
		{name: "csv content type with charset", line: captureLine(t, "text/csv; charset=utf-8", "CSV", "1,2,3,0"), want: "1,2,3,0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCaptureLine([]byte(tt.line))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseCaptureLineMalformed(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{name: "not JSON", line: `{"captureData":`},
		{name: "no input", line: `{"captureData":{"endpointOutput":{"mode":"OUTPUT","data":"1","encoding":"CSV"}}}`},
		{name: "output mode in the input", line: `{"captureData":{"endpointInput":{"mode":"OUTPUT","data":"1","encoding":"CSV"}}}`},
		{name: "bad base64", line: captureLine(t, "text/csv", "BASE64", "***")},
		{name: "unknown encoding", line: captureLine(t, "text/csv", "GZIP", "1,2")},
		{name: "unsupported content type", line: captureLine(t, "image/png", "BASE64", "AAAA")},
		{name: "json scalar", line: captureLine(t, "application/json", "JSON", `42`)},
		{name: "json object without instances", line: captureLine(t, "application/json", "JSON", `{"x":1}`)},
		{name: "json nested object in a row", line: captureLine(t, "application/json", "JSON", `[[1,{"a":2}]]`)},
		{name: "json mixed rows", line: captureLine(t, "application/json", "JSON", `[[1,2],3]`)},
		{name: "json value with a comma", line: captureLine(t, "application/json", "JSON", `["a,b"]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCaptureLine([]byte(tt.line))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrMalformed), "error %v is not ErrMalformed", err)
		})
	}
}

func TestReadCapture(t *testing.T) {
	good := captureLine(t, "text/csv", "CSV", "5,0")
	tests := []struct {
		name      string
		file      string
		want      Counts
		wantScore bool
	}{
		{name: "empty file", file: "", want: Counts{}},
		{name: "only blank lines", file: "\n\n  \n", want: Counts{}},
		{name: "all lines malformed", file: "not json\n{\"captureData\":{}}\n", want: Counts{Lines: 2, MalformedLines: 2}},
		{
			name:      "malformed lines are skipped, the rest counts",
			file:      good + "\n{broken\n" + good + "\n",
			want:      Counts{Lines: 3, MalformedLines: 1, Rows: 2},
			wantScore: true,
		},
		{
			name:      "last line without newline",
			file:      good + "\n" + good,
			want:      Counts{Lines: 2, Rows: 2},
			wantScore: true,
		},
		{
			name:      "rows with the wrong width or a bad number are skipped",
			file:      captureLine(t, "text/csv", "CSV", "5,0\n1,2,3\nabc,1\n7,1") + "\n",
			want:      Counts{Lines: 1, Rows: 2, MalformedRows: 2},
			wantScore: true,
		},
		{
			name:      "crlf line endings",
			file:      good + "\r\n" + good + "\r\n",
			want:      Counts{Lines: 2, Rows: 2},
			wantScore: true,
		},
		{
			name: "oversize line is skipped without stopping",
			file: captureLine(t, "text/csv", "CSV", strings.Repeat("1,0\n", MaxLineBytes/4+10)) + "\n" + good + "\n",
			want: Counts{Lines: 2, MalformedLines: 1, OversizeLines: 1, Rows: 1}, wantScore: true,
		},
		{
			name: "long line under the limit is read whole",
			file: captureLine(t, "text/csv", "CSV", strings.Repeat("1,0\n", readBufferBytes/4+10)) + "\n",
			want: Counts{Lines: 1, Rows: readBufferBytes/4 + 10}, wantScore: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := NewAccumulator(loadBaseline(t))
			require.NoError(t, acc.ReadCapture(strings.NewReader(tt.file)))
			assert.Equal(t, tt.want, acc.Counts())
			assert.Equal(t, tt.wantScore, acc.Report().Scored)
		})
	}
}

func TestReadCaptureKeepsWhatWasReadBeforeAnError(t *testing.T) {
	acc := NewAccumulator(loadBaseline(t))
	line := captureLine(t, "text/csv", "CSV", "5,0") + "\n"
	r := io.MultiReader(strings.NewReader(line), iotest.ErrReader(errors.New("connection reset")))
	err := acc.ReadCapture(r)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read capture: connection reset")
	assert.Equal(t, int64(1), acc.Counts().Rows)
}

func TestReadCaptureFixture(t *testing.T) {
	f, err := os.Open("testdata/capture.jsonl")
	require.NoError(t, err)
	defer f.Close()
	acc := NewAccumulator(loadBaseline(t))
	require.NoError(t, acc.ReadCapture(f))
	c := acc.Counts()
	assert.Equal(t, Counts{Lines: 4, MalformedLines: 1, Rows: 4}, c)
}

// TestCaptureRecordShape decodes the fixture's lines whole: the record type
// documents SageMaker's capture line, metadata and output included.
func TestCaptureRecordShape(t *testing.T) {
	data, err := os.ReadFile("testdata/capture.jsonl")
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(data), "\n")
	var rec CaptureRecord
	require.NoError(t, json.Unmarshal([]byte(first), &rec))
	require.NotNil(t, rec.CaptureData.EndpointInput)
	require.NotNil(t, rec.CaptureData.EndpointOutput)
	assert.Equal(t, "INPUT", rec.CaptureData.EndpointInput.Mode)
	assert.Equal(t, "OUTPUT", rec.CaptureData.EndpointOutput.Mode)
	assert.Equal(t, "text/csv", rec.CaptureData.EndpointInput.ObservedContentType)
	assert.Equal(t, "2026-11-25T08:15:02Z", rec.EventMetadata.InferenceTime)
	assert.Equal(t, "0", rec.EventVersion)
	rows, err := rec.CaptureData.EndpointInput.CSV()
	require.NoError(t, err)
	assert.Equal(t, "5,0", rows)
}
