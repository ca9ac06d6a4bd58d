"""Migrate whole MySQL databases into DynamoDB.

Run it with spark-submit (the JDBC driver jar on --jars; the password in the environment,
never on the command line, or from mysql.password_file / mysql.secret_id):

    export MYSQL_PASSWORD="$(cat /run/secrets/mysql-password)"
    spark-submit --jars /usr/share/java/mariadb-java-client.jar \\
        jobs/migrate.py --database shop --mysql-host 127.0.0.1 --mysql-port 3306 \\
        --dynamodb-endpoint http://127.0.0.1:8000 --report report.json

Exit codes: 0 every table completed, 3 completed with rejected rows, 1 anything failed.
"""

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from typing import Optional, Sequence, TextIO

from jobs import storage
from jobs.cli import config_from_args, redacted, report_path_from_args
from jobs.config import Config
from jobs.errors import MigrationError, one_line
from jobs.report import EXIT_FAILED, Report, running_report

log = logging.getLogger("mysql2dynamodb")


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    for noisy in ("botocore", "boto3", "urllib3", "py4j"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)


def execute(config: Config) -> Report:
    """Create the connections once, here at the edge, and run."""
    import jobs

    log.info("mysql2dynamodb code from %s", os.path.dirname(os.path.abspath(jobs.__file__)))
    from jobs import secrets
    from jobs.dynamodb import tables as dynamo
    from jobs.load.session import build_spark
    from jobs.mysql.connection import connect
    from jobs.run import run

    password = secrets.mysql_password(config.mysql)
    conn = connect(config.mysql, password)
    try:
        client = dynamo.make_client(config.dynamodb.endpoint_url, config.dynamodb.region)
        if config.run.catch_up and os.environ.get("PYSPARK_GATEWAY_PORT"):
            # A catch-up uses no Spark, but YARN in cluster mode fails an application that has
            # created no SparkContext within spark.yarn.am.waitTime (100 s): under spark-submit
            # it creates one. Started as a plain Python process, it needs no pyspark at all.
            build_spark(verbose=config.run.verbose)
            log.info("catch-up under spark-submit: a SparkSession is created for the cluster manager only")
        return run(config, conn, client, lambda: build_spark(verbose=config.run.verbose), password)
    finally:
        conn.close()


def publish(report: Report, config: Config) -> None:
    """The report file first: a driver whose spark-submit is gone has no stdout left to print to."""
    if config.output.report:
        storage.write_text(config.output.report, report.to_json())
        log.info("report written to %s", config.output.report)
    say(report.to_text(verbose=config.run.verbose))


def say(text: str, stream: Optional[TextIO] = None) -> None:
    with contextlib.suppress(OSError):  # the pipe to a spark-submit that was stopped
        print(text, file=stream or sys.stdout, flush=True)


def stop_with_parent(poll_seconds: float = 0.5) -> None:
    """spark-submit runs this driver as a child of its JVM, and a SIGTERM to spark-submit (the
    process a user or an orchestrator knows) ends the JVM without passing the signal on: the
    driver would go on, a follower forever, with no log. When the parent is gone, stop as if
    signalled: a catch-up applies what it read, saves its positions and writes its report."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="stop-with-parent", daemon=True).start()


def publish_failure(config: Optional[Config], argv: Sequence[str], error: str) -> None:
    """The report path always describes this run: a run that failed before its report says so,
    so an older report never passes for the current one."""
    path = config.output.report if config is not None else report_path_from_args(argv)
    if not path:
        return
    try:
        storage.write_text(path, Report(error=error).to_json())
    except MigrationError as e:
        log.error("%s", e)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in argv
    configure_logging(verbose)
    config = None
    try:
        config = config_from_args(argv)
        if config.output.report:
            storage.write_text(config.output.report, running_report(redacted(argv)))
        report = execute(config)
        publish(report, config)
        if report.error:
            say(f"mysql2dynamodb: error: {report.error}", sys.stderr)
        return report.exit_code()
    except MigrationError as e:
        if verbose:
            log.exception("migration failed")
        publish_failure(config, argv, str(e))
        say(f"mysql2dynamodb: error: {e}", sys.stderr)
        return EXIT_FAILED
    except BaseException as e:
        publish_failure(config, argv, f"unexpected {type(e).__name__}: {one_line(e)}")
        raise


if __name__ == "__main__":
    if os.environ.get("PYSPARK_GATEWAY_PORT"):  # started by spark-submit
        stop_with_parent()
    sys.exit(main())
