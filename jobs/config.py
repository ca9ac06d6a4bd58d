"""The job's configuration: one typed object, built from defaults < conf file < CLI flags.

Every key and its default is defined here, once. conf/defaults.json shows the same
values (a test keeps them equal). Secrets are never part of this object.
"""

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, get_args, get_origin, get_type_hints

from jobs.errors import ConfigError
from mapping.cost import LOAD_MODES, WRITE, Prices
from mapping.identifiers import quote_table
from mapping.names import template_problem

MAX_IN_FLIGHT = 16  # jobs.dynamodb.tables.MAX_POOL_CONNECTIONS


@dataclass
class MySQLConfig:
    """The source server and how every connection to it behaves."""

    host: str = "127.0.0.1"  # the source server
    port: int = 3306  # the source server's port
    user: str = "root"  # the source user (password: password_env, _file, secret_id or glue_connection)
    password_env: str = "MYSQL_PASSWORD"  # environment variable holding the password
    password_file: Optional[str] = None  # or a file (local or s3://) whose content is the password
    secret_id: Optional[str] = None  # or an AWS Secrets Manager secret (JSON with "password")
    glue_connection: Optional[str] = None  # or a Glue connection's credentials
    jdbc_driver: str = "org.mariadb.jdbc.Driver"  # JDBC driver class; com.mysql.cj.jdbc.Driver for MySQL Connector/J
    jdbc_url_params: str = ""  # appended to jdbc:mysql://host:port/?...
    fetch_size: int = 10000  # JDBC fetch size: rows are streamed, never buffered whole
    connect_timeout_seconds: int = 10  # the driver's own (pymysql) connections
    # Set on every session we open, so a slow writer or a strict server default cannot make
    # the server drop a read that is waiting for the client (net_write_timeout) or idle.
    net_write_timeout_seconds: int = 3600
    net_read_timeout_seconds: int = 3600  # set on every session, as net_write_timeout_seconds
    wait_timeout_seconds: int = 28800  # set on every session, so an idle connection is not dropped
    # JDBC reads open at once across all tables; 0: half of the server's free connections, at
    # most 16 (see mapping.limits). Binds only when the cluster has more task slots.
    max_concurrent_reads: int = 0
    # A server answering "Too many connections" is asked again, 1 s doubling to 30 s, this long.
    connection_retry_seconds: int = 300
    # A load waits this long for XA transactions prepared on the source to be committed or rolled
    # back before it takes its position; still prepared then, it stops in one line.
    prepared_xa_wait_seconds: float = 300


@dataclass
class SourceConfig:
    """What to migrate."""

    databases: List[str] = field(default_factory=list)  # names or globs
    tables: List[str] = field(default_factory=lambda: ["*"])  # globs on table name or db.table
    exclude: List[str] = field(default_factory=list)  # globs of tables to leave out
    # Go on when the user cannot SELECT a whole selected database (table or column grants only):
    # the run lists what it could not see and does not exit 0.
    allow_partial_visibility: bool = False


@dataclass
class DynamoDBConfig:
    """The target: tables, write rates, load mode and estimates."""

    endpoint_url: Optional[str] = None  # None: real AWS through the default credential chain
    region: str = "us-east-1"  # the AWS region of the DynamoDB tables
    billing_mode: str = "PAY_PER_REQUEST"  # or PROVISIONED
    read_capacity: int = 5  # RCU of the tables created in PROVISIONED mode
    write_capacity: int = 5  # WCU of the tables created in PROVISIONED mode
    write_percent: float = 0.5  # share of a provisioned table's WCU this job may use
    on_demand_wcu: int = 4000  # starting rate for on-demand tables (a new table's initial throughput)
    # The rate aimed at per table (0: on_demand_wcu is also the ceiling). On-demand tables are
    # pre-warmed to it (warm_throughput) or climb to it while DynamoDB does not throttle.
    target_wcu: int = 0
    warm_throughput: str = "new"  # new: pre-warm tables the job creates; all: existing ones too; none
    partition_key_wcu: int = 1000  # DynamoDB's write limit per partition key value, for hot-key caps
    climb_probe_seconds: float = 4.0  # climbing to target_wcu: a rate that held this long is raised 10%
    max_retry_seconds: float = 300.0  # a batch that cannot be written for this long fails the task
    # BatchWriteItem calls a writer keeps in flight at most; it keeps as many as its rate needs
    # at the measured round trip (at 15 ms one call at a time writes ~1,600 items/s).
    max_in_flight: int = 16
    null_as: str = "absent"  # "absent": NULL columns are left out; "null": written as NULL
    table_wait_seconds: int = 600  # how long to wait for a new table to become ACTIVE
    # "write": BatchWriteItem into new or existing tables; "import": stage DynamoDB JSON under
    # output.staging and ImportTable (new tables only); "auto": import where it is much cheaper.
    load_mode: str = "write"
    import_min_saving: float = 2.0  # auto imports only when writes would cost this many times more
    import_min_rows: int = 100000  # auto writes smaller tables: an import takes minutes whatever its size
    import_wait_seconds: int = 86400  # how long to wait for one ImportTable to finish
    # Rows read (from 8 key ranges) to size the items of the estimates; 0: declared types only.
    estimate_sample_rows: int = 2000
    # Tables whose statistics say at most this many rows are counted for the estimate (InnoDB's
    # TABLE_ROWS is often 10-20% off); bigger ones keep the statistics: a COUNT(*) scans an index.
    estimate_count_max_rows: int = 1000000


@dataclass
class PricesConfig:
    """AWS list prices for the plan's estimates (us-east-1, on-demand writes as cut on 2024-11-01)."""

    as_of: str = "2024-11-01 us-east-1"  # when and where these prices were read (shown with the estimates)
    on_demand_usd_per_million_writes: float = 0.625  # on-demand write request units
    provisioned_usd_per_wcu_hour: float = 0.00065  # provisioned write capacity
    import_usd_per_gb: float = 0.15  # ImportTable, per GB of uncompressed staged data


@dataclass
class NamingConfig:
    """How target tables and synthesised attributes are named."""

    template: str = "{database}_{table}"  # target table names; fields {database} and {table}
    prefix: str = ""  # put before every target table name (the IAM policies are scoped by it)
    composite_range_attribute: str = "_sort_key"  # the RANGE attribute synthesised for keys of 3+ columns
    row_id_attribute: str = "_row_id"  # the HASH attribute synthesised for tables without a usable key


@dataclass
class SparkConfig:
    """How each table is split into reads, and how many run at once."""

    rows_per_partition: int = 100000  # at most, per JDBC read partition
    min_partition_rows: int = 10000  # at least: a table under twice this is one read
    partitions_per_slot: int = 3  # a table big enough gets this many partitions per task slot
    max_partitions: int = 2000  # read partitions per table at most
    max_concurrent_tables: int = 4  # tables loaded at the same time
    progress_seconds: float = 10  # how often the progress lines are logged
    task_slots: int = 0  # tasks that run at once; 0: Spark's defaultParallelism (dry run: the CPU count)


@dataclass
class OutputConfig:
    """Where the run writes its report, rejects, resume state and import staging."""

    report: Optional[str] = None  # local path or s3:// for the JSON report
    rejects: str = "rejects"  # local folder or s3:// prefix for rejected rows
    state: str = "mysql2dynamodb-state"  # folder or s3:// prefix of the resume state
    staging: Optional[str] = None  # s3:// prefix where import mode stages DynamoDB JSON, one prefix per table


@dataclass
class CatchUpConfig:
    """The catch-up from the binlog, the follower and live verification."""

    from_report: Optional[str] = None  # a load's (or catch-up's) report: start where it ended
    from_position: Optional[str] = None  # or FILE:POS
    from_gtid: Optional[str] = None  # or a GTID set (MariaDB domain-server-sequence)
    follow: bool = False  # keep applying until SIGTERM or max_seconds, logging the lag
    max_seconds: float = 0  # with follow: stop after this long (0: no limit)
    batch_rows: int = 1000  # row changes gathered before they are applied (at a transaction's end)
    max_delay_seconds: float = 1.0  # a committed change waits at most this long before it is applied
    server_id: int = 4242001  # the replica id this client presents to the server; unique per client
    verify: bool = False  # with follow: verify every table while following (--catch-up --follow --verify)
    until_verified: bool = False  # end the follower once the source is fenced (read-only) and verified through it
    cut_over_lag_seconds: float = 5.0  # "safe to cut over" needs the catch-up's lag within this
    verify_rows_per_second: float = 20000  # live verification's reads, per side (0: no limit)
    verify_examples: int = 10  # differing keys shown per table
    spread_rows: int = 200000  # under spark-submit: whole passes of tables this big (estimated rows) run as Spark jobs


@dataclass
class RunConfig:
    """The mode of a run (each also a flag)."""

    dry_run: bool = False  # write the plan, touch nothing
    catch_up: bool = False  # apply the binlog from a recorded position instead of loading
    verify: bool = True  # count and checksum both sides after the load (--no-verify skips it)
    resume: bool = False  # skip tables and partitions the state records as finished
    verify_only: bool = False  # no load: compare existing DynamoDB tables with the source
    repair: bool = False  # after verification finds differences: delete, put, verify again
    verbose: bool = False  # tracebacks and Spark INFO logs


@dataclass
class TableOverride:
    """Per-table overrides, keyed "db.table" (or `db`.`table` when a name holds a dot)."""

    key: Optional[List[str]] = None  # the columns to key the items by, instead of the primary key
    exclude_columns: List[str] = field(default_factory=list)  # columns left out of the items
    rename: Dict[str, str] = field(default_factory=dict)  # {column: attribute name}
    target: Optional[str] = None  # the DynamoDB table name, instead of naming.template's


@dataclass
class Config:
    mysql: MySQLConfig = field(default_factory=MySQLConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    dynamodb: DynamoDBConfig = field(default_factory=DynamoDBConfig)
    naming: NamingConfig = field(default_factory=NamingConfig)
    spark: SparkConfig = field(default_factory=SparkConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    run: RunConfig = field(default_factory=RunConfig)
    catch_up: CatchUpConfig = field(default_factory=CatchUpConfig)
    prices: PricesConfig = field(default_factory=PricesConfig)
    tables: Dict[str, TableOverride] = field(default_factory=dict)  # key: "database.table"
    # several source tables into one DynamoDB table, keyed by templates: see the manual's modelling page
    model: Dict[str, Any] = field(default_factory=dict)

    def override_for(self, database: str, table: str) -> TableOverride:
        """The quoted key (`db`.`table`) is exact; the plain key (db.table) is checked for ambiguity
        by the planner, since `a.b`.`c` and `a`.`b.c` both print as a.b.c."""
        found = self.tables.get(quote_table(database, table))
        if found is None:
            found = self.tables.get(f"{database}.{table}")
        return found or TableOverride()

    @property
    def price_list(self) -> Prices:
        return Prices(
            self.prices.on_demand_usd_per_million_writes,
            self.prices.provisioned_usd_per_wcu_hour,
            self.prices.import_usd_per_gb,
        )

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> "Config":
        """Every value checked before anything connects; each problem is one line naming the key."""
        choices = {
            "dynamodb.billing_mode": (self.dynamodb.billing_mode, ("PAY_PER_REQUEST", "PROVISIONED")),
            "dynamodb.null_as": (self.dynamodb.null_as, ("absent", "null")),
            "dynamodb.load_mode": (self.dynamodb.load_mode, LOAD_MODES),
            "dynamodb.warm_throughput": (self.dynamodb.warm_throughput, ("new", "all", "none")),
        }
        for key, (value, allowed) in choices.items():
            if value not in allowed:
                raise ConfigError(f"setting {key} is {value!r}; expected one of {', '.join(allowed)}")
        if not 0 < self.dynamodb.write_percent <= 1:
            raise ConfigError(f"setting dynamodb.write_percent is {self.dynamodb.write_percent}; expected 0 < x <= 1")
        for key, value in _positive_settings(self):
            if not value > 0:
                raise ConfigError(f"setting {key} is {value}; expected a positive number")
        automatic = {
            "spark.task_slots": self.spark.task_slots,
            "mysql.max_concurrent_reads": self.mysql.max_concurrent_reads,
        }
        for setting, count in automatic.items():
            if count < 0:
                raise ConfigError(f"setting {setting} is {count}; expected 0 (automatic) or more")
        if self.mysql.connection_retry_seconds < 0:
            raise ConfigError(
                f"setting mysql.connection_retry_seconds is {self.mysql.connection_retry_seconds}; expected 0 or more"
            )
        if not 0 < self.mysql.port < 65536:
            raise ConfigError(f"setting mysql.port is {self.mysql.port}; expected 1-65535")
        if self.dynamodb.max_in_flight > MAX_IN_FLIGHT:
            raise ConfigError(
                f"setting dynamodb.max_in_flight is {self.dynamodb.max_in_flight}; expected 1-{MAX_IN_FLIGHT} "
                "(each writer's HTTP connection pool holds that many)"
            )
        if self.mysql.prepared_xa_wait_seconds < 0:
            raise ConfigError(
                f"setting mysql.prepared_xa_wait_seconds is {self.mysql.prepared_xa_wait_seconds}; expected 0 or more"
            )
        if self.catch_up.max_seconds < 0:
            raise ConfigError(f"setting catch_up.max_seconds is {self.catch_up.max_seconds}; expected 0 or more")
        if (
            self.run.catch_up
            and sum(1 for v in (self.catch_up.from_report, self.catch_up.from_position, self.catch_up.from_gtid) if v)
            > 1
        ):
            raise ConfigError(
                "--catch-up takes at most one start: --from-report, --from-position or --from-gtid "
                "(none: each table from the position recorded in the state)"
            )
        live_verify = self.run.catch_up and self.catch_up.verify
        if (
            self.run.repair
            and not live_verify
            and (self.run.catch_up or self.run.dry_run or not (self.run.verify or self.run.verify_only))
        ):
            raise ConfigError(
                "--repair works from verification's comparison: use it with a load (verification on), "
                "with --verify-only or with --catch-up --follow --verify, not with a plain --catch-up, "
                "--dry-run or --no-verify"
            )
        if self.run.catch_up and (self.catch_up.verify or self.catch_up.until_verified) and not self.catch_up.follow:
            raise ConfigError(
                "setting catch_up.verify (live verification) runs beside a follower: add --follow "
                "(--until-verified sets both)"
            )
        for name in ("cut_over_lag_seconds", "verify_rows_per_second"):
            if getattr(self.catch_up, name) < 0:
                raise ConfigError(f"setting catch_up.{name} is {getattr(self.catch_up, name)}; expected 0 or more")
        if self.catch_up.from_position and not _POSITION.fullmatch(self.catch_up.from_position):
            raise ConfigError(f"setting catch_up.from_position is {self.catch_up.from_position!r}; expected FILE:POS")
        if self.dynamodb.load_mode != WRITE and not (self.output.staging or "").startswith("s3://"):
            raise ConfigError(
                f"setting dynamodb.load_mode is {self.dynamodb.load_mode!r}, which needs "
                f"output.staging (--staging) to be an s3:// prefix (ImportTable reads from S3); "
                f"it is {self.output.staging!r}"
            )
        for name, path in (("output.staging", self.output.staging), ("output.rejects", self.output.rejects)):
            if path and path.startswith("s3:") and not _S3_URL.fullmatch(path):
                raise ConfigError(f"setting {name} is {path!r}; expected s3://BUCKET/PREFIX")
        staging, rejects = (p.rstrip("/") + "/" for p in (self.output.staging or "", self.output.rejects or ""))
        if self.output.staging and (staging.startswith(rejects) or rejects.startswith(staging)):
            raise ConfigError(
                f"settings output.staging ({self.output.staging!r}) and output.rejects ({self.output.rejects!r}) "
                "overlap: everything under a table's staging prefix is imported, so rejects must live elsewhere"
            )
        if self.dynamodb.target_wcu < 0:
            raise ConfigError(f"setting dynamodb.target_wcu is {self.dynamodb.target_wcu}; expected 0 (off) or more")
        for name in ("import_min_rows", "estimate_sample_rows", "estimate_count_max_rows"):
            if getattr(self.dynamodb, name) < 0:
                raise ConfigError(f"setting dynamodb.{name} is {getattr(self.dynamodb, name)}; expected 0 or more")
        problem = template_problem(self.naming.template)
        if problem:
            raise ConfigError(f"setting naming.template {self.naming.template!r} {problem}")
        return self


_POSITION = re.compile(r"[^:]+:\d+")
_S3_URL = re.compile(r"s3://[a-z0-9][a-z0-9.-]*(/.*)?")  # a bucket named, then the prefix


def _positive_settings(config: "Config"):
    groups = {
        "mysql": (
            "fetch_size",
            "connect_timeout_seconds",
            "net_write_timeout_seconds",
            "net_read_timeout_seconds",
            "wait_timeout_seconds",
        ),
        "dynamodb": (
            "read_capacity",
            "write_capacity",
            "on_demand_wcu",
            "max_retry_seconds",
            "max_in_flight",
            "table_wait_seconds",
            "import_min_saving",
            "import_wait_seconds",
            "partition_key_wcu",
            "climb_probe_seconds",
        ),
        "prices": ("on_demand_usd_per_million_writes", "provisioned_usd_per_wcu_hour", "import_usd_per_gb"),
        "spark": (
            "rows_per_partition",
            "min_partition_rows",
            "partitions_per_slot",
            "max_partitions",
            "max_concurrent_tables",
            "progress_seconds",
        ),
        "catch_up": ("batch_rows", "max_delay_seconds", "server_id"),
    }
    for group, names in groups.items():
        for name in names:
            yield f"{group}.{name}", getattr(getattr(config, group), name)


def merge(base: Config, overrides: Dict[str, Any], where: str) -> Config:
    """Return base updated with a nested dict of overrides; unknown keys are errors."""
    return _merge_dataclass(base, overrides, where, prefix="")


def _merge_dataclass(obj, overrides: Dict[str, Any], where: str, prefix: str):
    if not isinstance(overrides, dict):
        raise ConfigError(f"{where}: setting {prefix.rstrip('.') or '<root>'} must be an object")
    hints = get_type_hints(type(obj))
    known = {f.name for f in dataclasses.fields(obj)}
    changes = {}
    for key, value in overrides.items():
        path = prefix + key
        if key not in known:
            raise ConfigError(f"{where}: unknown config key {path!r} (known: {', '.join(sorted(known))})")
        current = getattr(obj, key)
        hint = hints[key]
        if dataclasses.is_dataclass(current):
            changes[key] = _merge_dataclass(current, value, where, path + ".")
        elif key == "tables" and isinstance(obj, Config):
            changes[key] = _merge_tables(current, value, where)
        else:
            changes[key] = _coerce(value, hint, where, path)
    return dataclasses.replace(obj, **changes)


def _merge_tables(current: Dict[str, TableOverride], value, where: str) -> Dict[str, TableOverride]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: setting tables must map 'database.table' to an object")
    merged = dict(current)
    for name, table_overrides in value.items():
        if name.count(".") < 1:
            raise ConfigError(f"{where}: tables key {name!r} must be 'database.table' (or `database`.`table`)")
        merged[name] = _merge_dataclass(merged.get(name, TableOverride()), table_overrides, where, f"tables.{name}.")
    return merged


def _coerce(value, hint, where: str, path: str):
    origin = get_origin(hint)
    args = get_args(hint)
    if origin is not None and type(None) in args:  # Optional[X]
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = get_origin(hint), get_args(hint)
    if origin in (list, List):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: setting {path} must be a list, got {value!r}")
        return [_coerce(v, args[0], where, path) for v in value]
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: setting {path} must be an object, got {value!r}")
        return {str(k): _coerce(v, args[1], where, f"{path}.{k}") for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: setting {path} must be true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, (bool, str)):  # "23306" in a conf file is a string, as JSON says
            raise ConfigError(f"{where}: setting {path} must be a number, got {value!r}")
        try:
            finite = math.isfinite(float(value))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}: setting {path} must be a number, got {value!r}") from e
        if not finite:
            raise ConfigError(f"{where}: setting {path} must be a finite number, got {value!r}")
        try:
            number = hint(value)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}: setting {path} must be a whole number, got {value!r}") from e
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{where}: setting {path} must be a whole number, got {value!r}")
        return number
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: setting {path} must be a string, got {value!r}")
        return value
    return value


def parse_conf_text(text: str, where: str) -> Dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{where}: not valid JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the top level must be a JSON object")
    data.pop("_comment", None)
    return data
