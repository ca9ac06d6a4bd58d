"""Helpers for end-to-end tests: the local stack, the real entry point, and the oracle."""

import base64
import contextlib
import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional

import pymysql
from pymysql.constants import FIELD_TYPE
from pymysql.converters import conversions

from mapping.identifiers import quote_identifier
from tests.session import JDBC_JAR, REPO, VENV

# The tests' own table waits: an emulator's table changes state in milliseconds (30 s at most).
TABLE_WAIT = {"Delay": 0.1, "MaxAttempts": 300}


_CLIENTS: Dict[str, Any] = {}


@dataclass
class Stack:
    mysql_port: int
    dynamo_port: int
    spark_port: int
    password: str
    env: Dict[str, str]
    stack_dir: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.dynamo_port}"

    def stack_script(self, action: str, what: str) -> None:
        subprocess.run(
            [os.path.join(REPO, "local", "stack.sh"), action, what], env=self.env, check=True, stdout=subprocess.DEVNULL
        )

    def connect(self, database: Optional[str] = None, **extra):
        return pymysql.connect(
            host="127.0.0.1",
            port=self.mysql_port,
            user="root",
            password=self.password,
            database=database,
            charset="utf8mb4",
            autocommit=True,
            **extra,
        )

    def fresh_database(self, name: str, *statements: str, rows: Optional[Dict[str, list]] = None):
        """Drop and create a database, run statements in it, insert rows per table; returns a connection."""
        conn = self.connect()
        quoted = quote_identifier(name)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {quoted}")
            cur.execute(f"CREATE DATABASE {quoted}")
            cur.execute(f"USE {quoted}")
            for statement in statements:
                cur.execute(statement)
            for table, values in (rows or {}).items():
                marks = ", ".join(["%s"] * len(values[0]))
                cur.executemany(f"INSERT INTO {quote_identifier(table)} VALUES ({marks})", values)
                cur.execute(f"ANALYZE TABLE {quote_identifier(table)}")
                cur.fetchall()
        return conn

    def dynamodb(self):
        """The tests' own client of the emulator (one per endpoint: a client costs ~0.1 s of CPU)."""
        if self.endpoint not in _CLIENTS:
            _CLIENTS[self.endpoint] = self._new_dynamodb()
        return _CLIENTS[self.endpoint]

    def _new_dynamodb(self):
        import boto3

        from jobs.dynamodb.tables import raw_scan_page

        client = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        # the tests' scans of every item cost what the job's do: pages read as sent (the items
        # are compared with the source's rows, so nothing the job reads this way goes unchecked)
        client.meta.events.register("before-parse.dynamodb.Scan", raw_scan_page)
        return client


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(command: List[str], port: int, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    """Start a helper server and wait until it accepts connections on port."""
    import socket
    import time

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{command[0]} did not listen on {port}")


@contextlib.contextmanager
def throttle_proxy(stack: "Stack", *args: str, upstream: Optional[str] = None) -> Iterator[str]:
    """local/throttle_proxy.py in front of the stack's dynalite, or of upstream (args: its options); its URL."""
    import sys

    port = free_port()
    process = start_server(
        [
            sys.executable,
            os.path.join(REPO, "local", "throttle_proxy.py"),
            "--port",
            str(port),
            "--upstream",
            upstream or stack.endpoint,
            *args,
        ],
        port,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class JobRun:
    code: int
    stdout: str
    stderr: str
    report: Optional[dict]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def table(self, source: str) -> dict:
        """A table's report entry by its shown name or by 'database.table' (unambiguous in these tests)."""
        return next(
            t for t in self.report["tables"] if source in (t["source"], f"{t.get('database')}.{t.get('table')}")
        )


def run_job(
    stack: Stack,
    args: List[str],
    tmp_path,
    master: Optional[str] = None,
    env: Optional[dict] = None,
    spark_conf: Optional[List[str]] = None,
    timeout: int = 600,
    spawn: bool = False,
) -> JobRun:
    """The job through its CLI entry (`jobs.migrate.main`), on the real MariaDB, dynalite and Spark.

    In this process, on the tests' shared SparkSession, unless the test is about the process
    itself: a master or Spark settings of its own, or spawn=True (exit status, signals), run
    it with spark-submit exactly as a user does.
    """
    common = [
        "--mysql-port",
        str(stack.mysql_port),
        "--dynamodb-endpoint",
        stack.endpoint,
        "--report",
        os.path.join(str(tmp_path), "report.json"),
        "--rejects",
        os.path.join(str(tmp_path), "rejects"),
    ] + args
    if spawn or master or spark_conf:
        return submit_job(stack, common, tmp_path, master or "local[2]", env, spark_conf, timeout)
    return run_in_process(stack, common, tmp_path, env)


def submit_job(
    stack: Stack,
    argv: List[str],
    tmp_path,
    master: str,
    env: Optional[dict],
    spark_conf: Optional[List[str]],
    timeout: int,
) -> JobRun:
    command = spark_submit_command(argv, master, spark_conf)
    completed = subprocess.run(
        command, env=dict(stack.env, **(env or {})), capture_output=True, text=True, timeout=timeout, cwd=str(tmp_path)
    )
    return JobRun(completed.returncode, completed.stdout, completed.stderr, _report(tmp_path))


def spark_submit_command(
    argv: List[str], master: str = "local[2]", spark_conf: Optional[List[str]] = None, script: str = ""
) -> List[str]:
    """spark-submit of the job (or of script) as a user runs it: the JDBC jar on --jars."""
    command = [os.path.join(VENV, "bin", "spark-submit"), "--master", master, "--jars", JDBC_JAR]
    for item in spark_conf or []:
        command += ["--conf", item]
    return command + [script or os.path.join(REPO, "jobs", "migrate.py"), *argv]


def run_in_process(stack: Stack, argv: List[str], tmp_path, env: Optional[dict]) -> JobRun:
    """main(argv) with the run's environment (the driver's, and the executors' through the
    SparkContext's environment), working folder, signal handlers and output as a process has them."""
    import contextlib
    import io
    import signal
    import traceback

    import boto3

    from jobs import migrate
    from tests.session import shared_session

    sc = shared_session().sparkContext
    driver_env = dict(stack.env, **(env or {}))
    saved_env, saved_executor_env = dict(os.environ), dict(sc.environment)
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    saved_cwd = os.getcwd()
    saved_boto3_session, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, None  # a process's credentials: its own
    out = io.StringIO()  # spark-submit hands the driver's stderr to stdout too: one stream, as there
    os.environ.update(driver_env)
    sc.environment.update(env or {})
    os.chdir(str(tmp_path))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = migrate.main(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except Exception:  # noqa: BLE001 - what the interpreter prints and exits 1 with, as spark-submit would
                traceback.print_exc()
                code = 1
    finally:
        boto3.DEFAULT_SESSION = saved_boto3_session
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sc.environment.clear()
        sc.environment.update(saved_executor_env)
        for number, handler in saved_signals.items():
            signal.signal(number, handler)
    return JobRun(code, out.getvalue(), "", _report(tmp_path))


def _report(tmp_path) -> Optional[dict]:
    report = os.path.join(str(tmp_path), "report.json")
    if not os.path.exists(report):
        return None
    with open(report, encoding="utf-8") as handle:
        return json.load(handle)


def state_entry(state: str, database: str, table: str) -> dict:
    """A table's entry in the resume manifest ({} while there is none)."""
    try:
        with open(os.path.join(state, "manifest.json"), encoding="utf-8") as handle:
            body = json.load(handle)
    except (OSError, ValueError):
        return {}
    return next((t for t in body.get("tables", []) if (t["database"], t["table"]) == (database, table)), {})


# ---- the oracle: MySQL's text protocol, read by pymysql with every decoder removed ----

_ENCODERS_ONLY = {k: v for k, v in conversions.items() if not isinstance(k, int)}


def source_rows(stack: Stack, database: str, table: str) -> List[Dict[str, Optional[str]]]:
    """Each row as MySQL's text protocol prints it (session time zone UTC).

    Values with no text form use the documented encodings: binary as base64, BIT as a
    decimal integer, spatial as WKT (asked of MySQL separately, by column).
    """
    conn = stack.connect(conv=_ENCODERS_ONLY)
    # Quoted here by hand on purpose: the oracle shares no code with the job.
    quoted = "`" + database.replace("`", "``") + "`.`" + table.replace("`", "``") + "`"
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        cur.execute(f"SELECT * FROM {quoted}")
        fields = cur._result.fields  # type codes and charsets, as sent by the server
        names = [f.name for f in fields]
        spatial = [f.name for f in fields if f.type_code == FIELD_TYPE.GEOMETRY]
        extra = "".join(f", ST_AsText(`{n.replace('`', '``')}`)" for n in spatial)
        cur.execute(f"SELECT *{extra} FROM {quoted}")
        rows = cur.fetchall()
    conn.close()
    result = []
    for row in rows:
        values = dict(zip(names, row[: len(names)]))
        wkt = dict(zip(spatial, row[len(names) :]))
        rendered = {}
        for field in fields:
            value = values[field.name]
            if value is None:
                rendered[field.name] = None
            elif field.type_code == FIELD_TYPE.GEOMETRY:
                rendered[field.name] = wkt[field.name]
            elif field.type_code == FIELD_TYPE.BIT:
                rendered[field.name] = str(int.from_bytes(value, "big"))
            elif isinstance(value, bytes):
                rendered[field.name] = base64.b64encode(value).decode("ascii")
            else:
                rendered[field.name] = value
        result.append(rendered)
    return result


def dynamo_items(client, table: str) -> List[Dict[str, Optional[str]]]:
    items, start = [], None
    while True:
        kwargs = {"TableName": table}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = client.scan(**kwargs)
        for item in page["Items"]:
            items.append({k: (None if "NULL" in v else v["S"]) for k, v in item.items()})
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def without(mapping: Dict, *names) -> Dict:
    return {k: v for k, v in mapping.items() if k not in names}


def present(row: Dict) -> Dict:
    """NULL means the attribute is absent."""
    return {k: v for k, v in row.items() if v is not None}


def canonical(rows) -> List[str]:
    return sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows)
