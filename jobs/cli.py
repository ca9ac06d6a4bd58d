"""Command-line arguments -> Config. Shared by the spark-submit entry and the Glue entry."""

import argparse
import json
from typing import Any, Dict, List, Optional, Sequence

from jobs import storage
from jobs.config import Config, merge, parse_conf_text
from jobs.errors import ConfigError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # raise instead of exiting, so callers print one line
        raise ConfigError(f"command line: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="migrate",
        description="Migrate whole MySQL databases into DynamoDB.",
        allow_abbrev=False,
    )
    add = parser.add_argument
    add("--database", action="append", metavar="NAME_OR_GLOB", help="database(s) to migrate; repeatable")
    add("--tables", action="append", metavar="GLOB", help="only tables matching (name or db.name); repeatable")
    add("--exclude", action="append", metavar="GLOB", help="skip tables matching; repeatable")
    add("--conf", metavar="FILE", help="JSON conf file, local path or s3:// URL")
    add("--dynamodb-endpoint", metavar="URL", help="DynamoDB endpoint (emulator); default: AWS")
    add("--region", help="AWS region")
    add("--report", metavar="PATH", help="write the JSON report here (local or s3://)")
    add("--rejects", metavar="PATH", help="folder or s3:// prefix for rejected rows")
    add("--state", metavar="PATH", help="folder or s3:// prefix for the resume state")
    add(
        "--resume",
        action="store_true",
        default=None,
        help="skip the tables and partitions an earlier run of the same plan finished",
    )
    add("--mysql-host", help="source server host")
    add("--mysql-port", type=int, help="source server port")
    add("--mysql-user", help="source user (the password: MYSQL_PASSWORD or the conf's mysql.password_*)")
    add("--billing-mode", choices=["PAY_PER_REQUEST", "PROVISIONED"])
    add(
        "--load-mode",
        choices=["write", "import", "auto"],
        help="write items (default), import new tables from S3 staging, or auto: import where much cheaper",
    )
    add("--staging", metavar="S3_PREFIX", help="s3:// prefix for the DynamoDB JSON that import mode stages")
    add(
        "--target-wcu",
        type=int,
        metavar="WCU",
        help="write rate to aim at per table: pre-warms new on-demand tables, or climbs to it",
    )
    add("--rows-per-partition", type=int)
    add("--max-concurrent-tables", type=int)
    add(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="any conf setting, e.g. --set dynamodb.write_percent=0.3 (VALUE is JSON or a plain string)",
    )
    add("--dry-run", action="store_true", default=None, help="print and write the plan; change nothing")
    add(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="count and checksum both sides after the load (default on; --no-verify skips it); "
        "with --catch-up --follow: verify every table live while following",
    )
    add(
        "--verify-only",
        action="store_true",
        default=None,
        help="write nothing: compare the existing DynamoDB tables with the source",
    )
    add(
        "--repair",
        action="store_true",
        default=None,
        help="where verification differs: delete items whose rows are gone, put rows missing or "
        "different, verify again (with a load or --verify-only)",
    )
    add(
        "--catch-up",
        action="store_true",
        default=None,
        help="apply the binlog from a recorded position to the migrated tables instead of loading",
    )
    add("--from-report", metavar="PATH", help="catch up from where this report's load or catch-up ended")
    add("--from-position", metavar="FILE:POS", help="catch up from this binlog position")
    add("--from-gtid", metavar="GTID_SET", help="catch up from this GTID set")
    add("--follow", action="store_true", default=None, help="keep catching up until SIGTERM or --max-seconds")
    add("--max-seconds", type=float, help="with --follow: stop after this many seconds")
    add(
        "--until-verified",
        action="store_true",
        default=None,
        help="follow with live verification, and end once the source is fenced (read_only = ON) and every "
        "table is verified through the position after the fence: exit 0 = safe to cut over",
    )
    add("--verbose", action="store_true", default=None, help="tracebacks and Spark INFO logs")
    return parser


_FLAG_TO_SETTING = {
    "database": "source.databases",
    "tables": "source.tables",
    "exclude": "source.exclude",
    "dynamodb_endpoint": "dynamodb.endpoint_url",
    "region": "dynamodb.region",
    "report": "output.report",
    "rejects": "output.rejects",
    "state": "output.state",
    "resume": "run.resume",
    "mysql_host": "mysql.host",
    "mysql_port": "mysql.port",
    "mysql_user": "mysql.user",
    "billing_mode": "dynamodb.billing_mode",
    "load_mode": "dynamodb.load_mode",
    "target_wcu": "dynamodb.target_wcu",
    "staging": "output.staging",
    "rows_per_partition": "spark.rows_per_partition",
    "max_concurrent_tables": "spark.max_concurrent_tables",
    "dry_run": "run.dry_run",
    "verify": "run.verify",
    "verify_only": "run.verify_only",
    "repair": "run.repair",
    "verbose": "run.verbose",
    "catch_up": "run.catch_up",
    "from_report": "catch_up.from_report",
    "from_position": "catch_up.from_position",
    "from_gtid": "catch_up.from_gtid",
    "follow": "catch_up.follow",
    "max_seconds": "catch_up.max_seconds",
}
_UNTIL_VERIFIED = {"catch_up": {"follow": True, "verify": True, "until_verified": True}}


def _nest(dotted: str, value: Any) -> Dict[str, Any]:
    result: Dict[str, Any] = {}
    cursor = result
    parts = dotted.split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return result


def _parse_set(item: str) -> Dict[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"command line: --set {item!r} must be KEY=VALUE")
    if key.startswith("mysql.password") and key not in ("mysql.password_env", "mysql.password_file"):
        raise ConfigError(
            "command line: passwords are never taken as arguments; use MYSQL_PASSWORD or mysql.password_file"
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return _nest(key, value)


def config_from_args(argv: Sequence[str], defaults: Optional[Config] = None) -> Config:
    args = build_parser().parse_args(list(argv))
    config = defaults or Config()
    if args.conf:
        config = merge(config, parse_conf_text(storage.read_text(args.conf), args.conf), args.conf)
    for name, setting in _FLAG_TO_SETTING.items():
        value = getattr(args, name)
        if value is not None:
            config = merge(config, _nest(setting, value), f"--{name.replace('_', '-')}")
    if args.verify and config.run.catch_up:  # --catch-up --follow --verify: live verification
        config = merge(config, _nest("catch_up.verify", True), "--verify")
    if args.until_verified:
        config = merge(config, _UNTIL_VERIFIED, "--until-verified")
    for item in args.set:
        config = merge(config, _parse_set(item), "--set")
    if not config.source.databases:
        raise ConfigError("no database given: pass --database NAME (or source.databases in the conf)")
    return config.validate()


def report_path_from_args(argv: Sequence[str]) -> Optional[str]:
    """Where --report points, read leniently: for the failure report of a command line that
    could not be turned into a config (the bad value is the very reason for the report)."""
    try:
        known, _ = build_parser().parse_known_args(list(argv))
    except ConfigError:
        return None
    return known.report


SECRET_NAMES = ("password", "secret", "token", "credential")


def redacted(argv: Sequence[str]) -> List[str]:
    """The command line for the report: a `--set` of anything secret-looking keeps its name only
    (passwords never belong on a command line; if one was put there, it is not copied on)."""
    return [_without_secret(arg) for arg in argv]


def _without_secret(arg: str) -> str:
    name, equals, _ = arg.partition("=")
    return f"{name}=***" if equals and any(word in name.lower() for word in SECRET_NAMES) else arg
