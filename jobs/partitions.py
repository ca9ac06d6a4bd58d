"""Choosing each table's JDBC split from MIN/MAX and a key sample (driver, pymysql)."""
from mapping import partitioning as rules
from mapping.identifiers import number_literal, quote_identifier, quote_table


def plan_partitioning(conn, plan, spark_config, task_slots: int) -> rules.Partitioning:
    table = plan.source
    parts = rules.partition_count(table.estimated_rows, spark_config.rows_per_partition,
                                  spark_config.max_partitions, task_slots)
    if parts <= 1:
        return rules.Partitioning("single", None, (), "1 partition")
    column = rules.integer_split_column(table, plan.key.source_columns)
    if column is None:
        columns = plan.key.source_columns or tuple(c.name for c in table.columns)
        return rules.Partitioning("hash", rules.hash_bucket_sql(columns, parts), tuple(rules.hash_predicates(parts)),
                                  f"{parts} partitions by CRC32 of ({', '.join(columns)})")
    quoted, source = quote_identifier(column), quote_table(table.database, table.name)
    with conn.cursor() as cur:
        cur.execute(f"SELECT MIN({quoted}), MAX({quoted}) FROM {source}")
        low, high = cur.fetchone()
        if low is None:
            return rules.Partitioning("single", None, (), "1 partition (empty)")
        low, high = int(low), int(high)
        unique = (column,) == tuple(table.primary_key) or any((column,) == u.columns for u in table.unique_keys)
        span = high - low + 1
        if unique and span <= table.estimated_rows * 1.1:
            # A unique integer key with no gaps to speak of is uniform: equal widths are even.
            boundaries = rules.equal_width_boundaries(low, high, parts)
            how = "equal ranges"
        else:
            fraction = min(1.0, parts * spark_config.sample_rows_per_partition / max(1, table.estimated_rows))
            cur.execute(f"SELECT {quoted} FROM {source} WHERE RAND() < {number_literal(fraction)}")
            sample = sorted(int(row[0]) for row in cur.fetchall() if row[0] is not None)
            boundaries = rules.quantile_boundaries(sample, parts)
            how = f"sampled quantiles ({len(sample)} keys)"
    predicates = rules.range_predicates(boundaries)
    if not predicates:
        return rules.Partitioning("single", None, (), "1 partition")
    return rules.Partitioning("range", quoted, tuple(predicates),
                              f"{len(predicates)} partitions on {column} [{low}..{high}], {how}")
