"""Choosing each table's JDBC split (driver, pymysql): index dives and the optimizer's estimates.

Boundaries are whole key tuples. A skeleton of real keys is grown from the first and the
last key: the widest interval is split at a candidate value between its ends (interpolated
in the column's type; strings in an alphabet the server sorts in the column's collation),
snapped by one index dive to a real key strictly inside, until no interval is estimated
above a quarter of a partition. The estimates are the optimizer's (EXPLAIN rows, which
InnoDB answers with dives into the B-tree); only small intervals are compared, since a
large range's estimate is biased and capped at half the table. Then the summed weights
are cut into equal shares. A few small queries per interval: no pass over the table,
which with InnoDB would be a second read of the whole clustered index.
"""

from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from mapping import partitioning as rules
from mapping.identifiers import quote_identifier, quote_table

# Seeds every string alphabet (the server sorts and merges them in the column's collation), so
# early midpoints are good even when the first and last keys show few characters.
COMMON_CHARACTERS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ -_.:/@#"


def plan_partitioning(conn, plan, spark_config, task_slots: int) -> rules.Partitioning:
    table = plan.source
    parts = rules.partition_count(
        table.estimated_rows,
        spark_config.rows_per_partition,
        spark_config.max_partitions,
        task_slots,
        spark_config.min_partition_rows,
        spark_config.partitions_per_slot,
    )
    if parts <= 1:
        return rules.Partitioning("single", (), (), "1 partition")
    index, columns, why_not = rules.split_index(table)
    if index is None:
        return rules.Partitioning(
            "single",
            (),
            (),
            f"1 read of ~{table.estimated_rows} rows, spread over the task slots in Spark ({why_not})",
            redistribute=True,
        )
    return KeySplit(conn, table, index, columns).split(parts)


def count_hash_values(conn, plan, limit: int) -> Optional[int]:
    """How many distinct values the HASH column holds, counted by index dives up to limit (None:
    at least limit, no index starts with it, or the key has no RANGE part: then each HASH value
    holds one item, written once, and the per-value limit never binds). One dive per value:
    cheap exactly when the count matters, i.e. when the values are few."""
    key, table = plan.key, plan.source
    if key.synthesized_hash or key.range_attribute is None or limit < 1:
        return None
    hash_column = key.hash_column
    if key.templates:  # a modelled HASH: a literal is one value; one column's values are counted as a column's
        columns = key.templates[0].columns
        if not columns:
            return 1
        hash_column = columns[0] if len(columns) == 1 else None
    indexes = [("PRIMARY", table.primary_key)] + [(u.name, u.columns) for u in table.unique_keys]
    index = next((name for name, columns in indexes if columns and columns[0] == hash_column), None)
    if key.templates and (index is None or hash_column is None):
        return _distinct_up_to(conn, table, key.templates[0].columns, limit)
    if index is None or hash_column is None or rules.split_kind(table.column(hash_column)) is None:
        return None
    leading = KeySplit(conn, table, index, [hash_column])
    value = leading.edge(f"{leading.quoted[0]} IS NOT NULL", descending=False)
    count = 0
    while value is not None and count < limit:
        count += 1
        above = rules.key_above(leading.quoted, leading.literals(value), leading.comparisons)
        value = leading.edge(above, descending=False)
    return count if count < limit else None


DISTINCT_COUNT_SECONDS = 5  # a planning estimate: given up (with a warning) rather than read a big table whole


def _distinct_up_to(conn, table, columns: Sequence[str], limit: int) -> Optional[int]:
    """Distinct values of these columns, counted up to limit (None: at least limit). The server
    stops at limit values; only a column with few values is read whole, within a time bound."""
    import pymysql

    quoted = ", ".join(quote_identifier(c) for c in columns)
    count_sql = (
        f"COUNT(*) FROM (SELECT DISTINCT {quoted} FROM {quote_table(table.database, table.name)} "
        f"LIMIT {int(limit)}) AS found"
    )
    with conn.cursor() as cur:
        try:  # MariaDB's time bound, then MySQL's (each server refuses the other's syntax)
            cur.execute(f"SET STATEMENT max_statement_time = {DISTINCT_COUNT_SECONDS} FOR SELECT {count_sql}")
        except pymysql.err.ProgrammingError:
            cur.execute(f"SELECT /*+ MAX_EXECUTION_TIME({DISTINCT_COUNT_SECONDS * 1000}) */ {count_sql}")
        count = int(cur.fetchone()[0])
    return count if count < limit else None


class KeySplit:
    def __init__(self, conn, table, index: str, columns: Sequence[str]):
        self.conn = conn
        self.table = table
        self.index = index
        self.columns = [table.column(c) for c in columns]
        self.kinds = [rules.split_kind(c) or "" for c in self.columns]  # planning chose splittable columns
        self.quoted = [quote_identifier(c) for c in columns]
        self.source = f"{quote_table(table.database, table.name)} FORCE INDEX ({quote_identifier(index)})"
        self.nullable_first = self.columns[0].nullable
        self.comparisons = [rules.comparison(c) for c in self.columns]
        self.total = max(1, table.estimated_rows)  # InnoDB's own row count statistic
        self._alphabets: Dict[int, Tuple[Set[str], List[str]]] = {}  # per column: characters seen, groups

    # ---- queries: identifiers inside, so values go in as literals and nothing is %-formatted ----

    def _fetch(self, sql: str):
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def _select(self) -> str:
        fetch = []
        for kind, quoted in zip(self.kinds, self.quoted):
            if kind in ("string", "binary", "enum"):
                fetch.append(f"HEX({quoted})")  # the exact bytes, in the column's character set
            elif kind == "integer":
                fetch.append(quoted)
            else:
                fetch.append(f"CAST({quoted} AS CHAR)")
        return ", ".join(fetch)

    def _decode(self, row: Sequence[Any]) -> Tuple[Any, ...]:
        values: List[Any] = []
        for column, kind, value in zip(self.columns, self.kinds, row):
            if kind in ("string", "binary", "enum"):
                raw = bytes.fromhex(value)
                values.append(raw if kind == "binary" else rules.decode_text(raw, column.charset))
            elif kind == "integer":
                values.append(int(value))
            else:
                values.append(value)
        return tuple(values)

    def literals(self, key: Sequence) -> List[str]:
        return [rules.literal(c, v) for c, v in zip(self.columns, key)]

    def edge(self, where: str, descending: bool) -> Optional[Tuple]:
        order = ", ".join(f"{q} {'DESC' if descending else 'ASC'}" for q in self.quoted)
        rows = self._fetch(f"SELECT {self._select()} FROM {self.source} WHERE {where} ORDER BY {order} LIMIT 1")
        return self._decode(rows[0]) if rows else None

    def inside(self, low: Sequence, high: Sequence, candidate: Sequence) -> Optional[Tuple]:
        """A real key strictly between low and high in the server's order, as near the candidate
        as the index gives: the first at or after it, else the last before it."""
        between = (
            f"({rules.key_above(self.quoted, self.literals(low), self.comparisons)}) AND "
            f"({rules.key_below(self.quoted, self.literals(high), self.comparisons)})"
        )
        at = rules.key_at_least(self.quoted, self.literals(candidate), self.comparisons)
        return self.edge(f"{between} AND ({at})", descending=False) or self.edge(
            f"{between} AND NOT ({at})", descending=True
        )

    def weight(self, low: Sequence, high: Sequence) -> int:
        """The optimizer's estimate of the keys in [low, high): InnoDB dives into the B-tree.
        Estimates of large ranges are biased (and capped at half the table); the split only
        compares small intervals with each other, which shares the bias out."""
        where = (
            f"({rules.key_at_least(self.quoted, self.literals(low), self.comparisons)}) AND "
            f"({rules.key_below(self.quoted, self.literals(high), self.comparisons)})"
        )
        with self.conn.cursor() as cur:
            cur.execute(f"EXPLAIN SELECT 1 FROM {self.source} WHERE {where}")
            names = [d[0].lower() for d in cur.description]
            rows = cur.fetchall()
        return max(int(r[names.index("rows")] or 0) for r in rows) if rows else 0

    def alphabet(self, position: int, *texts: str) -> List[str]:
        """Characters of the texts plus those seen before, in groups the column's collation
        holds equal ('a' and 'A' in a case-insensitive one), the groups in its order."""
        column = self.columns[position]
        seen, groups = self._alphabets.get(position, (set(), []))
        texts = texts + (COMMON_CHARACTERS,) if not seen else texts
        chars = set("".join(texts)) - seen
        if chars:
            seen = seen | chars
            options = " UNION ALL ".join(f"SELECT {rules.literal(column, c)} AS c" for c in sorted(seen))
            groups = [
                r[0]
                for r in self._fetch(f"SELECT GROUP_CONCAT(c SEPARATOR '') FROM ({options}) AS a GROUP BY c ORDER BY c")
            ]
            self._alphabets[position] = (seen, groups)
        return groups

    def alphabet_of(self, position: int, low, high) -> List[str]:
        if self.kinds[position] == "enum":
            return rules.enum_positions(self.columns[position].column_type)
        if self.kinds[position] == "string" and isinstance(low, str):
            return self.alphabet(position, low, high)
        return []

    # ---- the split ----

    def split(self, parts: int) -> rules.Partitioning:
        not_null = f"{self.quoted[0]} IS NOT NULL"
        first = self.edge(not_null, descending=False)
        last = self.edge(not_null, descending=True)
        names = ", ".join(c.name for c in self.columns)
        if first is None or last is None or first == last:
            return rules.Partitioning("single", (), (), "1 partition (at most one key)")
        if self.kinds == ["integer"] and last[0] - first[0] + 1 <= self.total * 1.1:
            # A unique integer key with no gaps to speak of is uniform: equal widths are even.
            boundaries = [(b,) for b in rules.equal_width_boundaries(first[0], last[0], parts)]
            how = "equal ranges of a dense integer key"
        else:
            keys, weights = self.skeleton(first, last, parts)
            boundaries = cut(keys, weights, parts)
            how = f"boundaries from {len(keys)} index dives weighed by the optimizer's row estimates"
        predicates = rules.range_predicates(
            [self.literals(b) for b in boundaries], self.nullable_first, self.comparisons
        )
        if not predicates:
            return rules.Partitioning("single", (), (), "1 partition")
        return rules.Partitioning(
            "range",
            tuple(self.quoted),
            tuple(predicates),
            f"{len(predicates)} partitions on ({names}) by index ranges; {how}; "
            f"~{self.total // len(predicates)} rows each",
        )

    def skeleton(self, first: Tuple, last: Tuple, parts: int) -> Tuple[List[Tuple], List[int]]:
        """Real keys first..last such that no interval between neighbours is estimated above
        a quarter of a partition (or cannot be split further); and each interval's estimate."""
        limit = max(1, self.total // (parts * 4))
        keys, weights = [first, last], [self.weight(first, last)]
        todo = [0] if weights[0] > limit else []
        budget = 64 * parts + 256  # dives; a safety net, far above what splitting needs
        while todo and budget > 0:
            i = todo.pop()
            low, high = keys[i], keys[i + 1]
            j = next((n for n, (a, b) in enumerate(zip(low, high)) if a != b), None)
            if j is None:
                continue  # equal keys: nothing to split between them
            alphabet = self.alphabet_of(j, low[j], high[j])
            middle = rules.midpoint(self.kinds[j], low[j], high[j], alphabet)
            # No value between: the start of high's block at that column is the candidate.
            candidate = low[:j] + (middle,) if middle is not None else high[: j + 1]
            key = self.inside(low, high, candidate)
            budget -= 1
            if key is None:
                continue  # nothing between these two keys
            left, right = self.weight(low, key), self.weight(key, high)
            keys.insert(i + 1, key)
            weights[i : i + 1] = [left, right]
            todo = [n + 1 if n > i else n for n in todo]
            todo += [n for n, w in ((i, left), (i + 1, right)) if w > limit]
        return keys, weights


def cut(keys: List[Tuple], weights: List[int], parts: int) -> List[Tuple]:
    """Boundaries at equal shares of the summed interval weights (the skeleton's keys only)."""
    cumulative = [0]
    for w in weights:
        cumulative.append(cumulative[-1] + w)
    total = cumulative[-1] or 1
    chosen: List[Tuple] = []
    for n in range(1, parts):
        target = total * n / parts
        index = min(range(1, len(keys) - 1), key=lambda i: abs(cumulative[i] - target), default=None)
        if index is not None and (not chosen or keys[index] != chosen[-1]):
            chosen.append(keys[index])
    return chosen
