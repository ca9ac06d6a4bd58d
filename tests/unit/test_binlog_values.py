import datetime

from mapping.binlog_values import ZERO_TIMESTAMP, Inexact, exact_none, exact_value, lenient_sql_mode


def test_a_none_stands_for_null_only_when_the_library_says_so():
    assert exact_none("null", set_members_known=True) is None
    assert isinstance(exact_none("out of date range", True), Inexact)
    assert isinstance(exact_none("out of datetime2 range", True), Inexact)
    assert isinstance(exact_none("cols bitmap", True), Inexact)


def test_an_empty_set_is_exact_only_when_the_binlog_names_the_members():
    assert exact_none("empty set", set_members_known=True) == ""
    assert isinstance(exact_none("empty set", set_members_known=False), Inexact)


def test_values_the_library_shifts_are_restored():
    assert exact_value("year", 1900) == 0
    assert exact_value("YEAR", 2024) == 2024
    assert exact_value("timestamp", datetime.datetime(1970, 1, 1)) == ZERO_TIMESTAMP
    assert exact_value("datetime", datetime.datetime(1970, 1, 1)) == datetime.datetime(1970, 1, 1)


def test_a_negative_time_with_a_fraction_is_inexact_and_others_are_kept():
    negative = -datetime.timedelta(hours=1, minutes=30, milliseconds=250)
    assert isinstance(exact_value("time", negative), Inexact)
    assert exact_value("time", -datetime.timedelta(hours=1)) == -datetime.timedelta(hours=1)
    assert exact_value("time", datetime.timedelta(seconds=1.5)) == datetime.timedelta(seconds=1.5)


def test_the_lenient_mode_drops_only_the_refusing_flags():
    mode = "STRICT_TRANS_TABLES,PAD_CHAR_TO_FULL_LENGTH,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION"
    assert lenient_sql_mode(mode) == "PAD_CHAR_TO_FULL_LENGTH,NO_ENGINE_SUBSTITUTION"
    assert lenient_sql_mode("") == ""
