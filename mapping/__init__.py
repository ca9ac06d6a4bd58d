"""Pure rules of the migration: names, keys, rendering, item limits, partitioning.

Nothing here imports Spark, boto3 or pymysql, so every rule is testable in isolation.
"""
