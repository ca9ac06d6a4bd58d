"""The estimate's sample: rows from partitions spread over the key range, each read once."""

from types import SimpleNamespace

from jobs.mysql.reader import sample_rows


class Recorder:
    def __init__(self):
        self.statements = []

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql):
        self.statements.append(sql)

    def fetchall(self):
        return [("1", b"\xc3\xa9")]


PLAN = SimpleNamespace(render_sql=("CAST(`id` AS CHAR)", "`v`"), source=SimpleNamespace(database="d", name="t"))


def split(count):
    return SimpleNamespace(strategy="ranges", split_columns=("`id`",), predicates=tuple(f"p{i}" for i in range(count)))


def test_few_partitions_are_each_read_once_and_bytes_come_back_as_text():
    conn = Recorder()
    rows = sample_rows(conn, PLAN, split(6), 2000)
    assert [s.split(" WHERE ")[1] for s in conn.statements] == [f"p{i} LIMIT 334" for i in range(6)]
    assert rows == [("1", "é")] * 6


def test_many_partitions_give_eight_spread_over_the_key_range():
    conn = Recorder()
    sample_rows(conn, PLAN, split(100), 800)
    wheres = [s.split(" WHERE ")[1] for s in conn.statements]
    assert wheres == [f"p{i} LIMIT 100" for i in (0, 12, 25, 37, 50, 62, 75, 87)]


def test_a_table_read_whole_is_sampled_whole():
    conn = Recorder()
    sample_rows(conn, PLAN, None, 50)
    assert conn.statements[0].endswith("WHERE TRUE LIMIT 50")
