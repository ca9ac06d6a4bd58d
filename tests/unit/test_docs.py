"""The manual's checks (local/docs.py) catch the drift they are for."""

import importlib.util
import os

import pytest

from tests.session import REPO

spec = importlib.util.spec_from_file_location("docs_tool", os.path.join(REPO, "local", "docs.py"))
docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(docs)


def test_the_manual_is_current():
    assert docs.check() == []


def test_a_setting_takes_its_meaning_from_its_line_or_the_lines_above(tmp_path, monkeypatch):
    source = tmp_path / "config.py"
    source.write_text(
        "class A:\n"
        "    one: int = 1  # the first\n"
        "    # the second,\n"
        "    # over two lines\n"
        "    two: int = 2\n"
        "    three: int = 3\n"
    )
    monkeypatch.setattr(docs, "CONFIG_SOURCE", str(source))
    assert docs.setting_meanings() == {
        ("A", "one"): "the first",
        ("A", "two"): "the second, over two lines",
        ("A", "three"): "",
    }


def test_a_setting_without_a_meaning_stops_the_reference(monkeypatch):
    meanings = docs.setting_meanings()
    meanings[("SparkConfig", "max_partitions")] = ""
    monkeypatch.setattr(docs, "setting_meanings", lambda: meanings)
    with pytest.raises(docs.Drift, match=r"SparkConfig.max_partitions has no comment"):
        docs.reference()


@pytest.mark.parametrize(
    "text",
    [
        "`make check` 339 tests in 19 s of pytest",
        "the e2e tier 152 tests in 7:22",
        "840 s of tests in 424 s of wall time",
        "make test itself about 7:55",
    ],
)
def test_figures_of_the_suite_are_refused(text):
    assert docs.SUITE_FIGURES.search(text)


@pytest.mark.parametrize("text", ["make test stays under 8 minutes", "fence -> SAFE in 5.5 s at 200,000 rows"])
def test_budgets_and_benchmark_figures_are_not_suite_figures(text):
    assert not docs.SUITE_FIGURES.search(text)
