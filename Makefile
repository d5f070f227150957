# Two entry points (see README): `make compare` and `make test`. Everything else is set up on demand.
SHELL := /bin/bash
STACK ?= dev
# Airflow version of the local test environment: the default `airflowVersion` of the program.
AIRFLOW_VERSION ?= 3.3.1
PYTHON312 ?= $(shell command -v python3.12 2>/dev/null || ls $(HOME)/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | tail -n 1)
VENV := .venv
AIRFLOW_VENV := .venv-airflow

.PHONY: compare test venv airflow-venv bench
compare: $(VENV)/.installed
	$(VENV)/bin/python -m tools.compare --stack $(STACK) $(ARGS)

test: $(VENV)/.installed $(AIRFLOW_VENV)/.installed
	bash scripts/run-tests

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
