#!/usr/bin/env bash
# make bench: builds everything, measures the functions side by side with the
# comparison baselines (benchmarks/peers) and writes BENCHMARKS.md.
#
#   scripts/bench.sh              the full run (about 10 minutes on 2 cores)
#   BENCH_QUICK=1 scripts/bench.sh  a short smoke run (few samples; figures not for publishing)
#
# Measurements go to benchmarks/results/ (kept in git next to BENCHMARKS.md;
# the previous go-bench.txt is kept as go-bench.previous.txt for benchstat).
# Everything runs with AWS_CA_BUNDLE unset, as in Lambda: with it the SDK
# parses a whole CA bundle at every cold start. Only 127.0.0.1 is contacted,
# plus the npm registry and the Go module proxy for the tools.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results=benchmarks/results
mkdir -p "$results"

# Pinned tools.
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

ca_bundle=${AWS_CA_BUNDLE:-}
unset AWS_CA_BUNDLE

if [ -n "${BENCH_QUICK:-}" ]; then
  runs=5 latency=200 tput=2s count=2 local_timeout=120
else
  runs=${BENCH_RUNS:-40} latency=${BENCH_LATENCY_REQUESTS:-2000} tput=${BENCH_THROUGHPUT:-8s} count=6 local_timeout=900
fi

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
die() { echo "bench: $*" >&2; exit 1; }

step "tools"
command -v go >/dev/null || die "go is not installed"
# The Python peer needs a python3 that has boto3 (pyenv's on these machines).
python=""
for candidate in "${BENCH_PYTHON:-}" "$(command -v python3 || true)" /usr/bin/python3; do
  [ -n "$candidate" ] || continue
  if "$candidate" -c 'import boto3' 2>/dev/null; then
    python=$("$candidate" -c 'import sys; print(sys.executable)'); break
  fi
done
[ -n "$python" ] || die "no python3 with boto3 found (set BENCH_PYTHON=/path/to/python3): the Python + boto3 peer cannot run"
node=$(command -v node || true)
[ -n "$node" ] || die "node is not installed: the Node + SDK v3 peer cannot run"
command -v npm >/dev/null || die "npm is not installed"
echo "python: $python ($("$python" -c 'import boto3; print("boto3", boto3.__version__)'))"
echo "node:   $node ($("$node" --version))"
# The Node peer's SDK, from the npm registry, into a local folder only.
(cd benchmarks/peers/node && npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null) \
  || die "could not install @aws-sdk/client-sagemaker-runtime from the npm registry"

step "warm-path benchmarks (go test -bench -benchmem, count=$count)"
[ -f "$results/go-bench.txt" ] && mv "$results/go-bench.txt" "$results/go-bench.previous.txt"
go test -run '^$' -bench . -benchmem -count "$count" ./functions/... | tee "$results/go-bench.txt" | grep -E '^(Benchmark|ok|FAIL|pkg:)' || true
grep -q '^FAIL' "$results/go-bench.txt" && die "a benchmark failed (see $results/go-bench.txt)"
(cd /tmp && GOFLAGS= go run "$BENCHSTAT" "$root/$results/go-bench.txt") > "$results/go-benchstat.txt"
rm -f "$results/go-benchstat-vs-previous.txt"
if [ -f "$results/go-bench.previous.txt" ]; then
  (cd /tmp && GOFLAGS= go run "$BENCHSTAT" previous="$root/$results/go-bench.previous.txt" current="$root/$results/go-bench.txt") \
    > "$results/go-benchstat-vs-previous.txt" || true
fi

step "drift over 100,000 records on one core"
GOMAXPROCS=1 taskset -c 0 go test -count=1 -run 'TestReadCaptureMemoryIsFlat|TestReadCaptureSpeed' -v ./shared/drift > "$results/drift-test.txt" \
  || { cat "$results/drift-test.txt"; die "drift tests failed"; }
GOMAXPROCS=1 taskset -c 0 go test -run '^$' -bench 'ReadCapture100k$' -benchmem -cpu 1 -count "$count" ./shared/drift > "$results/drift-bench.txt" \
  || { cat "$results/drift-bench.txt"; die "drift benchmark failed"; }
grep -E '^Benchmark' "$results/drift-bench.txt"

step "Lambda functions and peers behind the local Runtime API (runs=$runs)"
go run ./benchmarks/cmd/lambdabench -root . -out "$results/lambda.json" \
  -python "$python" -node "$node" -ca-bundle "$ca_bundle" \
  -runs "$runs" -latency-requests "$latency" -throughput-duration "$tput"

step "make local (end-to-end pipeline), at most ${local_timeout}s"
set +e
timeout "$local_timeout" make --no-print-directory local </dev/null 2>&1 \
  | while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done > "$results/local.txt"
status=${PIPESTATUS[0]}
set -e
echo "$status" > "$results/local.status"
echo "make local exited with status $status ($(wc -l < "$results/local.txt") lines in $results/local.txt)"

step "BENCHMARKS.md"
go run ./benchmarks/cmd/benchreport -results "$results" -out BENCHMARKS.md
echo "wrote BENCHMARKS.md"
