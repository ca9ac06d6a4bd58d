"""Live sources (issue 11): load while the source changes, catch up from the recorded binlog
position until DynamoDB equals the source; replays and kills converge; preconditions fail
with one line each."""

import json
import os
import random
import signal
import subprocess
import threading
import time

import pytest

from tests.e2e.stack import (
    REPO,
    VENV,
    canonical,
    dynamo_items,
    free_port,
    present,
    run_job,
    source_rows,
    state_entry,
)

DB = "live_db"
TABLES = {"accounts": "live_db_accounts", "stock": "live_db_stock", "events": "live_db_events"}


def expected_items(stack, table):
    return canonical(present(r) for r in source_rows(stack, DB, table))


def actual_items(stack, table):
    items = dynamo_items(stack.dynamodb(), TABLES[table])
    drop = {"_sort_key", "_row_id"}  # synthesised keys: the oracle compares the source's own columns
    return canonical({k: v for k, v in i.items() if k not in drop} for i in items)


def assert_equal_to_source(stack):
    for table in TABLES:
        assert actual_items(stack, table) == expected_items(stack, table), table


class Writer(threading.Thread):
    """The application: inserts, updates (keys too) and deletes on every table until stopped."""

    def __init__(self, stack, seed: int, limit: int = 6_000, pause: float = 0.004):
        super().__init__(daemon=True)
        self.stack, self.rng, self.limit, self.pause = stack, random.Random(seed), limit, pause
        self.stop = threading.Event()
        self.done = 0

    def run(self):
        conn = self.stack.connect(DB)
        rng = self.rng
        with conn.cursor() as cur:
            while not self.stop.is_set() and self.done < self.limit:
                n = rng.randrange(1, 30_000)
                choice = rng.randrange(9)
                statements = [
                    f"UPDATE accounts SET balance = balance + 1.25, updated = NOW(6) WHERE id = {n}",
                    f"UPDATE accounts SET id = id + 1000000 WHERE id = {n}",  # a primary-key change
                    f"DELETE FROM accounts WHERE id = {n + 1}",
                    f"INSERT IGNORE INTO accounts VALUES ({2_000_000 + self.done}, 'new # \\\\ owner', 7.5, NOW(6))",
                    f"UPDATE stock SET qty = qty + 1 WHERE wh = 'w{n % 5}' "
                    f"AND day = '2024-01-01' + INTERVAL {n % 3000} DAY",
                    f"UPDATE IGNORE stock SET sku = CONCAT(sku, '#m') WHERE wh = 'w{n % 5}' AND qty = {n % 3000}",
                    f"INSERT INTO events SELECT * FROM events WHERE kind = 'k{n % 40}' LIMIT 1",  # an exact duplicate
                    f"DELETE FROM events WHERE kind = 'k{n % 40}' LIMIT 1",
                    f"UPDATE events SET detail = 'changed' WHERE kind = 'k{n % 40}' AND detail <> 'changed' LIMIT 1",
                ]
                cur.execute(statements[choice])
                self.done += 1
                time.sleep(self.pause)  # an application's pace, not a benchmark of the server
        conn.close()


@pytest.fixture(scope="module")
def live(stack):
    stack.fresh_database(
        DB,
        "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(40), balance DECIMAL(12,2), updated DATETIME(6))",
        "INSERT INTO accounts SELECT seq, CONCAT('owner ', seq), seq / 4, '2024-01-01' + INTERVAL seq SECOND"
        " FROM seq_1_to_30000",
        "CREATE TABLE stock (wh VARCHAR(10) NOT NULL, sku VARCHAR(40) NOT NULL, day DATE NOT NULL, qty INT,"
        " PRIMARY KEY (wh, sku, day))",
        "INSERT INTO stock SELECT CONCAT('w', seq % 5), CONCAT('a#b\\\\', seq % 7), '2024-01-01' + INTERVAL seq DAY,"
        " seq FROM seq_1_to_6000",
        "CREATE TABLE events (at DATETIME, kind VARCHAR(10), detail VARCHAR(20))",
        "INSERT INTO events SELECT '2024-01-01' + INTERVAL (seq % 100) HOUR, CONCAT('k', seq % 40), "
        "IF(seq % 3 = 0, NULL, 'same') FROM seq_1_to_4000",
        "ANALYZE TABLE accounts, stock, events",
    )
    client = stack.dynamodb()
    for target in TABLES.values():
        if target in client.list_tables()["TableNames"]:
            client.delete_table(TableName=target)
    return DB


@pytest.fixture
def loaded(stack, live, tmp_path):
    """The live tables in DynamoDB (the first test loads them; alone, a test loads them here)."""
    if not set(TABLES.values()) <= set(stack.dynamodb().list_tables()["TableNames"]):
        assert run_job(stack, ["--database", DB, "--no-verify"], tmp_path).code == 0
    return DB


def catch_up(stack, tmp_path, start_args, state, extra=()):
    return run_job(
        stack, ["--database", DB, "--catch-up", "--state", str(state)] + list(start_args) + list(extra), tmp_path
    )


def test_load_while_writing_then_catch_up_until_equal(stack, live, tmp_path):
    writer = Writer(stack, seed=11)
    writer.start()
    try:
        load = run_job(
            stack,
            [
                "--database",
                DB,
                "--no-verify",
                "--rows-per-partition",
                "8000",
                "--set",
                "dynamodb.on_demand_wcu=100000",
                "--report",
                str(tmp_path / "load.json"),
            ],
            tmp_path,
        )
        assert load.code == 0, load.output[-3000:]
        with open(tmp_path / "load.json") as handle:
            (tmp_path / "load-saved.json").write_text(handle.read())
        first = catch_up(
            stack,
            tmp_path,
            ["--from-report", str(tmp_path / "load-saved.json")],
            tmp_path / "s1",
            ["--report", str(tmp_path / "c1.json")],
        )
        assert first.code == 0, first.output[-3000:]
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.done > 500, "the writer should have changed rows during the load"
    second = catch_up(
        stack,
        tmp_path,
        ["--from-report", str(tmp_path / "c1.json")],
        tmp_path / "s1",
        ["--report", str(tmp_path / "c2.json")],
    )
    assert second.code == 0, second.output[-3000:]
    body = json.loads((tmp_path / "c2.json").read_text())
    assert body["catch_up"]["start"] == json.loads((tmp_path / "c1.json").read_text())["catch_up"]["end"]
    assert all(t["status"] == "caught up" for t in body["tables"])

    check = run_job(stack, ["--database", DB, "--verify-only"], tmp_path)
    assert check.code == 0, check.output[-3000:]
    assert all(t["verification"]["match"] for t in check.report["tables"])
    assert_equal_to_source(stack)

    # Replaying the whole range (a fresh state: nothing skipped) leaves the tables identical.
    before = {t: actual_items(stack, t) for t in TABLES}
    again = catch_up(stack, tmp_path, ["--from-report", str(tmp_path / "load-saved.json")], tmp_path / "s2")
    assert again.code == 0, again.output[-3000:]
    assert {t: actual_items(stack, t) for t in TABLES} == before


def test_a_catch_up_killed_halfway_and_rerun_converges(stack, loaded, tmp_path):
    with stack.connect(DB).cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        file, position = cur.fetchone()[:2]
        for n in range(40):  # 40 transactions of 250 row changes each
            cur.execute(f"UPDATE accounts SET owner = CONCAT('burst {n} ', id) WHERE id % 40 = {n} AND id <= 10000")
    start = ["--from-position", f"{file}:{position}"]
    state = tmp_path / "state"
    # A plain Python process where pyspark cannot even be imported: the catch-up needs no Spark.
    command = [
        os.path.join(VENV, "bin", "python"),
        "-c",
        "import sys; sys.modules['pyspark'] = None; from jobs.migrate import main; sys.exit(main(sys.argv[1:]))",
        "--mysql-port",
        str(stack.mysql_port),
        "--dynamodb-endpoint",
        stack.endpoint,
        "--database",
        DB,
        "--catch-up",
        "--state",
        str(state),
        "--set",
        "catch_up.batch_rows=250",
        "--set",
        "dynamodb.on_demand_wcu=1500",
        *start,
    ]

    def applied():  # the first applied batch is recorded as the accounts table's position
        return state_entry(str(state), DB, "accounts").get("applied_position")

    with open(tmp_path / "driver.log", "w") as log:
        driver = subprocess.Popen(
            command, env=stack.env, stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path), start_new_session=True
        )
        while driver.poll() is None and not applied():
            time.sleep(0.02)
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and its binlog reader
        driver.wait(30)
    assert applied(), f"the kill should land after a batch was applied: {(tmp_path / 'driver.log').read_text()[-2000:]}"
    assert (applied()["binlog_file"], applied()["binlog_position"]) != (file, position)
    rerun = catch_up(stack, tmp_path, start, state)
    assert rerun.code == 0, rerun.output[-3000:]
    assert_equal_to_source(stack)


def test_ddl_on_a_migrated_table_marks_it_for_reload_and_the_others_go_on(stack, loaded, tmp_path):
    with stack.connect(DB).cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        file, position = cur.fetchone()[:2]
        cur.execute("INSERT INTO accounts VALUES (9000001, 'before ddl', 1, NOW(6))")
        cur.execute("ALTER TABLE stock ADD COLUMN note VARCHAR(10)")
        cur.execute("UPDATE accounts SET owner = 'after ddl' WHERE id = 9000001")
    state = tmp_path / "state"
    run = catch_up(
        stack, tmp_path, ["--from-position", f"{file}:{position}"], state, ["--report", str(tmp_path / "c.json")]
    )
    with stack.connect(DB).cursor() as cur:
        cur.execute("ALTER TABLE stock DROP COLUMN note")
    assert run.code == 1, run.output[-3000:]
    body = json.loads((tmp_path / "c.json").read_text())
    tables = {t["table"]: t for t in body["tables"]}
    assert tables["stock"]["status"] == "needs reload"
    assert "ALTER TABLE stock ADD COLUMN" in tables["stock"]["error"]
    assert "reload it (--tables 'live_db.stock')" in tables["stock"]["error"]
    assert tables["accounts"]["status"] == tables["events"]["status"] == "caught up"
    assert body["catch_up"]["needs_reload"] == ["live_db.stock"]
    item = stack.dynamodb().get_item(TableName=TABLES["accounts"], Key={"id": {"S": "9000001"}})["Item"]
    assert item["owner"]["S"] == "after ddl"  # the change after the DDL reached the other table
    assert state_entry(str(state), DB, "stock")["catch_up_status"] == "needs reload"
    again = catch_up(stack, tmp_path, [], state)  # from the state: stock is still named, never skipped past
    assert again.code == 1 and again.table(f"{DB}.stock")["status"] == "needs reload", again.output[-3000:]


# ---- preconditions: one line each, nothing applied ----


@pytest.fixture
def position(stack, live):
    with stack.connect().cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        row = cur.fetchone()
    return f"{row[0]}:{row[1]}"


def error_line(run) -> str:
    assert run.code == 1, run.output[-2000:]
    lines = [text for text in run.output.splitlines() if text.startswith("mysql2dynamodb: error:")]
    assert len(lines) == 1 and "Traceback" not in run.output, run.output[-2000:]
    return lines[0]


@pytest.mark.parametrize(
    "variable, value, fragment",
    [
        ("binlog_format", "STATEMENT", "needs binlog_format = ROW, the server has STATEMENT"),
        ("binlog_row_image", "MINIMAL", "needs binlog_row_image = FULL, the server has MINIMAL"),
        ("binlog_row_metadata", "MINIMAL", "needs binlog_row_metadata = FULL, the server has MINIMAL"),
    ],
)
def test_server_settings_are_checked_first(stack, live, position, tmp_path, variable, value, fragment):
    with stack.connect().cursor() as cur:
        cur.execute(f"SELECT @@GLOBAL.{variable}")
        saved = cur.fetchone()[0]
        cur.execute(f"SET GLOBAL {variable} = '{value}'")
    try:
        run = catch_up(stack, tmp_path, ["--from-position", position], tmp_path / "state")
    finally:
        with stack.connect().cursor() as cur:
            cur.execute(f"SET GLOBAL {variable} = '{saved}'")
    assert fragment in error_line(run)


def test_a_start_position_no_longer_on_the_server(stack, live, tmp_path):
    run = catch_up(stack, tmp_path, ["--from-position", "binlog.999999:4"], tmp_path / "state")
    assert "binlog position binlog.999999:4 is no longer on the server" in error_line(run)


def test_missing_replication_privileges(stack, live, position, tmp_path):
    with stack.connect().cursor() as cur:
        cur.execute("DROP USER IF EXISTS 'm2d_cu'@'127.0.0.1'")
        cur.execute("CREATE USER 'm2d_cu'@'127.0.0.1' IDENTIFIED BY %s", (stack.password,))
        cur.execute(f"GRANT SELECT ON `{DB}`.* TO 'm2d_cu'@'127.0.0.1'")
    run = catch_up(stack, tmp_path, ["--from-position", position, "--mysql-user", "m2d_cu"], tmp_path / "state")
    assert "REPLICATION CLIENT" in error_line(run)
    with stack.connect().cursor() as cur:
        cur.execute("GRANT BINLOG MONITOR ON *.* TO 'm2d_cu'@'127.0.0.1'")
    run = catch_up(stack, tmp_path, ["--from-position", position, "--mysql-user", "m2d_cu"], tmp_path / "state")
    assert "REPLICATION SLAVE" in error_line(run)


def test_a_migrated_table_missing_in_dynamodb(stack, position, tmp_path):
    stack.fresh_database("never_loaded", "CREATE TABLE t (id INT PRIMARY KEY)")
    run = run_job(
        stack,
        ["--database", "never_loaded", "--catch-up", "--from-position", position, "--state", str(tmp_path / "state")],
        tmp_path,
    )
    assert "DynamoDB table never_loaded_t" in error_line(run) and "load the table before catching up" in error_line(run)


def test_binlog_off(stack, tmp_path):
    port = free_port()
    env = dict(stack.env, M2D_STACK_DIR=str(tmp_path / "nobinlog"), M2D_MYSQL_PORT=str(port), M2D_MYSQL_BINLOG="0")
    subprocess.run(
        [os.path.join(REPO, "local", "stack.sh"), "start", "mariadb"], env=env, check=True, stdout=subprocess.DEVNULL
    )
    try:
        run = run_job(
            stack,
            [
                "--database",
                "mysql_is_not_migrated_but_checked_first",
                "--catch-up",
                "--from-position",
                "binlog.000001:4",
                "--mysql-port",
                str(port),
            ],
            tmp_path,
        )
    finally:
        subprocess.run([os.path.join(REPO, "local", "stack.sh"), "stop", "mariadb"], env=env, stdout=subprocess.DEVNULL)
    assert "catch-up needs the binary log: the server runs with log_bin = OFF" in error_line(run)


def test_the_fidelity_database_after_a_catch_up_that_changed_every_row(stack, tmp_path):
    from tests.e2e import fidelity_db

    fidelity_db.create(stack.connect())
    db = fidelity_db.DATABASE
    common = ["--database", db, "--set", "naming.prefix=cu_", "--state", str(tmp_path / "state")]
    load = run_job(stack, common + ["--no-verify", "--report", str(tmp_path / "load.json")], tmp_path)
    assert load.code == 3, load.output[-3000:]  # the fixture's rejects
    conn = stack.connect(db)
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        for statement in (
            "UPDATE types SET id = id + 100",  # a key change for every row: every column re-rendered
            "UPDATE `select` SET `from` = `from` + 10, `a b` = CONCAT(IFNULL(`a b`, ''), '#')",
            "UPDATE stock SET qty = qty + 1, sku = CONCAT(sku, '\\\\#')",
            "UPDATE events SET kind = CONCAT(IFNULL(kind, ''), '!')",  # duplicates stay duplicates
            "UPDATE users_u SET name = CONCAT(IFNULL(name, 'n'), '2')",
            "UPDATE docs SET body = CONCAT(body, 'x')",
            "UPDATE codes SET v = v + 1",
            "UPDATE pairs SET a = a + 1",
        ):
            cur.execute(statement)
    conn.close()
    run = run_job(stack, common + ["--catch-up", "--from-report", str(tmp_path / "load.json")], tmp_path)
    assert run.code == 3, run.output[-3000:]  # the fixture's rejects, changed again: named, as the load names them
    refused = {
        ("docs", "id", "2"),
        ("codes", "code", ""),
        ("codes", "code", "😀" * 600),
        ("pairs", "b", "😀" * 300),
    }  # as in the load: DynamoDB cannot hold these rows
    for result in json.loads((tmp_path / "load.json").read_text())["tables"]:
        table = result["table"]
        expected = [
            present(r)
            for r in source_rows(stack, db, table)
            if not any(t == table and r.get(c) == v for t, c, v in refused)
        ]
        items = dynamo_items(stack.dynamodb(), result["target"])
        items = [{k: v for k, v in i.items() if k not in ("_sort_key", "_row_id")} for i in items]
        assert canonical(items) == canonical(expected), table


def test_follow_applies_changes_as_they_come_until_max_seconds(stack, loaded, tmp_path):
    with stack.connect(DB).cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        file, position = cur.fetchone()[:2]

    def later_changes():
        time.sleep(4)  # while the follower waits for new events
        with stack.connect(DB).cursor() as cur:
            cur.execute("UPDATE accounts SET owner = 'followed' WHERE id BETWEEN 20 AND 29")

    thread = threading.Thread(target=later_changes)
    thread.start()
    run = catch_up(
        stack,
        tmp_path,
        ["--from-position", f"{file}:{position}", "--follow", "--max-seconds", "8"],
        tmp_path / "state",
        ["--set", "spark.progress_seconds=1"],
    )
    thread.join()
    assert run.code == 0, run.output[-3000:]
    assert run.report["catch_up"]["stopped"] == "max-seconds"
    assert any("catch-up: at " in line and ", lag " in line for line in run.output.splitlines())
    assert_equal_to_source(stack)
