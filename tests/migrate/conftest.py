"""Two real local Airflow 3 instances (from .venv-airflow) for the migration tests.

The source reveals secrets through its API ([core] hide_sensitive_var_conn_fields = False, as the runbook
sets it for the export); the target keeps Airflow's default and masks them, so what lands there is
checked in its database (through Airflow's own models, in that instance's environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.migrate import transport
from tools.migrate.localairflow import REPO, LocalAirflow, start_pair
from tools.migrate.retry import RetryPolicy

AIRFLOW_VENV = Path(os.environ.get("MIGRATE_AIRFLOW_VENV", REPO / ".venv-airflow"))

DB_DUMP = r"""
import json, os, sqlite3
from cryptography.fernet import Fernet

fernet = Fernet(os.environ["AIRFLOW__CORE__FERNET_KEY"].encode())
db = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))


def plain(value, encrypted):
    return fernet.decrypt(value.encode()).decode() if (encrypted and value is not None) else value


out = {
    "variables": {k: {"value": plain(v, e), "description": d}
                  for k, v, d, e in db.execute("SELECT key, val, description, is_encrypted FROM variable")},
    "connections": {
        row[0]: {"conn_type": row[1], "description": row[2], "host": row[3], "login": row[4],
                 "password": plain(row[5], row[9]), "schema": row[6], "port": row[7], "extra": plain(row[8], row[10])}
        for row in db.execute("SELECT conn_id, conn_type, description, host, login, password, schema, port, extra, "
                              "is_encrypted, is_extra_encrypted FROM connection")},
    "pools": {p: {"slots": s, "description": d, "include_deferred": bool(i)}
              for p, s, d, i in db.execute("SELECT pool, slots, description, include_deferred FROM slot_pool")},
    "dags": {d: bool(p) for d, p in db.execute("SELECT dag_id, is_paused FROM dag")},
}
print("DUMP:" + json.dumps(out))
"""


def _db_dump(inst: LocalAirflow) -> dict:
    """Everything the migration moves, as stored in the instance's metadata DB (decrypted with its Fernet key)."""
    proc = subprocess.run([str(inst.venv / "bin" / "python"), "-c", DB_DUMP], env=inst.env(), cwd=inst.home,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("DUMP:")][-1]
    return json.loads(line[5:])


class Cli:
    """Runs ``python -m tools.migrate`` as a user would, and keeps every output for the secrets check."""

    def __init__(self, source: LocalAirflow, target: LocalAirflow):
        self.source, self.target = source, target
        self.outputs: list[str] = []
        self.env = {**os.environ, "MIGRATE_SRC_PW": source.password, "MIGRATE_DST_PW": target.password}

    def src(self) -> list[str]:
        return ["--source-url", self.source.url, "--source-user", self.source.user,
                "--source-password-env", "MIGRATE_SRC_PW"]

    def dst(self) -> list[str]:
        return ["--target-url", self.target.url, "--target-user", self.target.user,
                "--target-password-env", "MIGRATE_DST_PW"]

    def __call__(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "tools.migrate", *args], cwd=REPO, env=env or self.env,
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        self.outputs.append(proc.stdout + proc.stderr)
        return proc


@pytest.fixture(autouse=True)
def retry_waits(monkeypatch) -> list[float]:
    """In-process tests never wait for real: every transport's backoff sleeps into this list (the longest
    jittered wait is taken, so the figures are the policy's bounds)."""
    waits: list[float] = []
    monkeypatch.setattr(transport.Transport, "retry", RetryPolicy(sleep=waits.append, uniform=lambda low, high: high))
    return waits


@pytest.fixture(scope="session")
def airflow_pair(tmp_path_factory):
    if not (AIRFLOW_VENV / "bin" / "airflow").exists():
        pytest.fail(f"no Airflow in {AIRFLOW_VENV}: run `make airflow-venv` first", pytrace=False)
    source, target = start_pair(tmp_path_factory.mktemp("airflow"), venv=AIRFLOW_VENV)
    try:
        yield source, target
    finally:
        for inst in (source, target):
            inst.stop()


@pytest.fixture(scope="session")
def db_dump():
    """``db_dump(instance)``: what the instance's metadata DB holds (decrypted)."""
    return _db_dump


@pytest.fixture(scope="session")
def cli(airflow_pair):
    return Cli(*airflow_pair)
