"""Live verification's whole comparison (per bucket, then the differing buckets key by key), on
fake sides and snapshots: what it finds, how much it holds at once, and how it judges."""

import contextlib
import threading
from types import SimpleNamespace

import pytest

from jobs.catchup import live_verify
from jobs.catchup.follower_view import FollowerView
from jobs.catchup.live_verify import LiveVerifier
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


def test_a_table_within_the_keys_one_read_may_hold_is_compared_without_a_second_read(snapshots):
    source, target = tables()
    sides = FakeSides(source, target)
    whole = verifier(sides, settled_view())._both_whole(None, sides)
    assert whole.found == {'["11"]': DIFFERENT, '["222"]': MISSING, '["extra"]': EXTRA}
    assert sides.source_reads == 1 and len(snapshots.taken) == 1
