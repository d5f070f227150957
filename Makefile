# Two entry points (see README): `make compare` and `make test`. Everything else is set up on demand.
SHELL := /bin/bash
STACK ?= dev
# Airflow version of the local test environment: the default `airflowVersion` of the program.
AIRFLOW_VERSION ?= 3.3.1
# The first candidate that really runs Python 3.12 (a pyenv shim may exist yet point at another version).
PYTHON312 ?= $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12.*/bin/python3.12; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV := .venv
AIRFLOW_VENV := .venv-airflow

.PHONY: compare test venv airflow-venv bench
compare: $(VENV)/.installed
	$(VENV)/bin/python -m tools.compare --stack $(STACK) $(ARGS)

test: $(VENV)/.installed $(AIRFLOW_VENV)/.installed
	bash scripts/run-tests

# Benchmarks print figures (offline plan time and DAG-count growth; migration of 10k variables; the live twins).
bench: $(VENV)/.installed $(AIRFLOW_VENV)/.installed
	bash scripts/bench-plan
	bash scripts/bench-migrate
	bash scripts/bench-twin

venv: $(VENV)/.installed
airflow-venv: $(AIRFLOW_VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-lock.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found: install it (pyenv install 3.12) or set PYTHON312=/path/to/python3.12"; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON312) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt -c requirements-lock.txt
	touch $@

$(AIRFLOW_VENV)/.installed: scripts/setup-airflow-env airflow/requirements.txt tests/requirements-airflow.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found: install it (pyenv install 3.12) or set PYTHON312=/path/to/python3.12"; exit 1; }
	PYTHON312=$(PYTHON312) bash scripts/setup-airflow-env $(AIRFLOW_VERSION) $(AIRFLOW_VENV)
	touch $@

# Live twins of each target on this machine (tools/twin; README "Twins"): TARGET=eks|mwaa, ARGS=--keep|--stop|--broker in-cluster.
.PHONY: twin twin-migrate
TARGET ?= eks
twin: $(VENV)/.installed $(AIRFLOW_VENV)/.installed
	$(VENV)/bin/python -m tools.twin $(TARGET) --stack $(STACK) $(ARGS)

twin-migrate: $(VENV)/.installed $(AIRFLOW_VENV)/.installed
	$(VENV)/bin/python -m tools.twin migrate --stack $(STACK) $(ARGS)
