import json
import sys
import types

import pytest

from jobs import glue_migrate
from jobs.cli import config_from_args
from jobs.errors import ConfigError

GLUE_FLAGS = ["--TempDir", "s3://tmp/", "--job-bookmark-option", "job-bookmark-disable", "--enable-metrics", "true"]


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"mysql": {"host": "db.internal"}, "spark": {"max_concurrent_tables": 8}}))
    return str(path)


def through_glue(glue_argv):
    """The Config the Glue entry builds from Glue's arguments."""
    options = glue_migrate.VALUED + list(glue_migrate.SETTINGS) + glue_migrate.SWITCHES
    return config_from_args(
        glue_migrate.cli_argv(glue_migrate.resolve_options(glue_argv, glue_migrate.REQUIRED, options))
    )


def test_glue_arguments_give_the_same_config_as_the_cli(conf):
    glue = [
        "script.py",
        "--JOB_NAME",
        "nightly",
        "--database",
        "shop",
        "--conf_file",
        conf,
        "--region",
        "eu-west-1",
        "--conf",
        "spark.sql.shuffle.partitions=8",  # Glue's own --conf: Spark settings, not ours
        "--glue_connection",
        "mysql-prod",
        "--resume",
        "true",
        "--mysql_port",
        "3307",
    ] + GLUE_FLAGS
    from_glue = through_glue(glue)
    from_cli = config_from_args(
        [
            "--database",
            "shop",
            "--conf",
            conf,
            "--region",
            "eu-west-1",
            "--mysql-port",
            "3307",
            "--set",
            "mysql.glue_connection=mysql-prod",
            "--resume",
        ]
    )
    assert from_glue == from_cli
    assert from_glue.mysql.host == "db.internal" and from_glue.run.resume and from_glue.mysql.port == 3307


def test_missing_required_argument_is_named_in_one_line():
    with pytest.raises(ConfigError, match="^Glue job arguments: .*required: --database$"):
        glue_migrate.resolve_options(["s", "--JOB_NAME", "j"], glue_migrate.REQUIRED, [])


@pytest.mark.parametrize("form", [["--conf", "spark.sql.shuffle.partitions=8"], ["--conf=spark.executor.cores=4"]])
def test_glues_own_conf_is_never_read_as_our_conf_file(form, conf):
    """AWS's parser takes abbreviations: Glue's --conf would otherwise become --conf_file."""
    options = glue_migrate.resolve_options(
        ["s", "--JOB_NAME", "j", "--database", "shop", *form, "--conf_file", conf, *form],
        glue_migrate.REQUIRED,
        glue_migrate.VALUED,
    )
    assert options["conf_file"] == conf


def test_job_init_and_commit_wrap_the_same_run(monkeypatch):
    events = []

    class FakeJob:
        def __init__(self, context):
            events.append("Job")

        def init(self, name, options):
            events.append(("init", name))

        def commit(self):
            events.append("commit")

    class FakeReport:
        def exit_code(self):
            return 0

    context_module = types.ModuleType("awsglue.context")
    context_module.GlueContext = lambda sc: events.append(("GlueContext", sc)) or "glue-context"
    job_module = types.ModuleType("awsglue.job")
    job_module.Job = FakeJob
    monkeypatch.setitem(sys.modules, "awsglue", types.ModuleType("awsglue"))
    monkeypatch.setitem(sys.modules, "awsglue.context", context_module)
    monkeypatch.setitem(sys.modules, "awsglue.job", job_module)
    monkeypatch.setattr("jobs.load.session.build_spark", lambda verbose=False: types.SimpleNamespace(sparkContext="sc"))
    import jobs.migrate

    monkeypatch.setattr(
        jobs.migrate, "execute", lambda config: events.append(("run", config.source.databases)) or FakeReport()
    )
    monkeypatch.setattr(jobs.migrate, "publish", lambda report, config: events.append("publish"))
    assert glue_migrate.main(["s", "--JOB_NAME", "nightly", "--database", "shop"]) == 0
    assert events == [("GlueContext", "sc"), "Job", ("init", "nightly"), ("run", ["shop"]), "publish", "commit"]


def test_glue_runs_a_catch_up_with_the_same_config_as_the_cli():
    glue = [
        "script.py",
        "--JOB_NAME",
        "cdc",
        "--database",
        "shop",
        "--catch_up",
        "true",
        "--from_report",
        "s3://bucket/load.json",
        "--follow",
        "true",
        "--max_seconds",
        "600",
    ] + GLUE_FLAGS
    from_glue = through_glue(glue)
    from_cli = config_from_args(
        [
            "--database",
            "shop",
            "--catch-up",
            "--from-report",
            "s3://bucket/load.json",
            "--follow",
            "--max-seconds",
            "600",
        ]
    )
    assert from_glue == from_cli and from_glue.run.catch_up and from_glue.catch_up.max_seconds == 600
