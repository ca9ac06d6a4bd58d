"""Where each table's catch-up starts, from a report and the state."""

import pytest

from jobs.catchup.starts import report_positions
from jobs.errors import SourceError
from mapping.binlog import Position

SERVER = "db1:3306 server_id 1"


def entry(database, table, file=None, pos=None, server=SERVER):
    recorded = {"binlog_file": file, "binlog_position": pos, "server": server} if file else None
    return {"database": database, "table": table, "source_position": recorded}


def test_each_table_starts_at_its_own_position_in_the_report():
    body = {
        "source_position": {"binlog_file": "b.9", "binlog_position": 4},
        "tables": [entry("db", "a", "b.1", 100), entry("db", "b", "b.2", 7)],
    }
    assert report_positions(body, "r.json", SERVER) == {
        ("db", "a"): Position("b.1", 100),
        ("db", "b"): Position("b.2", 7),
    }


def test_a_table_the_report_does_not_list_gets_no_position_from_it():
    """A reload's report names only the reloaded table: the run's position is not the others'."""
    body = {"source_position": {"binlog_file": "b.9", "binlog_position": 4}, "tables": [entry("db", "r1", "b.9", 4)]}
    assert report_positions(body, "r.json", SERVER) == {("db", "r1"): Position("b.9", 4)}


def test_a_report_of_an_older_version_gives_its_run_position_to_the_tables_it_lists():
    body = {
        "source_position": {"binlog_file": "b.3", "binlog_position": 40},
        "tables": [{"database": "db", "table": "a"}],
    }
    assert report_positions(body, "r.json", SERVER) == {("db", "a"): Position("b.3", 40)}


def test_a_position_of_another_server_is_refused():
    body = {"tables": [entry("db", "a", "b.1", 100, server="other:3306 server_id 2")]}
    with pytest.raises(SourceError, match="on server other:3306 server_id 2, this is db1"):
        report_positions(body, "r.json", SERVER)
