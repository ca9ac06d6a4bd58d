"""The one SparkSession of a test run, shared by the chispa tests and the in-process job runs.

It is built as spark-submit builds the job's (`jobs.load.session.build_spark`, master local[2], the
JDBC driver on the class path, conf/spark for Spark's logging), after the environment the
executors inherit is set: placeholder AWS credentials (the emulators accept any) and the
venv's Python. Built once, on first use; pytest stops it at the end of the session.
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("M2D_VENV", os.path.join(REPO, ".venv"))
JDBC_JAR = os.environ.get("M2D_JDBC_JAR", "/usr/share/java/mariadb-java-client.jar")

EXECUTOR_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PYSPARK_PYTHON": os.path.join(VENV, "bin", "python"),
    "PYSPARK_DRIVER_PYTHON": os.path.join(VENV, "bin", "python"),
    "SPARK_LOCAL_IP": "127.0.0.1",
    "SPARK_CONF_DIR": os.path.join(REPO, "conf", "spark"),
}

_session = None


def shared_session():
    global _session
    if _session is None:
        from jobs.load.session import build_spark

        for name, value in EXECUTOR_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        settings = {"spark.master": "local[2]", "spark.ui.enabled": "false"}
        if os.path.exists(JDBC_JAR):
            settings["spark.jars"] = JDBC_JAR
        _session = build_spark("mysql2dynamodb-tests", settings=settings)
    return _session


def stop_shared_session() -> None:
    global _session
    if _session is not None:
        _session.stop()
        _session = None
