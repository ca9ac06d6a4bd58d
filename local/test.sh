#!/usr/bin/env bash
# make check / make test. `check`: lint, format, types, the manual (its checks and a strict
# MkDocs build), then the unit and chispa tests (no servers). `e2e`: the end-to-end tests, two pytest-xdist workers, each starting MariaDB,
# dynalite (and a Spark standalone cluster where a test needs one) on its own ports under
# .stack/test-gwN and stopping them; the trap makes sure nothing is left running if pytest
# itself dies. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
tier="${1:-all}"
shift || true

cleanup() {
  local dir
  for dir in "$REPO"/.stack/test-*; do
    [[ -d "$dir" ]] || continue
    M2D_STACK_DIR="$dir" local/stack.sh stop all >/dev/null 2>&1 || true
  done
}

check() {
  echo "check: ruff lint, ruff format, mypy, the manual, unit and chispa tests"
  "$M2D_VENV/bin/ruff" check .
  "$M2D_VENV/bin/ruff" format --check --quiet .
  "$M2D_VENV/bin/mypy"
  "$M2D_VENV/bin/python" local/docs.py check
  "$M2D_VENV/bin/mkdocs" build --strict --quiet -f docs/mkdocs.yml
  "$M2D_VENV/bin/python" -m pytest -q -p no:cacheprovider tests/unit tests/spark "$@"
}

e2e() {
  trap cleanup EXIT
  # Every JVM the tests start (Spark's driver, spark-submit, the standalone cluster) lives for
  # seconds: the quick JIT tier and one GC thread spend less of the two cores on the JVM itself.
  export JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
  "$M2D_VENV/bin/python" -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=20 tests/e2e "$@"
}

case "$tier" in
  check) check "$@" ;;
  e2e) e2e "$@" ;;
  all) check && e2e "$@" ;;
  *) echo "usage: local/test.sh [check|e2e|all] [pytest arguments]" >&2; exit 2 ;;
esac
