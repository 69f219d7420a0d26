package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/benchmarks/harness"
	"github.com/gomlops/mlops/internal/buildgate"
)

// fixture is a results directory with figures chosen so that each budget's
// verdict is known.
type fixture struct {
	inferCold, pythonCold float64 // first response p50, ms
	inferRaw              int64
	inferAllocs           string
	localStatus, local    string
	exceptions            string
}

func (f fixture) write(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "results")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	sum := func(p50 float64) harness.Summary {
		return harness.Summary{N: 40, P50: p50, P90: p50 * 1.2, P99: p50 * 1.5}
	}
	res := harness.Results{
		Machine:  harness.Machine{CPU: "test CPU", Cores: 2, LoadStart: "1.00 1.00 1.00", LoadEnd: "1.00 1.00 1.00"},
		Settings: harness.Settings{ColdRuns: 40, LatencyRequests: 2000, ThroughputSeconds: 8, Concurrency: 2},
		Sizes: []harness.SizeRow{
			{Name: "infer", Variant: "plain", Raw: f.inferRaw, Zipped: 3 * buildgate.MiB},
			{Name: "infer", Variant: "xray", Raw: 20 * buildgate.MiB, Zipped: 6 * buildgate.MiB, V1SDK: 42, GRPC: 51},
			{Name: "train", Variant: "plain", Raw: 11 * buildgate.MiB, Zipped: 4 * buildgate.MiB},
		},
		Cold: []harness.ColdRow{
			{Name: "floor", Kind: "floor", Init: sum(2), FirstResponse: sum(3)},
			{Name: "infer", Kind: "go", Init: sum(f.inferCold - 2), FirstResponse: sum(f.inferCold)},
			{Name: "infer-xray", Kind: "go+xray", Init: sum(8), FirstResponse: sum(12)},
			{Name: "train", Kind: "go", Init: sum(10), FirstResponse: sum(12), FunctionErrors: 40},
			{Name: "peer-python", Kind: "python", Init: sum(f.pythonCold - 5), FirstResponse: sum(f.pythonCold)},
		},
		Latency: []harness.LatencyRow{
			{Name: "direct", Latency: harness.Summary{P50: 0.02, P99: 0.2}},
			{Name: "floor", Latency: harness.Summary{P50: 0.3, P99: 1.0}},
			{Name: "infer", Latency: harness.Summary{P50: 0.7, P99: 2.0}},
			{Name: "peer-python", Latency: harness.Summary{P50: 1.4, P99: 2.5}},
		},
		Throughput: []harness.ThroughputRow{
			{Name: "infer", PerSec: 1500, CPUMsPerReq: 0.5},
			{Name: "peer-python", PerSec: 500, CPUMsPerReq: 1.25},
		},
		Trace: harness.TraceCheck{Invocations: 1000, Traced: 1000},
	}
	data, err := json.Marshal(res)
	require.NoError(t, err)
	files := map[string]string{
		"lambda.json": string(data),
		"go-bench.txt": "pkg: github.com/gomlops/mlops/functions/infer\n" +
			"BenchmarkHandlePredictClientSide-2 1000 55000 ns/op 28000 B/op " + f.inferAllocs + " allocs/op\n",
		"drift-bench.txt": "pkg: github.com/gomlops/mlops/shared/drift\n" +
			"BenchmarkReadCapture100k 3 450000000 ns/op 4500 ns/record 4000000 peak-heap-bytes 51000000 B/op 1500000 allocs/op\n",
		"drift-test.txt": "    bench_test.go:91: peak live heap: 3800000 bytes for 10k records, 3900000 bytes for 100k\n",
		"local.status":   f.localStatus,
		"local.txt":      f.local,
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	if f.exceptions != "" {
		require.NoError(t, os.WriteFile(filepath.Join(root, "gate-exceptions.md"), []byte(f.exceptions), 0o644))
	}
	return dir
}

// row returns the budget table row whose first cell starts with what.
func row(t *testing.T, md, what string) string {
	t.Helper()
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| "+what) {
			return line
		}
	}
	t.Fatalf("no row %q in\n%s", what, md)
	return ""
}

func TestRenderVerdicts(t *testing.T) {
	good := fixture{inferCold: 4.5, pythonCold: 150, inferRaw: 8 * buildgate.MiB, inferAllocs: "331", localStatus: "0",
		local: "100.0 [  1.0s] ✓ local cloud up\n130.5 [ 31.5s] ✓ pipeline SUCCEEDED\n131.0 done\n"}
	tests := []struct {
		name    string
		f       fixture
		row     string
		want    string
		wantAll []string
	}{
		{name: "size within budget", f: good, row: "infer size", want: "| met |"},
		{name: "oversize proxy", f: func() fixture { f := good; f.inferRaw = 10 * buildgate.MiB; return f }(), row: "infer size", want: "**NOT MET**",
			wantAll: []string{"Budgets not met", "link only the SDK services it calls"}},
		{name: "cold start met", f: good, row: "infer cold start p50", want: "| met |"},
		{name: "cold start over budget explains itself", f: func() fixture { f := good; f.inferCold = 7; return f }(), row: "infer cold start p50", want: "**NOT MET**",
			wantAll: []string{"already needs 3.00 ms"}},
		{name: "ratio to python", f: good, row: "infer cold start vs Python", want: "33.3x"},
		{name: "ratio to python too small", f: func() fixture { f := good; f.pythonCold = 50; return f }(), row: "infer cold start vs Python", want: "**NOT MET**"},
		{name: "allocations", f: good, row: "infer allocations", want: "331 allocs/op (BenchmarkHandlePredictClientSide) | met"},
		{name: "too many allocations", f: func() fixture { f := good; f.inferAllocs = "401"; return f }(), row: "infer allocations", want: "**NOT MET**"},
		{name: "end-to-end added latency over budget, own share within", f: good, row: "infer added latency p50", want: "0.680 ms | **NOT MET**",
			wantAll: []string{"| infer's own added latency p50 (infer − floor) | <= 0.5 ms | 0.400 ms | met |"}},
		{name: "throughput ratio", f: good, row: "infer throughput vs Python", want: "3.00x (1500 vs 500 req/s) | met"},
		{name: "control-plane function without a cold row is not measured", f: good, row: "ingest cold start p50", want: "| not measured |"},
		{name: "drift", f: good, row: "drift: 100,000 records", want: "0.450 s | met"},
		{name: "drift memory", f: good, row: "drift: peak memory", want: "+0.10 MiB | met"},
		{name: "local pipeline stages", f: good, row: "[  1.0s] ✓ local cloud up", want: "| 0.0 s | 30.5 s |",
			wantAll: []string{"| **whole pipeline** | 0 s | 31.0 s |"}},
		{name: "local pipeline failed", f: func() fixture {
			f := good
			f.localStatus, f.local = "2", "1.0 [  1.0s] ✓ up\n2.0 FAILED at stage \"train\": boom | bang\n"
			return f
		}(), row: "whole pipeline", want: "**not measured: `make local` exited with status 2; it reported: FAILED at stage \"train\": boom \\| bang**"},
		{name: "local pipeline not run", f: func() fixture { f := good; f.localStatus, f.local = "", ""; return f }(), row: "whole pipeline", want: "not measured: make local was not run"},
		{name: "gate exception copied", f: func() fixture {
			f := good
			f.exceptions = "# x\n\n    - gate exception: <function> <entry>: <why>\n- gate exception: train net/rpc: measured, see sizes\n"
			return f
		}(), row: "infer size", want: "met", wantAll: []string{"\n- gate exception: train net/rpc: measured, see sizes\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := render(tt.f.write(t))
			require.NoError(t, err)
			assert.Contains(t, row(t, string(md), tt.row), tt.want)
			for _, w := range tt.wantAll {
				assert.Contains(t, string(md), w)
			}
			// What the report writes is what the gate reads.
			ex, err := buildgate.ParseExceptions(md)
			require.NoError(t, err)
			if tt.f.exceptions == "" {
				assert.Empty(t, ex)
			}
		})
	}
}

func TestRenderFailsWithoutMeasurements(t *testing.T) {
	tests := []struct {
		name    string
		remove  string
		corrupt string
		wantErr string
	}{
		{name: "no lambda.json", remove: "lambda.json", wantErr: "run cmd/lambdabench first"},
		{name: "no go bench", remove: "go-bench.txt", wantErr: "go-bench.txt"},
		{name: "failed go bench", corrupt: "go-bench.txt", wantErr: "benchmark failed"},
		{name: "invalid gate exception", corrupt: "../gate-exceptions.md", wantErr: "gate-exceptions.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fixture{inferCold: 4, pythonCold: 150, inferRaw: buildgate.MiB, inferAllocs: "300", localStatus: "0"}.write(t)
			if tt.remove != "" {
				require.NoError(t, os.Remove(filepath.Join(dir, tt.remove)))
			}
			switch tt.corrupt {
			case "go-bench.txt":
				require.NoError(t, os.WriteFile(filepath.Join(dir, tt.corrupt), []byte("--- FAIL: BenchmarkX-2\n"), 0o644))
			case "../gate-exceptions.md":
				require.NoError(t, os.WriteFile(filepath.Join(dir, tt.corrupt), []byte("- gate exception: infer fmt: no\n"), 0o644))
			}
			_, err := render(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}
