"""One table's unit of work, from plan to verification: everything the run knows about it."""

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from jobs import storage
from jobs.planner import TablePlan
from jobs.report import TableResult
from jobs.state import ResumePoint
from mapping.cost import WRITE, Estimate
from mapping.names import path_component
from mapping.partitioning import Partitioning


@dataclass
class TableJob:
    plan: TablePlan
    result: TableResult
    partitioning: Optional[Partitioning] = None  # the split read by this run (a resume's is the saved one)
    description: Optional[Dict] = None  # DescribeTable of the DynamoDB target
    resume: ResumePoint = field(default_factory=ResumePoint)
    verification_owed: bool = False  # set once a load finished, or a resume found a table to re-check
    load_mode: str = WRITE  # write (BatchWriteItem) or import (staged on S3, then ImportTable)
    estimate: Optional[Estimate] = None  # items, write units, cost and time, by either mode
    adopted_import: Optional[str] = None  # an earlier run's ImportArn this run waits for instead of staging
    hash_values: Optional[int] = None  # distinct HASH values when few (counted at planning): caps the rate

    @property
    def identity(self) -> Tuple[str, str]:
        return self.plan.identity

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def table_id(self) -> str:
        """What identifies the DynamoDB table itself: a table deleted and recreated gets a new one."""
        description = self.description or {}
        if description.get("TableId"):
            return description["TableId"]
        created = description.get("CreationDateTime")
        return f"{description.get('TableArn', self.plan.target)}@{created.isoformat() if created else '?'}"

    @property
    def partitions_trusted(self) -> bool:
        """Read partitions map to items only when items are not keyed or regrouped across them."""
        redistributed = self.partitioning is not None and self.partitioning.redistribute
        return not (self.plan.key.synthesized_hash or self.plan.key_collision or redistributed or self.hash_values)

    def layout_signature(self, null_as: str) -> str:
        """What decides an item's key and attributes: a resume keeps partitions written the same way."""
        return f"{self.plan.key.describe()}; attributes {', '.join(self.plan.attributes)}; null as {null_as}"

    def folder(self, base: str) -> str:
        """The table's own folder under base (rejects, staging): one per (database, table)."""
        return storage.join(base, path_component(self.plan.source.database), path_component(self.plan.source.name))

    def fail(self, status: str, error: str) -> None:
        self.result.status, self.result.error = status, error
