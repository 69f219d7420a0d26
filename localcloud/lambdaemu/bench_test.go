package lambdaemu

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// echoHandler is the echo fixture's handler, for the in-process baseline:
// the same work minus the Runtime API and the process boundary.
func echoHandler(_ context.Context, event json.RawMessage) (map[string]any, error) {
	return map[string]any{"event": event, "pid": os.Getpid()}, nil
}

func benchService(b testing.TB, tplPath string, stack string) (*Service, []samtemplate.Function) {
	b.Helper()
	tpl, err := samtemplate.Load(tplPath, samtemplate.Options{StackName: stack})
	require.NoError(b, err)
	fns, err := tpl.Functions()
	require.NoError(b, err)
	dir := stateDir
	if dir == "" {
		dir = b.TempDir()
	}
	svc, err := New(Options{
		Functions: fns,
		StateDir:  dir,
		Logs:      io.Discard,
		// Nothing listens there: a handler that reaches AWS fails at once
		// (one attempt), so cold start measures init, not the network.
		Endpoint: "http://127.0.0.1:1",
		Env:      map[string]string{"AWS_MAX_ATTEMPTS": "1", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"},
	})
	require.NoError(b, err)
	b.Cleanup(func() { _ = svc.Close() })
	require.NoError(b, svc.Build())
	return svc, fns
}

// BenchmarkWarmInvokeRuntimeAPI is one warm invocation of the echo fixture
// through Service.Invoke: Runtime API, process boundary and JSON.
func BenchmarkWarmInvokeRuntimeAPI(b *testing.B) {
	svc, _ := benchService(b, filepath.Join("testdata", "template.yaml"), "")
	payload := []byte(`{"hello":"world"}`)
	_, err := svc.Invoke(context.Background(), "EchoFunction", payload)
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := svc.Invoke(context.Background(), "EchoFunction", payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInProcessHandler calls the same handler through aws-lambda-go's
// handler adapter (JSON in, JSON out) in this process.
func BenchmarkInProcessHandler(b *testing.B) {
	h := lambda.NewHandler(echoHandler)
	payload := []byte(`{"hello":"world"}`)
	for i := 0; i < b.N; i++ {
		if _, err := h.Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
	}
}

type stats struct{ median, p99 time.Duration }

func summarize(ds []time.Duration) stats {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	p99 := int(float64(len(ds))*0.99+0.5) - 1
	if p99 < 0 {
		p99 = 0
	}
	return stats{median: ds[len(ds)/2], p99: ds[p99]}
}

func fmtD(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }

// TestBenchReport prints, in one run, warm invoke latency through the
// Runtime API against the in-process handler, and the cold start (process
// start to first response, and its init part) of every function of the
// template, median and p99. scripts/bench-lambda.sh runs it.
func TestBenchReport(t *testing.T) {
	if os.Getenv("LAMBDA_BENCH") != "1" {
		t.Skip("set LAMBDA_BENCH=1 (scripts/bench-lambda.sh) to run the benchmark report")
	}
	warmN, coldN := 2000, 30
	var out strings.Builder
	fmt.Fprintf(&out, "\nlocal Lambda benchmark (%s)\n\n", time.Now().UTC().Format(time.RFC3339))

	svc, _ := benchService(t, filepath.Join("testdata", "template.yaml"), "")
	payload := []byte(`{"hello":"world"}`)
	_, err := svc.Invoke(context.Background(), "EchoFunction", payload)
	require.NoError(t, err)
	warm := make([]time.Duration, warmN)
	for i := range warm {
		s := time.Now()
		_, err := svc.Invoke(context.Background(), "EchoFunction", payload)
		require.NoError(t, err)
		warm[i] = time.Since(s)
	}
	h := lambda.NewHandler(echoHandler)
	inproc := make([]time.Duration, warmN)
	for i := range inproc {
		s := time.Now()
		_, err := h.Invoke(context.Background(), payload)
		require.NoError(t, err)
		inproc[i] = time.Since(s)
	}
	ws, is := summarize(warm), summarize(inproc)
	fmt.Fprintf(&out, "warm invoke, echo function, %d calls    median      p99\n", warmN)
	fmt.Fprintf(&out, "  through the Runtime API (process)   %10s %10s\n", fmtD(ws.median), fmtD(ws.p99))
	fmt.Fprintf(&out, "  handler called in-process           %10s %10s\n\n", fmtD(is.median), fmtD(is.p99))

	root := filepath.Join("..", "..")
	rsvc, fns := benchService(t, filepath.Join(root, "template.yaml"), "mlops-dev")
	fmt.Fprintf(&out, "cold start, %d starts each           start->first response      init (start->/next)\n", coldN)
	fmt.Fprintf(&out, "  %-22s %12s %10s %12s %10s\n", "function", "median", "p99", "median", "p99")
	for _, fn := range fns {
		event := coldEvent(root, shortName(fn.LogicalID))
		first, init := make([]time.Duration, coldN), make([]time.Duration, coldN)
		for i := 0; i < coldN; i++ {
			require.NoError(t, rsvc.Recycle(fn.Name))
			o, err := rsvc.InvokeFunction(context.Background(), InvokeInput{Function: fn.Name, Payload: event})
			require.NoError(t, err)
			require.True(t, o.Cold)
			if o.FunctionError != nil {
				require.NotRegexp(t, `^(Runtime|Sandbox)\.`, o.FunctionError.Type, o.FunctionError.Message)
			}
			first[i], init[i] = o.InitDuration+o.Duration, o.InitDuration
		}
		fs, is := summarize(first), summarize(init)
		fmt.Fprintf(&out, "  %-22s %12s %10s %12s %10s\n", fn.LogicalID, fmtD(fs.median), fmtD(fs.p99), fmtD(is.median), fmtD(is.p99))
	}
	fmt.Fprintf(&out, "\nhost binaries (%s), clean Lambda environment (no AWS_CA_BUNDLE), AWS endpoint unreachable (AWS_MAX_ATTEMPTS=1)\n", "CGO_ENABLED=0 -trimpath -tags lambda.norpc -ldflags=-s -w")
	fmt.Print(out.String())
}

// coldEvent picks a fixture the handler rejects before calling AWS (an
// invalid-input case) so the first response measures start-up, not I/O.
func coldEvent(root, name string) []byte {
	fixtures, _ := filepath.Glob(filepath.Join(root, "events", name+"-*.json"))
	for _, f := range fixtures {
		if invalidFixture.MatchString(filepath.Base(f)) {
			if b, err := os.ReadFile(f); err == nil {
				return b
			}
		}
	}
	if len(fixtures) > 0 {
		if b, err := os.ReadFile(fixtures[0]); err == nil {
			return b
		}
	}
	return []byte(`{}`)
}
