"""Which migrated tables a statement in the binlog may change (issue 18, defect 4 and its class)."""

import pytest

from mapping.statements import tables_changed, tokenize

T, T_X, SELECT_TABLE, OTHER_DB = ("db", "t"), ("db", "t_x"), ("db", "select"), ("other", "t")
MIGRATED = [T, SELECT_TABLE, OTHER_DB]


@pytest.mark.parametrize(
    "query",
    [
        "TRUNCATE t",
        "truncate table t",
        "ALTER ONLINE TABLE t ADD COLUMN x INT",
        "ALTER IGNORE TABLE t ADD UNIQUE (v)",
        "ALTER IGNORE TABLE t MODIFY v DECIMAL(8,4)",
        "DROP INDEX i ON t",
        "CREATE UNIQUE INDEX i ON t (v)",
        "ALTER TABLE `db` . `t` ADD c INT",
        "ALTER TABLE db.t ADD c INT",
        "RENAME TABLE t TO t_old",
        "DROP TABLE IF EXISTS t",
        "CREATE OR REPLACE TABLE t (id INT)",
        "/*!40000 ALTER TABLE `t` DISABLE KEYS */",
        "UPDATE t SET v = 1 WHERE id = 2",
        "INSERT INTO t VALUES (1, 'a')",
        "DELETE FROM t WHERE id = 1",
        "REPLACE INTO `db`.`t` VALUES (1)",
        "UPDATE other_table JOIN t ON t.id = other_table.id SET t.v = 1",
        "LOAD DATA INFILE '/tmp/x' INTO TABLE t",
    ],
)
def test_statements_that_change_a_migrated_table_name_it(query):
    assert tables_changed(query, "db", MIGRATED) == [T]


@pytest.mark.parametrize(
    "query",
    [
        "ALTER TABLE t_x ADD c INT",  # a name that extends a migrated one
        "ALTER TABLE other_db.t ADD c INT",
        "INSERT INTO other_table VALUES ('t')",  # in a string
        "/* t */ UPDATE other_table SET a = 1",  # in a comment
        "UPDATE other_table SET a = 1 -- t",
        "CREATE VIEW v AS SELECT * FROM t",
        "CREATE TABLE t2 LIKE t",
        "CREATE TABLE IF NOT EXISTS t2 SELECT * FROM t",
        "GRANT SELECT ON db.t TO u",
        "ANALYZE TABLE t",
        "INSERT INTO other_table SELECT 1",  # SELECT the keyword, not the table `select`
        "SAVEPOINT t",
        "BEGIN",
        "",
    ],
)
def test_statements_that_change_no_migrated_table_name_none(query):
    assert tables_changed(query, "db", MIGRATED) == []


def test_names_are_resolved_against_the_session_schema():
    assert tables_changed("TRUNCATE t", "other", MIGRATED) == [OTHER_DB]
    assert tables_changed("TRUNCATE `select`", "db", MIGRATED) == [SELECT_TABLE]
    assert tables_changed("DROP DATABASE db", "x", MIGRATED) == [T, SELECT_TABLE]
    assert tables_changed("RENAME TABLE db.t TO other.t", "x", MIGRATED) == [T, OTHER_DB]


def test_the_tokenizer_reads_quotes_doubled_and_escaped():
    tokens = tokenize("UPDATE `a``b` SET v = 'it''s \\' t' # t\n")
    assert [(t.kind, t.text) for t in tokens] == [
        ("word", "UPDATE"),
        ("name", "a`b"),
        ("word", "SET"),
        ("word", "v"),
        ("symbol", "="),
        ("string", "it's ' t"),
    ]
