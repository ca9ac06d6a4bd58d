"""What the driver ships to Spark tasks: frozen, picklable, plain values only.

Executors build their own clients from these (never from driver-side objects).
"""

from dataclasses import dataclass
from typing import Optional, Tuple

from mapping.items import ItemLayout


@dataclass(frozen=True)
class Endpoint:
    url: Optional[str]  # None: real AWS through the default credential chain
    region: str


@dataclass(frozen=True)
class LoadSpec:
    """One table's load: where items go, how rows become items, the task's write budget."""

    database: str
    table: str
    target: str
    endpoint: Endpoint
    layout: ItemLayout
    rate_per_task: float  # WCU/s each task starts at
    max_retry_seconds: float
    rejects_path: str
    partition_ids: Tuple[int, ...] = ()  # the original numbers of the partitions read (a resume reads a subset)
    count_merged: bool = False  # rows arrive sorted by key: a row with its predecessor's key is merged
    staging_path: str = ""  # import mode: stage DynamoDB JSON objects here instead of writing items
    ceiling_per_task: float = 0.0  # WCU/s each task may climb to (0: rate_per_task is also the ceiling)
    probe_seconds: float = 4.0  # how long a rate must hold before the climb asks for more
    max_in_flight: int = 1  # BatchWriteItem calls each task may keep in flight
    progress_to: Optional[Tuple[str, int]] = None  # the driver's LiveRows address (host, UDP port)
    progress_seconds: float = 5.0  # how often a task sends its rows so far

    def partition_number(self, spark_partition: int) -> int:
        return self.partition_ids[spark_partition] if self.partition_ids else spark_partition


@dataclass(frozen=True)
class VerifySpec:
    """One table's verification: the items the source should give and where to scan them."""

    target: str
    endpoint: Endpoint
    layout: ItemLayout
