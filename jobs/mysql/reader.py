"""Reading one MySQL table through Spark JDBC, every column already rendered by MySQL."""

from typing import Dict, List, Optional, Tuple

from mapping.identifiers import quote_identifier, quote_table
from mapping.partitioning import split_alias

READ_ALIAS = "m2d_src"


def jdbc_url(mysql_config) -> str:
    # jdbc:mysql:// makes Spark use its MySQL dialect (backtick quoting), with either driver.
    url = f"jdbc:mysql://{mysql_config.host}:{mysql_config.port}/"
    return url + (f"?{mysql_config.jdbc_url_params}" if mysql_config.jdbc_url_params else "")


def jdbc_properties(mysql_config, password: str) -> Dict[str, str]:
    return {
        "user": mysql_config.user,
        "password": password,
        "driver": mysql_config.jdbc_driver,
        "fetchsize": str(mysql_config.fetch_size),
        "sessionInitStatement": session_init_sql(mysql_config),
    }


def session_init_sql(mysql_config) -> str:
    """Run first on every session: TIMESTAMP values print in the session zone, so pin UTC; and
    our own timeouts, so a slow writer (the read waits for the client) or a strict server
    default cannot make the server drop a read in the middle."""
    return (
        f"SET time_zone = '+00:00', "
        f"net_write_timeout = {int(mysql_config.net_write_timeout_seconds)}, "
        f"net_read_timeout = {int(mysql_config.net_read_timeout_seconds)}, "
        f"wait_timeout = {int(mysql_config.wait_timeout_seconds)}"
    )


def spark_column(position: int) -> str:
    """Spark-side name of the n-th migrated column; real names never reach Spark SQL."""
    return f"c{position}"


def read_query(plan, partitioning) -> str:
    """Derived table selecting each column as MySQL renders it, plus the split column."""
    selects = [f"{sql} AS {quote_identifier(spark_column(i))}" for i, sql in enumerate(plan.render_sql)]
    if partitioning is not None and partitioning.strategy != "single":
        # The raw key columns: MySQL merges the derived table, so predicates on these aliases
        # become index range scans on the key.
        selects += [f"{sql} AS {quote_identifier(split_alias(i))}" for i, sql in enumerate(partitioning.split_columns)]
    return (
        f"(SELECT {', '.join(selects)} FROM {quote_table(plan.source.database, plan.source.name)}) "
        f"AS {quote_identifier(READ_ALIAS)}"
    )


def read_table(spark, url: str, properties: Dict[str, str], plan, partitioning):
    query = read_query(plan, partitioning)
    if partitioning is None or partitioning.strategy == "single":
        return spark.read.jdbc(url, query, properties=properties)
    frame = spark.read.jdbc(url, query, predicates=list(partitioning.predicates), properties=properties)
    return frame.drop(*[split_alias(i) for i in range(len(partitioning.split_columns))])


def partition_sql(plan, partitioning, predicate: str) -> str:
    """One partition of the split's read, as pymysql runs it: the rendered columns only."""
    columns = ", ".join(quote_identifier(spark_column(i)) for i in range(len(plan.render_sql)))
    return f"SELECT {columns} FROM {read_query(plan, partitioning)} WHERE {predicate}"


def sample_rows(conn, plan, partitioning, rows: int, spread: int = 8) -> List[Tuple[Optional[str], ...]]:
    """Up to `rows` rendered rows, taken from up to `spread` of the split's partitions evenly
    apart (index range scans), so a table whose rows grow along its key is not sized by its
    first rows only."""
    predicates = list(partitioning.predicates) if partitioning is not None and partitioning.predicates else ["TRUE"]
    taken = min(spread, len(predicates))
    chosen = [predicates[i * len(predicates) // taken] for i in range(taken)]
    each = max(1, -(-rows // len(chosen)))
    sampled: List[Tuple[Optional[str], ...]] = []
    with conn.cursor() as cur:
        for predicate in chosen:
            cur.execute(f"{partition_sql(plan, partitioning, predicate)} LIMIT {each}")
            sampled.extend(tuple(_text(v) for v in row) for row in cur.fetchall())
    return sampled


def count_rows(conn, plan) -> int:
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {quote_table(plan.source.database, plan.source.name)}")
        return int(cur.fetchone()[0])


def _text(value) -> Optional[str]:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value


def split_coverage(conn, plan, partitioning) -> Tuple[int, int]:
    """(rows in the table, rows its split predicates match, summed over the predicates), in one
    statement and so one snapshot: equal exactly when every row is matched once, whatever
    changes while it runs. Verification compares what the partitions read; a row no predicate
    matches is missing on both sides of that comparison, so it is counted here, apart. conn is
    a session like the reads' (session_init_sql: the literals of TIMESTAMP keys are UTC)."""
    query = read_query(plan, partitioning)
    matched = " + ".join(f"(SELECT COUNT(*) FROM {query} WHERE {p})" for p in partitioning.predicates)
    with conn.cursor() as cur:
        cur.execute(f"SELECT (SELECT COUNT(*) FROM {query}), {matched}")
        total, covered = cur.fetchone()
    return int(total), int(covered)
