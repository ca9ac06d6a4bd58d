"""The load on Spark: partitioned JDBC reads, items built on the executors, written or staged
and imported, verified; one module a stage."""
