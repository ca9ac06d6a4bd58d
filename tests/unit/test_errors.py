from jobs.errors import ConfigError, WriteFailed, one_line

SPARK_JDBC_FAILURE = """An error occurred while calling o97.count.
: org.apache.spark.SparkException: Job aborted due to stage failure: Task 1 in stage 3.0 failed 1 times, most recent failure: Lost task 1.0 in stage 3.0 (TID 7) (127.0.0.1 executor driver): java.sql.SQLNonTransientConnectionException: (conn=41) unexpected end of stream, read 0 bytes from 4 (socket was closed by server)
Hint: check the server's net_write_timeout and wait_timeout
\tat org.mariadb.jdbc.internal.util.exceptions.ExceptionFactory.createException(ExceptionFactory.java:73)
\tat org.mariadb.jdbc.internal.util.exceptions.ExceptionFactory.create(ExceptionFactory.java:192)
"""


class FakeJavaError(Exception):
    pass


def test_our_task_errors_are_found_inside_spark_text():
    raised_in_task = WriteFailed("DynamoDB table t: ValidationException: bad item")
    wrapped = FakeJavaError(
        "py4j...\norg.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
        f'  File "x.py", line 1\njobs.errors.WriteFailed: {raised_in_task}\n\tat org.apache...'
    )
    assert one_line(wrapped) == "DynamoDB table t: ValidationException: bad item"
    assert one_line(raised_in_task) == "DynamoDB table t: ValidationException: bad item"


def test_a_jdbc_failure_keeps_the_drivers_cause_and_hint():
    line = one_line(FakeJavaError(SPARK_JDBC_FAILURE))
    assert line.startswith("java.sql.SQLNonTransientConnectionException: (conn=41) unexpected end of stream")
    assert "Hint: check the server's net_write_timeout" in line and "\n" not in line
    assert "ExceptionFactory" not in line


def test_other_errors():
    assert one_line(ConfigError("setting x is bad")) == "setting x is bad"
    assert one_line(ValueError("plain")) == "ValueError: plain"


def test_a_python_error_in_a_spark_task_is_its_exception_line_not_its_traceback():
    text = (
        "An error occurred while calling o123.collectToPython.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 3.0 failed 1 times, "
        "most recent failure: Lost task 0.0 in stage 3.0 (TID 5) (host executor driver): "
        "org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
        '  File "/opt/spark/python/pyspark/worker.py", line 1247, in main\n'
        "    process()\n"
        '  File "/work/mapping/items.py", line 82, in <dictcomp>\n'
        '    return {name: value["S"] for name, value in item.items()}\n'
        "                  ~~~~~^^^^^\n"
        "KeyError: 'S'\n"
        "\n"
        "\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(PythonRunner.scala:572)\n"
    )
    assert one_line(RuntimeError(text)) == "in a Spark task: KeyError: 'S'"


def test_a_driver_side_jdbc_error_has_no_leading_colon():
    """Py4J's text for an error on the driver (no Spark task) starts the Java line with ': '; the
    report printed "failed pv.a: : java.sql..." (issue 29)."""
    text = (
        "An error occurred while calling o41.load.\n: java.sql.SQLSyntaxErrorException: (conn=12) SELECT command "
        "denied to user 'u'@'localhost' for table `pv`.`a`\n\tat org.mariadb.jdbc.X.y(X.java:1)\n"
    )
    assert one_line(FakeJavaError(text)).startswith("java.sql.SQLSyntaxErrorException: (conn=12) SELECT command")
