"""Live verification (issue 21): 100,000 rows in a keyed, a composite-keyed and a keyless table
under a steady writer (updates, key changes, deletes, inserts). Load while it writes; follow
with live verification until the writer stops and the follower signals cut-over; then
--verify-only and the oracle agree on every table. Then an item edited behind the job's back:
reported as real with its key while the writer changes other keys, not cleared; --repair
makes the table equal."""

import logging
import random
import threading
import time

from tests.e2e.stack import canonical, dynamo_items, present, run_job, source_rows

DATABASE = "live_v"
ROWS = {"accounts": 50_000, "order_lines": 30_000, "events": 20_000}
PLANTED = 7  # accounts' id edited in DynamoDB; the writer never touches it


def fill(stack) -> None:
    conn = stack.fresh_database(
        DATABASE,
        "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(40), balance DECIMAL(12,2))",
        "CREATE TABLE order_lines (order_id INT, line INT, sku VARCHAR(20), qty INT, PRIMARY KEY (order_id, line))",
        "CREATE TABLE events (kind VARCHAR(20), note VARCHAR(40))",  # keyless
    )
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO accounts SELECT seq, CONCAT('owner-', seq), seq / 100 FROM seq_1_to_{ROWS['accounts']}"
        )
        cur.execute(
            f"INSERT INTO order_lines SELECT seq DIV 3, seq MOD 3, CONCAT('sku-', seq MOD 97), seq MOD 7 "
            f"FROM seq_0_to_{ROWS['order_lines'] - 1}"
        )
        cur.execute(f"INSERT INTO events SELECT CONCAT('k', seq MOD 50), seq FROM seq_1_to_{ROWS['events']}")
        for table in ROWS:
            cur.execute(f"ANALYZE TABLE {table}")
            cur.fetchall()


class Writer:
    """Updates, key changes, deletes and inserts in all three tables, a few hundred a second,
    in small transactions (about 150 row changes a second), until stopped; never touches
    accounts' PLANTED row."""

    def __init__(self, stack, seed: int):
        self.stack, self.seed, self.random = stack, seed, random.Random(seed)
        self.stop, self.changes, self.error = threading.Event(), 0, None
        self.thread = threading.Thread(target=self._write, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        self.thread.join(30)

    def _account(self) -> int:
        chosen = self.random.randint(1, ROWS["accounts"])
        return chosen if chosen != PLANTED else PLANTED + 1

    def _write(self) -> None:
        try:
            self._changes()
        except Exception as e:  # the test asserts there was none
            self.error = e
            raise

    def _changes(self) -> None:
        conn = self.stack.connect(DATABASE)
        conn.autocommit(False)
        fresh = 10_000_000 * self.seed  # each writer's new keys its own
        with conn.cursor() as cur:
            while not self.stop.is_set():
                fresh += 1
                a, b, order = self._account(), self._account(), self.random.randint(0, ROWS["order_lines"] // 3)
                cur.execute("UPDATE accounts SET balance = balance + 1, owner = CONCAT(owner, '+') WHERE id = %s", (a,))
                cur.execute("UPDATE accounts SET id = %s WHERE id = %s", (fresh, b))  # a key change
                cur.execute("INSERT INTO accounts VALUES (%s, 'new', 0)", (fresh + 5_000_000,))
                cur.execute("DELETE FROM accounts WHERE id = %s", (self._account(),))
                cur.execute("UPDATE order_lines SET qty = qty + 1 WHERE order_id = %s", (order,))
                cur.execute("UPDATE order_lines SET line = line + 10 WHERE order_id = %s AND line = 0", (order + 1,))
                cur.execute("INSERT IGNORE INTO order_lines VALUES (%s, 0, 'sku-new', 1)", (fresh,))
                note = str(self.random.randint(1, ROWS["events"]))
                cur.execute("UPDATE events SET note = CONCAT(note, '+') WHERE note = %s", (note,))
                cur.execute("DELETE FROM events WHERE note = %s", (str(self.random.randint(1, ROWS["events"])),))
                cur.execute("INSERT INTO events VALUES (%s, 'late')", (f"k{fresh % 50}",))  # identical rows too
                conn.commit()
                self.changes += 10
                time.sleep(0.05)
        conn.close()


def oracle_agrees(stack) -> None:
    client = stack.dynamodb()
    for table in ROWS:
        synthesized = ("_row_id", "_sort_key")
        items = dynamo_items(client, f"{DATABASE}_{table}")
        items = [{k: v for k, v in i.items() if k not in synthesized} for i in items]
        assert canonical(items) == canonical(present(r) for r in source_rows(stack, DATABASE, table)), table


class StopAfterWholeComparisons(logging.Handler):
    """Stops the writer a few seconds after live verification has compared every table whole
    (the changes after that are the ones its rounds compare: a count decides, not a clock), then
    sets the fence the runbook asks for: the source read-only."""

    def __init__(self, writer: Writer, tables: int, fence):
        super().__init__()
        self.writer, self.tables, self.compared, self.fence = writer, tables, set(), fence

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("live verify: ") and " compared whole (" in message:
            self.compared.add(message.split()[2])
            if len(self.compared) == self.tables:
                threading.Timer(2, self._stop).start()

    def _stop(self) -> None:
        self.writer.stop.set()
        self.writer.thread.join(30)
        self.fence()


def follow(stack, tmp_path, *extra, writer=None, expected=3):
    """The follower with --until-verified: it ends once the writer stopped, the source is fenced
    (read-only) and every table is judged through the fence (exit 1 if any differs). With no
    writer, the fence is set from the start."""
    args = ["--database", DATABASE, "--catch-up", "--until-verified", "--max-seconds", "150"]
    settings = ["--set", "spark.progress_seconds=2"]
    settings += ["--set", "catch_up.verify_rows_per_second=0"]  # no pacing: a test server

    def fence() -> None:
        with stack.connect().cursor() as cur:
            cur.execute("SET GLOBAL read_only = ON")

    logger = logging.getLogger("mysql2dynamodb")
    handler = StopAfterWholeComparisons(writer, expected, fence) if writer else None
    if handler:
        logger.addHandler(handler)
    else:
        fence()
    try:
        return run_job(stack, args + settings + list(extra), tmp_path)
    finally:
        if handler:
            logger.removeHandler(handler)
        with stack.connect().cursor() as cur:  # the fence lifted: the server serves later tests
            cur.execute("SET GLOBAL read_only = OFF")


def test_live_verification_signals_cut_over_and_keeps_a_planted_difference(stack, tmp_path):
    for table in ROWS:
        client = stack.dynamodb()
        if f"{DATABASE}_{table}" in client.list_tables(Limit=100)["TableNames"]:
            client.delete_table(TableName=f"{DATABASE}_{table}")
    fill(stack)
    with Writer(stack, seed=1) as writer:
        fast = ["--set", "dynamodb.on_demand_wcu=100000"]
        load = run_job(stack, ["--database", DATABASE, "--no-verify", *fast], tmp_path)
        assert load.code == 0, load.output[-3000:]
        followed = follow(stack, tmp_path, writer=writer)
    assert writer.changes > 500 and writer.error is None
    assert followed.code == 0, followed.output[-4000:]
    verification = followed.report["catch_up"]["verification"]
    assert verification["cut_over"]["safe"], verification
    assert {t["status"] for t in verification["tables"].values()} == {"verified"}, verification
    assert sum(t["rounds"] for t in verification["tables"].values()) > 0  # the changed keys compared again
    assert "SAFE TO CUT OVER" in followed.output
    checked = run_job(stack, ["--database", DATABASE, "--verify-only"], tmp_path)
    assert checked.code == 0, checked.output[-3000:]
    oracle_agrees(stack)

    # An item edited behind the job's back, while the writer goes on changing other keys; the
    # other tables' catch-up and verification are shown above, so accounts alone from here.
    stack.dynamodb().update_item(
        TableName=f"{DATABASE}_accounts",
        Key={"id": {"S": str(PLANTED)}},
        UpdateExpression="SET #o = :v",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":v": {"S": "edited behind the job"}},
    )
    with Writer(stack, seed=2) as writer:
        differs = follow(stack, tmp_path, "--tables", "accounts", writer=writer, expected=1)
    assert writer.changes > 100 and writer.error is None
    assert differs.code == 1, differs.output[-3000:]
    accounts = differs.report["catch_up"]["verification"]["tables"][f"{DATABASE}.accounts"]
    assert accounts["status"] == "differs" and accounts["differences"] == 1, accounts
    assert accounts["examples"][0]["key"] == [str(PLANTED)], accounts
    assert accounts["examples"][0]["problem"] == "attributes differ"
    assert not differs.report["catch_up"]["verification"]["cut_over"]["safe"]

    repaired = follow(stack, tmp_path, "--tables", "accounts", "--repair")
    assert repaired.code == 0, repaired.output[-3000:]
    assert repaired.report["catch_up"]["verification"]["tables"][f"{DATABASE}.accounts"]["repaired"] == 1
    item = stack.dynamodb().get_item(TableName=f"{DATABASE}_accounts", Key={"id": {"S": str(PLANTED)}})["Item"]
    assert item["owner"]["S"] == f"owner-{PLANTED}"  # the source's row again
