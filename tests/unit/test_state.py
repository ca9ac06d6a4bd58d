import json
import threading

import pytest

from jobs.state import CHECK_FAILED, DONE, FAILED, LOADING, WRITTEN, State, remaining, resume_point
from mapping.partitioning import Partitioning

SPLIT = Partitioning("range", ("`id`",), ("`m2d_k0` < 5", "`m2d_k0` >= 5"), "2 partitions")


def test_concurrent_tables_save_one_consistent_manifest(tmp_path):
    state = State(str(tmp_path / "state"))

    def one_table(n):
        state.start_table(("db", f"t{n}"), f"db_t{n}", f"id-{n}", SPLIT, {})
        state.record_partitions(("db", f"t{n}"), [{"partition": 1, "rows": 5}])
        state.set_status(("db", f"t{n}"), DONE)

    threads = [threading.Thread(target=one_table, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    saved = json.loads((tmp_path / "state" / "manifest.json").read_text())
    assert len(saved["tables"]) == 16 and all(t["status"] == DONE for t in saved["tables"])
    reloaded = State.load(str(tmp_path / "state"))
    assert reloaded.entry(("db", "t3"))["finished"] == {"1": {"partition": 1, "rows": 5}}


def test_tables_that_print_alike_have_their_own_entries(tmp_path):
    state = State(str(tmp_path))
    state.start_table(("dotdb", "b.c"), "dotdb_b.c", "id-1", SPLIT, {})
    state.start_table(("dotdb.b", "c"), "dotdb.b_c", "id-2", SPLIT, {})
    state.set_status(("dotdb", "b.c"), DONE)
    reloaded = State.load(str(tmp_path))
    assert reloaded.entry(("dotdb", "b.c"))["status"] == DONE
    assert reloaded.entry(("dotdb.b", "c"))["status"] == LOADING


LAYOUT = "HASH id [primary key]; attributes id, v; null as absent"


def entry(status, table_id="id-1", target="db_t", finished=None, trusted=True, layout=LAYOUT):
    return {
        "database": "db",
        "table": "t",
        "target": target,
        "table_id": table_id,
        "status": status,
        "strategy": SPLIT.strategy,
        "split_columns": list(SPLIT.split_columns),
        "predicates": list(SPLIT.predicates),
        "description": SPLIT.description,
        "partitions_trusted": trusted,
        "layout": layout,
        "finished": finished or {},
    }


def test_resume_trusts_an_entry_only_for_the_same_dynamodb_table():
    recreated = resume_point(entry(DONE, table_id="old"), "db_t", "new", verify=True, partitions_trusted=True)
    assert recreated.action == "load" and not recreated.finished and "recreated" in recreated.note
    partial = entry(LOADING, finished={"0": {"partition": 0, "rows": 5}})
    moved = resume_point(partial, "other_target", "id-1", verify=True, partitions_trusted=True)
    assert moved.action == "load" and not moved.finished


def test_resume_never_turns_an_unverified_or_failed_check_into_done():
    assert resume_point(entry(DONE), "db_t", "id-1", verify=True, partitions_trusted=True).action == "verify"
    assert resume_point(entry(WRITTEN), "db_t", "id-1", verify=True, partitions_trusted=True).action == "verify"
    assert resume_point(entry(DONE), "db_t", "id-1", verify=False, partitions_trusted=True).action == "done"
    again = resume_point(
        entry(CHECK_FAILED, finished={"0": {"partition": 0}}), "db_t", "id-1", verify=False, partitions_trusted=True
    )
    assert again.action == "load" and again.partitioning is None and not again.finished


def test_resume_continues_a_failed_load_with_the_saved_split():
    point = resume_point(
        entry(FAILED, finished={"1": {"partition": 1, "rows": 5}}),
        "db_t",
        "id-1",
        verify=True,
        partitions_trusted=True,
        layout=LAYOUT,
    )
    assert point.action == "load" and point.partitioning == SPLIT and set(point.finished) == {1}
    untrusted = resume_point(
        entry(FAILED, finished={"1": {"partition": 1}}), "db_t", "id-1", verify=True, partitions_trusted=False
    )
    assert untrusted.action == "load" and not untrusted.finished


def test_resume_trusts_partitions_only_when_the_run_that_wrote_them_did_too():
    """Issue 19, defect 4: whether partitions map to rows is decided again each run (a HASH-value
    cap depends on the target rate); what the writing run decided is what counts."""
    finished = {"1": {"partition": 1}}
    spread = resume_point(entry(FAILED, finished=finished, trusted=False), "db_t", "id-1", True, True, LAYOUT)
    assert spread.action == "load" and not spread.finished and "regrouped across its read partitions" in spread.note
    other = resume_point(entry(FAILED, finished=finished), "db_t", "id-1", True, True, LAYOUT.replace("v", "w"))
    assert other.action == "load" and not other.finished and "another layout" in other.note
    older = entry(FAILED, finished=finished)
    del older["partitions_trusted"]  # an entry of a version that did not record it
    assert not resume_point(older, "db_t", "id-1", True, True, LAYOUT).finished


def test_an_older_manifest_layout_is_not_trusted(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"tables": {"db.t": {"status": "done"}}}))
    assert State.load(str(tmp_path)).entries == {}


def test_remaining_partitions():
    partitioning = Partitioning("range", ("`id`",), ("a", "b", "c"), "")
    assert remaining(partitioning, {0, 2}) == [1]
    assert remaining(Partitioning("single", (), (), ""), set()) == [0]


def test_a_resumed_table_keeps_the_position_of_the_run_whose_partitions_it_holds(tmp_path):
    """Issue 18, defect 2: the rows of kept partitions were read from the first run's position."""
    first, second = {"binlog_file": "b.1", "binlog_position": 100}, {"binlog_file": "b.1", "binlog_position": 900}
    state = State(str(tmp_path))
    state.start_table(("db", "t"), "db_t", "id-1", SPLIT, {}, first)
    state.record_partitions(("db", "t"), [{"partition": 0, "rows": 5}])
    resumed = State.load(str(tmp_path))
    resumed.start_table(("db", "t"), "db_t", "id-1", SPLIT, {0: {"partition": 0, "rows": 5}}, second)
    assert resumed.catch_up_from(("db", "t")) == first
    resumed.start_table(("db", "t"), "db_t", "id-1", SPLIT, {}, second)  # loaded whole again: its own
    assert resumed.catch_up_from(("db", "t")) == second


def test_catch_up_positions_are_per_table_and_a_reload_resets_only_its_table(tmp_path):
    state = State(str(tmp_path))
    for table in ("a", "b"):
        state.start_table(("db", table), f"db_{table}", "id", SPLIT, {}, {"binlog_file": "b.1", "binlog_position": 10})
    state.record_applied([("db", "a")], {"binlog_file": "b.1", "binlog_position": 50})
    state.mark_needs_reload(("db", "b"), "ALTER TABLE b")
    reloaded = State.load(str(tmp_path))
    assert reloaded.catch_up_from(("db", "a"))["binlog_position"] == 50
    assert reloaded.catch_up_from(("db", "b"))["binlog_position"] == 10
    assert reloaded.needs_reload(("db", "b")) == "ALTER TABLE b"
    reloaded.start_table(("db", "b"), "db_b", "id", SPLIT, {}, {"binlog_file": "b.1", "binlog_position": 70})
    assert reloaded.needs_reload(("db", "b")) is None and reloaded.catch_up_from(("db", "b"))["binlog_position"] == 70
    assert reloaded.catch_up_from(("db", "a"))["binlog_position"] == 50


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"version": 3, "tables": [{"db": 1}]}'])
def test_a_manifest_the_job_did_not_write_is_one_line_naming_the_file(tmp_path, text):
    from jobs.errors import ConfigError, one_line

    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ConfigError) as raised:
        State.load(str(tmp_path))
    assert one_line(raised.value).startswith(f"state file {tmp_path}/manifest.json is not a manifest this job wrote")


def test_a_table_that_failed_before_its_load_started_gets_no_entry(tmp_path):
    """Issue 22, defect 4: a KeyError here lost the whole report (a missing bucket, a refused prefix)."""
    state = State(str(tmp_path))
    state.set_status(("db", "t"), FAILED)
    assert state.entries == {}
