"""Live verification's whole comparison (per bucket, then the differing buckets key by key), on
fake sides and snapshots: what it finds, how much it holds at once, and how it judges."""

import contextlib
import threading
from types import SimpleNamespace

import pytest

from jobs.catchup import live_verify, spread
from jobs.catchup.follower_view import FollowerView
from jobs.catchup.live_verify import LiveVerifier
from jobs.catchup.verify_sides import Pace, ReadCount
from mapping import comparison
from mapping.binlog import Position
from mapping.live_verify import DIFFERENT, EXTRA, MISSING, PENDING, REAL, TableVerification

TABLE = ("db", "t")
ROWS = 20_000


class FakeSides:
    """A keyed table of ROWS rows; DynamoDB as given. Counts what each read holds."""

    def __init__(self, source, target):
        self.source, self.target = source, target
        self.keyed = True
        self.plan = SimpleNamespace(source=SimpleNamespace(estimated_rows=len(source)))
        self.contents = {}
        self.read = ReadCount("db.t", 0)
        self.source_pace, self.target_pace = Pace(0), Pace(0)
        self.source_reads = 0
        self.largest_kept = 0

    def source_pairs(self, keep=None):
        self.source_reads += 1
        kept = 0
        for pair in self.source.items():
            if keep is not None and keep(pair[0]):
                kept += 1
            yield pair
        self.largest_kept = max(self.largest_kept, kept)

    def target_all(self):
        for key, digest in self.target.items():
            yield key, digest, {"id": key}

    def rendered_row(self, item):
        return dict(item)


class Snapshots:
    """consistent_snapshot's stand-in: each snapshot one position later than the last."""

    def __init__(self):
        self.taken = []

    @contextlib.contextmanager
    def __call__(self, conn):
        low = Position("binlog.000001", 100 * (len(self.taken) + 1))
        self.taken.append(low)
        yield SimpleNamespace(low=low, high=low)


def verifier(sides, view):
    v = LiveVerifier.__new__(LiveVerifier)
    v.conn, v.view, v.repair = None, view, False
    v.sides = {TABLE: sides}
    v.tables = {TABLE: TableVerification("db.t")}
    v.lock = threading.Lock()
    v.repairs_asked = {TABLE: set()}
    v.spread = None
    return v


@pytest.fixture
def snapshots(monkeypatch):
    taken = Snapshots()
    monkeypatch.setattr(live_verify, "consistent_snapshot", taken)
    monkeypatch.setattr(live_verify, "current_position", lambda conn: Position("binlog.000001", 10_000))
    return taken


def settled_view():
    view = FollowerView()
    view.settled(Position("binlog.000009", 4))
    return view


def tables():
    source = {f'["{n}"]': n * 7919 for n in range(ROWS)}
    target = dict(source)
    target['["11"]'] += 1
    del target['["222"]']
    target['["extra"]'] = 5
    return source, target


def test_equal_sides_are_read_once_and_hold_no_keys(snapshots):
    source, _ = tables()
    sides = FakeSides(source, dict(source))
    whole = verifier(sides, settled_view())._both_whole(None, sides)
    assert whole.found == {} and whole.compared == ROWS
    assert sides.source_reads == 1 and len(snapshots.taken) == 1


def test_differences_are_found_in_their_buckets_a_few_at_a_time(snapshots, monkeypatch):
    monkeypatch.setattr(comparison, "KEYS_PER_READ", 50)
    monkeypatch.setattr(comparison, "ROWS_PER_BUCKET", 40)  # 512 buckets of ~40 keys: one per read
    source, target = tables()
    sides = FakeSides(source, target)
    whole = verifier(sides, settled_view())._both_whole(None, sides)
    assert whole.found == {'["11"]': DIFFERENT, '["222"]': MISSING, '["extra"]': EXTRA}
    assert whole.compared == ROWS + 1
    assert whole.low == snapshots.taken[0]  # judged against the first snapshot
    assert sides.source_reads == 1 + 3  # the summaries, then each differing bucket on its own
    assert sides.largest_kept < 100  # never the table's keys


def test_a_key_the_follower_wrote_after_the_snapshot_is_pending_the_others_real(snapshots):
    source, target = tables()
    sides = FakeSides(source, target)
    view = settled_view()
    view.position = Position("binlog.000001", 150)  # after the first snapshot (at 100)
    view.touch(TABLE, '["11"]')
    v = verifier(sides, view)
    v._whole(TABLE)
    state = v.tables[TABLE]
    verdicts = dict.fromkeys(state.differences, REAL) | dict.fromkeys(state.pending, PENDING)
    assert verdicts == {'["11"]': PENDING, '["222"]': REAL, '["extra"]': REAL}


def repaired_while_dynamodb_is_read(key: str) -> LiveVerifier:
    """A verifier whose follower repairs `key` once the first comparison has read DynamoDB, at
    the snapshot's own position (a fenced source's position no longer moves)."""
    sides, view = FakeSides(*tables()), settled_view()
    read, done = sides.target_all, []

    def target_all():
        yield from read()
        if done:
            return
        done.append(key)
        view.begin_repairs()
        view.position = Position("binlog.000001", 100)
        view.touch(TABLE, key)
        view.repaired([TABLE])

    sides.target_all = target_all
    return verifier(sides, view)


def test_a_background_pass_that_read_dynamodb_before_a_repair_does_not_bring_its_difference_back(snapshots):
    v = repaired_while_dynamodb_is_read('["11"]')
    v.repass_conn = object()
    v._compare_again(TABLE, v.sides[TABLE])
    assert set(v.tables[TABLE].differences) == {'["222"]', '["extra"]'}  # not the repaired key


def test_a_key_repaired_while_a_comparison_reads_is_compared_again(snapshots):
    v = repaired_while_dynamodb_is_read('["11"]')
    v._whole(TABLE)
    state = v.tables[TABLE]
    verdicts = dict.fromkeys(state.differences, REAL) | dict.fromkeys(state.pending, PENDING)
    assert verdicts == {'["11"]': PENDING, '["222"]': REAL, '["extra"]': REAL}
    v._whole(TABLE)  # a repair done before a comparison begins is what it reads
    assert '["11"]' in v.tables[TABLE].differences


def test_a_table_within_the_keys_one_read_may_hold_is_compared_without_a_second_read(snapshots):
    source, target = tables()
    sides = FakeSides(source, target)
    whole = verifier(sides, settled_view())._both_whole(None, sides)
    assert whole.found == {'["11"]': DIFFERENT, '["222"]': MISSING, '["extra"]': EXTRA}
    assert sides.source_reads == 1 and len(snapshots.taken) == 1


# ---- spread over the cluster: partitions in snapshots of their own, tasks faked in-process ----

PARTS = 3  # partition n holds keys n, n + 3, n + 6, ...; its snapshot is at 100 * (n + 1)


def part_low(number):
    return Position("binlog.000001", 100 * (number + 1))


class FakeTasks:
    """spread's four task functions over in-memory sides; counts what each chunk read holds."""

    def __init__(self, source, target):
        self.source, self.target = source, target
        self.largest_read = 0

    def part_pairs(self, number):
        return [(key, digest) for key, digest in self.source.items() if int(key[2:-2]) % PARTS == number]

    def source_summary(self, task, parts):
        summary, spans = comparison.Summary(task.buckets), {}
        for number, _ in parts:
            summary.merge(comparison.summarize(self.part_pairs(number), task.buckets))
            spans[number] = SimpleNamespace(low=part_low(number), high=part_low(number))
        return summary, spans

    def source_keys(self, task, parts, chosen):
        found = [
            (key, (digest, number, None))
            for number, _ in parts
            for key, digest in self.part_pairs(number)
            if comparison.in_buckets(key, chosen, task.buckets)
        ]
        self.largest_read = max(self.largest_read, len(found))
        return found

    def segment(self, segment, segments):
        return [(k, d) for n, (k, d) in enumerate(sorted(self.target.items())) if n % segments == segment]

    def target_summary(self, task, segment, segments):
        return comparison.summarize(self.segment(segment, segments), task.buckets)

    def target_keys(self, task, segment, segments, chosen):
        pairs = self.segment(segment, segments)
        return [(k, (d, None)) for k, d in pairs if comparison.in_buckets(k, chosen, task.buckets)]


@pytest.fixture
def spread_tasks(monkeypatch):
    source, target = tables()
    fake = FakeTasks(source, target)
    for name in ("source_summary", "source_keys", "target_summary", "target_keys"):
        monkeypatch.setattr(spread, name, getattr(fake, name))
    monkeypatch.setattr(live_verify, "current_position", lambda conn: Position("binlog.000001", 10_000))
    return fake


def spread_verifier(view, tasks=2):
    plan = SimpleNamespace(
        name="db.t", source=SimpleNamespace(estimated_rows=ROWS), key=SimpleNamespace(synthesized_hash=False)
    )
    sides = FakeSides({}, {})
    sides.plan = plan

    def prepare(plan, buckets, conn):
        task = spread.PassTask(None, "", plan, "absent", None, "r", buckets, 0, 0)
        return task, spread.task_parts([f"part {n}" for n in range(PARTS)], tasks)

    v = verifier(sides, view)
    v.spread = spread.Spread(spread.LocalRunner(), segments=4, min_rows=1, prepare=prepare)
    return v


def test_a_spread_pass_finds_every_difference_reading_again_only_the_differing_buckets(spread_tasks, monkeypatch):
    monkeypatch.setattr(comparison, "ROWS_PER_BUCKET", 40)  # 512 buckets of ~40 keys
    v = spread_verifier(settled_view())
    whole = v._both_whole(None, v.sides[TABLE])
    assert whole.found == {'["11"]': DIFFERENT, '["222"]': MISSING, '["extra"]': EXTRA}
    assert whole.compared == ROWS + 1 and whole.low == part_low(0)  # the earliest partition's
    assert whole.lows == {'["11"]': part_low(2), '["222"]': part_low(0), '["extra"]': part_low(0)}
    assert spread_tasks.largest_read < 3 * 100  # the three differing buckets' keys, not the table's


def test_a_spread_pass_judges_each_key_against_its_own_partitions_snapshot(spread_tasks):
    view = settled_view()
    view.position = Position("binlog.000001", 250)  # after partition 0's and 1's snapshots, before 2's
    view.touch(TABLE, '["11"]')  # partition 2 (11 % 3): read after this change, so its difference is real
    view.touch(TABLE, '["222"]')  # partition 0: changed after its snapshot, so pending
    v = spread_verifier(view)
    v._whole(TABLE)
    state = v.tables[TABLE]
    verdicts = dict.fromkeys(state.differences, REAL) | dict.fromkeys(state.pending, PENDING)
    assert verdicts == {'["11"]': REAL, '["222"]': PENDING, '["extra"]': REAL}


def test_spread_tasks_never_outnumber_the_reads_the_source_allows():
    parts = spread.task_parts([f"p{n}" for n in range(10)], 3)
    assert len(parts) == 3 and sorted(n for group in parts for n, _ in group) == list(range(10))
    assert spread.task_parts([None], 8) == [[(0, None)]]


def test_a_long_pass_logs_what_it_has_read_so_far(caplog, monkeypatch):
    clock = iter(range(0, 1000, 4))  # each look at the clock 4 s later
    monkeypatch.setattr("jobs.catchup.verify_sides.time.monotonic", lambda: next(clock))
    read = ReadCount("db.t", 10)
    with caplog.at_level("INFO", logger="mysql2dynamodb"):
        for _ in range(3):  # at 4, 8 and 12 s: logged at 12
            read.add(rows=100)
        for _ in range(3):  # at 16, 20 and 24 s: logged at 24
            read.add(items=200)
    lines = [r.getMessage() for r in caplog.records if "so far" in r.getMessage()]
    assert lines == [
        "live verify: db.t whole pass: 300 source rows and 0 DynamoDB items read so far (25/s)",
        "live verify: db.t whole pass: 300 source rows and 600 DynamoDB items read so far (38/s)",
    ]


def test_a_spread_pass_reads_count_against_the_pace_the_rounds_share(spread_tasks):
    v = spread_verifier(settled_view())
    sides = v.sides[TABLE]
    v._both_whole(None, sides)
    # the summaries, then the differing buckets read again once
    assert (sides.source_pace.taken, sides.target_pace.taken) == (2 * ROWS, 2 * ROWS)


def test_rounds_never_wait_on_the_pace_the_whole_passes_wait_out_their_reads_too(monkeypatch):
    slept = []
    monkeypatch.setattr("jobs.catchup.verify_sides.time.monotonic", lambda: 0.0)
    monkeypatch.setattr("jobs.catchup.verify_sides.time.sleep", slept.append)
    pace = Pace(1000)
    pace.take(5000, wait=False)  # a round (or a background pass's debt) at 5,000 a second's worth
    assert slept == []
    pace.take(1000)  # the next whole-pass read waits for both
    assert slept == [6.0]
