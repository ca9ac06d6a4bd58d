"""AWS Glue entry point: the same job as jobs/migrate.py, with Glue's arguments.

Job parameters (Glue passes each as --name value):
  --database shop            required; a name or glob
  --conf_file s3://b/x.json  optional; any conf key can be set there (Glue reserves --conf
                             for Spark settings, so the CLI's --conf is named --conf_file here)
  optional: --tables --exclude --region --report --rejects --state --dynamodb_endpoint
            --mysql_host --mysql_port --mysql_user --glue_connection --secret_id
            --resume true --verify false --dry_run true --verify_only true
            --catch_up true --from_report s3://b/load.json (or --from_position / --from_gtid)
            --follow true --max_seconds 3600
            --load_mode import|auto --staging s3://b/staging --target_wcu 20000
The password comes from the Glue connection (--glue_connection) or a Secrets Manager
secret (--secret_id), never from an argument.
"""

import sys
from typing import Dict, List, Optional, Sequence

from jobs.errors import ConfigError

REQUIRED = ["JOB_NAME", "database"]
VALUED = [
    "conf_file",
    "tables",
    "exclude",
    "region",
    "report",
    "rejects",
    "state",
    "dynamodb_endpoint",
    "mysql_host",
    "mysql_port",
    "mysql_user",
    "from_report",
    "from_position",
    "from_gtid",
    "max_seconds",
    "load_mode",
    "staging",
    "target_wcu",
]
SETTINGS = {"glue_connection": "mysql.glue_connection", "secret_id": "mysql.secret_id"}
SWITCHES = ["resume", "verify", "dry_run", "verify_only", "verbose", "catch_up", "follow"]


def resolve_options(argv: Sequence[str], required: List[str], optional: List[str]) -> Dict[str, str]:
    """AWS's own getResolvedOptions on the job's arguments.

    Its parser takes abbreviations, so a Glue argument that is a prefix of one of ours (Glue's
    own --conf of --conf_file) would be read as ours: such arguments are left out first.
    """
    try:
        from awsglue.utils import GlueArgumentError, getResolvedOptions
    except ImportError as e:
        raise ConfigError(
            "jobs/glue_migrate.py is the AWS Glue entry (awsglue not found); elsewhere run jobs/migrate.py"
        ) from e
    wanted = required + optional
    present = [name for name in optional if f"--{name}" in argv]
    try:
        return getResolvedOptions(_without_abbreviations(list(argv), wanted), required + present)
    except GlueArgumentError as e:
        raise ConfigError(f"Glue job arguments: {e}") from e


def _without_abbreviations(argv: List[str], names: List[str]) -> List[str]:
    kept: List[str] = argv[:1]
    skip_value = False
    for token in argv[1:]:
        if skip_value:
            skip_value = False
            if not token.startswith("--"):
                continue
        name = token[2:].split("=", 1)[0] if token.startswith("--") else None
        if name and name not in names and any(ours.startswith(name) for ours in names):
            skip_value = "=" not in token
            continue
        kept.append(token)
    return kept


def cli_argv(options: Dict[str, str]) -> List[str]:
    """The spark-submit command line equivalent to these Glue options."""
    argv = ["--database", options["database"]]
    for name in VALUED:
        if name in options:
            flag = "--conf" if name == "conf_file" else f"--{name.replace('_', '-')}"
            argv += [flag, options[name]]
    for name, setting in SETTINGS.items():
        if name in options:
            argv += ["--set", f"{setting}={options[name]}"]
    for name in SWITCHES:
        value = options.get(name, "").lower()
        if value in ("true", "1", "yes"):
            argv.append(f"--{name.replace('_', '-')}")
        elif value in ("false", "0", "no") and name == "verify":
            argv.append("--no-verify")
    return argv


def main(argv: Optional[Sequence[str]] = None) -> int:
    from jobs.cli import config_from_args
    from jobs.migrate import configure_logging, execute, publish
    from jobs.report import EXIT_FAILED

    argv = list(sys.argv if argv is None else argv)
    configure_logging("--verbose" in argv)
    try:
        options = resolve_options(argv, REQUIRED, VALUED + list(SETTINGS) + SWITCHES)
        config = config_from_args(cli_argv(options))
        job = _start_glue_job(options, config.run.verbose)
        report = execute(config)
        publish(report, config)
        if job is not None:
            job.commit()
        return report.exit_code()
    except Exception as e:
        from jobs.errors import MigrationError

        if not isinstance(e, MigrationError):
            raise
        print(f"mysql2dynamodb: error: {e}", file=sys.stderr, flush=True)
        return EXIT_FAILED


def _start_glue_job(options: Dict[str, str], verbose: bool = False):
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job
    except ImportError:
        return None  # not on Glue: the same run, without Glue's bookkeeping
    from jobs.load.session import build_spark

    # Our session first: a SparkContext created by GlueContext would be built without our
    # settings (FAIR scheduling for concurrent tables), and the run would reuse it as it is.
    spark = build_spark(verbose=verbose)
    job = Job(GlueContext(spark.sparkContext))
    job.init(options["JOB_NAME"], options)
    return job


if __name__ == "__main__":
    code = main()
    if code:
        sys.exit(code)
