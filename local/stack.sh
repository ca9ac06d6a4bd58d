#!/usr/bin/env bash
# Starts and stops the local stack: MariaDB (throw-away datadir), dynalite, and
# optionally a Spark standalone master + worker. No systemd, loopback only.
#   local/stack.sh start|stop|status [mariadb|dynalite|spark|all]
#   local/stack.sh restart mariadb     (keeps its data and binlog)
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
STACK_DIR="${M2D_STACK_DIR:-$REPO/.stack}"
MYSQL_PORT="${M2D_MYSQL_PORT:-13306}"
DYNAMO_PORT="${M2D_DYNAMO_PORT:-18000}"
SPARK_PORT="${M2D_SPARK_PORT:-17077}"
VENV="${M2D_VENV:-$REPO/.venv}"

mkdir -p "$STACK_DIR"

wait_for_port() {  # port, name, seconds
  local port=$1 name=$2 seconds=$3 i
  for ((i = 0; i < seconds * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "stack: $name did not open 127.0.0.1:$port within ${seconds}s" >&2
  return 1
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pidfile() {  # pidfile, name, [signal]
  local pidfile=$1 name=$2 signal=${3:-TERM} i
  if pid_alive "$pidfile"; then
    kill "-$signal" "$(cat "$pidfile")" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do pid_alive "$pidfile" || break; sleep 0.1; done
    if pid_alive "$pidfile"; then kill -KILL "$(cat "$pidfile")" 2>/dev/null || true; fi
    echo "stack: stopped $name"
  fi
  rm -f "$pidfile"
}

start_mariadb() {
  local dir="$STACK_DIR/mariadb"
  if pid_alive "$dir/mariadbd.pid"; then echo "stack: mariadb already running on $MYSQL_PORT"; return; fi
  rm -rf "$dir" && mkdir -p "$dir/data" "$dir/tmp"
  # Row-based binlog for catch-up (M2D_MYSQL_BINLOG=0: a server without one, for a test).
  local binlog="--log-bin=$dir/binlog --server-id=1 --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL"
  [[ "${M2D_MYSQL_BINLOG:-1}" == 1 ]] || binlog=""
  # Its own tmpdir here too: two installs sharing /tmp can take each other's temporary tables.
  mariadb-install-db --user=root --datadir="$dir/data" --tmpdir="$dir/tmp" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1
  echo "$binlog ${M2D_MYSQL_ARGS:-}" >"$dir/server-args"
  launch_mariadb
  # The test password is throw-away and local; it reaches the job only through MYSQL_PASSWORD.
  mariadb --socket="$dir/mysql.sock" -uroot \
    -e "ALTER USER 'root'@'localhost' IDENTIFIED BY '${MYSQL_PASSWORD:-m2d-local-pw}';
        CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '${MYSQL_PASSWORD:-m2d-local-pw}';
        GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
  echo "stack: mariadb on 127.0.0.1:$MYSQL_PORT (socket $dir/mysql.sock)"
}

launch_mariadb() {  # the server on its existing data dir, with the arguments it was created with
  local dir="$STACK_DIR/mariadb"
  # A throw-away server: a commit reaches the OS, not the disk (a killed server loses nothing,
  # only a machine crash would), and pages are written once.
  # shellcheck disable=SC2046
  mkdir -p "$dir/tmp"  # its own temporary files, apart from other servers and from /tmp
  mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$dir/mysql.sock" --tmpdir="$dir/tmp" \
    --port="$MYSQL_PORT" --bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" \
    --log-error="$dir/error.log" --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=512M --max-allowed-packet=64M \
    --innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0 \
    $(cat "$dir/server-args") >/dev/null 2>&1 &
  wait_for_port "$MYSQL_PORT" mariadb 30
}

start_dynalite() {
  local dir="$STACK_DIR/dynalite"
  if pid_alive "$dir/dynalite.pid"; then echo "stack: dynalite already running on $DYNAMO_PORT"; return; fi
  mkdir -p "$dir"
  local cli="${M2D_NPM_DIR:-$REPO/.stack/npm}/node_modules/dynalite/cli.js"
  [[ -f "$cli" ]] || { echo "stack: dynalite is not installed; run local/setup.sh" >&2; exit 1; }
  node "$REPO/local/dynalite.js" "$cli" --host 127.0.0.1 --port "$DYNAMO_PORT" --createTableMs 50 --deleteTableMs 50 \
    >"$dir/dynalite.log" 2>&1 &
  echo $! >"$dir/dynalite.pid"
  wait_for_port "$DYNAMO_PORT" dynalite 30
  echo "stack: dynalite on http://127.0.0.1:$DYNAMO_PORT"
}

spark_env() {
  export SPARK_HOME="$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
  export SPARK_LOG_DIR="$STACK_DIR/spark/logs" SPARK_PID_DIR="$STACK_DIR/spark/pids"
  export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$VENV/bin/python"
  export SPARK_WORKER_DIR="$STACK_DIR/spark/work"
  mkdir -p "$SPARK_LOG_DIR" "$SPARK_PID_DIR" "$SPARK_WORKER_DIR"
}

start_spark() {
  spark_env
  "$SPARK_HOME/sbin/spark-daemon.sh" start org.apache.spark.deploy.master.Master 1 \
    --host 127.0.0.1 --port "$SPARK_PORT" --webui-port "${M2D_SPARK_UI_PORT:-18080}" >/dev/null
  wait_for_port "$SPARK_PORT" spark-master 60
  "$SPARK_HOME/sbin/spark-daemon.sh" start org.apache.spark.deploy.worker.Worker 1 \
    --webui-port "$(( ${M2D_SPARK_UI_PORT:-18080} + 1 ))" --cores 2 --memory 2g "spark://127.0.0.1:$SPARK_PORT" >/dev/null
  echo "stack: spark standalone master spark://127.0.0.1:$SPARK_PORT"
}

stop_spark() {
  [[ -d "$STACK_DIR/spark/pids" ]] || return 0
  spark_env
  "$SPARK_HOME/sbin/spark-daemon.sh" stop org.apache.spark.deploy.worker.Worker 1 >/dev/null 2>&1 || true
  "$SPARK_HOME/sbin/spark-daemon.sh" stop org.apache.spark.deploy.master.Master 1 >/dev/null 2>&1 || true
  echo "stack: stopped spark"
}

status() {
  pid_alive "$STACK_DIR/mariadb/mariadbd.pid" && echo "mariadb: up 127.0.0.1:$MYSQL_PORT" || echo "mariadb: down"
  pid_alive "$STACK_DIR/dynalite/dynalite.pid" && echo "dynalite: up 127.0.0.1:$DYNAMO_PORT" || echo "dynalite: down"
}

action=${1:-status}
what=${2:-all}
case "$action:$what" in
  start:mariadb) start_mariadb ;;
  start:dynalite) start_dynalite ;;
  start:spark) start_spark ;;
  start:all) start_mariadb; start_dynalite ;;
  stop:mariadb) stop_pidfile "$STACK_DIR/mariadb/mariadbd.pid" mariadb ;;
  restart:mariadb)  # the same data and binlog: a server restarted under a running job
    stop_pidfile "$STACK_DIR/mariadb/mariadbd.pid" mariadb
    launch_mariadb ;;
  stop:dynalite) stop_pidfile "$STACK_DIR/dynalite/dynalite.pid" dynalite ;;
  stop:spark) stop_spark ;;
  stop:all)
    stop_spark
    stop_pidfile "$STACK_DIR/dynalite/dynalite.pid" dynalite
    stop_pidfile "$STACK_DIR/mariadb/mariadbd.pid" mariadb ;;
  status:*) status ;;
  *) echo "usage: $0 start|stop|status [mariadb|dynalite|spark|all] | restart mariadb" >&2; exit 2 ;;
esac
