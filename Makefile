# Two commands on a fresh machine with Python 3.10+ and make:
#   make demo   venv + install + embedded PostgreSQL 16 + setup, then the listener and the scheduler
#               against a local GitHub (recorded real events over HTTP) for 30 s, then health checks + Q1-Q4
#   make test   the whole test suite against real PostgreSQL 16
# make installs the project as one package (ghdw, editable: ingestion/src is its source) in .venv;
# every target below runs the `ghdw` command it installs (`ghdw --help` lists them).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
GHDW   := $(VENV)/bin/ghdw

# Which database each target uses (every command also says so in its first log line, "Database: ..."):
#   demo    github_events_demo on the embedded server, dropped and recreated each run (it says so)
#   report  github_events_report on the embedded server, dropped and recreated each run (it says so)
#   the others: DB_NAME from the command line, else .env, else github_events; for example
#   make psql DB_NAME=github_events_demo   looks at what the last make demo left.
DEMO_DB   ?= github_events_demo
REPORT_DB ?= github_events_report
# The demo and the report always run on the embedded server, in their own database: DB_HOST and
# DATABASE_URL are emptied (an empty variable is not refilled from .env), so a .env written for
# a real server can neither break them nor let --recreate near that server's data.
EMBEDDED  := DB_HOST= DATABASE_URL=

.PHONY: demo demo-files run test test-fast lint format setup load etl queries report health psql clean-db help

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /\1\t/' | \
		awk -F '\t' '{printf "  make %-11s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-embedded.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed ## create or update the warehouse schema in DB_NAME (default github_events)
	$(GHDW) setup

load: setup ## the bundled sample file into bronze of DB_NAME
	$(GHDW) load data_samples/github_events_sample.json

etl: $(VENV)/.installed ## one silver + gold cycle on DB_NAME
	$(GHDW) etl --once

queries: $(VENV)/.installed ## the health checks and Q1-Q4 on DB_NAME, anchored on its busiest week
	$(GHDW) queries --as-of busiest

# The demo through the real HTTP path: local GitHub -> listener -> bronze -> scheduler -> gold.
# It uses its own database, github_events_demo, recreated each time (make psql DB_NAME=github_events_demo).
# ghdw demo (the supervisor with --local-github) sets the demo's poll and ETL intervals itself, whatever .env says.
DEMO_SECONDS ?= 30
demo: $(VENV)/.installed ## local GitHub -> listener -> scheduler for DEMO_SECONDS in github_events_demo (recreated)
	@echo "make demo: recreating database $(DEMO_DB) on the embedded server (its previous contents are dropped)"
	$(EMBEDDED) DB_NAME=$(DEMO_DB) $(GHDW) setup --recreate
	$(EMBEDDED) DB_NAME=$(DEMO_DB) $(GHDW) demo --duration $(DEMO_SECONDS)

# The main job, live: listener + scheduler against GitHub's API until Ctrl-C.
run: setup ## the live pipeline against GitHub's API on DB_NAME until Ctrl-C
	$(GHDW) run

# The sample file straight into bronze, one ETL cycle, Q1-Q4 over the sample's own dates.
demo-files: load etl queries ## load + etl + queries: the sample file through the layers of DB_NAME

test: $(VENV)/.installed ## the whole test suite against real PostgreSQL 16 (what CI runs)
	$(PY) -m pytest -q tests

test-fast: $(VENV)/.installed ## the fast subset (no slow marker): under 30 s, for the edit-test loop
	$(PY) -m pytest -q -m "not slow" tests

lint: $(VENV)/.installed ## ruff lint, ruff format check, mypy on the package (what CI runs)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The HTML report (report.html) from the sample file: through bronze, silver and gold in the report's
# own database (so it never drops what make demo left), then report.py. Open report.html in any
# browser; it needs no network. For the report of another warehouse: ghdw report.
report: $(VENV)/.installed ## report.html from the sample file, built in github_events_report (recreated)
	@echo "make report: recreating database $(REPORT_DB) on the embedded server (its previous contents are dropped)"
	$(EMBEDDED) DB_NAME=$(REPORT_DB) $(GHDW) setup --recreate
	$(EMBEDDED) DB_NAME=$(REPORT_DB) $(GHDW) load data_samples/github_events_sample.json
	$(EMBEDDED) DB_NAME=$(REPORT_DB) $(GHDW) etl --once
	$(EMBEDDED) DB_NAME=$(REPORT_DB) $(GHDW) report --out report.html

health: $(VENV)/.installed ## health checks of DB_NAME (make health DB_NAME=github_events_demo after a demo)
	$(GHDW) health

psql: $(VENV)/.installed ## psql on DB_NAME (make psql DB_NAME=github_events_demo after a demo)
	$(GHDW) psql

clean-db: ## delete the embedded server and all its databases (.pgdata)
	rm -rf .pgdata
