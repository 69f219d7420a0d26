#!/usr/bin/env bash
# Prints the local Lambda benchmark in one run: warm invoke latency through
# the Runtime API vs the handler called in-process, and the cold start
# (process start to first response) of every function of template.yaml,
# median and p99. Functions run with a clean Lambda environment: the
# machine's AWS_CA_BUNDLE (which Lambda does not set) never reaches them.
set -euo pipefail
cd "$(dirname "$0")/.."
LAMBDA_BENCH=1 env -u AWS_CA_BUNDLE go test -count=1 -run '^TestBenchReport$' -v ./localcloud/lambdaemu \
  | sed -n '/^local Lambda benchmark/,/^host binaries/p'
echo
echo "Go benchmarks of the same warm path:"
env -u AWS_CA_BUNDLE go test -count=1 -run '^$' -bench 'WarmInvokeRuntimeAPI|InProcessHandler' -benchtime 2000x ./localcloud/lambdaemu \
  | grep -E '^Benchmark'
