#!/usr/bin/env bash
# Checks that the tools `make test` and `make local` need are present, and
# says exactly what is missing and how to get it. Installs nothing behind the
# user's back except project-local npm tools (see the Makefile) and, when run
# as root on Debian, the python3-xgboost package.
set -u
missing=0
need() { # need <command> <why> <how to install>
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "missing: $1 ($2). Install: $3" >&2
    missing=1
  fi
}
need go "builds and tests the Go code" "Go 1.26 from https://go.dev/dl (or your package manager)"
need python3 "runs the Glue job script and its tests" "apt-get install python3"
need moto_server "independent AWS emulator for integration tests" "pip install 'moto[server]>=5.2'"
need cfn-lint "validates template.yaml" "pip install 'cfn-lint>=1.51'"
need npm "installs asl-validator to validate the state machines" "apt-get install npm (Node 20+)"
need aws "the AWS CLI drives the local cloud in tests" "pip install awscli"
if command -v go >/dev/null 2>&1; then
  v=$(go env GOVERSION | sed 's/^go//')
  major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
  if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 26 ]; }; then
    echo "go $v is too old: go.mod needs Go 1.26 or later" >&2
    missing=1
  fi
fi
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import yaml' >/dev/null 2>&1; then
  echo "missing: PyYAML for python3 (the template tests read template.yaml). Install: pip install pyyaml (cfn-lint brings it)" >&2
  missing=1
fi
# The local cloud trains and serves the real XGBoost 1.7 (the version of
# SageMaker's built-in XGBoost 1.7-1 container) with Debian's python3-xgboost,
# which installs for the system interpreter /usr/bin/python3.
if ! /usr/bin/python3 -c 'import xgboost' >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing python3-xgboost (Debian package, XGBoost 1.7) for the local cloud's SageMaker..." >&2
    if ! { apt-get install -y -q python3-xgboost >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q python3-xgboost >/dev/null 2>&1; }; }; then
      echo "missing: python3-xgboost, and apt-get could not install it. Install: apt-get install python3-xgboost" >&2
      missing=1
    fi
  else
    echo "missing: XGBoost for /usr/bin/python3 (the local cloud trains real models). Install: sudo apt-get install python3-xgboost" >&2
    missing=1
  fi
fi
if [ "$missing" -ne 0 ]; then
  echo "error: install the tools above, then run the command again." >&2
  exit 1
fi
