// Command lambdabench measures the Lambda functions side by side with the
// comparison baselines (benchmarks/peers) behind the local Lambda Runtime
// API (localcloud/lambdaemu) and one fake SageMaker Runtime endpoint, and
// writes the figures as JSON for benchreport: binary sizes (arm64, with and
// without X-Ray), Go package init, cold starts with peak RSS, the inference
// proxy's added latency and throughput. scripts/bench.sh runs it with
// AWS_CA_BUNDLE unset, as in Lambda.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomlops/mlops/benchmarks/harness"
	"github.com/gomlops/mlops/internal/buildgate"
	"github.com/gomlops/mlops/localcloud/lambdaemu"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// functions are the platform's functions and the event each is cold
// started with (its first invocation).
var functions = []struct{ name, logicalID, event string }{
	{"infer", "InferFunction", "infer-predict-csv.json"},
	{"ingest", "IngestFunction", "ingest-object-created.json"},
	{"prepare", "PrepareFunction", "prepare-start.json"},
	{"train", "TrainFunction", "train-start.json"},
	{"deploy", "DeployFunction", "deploy-start.json"},
	{"monitor", "MonitorFunction", "monitor-scheduled.json"},
	{"remediate", "RemediateFunction", "remediate-drift-alarm.json"},
}

type bench struct {
	root, python, node, caBundle string
	runs, latencyN, conc         int
	skipStatic                   bool
	extraEnv                     map[string]string
	tputDur                      time.Duration
	tmp                          string
	svc                          *lambdaemu.Service
	fake                         *harness.FakeEndpoint
	payloads                     map[string][]byte
	res                          harness.Results
	log                          io.Writer
}

func main() {
	b := &bench{log: os.Stderr, payloads: map[string][]byte{}}
	out := flag.String("out", "benchmarks/results/lambda.json", "results file")
	flag.StringVar(&b.root, "root", ".", "module root")
	flag.StringVar(&b.python, "python", "", "python3 with boto3 (absolute path; empty skips the Python peer)")
	flag.StringVar(&b.node, "node", "", "node (absolute path; empty skips the Node peer)")
	flag.StringVar(&b.caBundle, "ca-bundle", "", "the machine's AWS_CA_BUNDLE, for the one row that shows its cost")
	flag.IntVar(&b.runs, "runs", 40, "cold starts per function")
	flag.IntVar(&b.latencyN, "latency-requests", 1000, "sequential requests per latency target")
	flag.IntVar(&b.conc, "concurrency", 2, "concurrent callers for throughput")
	flag.DurationVar(&b.tputDur, "throughput-duration", 5*time.Second, "throughput run per target")
	flag.BoolVar(&b.skipStatic, "skip-static", false, "skip sizes and package init (for quick experiments)")
	flag.Func("env", "KEY=VALUE added to every function's environment (repeatable; recorded in the results)", func(kv string) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", kv)
		}
		if b.extraEnv == nil {
			b.extraEnv = map[string]string{}
		}
		b.extraEnv[k] = v
		return nil
	})
	flag.Parse()
	if err := b.run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "lambdabench:", err)
		os.Exit(1)
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "lambdabench: "+format+"\n", args...)
}

func (b *bench) run(out string) error {
	if os.Getenv("AWS_CA_BUNDLE") != "" {
		return errors.New("AWS_CA_BUNDLE is set: run with `env -u AWS_CA_BUNDLE` (Lambda does not set it; pass it with -ca-bundle to measure its cost)")
	}
	root, err := filepath.Abs(b.root)
	if err != nil {
		return err
	}
	b.root = root
	b.tmp, err = os.MkdirTemp("", "lambdabench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(b.tmp)
	b.res.Started = time.Now().UTC()
	b.res.Errors = map[string]int64{}
	b.res.Settings = harness.Settings{ColdRuns: b.runs, LatencyRequests: b.latencyN, ThroughputSeconds: b.tputDur.Seconds(), Concurrency: b.conc, Env: b.extraEnv}
	b.res.Machine = b.machine()

	for _, f := range functions {
		if err := harness.WriteTracingVariant(filepath.Join(b.root, "functions", f.name), b.variantDir(f.name)); err != nil {
			return err
		}
		p, err := os.ReadFile(filepath.Join(b.root, "events", f.event))
		if err != nil {
			return fmt.Errorf("event of %s: %w", f.name, err)
		}
		b.payloads[f.name] = p
	}
	if !b.skipStatic {
		if err := b.sizes(); err != nil {
			return err
		}
		if err := b.inits(); err != nil {
			return err
		}
	}
	if err := b.startService(); err != nil {
		return err
	}
	b.res.Machine.LoadStart = loadavg()
	defer b.fake.Close()
	defer b.svc.Close()
	if err := b.colds(); err != nil {
		return err
	}
	if err := b.latencies(); err != nil {
		return err
	}
	b.throughputs()
	if err := b.shim(); err != nil {
		return err
	}
	b.res.Finished = time.Now().UTC()
	b.res.Machine.LoadEnd = loadavg()
	data, err := json.MarshalIndent(b.res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, append(data, '\n'), 0o644)
}

func (b *bench) variantDir(name string) string {
	return filepath.Join(b.root, "benchmarks", "testdata", "variants", name)
}

func (b *bench) relPkg(dir string) string {
	rel, _ := filepath.Rel(b.root, dir)
	return "./" + filepath.ToSlash(rel)
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func commandLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

func (b *bench) machine() harness.Machine {
	m := harness.Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), CABundleUnset: os.Getenv("AWS_CA_BUNDLE") == ""}
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if m.CPU == "" {
		m.CPU = runtime.GOARCH
	}
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(k))
	}
	if b.python != "" {
		m.Python = commandLine(b.python, "-c", "import sys; print(sys.version.split()[0])")
		m.Boto3 = commandLine(b.python, "-c", "import boto3; print(boto3.__version__)")
	}
	if b.node != "" {
		m.Node = commandLine(b.node, "--version")
		if pj, err := os.ReadFile(filepath.Join(b.root, "benchmarks/peers/node/node_modules/@aws-sdk/client-sagemaker-runtime/package.json")); err == nil {
			var v struct{ Version string }
			if json.Unmarshal(pj, &v) == nil {
				m.NodeSDK = v.Version
			}
		}
	}
	return m
}

// sizes builds every function (and its X-Ray variant) for linux/arm64 as
// deployed, plus the proxy without lambda.norpc, and lists their packages.
func (b *bench) sizes() error {
	ctx := context.Background()
	type target struct{ name, variant, pkg string }
	var targets []target
	for _, f := range functions {
		targets = append(targets, target{f.name, "plain", "./functions/" + f.name}, target{f.name, "xray", b.relPkg(b.variantDir(f.name))})
	}
	targets = append(targets, target{"floor", "plain", "./benchmarks/floor"})
	for _, t := range targets {
		bin := filepath.Join(b.tmp, "arm64", t.name+"-"+t.variant)
		if err := buildgate.Build(ctx, b.root, t.pkg, bin); err != nil {
			return err
		}
		row, err := b.sizeRow(t.name, t.variant, t.pkg, bin, "lambda.norpc")
		if err != nil {
			return err
		}
		b.res.Sizes = append(b.res.Sizes, row)
		b.logf("size %s/%s: %d bytes", t.name, t.variant, row.Raw)
	}
	// The careless build: the proxy without -tags lambda.norpc.
	bin := filepath.Join(b.tmp, "arm64", "infer-no-norpc")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./functions/infer")
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build infer without lambda.norpc: %w\n%s", err, out)
	}
	row, err := b.sizeRow("infer", "no-norpc", "./functions/infer", bin, "")
	if err != nil {
		return err
	}
	b.res.Sizes = append(b.res.Sizes, row)
	return nil
}

func (b *bench) sizeRow(name, variant, pkg, bin, tags string) (harness.SizeRow, error) {
	raw, zipped, err := buildgate.Sizes(bin)
	if err != nil {
		return harness.SizeRow{}, err
	}
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	out, err := cmd.Output()
	if err != nil {
		return harness.SizeRow{}, fmt.Errorf("go list -deps %s: %w", pkg, err)
	}
	row := harness.SizeRow{Name: name, Variant: variant, Raw: raw, Zipped: zipped}
	for _, p := range strings.Fields(string(out)) {
		row.Packages++
		switch {
		case strings.HasPrefix(p, "github.com/aws/aws-sdk-go/"):
			row.V1SDK++
		case strings.HasPrefix(p, "google.golang.org/grpc"):
			row.GRPC++
		case p == "net/rpc":
			row.NetRPC = true
		}
	}
	return row, nil
}

// inits runs each host binary with GODEBUG=inittrace=1 (five times; the
// median by clock is kept). main then fails at lambda.Start outside a
// Runtime API, which is after everything measured here.
func (b *bench) inits() error {
	const runs = 5
	targets := []struct{ name, variant, pkg string }{{"floor", "plain", "./benchmarks/floor"}}
	for _, f := range functions {
		targets = append(targets,
			struct{ name, variant, pkg string }{f.name, "plain", "./functions/" + f.name},
			struct{ name, variant, pkg string }{f.name, "xray", b.relPkg(b.variantDir(f.name))})
	}
	for _, t := range targets {
		bin := filepath.Join(b.tmp, "host", t.name+"-"+t.variant)
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", bin, t.pkg)
		cmd.Dir = b.root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("host build %s: %w\n%s", t.pkg, err, out)
		}
		var traces []harness.InitTrace
		for range runs {
			run := exec.Command(bin)
			run.Env = []string{"GODEBUG=inittrace=1", "PATH=/usr/bin:/bin", "AWS_REGION=us-east-1"}
			out, _ := run.CombinedOutput() // exits non-zero outside Lambda, by design
			tr, err := harness.ParseInitTrace(out)
			if err != nil {
				return fmt.Errorf("inittrace of %s: %w", t.pkg, err)
			}
			traces = append(traces, tr)
		}
		sort.Slice(traces, func(i, j int) bool { return traces[i].ClockMs < traces[j].ClockMs })
		b.res.Init = append(b.res.Init, harness.InitRow{Name: t.name, Variant: t.variant, Trace: traces[len(traces)/2], Runs: runs})
	}
	return nil
}

func copyEnv(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (b *bench) startService() error {
	fake, err := harness.StartFakeEndpoint()
	if err != nil {
		return err
	}
	b.fake = fake
	tpl, err := samtemplate.Load(filepath.Join(b.root, "template.yaml"), samtemplate.Options{StackName: "mlops-bench"})
	if err != nil {
		return fmt.Errorf("load template.yaml: %w", err)
	}
	all, err := tpl.Functions()
	if err != nil {
		return fmt.Errorf("template functions: %w", err)
	}
	byID := map[string]samtemplate.Function{}
	for _, f := range all {
		byID[f.LogicalID] = f
	}
	var fns []samtemplate.Function
	var infer samtemplate.Function
	for _, f := range functions {
		fn, ok := byID[f.logicalID]
		if !ok {
			return fmt.Errorf("template.yaml has no %s", f.logicalID)
		}
		fn.Name = f.name
		if f.name == "infer" {
			infer = fn
		}
		fns = append(fns, fn)
		x := fn
		x.LogicalID, x.Name, x.CodeURI, x.BuildMethod = f.logicalID+"Xray", f.name+"-xray", b.variantDir(f.name), ""
		fns = append(fns, x)
	}
	extra := func(name, codeURI string, env map[string]string) {
		fn := infer
		fn.LogicalID, fn.Name, fn.CodeURI, fn.BuildMethod, fn.Events = name, name, codeURI, "", nil
		fn.Env = copyEnv(infer.Env)
		for k, v := range env {
			fn.Env[k] = v
		}
		fns = append(fns, fn)
	}
	extra("floor", filepath.Join(b.root, "benchmarks", "floor"), nil)
	shim := filepath.Join(b.root, "benchmarks", "peers", "execshim")
	if b.python != "" {
		extra("peer-python", shim, map[string]string{"PEER_EXEC": b.python, "PEER_ARGS": filepath.Join(b.root, "benchmarks/peers/python/bootstrap.py")})
	}
	if b.node != "" {
		extra("peer-node", shim, map[string]string{"PEER_EXEC": b.node, "PEER_ARGS": filepath.Join(b.root, "benchmarks/peers/node/bootstrap.mjs")})
	}
	// The same proxy with the Go scheduler on one P: a configuration the
	// report weighs (Lambda functions under 1,769 MB get less than one
	// vCPU's time but see two CPUs).
	extra("infer-gomaxprocs1", filepath.Join(b.root, "functions", "infer"), map[string]string{"GOMAXPROCS": "1"})
	if b.caBundle != "" {
		extra("infer-ca-bundle", filepath.Join(b.root, "functions", "infer"), map[string]string{"AWS_CA_BUNDLE": b.caBundle})
	}
	resultsDir := filepath.Join(b.root, "benchmarks", "results")
	if err := os.MkdirAll(resultsDir, 0o755); err != nil {
		return err
	}
	logs, err := os.Create(filepath.Join(resultsDir, "lambda.log"))
	if err != nil {
		return err
	}
	env := map[string]string{"AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"}
	for k, v := range b.extraEnv {
		env[k] = v
	}
	b.svc, err = lambdaemu.New(lambdaemu.Options{
		Functions: fns,
		StateDir:  filepath.Join(b.tmp, "state"),
		Endpoint:  fake.URL(),
		Logs:      logs,
		Env:       env,
	})
	if err != nil {
		return fmt.Errorf("local Lambda service: %w", err)
	}
	b.logf("building %d functions for the host", len(fns))
	return b.svc.Build()
}

// payloadFor is the cold-start event of a target.
func (b *bench) payloadFor(name string) []byte {
	base, _, _ := strings.Cut(name, "-xray")
	if p, ok := b.payloads[base]; ok {
		return p
	}
	return b.payloads["infer"] // floor, peers, infer-ca-bundle
}

func kindOf(name string) string {
	switch {
	case strings.HasSuffix(name, "-xray"):
		return "go+xray"
	case name == "peer-python":
		return "python"
	case name == "peer-node":
		return "node"
	case name == "floor":
		return "floor"
	case name == "infer-ca-bundle":
		return "go+ca-bundle"
	case name == "infer-gomaxprocs1":
		return "go+GOMAXPROCS=1"
	}
	return "go"
}

// colds measures runs cold starts per function, interleaved round by round
// so that every function sees the same machine load.
func (b *bench) colds() error {
	names := b.svc.FunctionNames()
	type acc struct {
		init, first []time.Duration
		rss         []int64
		fnErrs      int
	}
	accs := map[string]*acc{}
	for _, n := range names {
		accs[n] = &acc{}
		// One untimed start: page cache, Python bytecode, Node's module cache.
		_ = b.svc.Recycle(n)
		if _, err := b.svc.InvokeFunction(context.Background(), lambdaemu.InvokeInput{Function: n, Payload: b.payloadFor(n)}); err != nil {
			return fmt.Errorf("first invocation of %s: %w", n, err)
		}
	}
	for round := range b.runs {
		for i := range names {
			n := names[(i+round)%len(names)]
			if err := b.svc.Recycle(n); err != nil {
				return err
			}
			start := time.Now()
			out, err := b.svc.InvokeFunction(context.Background(), lambdaemu.InvokeInput{Function: n, Payload: b.payloadFor(n)})
			first := time.Since(start)
			if err != nil {
				return fmt.Errorf("cold invocation of %s: %w", n, err)
			}
			if !out.Cold {
				return fmt.Errorf("invocation of %s after Recycle was warm", n)
			}
			a := accs[n]
			a.init = append(a.init, out.InitDuration)
			a.first = append(a.first, first)
			if out.FunctionError != nil {
				a.fnErrs++
				if n == "infer" || n == "floor" || strings.HasPrefix(n, "peer-") {
					return fmt.Errorf("cold invocation of %s failed: %s", n, out.Payload)
				}
			}
			if kib, err := harness.ChildPeakRSS("/proc", os.Getpid(), n); err == nil {
				a.rss = append(a.rss, kib)
			} else {
				b.res.Errors["rss "+n]++
			}
		}
		b.logf("cold round %d/%d", round+1, b.runs)
	}
	for _, n := range names {
		a := accs[n]
		sort.Slice(a.rss, func(i, j int) bool { return a.rss[i] < a.rss[j] })
		row := harness.ColdRow{Name: n, Kind: kindOf(n), Init: harness.Summarize(a.init), FirstResponse: harness.Summarize(a.first), FunctionErrors: a.fnErrs}
		if len(a.rss) > 0 {
			row.PeakRSSKiBP50, row.PeakRSSKiBMax = a.rss[len(a.rss)/2], a.rss[len(a.rss)-1]
		}
		b.res.Cold = append(b.res.Cold, row)
	}
	return nil
}

// invoker is one way of getting a prediction.
type invoker func(ctx context.Context) error

func (b *bench) lambdaInvoker(name string) invoker {
	payload := b.payloads["infer"]
	return func(ctx context.Context) error {
		// A sampled trace, as API Gateway with tracing passes on: the
		// X-Ray variant then records and emits its subsegments (to the
		// daemon address, UDP on loopback) as in Lambda.
		out, err := b.svc.InvokeFunction(ctx, lambdaemu.InvokeInput{Function: name, Payload: payload, TraceID: sampledTraceID()})
		if err != nil {
			return err
		}
		if out.FunctionError != nil {
			return fmt.Errorf("%s: function error %s", name, out.Payload)
		}
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(out.Payload, &resp); err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("%s: answer %s", name, out.Payload)
		}
		return nil
	}
}

var traceSeq atomic.Int64

func sampledTraceID() string {
	n := traceSeq.Add(1)
	return fmt.Sprintf("Root=1-%08x-%024x;Parent=%016x;Sampled=1", time.Now().Unix(), n, n)
}

// directInvoker POSTs the same CSV straight to the fake endpoint with a
// keep-alive client: the baseline the proxy adds latency to.
func (b *bench) directInvoker() (invoker, error) {
	var ev struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(b.payloads["infer"], &ev); err != nil {
		return nil, fmt.Errorf("infer event: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	url := b.fake.URL() + "/endpoints/bench/invocations"
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(ev.Body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "text/csv")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("direct: status %d", resp.StatusCode)
		}
		return nil
	}, nil
}

func (b *bench) targets() ([]string, map[string]invoker, error) {
	direct, err := b.directInvoker()
	if err != nil {
		return nil, nil, err
	}
	names := []string{"direct", "floor", "infer", "infer-xray", "infer-gomaxprocs1"}
	inv := map[string]invoker{"direct": direct}
	for _, n := range []string{"peer-python", "peer-node"} {
		if contains(b.svc.FunctionNames(), n) {
			names = append(names, n)
		}
	}
	for _, n := range names[1:] {
		inv[n] = b.lambdaInvoker(n)
	}
	return names, inv, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// latencies measures one request at a time per target, in two interleaved
// halves so that drift in machine load hits every target alike.
func (b *bench) latencies() error {
	names, inv, err := b.targets()
	if err != nil {
		return err
	}
	ctx := context.Background()
	samples := map[string][]time.Duration{}
	before := b.fake.Invocations.Load()
	tracedBefore := b.fake.Traced.Load()
	for half := range 2 {
		for _, n := range names {
			for range 50 { // warm: connections, JIT, caches
				if err := inv[n](ctx); err != nil {
					return fmt.Errorf("warm-up of %s: %w", n, err)
				}
			}
			if half == 0 && n == "infer" {
				before, tracedBefore = b.fake.Invocations.Load(), b.fake.Traced.Load()
			}
			for range b.latencyN / 2 {
				start := time.Now()
				if err := inv[n](ctx); err != nil {
					return fmt.Errorf("latency of %s: %w", n, err)
				}
				samples[n] = append(samples[n], time.Since(start))
			}
			if half == 0 && n == "infer" {
				b.res.Trace = harness.TraceCheck{Invocations: b.fake.Invocations.Load() - before, Traced: b.fake.Traced.Load() - tracedBefore}
			}
			b.logf("latency %s (half %d) done", n, half+1)
		}
	}
	for _, n := range names {
		b.res.Latency = append(b.res.Latency, harness.LatencyRow{Name: n, Latency: harness.Summarize(samples[n])})
	}
	return nil
}

// throughputs runs Concurrency callers per target for the set duration.
func (b *bench) throughputs() {
	names, inv, err := b.targets()
	if err != nil {
		b.res.Notes = append(b.res.Notes, "throughput not measured: "+err.Error())
		return
	}
	for _, n := range names {
		if n == "infer-xray" {
			continue
		}
		// Warm Concurrency processes first (cold starts are measured above).
		var wg sync.WaitGroup
		for range b.conc {
			wg.Add(1)
			go func() { defer wg.Done(); _ = inv[n](context.Background()) }()
		}
		wg.Wait()
		var ok, failed atomic.Int64
		cpuBefore, _, cpuErr := harness.ChildCPUTicks("/proc", os.Getpid(), n)
		ctx, cancel := context.WithTimeout(context.Background(), b.tputDur)
		start := time.Now()
		for range b.conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if err := inv[n](context.Background()); err != nil {
						failed.Add(1)
						continue
					}
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		cancel()
		secs := time.Since(start).Seconds()
		row := harness.ThroughputRow{Name: n, Requests: ok.Load(), Errors: failed.Load(), Seconds: secs, PerSec: float64(ok.Load()) / secs}
		if cpuAfter, procs, err := harness.ChildCPUTicks("/proc", os.Getpid(), n); n != "direct" && cpuErr == nil && err == nil && ok.Load() > 0 {
			// /proc counts in USER_HZ, 100 per second on Linux.
			row.CPUMsPerReq = float64(cpuAfter-cpuBefore) * 10 / float64(ok.Load())
			row.Processes = procs
		}
		b.res.Throughput = append(b.res.Throughput, row)
		b.logf("throughput %s: %.0f/s", n, float64(ok.Load())/secs)
	}
}

// shim measures the exec shim's own cost: /bin/true run directly and
// through the shim (one Go runtime start plus an execve).
func (b *bench) shim() error {
	bin := filepath.Join(b.tmp, "host", "execshim")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./benchmarks/peers/execshim")
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build execshim: %w\n%s", err, out)
	}
	trueBin, err := exec.LookPath("true")
	if err != nil {
		return fmt.Errorf("shim cost: %w", err)
	}
	var direct, through []time.Duration
	for range b.runs {
		for _, viaShim := range []bool{false, true} {
			c := exec.Command(trueBin)
			if viaShim {
				c = exec.Command(bin)
				c.Env = []string{"PEER_EXEC=" + trueBin}
			}
			start := time.Now()
			if err := c.Run(); err != nil {
				return fmt.Errorf("shim cost: %w", err)
			}
			if viaShim {
				through = append(through, time.Since(start))
			} else {
				direct = append(direct, time.Since(start))
			}
		}
	}
	b.res.Shim = harness.ShimCost{Direct: harness.Summarize(direct), Through: harness.Summarize(through)}
	return nil
}
