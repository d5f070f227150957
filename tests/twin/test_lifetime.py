"""The twin's processes never outlive it unnoticed (issue 20, item 5): recorded from the first start, stopped by a
watchdog when the CLI is killed, stopped by `--stop` only after each PID is checked; its folders are private and
its PostgreSQL has no `trust` line. Small stand-in processes, no full twin."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.planner import ROOT
from tools.twin.session import new_workdir
from tools.twin.supervisor import TWIN_ID_VARIABLE, Supervisor, executable, identity, stop_recorded

# A stand-in CLI: a Supervisor with a state file, two servers and a task-like grandchild in a session of its own.
CLI = """
import sys, time
from pathlib import Path
from tools.twin.supervisor import Supervisor
sup = Supervisor(Path(sys.argv[1]), state=Path(sys.argv[2]))
sup.start("server-a", ["sleep", "300"])
sup.start("server-b", ["bash", "-c", "setsid sleep 301 & sleep 302"])
if sys.argv[3] == "keep":
    sup.write_state(kept=True)
    sup.forget()
    print("kept", flush=True)
    sys.exit(0)
print("started", flush=True)
time.sleep(600)
"""


def _twin_processes(twin_id: str) -> list[int]:
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"AIRFLOW_TWIN_ID={twin_id}".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            pass
    return [pid for pid in found if identity(pid)]


def _start_cli(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, Path, Path]:
    workdir, state = new_workdir("lifetime-test"), tmp_path / "state.json"
    cli = subprocess.Popen([sys.executable, "-c", CLI, str(workdir), str(state), mode], cwd=ROOT,
                           stdout=subprocess.PIPE, text=True)
    assert cli.stdout.readline().strip() in ("started", "kept")
    return cli, workdir, state


def _wait_gone(twin_id: str, seconds: float = 30) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _twin_processes(twin_id)) and time.monotonic() < deadline:
        time.sleep(0.3)
    return left


def test_the_workdir_is_the_users_only():
    workdir = new_workdir("mode-test")
    try:
        assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
    finally:
        workdir.rmdir()


def test_killing_the_cli_stops_every_process_it_started(tmp_path):
    cli, workdir, state = _start_cli(tmp_path, "run")
    recorded = json.loads(state.read_text())  # written while the twin starts, not only when it is kept
    assert [p["name"] for p in recorded["processes"]] == ["server-a", "server-b"]
    time.sleep(0.5)  # the grandchild has started its own session
    assert len(_twin_processes(recorded["twin_id"])) >= 4
    cli.send_signal(signal.SIGKILL)
    cli.wait()
    assert _wait_gone(recorded["twin_id"]) == []
    deadline = time.monotonic() + 10
    while (state.exists() or workdir.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not state.exists() and not workdir.exists()


def test_a_kept_twin_outlives_its_cli_until_stop(tmp_path):
    cli, workdir, state = _start_cli(tmp_path, "keep")
    assert cli.wait(timeout=30) == 0
    twin_id = json.loads(state.read_text())["twin_id"]
    time.sleep(2)  # the watchdog saw its parent go, and left a kept twin alone
    assert len(_twin_processes(twin_id)) >= 4
    assert stop_recorded(state, grace=5).startswith("stopped 2 process groups")
    assert _wait_gone(twin_id, 5) == [] and not state.exists() and not workdir.exists()


def test_stop_leaves_a_pid_that_is_no_longer_the_twins_alone(tmp_path):
    stranger = subprocess.Popen(["sleep", "300"], start_new_session=True)  # not the twin's: no twin id
    try:
        starttime, cmdline = identity(stranger.pid)
        exe = executable(stranger.pid)
        workdir = new_workdir("stop-test")
        state = tmp_path / "state.json"
        for recorded, expected in (({"starttime": starttime - 1, "cmdline": cmdline, "exe": exe}, "no longer the twin's"),
                                   ({"starttime": starttime, "cmdline": "postgres -D /x", "exe": exe},
                                    "no longer the twin's"),
                                   ({"starttime": starttime, "cmdline": cmdline, "exe": "/usr/lib/postgresql/bin/postgres"},
                                    "no longer the twin's")):
            state.write_text(json.dumps({"processes": [{"pid": stranger.pid, "name": "postgresql", **recorded}],
                                         "twin_id": "0" * 32, "workdir": str(workdir), "kept": True}))
            message = stop_recorded(state, grace=1)
            assert f"PID {stranger.pid} (postgresql) is {expected}" in message
            assert stranger.poll() is None  # never signalled
        # The same PID with its real start time and command line is the twin's: stopped.
        state.write_text(json.dumps({"processes": [{"pid": stranger.pid, "name": "sleep", "starttime": starttime,
                                                    "cmdline": cmdline, "exe": exe}], "twin_id": "0" * 32,
                                     "workdir": str(workdir), "kept": True}))
        stop_recorded(state, grace=5)
        assert stranger.wait(timeout=10) is not None
    finally:
        if stranger.poll() is None:
            stranger.kill()


def test_a_process_carrying_the_twin_id_is_stopped_only_if_it_still_runs_the_recorded_program(tmp_path):
    """A server that retitled itself keeps its program and the twin's id: stopped. The twin's id alone (a recorded
    PID now running another program in the twin's environment) is not enough: left alone."""
    twin_id = "1" * 32
    carrier = subprocess.Popen(["sleep", "300"], start_new_session=True, env={**os.environ, TWIN_ID_VARIABLE: twin_id})
    try:
        starttime, _ = identity(carrier.pid)
        state = tmp_path / "state.json"

        def record(exe: str) -> None:
            state.write_text(json.dumps({"processes": [{"pid": carrier.pid, "name": "postgresql", "starttime": starttime,
                                                        "cmdline": "postgres: checkpointer", "exe": exe}],
                                         "twin_id": twin_id, "workdir": str(new_workdir("stop-test")), "kept": True}))

        record(sys.executable)
        assert f"PID {carrier.pid} (postgresql) is no longer the twin's" in stop_recorded(state, grace=1)
        assert carrier.poll() is None
        record(executable(carrier.pid))
        stop_recorded(state, grace=5)
        assert carrier.wait(timeout=10) is not None
    finally:
        if carrier.poll() is None:
            carrier.kill()


def test_postgres_has_no_trust_line_and_asks_the_superuser_for_a_password():
    from tools.twin.certs import make_certificates
    from tools.twin.datastores import PG_BIN, Postgres

    sup = Supervisor(new_workdir("pg-test"))
    try:
        pg = Postgres(sup, make_certificates(sup.workdir))
        pg.start("airflow", "s3cret-pw", "airflow")
        hba = (pg.root / "data" / "pg_hba.conf").read_text()
        assert "trust" not in hba and "local all postgres scram-sha-256" in hba
        assert pg.sql("SELECT 1;").strip() == "1"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        refused = subprocess.run([str(PG_BIN / "psql"), "-h", str(pg.socket_dir), "-p", str(pg.port), "-U", "postgres",
                                  "-w", "-c", "SELECT 1"], env=env, capture_output=True, text=True)
        assert refused.returncode != 0 and "password" in refused.stderr
        assert stat.S_IMODE(pg.root.stat().st_mode) == 0o700
    finally:
        sup.stop_all()
        from tools.twin.session import cleanup

        cleanup(sup.workdir, keep_logs=False)
