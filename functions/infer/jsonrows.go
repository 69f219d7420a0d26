package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The model behind the endpoint (SageMaker's built-in XGBoost) reads CSV
// rows and refuses application/json with 415. JSON clients are still first
// class: the proxy turns their rows into CSV before calling SageMaker (so data
// capture, and drift monitoring, see one format) and turns the model's CSV
// answer back into JSON.
//
// Accepted JSON bodies, one feature vector per row, numbers or null (a
// missing value):
//
//	{"instances": [[1, 2.5, null, 0], [3, 4, 5, 1]]}
//	[[1, 2.5, null, 0], [3, 4, 5, 1]]
//	[1, 2.5, null, 0]
//
// The answer is {"predictions": [0.12, 0.87]}.

// maxJSONRows bounds the rows of one request, like SageMaker's payload cap
// bounds CSV requests.
const maxJSONRows = 10000

var (
	errJSONShape = &requestError{400, `a JSON body must be {"instances": [[...], ...]}, [[...], ...] or [...] with numbers or null`}
	errJSONRows  = &requestError{400, "a JSON body must have between 1 and 10000 rows of the same length"}
)

// jsonToCSV converts a JSON prediction request into the model's CSV rows.
func jsonToCSV(body []byte) ([]byte, *requestError) {
	var raw json.RawMessage = bytes.TrimSpace(body)
	if len(raw) > 0 && raw[0] == '{' {
		var wrapped struct {
			Instances json.RawMessage `json:"instances"`
		}
		if err := json.Unmarshal(raw, &wrapped); err != nil || len(wrapped.Instances) == 0 {
			return nil, errJSONShape
		}
		raw = wrapped.Instances
	}
	var rows [][]*float64
	if err := json.Unmarshal(raw, &rows); err != nil {
		var row []*float64
		if err := json.Unmarshal(raw, &row); err != nil {
			return nil, errJSONShape
		}
		rows = [][]*float64{row}
	}
	if len(rows) == 0 || len(rows) > maxJSONRows {
		return nil, errJSONRows
	}
	var b bytes.Buffer
	for i, row := range rows {
		if len(row) == 0 || len(row) != len(rows[0]) {
			return nil, errJSONRows
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		for j, v := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			if v != nil {
				b.WriteString(strconv.FormatFloat(*v, 'g', -1, 64))
			}
		}
	}
	return b.Bytes(), nil
}

// predictionsJSON turns the model's CSV answer (values separated by commas
// or new lines) into {"predictions": [...]}; ok is false when the answer is
// not a list of numbers.
func predictionsJSON(answer []byte) (out []byte, ok bool) {
	fields := strings.FieldsFunc(string(answer), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	preds := make([]float64, 0, len(fields))
	for _, f := range fields {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, false
		}
		preds = append(preds, v)
	}
	if len(preds) == 0 {
		return nil, false
	}
	out, err := json.Marshal(struct {
		Predictions []float64 `json:"predictions"`
	}{preds})
	return out, err == nil
}
