"""
Fixtures of the DAG tests. They import real Airflow, so they run in .venv-airflow
(`make airflow-venv`, then `.venv-airflow/bin/python -m pytest tests/dags`).
"""

from __future__ import annotations

import inspect
import shutil
import sys
from pathlib import Path

import pytest

# Importable whatever pytest's import mode; then configure Airflow before anything imports it.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import dagtests_env  # noqa: E402,F401 - imported for its side effect: the isolated Airflow environment
from dagtests_env import AIRFLOW_HOME, DAGS_FOLDER  # noqa: E402


def pytest_unconfigure(config):
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


def make_dagbag():
    """A DagBag of dags/ without Airflow's examples, on Airflow 2.x and 3.x alike."""
    try:  # Airflow >= 3.1 (airflow.models.dagbag.DagBag is a deprecated alias there)
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag

    kwargs = {"dag_folder": str(DAGS_FOLDER)}
    # Airflow 3.3 dropped include_examples from DagBag (examples follow [core] load_examples only).
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    return DagBag(**kwargs)


@pytest.fixture(scope="session")
def dagbag():
    return make_dagbag()


@pytest.fixture(scope="session")
def airflow_db():
    """The sqlite metadata DB in AIRFLOW_HOME, created once per session (as `airflow db migrate` would)."""
    from airflow.utils import db

    db.initdb()
    return AIRFLOW_HOME / "airflow.db"
