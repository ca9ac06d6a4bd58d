#!/usr/bin/env bash
# make test: every test. The end-to-end fixtures start MariaDB, dynalite and a Spark
# standalone cluster on their own ports (.stack/test) and stop them; the trap makes
# sure nothing is left running if pytest itself dies.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
cleanup() {
  M2D_STACK_DIR="$REPO/.stack/test" M2D_SPARK_PORT="${M2D_TEST_SPARK_PORT:-27077}" \
    local/stack.sh stop all >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$M2D_VENV/bin/python" -m pytest -q -p no:cacheprovider "${@:-tests}"
