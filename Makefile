# Two commands on a fresh machine with Python 3.10+ and make:
#   make demo   venv + install + embedded PostgreSQL 16 + setup + sample load + one ETL cycle + queries
#   make test   the whole test suite against real PostgreSQL 16
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SRC    := ingestion/src

.PHONY: demo test setup load etl queries psql clean-db help

help:
	@echo "make demo | make test | make setup | make etl | make queries | make psql | make clean-db"

$(VENV)/.installed: requirements.txt requirements-dev.txt
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

demo: load etl queries

test: $(VENV)/.installed
	$(PY) -m pytest -q tests

psql: $(VENV)/.installed
	$(PY) $(SRC)/psql.py

clean-db:
	rm -rf .pgdata
