"""A cut-over signal one can bet on (issue 28): SAFE and exit 0 only after a fence (the source
read-only), XA transactions in every order, changes the binlog never shows, honest exits and
reports that chain, purged gaps, no lock on the application's rows, one process tree, only
the run's tables decoded. Each ends with the items compared with the source by the oracle
(pymysql text against a consistent Scan), or with the non-zero exit the fault calls for."""

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time

from tests.e2e.stack import VENV, canonical, dynamo_items, present, run_job, source_rows
from tests.e2e.test_catchup_trust import drop_targets, execute

ROWS = 200
SYNTHESIZED = ("_row_id", "_sort_key")


def fresh(stack, name: str, rows: int = ROWS) -> None:
    drop_targets(stack, f"{name}_t", f"{name}_nk")
    stack.fresh_database(
        name,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))",
        "CREATE TABLE nk (x INT, v VARCHAR(40))",  # keyless: items named by content
        rows={"t": [(i, f"v{i}") for i in range(1, rows + 1)], "nk": [(i % 20, f"n{i}") for i in range(50)]},
    )


def load(stack, tmp_path, name: str, *extra: str):
    report = str(tmp_path / f"load-{name}.json")
    run = run_job(stack, ["--database", name, "--no-verify", "--report", report, *extra], tmp_path)
    return run, report


def fresh_and_loaded(stack, tmp_path, name: str) -> str:
    """A fresh database loaded (write mode, no verification); its load report's path."""
    fresh(stack, name)
    loaded, report = load(stack, tmp_path, name)
    assert loaded.code == 0, loaded.output[-3000:]
    return report


def assert_equal(stack, name: str) -> None:
    client = stack.dynamodb()
    for table in ("t", "nk"):
        items = [{k: v for k, v in i.items() if k not in SYNTHESIZED} for i in dynamo_items(client, f"{name}_{table}")]
        assert canonical(items) == canonical(present(r) for r in source_rows(stack, name, table)), table


@contextlib.contextmanager
def fenced_later(stack):
    """Sets read_only back to OFF whatever happens: the worker's server is shared by later tests."""
    try:
        yield lambda: execute(stack, None, "SET GLOBAL read_only = ON")
    finally:
        execute(stack, None, "SET GLOBAL read_only = OFF")


def follow_until_verified(stack, tmp_path, name: str, report: str, *extra: str, seconds: int = 90):
    args = ["--database", name, "--catch-up", "--from-report", report, "--until-verified"]
    args += ["--max-seconds", str(seconds), "--set", "catch_up.verify_rows_per_second=0", *extra]
    return run_job(stack, args, tmp_path)


class LogWatch(logging.Handler):
    """Calls back on the job's log lines that contain a fragment (a count of lines decides)."""

    def __init__(self, fragment: str, callback):
        super().__init__()
        self.fragment, self.callback, self.seen = fragment, callback, 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.fragment in record.getMessage():
            self.seen += 1
            self.callback(self.seen)


@contextlib.contextmanager
def watching(fragment: str, callback):
    handler = LogWatch(fragment, callback)
    logger = logging.getLogger("mysql2dynamodb")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_a_slow_writer_never_gets_safe_only_the_fence_does(stack, tmp_path):
    """Defect 1: a transaction every 6 s (longer than the old quiet period); SAFE only after the
    source is set read-only, and the tables equal the source."""
    name = "co_fence"
    report = fresh_and_loaded(stack, tmp_path, name)
    with fenced_later(stack) as fence:

        def slow_writer():
            for n in range(2):
                execute(stack, name, f"UPDATE t SET v = 'slow {n}' WHERE id = {n + 1}", f"DELETE FROM nk WHERE x = {n}")
                time.sleep(6)
            fence()

        writer = threading.Thread(target=slow_writer)
        writer.start()
        run = follow_until_verified(stack, tmp_path, name, report)
        writer.join()
    assert run.code == 0, run.output[-4000:]
    output = run.output
    assert "SAFE TO CUT OVER" in output and "fence: the source is read-only" in output
    assert output.index("fence: the source is read-only") < output.index("SAFE TO CUT OVER")
    assert run.report["catch_up"]["stopped"] == "verified through the fence"
    assert_equal(stack, name)


def test_xa_prepared_while_following_is_applied_at_its_commit(stack, tmp_path):
    """Defect 2: XA PREPARE, other transactions commit, XA COMMIT 11 s later."""
    name = "co_xa"
    report = fresh_and_loaded(stack, tmp_path, name)
    with fenced_later(stack) as fence:

        def application():
            time.sleep(2)
            xa = stack.connect(name)
            with xa.cursor() as cur:
                cur.execute("XA START 'co1'")
                cur.execute("UPDATE t SET v = 'by xa' WHERE id = 5")
                cur.execute("DELETE FROM t WHERE id = 6")
                cur.execute("INSERT INTO nk VALUES (77, 'by xa')")
                cur.execute("XA END 'co1'")
                cur.execute("XA PREPARE 'co1'")
            execute(stack, name, "UPDATE t SET v = 'meanwhile' WHERE id = 7")
            time.sleep(11)
            execute(stack, name, "UPDATE t SET v = 'later' WHERE id = 8")
            with xa.cursor() as cur:
                cur.execute("XA COMMIT 'co1'")
            xa.close()
            time.sleep(1)
            fence()

        thread = threading.Thread(target=application)
        thread.start()
        run = follow_until_verified(stack, tmp_path, name, report)
        thread.join()
    assert run.code == 0, run.output[-4000:]
    assert_equal(stack, name)
    ids = {i["id"]: i["v"] for i in dynamo_items(stack.dynamodb(), f"{name}_t")}
    assert ids["5"] == "by xa" and "6" not in ids


def test_an_xa_prepared_before_the_load_and_committed_after_its_start(stack, tmp_path):
    """Defect 3: the load does not take its position while an XA is prepared: it waits (and
    with a short wait, refuses in one line), then the catch-up ends equal."""
    name = "co_xa_load"
    fresh(stack, name)
    xa = stack.connect(name)
    with xa.cursor() as cur:
        for statement in ("XA START 'pre'", "UPDATE t SET v = 'xa before' WHERE id = 3", "DELETE FROM t WHERE id = 4"):
            cur.execute(statement)
        cur.execute("XA END 'pre'")
        cur.execute("XA PREPARE 'pre'")
    refused, _ = load(stack, tmp_path, name, "--set", "mysql.prepared_xa_wait_seconds=1")
    assert refused.code == 1, refused.output[-3000:]
    assert "X'707265',X'',1 prepared on the source" in refused.output and "Traceback" not in refused.output

    def commit_later():
        time.sleep(5)
        with xa.cursor() as cur:
            cur.execute("XA COMMIT 'pre'")

    committer = threading.Thread(target=commit_later)
    committer.start()
    loaded, report = load(stack, tmp_path, name)
    committer.join()
    xa.close()
    assert loaded.code == 0, loaded.output[-3000:]
    assert "waiting for 1 prepared XA transaction(s)" in loaded.output
    execute(stack, name, "UPDATE t SET v = 'after' WHERE id = 9")
    caught = run_job(stack, ["--database", name, "--catch-up", "--from-report", report], tmp_path)
    assert caught.code == 0, caught.output[-3000:]
    assert_equal(stack, name)


def test_changes_the_binlog_never_shows_are_found_by_the_background_passes(stack, tmp_path):
    """Defect 4: after the whole comparisons, source rows changed with sql_log_bin = 0 and items
    edited, deleted and invented in DynamoDB, on keys no writer touched: exit 1, each key named."""
    name = "co_unlogged"
    report = fresh_and_loaded(stack, tmp_path, name)
    client = stack.dynamodb()
    planted = threading.Event()
    seen_after: list = []

    def plant(_seen: int) -> None:
        if planted.is_set():
            return
        planted.set()
        conn = stack.connect(name)
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute("UPDATE t SET v = 'unlogged' WHERE id = 10")
            cur.execute("DELETE FROM t WHERE id = 11")
            cur.execute("INSERT INTO t VALUES (1000, 'unlogged')")
        conn.close()
        table = f"{name}_t"
        client.update_item(
            TableName=table,
            Key={"id": {"S": "20"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"S": "edited"}},
        )
        client.delete_item(TableName=table, Key={"id": {"S": "21"}})
        client.put_item(TableName=table, Item={"id": {"S": "2000"}, "v": {"S": "invented"}})

    with fenced_later(stack) as fence:

        def fence_after_a_pass(seen: int) -> None:
            seen_after.append(seen)
            if planted.is_set() and len(seen_after) >= 3:  # every table compared again since the plant
                fence()

        with (
            watching(" compared whole (", lambda seen: plant(seen) if seen >= 2 else None),
            watching(" compared whole again ", fence_after_a_pass),
        ):
            run = follow_until_verified(stack, tmp_path, name, report)
    assert run.code == 1, run.output[-4000:]
    table = run.report["catch_up"]["verification"]["tables"][f"{name}.t"]
    assert table["status"] == "differs" and table["differences"] == 6, table
    assert sorted(e["key"][0] for e in table["examples"]) == ["10", "1000", "11", "20", "2000", "21"]
    assert table["last_whole_pass"]["ended_at"]
    assert not run.report["catch_up"]["verification"]["cut_over"]["safe"]


def python_job(stack, tmp_path, *args: str) -> list:
    """The job as a plain Python process (a catch-up needs no Spark), as a follower runs for hours."""
    return [
        os.path.join(VENV, "bin", "python"),
        "-m",
        "jobs.migrate",
        "--mysql-port",
        str(stack.mysql_port),
        "--dynamodb-endpoint",
        stack.endpoint,
        "--report",
        str(tmp_path / "report.json"),
        *args,
    ]


def start(stack, tmp_path, command, log_name="driver.log"):
    log = open(tmp_path / log_name, "w")  # noqa: SIM115 - closed by the caller's finish()
    process = subprocess.Popen(
        command, env=stack.env, stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path), start_new_session=True
    )
    process.log = log
    return process


def finish(process, timeout=60) -> int:
    try:
        return process.wait(timeout)
    finally:
        process.log.close()


def wait_for(condition, seconds=60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def burst(stack, name: str, transactions: int) -> None:
    with stack.connect(name).cursor() as cur:
        for n in range(transactions):
            cur.execute(f"UPDATE t SET v = 'burst {n} {ROWS}' WHERE id > 0")


def report_of(tmp_path) -> dict:
    return json.loads((tmp_path / "report.json").read_text())


def test_a_one_shot_catch_up_stopped_by_a_signal_exits_1_and_says_it_is_behind(stack, tmp_path):
    """Defect 5 (and 9, a signal to the process group): the report says where it stopped, the
    tables are "stopped behind", exit 1; the rerun finishes equal."""
    name = "co_signal"
    report = fresh_and_loaded(stack, tmp_path, name)
    burst(stack, name, 40)
    slow = ["--set", "dynamodb.on_demand_wcu=400", "--set", "catch_up.batch_rows=200"]
    command = python_job(stack, tmp_path, "--database", name, "--catch-up", "--from-report", report, *slow)
    driver = start(stack, tmp_path, command)
    state = tmp_path / "mysql2dynamodb-state" / "manifest.json"
    assert wait_for(lambda: "applied_position" in (state.read_text() if state.exists() else ""))
    os.killpg(driver.pid, signal.SIGTERM)  # the driver and its binlog reader, as systemd or Ctrl-C would
    code = finish(driver)
    output = (tmp_path / "driver.log").read_text()
    assert code == 1, output[-3000:]
    body = report_of(tmp_path)
    assert body["catch_up"]["stopped"] == "signal" and body["catch_up"]["behind"], body["catch_up"]
    assert {t["status"] for t in body["tables"]} == {"stopped behind"}
    assert "binlog reader ended" not in output and "KeyboardInterrupt" not in output
    rerun = run_job(stack, ["--database", name, "--catch-up", "--from-report", report], tmp_path)
    assert rerun.code == 0, rerun.output[-3000:]
    assert_equal(stack, name)


def test_a_follower_stopped_by_a_signal_at_the_servers_edge_exits_0(stack, tmp_path):
    """Defect 9: SIGINT to the process group (Ctrl-C) is a clean stop, not the reader's death."""
    name = "co_ctrl_c"
    report = fresh_and_loaded(stack, tmp_path, name)
    execute(stack, name, "UPDATE t SET v = 'followed' WHERE id = 1")
    command = python_job(stack, tmp_path, "--database", name, "--catch-up", "--from-report", report, "--follow")
    driver = start(stack, tmp_path, command)
    client = stack.dynamodb()
    applied = wait_for(
        lambda: client.get_item(TableName=f"{name}_t", Key={"id": {"S": "1"}})["Item"]["v"]["S"] == "followed"
    )
    os.killpg(driver.pid, signal.SIGINT)
    code = finish(driver)
    output = (tmp_path / "driver.log").read_text()
    assert applied and code == 0, output[-3000:]
    assert {t["status"] for t in report_of(tmp_path)["tables"]} == {"caught up"}
    assert "KeyboardInterrupt" not in output


def reader_of(pid: int):
    """The binlog reader child of a driver process, or None."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if parent == pid and b"jobs.mysql.binlog_ahead" in cmdline.read():
                        return int(entry)
    return None


def dump_threads(stack) -> int:
    with stack.connect().cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
        return int(cur.fetchone()[0])


def test_the_reader_dies_with_its_parent_and_the_parent_notices_a_dead_reader(stack, tmp_path):
    """Defect 9: a killed reader ends the follower in one line, exit 1; a killed driver leaves no
    reader and no Binlog Dump connection behind."""
    name = "co_tree"
    report = fresh_and_loaded(stack, tmp_path, name)
    command = python_job(stack, tmp_path, "--database", name, "--catch-up", "--from-report", report, "--follow")
    driver = start(stack, tmp_path, command)
    assert wait_for(lambda: reader_of(driver.pid) is not None)
    os.kill(reader_of(driver.pid), signal.SIGKILL)  # as the OOM killer would
    code = finish(driver)
    output = (tmp_path / "driver.log").read_text()
    assert code == 1 and "the binlog reader ended unexpectedly (killed by signal 9)" in output, output[-3000:]
    assert "Traceback" not in output

    before = dump_threads(stack)
    driver = start(stack, tmp_path, command, "driver2.log")
    assert wait_for(lambda: reader_of(driver.pid) is not None and dump_threads(stack) > before)
    reader = reader_of(driver.pid)
    driver.kill()  # SIGKILL of the driver alone
    finish(driver)
    assert wait_for(lambda: not os.path.exists(f"/proc/{reader}"), 10), "the reader outlived its parent"
    assert wait_for(lambda: dump_threads(stack) == before, 30), "a Binlog Dump connection was left open"


def test_reports_chain_even_when_a_catch_up_applied_nothing(stack, tmp_path):
    """Defect 6: the runbook's sequence (a DDL sets a table aside, its reload, a catch-up with
    nothing left to apply, the next catch-up from that report), and the same chain where each
    run has a fresh state folder (another host, a Glue job): the report alone carries the positions."""
    name = "co_chain"
    report = fresh_and_loaded(stack, tmp_path, name)
    execute(stack, name, "ALTER TABLE nk ADD COLUMN extra INT DEFAULT 1")
    aside = run_job(stack, ["--database", name, "--catch-up", "--from-report", report], tmp_path)
    assert aside.code == 1 and aside.table(f"{name}.nk")["status"] == "needs reload", aside.output[-3000:]
    reloaded, report = load(stack, tmp_path, name, "--tables", "nk")
    assert reloaded.code == 0, reloaded.output[-3000:]
    previous = report
    for step in range(3):
        nothing_report = str(tmp_path / f"nothing-{step}.json")
        state = ["--state", str(tmp_path / f"state-{step}")] if step else []  # a fresh state from step 1 on
        args = ["--database", name, "--catch-up", "--from-report", previous, "--report", nothing_report, *state]
        nothing = run_job(stack, args, tmp_path)
        assert nothing.code == 0, (step, nothing.output[-3000:])
        previous = nothing_report
    execute(stack, name, "UPDATE t SET v = 'chained' WHERE id = 2", "UPDATE nk SET v = 'chained' WHERE x = 1")
    args = ["--database", name, "--catch-up", "--from-report", previous, "--state", str(tmp_path / "state-last")]
    chained = run_job(stack, args, tmp_path)
    assert chained.code == 0, chained.output[-3000:]
    assert_equal(stack, name)


def test_a_reload_after_a_purged_position_repairs_rows_deleted_in_the_gap(stack, tmp_path):
    """Defect 7: rows deleted while the position's binlog was purged leave no item behind."""
    name = "co_purged"
    report = fresh_and_loaded(stack, tmp_path, name)
    execute(stack, name, "DELETE FROM t WHERE id < 10", "DELETE FROM nk WHERE x = 3")
    with open(report, encoding="utf-8") as handle:
        loaded_file = json.load(handle)["source_position"]["binlog_file"]

    def purged() -> bool:  # MariaDB keeps a binlog until its checkpoint has moved on
        with stack.connect().cursor() as cur:
            cur.execute("FLUSH BINARY LOGS")
            cur.execute("SHOW MASTER STATUS")
            cur.execute(f"PURGE BINARY LOGS TO '{cur.fetchone()[0]}'")
            cur.execute("SHOW BINARY LOGS")
            return loaded_file not in {row[0] for row in cur.fetchall()}

    assert wait_for(purged, 30)
    refused = run_job(stack, ["--database", name, "--catch-up", "--from-report", report], tmp_path)
    assert refused.code == 1 and "is no longer on the server" in refused.output, refused.output[-3000:]
    assert {t["status"] for t in refused.report["tables"]} == {"needs reload"}
    reloaded = run_job(stack, ["--database", name, "--no-verify"], tmp_path)
    assert reloaded.code == 0, reloaded.output[-3000:]
    caught = run_job(stack, ["--database", name, "--catch-up"], tmp_path)
    assert caught.code == 0, caught.output[-3000:]
    assert_equal(stack, name)


def lock_counters(stack) -> tuple:
    with stack.connect().cursor() as cur:
        cur.execute(
            "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
            "WHERE VARIABLE_NAME IN ('INNODB_ROW_LOCK_WAITS', 'INNODB_DEADLOCKS')"
        )
        values = dict(cur.fetchall())
    return int(values.get("INNODB_ROW_LOCK_WAITS", 0)), int(values.get("INNODB_DEADLOCKS", 0))


def test_the_follower_never_makes_the_application_wait(stack, tmp_path):
    """Defect 8: the application's transactions beside a verifying follower: the server counts
    no row lock wait and no deadlock (one application connection cannot wait for itself)."""
    name = "co_nolock"
    report = fresh_and_loaded(stack, tmp_path, name)
    stop, done = threading.Event(), []

    def application():
        conn = stack.connect(name)
        conn.autocommit(False)
        n = 0
        with conn.cursor() as cur:
            while not stop.is_set():
                n += 1
                cur.execute("UPDATE nk SET v = %s WHERE x = %s LIMIT 1", (f"app {n}", n % 20))
                cur.execute("UPDATE t SET v = %s WHERE id = %s", (f"app {n}", n % 50 + 1))
                time.sleep(0.002)  # the row locks held a moment, as an application's would be
                conn.commit()
        conn.close()
        done.append(n)

    waits_before = lock_counters(stack)
    with fenced_later(stack) as fence:
        app = threading.Thread(target=application)
        app.start()
        threading.Timer(8, lambda: (stop.set(), app.join(), fence())).start()
        run = follow_until_verified(stack, tmp_path, name, report, "--set", "catch_up.batch_rows=20")
        app.join()
    waits_after = lock_counters(stack)
    assert run.code == 0, run.output[-4000:]
    assert done and done[0] > 300
    assert waits_after == waits_before, f"lock waits, deadlocks: {waits_before} -> {waits_after}"
    assert_equal(stack, name)


def test_another_databases_rows_are_not_decoded(stack, tmp_path):
    """Defect 10: one change here, another database's 30,000-row UPDATE in between: the catch-up
    decodes its own row events only."""
    name, other = "co_quiet", "co_busy"
    fresh(stack, name)
    stack.fresh_database(other, "CREATE TABLE big (id INT PRIMARY KEY, v INT)")
    execute(stack, other, "INSERT INTO big SELECT seq, 0 FROM seq_1_to_30000")
    loaded, report = load(stack, tmp_path, name)
    assert loaded.code == 0, loaded.output[-3000:]
    execute(stack, other, "UPDATE big SET v = v + 1")
    execute(stack, name, "UPDATE t SET v = 'quiet' WHERE id = 1")
    execute(stack, other, "UPDATE big SET v = v + 1")
    caught = run_job(stack, ["--database", name, "--catch-up", "--from-report", report], tmp_path)
    assert caught.code == 0, caught.output[-3000:]
    assert caught.report["catch_up"]["row_events_decoded"] == 1, caught.report["catch_up"]
    assert_equal(stack, name)


def test_until_verified_stopped_by_max_seconds_says_so(stack, tmp_path):
    """Defect 11: no fence within --max-seconds: exit 1, and the report says max-seconds."""
    name = "co_maxsec"
    report = fresh_and_loaded(stack, tmp_path, name)
    run = follow_until_verified(stack, tmp_path, name, report, seconds=6)
    assert run.code == 1, run.output[-3000:]
    assert run.report["catch_up"]["stopped"] == "max-seconds"
    assert not run.report["catch_up"]["verification"]["verified"]
    assert "in sync: verified through" in run.report["catch_up"]["verification"]["cut_over"]["why"]
