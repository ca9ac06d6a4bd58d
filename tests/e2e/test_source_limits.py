"""Issue 20: the cluster used, the source protected. A table big enough is read in a few
partitions per task slot, progress moves inside a partition, and a cluster with more task
slots than the server has connections to spare holds no more reads open than its bound."""

import re
import threading

import pytest

from tests.e2e.stack import canonical, dynamo_items, present, run_job, source_rows


def test_a_big_table_gets_partitions_for_every_slot_and_progress_moves_inside_one(stack, tmp_path):
    stack.fresh_database(
        "part_db",
        "CREATE TABLE big (id INT PRIMARY KEY, v INT)",
        "INSERT INTO big SELECT seq, seq % 7 FROM seq_1_to_200000",
        "CREATE TABLE paced (id INT PRIMARY KEY, v VARCHAR(20))",
        "INSERT INTO paced SELECT seq, CONCAT('v', seq) FROM seq_1_to_12000",
        "ANALYZE TABLE big, paced",
    )
    planned = run_job(
        stack, ["--database", "part_db", "--tables", "big", "--dry-run", "--set", "spark.task_slots=2"], tmp_path
    )
    assert planned.code == 0, planned.output[-3000:]
    assert planned.table("part_db.big")["partitions"].startswith("6 partitions on (id)")  # it was 2

    # 12,000 rows are one read (under twice min_partition_rows), written at 3,000 WCU/s: 4 s in
    # one partition, with a progress line every second.
    args = ["--database", "part_db", "--tables", "paced", "--no-verify"]
    args += ["--set", "spark.progress_seconds=1", "--set", "dynamodb.on_demand_wcu=3000"]
    run = run_job(stack, args, tmp_path)
    assert run.code == 0, run.output[-3000:]
    assert run.table("part_db.paced")["partitions"] == "1 partition"
    inside = [
        int(m.group(1))
        for m in re.finditer(r"progress part_db\.paced: (\d+)/\d+ rows \(\d+%\), 0/1 partitions", run.output)
    ]
    assert any(0 < rows < 12000 for rows in inside), inside  # it said "0/12000 rows" until the end
    assert len(dynamo_items(stack.dynamodb(), "part_db_paced")) == 12000


@pytest.mark.parametrize("asked, allowed, slots", [(0, 20, 12), (40, 10, 10)])
def test_more_task_slots_than_the_source_allows_hold_no_more_reads_than_the_bound(
    stack, tmp_path, asked, allowed, slots
):
    """asked 0: the bound the job chooses (half of the server's free connections), under the
    12 task slots; 40: more reads than the server allows, asked by the user: refused reads wait
    and are tried again with fewer at once, and the table still completes."""
    stack.fresh_database(
        "limit_db",
        "CREATE TABLE wide (id INT PRIMARY KEY, body VARCHAR(1200))",
        "INSERT INTO wide SELECT seq, REPEAT(CHAR(65 + seq % 26), 1000) FROM seq_1_to_5000",
        "ANALYZE TABLE wide",
    )
    admin = stack.connect()
    reads_seen, stop = [], threading.Event()

    def sample() -> None:
        watcher = stack.connect()
        with watcher.cursor() as cur:
            while not stop.is_set():
                cur.execute(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                    "WHERE ID <> CONNECTION_ID() AND INFO LIKE '%m2d\\_src%'"
                )
                reads_seen.append(cur.fetchone()[0])
                stop.wait(0.005)  # each read lasts its partition's writes (~0.5 s): sampled often, not in a busy loop
        watcher.close()

    sampler = threading.Thread(target=sample)
    with admin.cursor() as cur:
        cur.execute("SELECT @@max_connections")
        (before,) = cur.fetchone()
        cur.execute(f"SET GLOBAL max_connections = {allowed}")
    sampler.start()
    try:
        args = ["--database", "limit_db", "--rows-per-partition", "160", "--set", "mysql.fetch_size=50"]
        args += ["--set", f"mysql.max_concurrent_reads={asked}", "--no-verify"]  # the items are compared below
        run = run_job(stack, args, tmp_path, master=f"local[{slots}]")
    finally:
        stop.set()
        sampler.join()
        with admin.cursor() as cur:
            cur.execute(f"SET GLOBAL max_connections = {int(before)}")
        admin.close()
    assert run.code == 0, run.output[-3000:]
    reads = run.report["source_reads"]
    assert f"max_connections {allowed}" in reads["reason"] and reads["task_slots"] == slots, reads
    if asked:
        assert "the source refused a connection" in run.output
    else:
        assert reads["bounded"] and reads["bound"] <= 9, reads
        # The server's own view never exceeds the bound; a sampler can miss short reads, so that
        # reads happened at all is the job's count (a CI run once sampled none)
        assert max(reads_seen, default=0) <= reads["bound"], (max(reads_seen), reads)
        assert 0 < reads["most_held"] <= reads["bound"], reads
    result = run.table("limit_db.wide")
    assert int(result["partitions"].split()[0]) >= slots, result["partitions"]  # more than reads allowed at once
    assert result["status"] == "completed", result
    assert canonical(dynamo_items(stack.dynamodb(), "limit_db_wide")) == canonical(
        present(r) for r in source_rows(stack, "limit_db", "wide")
    )
