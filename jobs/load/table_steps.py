"""One table's steps in write mode: write its partitions from the executors, record what Spark
counted as finished, decide its status, verify it. The state moves `loading` -> `written` ->
`done` only as each promise holds."""

import functools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Set, Tuple

from pyspark.rdd import RDD
from pyspark.sql import DataFrame, SparkSession

from jobs import state as states
from jobs.config import Config
from jobs.dynamodb import repair, verify
from jobs.dynamodb import tables as dynamo
from jobs.errors import one_line, too_many_connections
from jobs.load.frames import ItemFrames, task_slots
from jobs.load.live_rows import Address, CountedRows
from jobs.load.reads import ReadSlots, SourceReads
from jobs.load.spec import Endpoint, LoadSpec, VerifySpec
from jobs.load.tracking import Checkpointer, PartitionLog
from jobs.load.write_task import clear_rejects, sum_stats, write_partition
from jobs.mysql.connection import retry_refused
from jobs.progress import Progress
from jobs.report import COMPLETED, COMPLETED_WITH_REJECTS, FAILED, VERIFIED, VERIFY_FAILED, now_precise
from jobs.state import State, remaining
from jobs.table_job import TableJob
from mapping import budget
from mapping.comparison import bucket_count

log = logging.getLogger("mysql2dynamodb")


def run_write_tasks(frame: DataFrame, spec: LoadSpec, partition_log: PartitionLog) -> None:
    """write_partition over every partition of frame (items, or staged objects with
    spec.staging_path); each finished partition's stats reach the driver through the log's
    accumulator."""
    write_tasks(frame, spec, partition_log).count()


def write_tasks(frame: DataFrame, spec: LoadSpec, partition_log: PartitionLog) -> RDD:
    """The RDD whose partitions, once computed, are written: each yields its rows' count. A module
    function, so the task Spark ships captures only spec and accumulator."""
    accumulator = partition_log.accumulator

    def task(rows):
        for stats in write_partition(rows, spec):
            accumulator.add([stats])
            yield stats["rows"]

    return frame.rdd.mapPartitions(task)


def live_interval(config: Config) -> float:
    """How often a task sends its rows so far: twice per progress line, within 0.5-5 s."""
    return max(0.5, min(5.0, config.spark.progress_seconds / 2))


def _count(counts) -> List[int]:
    return [sum(counts)]


def load_spec(
    job: TableJob, config: Config, endpoint: Endpoint, rejects_path: str, rate_per_task: float, **options: Any
) -> LoadSpec:
    """What a table's write (or staging) tasks receive."""
    plan = job.plan
    return LoadSpec(
        plan.source.database,
        plan.source.name,
        plan.target,
        endpoint,
        plan.layout(config.dynamodb.null_as),
        rate_per_task,
        config.dynamodb.max_retry_seconds,
        rejects_path,
        count_merged=bool(plan.key_collision),
        max_in_flight=config.dynamodb.max_in_flight,
        **options,
    )


def finish_load(job: TableJob, state: State, config: Config) -> None:
    """A loaded table's status: failed when rows merged into other rows' items, else completed
    (with rejects or not), verification owed when it is on."""
    plan, result = job.plan, job.result
    # With merged rows too: it names the shared keys. A repair owed is owed whatever --verify says.
    job.verification_owed = config.run.verify or state.repair_owed(job.identity)
    if result.merged_rows:
        job.fail(FAILED, f"{result.merged_rows} row(s) merged into other rows' items: {plan.key_collision}")
        state.set_status(job.identity, states.CHECK_FAILED)
        log.error("%s: %s", plan.name, result.error)
        return
    result.status = COMPLETED_WITH_REJECTS if result.rejected else COMPLETED
    state.set_status(job.identity, states.WRITTEN if job.verification_owed else states.DONE)
    log.info(
        "%s: %s, %d rows read, %d items written, %d rejected in %.1fs",
        plan.name,
        result.status,
        result.rows_read,
        result.items_written,
        result.rejected,
        result.seconds,
    )


class TableSteps:
    """Writes and verifies tables with Spark; one instance per run, shared by the table threads."""

    def __init__(
        self,
        spark: SparkSession,
        config: Config,
        frames: ItemFrames,
        state: Optional[State],
        source_position: Optional[Dict[str, Any]] = None,
        reads: Optional[SourceReads] = None,
    ):
        self.spark = spark
        self.config = config
        self.frames = frames
        self.state = state  # None: --verify-only, which records nothing
        self.source_position = source_position  # the binlog position this run read from
        self.endpoint = Endpoint(config.dynamodb.endpoint_url, config.dynamodb.region)
        self.reads = reads or SourceReads(None, task_slots(config, spark), config.mysql.connection_retry_seconds)

    def load(self, job: TableJob, progress: Progress, checkpointer: Checkpointer) -> None:
        assert self.state is not None, "a load records its progress"
        plan, result = job.plan, job.result
        started = time.monotonic()
        result.started_at = now_precise()
        sc = self.spark.sparkContext
        sc.setJobGroup(plan.target, f"migrate {plan.name}")
        sc.setLocalProperty("spark.scheduler.pool", plan.target)
        if job.resume.partitioning is not None:
            job.partitioning = job.resume.partitioning  # the same split as the interrupted run
            result.partitions = job.partitioning.description
        assert job.partitioning is not None, f"{job.name}: the read split is planned before the load"
        todo = remaining(job.partitioning, job.resume.finished)
        rejects_path = job.folder(self.config.output.rejects)
        partition_log = PartitionLog(sc)
        try:
            if not job.resume.finished:
                clear_rejects(rejects_path)
            self.state.start_table(
                job.identity,
                plan.target,
                job.table_id,
                job.partitioning,
                job.resume.finished,
                self.source_position,
                job.partitions_trusted,
                job.layout_signature(self.config.dynamodb.null_as),
            )
            result.source_position = self.state.catch_up_from(job.identity)
            if todo:
                self._write(job, todo, rejects_path, partition_log, progress, checkpointer)
        except Exception as e:  # noqa: BLE001 - one table's failure must not stop the others
            self._record(job, checkpointer, partition_log, rejects_path, started)
            job.fail(FAILED, one_line(e))
            self.state.set_status(job.identity, states.FAILED)
            log.error(
                "%s failed after %d partition(s), %d items written: %s",
                plan.name,
                result.partitions_finished,
                result.items_written,
                result.error,
            )
            return
        finally:
            progress.done(plan.name)
            result.finished_at = now_precise()
        self._record(job, checkpointer, partition_log, rejects_path, started)
        finish_load(job, self.state, self.config)

    def _write(
        self,
        job: TableJob,
        todo: List[int],
        rejects_path: str,
        partition_log: PartitionLog,
        progress: Progress,
        checkpointer: Checkpointer,
    ) -> None:
        checkpointer.track(job.identity, partition_log)
        progress.track(job.name, job.plan.source.estimated_rows, partition_log, len(todo) or 1, job.plan.target)
        live = progress.live_address
        in_turns = self.reads.in_turns()
        if job.partitions_trusted and len(todo) > 1 and in_turns is not None:
            self._write_in_turns(job, todo, rejects_path, partition_log, live, in_turns)
            return
        left = list(todo)

        def write_left() -> None:
            with self.reads.reading(len(left)) as read_tasks:
                frame = self.frames.items(job, left, read_tasks)
                spec = self._spec(job, rejects_path, left, frame.rdd.getNumPartitions(), live)
                run_write_tasks(frame, spec, partition_log)

        if not job.partitions_trusted:  # the table is written whole again after a refusal
            self.reads.refused_again(write_left, job.name)
            return
        try:
            write_left()
        except Exception as e:
            if not too_many_connections(e):
                raise
            cap = self.reads.lower_cap(job.name)
            finished = partition_log.finished()  # what finished stays done; the rest in turns
            left = [i for i in left if i not in finished]
            self._write_in_turns(job, left, rejects_path, partition_log, live, self.reads.slots or ReadSlots(cap))

    def _write_in_turns(
        self,
        job: TableJob,
        todo: List[int],
        rejects_path: str,
        partition_log: PartitionLog,
        live: Optional[Address],
        reads: ReadSlots,
    ) -> None:
        """More task slots than the source may serve reads: each partition is a Spark job of its
        own (over one frame: its schema is asked once), run when a read slot is free, by as many
        threads as the bound allows; a partition whose read is refused waits and is tried
        again, the others go on."""
        workers = min(len(todo), reads.bound)
        spec = self._spec(job, rejects_path, todo, workers, live)
        tasks = retry_refused(  # Spark asks the source for the frame's schema: a connection too
            lambda: write_tasks(self.frames.items(job, todo), spec, partition_log),
            job.name,
            self.config.mysql.connection_retry_seconds,
        )
        queue, lock, failed = list(range(len(todo))), threading.Lock(), threading.Event()
        sc = self.spark.sparkContext

        def write(index: int) -> None:
            with reads.take(1):
                sc.runJob(tasks, _count, [index])

        def worker() -> None:
            sc.setJobGroup(job.plan.target, f"migrate {job.name}")  # local properties are per thread
            sc.setLocalProperty("spark.scheduler.pool", job.plan.target)
            while not failed.is_set():
                with lock:
                    if not queue:
                        return
                    index = queue.pop(0)
                try:
                    retry_refused(  # its read waits for a connection; the bound stays as it is
                        functools.partial(write, index),
                        f"{job.name} partition {todo[index]}",
                        self.config.mysql.connection_retry_seconds,
                    )
                except Exception:
                    failed.set()
                    raise

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"read-{job.plan.target}") as pool:
            for future in [pool.submit(worker) for _ in range(workers)]:
                future.result()

    def _spec(
        self, job: TableJob, rejects_path: str, todo: List[int], write_tasks: int, live: Optional[Address]
    ) -> LoadSpec:
        """The write tasks' spec: partition numbers, the table's budget split over the tasks
        that write at once (of write_tasks), where to send rows so far (live)."""
        start, ceiling = self.rates_per_task(job, write_tasks)
        return load_spec(
            job,
            self.config,
            self.endpoint,
            rejects_path,
            start,
            partition_ids=tuple(todo) if job.partitions_trusted else (),
            ceiling_per_task=ceiling,
            probe_seconds=self.config.dynamodb.climb_probe_seconds,
            progress_to=live,
            progress_seconds=live_interval(self.config),
        )

    def _record(
        self, job: TableJob, checkpointer: Checkpointer, partition_log: PartitionLog, rejects_path: str, started: float
    ) -> None:
        """The report's counts: the partitions Spark counted as finished in this run, and only those."""
        checkpointer.flush(job.identity)
        finished = partition_log.finished()
        job.result.record_load(sum_stats(finished.values()), len(finished), rejects_path, time.monotonic() - started)

    def rates_per_task(self, job: TableJob, partitions: int) -> Tuple[float, float]:
        """Each task's starting rate and ceiling: the table's, split over the tasks writing at once."""
        assert job.description is not None, f"{job.name}: the DynamoDB table is described before writing"
        rate = dynamo.table_write_rate(job.description, self.config.dynamodb, job.hash_values)
        job.result.write_rate = rate.to_dict()
        slots = task_slots(self.config, self.spark)
        return (
            budget.task_write_rate(rate.start, partitions, slots),
            budget.task_write_rate(rate.ceiling, partitions, slots),
        )

    def repair_reason(self, job: TableJob) -> Optional[str]:
        if self.config.run.repair:
            return "--repair"
        if self.state is not None and self.state.repair_owed(job.identity):
            return "a reload of a table catch-up set aside: rows it lost are deleted"
        return None

    def verify(self, job: TableJob, progress: Optional[Progress] = None) -> None:
        plan, result = job.plan, job.result
        sc = self.spark.sparkContext
        sc.setJobGroup(plan.target, f"verify {plan.name}")
        segments = max(1, sc.defaultParallelism)
        shown, counted = f"{plan.name} verification", None
        if progress is not None:  # the source's rows compared so far, as the load shows its rows
            key = f"{plan.target}#verify"
            progress.track(shown, plan.source.estimated_rows, NothingFinished(), target=key)
            counted = CountedRows(progress.live_address, key, live_interval(self.config))
        try:
            spec = VerifySpec(plan.target, self.endpoint, plan.layout(self.config.dynamodb.null_as))
            outcome, differing = self._compare(job, spec, segments, counted)
            reason = self.repair_reason(job)
            if not outcome["match"] and reason:
                self._repair(job, reason, segments, differing)
                assert job.result.repaired is not None
                job.result.repaired["found"] = outcome.get("examples", [])  # what the repair was for
                outcome, _ = self._compare(job, spec, segments, counted)
        except Exception as e:  # noqa: BLE001 - the state keeps "written": a resume verifies again
            job.fail(VERIFY_FAILED, one_line(e))
            log.error("%s: verification failed to run: %s", plan.name, result.error)
            return
        finally:
            if progress is not None:
                progress.done(shown)
        result.verification = outcome
        unmatched = self._rows_outside_the_split(job, outcome)
        if unmatched:
            outcome["match"] = False
            self._check_failed(job, f"verification failed: {unmatched}")
            return
        if outcome["match"]:
            if self.state is None:
                result.status = VERIFIED
            else:
                self.state.record_verified(job.identity)
            log.info(
                "%s: verified, %d rows = %d items, checksum %s",
                plan.name,
                outcome["source_rows"],
                outcome["dynamodb_items"],
                outcome["source_checksum"],
            )
            return
        merged = f", {outcome['merged_rows']} row(s) share another row's key" if outcome.get("merged_rows") else ""
        self._check_failed(
            job,
            f"verification failed: {outcome['source_rows']} source rows vs "
            f"{outcome['dynamodb_items']} DynamoDB items{merged}, checksums "
            f"{outcome['source_checksum']} vs {outcome['dynamodb_checksum']}",
        )

    def _compare(
        self, job: TableJob, spec: VerifySpec, segments: int, counted: Optional[CountedRows] = None
    ) -> Tuple[Dict[str, Any], Set[int]]:
        """Counts and digests of the source's rows against DynamoDB's items, read within the bound."""
        assert job.partitioning is not None

        def compare() -> Tuple[Dict[str, Any], Set[int]]:
            with self.reads.reading(self.frames.write_partitions(job)) as read_tasks:
                frame = self.frames.items(job, read_tasks=read_tasks)
                return verify.verify_table(self.spark, frame, spec, segments, comparison_buckets(job), counted=counted)

        return self.reads.refused_again(compare, job.name)

    def _check_failed(self, job: TableJob, error: str) -> None:
        job.fail(VERIFY_FAILED, error)
        if self.state is not None:
            self.state.set_status(job.identity, states.CHECK_FAILED)
        log.error("%s: %s", job.name, error)

    def _rows_outside_the_split(self, job: TableJob, outcome: Dict[str, Any]) -> Optional[str]:
        """The comparison above reads the source through the split; a row no predicate matches
        would be missing on both sides. Counted apart, in one snapshot of the table."""
        with self.reads.reading(1):
            coverage = self.reads.refused_again(lambda: self.frames.split_coverage(job), job.name)
        if coverage is None:
            return None
        total, matched = coverage
        if total == matched:
            return None
        outcome.update(table_rows=total, rows_the_split_matches=matched)
        return (
            f"the table holds {total} rows and its read split matches {matched} "
            f"({abs(total - matched)} {'unmatched' if total > matched else 'matched twice'}): "
            "rows the split does not read are neither loaded nor compared"
        )

    def _repair(self, job: TableJob, reason: str, segments: int, differing: Set[int]) -> None:
        """Deletes and puts from the source's (key, digest) pairs against DynamoDB's, at the load's budget."""
        log.info("%s: repairing (%s)", job.name, reason)

        def repair_all() -> Dict[str, int]:
            with self.reads.reading(self.frames.write_partitions(job)) as read_tasks:
                frame = self.frames.items(job, read_tasks=read_tasks)
                start, ceiling = self.rates_per_task(job, frame.rdd.getNumPartitions())
                spec = load_spec(job, self.config, self.endpoint, "", start, ceiling_per_task=ceiling)
                return repair.repair_table(self.spark, frame, spec, segments, comparison_buckets(job), differing)

        counts = self.reads.refused_again(repair_all, job.name)
        job.result.repaired = {**counts, "reason": reason}
        log.info("%s: repair put %d item(s), deleted %d", job.name, counts["put"], counts["deleted"])


class NothingFinished:
    """A verification's progress has no partition log: its rows all come from its tasks' counts
    (sent while they run, and whole when each ends)."""

    def finished(self) -> Dict[int, Dict[str, int]]:
        return {}


def comparison_buckets(job: TableJob) -> int:
    """Buckets for verification and repair, from the table's estimated size."""
    return bucket_count(job.plan.source.estimated_rows)
