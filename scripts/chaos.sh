#!/usr/bin/env bash
# Runs the chaos scenario suite (localcloud/chaos) in its full form: every
# scenario under its fault, and each guard-removal run that must break its
# invariant. Prints the report (scenario, fault, invariant, PASS/FAIL,
# evidence) and exits non-zero when a run did not go as expected.
# Each run's state (function logs, queues, SNS outbox, execution
# histories) is kept under <report dir>/chaos/<test name>/, where the
# report's evidence points.
# Usage: scripts/chaos.sh [report file]   (default .localcloud/chaos-report.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
report=$(realpath -m "${1:-.localcloud/chaos-report.txt}")
mkdir -p "$(dirname "$report")"
rm -f "$report"
status=0
AWS_XRAY_CONTEXT_MISSING=IGNORE_ERROR go test -count=1 -timeout 20m ./localcloud/chaos \
  -run 'TestScenarios|TestGuardRemoval' -args -chaos.full -chaos.report="$report" \
  -chaos.keep="$(dirname "$report")/chaos" \
  > "${report%.txt}.log" 2>&1 || status=$?
if [ -s "$report" ]; then
  echo "== chaos report (also in $report; test output in ${report%.txt}.log)"
  cat "$report"
else
  echo "chaos: no report was written; test output:" >&2
  tail -n 60 "${report%.txt}.log" >&2
fi
if [ "$status" -ne 0 ]; then
  echo "chaos: FAILED (go test exit $status); failing runs are marked FAIL above, details in ${report%.txt}.log" >&2
fi
exit "$status"
