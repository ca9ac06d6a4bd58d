"""The MySQL side: catalog, connections, splits, reads, binlog."""
