import random
import re

from mapping.partitioning import (equal_width_boundaries, hash_predicates, integer_split_column, partition_count,
                                  quantile_boundaries, range_predicates)
from mapping.schema import Column, SourceTable


def test_small_tables_stay_one_partition():
    assert partition_count(999, 1000, 50) == 1
    assert partition_count(10_001, 1000, 50) == 11
    assert partition_count(10 ** 9, 1000, 50) == 50


def test_partitions_come_in_whole_waves_of_task_slots():
    assert partition_count(3080, 375, 100, task_slots=2) == 10  # not 9: no lone last task
    assert partition_count(10_001, 1000, 50, task_slots=4) == 12
    assert partition_count(10 ** 9, 1000, 50, task_slots=8) == 48


def in_range(predicate, value):
    expression = predicate.replace("`m2d_part`", str(value)).replace(" AND ", " and ").replace(" OR ", " or ")
    expression = re.sub(r"\d+ IS NULL", "False", expression)
    return eval(expression)  # noqa: S307 - our own generated arithmetic comparisons


def test_range_predicates_cover_every_value_exactly_once():
    predicates = range_predicates([10, 20, 2 ** 64 - 5])
    for value in [-(2 ** 63), 0, 9, 10, 19, 20, 2 ** 63, 2 ** 64 - 1]:
        assert sum(in_range(p, value) for p in predicates) == 1, value


def test_equal_width_boundaries():
    assert equal_width_boundaries(1, 100, 4) == [26, 51, 76]
    assert equal_width_boundaries(5, 6, 10) == [6]


def test_quantiles_keep_skewed_keys_within_twice_the_mean():
    rng = random.Random(1)
    keys = sorted(set(list(range(1, 9001)) + [10 ** 12 + rng.randrange(10 ** 9) for _ in range(1000)]))
    sample = sorted(rng.sample(keys, 500))
    predicates = range_predicates(quantile_boundaries(sample, 8))
    sizes = [sum(in_range(p, k) for k in keys) for p in predicates]
    assert sum(sizes) == len(keys)
    assert max(sizes) <= 2 * len(keys) / len(sizes), sizes


def test_hash_predicates_one_bucket_each():
    assert hash_predicates(3) == ["`m2d_part` = 0", "`m2d_part` = 1", "`m2d_part` = 2"]


def test_split_column_is_a_not_null_integer_of_the_key():
    columns = (Column("code", "varchar", "varchar(5)", False, 1), Column("n", "bigint", "bigint unsigned", False, 2))
    table = SourceTable("d", "t", columns, ("code", "n"))
    assert integer_split_column(table, ("code", "n")) == "n"
    assert integer_split_column(table, ("code",)) == "n"
