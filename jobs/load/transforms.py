"""DataFrame -> DataFrame steps that synthesise key attributes (Spark side of mapping.keys)."""

from typing import Callable, Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from mapping.keys import ESCAPE, SEPARATOR


def _escaped(column: str):
    # Same rule as mapping.keys.escape_component: '\' -> '\\', then '#' -> '\#'.
    # (regexp_replace's replacement string treats '\' as an escape, hence the doubling.)
    value = F.regexp_replace(F.col(column), r"\\", r"\\\\")
    return F.regexp_replace(value, SEPARATOR, r"\\" + SEPARATOR)


def with_composite_key(columns: Sequence[str], output: str) -> Callable[[DataFrame], DataFrame]:
    """Add `output` = the columns' values joined unambiguously with '#' (see encode_composite)."""

    def transform(frame: DataFrame) -> DataFrame:
        return frame.withColumn(output, F.concat_ws(SEPARATOR, *[_escaped(c) for c in columns]))

    return transform


def with_row_id(columns: Sequence[str], output: str) -> Callable[[DataFrame], DataFrame]:
    """Add `output` = sha256 of the row's values; exact duplicates get '#2', '#3', ...

    Deterministic across reruns (identical rows are interchangeable), so a rerun
    overwrites the same items instead of adding new ones.
    """

    def transform(frame: DataFrame) -> DataFrame:
        # NULL and '' must differ: each value is tagged 'v' + escaped text, NULL is 'n'.
        parts = [F.coalesce(F.concat(F.lit("v"), _escaped(c)), F.lit("n")) for c in columns]
        digest = F.sha2(F.concat_ws(SEPARATOR, *parts), 256)
        ordinal = F.row_number().over(Window.partitionBy("_m2d_digest").orderBy("_m2d_digest"))
        return (
            frame.withColumn("_m2d_digest", digest)
            .withColumn(
                output,
                F.when(ordinal == 1, F.col("_m2d_digest")).otherwise(
                    F.concat(F.col("_m2d_digest"), F.lit(SEPARATOR), ordinal.cast("string"))
                ),
            )
            .drop("_m2d_digest")
        )

    return transform


assert ESCAPE == "\\"  # _escaped hard-codes the backslash escape of mapping.keys
