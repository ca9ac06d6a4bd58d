"""What a rerun with --resume takes from the state: per table, load it whole, load the
partitions still missing, verify it again, or take up an earlier run's import."""

import logging
from typing import List, Optional

from jobs import state as states
from jobs.config import Config
from jobs.report import ALREADY_DONE, FAILED
from jobs.state import ResumePoint, State, resume_point
from jobs.table_job import TableJob
from mapping import cost

log = logging.getLogger("mysql2dynamodb")


def decide_resume(jobs: List[TableJob], state: State, config: Config) -> List[TableJob]:
    """Set each table's resume point; return the tables that have something to load."""
    to_load = []
    for job in jobs:
        entry = state.entry(job.identity) if config.run.resume else None
        if job.load_mode == cost.IMPORT and job.description is not None:
            if not _resume_import(job, entry, config):
                continue
        elif config.run.resume:
            job.resume = resume_point(
                entry,
                job.plan.target,
                job.table_id,
                config.run.verify,
                job.partitions_trusted,
                job.layout_signature(config.dynamodb.null_as),
            )
        if job.resume.note:
            job.result.notes.append(job.resume.note)
        if job.resume.action == "load":
            to_load.append(job)
            continue
        job.result.status = ALREADY_DONE
        job.result.source_position = state.catch_up_from(job.identity)
        job.verification_owed = job.resume.action == "verify"
        log.info("%s: %s", job.name, job.resume.note)
    return to_load


def import_table_name(arn: str) -> str:
    """The table an ImportArn creates: arn:aws:dynamodb:<region>:<account>:table/<name>/import/<id>.
    Compared whole: `zz_k1_big1` holds `z_k1_big1`, and a substring test took one for the other."""
    resource = arn.split(":", 5)[-1]
    return resource.split("/")[1] if resource.startswith("table/") and resource.count("/") >= 3 else ""


def _resume_import(job: TableJob, entry: Optional[dict], config: Config) -> bool:
    """An import-mode table whose DynamoDB table exists: the earlier run's own import (finished,
    or still running: then this run waits for it), or a table this run must not touch."""
    arn = (entry or {}).get("import_arn")
    if entry and entry.get("status") == states.IMPORTING and arn and import_table_name(arn) == job.plan.target:
        job.adopted_import = arn
        job.resume = ResumePoint("load", note=f"an earlier run's import {arn} is taken up")
        return True
    if entry:
        job.resume = resume_point(entry, job.plan.target, job.table_id, config.run.verify, False)
        if job.resume.action != "load":
            return True
    job.fail(
        FAILED,
        f"DynamoDB table {job.plan.target} exists and ImportTable only creates tables; nothing "
        f"was written (drop it, resume the run that imported it with --resume, or use "
        f"--load-mode write or auto)",
    )
    log.error("%s: %s", job.name, job.result.error)
    return False
