"""The catch-up's event batcher, fed fake events: where transactions end, what a batch holds,
when it is due, and the position it makes safe to save."""

import pytest

from mapping.binlog import (
    ApplyBatch,
    Batcher,
    Heartbeat,
    Position,
    Rotated,
    RowsChanged,
    Statement,
    TableNeedsReload,
    TransactionCommitted,
    ends_transaction,
    marks_savepoint,
    table_start,
    xa_statement,
)

T = ("db", "t")
OTHER = ("db", "other")


def at(pos: int, file: str = "bin.000001") -> Position:
    return Position(file, pos)


def rows(pos: int, *ids: int, table=T) -> RowsChanged:
    return RowsChanged(at(pos), table, tuple({"id": i} for i in ids), len(ids), 100.0)


def query(pos: int, text: str, schema: str = "db") -> Statement:
    return Statement(at(pos), text, schema, 100.0)


def xid(pos: int) -> TransactionCommitted:
    return TransactionCommitted(at(pos), 100.0)


def no_ddl(query_text, schema):
    return []


def batcher(batch_rows=1000, max_delay=1.0, statement_table=no_ddl) -> Batcher:
    b = Batcher({T: None, OTHER: None}, batch_rows, max_delay, statement_table)
    b.start(at(4))
    return b


def feed_all(b: Batcher, events, now=0.0):
    return [a for a in (b.feed(e, now) for e in events) if a is not None]


def test_a_batch_is_due_at_a_commit_once_enough_changes_gathered():
    b = batcher(batch_rows=3)
    assert feed_all(b, [query(10, "BEGIN"), rows(20, 1, 2), xid(30)]) == []
    actions = feed_all(b, [query(40, "BEGIN"), rows(50, 3), xid(60)])
    assert len(actions) == 1 and isinstance(actions[0], ApplyBatch)
    batch = actions[0].batch
    assert batch.through == at(60) and batch.changes == {T: 3}
    assert [i["id"] for i in batch.images[T]] == [1, 2, 3]


def test_a_small_batch_is_applied_within_the_delay_while_the_stream_is_idle():
    b = batcher(batch_rows=1000, max_delay=1.0)
    assert feed_all(b, [query(10, "BEGIN"), rows(20, 1), xid(30)], now=5.0) == []
    assert b.feed(Heartbeat(at(30)), now=5.5) is None
    action = b.feed(Heartbeat(at(30)), now=6.0)
    assert isinstance(action, ApplyBatch) and action.batch.changes == {T: 1} and action.batch.through == at(30)


@pytest.mark.parametrize("commit", ["COMMIT", "commit;", "/* app */ COMMIT", "ROLLBACK", "COMMIT WORK"])
def test_a_commit_logged_as_a_query_ends_the_transaction(commit):
    b = batcher(batch_rows=1)
    actions = feed_all(b, [query(10, "BEGIN"), rows(20, 1), query(30, commit)])
    assert len(actions) == 1 and actions[0].batch.through == at(30)


@pytest.mark.parametrize(
    "inside", ["SAVEPOINT a", "RELEASE SAVEPOINT a", "ROLLBACK TO SAVEPOINT a", "ROLLBACK WORK TO a"]
)
def test_savepoints_do_not_end_the_transaction(inside):
    assert marks_savepoint(inside) and not ends_transaction(inside)
    b = batcher(batch_rows=1)
    assert feed_all(b, [query(10, "BEGIN"), rows(20, 1), query(25, inside), rows(26, 2)]) == []
    actions = feed_all(b, [xid(30)])
    assert actions[0].batch.through == at(30) and actions[0].batch.changes == {T: 2}


def test_a_position_is_never_saved_inside_a_transaction():
    b = batcher(batch_rows=1)
    feed_all(b, [query(10, "BEGIN"), rows(20, 1), query(25, "SAVEPOINT s"), rows(26, 2)])
    rest = b.rest()  # the stream ended mid-transaction: its rows are applied, the position stays before it
    assert rest.through == at(4) and rest.changes == {T: 2}


def test_xa_prepare_does_not_end_and_the_position_stays_before_an_uncommitted_xa():
    b = batcher(batch_rows=1)
    assert xa_statement("XA PREPARE X'31',X'',1") == ("PREPARE", "X'31',X'',1")
    events = [
        query(10, "XA START X'31',X'',1"),
        rows(20, 1),
        query(25, "XA END X'31',X'',1"),
        query(30, "XA PREPARE X'31',X'',1"),
    ]
    assert feed_all(b, events) == []
    # another transaction commits meanwhile: applied, but the position stays before the XA
    actions = feed_all(b, [query(40, "BEGIN"), rows(50, 7, table=OTHER), xid(60)])
    assert actions[0].batch.changes == {OTHER: 1} and actions[0].batch.through == at(4)
    actions = feed_all(b, [query(70, "XA COMMIT X'31',X'',1")])
    assert actions[0].batch.changes == {T: 1} and actions[0].batch.through == at(70)


def test_xa_one_phase_commit_and_rollback():
    b = batcher(batch_rows=1)
    actions = feed_all(
        b, [query(10, "XA START 'a'"), rows(20, 1), query(25, "XA END 'a'"), query(30, "XA COMMIT 'a' ONE PHASE")]
    )
    assert actions[0].batch.changes == {T: 1} and actions[0].batch.through == at(30)
    actions = feed_all(
        b,
        [
            query(40, "XA START 'b'"),
            rows(50, 2),
            query(55, "XA END 'b'"),
            query(60, "XA PREPARE 'b'"),
            query(70, "XA ROLLBACK 'b'"),
        ],
    )
    assert actions == [] and b.safe_position() == at(70) and b.rest().rows == 0


def test_a_rotate_between_transactions_moves_the_position_to_the_new_file():
    b = batcher(batch_rows=1)
    feed_all(b, [query(10, "BEGIN"), rows(20, 1)])
    b.feed(Rotated(at(4, "bin.000002")), 0.0)  # inside a transaction: no move
    assert b.safe_position() == at(4)
    feed_all(b, [xid(30)])
    b.feed(Rotated(at(4, "bin.000002")), 0.0)
    assert b.safe_position() == at(4, "bin.000002")


def test_changes_of_tables_not_selected_are_not_gathered():
    b = batcher(batch_rows=1)
    actions = feed_all(b, [query(10, "BEGIN"), rows(20, 1, table=("db", "elsewhere")), xid(30)])
    assert actions == [] and b.rows_read == 0


def test_a_statement_on_a_selected_table_takes_that_table_out_and_the_others_go_on():
    def ddl(text, schema):
        return [T] if text.startswith("ALTER") else []

    b = batcher(batch_rows=1000, statement_table=ddl)
    feed_all(b, [query(10, "BEGIN"), rows(20, 1), rows(21, 9, table=OTHER), xid(30)])
    action = b.feed(query(40, "ALTER TABLE t ADD COLUMN c INT"), 0.0)
    assert isinstance(action, TableNeedsReload) and action.tables == (T,)
    assert T not in b.tables and OTHER in b.tables
    feed_all(b, [query(50, "BEGIN"), rows(60, 2), rows(61, 8, table=OTHER), xid(70)])
    rest = b.rest()
    assert rest.through == at(70) and rest.changes == {T: 1, OTHER: 2}  # T's change before the ALTER stays


def test_each_table_skips_the_changes_it_was_applied_through():
    b = Batcher({T: at(30), OTHER: None}, 1000, 1.0, no_ddl)
    b.start(at(4))
    feed_all(b, [query(10, "BEGIN"), rows(20, 1), rows(21, 7, table=OTHER), xid(30)])
    feed_all(b, [query(40, "BEGIN"), rows(50, 2), xid(60)])
    rest = b.rest()
    assert rest.changes == {T: 1, OTHER: 1} and [i["id"] for i in rest.images[T]] == [2]


def test_a_table_starts_where_it_was_applied_never_where_another_was():
    assert table_start(at(100), None) == at(100)
    assert table_start(at(100), at(300)) == at(300)  # its own later position
    assert table_start(at(300), at(100)) == at(300)  # asked to start later: as asked
    assert table_start(None, at(100)) == at(100)
    assert table_start(None, None) is None
    assert table_start(at(9, "bin.000010"), at(99999, "bin.000009")) == at(9, "bin.000010")


def test_a_statement_outside_a_transaction_ends_at_itself():
    b = batcher(batch_rows=1)
    feed_all(b, [query(10, "CREATE TABLE unrelated (id INT)")])
    assert b.safe_position() == at(10)


def test_mariadb_xa_as_it_is_logged_no_xa_start_and_a_prepare_event_with_the_raw_xid():
    """MariaDB >= 10.5: no XA START query (its GTID event opens the group), the rows, XA END, then
    an XA_PREPARE_LOG_EVENT (turned into "XA PREPARE X'..',X'..',N"); other transactions commit
    (MariaDB logs no BEGIN either); XA COMMIT comes later as a query naming the xid as typed."""
    b = batcher(batch_rows=1)
    events = [
        xid(8),
        rows(20, 1),
        query(25, "XA END X'616263',X'',1"),
        query(30, "XA PREPARE X'616263',X'',1", schema=""),
        rows(50, 7, table=OTHER),
        xid(60),
    ]
    actions = feed_all(b, events)
    assert [a.batch.changes for a in actions] == [{OTHER: 1}]  # the XA's row is not applied with them
    assert actions[0].batch.through == at(8) and b.safe_position() == at(8)  # never past the prepared XA
    assert b.rest().rows == 0  # the stream ends: a prepared XA is not applied
    b = batcher(batch_rows=1)
    feed_all(b, events)
    actions = feed_all(b, [query(70, "XA COMMIT 'abc'")])
    assert actions[0].batch.changes == {T: 1} and actions[0].batch.through == at(70)


def test_xids_are_compared_in_one_canonical_form():
    assert xa_statement("XA COMMIT 'abc'") == ("COMMIT", "X'616263',X'',1")
    assert xa_statement("XA ROLLBACK 'q','b',7") == xa_statement("XA ROLLBACK X'71',X'62',7")
    assert xa_statement("XA PREPARE 0x616263")[1] == "X'616263',X'',1"
    assert xa_statement("XA COMMIT 'a''b' ONE PHASE") == ("COMMIT", "X'612762',X'',1")


def test_a_heartbeat_with_nothing_open_is_a_transaction_end():
    """The stream's end (or a heartbeat at the live edge) moves the position past events the
    catch-up does not read, but never into an open transaction."""
    b = batcher()
    feed_all(b, [rows(20, 1), xid(30), Heartbeat(at(90))])
    assert b.safe_position() == at(90)
    feed_all(b, [rows(100, 2), Heartbeat(at(120))])
    assert b.safe_position() == at(90)
