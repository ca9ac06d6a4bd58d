# mysql2dynamodb: `make demo` runs the job on the local stack, `make test` runs the tests.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: ## Install Debian packages, dynalite and the venv (once; idempotent)
	@local/setup.sh

demo: setup ## Start MariaDB + dynalite, load the demo shop database, migrate it, print the report
	@local/demo.sh

check: setup ## The fast loop (< 1 min): ruff lint and format, mypy, the manual, unit and chispa tests; no servers
	@local/test.sh check

test: setup ## Run every test: make check, then the end-to-end tests (start and stop their own servers)
	@local/test.sh all

e2e: setup ## Only the end-to-end tests (two workers, each with its own MariaDB, dynalite and Spark)
	@local/test.sh e2e

docs: setup ## Regenerate the configuration reference and build the manual into .stack/site
	@$(VENV)/bin/python local/docs.py reference && $(VENV)/bin/mkdocs build --strict -f docs/mkdocs.yml

format: setup ## Rewrite the code in ruff's format and apply ruff's safe fixes
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: setup ## Benchmark: seed vs ceiling vs the job, UUID vs BIGINT reads (BENCH_ROWS=1000000, BENCH_ARGS="--parts d")
	@local/bench.sh $(BENCH_ARGS)

package: setup ## Build dist/ for spark-submit on EMR and for Glue
	@$(VENV)/bin/python local/package.py

stack-up: setup ## Start MariaDB and dynalite on loopback (local/stack.sh)
	@source local/env.sh && local/stack.sh start all

stack-down: ## Stop every server the local stack started
	@source local/env.sh && local/stack.sh stop all

clean: stack-down ## Remove the venv-independent scratch files (.stack, dist)
	rm -rf .stack dist

.PHONY: help setup demo check test e2e docs format bench package stack-up stack-down clean
