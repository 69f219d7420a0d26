package harness

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		want    Summary
	}{
		{name: "empty", want: Summary{}},
		{name: "one", samples: []time.Duration{2 * time.Millisecond},
			want: Summary{N: 1, Min: 2, P50: 2, P90: 2, P99: 2, Max: 2, Mean: 2}},
		{name: "hundred, unsorted", samples: func() []time.Duration {
			var s []time.Duration
			for i := 100; i >= 1; i-- {
				s = append(s, time.Duration(i)*time.Millisecond)
			}
			return s
		}(), want: Summary{N: 100, Min: 1, P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Summarize(tt.samples))
		})
	}
}

func TestParseInitTrace(t *testing.T) {
	out := []byte("init internal/bytealg @0.007 ms, 0 ms clock, 0 bytes, 0 allocs\n" +
		"some other line\n" +
		"init github.com/aws/aws-sdk-go-v2/service/sagemaker @1.2 ms, 3.9 ms clock, 4000000 bytes, 12000 allocs\n" +
		"init net/http @0.5 ms, 0.080 ms clock, 2000 bytes, 20 allocs\n")
	got, err := ParseInitTrace(out)
	require.NoError(t, err)
	assert.Equal(t, 3, got.Packages)
	assert.InDelta(t, 3.98, got.ClockMs, 1e-9)
	assert.Equal(t, int64(4002000), got.Bytes)
	assert.Equal(t, int64(12020), got.Allocs)
	assert.Equal(t, "github.com/aws/aws-sdk-go-v2/service/sagemaker", got.Top[0].Package)

	_, err = ParseInitTrace([]byte("panic: no trace\n"))
	assert.Error(t, err)
}

func TestParseInitTraceOfARealProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go")
	}
	cmd := exec.Command("go", "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err)
	got, err := ParseInitTrace(out)
	require.NoError(t, err)
	assert.Positive(t, got.Packages)
}

func TestInstrumentMain(t *testing.T) {
	src := `package main

import (
	"io"
	"context"
	"os"

	"github.com/gomlops/mlops/shared/awsconfig"
)

func main() {
	awsCfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		os.Exit(1)
	}
	use(awsCfg)
}
`
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string
	}{
		{name: "instrumented after the error check", src: src,
			want: "\tif err != nil {\n\t\tos.Exit(1)\n\t}\n\ttracing.Instrument(&awsCfg)\n\tuse(awsCfg)\n"},
		{name: "no awsconfig.Load", src: "package main\n\nfunc main() {}\n", wantErr: "no `cfg, err := awsconfig.Load"},
		{name: "already traced", src: strings.Replace(src, "import (", "import (\n\t\"github.com/gomlops/mlops/shared/tracing\"", 1), wantErr: "already imports"},
		{name: "not Go", src: "package", wantErr: "parse main.go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InstrumentMain([]byte(tt.src))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, string(got), tt.want)
			assert.Contains(t, string(got), `"github.com/gomlops/mlops/shared/tracing"`)
		})
	}
}

// TestEveryFunctionHasATracingVariant keeps the X-Ray comparison honest:
// every real composition root must be rewritable.
func TestEveryFunctionHasATracingVariant(t *testing.T) {
	fns, err := filepath.Glob(filepath.Join("..", "..", "functions", "*", "main.go"))
	require.NoError(t, err)
	require.NotEmpty(t, fns)
	for _, mainGo := range fns {
		name := filepath.Base(filepath.Dir(mainGo))
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			require.NoError(t, WriteTracingVariant(filepath.Dir(mainGo), out))
			got, err := os.ReadFile(filepath.Join(out, "main.go"))
			require.NoError(t, err)
			assert.Contains(t, string(got), "tracing.Instrument(&")
			_, err = os.Stat(filepath.Join(out, "handler.go"))
			assert.NoError(t, err)
			tests, _ := filepath.Glob(filepath.Join(out, "*_test.go"))
			assert.Empty(t, tests)
		})
	}
}

func TestFakeEndpoint(t *testing.T) {
	f, err := StartFakeEndpoint()
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	tests := []struct {
		name       string
		method     string
		path       string
		trace      string
		wantStatus int
		wantBody   string
	}{
		{name: "invoke endpoint", method: "POST", path: "/endpoints/churn/invocations", wantStatus: 200, wantBody: Prediction},
		{name: "invoke traced", method: "POST", path: "/endpoints/churn/invocations", trace: "Root=1-5759e988-bd862e3fe1be46a994272793", wantStatus: 200, wantBody: Prediction},
		{name: "other operation", method: "POST", path: "/", wantStatus: 400, wantBody: "ValidationException"},
		{name: "GET invocations", method: "GET", path: "/endpoints/churn/invocations", wantStatus: 400, wantBody: "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, f.URL()+tt.path, strings.NewReader("1,2,3,0"))
			require.NoError(t, err)
			if tt.trace != "" {
				req.Header.Set("X-Amzn-Trace-Id", tt.trace)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			var b strings.Builder
			_, _ = io.Copy(&b, resp.Body)
			assert.Contains(t, b.String(), tt.wantBody)
		})
	}
	assert.Equal(t, int64(2), f.Invocations.Load())
	assert.Equal(t, int64(1), f.Traced.Load())
	assert.Equal(t, int64(2), f.Other.Load())
}

func TestChildPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	cmd := exec.Command("sleep", "30")
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_FUNCTION_NAME=rss-probe")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var kib int64
	var err error
	require.Eventually(t, func() bool {
		kib, err = ChildPeakRSS("/proc", os.Getpid(), "rss-probe")
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	assert.Positive(t, kib)

	_, err = ChildPeakRSS("/proc", os.Getpid(), "no-such-function")
	assert.ErrorContains(t, err, "no live process")
}

func TestParentPID(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    int
		wantErr bool
	}{
		{name: "plain", stat: "123 (bootstrap) S 45 123 123 0", want: 45},
		{name: "spaces and parens in name", stat: "123 (a b) c)) R 7 1 1", want: 7},
		{name: "malformed", stat: "garbage", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parentPID([]byte(tt.stat))
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCPUTicks(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    int64
		wantErr bool
	}{
		{name: "real shape", stat: "4242 (bootstrap) S 1 4242 4242 0 -1 4194560 1000 0 0 0 37 5 0 0 20 0 6 0", want: 42},
		{name: "too short", stat: "1 (x) S 1 2 3", wantErr: true},
		{name: "not numbers", stat: "1 (x) S 1 2 3 4 5 6 7 8 9 10 a b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cpuTicks([]byte(tt.stat))
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestChildCPUTicks(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 30")
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_FUNCTION_NAME=cpu-probe")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, func() bool {
		ticks, procs, err := ChildCPUTicks("/proc", os.Getpid(), "cpu-probe")
		return err == nil && procs == 1 && ticks > 0
	}, 20*time.Second, 50*time.Millisecond)
	_, procs, err := ChildCPUTicks("/proc", os.Getpid(), "nothing-here")
	require.NoError(t, err)
	assert.Zero(t, procs)
}
