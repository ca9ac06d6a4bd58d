import json
import os
import re

import pytest

from jobs.cli import config_from_args
from jobs.config import Config, merge, parse_conf_text
from jobs.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_conf_defaults_file_matches_the_code_defaults():
    with open(os.path.join(REPO, "conf", "defaults.json")) as handle:
        assert json.load(handle) == Config().to_dict()


@pytest.mark.parametrize("example", sorted(os.listdir(os.path.join(REPO, "conf", "examples"))))
def test_every_example_conf_loads(example):
    config = config_from_args(["--conf", os.path.join(REPO, "conf", "examples", example), "--database", "x"])
    assert config.source.databases[-1] == "x"


def test_precedence_defaults_then_file_then_flags(tmp_path):
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps({"mysql": {"host": "db.internal", "port": 3307}, "dynamodb": {"region": "eu-west-1"}}))
    config = config_from_args(
        ["--conf", str(conf), "--database", "shop", "--mysql-port", "3310", "--set", "dynamodb.write_percent=0.25"]
    )
    assert config.mysql.host == "db.internal"  # from the file
    assert config.mysql.port == 3310  # flag beats file
    assert config.mysql.user == "root"  # default
    assert config.dynamodb.region == "eu-west-1"
    assert config.dynamodb.write_percent == 0.25


def test_unknown_key_is_named(tmp_path):
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps({"dynamodb": {"regoin": "x"}}))
    with pytest.raises(ConfigError, match=r"unknown config key 'dynamodb.regoin'"):
        config_from_args(["--conf", str(conf), "--database", "d"])


def test_bad_values_name_the_setting():
    with pytest.raises(ConfigError, match="dynamodb.billing_mode"):
        merge(Config(), {"dynamodb": {"billing_mode": "CHEAP"}}, "x").validate()
    with pytest.raises(ConfigError, match="setting mysql.port must be a number"):
        merge(Config(), {"mysql": {"port": "many"}}, "x")
    with pytest.raises(ConfigError, match="write_percent"):
        merge(Config(), {"dynamodb": {"write_percent": 1.5}}, "x").validate()


def test_table_overrides_are_typed():
    config = merge(Config(), {"tables": {"shop.t": {"key": ["a", "b"], "rename": {"a": "A"}}}}, "x")
    override = config.override_for("shop", "t")
    assert override.key == ["a", "b"] and override.rename == {"a": "A"} and override.exclude_columns == []
    with pytest.raises(ConfigError, match="unknown config key 'tables.shop.t.keys'"):
        merge(Config(), {"tables": {"shop.t": {"keys": ["a"]}}}, "x")


def test_password_is_never_an_argument():
    with pytest.raises(ConfigError, match="never taken as arguments"):
        config_from_args(["--database", "d", "--set", "mysql.password=hunter2"])
    with pytest.raises(ConfigError, match="unrecognized arguments"):
        config_from_args(["--database", "d", "--mysql-password", "hunter2"])


def test_database_is_required():
    with pytest.raises(ConfigError, match="no database given"):
        config_from_args([])


@pytest.mark.parametrize(
    "setting, fragment",
    [
        ("spark.rows_per_partition=Infinity", "spark.rows_per_partition must be a finite number"),
        ("dynamodb.write_percent=NaN", "dynamodb.write_percent must be a finite number"),
        ("spark.progress_seconds=0", "spark.progress_seconds is 0.0; expected a positive number"),
        ("dynamodb.max_retry_seconds=-1", "dynamodb.max_retry_seconds is -1.0; expected a positive number"),
        ("spark.max_partitions=0", "spark.max_partitions is 0"),
        ("mysql.net_write_timeout_seconds=0", "mysql.net_write_timeout_seconds is 0"),
        ("naming.template={foo}", "naming.template '{foo}' may only use {database} and {table}, found {foo}"),
        ("naming.template={database!x}", "naming.template '{database!x}' has an unknown conversion !x"),
        ("spark.task_slots=-2", "spark.task_slots is -2"),
    ],
)
def test_bad_values_are_one_line_errors_before_connecting(setting, fragment):
    with pytest.raises(ConfigError) as caught:
        config_from_args(["--database", "x", "--set", setting])
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_non_finite_numbers_in_a_conf_file_are_refused(tmp_path):
    conf = tmp_path / "c.json"
    conf.write_text('{"spark": {"rows_per_partition": Infinity}}')  # Python's json reads it
    with pytest.raises(ConfigError, match="spark.rows_per_partition must be a finite number"):
        config_from_args(["--conf", str(conf), "--database", "x"])


def test_overrides_can_name_a_table_unambiguously():
    config = merge(Config(), {"tables": {"`a.b`.`c`": {"target": "t1"}, "x.y": {"target": "t2"}}}, "test")
    assert config.override_for("a.b", "c").target == "t1"
    assert config.override_for("a", "b.c").target is None
    assert config.override_for("x", "y").target == "t2"


def test_import_modes_need_an_s3_staging_prefix():
    from jobs.cli import config_from_args

    with pytest.raises(
        ConfigError,
        match=r"dynamodb.load_mode is 'import', which needs output.staging \(--staging\) "
        r"to be an s3:// prefix .* it is None",
    ):
        config_from_args(["--database", "d", "--load-mode", "import"])
    with pytest.raises(ConfigError, match="it is '/tmp/stage'"):
        config_from_args(["--database", "d", "--load-mode", "auto", "--staging", "/tmp/stage"])
    config = config_from_args(["--database", "d", "--load-mode", "auto", "--staging", "s3://b/p"])
    assert (config.dynamodb.load_mode, config.output.staging) == ("auto", "s3://b/p")
    with pytest.raises(ConfigError, match="setting dynamodb.load_mode is 'copy'; expected one of write, import, auto"):
        config_from_args(["--database", "d", "--set", "dynamodb.load_mode=copy"])
    with pytest.raises(ConfigError, match="setting prices.import_usd_per_gb is 0"):
        config_from_args(["--database", "d", "--set", "prices.import_usd_per_gb=0"])


def test_a_number_written_as_a_string_in_a_conf_file_is_an_error():
    with pytest.raises(ConfigError, match=r"conf.json: setting mysql.port must be a number, got '23306'"):
        merge(Config(), parse_conf_text('{"mysql": {"port": "23306"}}', "conf.json"), "conf.json")


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"output": {"staging": "s3://"}}, "setting output.staging is 's3://'; expected s3://BUCKET/PREFIX"),
        ({"output": {"staging": "s3:///x"}}, "setting output.staging is 's3:///x'"),
        ({"output": {"rejects": "s3:/bucket/x"}}, "setting output.rejects is 's3:/bucket/x'"),
        ({"output": {"staging": "s3://b/x", "rejects": "s3://b/x/rejects"}}, "overlap"),
    ],
)
def test_s3_paths_name_a_bucket_and_staging_is_apart_from_rejects(settings, fragment):
    """Issue 22, defect 5."""
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        merge(Config(), dict(settings, source={"databases": ["d"]}), "conf").validate()
    merge(Config(), {"output": {"staging": "s3://b/x", "rejects": "s3://b/r"}}, "conf").validate()
