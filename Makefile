# Two commands on a fresh machine with Python 3.10+ and make:
#   make demo   venv + install + embedded PostgreSQL 16 + setup, then the listener and the scheduler
#               against a local GitHub (recorded real events over HTTP) for 30 s, then health checks + Q1-Q4
#   make test   the whole test suite against real PostgreSQL 16
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SRC    := ingestion/src

.PHONY: demo demo-files run test setup load etl queries report health psql clean-db help

help:
	@echo "make demo | make run | make test | make demo-files | make setup | make etl | make queries | make report | make health | make psql | make clean-db"

$(VENV)/.installed: requirements.txt requirements-embedded.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed
	$(PY) setup_db.py

load: setup
	$(PY) $(SRC)/main.py --once --source data_samples/github_events_sample.json

etl: $(VENV)/.installed
	$(PY) $(SRC)/process_etl.py --once

queries: $(VENV)/.installed
	$(PY) $(SRC)/analytics.py --as-of busiest

# The demo through the real HTTP path: local GitHub -> listener -> bronze -> scheduler -> gold.
# It uses its own database, github_events_demo, recreated each time (make psql DB_NAME=github_events_demo).
DEMO_SECONDS ?= 30
demo: $(VENV)/.installed
	DB_NAME=github_events_demo $(PY) setup_db.py --recreate
	DB_NAME=github_events_demo $(PY) $(SRC)/run_all.py --local-github --duration $(DEMO_SECONDS) --show

# The main job, live: listener + scheduler against GitHub's API until Ctrl-C.
run: setup
	$(PY) $(SRC)/run_all.py

# The sample file straight into bronze, one ETL cycle, Q1-Q4 over the sample's own dates.
demo-files: load etl queries

test: $(VENV)/.installed
	$(PY) -m pytest -q tests

# The HTML report (report.html) from the demo data: the sample file through bronze, silver and gold
# in the demo database, then report.py. Open report.html in any browser; it needs no network.
report: $(VENV)/.installed
	DB_NAME=github_events_demo $(PY) setup_db.py --recreate
	DB_NAME=github_events_demo $(PY) $(SRC)/main.py --once --source data_samples/github_events_sample.json
	DB_NAME=github_events_demo $(PY) $(SRC)/process_etl.py --once
	DB_NAME=github_events_demo $(PY) $(SRC)/report.py --out report.html

health: $(VENV)/.installed
	$(PY) $(SRC)/health.py

psql: $(VENV)/.installed
	$(PY) $(SRC)/psql.py

clean-db:
	rm -rf .pgdata
