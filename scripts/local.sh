#!/usr/bin/env bash
# make local: the whole pipeline on the local cloud (no Docker, no AWS
# account), printed as a timeline. Extra arguments go to `localcloud demo`
# (e.g. `scripts/local.sh --verbose` streams every function's logs).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import xgboost' 2>/dev/null; then
  echo "make local: the local SageMaker trains with Debian's python3-xgboost (XGBoost 1.7, as SageMaker's built-in 1.7-1 image)," >&2
  echo "but /usr/bin/python3 cannot import xgboost. Install it: sudo apt-get install -y python3-xgboost (make check-tools does it as root)." >&2
  exit 1
fi
if ! python3 -c 'import boto3' 2>/dev/null; then
  echo "make local: the Glue job (scripts/prepare.py) needs boto3 for python3 on PATH: pip install boto3" >&2
  exit 1
fi
# The state (and the functions' build cache) lives in .localcloud/demo; every
# run starts from an empty state but reuses the builds.
exec go run ./cmd/localcloud demo --state-dir .localcloud/demo --failure-path "$@"
