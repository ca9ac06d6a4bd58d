"""Glue-style start-up builds the SparkContext with our settings (FAIR scheduling)."""

import os
import subprocess
import sys
import textwrap

from tests.e2e.stack import REPO

FAKE_AWSGLUE = {
    "awsglue/__init__.py": "",
    "awsglue/context.py": "class GlueContext:\n    def __init__(self, sc):\n        self.sc = sc\n",
    "awsglue/job.py": "class Job:\n    def __init__(self, context):\n        self.context = context\n"
    "    def init(self, name, options):\n        pass\n",
}


def test_the_context_glue_start_up_produces_schedules_tables_fairly(tmp_path):
    for name, text in FAKE_AWSGLUE.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    probe = textwrap.dedent("""
        from jobs import glue_migrate
        job = glue_migrate._start_glue_job({"JOB_NAME": "j"})
        conf = job.context.sc.getConf()
        print("mode=%s" % conf.get("spark.scheduler.mode"))
        print("readSideCharPadding=%s" % conf.get("spark.sql.readSideCharPadding"))
        job.context.sc.stop()
    """)
    # A fresh interpreter: the test session's own SparkSession must not be the one found.
    env = dict(
        os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}", PYSPARK_SUBMIT_ARGS="--master local[1] pyspark-shell"
    )
    completed = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "mode=FAIR" in completed.stdout and "readSideCharPadding=false" in completed.stdout
