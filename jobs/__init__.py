"""Spark entry points and the I/O with MySQL, Spark and DynamoDB."""
