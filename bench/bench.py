"""make bench: the job against the seed's algorithm and a writer-only ceiling.

All three write to the same dynalite, in one run:
  (a) seed: one SELECT per column, one PutItem per row (20,000-row sample);
  (b) ceiling: items built in advance, written by one process per Spark task slot
      straight through jobs.dynamodb.writer (no Spark, no MySQL);
  (c) job: spark-submit jobs/migrate.py on local[*], Spark start-up included,
      at N and 5N rows, with the peak RSS of the driver JVM, the driver's Python and
      the Python workers (sampled from /proc). The driver heap is capped (1g) for both
      runs: an uncapped JVM grows its heap lazily, which measures GC policy, not retention.
  (d) reads: the same N rows keyed by a UUID CHAR(36) next to the BIGINT-keyed table:
      rows the server touched per row loaded (its handler counters), and the job's rows/s.
  (e) catch-up: a burst of row changes (updates, primary-key changes, deletes) after a
      load, applied from the binlog: changes/s, and the lag (burst committed -> applied).
  (f) import vs write: the same N rows loaded by BatchWriteItem into dynalite and by import
      mode (staged on S3, ImportTable) into moto's server, and what each would cost at AWS
      prices for 1 million and 1 billion rows of this shape (the plan's own estimate).
  (g) the write budget: the N-row table with default settings (paced at a new on-demand
      table's 4,000 WCU/s) next to uncapped; then 3,000 rows of ~2.5 KB through the
      throttling proxy (500 WCU/s, 30% of every batch unprocessed): the share of the budget
      used over the whole load, its tail included, and the last seconds' consumption.
  (h) a region's latency: the N-row table (at most 60,000 rows) written straight into dynalite,
      then through the test proxy adding 15 ms to every call (a region's round trip), with one
      BatchWriteItem in flight per task (dynamodb.max_in_flight=1) and with the default; then
      as many row changes caught up, straight and through the proxy.
  (i) cut-over: write downtime under a steady writer, at N and N/4 rows: load while it writes,
      follow with live verification (--until-verified) until every table was compared whole,
      let it write 10 s more, stop it and set the fence (read_only = ON); the time from the fence
      to the follower's "SAFE TO CUT OVER", against the old runbook's final catch-up plus a full
      --verify-only.
  (j) estimates: four shapes (60 BIGINT columns, rows of 100 B and 2 KB alternating, 1.5 KB
      rows, a keyless table whose _row_id tips items past 1 KB): the plan's WRU estimate from
      sampled items, and from the declared types and AVG_ROW_LENGTH, against the WRU the
      load consumed.
  (k) other databases' traffic: a quiet table's catch-up (one change of its own) past another
      database's 500,000-row UPDATE in one transaction, as a plain Python process: its
      seconds, and the row events it decoded.
  (l) live verification at size (the issue's part (j)): tables of N and 4N rows (1M and 4M
      by default; BENCH_VERIFY_ROWS), each loaded, then, with the source quiet and fenced,
      `--catch-up --until-verified` as a plain Python process and under spark-submit: the
      follower's peak RSS (its Python; under spark-submit the driver JVM too), the time to
      SAFE (one whole comparison), and its rows/s against the load's items/s per task slot.

    BENCH_ROWS=1000000 make bench        (figures go to stdout; quote ratios, not times)
    make bench BENCH_ARGS="--parts d"    (only the reads comparison)
"""

import argparse
import json
import multiprocessing
import os
import subprocess
import threading
import time

import pymysql

from jobs.dynamodb.tables import make_client  # the package is installed in the venv (pip install -e .)
from jobs.dynamodb.writer import BatchWriter, RateLimiter
from mapping.items import item_size, to_wire, write_units

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COLUMNS = ["id", "customer_id", "sku", "qty", "price", "status", "created_at", "note", "score", "flag"]
UNLIMITED_WCU = 10**9


def env(name, default):
    return os.environ.get(name, default)


def connect(database=None):
    return pymysql.connect(
        host="127.0.0.1",
        port=int(env("M2D_MYSQL_PORT", "13306")),
        user="root",
        password=os.environ["MYSQL_PASSWORD"],
        database=database,
        charset="utf8mb4",
        autocommit=True,
    )


HANDLER_READS = (
    "HANDLER_READ_RND_NEXT",
    "HANDLER_READ_NEXT",
    "HANDLER_READ_KEY",
    "HANDLER_READ_FIRST",
    "HANDLER_READ_PREV",
    "HANDLER_READ_LAST",
)


def handler_reads() -> int:
    """Rows the server touched so far (MariaDB leaves Innodb_rows_read at 0)."""
    conn = connect()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN "
            f"({', '.join(['%s'] * len(HANDLER_READS))})",
            HANDLER_READS,
        )
        total = int(cur.fetchone()[0])
    conn.close()
    return total


def make_table(rows: int, table: str = "rows", key: str = "BIGINT", key_value: str = "seq") -> None:
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS bench")
        cur.execute("USE bench")
        cur.execute(f"DROP TABLE IF EXISTS `{table}`")
        cur.execute(f"""CREATE TABLE `{table}` (id {key} PRIMARY KEY, customer_id INT, sku VARCHAR(20), qty INT,
                       price DECIMAL(10,2), status ENUM('new','paid','shipped','cancelled'), created_at DATETIME,
                       note VARCHAR(80), score DOUBLE, flag TINYINT(1))""")
        cur.execute(f"""INSERT INTO `{table}` SELECT {key_value}, seq % 9973, CONCAT('SKU-', LPAD(seq % 5000, 6, '0')),
                        seq % 17, (seq % 100000) / 100, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'),
                        '2024-01-01' + INTERVAL (seq % 31536000) SECOND, RPAD(CONCAT('note ', seq), 60, ' lorem'),
                        seq / 7, seq % 2 FROM seq_1_to_{int(rows)}""")
        cur.execute(f"ANALYZE TABLE `{table}`")
        cur.fetchall()
    conn.close()


def fresh_table(client, name: str) -> None:
    try:
        client.delete_table(TableName=name)
        client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    except client.exceptions.ResourceNotFoundException:
        pass
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def seed_algorithm(client, sample: int) -> float:
    """The seed's way: SELECT each column separately, then one PutItem per row."""
    fresh_table(client, "bench_seed")
    started = time.monotonic()
    conn = connect("bench")
    columns = {}
    with conn.cursor() as cur:
        for field in COLUMNS:
            cur.execute(f"SELECT `{field}` FROM `rows` ORDER BY id LIMIT %s", (sample,))
            columns[field] = [r[0] for r in cur.fetchall()]
    for i in range(sample):
        item = {f: {"S": str(columns[f][i])} for f in COLUMNS if columns[f][i] is not None}
        client.put_item(TableName="bench_seed", Item=item)
    return sample / (time.monotonic() - started)


def _ceiling_worker(args):
    endpoint, items = args
    client = make_client(endpoint, "us-east-1", own_retries=True)
    writer = BatchWriter(client, "bench_ceiling", ["id"], RateLimiter(UNLIMITED_WCU))
    with writer:
        for item in items:
            size = item_size(item)
            writer.put(to_wire(item), size, write_units(size))
    return writer.written


def ceiling(endpoint: str, rows: int, processes: int) -> float:
    """Items rendered in advance (by MySQL, as the job does), written by N processes."""
    client = make_client(endpoint, "us-east-1")
    fresh_table(client, "bench_ceiling")
    conn = connect("bench")
    with conn.cursor() as cur:
        rendered = ", ".join(f"CAST(`{c}` AS CHAR)" for c in COLUMNS)
        cur.execute(f"SELECT {rendered} FROM `rows` ORDER BY id LIMIT %s", (rows,))
        items = [{c: v for c, v in zip(COLUMNS, row) if v is not None} for row in cur.fetchall()]
    chunks = [(endpoint, items[i::processes]) for i in range(processes)]
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        written = sum(pool.map(_ceiling_worker, chunks))
    assert written == rows, (written, rows)
    return rows / (time.monotonic() - started)


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def job_command(endpoint: str, arguments, master: str = "local[*]", spark=(), launcher: str = "spark-submit"):
    """The job on the bench database, with the bench's state folder: through spark-submit, or
    (launcher "python", for a catch-up, which uses no Spark) as a plain Python process."""
    venv_bin = os.path.join(env("M2D_VENV", os.path.join(REPO, ".venv")), "bin")
    submit = [
        os.path.join(venv_bin, "spark-submit"),
        "--master",
        master,
        *spark,
        "--jars",
        env("M2D_JDBC_JAR", "/usr/share/java/mariadb-java-client.jar"),
        os.path.join(REPO, "jobs", "migrate.py"),
    ]
    return [
        *(submit if launcher == "spark-submit" else [os.path.join(venv_bin, "python"), "-m", "jobs.migrate"]),
        "--database",
        "bench",
        "--mysql-port",
        env("M2D_MYSQL_PORT", "13306"),
        "--dynamodb-endpoint",
        endpoint,
        "--state",
        os.path.join(REPO, ".stack", "bench-state"),
        *arguments,
    ]


def run_job(endpoint: str, rows: int, table: str = "rows", extra=(), launcher: str = "spark-submit"):
    """Run the job (spark-submit unless launcher is "python"); returns (rows/s, peak RSS MiB by role)."""
    client = make_client(endpoint, "us-east-1")
    catching_up = "--catch-up" in extra
    try:
        if not catching_up:  # a catch-up applies to the table its load wrote
            client.delete_table(TableName=f"bench_{table}")
            client.get_waiter("table_not_exists").wait(TableName=f"bench_{table}", WaiterConfig={"Delay": 1})
    except client.exceptions.ResourceNotFoundException:
        pass
    command = job_command(
        endpoint,
        [
            "--tables",
            table,
            "--rejects",
            os.path.join(REPO, ".stack", "bench-rejects"),
            "--no-verify",  # the migration itself is measured; verification is a second pass
            "--set",
            f"dynamodb.on_demand_wcu={UNLIMITED_WCU}",
            *extra,
        ],
        spark=["--driver-memory", env("BENCH_DRIVER_MEMORY", "1g")],
        launcher=launcher,
    )
    if catching_up:
        command = [c for c in command if c != "--no-verify"] + [
            "--report",
            list(extra)[list(extra).index("--from-report") + 1] + ".catchup",
        ]
    code, elapsed, peaks, output = peak_rss(command)
    if code != 0:
        print(output[-3000:])
        raise SystemExit(f"bench: the job failed with exit code {code}")
    return rows / elapsed, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=int(env("BENCH_ROWS", "1000000")))
    parser.add_argument("--seed-sample", type=int, default=20000)
    parser.add_argument(
        "--ceiling-rows",
        type=int,
        default=int(env("BENCH_CEILING_ROWS", "0")),
        help="items for the ceiling; default N, the same items the job writes",
    )
    parser.add_argument("--parts", default="abcdefghijkl", help="which parts to run, e.g. 'de'")
    parser.add_argument(
        "--burst", type=int, default=int(env("BENCH_BURST", "100000")), help="row changes in the catch-up burst (e)"
    )
    args = parser.parse_args()
    endpoint = f"http://127.0.0.1:{env('M2D_DYNAMO_PORT', '18000')}"
    slots = os.cpu_count() or 1
    client = make_client(endpoint, "us-east-1")

    print(f"bench: {args.rows} rows x {len(COLUMNS)} columns (~200 bytes), {slots} task slots, dynalite in memory")
    if "d" in args.parts:
        reads_comparison(endpoint, args.rows)
    if "e" in args.parts:
        catch_up_burst(endpoint, min(args.rows, 200_000), args.burst)
    if "f" in args.parts:
        import_vs_write(endpoint, args.rows)
    if "g" in args.parts:
        write_budget(endpoint, args.rows)
    if "h" in args.parts:
        region_latency(endpoint, min(args.rows, 60_000))
    if "i" in args.parts:
        for size in (args.rows, args.rows // 4):
            cut_over_downtime(endpoint, size)
    if "j" in args.parts:
        estimates(endpoint, min(args.rows, 10_000))
    if "k" in args.parts:
        other_databases_traffic(endpoint, 500_000)
    if "l" in args.parts:
        verify_rows = int(env("BENCH_VERIFY_ROWS", "1000000"))
        for size in (verify_rows, verify_rows * 4):
            live_verification_at_size(endpoint, size, slots)
    if not set(args.parts) & set("abc"):
        return
    make_table(args.rows)
    seed = seed_algorithm(client, min(args.seed_sample, args.rows))
    print(f"(a) seed algorithm, {min(args.seed_sample, args.rows)} rows: {seed:,.0f} rows/s")
    ceiling_rows = min(args.ceiling_rows or args.rows, args.rows)
    top = ceiling(endpoint, ceiling_rows, slots)
    print(f"(b) writer ceiling, {ceiling_rows} items, {slots} processes: {top:,.0f} items/s")
    job, peaks_n = run_job(endpoint, args.rows)
    print(f"(c) job via spark-submit, {args.rows} rows: {job:,.0f} rows/s (Spark start-up included)")
    print(f"    job / ceiling = {job / top:.2f}   job / seed = {job / seed:.1f}")
    print("    peak RSS at N:  " + ", ".join(f"{k} {v:,.0f} MiB" for k, v in peaks_n.items()))
    make_table(args.rows * 5)
    job5, peaks_5n = run_job(endpoint, args.rows * 5)
    print(f"(c) job via spark-submit, {args.rows * 5} rows: {job5:,.0f} rows/s")
    print("    peak RSS at 5N: " + ", ".join(f"{k} {v:,.0f} MiB" for k, v in peaks_5n.items()))
    print("    RSS 5N / N:     " + ", ".join(f"{k} {peaks_5n[k] / max(peaks_n[k], 1):.2f}" for k in peaks_n))


def catch_up_burst(endpoint: str, rows: int, changes: int) -> None:
    """(e): load a table, change `changes` rows in 100 transactions, catch up from the load's
    report; then the same for a table without a key (its rows counted by content)."""
    make_table(rows, "live_rows")
    burst(endpoint, "live_rows", rows, changes, key_changes=True)
    make_keyless_table(rows, "live_keyless")
    burst(endpoint, "live_keyless", rows, changes, key_changes=False)


def make_keyless_table(rows: int, table: str) -> None:
    make_table(rows, table)
    conn = connect("bench")
    with conn.cursor() as cur:  # the same rows, no key: every item is a content hash
        cur.execute(f"ALTER TABLE `{table}` DROP PRIMARY KEY")
    conn.close()


def burst(
    endpoint: str,
    table: str,
    rows: int,
    changes: int,
    key_changes: bool,
    catch_up_endpoint: str = "",
    label: str = "(e)",
    launcher: str = "spark-submit",
) -> float:
    """Load, change `changes` rows in 100 transactions, catch up (through catch_up_endpoint if
    given); prints the figures and returns the catch-up's changes/s, start-up included."""
    report = os.path.join(REPO, ".stack", f"bench-load-{table}.json")
    run_job(endpoint, rows, table, ["--report", report])
    conn = connect("bench")
    step = max(1, changes // 100)
    with conn.cursor() as cur:
        for n in range(100):
            low, high = n * step + 1, (n + 1) * step
            kind = n % 10
            if kind < 8:
                cur.execute(f"UPDATE `{table}` SET qty = qty + 1 WHERE id BETWEEN {low} AND {high}")
            elif kind == 8 and key_changes:
                cur.execute(f"UPDATE `{table}` SET id = id + {10 * rows} WHERE id BETWEEN {low} AND {high}")
            elif kind == 8:
                cur.execute(f"INSERT INTO `{table}` SELECT * FROM `{table}` WHERE id BETWEEN {low} AND {high}")
            else:
                cur.execute(f"DELETE FROM `{table}` WHERE id BETWEEN {low} AND {high}")
    committed = time.monotonic()
    conn.close()
    started = time.monotonic()
    run_job(
        catch_up_endpoint or endpoint,
        changes,
        table,
        ["--catch-up", "--from-report", report],  # the load's state: the table's position is the load's
        launcher=launcher,
    )
    applied = time.monotonic()
    with open(report + ".catchup") as handle:
        outcome = json.load(handle)["catch_up"]
    with_start_up = outcome["row_changes"] / (applied - started)
    print(
        f"{label} catch-up of {outcome['row_changes']} row changes after a {rows}-row load of {table}"
        f"{' through the proxy' if catch_up_endpoint else ''}: "
        f"{outcome['changes_per_second']:,.0f} changes/s in the apply loop, "
        f"{with_start_up:,.0f} changes/s with start-up; lag after the burst {applied - committed:.1f}s"
    )
    return with_start_up


def region_latency(endpoint: str, rows: int, latency_ms: int = 15) -> None:
    """(h): rows/s straight into dynalite, then at a region's round trip with one call in flight
    per task, and with as many as the rate needs (the default)."""
    make_table(rows, "latency_rows")
    port = int(env("M2D_BENCH_PROXY_PORT", "38001"))
    proxy = subprocess.Popen(
        [os.path.join(env("M2D_VENV", os.path.join(REPO, ".venv")), "bin", "python"), "local/throttle_proxy.py"]
        + ["--port", str(port), "--upstream", endpoint, "--wcu", "1e9", "--latency-ms", str(latency_ms)],
        cwd=REPO,
    )
    proxied = f"http://127.0.0.1:{port}"
    try:
        time.sleep(1)
        direct, _ = run_job(endpoint, rows, "latency_rows")
        one, _ = run_job(proxied, rows, "latency_rows", ["--set", "dynamodb.max_in_flight=1"])
        many, _ = run_job(proxied, rows, "latency_rows")
        # Each catch-up from the same table and the same changes (a burst changes the table).
        catch_up_direct = burst(endpoint, "latency_rows", rows, rows, True, label="(h) direct, spark-submit:")
        make_table(rows, "latency_rows")
        catch_up_proxied = burst(
            endpoint, "latency_rows", rows, rows, True, proxied, label=f"(h) +{latency_ms} ms, spark-submit:"
        )
        make_table(rows, "latency_rows")
        catch_up_python = burst(
            endpoint, "latency_rows", rows, rows, True, proxied, f"(h) +{latency_ms} ms, python:", "python"
        )
    finally:
        proxy.terminate()
        proxy.wait()
    print(
        f"(h) {rows} rows at +{latency_ms} ms a call: one call in flight {one:,.0f} rows/s "
        f"({one / direct:.2f} of direct), as many as needed {many:,.0f} rows/s ({many / direct:.2f} of direct, "
        f"{many / one:.1f}x one); direct {direct:,.0f} rows/s (Spark start-up included in each)"
    )
    print(
        f"    catch-up at +{latency_ms} ms / direct: {catch_up_proxied / catch_up_direct:.2f} (both spark-submit); "
        f"at +{latency_ms} ms started as a Python process / through spark-submit: "
        f"{catch_up_python / catch_up_proxied:.2f}"
    )


class SteadyWriter:
    """Updates, inserts and deletes in one table, ~100 small transactions a second, until stopped."""

    def __init__(self, table: str, rows: int):
        self.table, self.rows, self.stop, self.changes = table, rows, threading.Event(), 0
        self.thread = threading.Thread(target=self._write, daemon=True)

    def _write(self) -> None:
        import random

        conn, pick, fresh = connect("bench"), random.Random(5), 10 * self.rows
        with conn.cursor() as cur:
            while not self.stop.is_set():
                fresh += 1
                cur.execute(f"UPDATE `{self.table}` SET qty = qty + 1 WHERE id = %s", (pick.randint(1, self.rows),))
                cur.execute(
                    f"INSERT INTO `{self.table}` (id, qty, note) VALUES (%s, 1, 'written while live')", (fresh,)
                )
                cur.execute(f"DELETE FROM `{self.table}` WHERE id = %s", (pick.randint(1, self.rows),))
                self.changes += 3
                time.sleep(0.01)
        conn.close()


def timed_job(arguments, endpoint: str) -> float:
    started = time.monotonic()
    command = job_command(endpoint, arguments)
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise SystemExit(f"bench: {' '.join(arguments)} failed with exit code {done.returncode}")
    return time.monotonic() - started


def other_databases_traffic(endpoint: str, busy_rows: int) -> None:
    """(k): the quiet table's catch-up past another database's big transaction."""
    make_table(1000, "quiet")
    report = os.path.join(REPO, ".stack", "bench-load-quiet.json")
    run_job(endpoint, 1000, "quiet", ["--report", report])
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS bench_busy")
        cur.execute("DROP TABLE IF EXISTS bench_busy.big")
        cur.execute("CREATE TABLE bench_busy.big (id INT PRIMARY KEY, v INT, note VARCHAR(100))")
        cur.execute(f"INSERT INTO bench_busy.big SELECT seq, 0, REPEAT('n', 100) FROM bench.seq_1_to_{busy_rows}")
        cur.execute("SHOW MASTER STATUS")
        start = cur.fetchone()[:2]
        cur.execute("UPDATE bench_busy.big SET v = v + 1")  # one transaction of busy_rows row changes
        cur.execute("UPDATE bench.quiet SET qty = qty + 1 WHERE id = 1")
        cur.execute("SHOW MASTER STATUS")
        end = cur.fetchone()[:2]
    conn.close()
    catch_up_report = report + ".catchup"
    started = time.monotonic()
    arguments = ["--tables", "quiet", "--catch-up", "--from-report", report, "--report", catch_up_report]
    command = job_command(endpoint, arguments, launcher="python")
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise SystemExit(f"bench: the catch-up failed with exit code {done.returncode}")
    with open(catch_up_report) as handle:
        outcome = json.load(handle)["catch_up"]
    print(
        f"(k) past another database's {busy_rows:,}-row UPDATE ({end[1] - start[1]:,} bytes of binlog from "
        f"{start[0]}:{start[1]}): catch-up of 1 change {outcome['seconds']:.1f}s in its loop, {elapsed:.1f}s with "
        f"start-up (plain Python), {outcome['row_events_decoded']} row event(s) decoded"
    )


def peak_rss(command) -> tuple:
    """Run a command; (exit code, seconds, peak RSS MiB by role, its output). Roles: the driver
    JVM, the driver's Python (the job's own process), the Python workers (summed)."""
    peaks = {"driver JVM": 0, "driver Python": 0, "Python workers (sum)": 0}
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    done = threading.Event()

    def sample():
        while not done.wait(0.3):
            workers = 0
            for pid in [process.pid] + descendants(process.pid):
                cmd, rss = command_line(pid), rss_kib(pid)
                if "java" in cmd.split(" ")[0]:
                    peaks["driver JVM"] = max(peaks["driver JVM"], rss)
                elif "migrate.py" in cmd or "jobs.migrate" in cmd:
                    peaks["driver Python"] = max(peaks["driver Python"], rss)
                elif "pyspark" in cmd or "python" in cmd:
                    workers += rss
            peaks["Python workers (sum)"] = max(peaks["Python workers (sum)"], workers)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    elapsed = time.monotonic() - started
    done.set()
    sampler.join()
    return process.returncode, elapsed, {k: v / 1024 for k, v in peaks.items()}, output


def live_verification_at_size(endpoint: str, rows: int, slots: int) -> None:
    """(l): one whole comparison of a quiet, fenced table by the follower, at this size."""
    table = f"verify_{rows}"
    make_table(rows, table)
    report = os.path.join(REPO, ".stack", f"bench-load-{table}.json")
    load_rate, _ = run_job(endpoint, rows, table, ["--report", report])
    per_slot = load_rate / slots
    print(f"(l) {rows:,} rows: load {load_rate:,.0f} items/s, {per_slot:,.0f} per task slot ({slots} slots)")
    with connect().cursor() as cur:
        cur.execute("SET GLOBAL read_only = ON")  # quiet and fenced: one whole comparison decides
    try:
        for launcher in ("python", "spark-submit"):
            arguments = ["--tables", table, "--catch-up", "--from-report", report, "--until-verified"]
            arguments += ["--report", f"{report}.{launcher}", "--max-seconds", "7200"]
            arguments += ["--set", "catch_up.verify_rows_per_second=0"]
            command = job_command(endpoint, arguments, master="local[*]", launcher=launcher)
            code, seconds, peaks, output = peak_rss(command)
            python_mib, jvm_mib = peaks["driver Python"], peaks["driver JVM"]
            if code != 0:
                print(output[-2000:])
                raise SystemExit(f"bench: the follower ({launcher}) ended with exit code {code}")
            jvm = f", driver JVM {jvm_mib:,.0f} MiB" if jvm_mib else ""
            # as a plain process the comparison runs in one thread; under spark-submit, in Spark tasks
            threads = 1 if launcher == "python" else slots
            where = "in one thread" if threads == 1 else f"on {slots} task slots"
            print(
                f"    {launcher:12} to SAFE {seconds:.1f}s (start-up included): {rows / seconds:,.0f} rows/s {where}, "
                f"{rows / seconds / threads:,.0f} a slot ({rows / seconds / threads / per_slot:.2f}x the load's per "
                f"slot); follower's Python peak RSS {python_mib:,.0f} MiB{jvm}"
            )
    finally:
        with connect().cursor() as cur:
            cur.execute("SET GLOBAL read_only = OFF")


def cut_over_downtime(endpoint: str, rows: int) -> None:
    """(i): from the writer's stop and the fence (read_only) to the cut-over signal, against final
    catch-up + --verify-only."""
    table = f"cutover_{rows}"
    make_table(rows, table)
    report = os.path.join(REPO, ".stack", f"bench-load-{table}.json")
    writer = SteadyWriter(table, rows)
    writer.thread.start()
    run_job(endpoint, rows, table, ["--report", report])
    follower = subprocess.Popen(
        job_command(
            endpoint,
            [
                "--tables",
                table,
                "--catch-up",
                "--from-report",
                report,
                "--until-verified",
                "--max-seconds",
                "3600",
                "--set",
                "catch_up.verify_rows_per_second=100000",
            ],
            master="local[1]",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stopped = {}
    transitions = []  # (when, safe) as the follower logs them

    def stop_writer() -> None:  # the runbook: stop the application, then the fence
        writer.stop.set()
        writer.thread.join()
        with connect().cursor() as cur:
            cur.execute("SET GLOBAL read_only = ON")
        stopped["at"] = time.monotonic()

    assert follower.stdout is not None
    for line in follower.stdout:
        if " compared whole " in line and not stopped:
            threading.Timer(10, stop_writer).start()  # the writer goes on while rounds follow it
        if "SAFE TO CUT OVER" in line:
            transitions.append((time.monotonic(), True))
        elif "no longer safe to cut over" in line:
            transitions.append((time.monotonic(), False))
    follower.wait()
    with connect().cursor() as cur:
        cur.execute("SET GLOBAL read_only = OFF")  # the rollback step of the runbook
    stopped_at = stopped.get("at")
    safe_at_stop = bool([safe for when, safe in transitions if stopped_at and when <= stopped_at][-1:] == [True])
    after = [when for when, safe in transitions if safe and stopped_at and when > stopped_at]
    signal_at = stopped_at if safe_at_stop else (after[0] if after else None)
    if follower.returncode != 0 or stopped_at is None or signal_at is None:
        raise SystemExit(f"bench: the follower ended with exit code {follower.returncode} before the signal")
    downtime = signal_at - stopped_at
    old = timed_job(["--tables", table, "--catch-up"], endpoint) + timed_job(
        ["--tables", table, "--verify-only"], endpoint
    )
    print(
        f"(i) {rows} rows, {writer.changes} changes written while live: writer stopped and fence set "
        f"-> SAFE TO CUT OVER "
        f"{downtime:.1f}s; old runbook (final catch-up + --verify-only) {old:.1f}s; "
        f"old / new {old / max(downtime, 0.1):.0f}x"
    )


ESTIMATE_SHAPES = {
    "est_wide": (
        "id BIGINT PRIMARY KEY, " + ", ".join(f"col_{i:02d} BIGINT" for i in range(1, 60)),
        "seq, " + ", ".join(f"seq * 1000000007 + {i * 7919}" for i in range(1, 60)),
    ),
    "est_mixed": ("id BIGINT PRIMARY KEY, body VARCHAR(2100)", "seq, REPEAT('m', IF(seq % 2, 100, 2000))"),
    "est_row15": ("id BIGINT PRIMARY KEY, body VARCHAR(1600)", "seq, REPEAT('r', 1500)"),
    "est_keyless": ("id BIGINT, body VARCHAR(1000)", "seq, REPEAT('k', 960)"),
}


def estimates(endpoint: str, rows: int) -> None:
    """(j): the dry run's WRU estimate (sampled items; declared types) against what the load consumed."""
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS bench")
        cur.execute("USE bench")  # the seq_1_to_N tables live in every database, not outside one
        for table, (columns, values) in ESTIMATE_SHAPES.items():
            cur.execute(f"DROP TABLE IF EXISTS bench.`{table}`")
            cur.execute(f"CREATE TABLE bench.`{table}` ({columns})")
            cur.execute(f"INSERT INTO bench.`{table}` SELECT {values} FROM seq_1_to_{int(rows)}")
            cur.execute(f"ANALYZE TABLE bench.`{table}`")
            cur.fetchall()
    conn.close()
    print(f"(j) {rows} rows per table: WRU estimated by the plan against WRU the load consumed")
    for table in ESTIMATE_SHAPES:
        report = os.path.join(REPO, ".stack", f"bench-{table}.json")
        run_job(
            endpoint,
            rows,
            table,
            ["--report", report + ".declared", "--dry-run"] + ["--set", "dynamodb.estimate_sample_rows=0"],
        )
        run_job(endpoint, rows, table, ["--report", report + ".sampled", "--dry-run"])
        run_job(endpoint, rows, table, ["--report", report])
        with open(report + ".declared") as handle:
            declared = json.load(handle)["tables"][0]["estimate"]
        with open(report + ".sampled") as handle:
            sampled = json.load(handle)["tables"][0]["estimate"]
        with open(report) as handle:
            result = json.load(handle)["tables"][0]
        consumed = result["write_units"]
        per_item = consumed / max(1, result["items_written"])
        print(
            f"    {table:12} consumed {consumed:>7,} WRU ({per_item:.2f} per item); sampled items "
            f"{sampled['write_units']:>7,} ({sampled['write_units'] / consumed:.2f} of consumed, "
            f"{sampled['write_units'] / max(1, sampled['items']):.2f} per item, {sampled['items']:,} rows "
            f"estimated); declared types {declared['write_units']:>7,} ({declared['write_units'] / consumed:.2f})"
        )


def import_vs_write(endpoint: str, rows: int) -> None:
    """(f): one table by both load modes; then the plan's estimate scaled to 1M and 1B rows."""
    from jobs.config import Config
    from mapping import cost

    make_table(rows, "import_rows")
    report = os.path.join(REPO, ".stack", "bench-import.json")
    write_rate, _ = run_job(endpoint, rows, "import_rows", ["--report", report])
    with open(report) as handle:
        shape = json.load(handle)["tables"][0]["estimate"]
    port = free_port()
    moto = subprocess.Popen(
        [
            os.path.join(env("M2D_VENV", os.path.join(REPO, ".venv")), "bin", "python"),
            os.path.join(REPO, "local", "moto_server.py"),
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    moto_endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_listening(port)
        import boto3

        boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket="bench")
        os.environ["AWS_ENDPOINT_URL_S3"] = moto_endpoint
        import_rate, _ = run_job(
            moto_endpoint,
            rows,
            "import_rows",
            ["--load-mode", "import", "--staging", "s3://bench/staging", "--report", report],
        )
        with open(report) as handle:
            imported = json.load(handle)["tables"][0]
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_S3", None)
        moto.send_signal(2)
        moto.wait(30)
    print(
        f"(f) {rows} rows: write mode {write_rate:,.0f} rows/s (dynalite), import mode {import_rate:,.0f} rows/s "
        f"(staging + moto's ImportTable, one Python thread); import / write = {import_rate / write_rate:.2f}"
    )
    print(
        f"    staged {imported['items_staged']} items, {imported['imported']['ImportedItemCount']} imported; "
        f"planned {shape['item_bytes']} bytes per item and {shape['import_bytes'] / max(1, shape['items']):.0f} "
        f"staged bytes per item, staged {imported['bytes_staged'] / max(1, imported['items_staged']):.0f}"
    )
    config = Config()
    per_item = max(1, shape["items"])
    sizes = cost.ItemSizes(
        shape["basis"], shape["item_bytes"], shape["write_units"] / per_item, shape["import_bytes"] / per_item
    )
    for count in (1_000_000, 1_000_000_000):
        e = cost.estimate(count, sizes, config.dynamodb.on_demand_wcu, config.price_list)
        print(
            f"    {count:>13,} rows at AWS prices ({config.prices.as_of}): write ${e.write_usd:,.2f} "
            f"({e.write_units:,} WRU, {e.write_seconds / 3600:,.1f} h at {e.write_rate:,.0f} WCU/s), "
            f"import ${e.import_usd:,.2f} ({e.import_bytes / 1024**3:,.1f} GB); "
            f"write / import = {e.write_usd / e.import_usd:.1f}"
        )


def write_budget(endpoint: str, rows: int) -> None:
    """(g): what the default pacing costs on this machine, and the budget used through the proxy."""
    make_table(rows, "budget_rows")
    default_rate, _ = run_job(endpoint, rows, "budget_rows", ["--set", "dynamodb.on_demand_wcu=4000"])
    uncapped, _ = run_job(endpoint, rows, "budget_rows")
    print(
        f"(g) {rows} rows: defaults (4,000 WCU/s) {default_rate:,.0f} rows/s, uncapped {uncapped:,.0f} rows/s; "
        f"defaults / uncapped = {default_rate / uncapped:.2f}"
    )
    conn = connect("bench")
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS budget_proxy")
        cur.execute("CREATE TABLE budget_proxy (id INT PRIMARY KEY, payload VARCHAR(3000))")
        cur.execute(
            "INSERT INTO budget_proxy SELECT seq, CONCAT(LPAD(seq, 8, '0'), '-', REPEAT('p', 2500)) FROM seq_0_to_2999"
        )
        cur.execute("ANALYZE TABLE budget_proxy")
        cur.fetchall()
    conn.close()
    port = free_port()
    proxy = subprocess.Popen(
        [
            os.path.join(env("M2D_VENV", os.path.join(REPO, ".venv")), "bin", "python"),
            os.path.join(REPO, "local", "throttle_proxy.py"),
            "--port",
            str(port),
            "--upstream",
            endpoint,
            "--wcu",
            "500",
            "--unprocessed",
            "0.3",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        run_job(
            f"http://127.0.0.1:{port}",
            3000,
            "budget_proxy",
            ["--rows-per-partition", "375", "--set", "dynamodb.on_demand_wcu=500"],
        )
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as response:
            stats = json.load(response)["bench_budget_proxy"]
    finally:
        proxy.terminate()
        proxy.wait(10)
    used = stats["consumed"] / ((stats["last"] - stats["first"]) * 500)
    print(
        f"    through the proxy (500 WCU/s, 30% unprocessed, {len(os.sched_getaffinity(0))} core(s)): "
        f"{stats['consumed']} WCU in "
        f"{stats['last'] - stats['first']:.1f}s = {used:.0%} of the budget, tail included; "
        f"last 7 s {stats['per_second'][-7:]}, {stats['throttled']} of {stats['calls']} calls throttled"
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int) -> None:
    import socket

    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"bench: nothing listens on {port}")


def reads_comparison(endpoint: str, rows: int) -> None:
    """(d): the same rows keyed by BIGINT and by UUID CHAR(36), each loaded once by the job."""
    figures = {}
    for table, key, key_value in (("rows", "BIGINT", "seq"), ("uuid_rows", "CHAR(36)", "UUID()")):
        make_table(rows, table, key, key_value)
        before = handler_reads()
        rate, _ = run_job(endpoint, rows, table)
        figures[key] = (rate, (handler_reads() - before) / rows)
        print(f"(d) {key} key, {rows} rows: {rate:,.0f} rows/s, {figures[key][1]:.3f} rows read per row loaded")
    print(f"    UUID / BIGINT rows/s = {figures['CHAR(36)'][0] / figures['BIGINT'][0]:.2f}")


if __name__ == "__main__":
    main()
