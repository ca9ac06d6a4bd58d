"""The one place a SparkSession is built."""

from typing import TYPE_CHECKING, Callable, Mapping, Optional

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SparkFactory = Callable[[], "SparkSession"]  # builds the session when the run first needs it

JOB_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    # Values arrive as strings rendered by MySQL; nothing depends on the JVM zone,
    # but CHAR padding on read would still change them.
    "spark.sql.readSideCharPadding": "false",
    "spark.scheduler.mode": "FAIR",
}


def build_spark(app_name: str = "mysql2dynamodb", verbose: bool = False, settings: Optional[Mapping[str, str]] = None):
    """The job's session (settings: more Spark settings, e.g. the tests' master and jars)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    for name, value in {**JOB_SETTINGS, **(settings or {})}.items():
        builder = builder.config(name, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("INFO" if verbose else "WARN")
    return spark


def running_spark() -> Optional["SparkSession"]:
    """The session this process already runs (under spark-submit the job creates it first), or
    None: a catch-up started as a plain Python process, where pyspark may not even be installed."""
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    if SparkContext._active_spark_context is None:
        return None
    return SparkSession.builder.getOrCreate()
