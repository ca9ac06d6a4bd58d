"""Live verification's whole passes spread over the cluster, when the follower runs under
spark-submit: the comparison `LiveVerifier` makes in its own thread otherwise, with each side
read by Spark tasks.

The source is read by the load's split, each partition in a consistent snapshot of its own
whose binlog position is known; DynamoDB by parallel Scan segments, one per task. Each task sends
back one summary per bucket (merged on the executors) and its partitions' positions; the buckets
that differ are read again once and joined by key on the executors, and only the keys that
differ come back. A difference is
judged against the position of the partition its key was read in (a key only DynamoDB holds,
against the earliest). Reads stay within catch_up.verify_rows_per_second, shared among the
tasks, and the source's read bound: no more source tasks than it allows reads.
"""

import functools
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from jobs.catchup.verify_sides import TableSides
from jobs.mysql.snapshot import SnapshotSpan, consistent_snapshot
from mapping.binlog import Position
from mapping.comparison import Summary, differing_buckets, in_buckets, summarize
from mapping.live_verify import EXTRA, problem

Part = Tuple[int, Optional[str]]  # (partition number, its SELECT; None: the whole table)
Spans = Dict[int, SnapshotSpan]
log = logging.getLogger("mysql2dynamodb")


@dataclass(frozen=True)
class PassTask:
    """What a task needs to read its part of one table, as plain values (shipped to executors)."""

    mysql: Any  # the job's MysqlConfig
    password: str
    plan: Any  # the table's TablePlan
    null_as: str
    endpoint_url: Optional[str]
    region: str
    buckets: int
    source_rate: float  # rows a second, each source task (0: no limit)
    target_rate: float  # items a second, each Scan segment

    @property
    def keyless(self) -> bool:
        return bool(self.plan.key.synthesized_hash)


# ---- the tasks (executors) ----


def _sides(task: PassTask, conn=None, client=None) -> TableSides:
    return TableSides(task.plan, task.null_as, conn, client, task.source_rate)


@contextmanager
def _source_sides(task: PassTask) -> Iterator[TableSides]:
    """The task's own connection to the source, closed when the task is done with it."""
    from jobs.mysql.connection import connect

    conn = connect(task.mysql, task.password)
    try:
        yield _sides(task, conn=conn)
    finally:
        conn.close()


def source_summary(task: PassTask, parts: Sequence[Part]) -> Tuple[Summary, Spans]:
    """One task's partitions summarised, each in a snapshot of its own."""
    summary, spans = Summary(task.buckets, task.keyless), {}
    with _source_sides(task) as sides:
        for number, select in parts:
            with consistent_snapshot(sides.conn) as span:
                summary.merge(summarize(sides.source_pairs(part=select), task.buckets, task.keyless))
            spans[number] = span
    return summary, spans


SourceSide = Tuple[int, int, Any]  # (digest, partition, the row's content for a keyless table)
TargetSide = Tuple[int, Any]  # (digest, the item for a keyless table)


def source_keys(task: PassTask, parts: Sequence[Part], chosen: Set[int]) -> Iterator[Tuple[str, SourceSide]]:
    """(key, its source side) of the chosen buckets, each partition in a snapshot of its own."""

    def keep(key: str) -> bool:
        return in_buckets(key, chosen, task.buckets, task.keyless)

    with _source_sides(task) as sides:
        for number, select in parts:
            with consistent_snapshot(sides.conn):
                for key, digest in sides.source_pairs(keep, part=select):
                    if keep(key):
                        yield key, (digest, number, sides.contents.pop(key, None))


def _target_sides(task: PassTask) -> TableSides:
    from jobs.dynamodb.workers import endpoint_client

    sides = _sides(task, client=endpoint_client(task.endpoint_url, task.region))
    sides.target_pace.per_second = task.target_rate
    return sides


def target_summary(task: PassTask, segment: int, segments: int) -> Summary:
    pairs = ((key, digest) for key, digest, _ in _target_sides(task).target_segment(segment, segments))
    return summarize(pairs, task.buckets, task.keyless)


def target_keys(task: PassTask, segment: int, segments: int, chosen: Set[int]) -> Iterator[Tuple[str, TargetSide]]:
    """(key, its DynamoDB side) of the chosen buckets."""
    for key, digest, item in _target_sides(task).target_segment(segment, segments):
        if in_buckets(key, chosen, task.buckets, task.keyless):
            yield key, (digest, item if task.keyless else None)


# What a side's tasks read: the work items, and the function that reads one into (key, side)
Side = Tuple[Sequence[Any], Callable[[Any], Iterable[Tuple[str, Any]]]]
Joined = List[Tuple[str, Tuple[Optional[SourceSide], Optional[TargetSide]]]]  # keys whose sides differ


def _differs(sides: Tuple[Optional[SourceSide], Optional[TargetSide]]) -> bool:
    source, target = sides
    return source is None or target is None or source[0] != target[0]


# ---- where the tasks run ----


class SparkRunner:
    """Work items as Spark tasks, one each; aggregates merged on the executors."""

    def __init__(self, spark):
        self.context = spark.sparkContext

    def aggregate(self, items: Sequence[Any], read: Callable[[Any], Any], zero: Any, merge: Callable) -> Any:
        return self._items(items).map(read).treeAggregate(zero, merge, merge)

    def differences(self, source: Side, target: Side, before_target: Callable[[], bool]) -> Optional[Joined]:
        """Both sides' (key, side) joined by key on the executors; only the keys whose sides
        differ come back. The source is read first, whole (kept on the executors, spilling to
        disk), so that before_target() can wait for the follower before DynamoDB is read;
        None when it says not to go on."""
        from pyspark import StorageLevel

        source_pairs = self._items(source[0]).flatMap(source[1]).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            source_pairs.count()
            if not before_target():
                return None
            target_pairs = self._items(target[0]).flatMap(target[1])
            return source_pairs.fullOuterJoin(target_pairs).filter(lambda pair: _differs(pair[1])).collect()
        finally:
            source_pairs.unpersist()

    def _items(self, items: Sequence[Any]):
        return self.context.parallelize(list(items), max(1, len(items)))


class LocalRunner:
    """The same work in this process, one item after the other (tests)."""

    def aggregate(self, items: Sequence[Any], read: Callable[[Any], Any], zero: Any, merge: Callable) -> Any:
        return functools.reduce(merge, map(read, items), zero)

    def differences(self, source: Side, target: Side, before_target: Callable[[], bool]) -> Optional[Joined]:
        source_sides = {key: side for item in source[0] for key, side in source[1](item)}
        if not before_target():
            return None
        target_sides = {key: side for item in target[0] for key, side in target[1](item)}
        keys = set(source_sides) | set(target_sides)
        joined = [(key, (source_sides.get(key), target_sides.get(key))) for key in keys]
        return [(key, sides) for key, sides in joined if _differs(sides)]


# ---- the driver ----


def task_parts(selects: Sequence[Optional[str]], tasks: int) -> List[List[Part]]:
    """The partitions' SELECTs dealt to at most `tasks` tasks (the source's read bound)."""
    numbered = list(enumerate(selects))
    count = max(1, min(tasks, len(numbered)))
    return [numbered[start::count] for start in range(count)]


def _merge_source(one: Tuple[Summary, Spans], other: Tuple[Summary, Spans]) -> Tuple[Summary, Spans]:
    one[0].merge(other[0])
    one[1].update(other[1])
    return one


@dataclass
class SpreadComparison:
    low: Position  # the earliest partition's snapshot
    found: Dict[str, str]  # key -> problem
    lows: Dict[str, Position]  # each differing key: the snapshot it is judged against
    contents: Dict[str, List[Optional[str]]]  # keyless: the source rows of differing keys
    items: Dict[str, Dict[str, Optional[str]]]  # keyless: DynamoDB's items of differing keys
    compared: int
    rows_read: int = 0  # source rows the tasks read, the differing buckets' read again included
    items_read: int = 0  # DynamoDB items likewise


def compare_spread(
    runner,
    task: PassTask,
    groups: List[List[Part]],
    segments: int,
    applied_through: Callable[[Position], bool],
    position_now: Callable[[], Position],
) -> Optional[SpreadComparison]:
    """Both sides summarised by tasks; the differing buckets read again and joined key by key on
    the executors, only the differences coming back. applied_through(position): whether the
    follower applied through it (waiting a while); None when it did not, as for a whole pass
    in the follower's thread."""
    zero: Tuple[Summary, Spans] = (Summary(task.buckets, task.keyless), {})
    source, spans = runner.aggregate(groups, functools.partial(source_summary, task), zero, _merge_source)
    if not applied_through(max(span.high for span in spans.values())):
        return None
    target = runner.aggregate(
        range(segments),
        lambda segment: target_summary(task, segment, segments),
        Summary(task.buckets, task.keyless),
        Summary.merge,
    )
    low = min(span.low for span in spans.values())
    result = SpreadComparison(low, {}, {}, {}, {}, source.total, source.total, target.total)
    differing = set(differing_buckets(source, target))
    log.info(
        "live verify: %s: %d source rows and %d DynamoDB items summarised; %d bucket(s) differ%s",
        task.plan.name,
        source.total,
        target.total,
        len(differing),
        ", read again and joined by key on the executors" if differing else "",
    )
    if not differing:
        return result
    result.rows_read += source.total
    result.items_read += target.total
    joined = runner.differences(
        (groups, lambda parts: source_keys(task, parts, differing)),
        (range(segments), lambda segment: target_keys(task, segment, segments, differing)),
        lambda: applied_through(position_now()),  # every snapshot of the source's read is before now
    )
    if joined is None:
        return None
    for key, (source_side, target_side) in joined:
        difference = problem(source_side[0] if source_side else None, target_side[0] if target_side else None)
        if difference is None:
            continue
        result.found[key] = difference
        if source_side is not None:
            result.lows[key] = spans[source_side[1]].low
            if source_side[2] is not None:
                result.contents[key] = source_side[2]
        if target_side is not None and target_side[1] is not None:
            result.items[key] = target_side[1]
    result.lows.update((key, low) for key in result.found if key not in result.lows)
    result.compared += sum(1 for difference in result.found.values() if difference == EXTRA)
    return result


class Spread:
    """Which tables' whole passes run as Spark jobs (those of at least `min_rows` estimated rows),
    and how: `prepare(plan, buckets, conn)` gives a table's task settings and partitions. One
    spread pass at a time, so the source never sees more reads than its bound."""

    def __init__(
        self,
        runner,
        segments: int,
        min_rows: int,
        prepare: Callable[[Any, int, Any], Tuple[PassTask, List[List[Part]]]],
    ):
        self.runner, self.segments, self.min_rows, self.prepare = runner, max(1, segments), min_rows, prepare
        self.lock = threading.Lock()

    def takes(self, plan) -> bool:
        return plan.source.estimated_rows >= self.min_rows

    def compare(
        self,
        plan,
        buckets: int,
        conn,
        applied_through: Callable[[Position], bool],
        position_now: Callable[[], Position],
    ) -> Optional[SpreadComparison]:
        with self.lock:
            task, groups = self.prepare(plan, buckets, conn)
            log.info(
                "live verify: %s: a whole pass as Spark jobs: %d partition(s) in %d task(s), %d Scan segment(s)",
                plan.name,
                sum(len(parts) for parts in groups),
                len(groups),
                self.segments,
            )
            return compare_spread(self.runner, task, groups, self.segments, applied_through, position_now)


def build_spread(spark, config, password: str, conn) -> Spread:
    """The follower's Spread under spark-submit: the load's split and read bound, one Scan
    segment per task slot, the read pace shared among the tasks."""
    from jobs.mysql.catalog import connection_limits
    from jobs.mysql.reader import partition_sql
    from jobs.mysql.splits import plan_partitioning
    from mapping.limits import read_bound

    slots = config.spark.task_slots or spark.sparkContext.defaultParallelism
    bound, _ = read_bound(config.mysql.max_concurrent_reads, *connection_limits(conn))
    rate = config.catch_up.verify_rows_per_second

    def prepare(plan, buckets: int, driver_conn) -> Tuple[PassTask, List[List[Part]]]:
        selects: List[Optional[str]] = [None]
        if not plan.key.synthesized_hash:
            partitioning = plan_partitioning(driver_conn, plan, config.spark, slots)
            if partitioning.strategy != "single":
                selects = [partition_sql(plan, partitioning, p) for p in partitioning.predicates]
        groups = task_parts(selects, min(bound, slots))
        task = PassTask(
            config.mysql,
            password,
            plan,
            config.dynamodb.null_as,
            config.dynamodb.endpoint_url,
            config.dynamodb.region,
            buckets,
            source_rate=rate / len(groups),
            target_rate=rate / slots,
        )
        return task, groups

    return Spread(SparkRunner(spark), slots, config.catch_up.spread_rows, prepare)
