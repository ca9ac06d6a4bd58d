"""The one place a SparkSession is built."""


def build_spark(app_name: str = "mysql2dynamodb", verbose: bool = False):
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.appName(app_name)
             .config("spark.sql.session.timeZone", "UTC")
             # Values arrive as strings rendered by MySQL; nothing depends on the JVM zone,
             # but CHAR padding on read would still change them.
             .config("spark.sql.readSideCharPadding", "false")
             .config("spark.scheduler.mode", "FAIR")
             .getOrCreate())
    spark.sparkContext.setLogLevel("INFO" if verbose else "WARN")
    return spark
