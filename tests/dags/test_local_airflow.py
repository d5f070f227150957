"""scripts/local-airflow (docs/local-airflow.md): two local Airflows at once, each on 127.0.0.1 only with ports
of its own, run a DAG; `stop` ends every process of each and leaves nothing listening."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local-airflow"


def _run(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    # The test process carries the DAG tests' Airflow settings (dagtests_env): a user's shell would not.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return subprocess.run([str(SCRIPT), *args, "--home", str(home)], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _session(sid: int) -> list[psutil.Process]:
    procs = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getsid(proc.pid) == sid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                procs.append(proc)
        except (OSError, psutil.Error):
            pass
    return procs


def _listening(procs: list[psutil.Process]) -> set[tuple[str, int]]:
    found = set()
    for proc in procs:
        try:
            found |= {(c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            pass
    return found


def _listeners_on(port: int) -> list:
    return [c for c in psutil.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN and c.laddr.port == port]


def _run_smoke_dag(url: str, home: Path) -> str:
    password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
    token = requests.post(f"{url}/auth/token", json={"username": "admin", "password": password}, timeout=30)
    token.raise_for_status()
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    deadline = time.monotonic() + 240
    while s.get(f"{url}/api/v2/dags/smoke", timeout=30).status_code != 200:  # until the DAG processor parsed it
        assert time.monotonic() < deadline, "DAG smoke never parsed"
        time.sleep(2)
    s.patch(f"{url}/api/v2/dags/smoke", params={"update_mask": "is_paused"}, json={"is_paused": False},
            timeout=30).raise_for_status()
    run = s.post(f"{url}/api/v2/dags/smoke/dagRuns", json={"logical_date": None}, timeout=30)
    run.raise_for_status()
    run_id = run.json()["dag_run_id"]
    while True:
        state = s.get(f"{url}/api/v2/dags/smoke/dagRuns/{run_id}", timeout=30).json()["state"]
        if state in ("success", "failed") or time.monotonic() > deadline:
            return state
        time.sleep(2)


@pytest.fixture
def homes(tmp_path):
    homes = [tmp_path / "one", tmp_path / "two"]
    yield homes
    for home in homes:  # whatever a failed assertion left running
        _run("stop", "--grace", "5", home=home)


def test_two_local_airflows_listen_on_loopback_only_run_a_dag_and_stop_completely(homes):
    states = []
    for home in homes:
        started = _run("start", home=home)
        assert started.returncode == 0, started.stdout + started.stderr
        state = json.loads((home / "local-airflow.json").read_text())
        assert f"local Airflow is up: {state['url']}" in started.stdout
        states.append(state)
    assert states[0]["port"] != states[1]["port"]

    for state in states:
        procs = _session(state["sid"])
        sockets = _listening(procs)
        assert ("127.0.0.1", state["port"]) in sockets
        assert {ip for ip, _ in sockets} == {"127.0.0.1"}, sockets  # no log server or UI on another interface

    assert _run_smoke_dag(states[0]["url"], homes[0]) == "success"  # tasks reach the execution API on loopback

    status = _run("status", home=homes[0])
    assert status.returncode == 0 and states[0]["url"] in status.stdout
    assert _run("url", home=homes[1]).stdout == states[1]["url"] + "\n"

    for home, state in zip(homes, states):
        ports = {port for _, port in _listening(_session(state["sid"]))}
        stopped = _run("stop", home=home)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert _session(state["sid"]) == []  # scheduler, executor workers, tasks, API server: all gone
        assert [c for port in ports for c in _listeners_on(port)] == []
        assert _run("status", home=home).returncode == 3


def test_home_password_file_and_database_are_the_users_only(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "airflow.db").write_text("")  # left by an earlier run under a looser umask
    (home / "airflow.db").chmod(0o644)
    try:
        started = _run("start", home=home)
        assert started.returncode == 0, started.stdout + started.stderr
        modes = {path.name: path.stat().st_mode & 0o777 for path in
                 (home, home / "simple_auth_manager_passwords.json.generated", home / "airflow.db", home / "logs")}
        assert modes == {"home": 0o700, "simple_auth_manager_passwords.json.generated": 0o600, "airflow.db": 0o600,
                         "logs": 0o700}
    finally:
        assert _run("stop", "--grace", "5", home=home).returncode == 0


def test_stop_and_status_when_nothing_runs(tmp_path):
    stopped = _run("stop", home=tmp_path)
    assert (stopped.returncode, stopped.stdout) == (0, "local Airflow is not running\n")
    status = _run("status", home=tmp_path)
    assert (status.returncode, status.stdout) == (3, "local Airflow is not running\n")
    assert _run("url", home=tmp_path).returncode == 3
