#!/usr/bin/env bash
# make local: the whole pipeline on the local cloud.
set -euo pipefail
if [ ! -d cmd/localcloud ]; then
  echo "make local: the local cloud (cmd/localcloud) is not built yet, so the pipeline cannot run on this machine." >&2
  echo "What works today: 'make test' (every test) and 'make build'." >&2
  exit 1
fi
exec go run ./cmd/localcloud demo "$@"
