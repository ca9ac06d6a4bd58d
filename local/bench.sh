#!/usr/bin/env bash
# make bench: a fresh local stack on its own ports, the benchmark, then stop.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
export M2D_STACK_DIR="$REPO/.stack/bench" M2D_MYSQL_PORT="${M2D_BENCH_MYSQL_PORT:-33306}" \
       M2D_DYNAMO_PORT="${M2D_BENCH_DYNAMO_PORT:-38000}"
local/stack.sh start all
trap 'local/stack.sh stop all' EXIT
"$M2D_VENV/bin/python" bench/bench.py "$@"
