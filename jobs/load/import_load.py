"""One table in import mode: stage its items as DynamoDB JSON on S3 from the executors
(rejects decided as in write mode), then ImportTable, which creates the table, and wait for
it. Staging is redone whole if the import did not finish; an earlier run's import is taken up."""

import logging
import time
import uuid
from typing import Any, Dict, List, Optional, Tuple

from botocore.client import BaseClient
from pyspark.sql import SparkSession

from jobs import state as states
from jobs import storage
from jobs.config import Config
from jobs.dynamodb import importer
from jobs.dynamodb import tables as dynamo
from jobs.errors import TargetError, one_line
from jobs.load.frames import ItemFrames, task_slots
from jobs.load.reads import SourceReads
from jobs.load.spec import Endpoint
from jobs.load.table_steps import finish_load, live_interval, load_spec, run_write_tasks
from jobs.load.tracking import PartitionLog
from jobs.load.write_task import STAGED_SUFFIX, clear_rejects, clear_staged, part_file_name, sum_stats
from jobs.planner import TablePlan
from jobs.progress import Progress
from jobs.report import FAILED, now_precise
from jobs.state import State
from jobs.table_job import TableJob
from mapping.names import path_component

log = logging.getLogger("mysql2dynamodb")


def _raise_error(plan: TablePlan, error: Exception) -> None:
    raise error


class ImportLoad:
    """Stages and imports tables; one instance per run, shared by the table threads."""

    def __init__(
        self,
        spark: SparkSession,
        config: Config,
        frames: ItemFrames,
        state: State,
        dynamo_client: BaseClient,
        source_position: Optional[Dict[str, Any]] = None,
        reads: Optional[SourceReads] = None,
    ):
        self.spark = spark
        self.config = config
        self.frames = frames
        self.state = state
        self.dynamo_client = dynamo_client  # the driver's: imports and the tables they create
        self.source_position = source_position  # the binlog position this run read from
        self.endpoint = Endpoint(config.dynamodb.endpoint_url, config.dynamodb.region)
        self.reads = reads or SourceReads(None, task_slots(config, spark), config.mysql.connection_retry_seconds)

    def load(self, job: TableJob, progress: Progress) -> None:
        plan, result = job.plan, job.result
        started = time.monotonic()
        result.started_at = now_precise()
        rejects_path = job.folder(self.config.output.rejects)
        assert self.config.output.staging, "import mode is configured with a staging location"
        staging_path = job.folder(self.config.output.staging)
        try:
            if job.adopted_import:
                staged = int((self.state.entry(job.identity) or {}).get("staged_items", 0))
                result.items_staged = staged
                self._import([job], staging_path, {job.identity: staged}, arn=job.adopted_import)
            else:
                clear_rejects(rejects_path)
                earlier = (self.state.entry(job.identity) or {}).get("staged_objects") or {}
                clear_staged(staging_path, earlier)
                refuse_foreign(staging_path)
                assert job.partitioning is not None
                self.state.start_table(job.identity, plan.target, "", job.partitioning, {})
                totals, partitions = self._stage(job, rejects_path, staging_path, progress)
                result.record_load(totals, partitions, rejects_path, time.monotonic() - started)
                result.items_staged, result.items_written = totals["written"], 0
                if result.merged_rows:
                    finish_load(job, self.state, self.config)  # fails the table before anything is imported
                    return
                self._import([job], staging_path, {job.identity: totals["written"]})
        except Exception as e:  # noqa: BLE001 - one table's failure must not stop the others
            job.fail(FAILED, one_line(e))
            if not isinstance(e, importer.ImportStillRunning):  # else it stays `importing`, its ARN kept
                self.state.set_status(job.identity, states.FAILED)
            log.error("%s failed: %s", plan.name, result.error)
            return
        finally:
            progress.done(plan.name)
            result.finished_at = now_precise()
            result.seconds = time.monotonic() - started
        finish_load(job, self.state, self.config)

    def _stage(
        self, job: TableJob, rejects_path: str, staging_path: str, progress: Progress
    ) -> Tuple[Dict[str, Any], int]:
        plan = job.plan
        sc = self.spark.sparkContext
        sc.setJobGroup(plan.target, f"stage {plan.name}")
        sc.setLocalProperty("spark.scheduler.pool", plan.target)
        spec = load_spec(
            job,
            self.config,
            self.endpoint,
            rejects_path,
            1.0,
            staging_path=staging_path,
            progress_to=progress.live_address,
            progress_seconds=live_interval(self.config),
        )
        partition_log = PartitionLog(sc)
        partitions = self.frames.write_partitions(job)
        progress.track(plan.name, plan.source.estimated_rows, partition_log, partitions, plan.target)
        planned: Dict[str, Optional[str]] = {part_file_name(p, STAGED_SUFFIX): None for p in range(partitions)}
        self.state.record_staged(job.identity, planned)  # what a run killed while staging had begun to write

        def stage() -> None:  # staged objects are whole per task: a rerun writes the same ones
            with self.reads.reading(partitions) as read_tasks:
                run_write_tasks(self.frames.staging(job, read_tasks), spec, partition_log)

        self.reads.refused_again(stage, plan.name)
        finished = partition_log.finished()
        versions = storage.list_versions(staging_path)  # the job's own objects, by content, for the next run
        self.state.record_staged(job.identity, {n: versions[n] for n in planned if n in versions})
        log.info("%s: staged %d objects under %s", plan.name, len(finished), staging_path)
        return sum_stats(finished.values()), len(finished)

    def load_shared(self, jobs: List[TableJob], progress: Progress) -> None:
        """A modelled target's sources: each staged in a folder of its own under the target's
        prefix, then one ImportTable over all of them (ImportTable only creates tables)."""
        started = time.monotonic()
        assert self.config.output.staging, "import mode is configured with a staging location"
        base = shared_staging(self.config.output.staging, jobs[0].plan.target)
        for job in jobs:
            job.result.started_at = now_precise()
        staged: Dict[Tuple[str, str], int] = {}
        try:
            adopted = {job.adopted_import for job in jobs}
            if len(adopted) == 1 and None not in adopted:
                for job in jobs:
                    staged[job.identity] = int((self.state.entry(job.identity) or {}).get("staged_items", 0))
                    job.result.items_staged = staged[job.identity]
                self._import(jobs, base, staged, arn=adopted.pop(), whole_folder=True)
            else:
                for job in jobs:
                    clear_rejects(job.folder(self.config.output.rejects))
                    clear_staged(job.folder(base), (self.state.entry(job.identity) or {}).get("staged_objects") or {})
                refuse_foreign(base)
                for job in jobs:
                    assert job.partitioning is not None
                    self.state.start_table(job.identity, job.plan.target, "", job.partitioning, {})
                    rejects_path = job.folder(self.config.output.rejects)
                    totals, partitions = self._stage(job, rejects_path, job.folder(base), progress)
                    job.result.record_load(totals, partitions, rejects_path, time.monotonic() - started)
                    job.result.items_staged, job.result.items_written = totals["written"], 0
                    staged[job.identity] = totals["written"]
                merged = [job for job in jobs if job.result.merged_rows]
                if merged:  # fails them before anything is imported, and with them the target's other sources
                    for job in merged:
                        finish_load(job, self.state, self.config)
                    why = (
                        f"nothing imported into {jobs[0].plan.target}: {', '.join(j.name for j in merged)} merged rows"
                    )
                    for job in jobs:
                        if job not in merged:
                            job.fail(FAILED, why)
                            self.state.set_status(job.identity, states.FAILED)
                    return
                self._import(jobs, base, staged, whole_folder=True)
        except Exception as e:  # noqa: BLE001 - one target's failure must not stop the others
            for job in jobs:
                job.fail(FAILED, one_line(e))
                if not isinstance(e, importer.ImportStillRunning):  # else it stays `importing`, its ARN kept
                    self.state.set_status(job.identity, states.FAILED)
            log.error("%s failed: %s", jobs[0].plan.target, one_line(e))
            return
        finally:
            for job in jobs:
                progress.done(job.plan.name)
                job.result.finished_at = now_precise()
                job.result.seconds = time.monotonic() - started
        for job in jobs:
            finish_load(job, self.state, self.config)

    def _import(
        self,
        jobs: List[TableJob],
        staging_path: str,
        staged: Dict[Tuple[str, str], int],
        arn: Optional[str] = None,
        whole_folder: bool = False,
    ) -> None:
        """ImportTable over the staged objects of a target's sources (or take up an earlier run's),
        wait, check, bind the state."""
        plan, client = jobs[0].plan, self.dynamo_client
        total = sum(staged.values())
        if total == 0 and arn is None:  # nothing to import: an empty table is created directly
            created = dynamo.ensure_tables(client, [plan], self.config.dynamodb, _raise_error)
            for job in jobs:
                job.description = created[plan.target]["table"]
                job.result.table_action, job.result.table_id = "created (empty)", job.table_id
                self.state.bind_table(job.identity, job.table_id)
            return
        if arn is None:
            token = uuid.uuid4().hex
            arn = importer.start_import(client, plan, self.config.dynamodb, staging_path, token, whole_folder)
            for job in jobs:
                self.state.record_import(job.identity, arn, staged[job.identity])
            log.info("%s: import %s started over %d staged item(s)", plan.target, arn, total)

        def waiting(description: Dict[str, Any]) -> None:
            log.info(
                "%s: import %s: %s, %s item(s) processed",
                plan.target,
                arn,
                description.get("ImportStatus"),
                description.get("ProcessedItemCount", 0),
            )

        description = importer.wait_import(client, arn, self.config.dynamodb.import_wait_seconds, waiting)
        for job in jobs:
            job.result.imported = importer.import_summary(description)
        failure = importer.import_failure(description, total)
        if failure:
            raise TargetError(failure)
        table = dynamo.wait_active(client, plan.target, self.config.dynamodb)
        for job in jobs:  # every staged item was imported (import_failure counts them)
            job.result.items_written = staged[job.identity]
            job.description = table
            job.result.table_action, job.result.table_id = "imported", job.table_id
            self.state.bind_table(job.identity, job.table_id)
        log.info("%s: import %s completed: %d item(s)", plan.target, arn, total)


def shared_staging(staging: str, target: str) -> str:
    """Where a modelled target's sources are staged: a prefix of the target's own."""
    return storage.join(staging, "_model", path_component(target))


def refuse_foreign(staging_path: str) -> None:
    foreign = storage.list_tree(staging_path)
    if foreign:  # ImportTable reads every object under the prefix, not only the job's
        raise TargetError(
            f"staging prefix {staging_path} holds objects this job did not write "
            f"({', '.join(sorted(foreign)[:3])}{', ...' if len(foreign) > 3 else ''}); "
            "ImportTable would import them too: remove them or choose another --staging"
        )
