import json
import threading

from jobs.state import DONE, State, remaining
from mapping.partitioning import Partitioning


def test_concurrent_tables_save_one_consistent_manifest(tmp_path):
    state = State(str(tmp_path / "state"))
    partitioning = Partitioning("range", "`id`", ("`m2d_part` < 5", "`m2d_part` >= 5"), "2 partitions")

    def one_table(n):
        state.start_table(f"db.t{n}", f"db_t{n}", partitioning, fresh=True)
        state.finish_table(f"db.t{n}")

    threads = [threading.Thread(target=one_table, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    saved = json.loads((tmp_path / "state" / "manifest.json").read_text())
    assert len(saved["tables"]) == 16 and all(t["status"] == DONE for t in saved["tables"].values())
    reloaded = State.load(str(tmp_path / "state"))
    assert reloaded.saved_partitioning("db.t3") == partitioning


def test_remaining_partitions():
    partitioning = Partitioning("range", "`id`", ("a", "b", "c"), "")
    assert remaining(partitioning, {0, 2}) == [1]
    assert remaining(Partitioning("single", None, (), ""), set()) == [0]
