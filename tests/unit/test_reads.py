"""Read slots and waiting out a server that refuses connections."""

import threading

import pymysql
import pytest

from jobs.errors import too_many_connections
from jobs.load.reads import ReadSlots, plan_reads
from jobs.mysql.connection import retry_refused


def test_slots_grant_what_is_free_at_least_one_and_never_more_than_the_bound():
    slots = ReadSlots(4)
    with slots.take(3) as first:
        with slots.take(3) as second:
            assert (first, second) == (3, 1)
            waiting = threading.Thread(target=lambda: slots.take(1).__enter__())
            waiting.start()
            waiting.join(0.2)
            assert waiting.is_alive()  # none free: it waits
        waiting.join(5)
        assert not waiting.is_alive()
    assert slots.peak == 4


def test_the_bound_applies_only_to_a_cluster_with_more_task_slots():
    reads, said = plan_reads(0, (20, 2, 0), 32)
    assert reads is not None and reads.bound == 9 and said["bounded"]
    assert "the cluster's 32 task slots are more" in said["summary"]
    reads, said = plan_reads(0, (20, 2, 0), 2)
    assert reads is None and not said["bounded"] and said["bound"] == 9


REFUSED_JDBC = (
    "An error occurred while calling o123.count. : org.apache.spark.SparkException: Job aborted: "
    "java.sql.SQLNonTransientConnectionException: (conn=0) Too many connections"
)


@pytest.mark.parametrize(
    "error",
    [
        pymysql.err.OperationalError(1040, "Too many connections"),
        pymysql.err.OperationalError(1203, "User m2d already has more than 'max_user_connections' active connections"),
        Exception(REFUSED_JDBC),
    ],
)
def test_refusals_are_recognised_through_pymysql_and_spark(error):
    assert too_many_connections(error)


def test_other_errors_are_not_refusals():
    assert not too_many_connections(pymysql.err.OperationalError(1045, "Access denied for user"))
    assert not too_many_connections(Exception("Communications link failure"))


def test_a_refused_action_is_tried_again_after_growing_pauses():
    calls, pauses = [], []

    def action():
        calls.append(1)
        if len(calls) < 4:
            raise pymysql.err.OperationalError(1040, "Too many connections")
        return "done"

    assert retry_refused(action, "t", 300, pause=pauses.append) == "done"
    assert len(calls) == 4
    assert len(pauses) == 3 and all(0.8 * 2**i <= p <= 1.2 * 2**i for i, p in enumerate(pauses))


def test_other_errors_and_the_last_refusal_are_raised():
    def refused():
        raise pymysql.err.OperationalError(1040, "Too many connections")

    with pytest.raises(pymysql.err.OperationalError):
        retry_refused(refused, "t", 0, pause=lambda s: None)

    def broken():
        raise ValueError("not a refusal")

    with pytest.raises(ValueError):
        retry_refused(broken, "t", 300, pause=lambda s: None)
