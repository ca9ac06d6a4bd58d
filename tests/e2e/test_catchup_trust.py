"""Each table catches up from its own applied position (issue 18): two databases in one working
folder, a DDL on one table while the others go on, the reload of that table alone, rejects
named with exit 3, and a follower that applies a few changes within its delay. Each ends with
--verify-only and the oracle equal to the source."""

import contextlib
import threading
import time

from tests.e2e.stack import TABLE_WAIT, canonical, dynamo_items, present, run_job, source_rows, state_entry


def assert_equal(stack, database, table, target):
    synthesized = ("_row_id", "_sort_key")  # the oracle compares the source's own columns
    items = [{k: v for k, v in i.items() if k not in synthesized} for i in dynamo_items(stack.dynamodb(), target)]
    assert canonical(items) == canonical(present(r) for r in source_rows(stack, database, table)), target


def drop_targets(stack, *targets):
    client = stack.dynamodb()
    for target in targets:
        if target in client.list_tables(Limit=100)["TableNames"]:
            with contextlib.suppress(client.exceptions.ResourceNotFoundException):  # listed while being deleted
                client.delete_table(TableName=target)
            client.get_waiter("table_not_exists").wait(TableName=target, WaiterConfig=TABLE_WAIT)


def execute(stack, database, *statements):
    with stack.connect(database).cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def test_the_runbook_two_databases_one_folder_a_ddl_and_its_reload(stack, tmp_path):
    """Defects 1 and 3: one working folder (one state), two databases loaded one after the other,
    catch-ups from the state; a DDL on r1 marks r1 alone, r2 keeps catching up; r1's reload
    continues from its own position."""
    drop_targets(stack, "sa_a", "sb_r1", "sb_r2")
    stack.fresh_database(
        "sa", "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20))", rows={"a": [(i, "a0") for i in range(10)]}
    )
    stack.fresh_database(
        "sb",
        "CREATE TABLE r1 (id INT PRIMARY KEY, v VARCHAR(20))",
        "CREATE TABLE r2 (id INT PRIMARY KEY, v VARCHAR(20))",
        rows={"r1": [(i, "r1-0") for i in range(10)], "r2": [(i, "r2-0") for i in range(10)]},
    )
    assert run_job(stack, ["--database", "sa", "--no-verify"], tmp_path).code == 0
    assert run_job(stack, ["--database", "sb", "--no-verify"], tmp_path).code == 0
    execute(stack, "sa", "UPDATE a SET v = 'a1'")
    execute(stack, "sb", "UPDATE r2 SET v = 'r2-1'")

    first = run_job(stack, ["--database", "sa", "--catch-up"], tmp_path)
    assert first.code == 0, first.output[-3000:]
    second = run_job(stack, ["--database", "sb", "--catch-up"], tmp_path)  # sa's position must not move sb
    assert second.code == 0, second.output[-3000:]
    assert_equal(stack, "sa", "a", "sa_a")
    assert_equal(stack, "sb", "r2", "sb_r2")

    execute(stack, "sb", "UPDATE r2 SET v = 'r2-2' WHERE id < 5", "ALTER TABLE r1 ADD COLUMN extra INT DEFAULT 7")
    execute(stack, "sb", "UPDATE r2 SET v = 'r2-3' WHERE id >= 5")
    stopped = run_job(stack, ["--database", "sb", "--catch-up"], tmp_path)
    assert stopped.code == 1, stopped.output[-3000:]
    assert stopped.table("sb.r1")["status"] == "needs reload"
    assert stopped.table("sb.r2")["status"] == "caught up"
    assert_equal(stack, "sb", "r2", "sb_r2")  # changes after the DDL reached r2

    execute(stack, "sb", "UPDATE r2 SET v = 'r2-4' WHERE id = 3")
    reload = run_job(stack, ["--database", "sb", "--tables", "r1", "--no-verify"], tmp_path)
    assert reload.code == 0, reload.output[-3000:]
    assert state_entry(str(tmp_path / "mysql2dynamodb-state"), "sb", "r1").get("catch_up_status") is None
    execute(stack, "sb", "UPDATE r2 SET v = 'r2-5' WHERE id = 4", "UPDATE r1 SET v = 'r1-after' WHERE id = 1")
    final = run_job(stack, ["--database", "sb", "--catch-up"], tmp_path)
    assert final.code == 0, final.output[-3000:]
    for table in ("r1", "r2"):
        assert_equal(stack, "sb", table, f"sb_{table}")
    check = run_job(stack, ["--database", "sb", "--verify-only"], tmp_path)
    assert check.code == 0, check.output[-3000:]
    assert_equal(stack, "sa", "a", "sa_a")


def test_a_row_grown_past_the_item_limit_is_rejected_named_and_exits_3(stack, tmp_path):
    """Defect 7: the old item goes, the new one is rejected, the run says where and exits 3."""
    drop_targets(stack, "grow_cu_t")
    stack.fresh_database(
        "grow_cu", "CREATE TABLE t (id INT PRIMARY KEY, body MEDIUMTEXT)", rows={"t": [(1, "small"), (2, "small")]}
    )
    load = str(tmp_path / "load.json")
    assert run_job(stack, ["--database", "grow_cu", "--no-verify", "--report", load], tmp_path).code == 0
    execute(stack, "grow_cu", "UPDATE t SET body = REPEAT('x', 500000) WHERE id = 2")
    run = run_job(stack, ["--database", "grow_cu", "--catch-up", "--from-report", load], tmp_path)
    assert run.code == 3, run.output[-3000:]
    table = run.table("grow_cu.t")
    assert table["rejected"] == 1 and table["rejects_path"].endswith("catch-up")
    assert f"rejects {table['source']}: 1 row(s) in {table['rejects_path']}" in run.output
    ids = {i["id"] for i in dynamo_items(stack.dynamodb(), "grow_cu_t")}
    assert ids == {"1"}


def test_a_follower_applies_a_few_changes_while_it_still_runs(stack, tmp_path):
    """Defect 6: single-row changes (far below batch_rows) are applied within max_delay_seconds,
    one after the other, while the follower still runs; the order of the events decides."""
    drop_targets(stack, "few_cu_t")
    stack.fresh_database(
        "few_cu", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))", rows={"t": [(i, "0") for i in range(20)]}
    )
    load = str(tmp_path / "load.json")
    assert run_job(stack, ["--database", "few_cu", "--no-verify", "--report", load], tmp_path).code == 0
    follower = {}

    def follow():
        args = ["--database", "few_cu", "--catch-up", "--from-report", load, "--follow", "--max-seconds", "9"]
        follower["run"] = run_job(stack, args, tmp_path, spawn=True)

    thread = threading.Thread(target=follow)
    thread.start()
    client = stack.dynamodb()

    def applied_while_following(row: int) -> bool:
        """Change one row, then wait for its item while the follower runs: a follower that holds
        changes back until it stops applies the first at its end, and the second never."""
        execute(stack, "few_cu", f"UPDATE t SET v = 'followed' WHERE id = {row}")
        while thread.is_alive():
            if client.get_item(TableName="few_cu_t", Key={"id": {"S": str(row)}})["Item"]["v"]["S"] == "followed":
                return True
            time.sleep(0.2)
        return False

    time.sleep(3)  # the follower is starting (if not yet reading, the change comes first in its stream)
    first, second = applied_while_following(4), applied_while_following(5)
    thread.join()
    assert follower["run"].code == 0, follower["run"].output[-3000:]
    assert first and second, "changes waited for the follower to end"
    assert_equal(stack, "few_cu", "t", "few_cu_t")


def test_keys_and_contents_are_matched_as_their_exact_text(stack, tmp_path):
    """Defects 11 and 5 (keyless): keys a case-insensitive comparison would fold, keyless rows
    equal under the collation but not byte for byte ('Bob'/'bob', 'a'/'a ')."""
    drop_targets(stack, "exact_cu_kb", "exact_cu_nk", "exact_cu_sp")
    stack.fresh_database(
        "exact_cu",
        "CREATE TABLE kb (k VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, v INT)",
        "CREATE TABLE nk (name VARCHAR(10))",
        "CREATE TABLE sp (s VARCHAR(5))",
        rows={"kb": [("abc", 1), ("ABC", 2), ("x", 3)], "nk": [("Bob",), ("bob",)], "sp": [("a",), ("a ",), ("a ",)]},
    )
    changes = [
        "DELETE FROM kb WHERE k IN ('abc', 'ABC')",
        "DELETE FROM nk WHERE BINARY name = 'Bob'",
        "DELETE FROM sp WHERE BINARY s = 'a'",
    ]
    load_change_and_catch_up(stack, tmp_path, "exact_cu", ("kb", "nk", "sp"), changes)


def load_change_and_catch_up(stack, tmp_path, database, tables, changes):
    """Load, run the changes at the source, catch up from the load's report: exit 0, every
    table equal to the oracle, and --verify-only agrees."""
    load = str(tmp_path / "load.json")
    assert run_job(stack, ["--database", database, "--no-verify", "--report", load], tmp_path).code == 0
    execute(stack, database, *changes)
    run = run_job(stack, ["--database", database, "--catch-up", "--from-report", load], tmp_path)
    assert run.code == 0, run.output[-3000:]
    for table in tables:
        assert_equal(stack, database, table, f"{database}_{table}")
    check = run_job(stack, ["--database", database, "--verify-only"], tmp_path)
    assert check.code == 0, check.output[-3000:]


def test_statements_with_no_row_events_mark_exactly_their_tables(stack, tmp_path):
    """Defect 4: TRUNCATE without TABLE, ALTER ONLINE / IGNORE, DROP INDEX ... ON, a `db` . `t`
    name, a change logged as a statement: each marks its table; an ALTER of an excluded table
    whose name extends a migrated one marks nothing."""
    names = ["tr", "al", "ig", "di", "qn", "st", "t"]
    drop_targets(stack, *[f"stmt_cu_{n}" for n in names])
    stack.fresh_database(
        "stmt_cu",
        *[f"CREATE TABLE {n} (id INT PRIMARY KEY, v VARCHAR(10), KEY v_index (v))" for n in names],
        "CREATE TABLE t_x (id INT PRIMARY KEY)",
        rows={n: [(i, f"v{i % 3}") for i in range(6)] for n in names},
    )
    load = str(tmp_path / "load.json")
    args = ["--database", "stmt_cu", "--exclude", "t_x"]
    assert run_job(stack, [*args, "--no-verify", "--report", load], tmp_path).code == 0
    with stack.connect("stmt_cu").cursor() as cur:
        cur.execute("TRUNCATE tr")
        cur.execute("ALTER ONLINE TABLE al ADD COLUMN extra INT")
        cur.execute("ALTER IGNORE TABLE ig MODIFY v VARCHAR(2)")
        cur.execute("DROP INDEX v_index ON di")
        cur.execute("ALTER TABLE `stmt_cu` . `qn` ADD COLUMN extra INT")
        cur.execute("SET SESSION binlog_format = 'STATEMENT'")
        cur.execute("UPDATE st SET v = 'changed'")
        cur.execute("SET SESSION binlog_format = 'ROW'")
        cur.execute("ALTER TABLE t_x ADD COLUMN extra INT")
        cur.execute("UPDATE t SET v = 'after' WHERE id = 1")
    run = run_job(stack, [*args, "--catch-up", "--from-report", load], tmp_path)
    assert run.code == 1, run.output[-3000:]
    statuses = {n: run.table(f"stmt_cu.{n}")["status"] for n in names}
    assert statuses == {**{n: "needs reload" for n in names if n != "t"}, "t": "caught up"}
    assert_equal(stack, "stmt_cu", "t", "stmt_cu_t")


def test_a_key_the_binlog_decodes_lossily_sets_its_table_aside_and_the_others_go_on(stack, tmp_path):
    """Defect 5 (keys): the binlog library gives None for a zero date; that row cannot be
    identified. Its table is named (needs reload), every rerun says so, the other tables go on."""
    drop_targets(stack, "lossy_cu_zd", "lossy_cu_ok")
    stack.fresh_database(
        "lossy_cu",
        "SET SESSION sql_mode = ''",
        "CREATE TABLE zd (d DATE NOT NULL PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO zd VALUES ('0000-00-00', 'zero'), ('2024-01-01', 'one')",
        "CREATE TABLE ok (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO ok VALUES (1, 'a'), (2, 'b')",
    )
    load = str(tmp_path / "load.json")
    assert run_job(stack, ["--database", "lossy_cu", "--no-verify", "--report", load], tmp_path).code == 0
    execute(stack, "lossy_cu", "UPDATE zd SET v = 'changed'", "UPDATE ok SET v = 'changed'")
    run = run_job(stack, ["--database", "lossy_cu", "--catch-up", "--from-report", load], tmp_path)
    assert run.code == 1, run.output[-3000:]
    zd = run.table("lossy_cu.zd")
    assert zd["status"] == "needs reload" and "`lossy_cu`.`zd`" in zd["error"] and "Traceback" not in run.output
    assert run.table("lossy_cu.ok")["status"] == "caught up"
    assert_equal(stack, "lossy_cu", "ok", "lossy_cu_ok")
    again = run_job(stack, ["--database", "lossy_cu", "--catch-up"], tmp_path)  # from the state: named again
    assert again.code == 1 and again.table("lossy_cu.zd")["status"] == "needs reload", again.output[-3000:]


def test_the_re_read_of_a_changed_row_waits_for_a_commit_still_in_progress(stack, tmp_path):
    """The commit-visibility finding. The binlog can carry a transaction before InnoDB has
    committed it (the server writes the binlog, then commits in the engine), so a catch-up may
    re-read a changed row inside that window. Held open here by a writer that has changed the
    row and not committed: a plain read then returns the old row, which a catch-up would write
    and move its position past. The applier's lock-free read waits for a snapshot past the
    position the change is logged at, which only the commit brings, and writes the new row."""
    from jobs.catchup.applier import TableApplier
    from jobs.cli import config_from_args
    from jobs.dynamodb.writer import BatchWriter
    from jobs.run import make_plan, planned_result
    from jobs.table_job import TableJob
    from mapping.binlog import Position

    drop_targets(stack, "vis_cu_t")
    stack.fresh_database("vis_cu", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", rows={"t": [(1, "old")]})
    assert run_job(stack, ["--database", "vis_cu", "--no-verify"], tmp_path).code == 0
    config = config_from_args(["--database", "vis_cu", "--dynamodb-endpoint", stack.endpoint])
    reader, client = stack.connect(), stack.dynamodb()
    plan = make_plan(reader, config).tables[0]
    job = TableJob(plan, planned_result(plan), description=client.describe_table(TableName="vis_cu_t")["Table"])
    applier = TableApplier(reader, client, job, config, 0)

    writer = stack.connect("vis_cu")
    with writer.cursor() as cur:
        cur.execute("START TRANSACTION")
        cur.execute("UPDATE t SET v = 'new' WHERE id = 1")  # changed, its commit not yet done
    with reader.cursor() as cur:
        cur.execute("SELECT v FROM vis_cu.t WHERE id = 1")
        assert cur.fetchone() == ("old",)  # what a plain re-read would write
        cur.execute("SHOW MASTER STATUS")  # the commit will be logged past here: the applier is told so
        file, position = cur.fetchone()[:2]
    commit_logged_past = Position(file, int(position) + 1)
    committer = threading.Timer(0.5, writer.commit)
    committer.start()
    items = BatchWriter(client, plan.target, applier.layout.item_key, applier.limiter, 60)
    with items:  # the catch-up's writer is the caller's: flushed when the caller settles
        applier.apply([{"id": 1, "v": "new"}], lambda a: items, [], None, commit_logged_past)
    committer.join()
    assert dynamo_items(client, "vis_cu_t") == [{"id": "1", "v": "new"}]


def test_sigterm_to_spark_submit_stops_a_follower_gracefully(stack, tmp_path):
    """Defect 8: spark-submit's JVM runs the Python driver as its child and does not pass a
    SIGTERM on; the driver notices its parent is gone and stops as if signalled: the changes it
    read are applied, positions saved, the report written."""
    import os
    import signal
    import subprocess

    from tests.e2e.stack import spark_submit_command

    drop_targets(stack, "term_cu_t")
    stack.fresh_database(
        "term_cu", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", rows={"t": [(i, "v0") for i in range(5)]}
    )
    assert run_job(stack, ["--database", "term_cu", "--no-verify"], tmp_path).code == 0
    report = tmp_path / "follow.json"
    command = spark_submit_command(
        ["--database", "term_cu", "--catch-up", "--follow", "--set", "spark.progress_seconds=1"]
        + ["--mysql-port", str(stack.mysql_port), "--dynamodb-endpoint", stack.endpoint, "--report", str(report)]
    )
    submit = subprocess.Popen(
        command, env=stack.env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = []
        for line in submit.stdout:  # the follower's log (spark-submit prints the driver's on stdout)
            lines.append(line)
            if "catch-up: at " in line:
                break
        assert any("catch-up: at " in line for line in lines), "".join(lines[-30:])
        # YARN in cluster mode fails an application with no SparkContext after 100 s
        assert any("a SparkSession is created for the cluster manager only" in line for line in lines)
        driver = subprocess.run(["pgrep", "-P", str(submit.pid), "-f", "migrate.py"], capture_output=True, text=True)
        driver_pid = int(driver.stdout.split()[0])
        execute(stack, "term_cu", "UPDATE t SET v = 'stopping' WHERE id < 3")
        submit.send_signal(signal.SIGTERM)
        submit.wait(timeout=60)
        for _ in range(600):  # the driver ends on its own, within its poll and a last batch
            if not os.path.exists(f"/proc/{driver_pid}") or _zombie(driver_pid):
                break
            time.sleep(0.1)
        else:
            os.kill(driver_pid, signal.SIGKILL)
            raise AssertionError("the Python driver went on after spark-submit was stopped")
    finally:
        if submit.poll() is None:
            submit.kill()
    import json

    written = json.loads(report.read_text())
    assert written["catch_up"]["stopped"] == "signal", written["catch_up"]
    assert_equal(stack, "term_cu", "t", "term_cu_t")
    state = state_entry(str(tmp_path / "mysql2dynamodb-state"), "term_cu", "t")
    assert state["applied_position"]["binlog_position"] == written["catch_up"]["end"]["binlog_position"]


def _zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] == "Z"


def test_a_resumed_load_keeps_the_position_its_skipped_tables_were_read_at(stack, tmp_path):
    """Defect 2: a table finished by the failed first run is skipped by --resume; a change to it
    between the runs is caught up from the resumed run's report (each table keeps the position
    of the run that read it, not the resumed run's)."""
    drop_targets(stack, "res_cu_done", "res_cu_late")
    stack.fresh_database(
        "res_cu",
        "CREATE TABLE done (id INT PRIMARY KEY, v VARCHAR(10))",
        "CREATE TABLE late (id INT PRIMARY KEY, v VARCHAR(10))",
        rows={"done": [(i, "v0") for i in range(10)], "late": [(i, "v0") for i in range(10)]},
    )
    client = stack.dynamodb()
    client.create_table(  # in the way: a key the job does not expect, so `late` fails
        TableName="res_cu_late",
        KeySchema=[{"AttributeName": "other", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName="res_cu_late", WaiterConfig=TABLE_WAIT)
    first = run_job(stack, ["--database", "res_cu", "--no-verify"], tmp_path)
    assert first.code == 1 and first.table("res_cu.done")["status"] == "completed", first.output[-3000:]
    execute(stack, "res_cu", "UPDATE done SET v = 'between' WHERE id < 4")
    drop_targets(stack, "res_cu_late")
    resumed_report = str(tmp_path / "resumed.json")
    resumed = run_job(stack, ["--database", "res_cu", "--no-verify", "--resume", "--report", resumed_report], tmp_path)
    assert resumed.code == 0, resumed.output[-3000:]
    caught = run_job(stack, ["--database", "res_cu", "--catch-up", "--from-report", resumed_report], tmp_path)
    assert caught.code == 0, caught.output[-3000:]
    for table in ("done", "late"):
        assert_equal(stack, "res_cu", table, f"res_cu_{table}")
    assert run_job(stack, ["--database", "res_cu", "--verify-only"], tmp_path).code == 0


def test_values_the_binlog_decodes_lossily_never_decide_which_item_changes(stack, tmp_path):
    """Defect 5: a YEAR 0000 key is restored exactly and caught up; keyless rows holding a zero
    or partial date, a zero TIMESTAMP, a negative TIME with a fraction, an empty SET or the ENUM
    error value '' are updated and deleted and their items follow (a content the binlog cannot
    name makes the batch compare the table whole)."""
    drop_targets(stack, "inexact_cu_yr", "inexact_cu_nk")
    stack.fresh_database(
        "inexact_cu",
        "SET SESSION sql_mode = ''",
        "CREATE TABLE yr (y YEAR PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO yr VALUES (0, 'zero'), (2024, 'one')",
        "CREATE TABLE nk (d DATE, ts TIMESTAMP NULL, t TIME(3), s SET('a', 'b'), e ENUM('new', 'paid'), v VARCHAR(10))",
        "INSERT INTO nk VALUES ('0000-00-00', NULL, '10:00:00', 'a', 'new', 'x'),"
        " ('2024-00-00', NULL, '00:00:01', 'b', 'new', 'x'),"
        " (NULL, '0000-00-00 00:00:00', '00:00:02', 'a', 'new', 'x'),"
        " ('2024-01-01', NULL, '-01:30:00.250', 'a', 'new', 'x'), ('2024-01-02', NULL, '00:00:03', '', 'new', 'x'),"
        " ('2024-01-03', NULL, '00:00:04', 'a,b', 'bogus', 'x')",
    )
    changes = [
        "SET SESSION sql_mode = ''",
        "UPDATE yr SET v = 'changed'",
        "UPDATE nk SET v = 'changed'",
        "DELETE FROM nk WHERE d = '2024-00-00' OR t < 0",
        "INSERT INTO nk VALUES ('0000-00-00', '0000-00-00 00:00:00', '-00:00:00.5', '', 'bogus', 'new')",
    ]
    load_change_and_catch_up(stack, tmp_path, "inexact_cu", ("yr", "nk"), changes)


def test_a_source_restarted_under_a_follower_ends_it_in_one_line_with_a_report_that_chains(stack, tmp_path):
    """Defect 8: MariaDB restarted while a follower runs: the follower ends with one line (no
    traceback), exit 1, and a report whose catch_up section names where it stopped; a catch-up
    from that report goes on and ends equal."""
    import json
    import subprocess

    from tests.e2e.stack import spark_submit_command

    drop_targets(stack, "lost_cu_t")
    stack.fresh_database(
        "lost_cu", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", rows={"t": [(i, "v0") for i in range(10)]}
    )
    load = str(tmp_path / "load.json")
    assert run_job(stack, ["--database", "lost_cu", "--no-verify", "--report", load], tmp_path).code == 0
    report = tmp_path / "follow.json"
    command = spark_submit_command(
        ["--database", "lost_cu", "--catch-up", "--follow", "--max-seconds", "120"]
        + ["--set", "spark.progress_seconds=1", "--from-report", load]
        + ["--mysql-port", str(stack.mysql_port), "--dynamodb-endpoint", stack.endpoint, "--report", str(report)]
    )
    follower = subprocess.Popen(
        command, env=stack.env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = []
        for line in follower.stdout:
            lines.append(line)
            if "catch-up: at " in line:
                break
        execute(stack, "lost_cu", "UPDATE t SET v = 'before' WHERE id < 3")
        stack.stack_script("restart", "mariadb")
        execute(stack, "lost_cu", "UPDATE t SET v = 'after' WHERE id >= 7")
        rest, _ = follower.communicate(timeout=180)
    finally:
        if follower.poll() is None:
            follower.kill()
    output = "".join(lines) + rest
    assert follower.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    written = json.loads(report.read_text())
    assert written["catch_up"]["stopped"] == "error" and written["catch_up"]["end"], written["catch_up"]
    assert "catch-up stopped at" in written["catch_up"]["error"]
    again = run_job(stack, ["--database", "lost_cu", "--catch-up", "--from-report", str(report)], tmp_path)
    assert again.code == 0, again.output[-3000:]
    assert_equal(stack, "lost_cu", "t", "lost_cu_t")
