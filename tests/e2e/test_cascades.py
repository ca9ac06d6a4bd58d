"""Cascaded foreign-key changes (issue 18, defect 10): InnoDB applies ON DELETE / ON UPDATE
CASCADE and SET NULL itself and logs no row events for the child rows it changes. Catch-up
derives them from the parents' deletes and key changes, through two levels of children, for
keyed, hierarchically keyed and keyless children, and with the parent itself not migrated."""

import pytest

from tests.e2e.stack import run_job
from tests.e2e.test_catchup_trust import assert_equal, drop_targets, execute

TABLES = {
    "parent": "CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20))",
    # keyed by its own id: the children of a parent are found by a Scan
    "child": "CREATE TABLE child (id INT PRIMARY KEY, pid INT, KEY (pid), "
    "FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE)",
    "grand": "CREATE TABLE grand (id INT PRIMARY KEY, cid INT, "
    "FOREIGN KEY (cid) REFERENCES child (id) ON DELETE CASCADE ON UPDATE CASCADE)",
    # keyed under the parent's key: found by a Query, and a key change moves them
    "line": "CREATE TABLE line (pid INT, n INT, note VARCHAR(10), PRIMARY KEY (pid, n), "
    "FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE)",
    "subline": "CREATE TABLE subline (pid INT, n INT, m INT, PRIMARY KEY (pid, n, m), "
    "FOREIGN KEY (pid, n) REFERENCES line (pid, n) ON DELETE CASCADE ON UPDATE CASCADE)",
    "note": "CREATE TABLE note (id INT PRIMARY KEY, pid INT NULL, "
    "FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE SET NULL ON UPDATE SET NULL)",
    "tag": "CREATE TABLE tag (pid INT, label VARCHAR(10), "
    "FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE)",
}
ROWS = {
    "parent": [(1, "one"), (2, "two"), (3, "three"), (4, "four")],
    "child": [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 4)],
    "grand": [(1, 1), (2, 2), (3, 3), (4, 5), (5, 6), (6, 1)],
    "line": [(1, 1, "a"), (1, 2, "b"), (2, 1, "c"), (2, 2, "d"), (3, 1, "e")],
    "subline": [(1, 1, 1), (1, 2, 1), (2, 1, 1), (2, 2, 1), (2, 2, 2), (3, 1, 1)],
    "note": [(1, 1), (2, 2), (3, 3), (4, None)],
    "tag": [(1, "a"), (1, "a"), (2, "b"), (3, "c")],
}
CHANGES = (
    # child 1, 2 and their grand rows, line 1.*, subline 1.*, its tags go; note 1 -> NULL
    "DELETE FROM parent WHERE id = 1",
    # child 3, 4 and tag point to 5; line 2.* and subline 2.* change keys; note 2 -> NULL
    "UPDATE parent SET id = 5 WHERE id = 2",
    "UPDATE parent SET name = 'drei' WHERE id = 3",  # no referenced value changes: nothing cascades
)


@pytest.mark.parametrize("migrate_parent", [True, False], ids=["parent migrated", "parent not migrated"])
def test_cascaded_deletes_key_changes_and_set_null_reach_every_level(stack, tmp_path, migrate_parent):
    database = "fk_cu" if migrate_parent else "fk_np"
    children = [t for t in TABLES if t != "parent"]
    migrated = list(TABLES) if migrate_parent else children
    drop_targets(stack, *[f"{database}_{t}" for t in TABLES])
    stack.fresh_database(database, *TABLES.values(), rows=ROWS)
    args = ["--database", database] + ([] if migrate_parent else ["--exclude", "parent"])
    load = str(tmp_path / "load.json")
    loaded = run_job(stack, [*args, "--no-verify", "--report", load], tmp_path)
    assert loaded.code == 0, loaded.output[-3000:]
    assert "cascades" not in loaded.stdout  # a load is quiet about them (issue 30); the plan and catch-up say them

    execute(stack, database, *CHANGES)
    run = run_job(stack, [*args, "--catch-up", "--from-report", load], tmp_path)
    assert run.code == 0, run.output[-3000:]
    assert "(catch-up follows their cascades): foreign key" in run.output
    assert "ON DELETE CASCADE ON UPDATE CASCADE" in run.output
    assert {run.table(f"{database}.{t}")["status"] for t in migrated} == {"caught up"}
    for table in migrated:
        assert_equal(stack, database, table, f"{database}_{table}")
    check = run_job(stack, [*args, "--verify-only"], tmp_path)
    assert check.code == 0, check.output[-3000:]

    # A second round from the state: the cascade of a cascade again (child 6 -> grand 5), and a
    # delete whose children were re-pointed in the same transaction before it.
    execute(
        stack,
        database,
        "START TRANSACTION",
        "UPDATE child SET pid = 4 WHERE id = 5",
        "DELETE FROM parent WHERE id = 4",
        "COMMIT",
    )
    again = run_job(stack, [*args, "--catch-up"], tmp_path)
    assert again.code == 0, again.output[-3000:]
    for table in migrated:
        assert_equal(stack, database, table, f"{database}_{table}")


def test_a_parent_changed_by_a_statement_sets_its_children_aside(stack, tmp_path):
    """A parent's rows changed by a statement-logged DELETE: no row images to derive from, so
    its cascading children need a reload; a table with no cascading key goes on."""
    database = "fk_st"
    drop_targets(stack, *[f"{database}_{t}" for t in ("parent", "child", "grand", "other")])
    stack.fresh_database(
        database,
        TABLES["parent"],
        TABLES["child"],
        TABLES["grand"],
        "CREATE TABLE other (id INT PRIMARY KEY, v INT)",
        rows={**{t: ROWS[t] for t in ("parent", "child", "grand")}, "other": [(1, 1)]},
    )
    load = str(tmp_path / "load.json")
    assert run_job(stack, ["--database", database, "--no-verify", "--report", load], tmp_path).code == 0
    execute(
        stack,
        database,
        "SET SESSION binlog_format = 'STATEMENT'",
        "DELETE FROM parent WHERE id = 4",
        "SET SESSION binlog_format = 'ROW'",
        "UPDATE other SET v = 2",
    )
    run = run_job(stack, ["--database", database, "--catch-up", "--from-report", load], tmp_path)
    assert run.code == 1, run.output[-3000:]
    statuses = {t: run.table(f"{database}.{t}")["status"] for t in ("parent", "child", "grand", "other")}
    assert statuses == {
        "parent": "needs reload",
        "child": "needs reload",
        "grand": "needs reload",
        "other": "caught up",
    }
    assert_equal(stack, database, "other", f"{database}_other")
