"""Never exit 0, or call a table done, while rows are missing (issue 8), end to end on
MariaDB + dynalite + spark-submit. Each test names the defect it reproduces."""

import os
import signal
import subprocess
import threading
import time

import pytest

from tests.e2e.stack import (
    TABLE_WAIT,
    canonical,
    dynamo_items,
    present,
    run_job,
    source_rows,
    spark_submit_command,
    state_entry,
)


def assert_same_rows(stack, database, table, target):
    expected = [present(r) for r in source_rows(stack, database, table)]
    assert canonical(dynamo_items(stack.dynamodb(), target)) == canonical(expected)


def drop_target(stack, target):
    client = stack.dynamodb()
    if target in client.list_tables(Limit=100)["TableNames"]:
        client.delete_table(TableName=target)
        client.get_waiter("table_not_exists").wait(TableName=target, WaiterConfig=TABLE_WAIT)


# ---- 1. two source tables that print alike -------------------------------------------


def test_tables_that_print_alike_land_in_their_own_dynamodb_tables(stack, tmp_path):
    stack.fresh_database(
        "dotdb",
        "CREATE TABLE `b.c` (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO `b.c` SELECT seq, CONCAT('first ', seq) FROM seq_1_to_100",
    )
    stack.fresh_database(
        "dotdb.b",
        "CREATE TABLE c (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO c SELECT seq, CONCAT('second ', seq) FROM seq_1_to_50",
    )
    for target in ("dotdb_b.c", "dotdb.b_c"):
        drop_target(stack, target)
    state = str(tmp_path / "state")
    args = ["--database", "dotdb", "--database", "dotdb.b", "--state", state]
    run = run_job(stack, args, tmp_path)
    assert run.code == 0, run.output[-3000:]
    tables = {(t["database"], t["table"]): t for t in run.report["tables"]}
    assert tables[("dotdb", "b.c")]["target"] == "dotdb_b.c" and tables[("dotdb.b", "c")]["target"] == "dotdb.b_c"
    assert tables[("dotdb", "b.c")]["source"] == "`dotdb`.`b.c`"
    assert_same_rows(stack, "dotdb", "b.c", "dotdb_b.c")
    assert_same_rows(stack, "dotdb.b", "c", "dotdb.b_c")
    assert state_entry(state, "dotdb", "b.c")["status"] == state_entry(state, "dotdb.b", "c")["status"] == "done"
    assert os.path.isdir(tmp_path / "rejects") is False or not os.listdir(tmp_path / "rejects")

    resumed = run_job(stack, args + ["--resume"], tmp_path)
    assert resumed.code == 0, resumed.output[-3000:]
    for t in resumed.report["tables"]:  # done tables are verified again, each against its own target
        assert t["status"] == "already done" and t["verification"]["match"], t


# ---- 4, 5. identifiers with % and braces; bad settings found before connecting ----------


def test_percent_and_brace_names_plan_split_and_migrate(stack, tmp_path):
    stack.fresh_database(
        "pct_db",
        "CREATE TABLE `50%off` (id INT PRIMARY KEY, `100%` VARCHAR(20))",
        # gaps in the key: the split probes the index (once a sample query that crashed on '%o')
        "INSERT INTO `50%off` SELECT seq * 7, CONCAT('%s %d ', seq) FROM seq_1_to_3000",
        "CREATE TABLE `{x}` (`%(k)s` VARCHAR(10) PRIMARY KEY, v INT)",
        "INSERT INTO `{x}` SELECT CONCAT('k%', seq), seq FROM seq_1_to_40",
    )
    for target in ("pct_db_50%off", "pct_db_{x}"):
        drop_target(stack, target)
    dry = run_job(stack, ["--database", "pct_db", "--rows-per-partition", "500", "--dry-run"], tmp_path)
    assert dry.code == 0, dry.output[-3000:]
    assert "index dives" in dry.table("pct_db.50%off")["partitions"]  # the queries that crashed on '%o'
    run = run_job(stack, ["--database", "pct_db", "--rows-per-partition", "500"], tmp_path)
    assert run.code == 0, run.output[-3000:]
    targets = {t["source"]: t["target"] for t in run.report["tables"]}
    assert_same_rows(stack, "pct_db", "50%off", targets["pct_db.50%off"])
    assert_same_rows(stack, "pct_db", "{x}", targets["pct_db.{x}"])
    assert all(t["verification"]["match"] for t in run.report["tables"])


@pytest.mark.parametrize(
    "setting, fragment",
    [
        ("naming.template={foo}", "naming.template '{foo}' may only use {database} and {table}"),
        ("spark.rows_per_partition=Infinity", "spark.rows_per_partition must be a finite number"),
        ("spark.progress_seconds=0", "spark.progress_seconds is 0.0; expected a positive number"),
    ],
)
def test_bad_settings_are_one_line_errors_before_connecting_and_replace_the_report(stack, tmp_path, setting, fragment):
    report = tmp_path / "report.json"
    report.write_text('{"exit_code": 0, "tables": ["an older run"]}')
    # Port 1 on loopback: had the job connected first, the error would name MySQL instead.
    run = run_job(stack, ["--database", "x", "--mysql-port", "1", "--set", setting], tmp_path)
    assert run.code == 1
    errors = [line for line in run.output.splitlines() if line.startswith("mysql2dynamodb: error:")]
    assert len(errors) == 1 and fragment in errors[0], run.output[-2000:]
    assert "Traceback" not in run.output
    assert run.report["exit_code"] == 1 and fragment in run.report["error"] and run.report["tables"] == []


def test_a_failed_plan_replaces_an_older_report(stack, tmp_path):
    (tmp_path / "report.json").write_text('{"exit_code": 0, "tables": ["an older run"]}')
    run = run_job(stack, ["--database", "no_such_database_here"], tmp_path)
    assert run.code == 1
    assert run.report["exit_code"] == 1 and "unknown database 'no_such_database_here'" in run.report["error"]


# ---- 6. keys whose text is not unique -------------------------------------------------


def test_float_keys_that_print_alike_are_counted_as_merged_and_never_exit_0(stack, tmp_path):
    stack.fresh_database(
        "float_db",
        "CREATE TABLE fk (k FLOAT PRIMARY KEY, v INT)",
        "INSERT INTO fk VALUES (1.0000001, 1), (1.0000002, 2), (1.0000004, 3), (2.5, 4)",
    )
    drop_target(stack, "float_db_fk")
    loaded = run_job(stack, ["--database", "float_db", "--no-verify"], tmp_path)
    assert loaded.code == 1, loaded.output[-3000:]
    result = loaded.table("float_db.fk")
    assert any("WARNING key column(s) k are approximate" in n for n in result["notes"])  # the plan's warning
    assert (result["status"], result["rows_read"], result["merged_rows"]) == ("failed", 4, 2)
    assert "2 row(s) merged" in result["error"]

    verified = run_job(stack, ["--database", "float_db"], tmp_path)
    assert verified.code == 1
    result = verified.table("float_db.fk")
    assert result["status"] == "verification failed" and result["verification"]["merged_rows"] == 2
    assert {"key": ["1"], "problem": "3 source rows have this key: merged into one item"} in result["verification"][
        "examples"
    ]


# ---- 7, 8, 12, 14. what is selected, what is skipped and why ----------------------------


def test_nothing_matched_is_an_error_naming_the_filter(stack, tmp_path):
    stack.fresh_database("filter_db", "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
    run = run_job(stack, ["--database", "filter_db", "--tables", "nomatch*"], tmp_path)
    assert run.code == 1
    assert (
        "mysql2dynamodb: error: nothing to migrate: no table of database(s) filter_db matches "
        "--tables 'nomatch*'" in run.output
    )


def test_a_database_of_views_only_exits_non_zero_and_lists_them(stack, tmp_path):
    stack.fresh_database("views_db", "CREATE VIEW v1 AS SELECT 1 AS one")
    run = run_job(stack, ["--database", "views_db"], tmp_path)
    assert run.code == 1
    assert "nothing to migrate: database(s) views_db hold no tables (not migrated: views_db.v1 (VIEW))" in run.output
    assert run.report["not_migrated"][0]["table"] == "v1"


def test_system_versioned_tables_migrate_current_rows_and_every_object_is_accounted_for(stack, tmp_path):
    stack.fresh_database(
        "br[1]",
        "CREATE TABLE hist (id INT PRIMARY KEY, v VARCHAR(20)) WITH SYSTEM VERSIONING",
        "INSERT INTO hist SELECT seq, CONCAT('v', seq) FROM seq_1_to_1000",
        "UPDATE hist SET v = CONCAT(v, ' changed') WHERE id % 3 = 0",
        "DELETE FROM hist WHERE id > 990",
        "CREATE SEQUENCE ticket_numbers",
        "CREATE VIEW recent AS SELECT * FROM hist WHERE id > 900",
    )
    drop_target(stack, "br[1]_hist")
    run = run_job(stack, ["--database", "br[1]"], tmp_path)
    assert run.code == 0, run.output[-3000:]
    result = run.table("br[1].hist")
    assert result["rows_read"] == 990 and result["verification"]["match"]
    assert any("system-versioned" in note for note in result["notes"])
    assert_same_rows(stack, "br[1]", "hist", result["target"])  # current rows only, as SELECT * shows
    skipped = {o["table"]: (o["kind"], o["reason"]) for o in run.report["not_migrated"]}
    assert skipped["recent"][0] == "VIEW" and skipped["ticket_numbers"][0] == "SEQUENCE"
    assert "not migrated br[1].ticket_numbers (SEQUENCE)" in run.stdout
    assert "binlog_file" in run.report["source_position"]  # the test server logs ROW binlogs


def test_source_position_says_why_a_field_is_missing(stack, tmp_path):
    stack.fresh_database("nopriv_db", "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
    with stack.connect().cursor() as cur:
        cur.execute("DROP USER IF EXISTS 'm2d_reader'@'127.0.0.1'")
        cur.execute("CREATE USER 'm2d_reader'@'127.0.0.1' IDENTIFIED BY %s", (stack.password,))
        cur.execute("GRANT SELECT ON `nopriv_db`.* TO 'm2d_reader'@'127.0.0.1'")  # no BINLOG MONITOR
    drop_target(stack, "nopriv_db_t")
    run = run_job(stack, ["--database", "nopriv_db", "--mysql-user", "m2d_reader"], tmp_path)
    assert run.code == 0, run.output[-3000:]
    position = run.report["source_position"]
    assert "binlog_file" not in position
    assert "privilege missing" in position["missing"]["binlog_position"]
    assert "Access denied" in position["missing"]["binlog_position"]


# ---- 2, 3 and the resume matrix ----------------------------------------------------------


@pytest.fixture(scope="module")
def resume_source(stack):
    statements = []
    for name in ("deleted", "recreated", "tampered", "unverified"):
        statements += [
            f"CREATE TABLE {name} (id INT PRIMARY KEY, body VARCHAR(60))",
            f"INSERT INTO {name} SELECT seq, CONCAT('{name} row ', seq) FROM seq_1_to_3000",
        ]
    stack.fresh_database("matrix_db", *statements)
    for name in ("deleted", "recreated", "tampered", "unverified"):
        drop_target(stack, f"matrix_db_{name}")
    return "matrix_db"


def matrix_args(table, state):
    return ["--database", "matrix_db", "--tables", table, "--state", state, "--rows-per-partition", "500"]


def test_resume_after_the_table_was_deleted_loads_it_again(stack, resume_source, tmp_path):
    state = str(tmp_path / "state")
    assert run_job(stack, matrix_args("deleted", state), tmp_path).code == 0
    drop_target(stack, "matrix_db_deleted")
    resumed = run_job(stack, matrix_args("deleted", state) + ["--resume"], tmp_path)
    assert resumed.code == 0, resumed.output[-3000:]
    result = resumed.table("matrix_db.deleted")
    assert result["status"] == "completed" and result["rows_read"] == 3000 and result["table_action"] == "created"
    assert any("not the table an earlier run wrote" in n for n in result["notes"])
    assert_same_rows(stack, "matrix_db", "deleted", "matrix_db_deleted")


def test_resume_into_a_table_recreated_with_the_same_key_does_not_trust_old_partitions(stack, resume_source, tmp_path):
    state = str(tmp_path / "state")
    first = run_job(stack, matrix_args("recreated", state) + ["--no-verify"], tmp_path)
    assert first.code == 0 and len(state_entry(state, "matrix_db", "recreated")["finished"]) >= 2
    drop_target(stack, "matrix_db_recreated")  # e.g. an emulator restarted, or a DBA dropped it
    stack.dynamodb().create_table(
        TableName="matrix_db_recreated",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    resumed = run_job(stack, matrix_args("recreated", state) + ["--resume", "--no-verify"], tmp_path)
    assert resumed.code == 0, resumed.output[-3000:]
    assert resumed.table("matrix_db.recreated")["rows_read"] == 3000
    assert_same_rows(stack, "matrix_db", "recreated", "matrix_db_recreated")


def test_resume_after_a_failed_verification_loads_again_never_already_done(stack, resume_source, tmp_path):
    state = str(tmp_path / "state")
    assert run_job(stack, matrix_args("tampered", state), tmp_path).code == 0
    stack.dynamodb().delete_item(TableName="matrix_db_tampered", Key={"id": {"S": "17"}})
    checked = run_job(stack, matrix_args("tampered", state) + ["--resume"], tmp_path)
    assert checked.code == 1  # a done table is verified again on resume
    assert checked.table("matrix_db.tampered")["status"] == "verification failed"
    assert state_entry(state, "matrix_db", "tampered")["status"] == "check failed"
    again = run_job(stack, matrix_args("tampered", state) + ["--resume"], tmp_path)
    assert again.code == 0, again.output[-3000:]
    result = again.table("matrix_db.tampered")
    assert result["status"] == "completed" and result["rows_read"] == 3000 and result["verification"]["match"]
    assert_same_rows(stack, "matrix_db", "tampered", "matrix_db_tampered")


def test_resume_after_the_driver_died_between_write_and_verification_verifies(stack, resume_source, tmp_path):
    state = str(tmp_path / "state")
    command = spark_submit_command(
        ["--mysql-port", str(stack.mysql_port), "--dynamodb-endpoint", stack.endpoint]
        + matrix_args("unverified", state)
    )
    log = tmp_path / "driver.log"
    with open(log, "w") as output:
        driver = subprocess.Popen(command, env=stack.env, stdout=output, stderr=subprocess.STDOUT, cwd=str(tmp_path))
    status = ""
    while driver.poll() is None and status != "written":  # written: every item is in, verification owed
        status = state_entry(state, "matrix_db", "unverified").get("status", "")
        time.sleep(0.01)
    assert driver.poll() is None, f"the driver ended first ({status!r}): {log.read_text()[-3000:]}"
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait(30)
    assert status == "written", "the driver should die while verification was still owed"
    resumed = run_job(stack, matrix_args("unverified", state) + ["--resume"], tmp_path)
    assert resumed.code == 0, resumed.output[-3000:]
    result = resumed.table("matrix_db.unverified")
    assert result["status"] == "already done" and result["verification"]["match"] and result["rows_read"] == 0
    assert state_entry(state, "matrix_db", "unverified")["status"] == "done"


# ---- 10, 11, 13. reads cut short, and reads kept alive --------------------------------------


@pytest.fixture(scope="module")
def wide_source(stack):
    # ~1.4 KB rows, 10,000 to a partition: 14 MB, far more than the socket buffers hold, so the
    # server is still sending while the reader is held back by the write budget.
    stack.fresh_database(
        "cut_db",
        "CREATE TABLE wide (id INT PRIMARY KEY, pad VARCHAR(1500))",
        "INSERT INTO wide SELECT seq, CONCAT(seq, ' ', REPEAT('x', 1380)) FROM seq_1_to_40000",
        "ANALYZE TABLE wide",
    )
    return "cut_db"


def read_connections(stack):
    with stack.connect().cursor() as cur:
        # This query's own text matches the pattern: leave its connection out; and the plan's
        # sample for the estimate (the driver's connection, `... LIMIT n`), which is no partition.
        cur.execute(
            "SELECT ID, TIME FROM information_schema.PROCESSLIST "
            "WHERE INFO LIKE %s AND INFO NOT LIKE %s AND COMMAND = 'Query' AND ID <> CONNECTION_ID()",
            ("%FROM `cut_db`.`wide`%m2d_src% WHERE %m2d_k0%", "% LIMIT %"),
        )
        return cur.fetchall()


def test_a_read_connection_killed_mid_partition_never_leaves_a_trusted_partition(stack, wide_source, tmp_path):
    drop_target(stack, "cut_db_wide")
    state = str(tmp_path / "state")
    args = [
        "--database",
        "cut_db",
        "--state",
        state,
        "--rows-per-partition",
        "10000",
        "--set",
        "spark.task_slots=2",
        "--set",
        "dynamodb.on_demand_wcu=4000",  # 4 partitions, ~10 s each
        "--set",
        "mysql.fetch_size=100",
    ]  # the driver fetches 100 rows at a time: the server keeps sending
    killed, job_ended = [], threading.Event()

    def killer():
        # Counts, not clocks: with 2 task slots a third partition read starts only after a
        # partition finished, and it has its whole partition (14 MB, far more than the buffers
        # hold) still to send: kill it as soon as it shows.
        seen = []
        while not job_ended.is_set() and not killed:
            for connection_id, _ in read_connections(stack):
                if connection_id not in seen:
                    seen.append(connection_id)
                if len(seen) >= 3 and connection_id == seen[2]:
                    with stack.connect().cursor() as cur:
                        cur.execute(f"KILL CONNECTION {int(connection_id)}")
                    killed.append(connection_id)
                    break
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        first = run_job(stack, args + ["--no-verify"], tmp_path)
    finally:
        job_ended.set()
        thread.join()
    assert killed, f"no read connection was killed: {first.output[-2000:]}"
    assert first.code == 1, first.output[-3000:]
    failed = first.table("cut_db.wide")
    assert failed["status"] == "failed" and "Traceback" not in failed["error"]
    # The report counts what finished before the failure (defect 10), and only that.
    entry = state_entry(state, "cut_db", "wide")
    assert failed["partitions_finished"] >= 1 and failed["partitions_finished"] == len(entry["finished"])
    assert failed["rows_read"] == sum(p["rows"] for p in entry["finished"].values())
    assert failed["items_written"] == failed["rows_read"]

    unpaced = [a if a != "dynamodb.on_demand_wcu=4000" else "dynamodb.on_demand_wcu=100000" for a in args]
    resumed = run_job(stack, unpaced + ["--resume", "--no-verify"], tmp_path)  # the rest, unhurried no more
    assert resumed.code == 0, resumed.output[-3000:]
    result = resumed.table("cut_db.wide")
    assert result["rows_read"] == 40000 - failed["rows_read"]
    assert len({i["id"] for i in dynamo_items(stack.dynamodb(), "cut_db_wide")}) == 40000


def test_strict_server_timeouts_do_not_cut_a_slow_read(stack, wide_source, tmp_path):
    drop_target(stack, "cut_db_wide")
    args = [
        "--database",
        "cut_db",
        "--rows-per-partition",
        "20000",
        "--no-verify",
        "--set",
        "spark.task_slots=2",
        "--set",
        "dynamodb.on_demand_wcu=4000",
        "--set",
        "mysql.fetch_size=100",
        "--set",
        "spark.min_partition_rows=20000",  # two long reads, each slow enough to meet the timeout
    ]
    with stack.connect().cursor() as cur:
        cur.execute("SELECT @@GLOBAL.net_write_timeout, @@GLOBAL.net_read_timeout, @@GLOBAL.wait_timeout")
        saved = cur.fetchone()
        cur.execute("SET GLOBAL net_write_timeout = 2, net_read_timeout = 2, wait_timeout = 2")
    try:
        # Proof the server does drop such a read: our session set to the server's strict value fails.
        cut = run_job(stack, args + ["--set", "mysql.net_write_timeout_seconds=2"], tmp_path)
        run = run_job(stack, args, tmp_path)  # our generous default: the same read goes through
    finally:
        with stack.connect().cursor() as cur:
            cur.execute("SET GLOBAL net_write_timeout = %s, net_read_timeout = %s, wait_timeout = %s", saved)
    assert cut.code == 1
    assert "net_write_timeout" in cut.table("cut_db.wide")["error"]  # the driver's own hint, kept in one line
    assert run.code == 0, run.output[-3000:]
    assert run.table("cut_db.wide")["items_written"] == 40000
