"""make package, unpacked into an empty folder outside the repo, run with spark-submit."""

import json
import os
import shutil
import subprocess
import zipfile

from tests.e2e.stack import JDBC_JAR, REPO, VENV


def test_packaged_job_runs_from_an_empty_folder(stack, tmp_path):
    subprocess.run(
        [os.path.join(VENV, "bin", "python"), os.path.join(REPO, "local", "package.py")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    unpacked = tmp_path / "unpacked"
    shutil.copytree(os.path.join(REPO, "dist"), unpacked)
    with zipfile.ZipFile(unpacked / "mysql2dynamodb.zip") as archive:
        names = archive.namelist()
        assert {"jobs/dynamodb/writer.py", "jobs/mysql/reader.py", "mapping/keys.py"} <= set(names)
    with zipfile.ZipFile(unpacked / "deps.zip") as archive:
        names = archive.namelist()
        assert {"pymysql/connections.py", "pymysqlreplication/binlogstream.py"} <= set(names)

    stack.fresh_database(
        "pkg_db",
        "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT)",
        rows={"notes": [(i, f"note {i}") for i in range(300)]},
    )
    command = [
        os.path.join(VENV, "bin", "spark-submit"),
        "--master",
        "local[2]",
        "--jars",
        JDBC_JAR,
        "--py-files",
        "mysql2dynamodb.zip,deps.zip",
        "migrate.py",
        "--database",
        "pkg_db",
        "--mysql-port",
        str(stack.mysql_port),
        "--dynamodb-endpoint",
        stack.endpoint,
        "--conf",
        "conf/examples/local.json",
        "--report",
        "report.json",
    ]
    run = subprocess.run(command, cwd=unpacked, env=stack.env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert f"mysql2dynamodb code from {unpacked}/mysql2dynamodb.zip/jobs" in run.stdout + run.stderr
    report = json.loads((unpacked / "report.json").read_text())
    assert report["tables"][0]["status"] == "completed" and report["tables"][0]["items_written"] == 300
