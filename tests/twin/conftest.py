"""Live twins for the tests: each full run is shared by the tests that read it (one run per target/variant).

They need .venv-airflow (make airflow-venv) and Debian's postgresql, pgbouncer, redis-server and
redis-tools (.ci/run installs them).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tools.twin import cli
from tools.twin.supervisor import Supervisor, group_alive  # noqa: F401 - used by the tests


@pytest.fixture(scope="session")
def eks_report():
    return cli.run_one("eks", "dev", {}, keep=False, timeout=900)


@pytest.fixture(scope="session")
def eks_in_cluster_report():
    """The in-cluster broker variant, run with --keep (test_keep_then_stop stops it; this finaliser too)."""
    from tools.twin.session import stop_kept

    try:
        yield cli.run_one("eks", "dev", cli.overrides_for("dev", "in-cluster"), keep=True, timeout=900)
    finally:
        stop_kept("eks")


@pytest.fixture(scope="session")
def mwaa_report():
    return cli.run_one("mwaa", "dev", {}, keep=False, timeout=900)


@pytest.fixture
def started_pids(monkeypatch):
    """PIDs (= process groups) of every process a twin starts during the test."""
    pids: list[int] = []
    original = Supervisor.start

    def recording(self, *args, **kwargs):
        process = original(self, *args, **kwargs)
        pids.append(process.pid)
        return process

    monkeypatch.setattr(Supervisor, "start", recording)
    return pids


def log_named_in(message: str) -> Path | None:
    match = re.search(r"read (\S+\.log)", message)
    return Path(match.group(1)) if match else None


def remove_workdir(message: str) -> None:
    """A failed twin keeps its logs for the user (the message names one); tests clean up after reading it."""
    log = log_named_in(message)
    if log is not None and log.parent.name == "logs" and log.parent.parent.name.startswith("airflow-twin-"):
        shutil.rmtree(log.parent.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def migrate_result():
    from tools.twin.migrate import run_migrate

    return run_migrate("dev", {}, keep=False, timeout=900)


# The rehearsed step per target, both from Airflow 2: MWAA's new-environment path; on EKS a second release, chart
# 1.19.0 -> 1.21.0 with the major (the step components/upgrade_paths.py refuses in place).
UPGRADES = {"eks": ("2.10.3", "3.3.1"), "mwaa": ("2.10.3", "3.3.1")}


@pytest.fixture(scope="session", params=list(UPGRADES))
def upgrade_result(request):
    from tools.twin.upgrade import run_upgrade

    old, new = UPGRADES[request.param]
    return run_upgrade("dev", request.param, old, new, {}, timeout=900), old, new


@pytest.fixture(scope="session")
def mwaa_alarms():
    """`twin-alarms` on MWAA: one twin, healthy run then every fault (tools/twin/alarm_run.py)."""
    from tools.twin.alarm_run import run_alarms

    return run_alarms("mwaa", "dev", {})


@pytest.fixture(scope="session")
def eks_alarms():
    from tools.twin.alarm_run import run_alarms

    return run_alarms("eks", "dev", {})
