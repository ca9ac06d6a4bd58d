import pytest

from jobs.config import Config, merge
from jobs.load.frames import task_slots
from mapping.partitioning import partition_count


@pytest.mark.parametrize("cores", [1, 2, 4, 8])
def test_the_dry_run_split_depends_on_the_configured_slots_not_the_machine(monkeypatch, cores):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    pinned = merge(Config(), {"spark": {"task_slots": 2}}, "test")
    assert task_slots(pinned, None) == 2
    assert partition_count(500, 100, 2000, task_slots(pinned, None)) == 6  # what the dry-run e2e test expects
    assert task_slots(Config(), None) == cores  # automatic: the machine's cores stand in for the task slots


def test_a_running_spark_gives_its_parallelism_unless_slots_are_configured():
    class FakeContext:
        defaultParallelism = 5

    class FakeSpark:
        sparkContext = FakeContext()

    assert task_slots(Config(), FakeSpark()) == 5
    assert task_slots(merge(Config(), {"spark": {"task_slots": 3}}, "test"), FakeSpark()) == 3
