#!/usr/bin/env bash
# `make bench`: the full benchmark (not part of make test, which runs a smoke-sized one). Writes
# docs/benchmarks.md + .json, docs/nlu-results.md + .json and docs/charts/; runs the independent
# conversation set (whose test writes docs/conversation-results.*); trains the landed DIET model
# into models/bench/ only when its config or data/nlu changed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
if [ -z "${MAKEGOOD_TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 \
   && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  export MAKEGOOD_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test
  echo "==> PostgreSQL found on 127.0.0.1:5432: ledger throughput is measured there too"
fi
# The cluster figures (phase 10) need Redis, RabbitMQ and nginx; without them that phase says why it was skipped.
if [[ " $* " != *" --smoke "* ]]; then
  scripts/cluster-services.sh || echo "==> the cluster figures will be skipped (see above)"
fi
python -m bench.run "$@"
