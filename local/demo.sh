#!/usr/bin/env bash
# make demo: start the local stack, load the demo shop database, migrate it with
# spark-submit into dynalite, print the report. KEEP_STACK=1 leaves the servers running.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

local/stack.sh start all
[[ "${KEEP_STACK:-0}" == 1 ]] || trap 'local/stack.sh stop all' EXIT

"$M2D_VENV/bin/python" local/demo_data.py --database shop --port "$M2D_MYSQL_PORT"
set +e
"$M2D_VENV/bin/spark-submit" --master "local[*]" --jars "$M2D_JDBC_JAR" \
  jobs/migrate.py --conf conf/examples/local.json --database shop \
  --mysql-port "$M2D_MYSQL_PORT" --dynamodb-endpoint "http://127.0.0.1:$M2D_DYNAMO_PORT" \
  --report .stack/demo-report.json --rejects .stack/rejects --state .stack/state
code=$?
set -e
echo "demo: job exit code $code; JSON report at .stack/demo-report.json"
exit $code
