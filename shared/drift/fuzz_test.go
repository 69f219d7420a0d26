package drift

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParseCaptureLine feeds arbitrary lines to the capture parser and the
// accumulator behind it: neither may panic, every failure must be
// ErrMalformed (so callers count and skip it), and a parsed line's rows must
// be countable.
func FuzzParseCaptureLine(f *testing.F) {
	data, err := os.ReadFile("testdata/capture.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f.Add([]byte(line))
	}
	f.Add([]byte(`{"captureData":{"endpointInput":{"observedContentType":"application/json","mode":"INPUT","data":"[[1,2],[3,null]]","encoding":"JSON"}}}`))
	f.Add([]byte(`{"captureData":{"endpointInput":{"mode":"INPUT","data":"MSwy","encoding":"BASE64"}}}`))
	b := loadBaseline(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		rows, err := ParseCaptureLine(line)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		acc := NewAccumulator(b)
		acc.AddCSV(rows)
		c := acc.Counts()
		if c.Rows < 0 || c.MalformedRows < 0 {
			t.Fatalf("negative counts %+v", c)
		}
		r := acc.Report()
		if r.Scored != (c.Rows > 0) {
			t.Fatalf("scored=%v with %d rows", r.Scored, c.Rows)
		}
		if r.Score < 0 {
			t.Fatalf("negative score %v", r.Score)
		}
	})
}
