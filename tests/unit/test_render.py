import pytest

from mapping.render import UnsupportedColumnType, render_sql, rendering_note
from mapping.schema import Column


def col(data_type, name="v", column_type=None):
    return Column(name, data_type, column_type or data_type, True, 1)


@pytest.mark.parametrize(
    "data_type",
    ["int", "bigint", "decimal", "double", "datetime", "time", "year", "varchar", "enum", "set", "json", "text"],
)
def test_text_types_are_printed_by_mysql(data_type):
    assert render_sql(col(data_type)) == "CAST(`v` AS CHAR)"


def test_binary_is_base64_on_one_line():
    assert render_sql(col("blob")) == "REPLACE(TO_BASE64(`v`), CHAR(10 USING ascii), '')"


def test_bit_is_a_decimal_integer_and_geometry_is_wkt():
    assert render_sql(col("bit", column_type="bit(10)")) == "CAST(CAST(`v` AS UNSIGNED) AS CHAR)"
    assert render_sql(col("point")) == "ST_AsText(`v`)"


def test_identifiers_are_quoted_with_backticks_doubled():
    assert render_sql(col("int", name="we`ird name")) == "CAST(`we``ird name` AS CHAR)"


def test_unknown_type_names_the_column():
    with pytest.raises(UnsupportedColumnType, match="column db.t.v has type 'vector"):
        render_sql(col("vector", column_type="vector(3)"), "db.t")


def test_notes_flag_re_encoded_types_only():
    assert "base64" in rendering_note(col("varbinary"))
    assert rendering_note(col("varchar")) is None
