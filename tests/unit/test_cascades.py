"""The rules for following a parent's change to the child rows a foreign key's action changed
(the binlog logs none of them), and the batcher keeping the parents' deletes and updates."""

from mapping.binlog import Batcher, Position, RowsChanged, TransactionCommitted
from mapping.cascades import DELETE, UPDATE, Edge, cascading_edges, changed_references, child_action, reaches
from mapping.schema import ForeignKey
from mapping.statements import changes_rows

PARENT, CHILD, GRAND = ("db", "parent"), ("db", "child"), ("db", "grand")


def key(columns=("pid",), parent=PARENT, parent_columns=("id",), on_delete="CASCADE", on_update="CASCADE"):
    return ForeignKey("fk", tuple(columns), parent, tuple(parent_columns), on_delete, on_update)


def test_only_keys_with_a_cascading_action_are_followed():
    edges = cascading_edges(
        {
            CHILD: [key(), key(on_delete="RESTRICT", on_update="NO ACTION")],
            GRAND: [key(on_delete="SET NULL", on_update="RESTRICT")],
        }
    )
    assert [(e.child, e.key.on_delete) for e in edges] == [(CHILD, "CASCADE"), (GRAND, "SET NULL")]


def test_deletes_and_changed_referenced_values_are_followed_and_unchanged_ones_are_not():
    edge = Edge(CHILD, key())
    pairs = [
        ({"id": 1, "name": "a"}, None),  # deleted
        ({"id": 2, "name": "b"}, {"id": 5, "name": "b"}),  # re-keyed
        ({"id": 3, "name": "c"}, {"id": 3, "name": "C"}),  # the referenced value did not change
        ({"id": None, "name": "d"}, None),  # a NULL references nothing
    ]
    old, new = changed_references(edge, pairs)
    assert old == {(1,): DELETE, (2,): UPDATE}
    assert new == [(5,)]


def test_set_null_on_update_needs_no_new_values_and_restrict_needs_nothing():
    old, new = changed_references(Edge(CHILD, key(on_update="SET NULL")), [({"id": 2}, {"id": 5})])
    assert old == {(2,): UPDATE} and new == []
    old, new = changed_references(Edge(CHILD, key(on_delete="RESTRICT", on_update="CASCADE")), [({"id": 1}, None)])
    assert old == {} and new == []


def test_a_cascade_goes_on_only_where_the_child_rows_changed_what_their_own_children_reference():
    to_child = Edge(CHILD, key())
    set_null = Edge(CHILD, key(on_delete="SET NULL"))
    by_id = Edge(GRAND, key(columns=("cid",), parent=CHILD, parent_columns=("id",)))
    by_pid = Edge(GRAND, key(columns=("cpid",), parent=CHILD, parent_columns=("pid",)))
    assert child_action(to_child, DELETE) == DELETE
    assert child_action(set_null, DELETE) == UPDATE  # the child stays, its pid becomes NULL
    assert reaches(by_id, to_child, DELETE)  # a deleted child row's own children
    assert not reaches(by_id, to_child, UPDATE)  # its pid changed, not the id its children reference
    assert reaches(by_pid, to_child, UPDATE)
    assert not reaches(Edge(GRAND, key(("cid",), CHILD, ("id",), on_delete="RESTRICT")), to_child, DELETE)


def test_the_batcher_keeps_a_parents_deletes_and_updates_even_when_it_is_not_selected():
    b = Batcher({CHILD: None}, 1, 0.0, lambda q, s: [], parents=[PARENT])
    b.start(Position("bin.1", 4))
    events = [
        RowsChanged(Position("bin.1", 10), PARENT, ({"id": 9},), 1, 1.0, "insert"),
        RowsChanged(Position("bin.1", 20), PARENT, ({"id": 1},), 1, 1.0, "delete"),
        RowsChanged(Position("bin.1", 30), PARENT, ({"id": 2}, {"id": 5}), 1, 1.0, "update"),
    ]
    for event in events:
        assert b.feed(event, 0.0) is None
    action = b.feed(TransactionCommitted(Position("bin.1", 40), 1.0), 0.0)
    assert action is not None  # due although no selected table changed: its children may have
    batch = action.batch
    assert batch.parent_changes == {PARENT: [({"id": 1}, None), ({"id": 2}, {"id": 5})]}
    assert batch.images == {} and batch.through == Position("bin.1", 40)


def test_statements_that_change_rows_are_told_from_those_that_change_definitions():
    assert changes_rows("DELETE FROM parent WHERE id = 1")
    assert changes_rows("/* app */ update parent set id = 2")
    assert not changes_rows("ALTER TABLE parent ADD COLUMN x INT")
