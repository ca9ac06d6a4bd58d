import json
import os

import pytest

from jobs.cli import config_from_args
from jobs.config import Config, merge
from jobs.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_conf_defaults_file_matches_the_code_defaults():
    with open(os.path.join(REPO, "conf", "defaults.json")) as handle:
        assert json.load(handle) == Config().to_dict()


@pytest.mark.parametrize("example", sorted(os.listdir(os.path.join(REPO, "conf", "examples"))))
def test_every_example_conf_loads(example):
    config = config_from_args(["--conf", os.path.join(REPO, "conf", "examples", example), "--database", "x"])
    assert config.source.databases[-1] == "x" or config.source.databases == ["x"]


def test_precedence_defaults_then_file_then_flags(tmp_path):
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps({"mysql": {"host": "db.internal", "port": 3307},
                                "dynamodb": {"region": "eu-west-1"}}))
    config = config_from_args(["--conf", str(conf), "--database", "shop", "--mysql-port", "3310",
                               "--set", "dynamodb.write_percent=0.25"])
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
