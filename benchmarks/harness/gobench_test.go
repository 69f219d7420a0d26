package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseGoBench(t *testing.T) {
	out := []byte(`goos: linux
goarch: amd64
pkg: github.com/gomlops/mlops/functions/infer
cpu: Intel(R) Xeon(R) Processor
BenchmarkHandlePredict-2   	   10000	    100000 ns/op	    9000 B/op	     120 allocs/op
BenchmarkHandlePredict-2   	   10000	    120000 ns/op	    9100 B/op	     121 allocs/op
BenchmarkHandlePredict-2   	   10000	    110000 ns/op	    9200 B/op	     122 allocs/op
    bench_test.go:10: some log line
PASS
ok  	github.com/gomlops/mlops/functions/infer	3.1s
pkg: github.com/gomlops/mlops/shared/drift
BenchmarkReadCapture100k   	       5	 200000000 ns/op	      2000 ns/record	  300000 peak-heap-bytes	 5000 B/op	 10 allocs/op
`)
	got, err := ParseGoBench(out)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, GoBench{Package: "github.com/gomlops/mlops/functions/infer", Name: "BenchmarkHandlePredict", Runs: 3,
		Metrics: map[string]float64{"ns/op": 110000, "B/op": 9100, "allocs/op": 121}}, got[0])
	assert.Equal(t, "BenchmarkReadCapture100k", got[1].Name)
	assert.Equal(t, 300000.0, got[1].Metrics["peak-heap-bytes"])

	tests := []struct {
		name string
		out  string
	}{
		{name: "failed benchmark", out: "--- FAIL: BenchmarkX-2\n    x_test.go:1: boom\n"},
		{name: "bad number", out: "BenchmarkX-2 100 abc ns/op\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseGoBench([]byte(tt.out))
			assert.Error(t, err)
		})
	}
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 2, 3}))
}
