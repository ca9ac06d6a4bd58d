"""Live verification's rules (mapping.live_verify), the follower's view of what it applied, and
the key columns behind an item key."""

import json
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.catchup.follower_view import FollowerView, RecordingWriter
from jobs.cli import config_from_args
from jobs.errors import ConfigError
from mapping.binlog import Position
from mapping.keys import KeySchema, encode_composite, key_column_values
from mapping.live_verify import (
    DIFFERENT,
    EQUAL,
    EXTRA,
    MISSING,
    PENDING,
    REAL,
    TableVerification,
    cut_over,
    judge,
    key_text,
    problem,
    unsettled,
)


def at(pos: int, file: str = "binlog.000001") -> Position:
    return Position(file, pos)


def test_a_problem_names_which_side_is_wrong():
    assert problem(5, 5) is None
    assert problem(5, None) == MISSING
    assert problem(None, 5) == EXTRA
    assert problem(5, 6) == DIFFERENT
    assert problem(None, None) is None  # neither side holds the key: equal


def test_a_difference_the_follower_wrote_since_the_read_is_pending_otherwise_real():
    assert judge(None, touched_since_read=True) == EQUAL
    assert judge(DIFFERENT, touched_since_read=True) == PENDING
    assert judge(DIFFERENT, touched_since_read=False) == REAL


def test_a_round_keeps_a_real_difference_until_its_key_compares_equal():
    table = TableVerification("db.t")
    table.record(at(100), {'["1"]': (REAL, DIFFERENT)}, whole=10)
    assert table.status() == "differs" and not table.verified
    table.record(at(200), {'["2"]': (EQUAL, None)}, whole=None)  # other keys changed and compared
    assert table.differences == {'["1"]': (DIFFERENT, at(100))}
    table.record(at(300), {'["1"]': (EQUAL, None)}, whole=None)  # repaired, compared again
    assert table.verified and table.verified_through == at(300)


def test_a_pending_key_holds_verification_until_a_later_comparison():
    table = TableVerification("db.t")
    table.record(at(100), {'["1"]': (PENDING, MISSING)}, whole=10)
    assert not table.verified and table.status() == "verifying"
    table.record(at(150), {'["1"]': (EQUAL, None)}, whole=None)
    assert table.verified and table.keys_compared == 11


def test_a_whole_comparison_replaces_what_was_open():
    table = TableVerification("db.t")
    table.record(at(100), {'["1"]': (PENDING, MISSING), '["2"]': (REAL, EXTRA)}, whole=10)
    table.record(at(200), {}, whole=10)  # neither key differs any more (both gone, say)
    assert table.verified and (table.passes, table.rounds) == (2, 0)


def test_the_report_shows_examples_with_their_keys():
    table = TableVerification("db.t")
    table.record(at(100), {key_text(["7"]): (REAL, DIFFERENT)}, whole=3)
    report = table.as_report(examples=5)
    assert report["status"] == "differs" and report["verified_through"] is None
    assert report["examples"] == [{"key": ["7"], "problem": DIFFERENT, "read_at": "binlog.000001:100"}]


def test_cut_over_needs_every_table_verified_through_the_last_change_and_a_small_lag():
    a, b = TableVerification("db.a"), TableVerification("db.b")
    a.record(at(100), {}, whole=1)
    assert not cut_over([a, b], 0, 5, at(90)).safe  # b never compared
    b.record(at(80), {}, whole=1)
    verdict = cut_over([a, b], 0, 5, at(90))
    assert not verdict.safe and "db.b" in verdict.why  # b verified, but before the last change
    b.record(at(120), {}, whole=None)
    assert not cut_over([a, b], 9, 5, at(90), fence=at(95)).safe  # lagging
    in_sync = cut_over([a, b], 1, 5, at(90))
    assert not in_sync.safe and in_sync.why.startswith("in sync: verified through")  # no fence: never safe
    assert cut_over([a, b], 1, 5, at(90), fence=at(95)).safe
    assert unsettled([a, b], at(110)) == ["db.a"]
    a.failed = "needs reload"
    assert not cut_over([a, b], 0, 5, at(90)).safe and unsettled([a, b], at(110)) == []


def test_positions_order_across_binlog_files():
    assert at(9999) < at(4, "binlog.000002")


def test_key_columns_behind_an_item_key():
    plain = KeySchema("id", None, "id", (), "primary key")
    pair = KeySchema("a", "b", "a", ("b",), "primary key")
    three = KeySchema("a", "_sort_key", "a", ("b", "c"), "primary key")
    keyless = KeySchema("_row_id", None, None, (), "row content")
    assert key_column_values(["7"], plain) == ("7",)
    assert key_column_values(["x", "y"], pair) == ("x", "y")
    assert key_column_values(["x", encode_composite(["p#q", "r\\s"])], three) == ("x", "p#q", "r\\s")
    assert key_column_values(["x", "only-one-part"], three) is None
    assert key_column_values(["abc"], keyless) is None


def test_the_view_says_which_keys_the_follower_wrote_after_a_position():
    view = FollowerView()
    table = ("db", "t")
    view.position = at(100)
    view.touch(table, '["1"]')
    view.position = at(200)
    view.touch(table, '["2"]')
    view.position = None  # a batch whose position is not known: after everything
    view.touch(table, '["3"]')
    assert view.touched_after(table, at(150)) == {'["2"]', '["3"]'}
    assert view.was_touched_after(table, '["1"]', at(99)) and not view.was_touched_after(table, '["1"]', at(100))
    assert not view.was_touched_after(table, '["never"]', at(0))
    view.forget_through(table, at(150))
    assert view.touched_after(table, None) == {'["2"]', '["3"]'}


def test_waiting_for_the_follower_ends_when_it_settles_past_the_position_or_stops():
    view = FollowerView()
    view.settled(at(100))
    assert view.wait_applied(at(100), timeout=0)
    threading.Timer(0.05, view.settled, args=(at(300),)).start()
    assert view.wait_applied(at(250), timeout=10)
    threading.Timer(0.05, view.stop).start()
    started = time.monotonic()
    assert not view.wait_applied(at(999), timeout=10)
    assert time.monotonic() - started < 5


def test_the_recording_writer_tells_each_key_it_writes():
    class Writer:
        def __init__(self):
            self.calls = []
            self.written = 0

        def put(self, item, size, units):
            self.calls.append(("put", item))

        def delete(self, key):
            self.calls.append(("delete", key))

    view, inner = FollowerView(), Writer()
    view.position = at(5)
    writer = RecordingWriter(inner, view, ("db", "t"), ("a", "b"))  # type: ignore[arg-type]
    writer.put({"a": {"S": "1"}, "b": {"S": "x"}, "v": {"S": "v"}}, 10, 1)
    writer.delete({"a": {"S": "2"}, "b": {"S": "y"}})
    assert [c[0] for c in inner.calls] == ["put", "delete"] and writer.written == 0
    assert view.touched_after(("db", "t"), at(4)) == {key_text(["1", "x"]), key_text(["2", "y"])}


def test_live_verification_is_asked_for_on_the_command_line():
    base = ["--database", "shop", "--catch-up"]
    assert config_from_args([*base, "--follow", "--verify"]).catch_up.verify
    assert not config_from_args([*base, "--follow"]).catch_up.verify  # --verify's default is the load's
    until = config_from_args([*base, "--until-verified"]).catch_up
    assert until.follow and until.verify and until.until_verified
    assert config_from_args([*base, "--until-verified", "--repair"]).run.repair
    with pytest.raises(ConfigError, match="catch_up.verify"):
        config_from_args([*base, "--verify"])  # without a follower
    with pytest.raises(ConfigError, match="--repair"):
        config_from_args([*base, "--repair"])  # a plain catch-up has no comparison to repair from


def test_cut_over_needs_the_fence_verified_through_and_no_prepared_xa():
    """Silence is not a fence: only verification through the position taken after the source
    became read-only makes it safe, and never while an XA transaction is prepared."""
    a = TableVerification("db.a")
    a.record(at(100), {}, whole=1)
    assert not cut_over([a], 0, 5, at(90)).safe
    fenced_later = cut_over([a], 0, 5, at(90), fence=at(130))
    assert not fenced_later.safe and "verifying through it: db.a" in fenced_later.why
    a.record(at(130), {}, whole=None)
    assert cut_over([a], 0, 5, at(90), fence=at(130)).safe
    prepared = cut_over([a], 0, 5, at(90), fence=at(130), prepared_xa=1)
    assert not prepared.safe and "XA" in prepared.why


@given(st.lists(st.one_of(st.none(), st.text()), max_size=3))
def test_key_text_is_the_json_of_the_key_values(values):
    assert key_text(values) == json.dumps(values, ensure_ascii=False)
    assert json.loads(key_text(values)) == values


@pytest.mark.parametrize("value", ['say "hi"', "back\\slash", "tab\there", "nul\x00", "\x1f", "é中🙂", "\x7f\u2028"])
def test_key_text_escapes_exactly_as_json_does(value):
    assert key_text(["1", value]) == json.dumps(["1", value], ensure_ascii=False)
