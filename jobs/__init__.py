"""Spark entry points and the I/O with MySQL, Spark and DynamoDB."""

from jobs import zip_caches

zip_caches.install()  # in Spark's Python workers too: the first task of ours installs it
