"""Start the twin's processes, each in its own process group with its own log file; stop them all by PID.

Every failure is one line naming the component and the log file to read: a missing Debian binary, a port
already in use, a process that exits while starting or later.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import TwinError
from .files import write_private
from .ports import ensure_free, is_listening

# Every process the twin starts carries this variable: `--stop` and the watchdog use it to tell a process that
# retitled itself (Redis, Airflow's servers) from one that merely reuses a recorded PID.
TWIN_ID_VARIABLE = "AIRFLOW_TWIN_ID"

# Debian package that provides each binary the twins run (named in the error when it is missing).
DEBIAN_PACKAGES = {
    "initdb": "postgresql", "postgres": "postgresql", "psql": "postgresql-client",
    "pgbouncer": "pgbouncer", "redis-server": "redis-server", "redis-cli": "redis-tools",
}


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exited(self) -> int | None:
        return self.popen.poll()


def require_binary(path: str, search: str | None = None) -> str:
    """The absolute path of a binary (looked up in `search`, a PATH, when given), or a one-line error naming the
    Debian package that provides it."""
    found = path if os.path.isabs(path) and os.access(path, os.X_OK) else shutil.which(path, path=search)
    if not found:
        package = DEBIAN_PACKAGES.get(os.path.basename(path), "?")
        raise TwinError(f"{os.path.basename(path)} not found ({path}): install the Debian package {package} "
                        "(apt-get install -y postgresql pgbouncer redis-server redis-tools)")
    return found


class Supervisor:
    def __init__(self, workdir: Path, state: Path | None = None):
        """`state`: the file that records the twin's processes from the first one on, so that they can be stopped
        after the CLI died (a watchdog does it at once; `--stop` later)."""
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: list[Process] = []
        self.watchers: list[Callable[[], None]] = []  # more health checks (e.g. probes), each raising TwinError
        self.stoppers: list[Callable[[], None]] = []  # in-process stand-ins (probe threads, statsd) to stop first
        self.on_stopped: list[Callable[[Process], None]] = []  # told when a process is stopped on purpose (stop_one)
        self.stopped_on_purpose: list[str] = []
        self.state, self.twin_id, self.info = state, uuid.uuid4().hex, {}
        self.watchdog: subprocess.Popen | None = None
        if state is not None:
            self.write_state()
            from .watchdog import die_with_parent

            self.watchdog = subprocess.Popen(
                [sys.executable, "-m", "tools.twin.watchdog", str(state), str(os.getpid())],
                cwd=Path(__file__).resolve().parents[2], stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
                start_new_session=True)

    def watch(self, check: Callable[[], None]) -> None:
        self.watchers.append(check)

    def at_stop(self, stop: Callable[[], None]) -> None:
        self.stoppers.append(stop)

    def write_state(self, kept: bool = False) -> None:
        """What `stop_recorded` needs: each process's PID, start time and command line, and the twin's folders."""
        records = []
        for process in self.processes:
            found = identity(process.pid)
            if found is not None:
                records.append({"pid": process.pid, "name": process.name, "starttime": found[0], "cmdline": found[1],
                                "exe": executable(process.pid)})
        self.state.parent.mkdir(mode=0o700, exist_ok=True)
        write_private(self.state, json.dumps({"pids": [r["pid"] for r in records], "processes": records,
                                              "twin_id": self.twin_id, "workdir": str(self.workdir), "kept": kept,
                                              **self.info}))

    def start(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              ports: tuple[int, ...] = (), prefix: list[str] | None = None) -> Process:
        """Run argv (binary checked first) in a new session: stop() ends it and every child by group."""
        binary = require_binary(argv[0], (env or {}).get("PATH"))
        for port in ports:
            ensure_free(port, name)
        log = self.logs / f"{name}.log"
        env = {**(os.environ if env is None else env), TWIN_ID_VARIABLE: self.twin_id}
        with open(log, "ab") as out:
            popen = subprocess.Popen([*(prefix or []), binary, *argv[1:]], env=env, cwd=cwd or self.workdir,
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        process = Process(name, popen, log)
        self.processes.append(process)
        if self.state is not None:
            self.write_state()  # recorded before anything else can fail
        return process

    def wait(self, process: Process, ready: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check(process)
            if ready():
                return
            time.sleep(0.2)
        raise TwinError(f"{process.name} did not become ready ({what}) within {timeout:.0f}s; read {process.log}")

    def wait_port(self, process: Process, port: int, timeout: float = 120.0) -> None:
        self.wait(process, lambda: is_listening(port), f"listening on 127.0.0.1:{port}", timeout)

    def check(self, *processes: Process) -> None:
        """Every process still running, or a one-line error naming the first that died; then the watchers."""
        for process in processes or self.processes:
            code = process.exited()
            if code is not None:
                raise TwinError(f"{process.name} exited with code {code}; read {process.log}")
        if not processes:
            for watcher in self.watchers:
                watcher()

    def stop_one(self, name: str, grace: float = 15.0) -> Process:
        """Stop one process ON PURPOSE (a fault the alarms must see): its group ends by PID and it leaves the watched
        set, so its exit is not a death, and each `on_stopped` hook (the kubelet: its probes) is told. Every other
        process stays watched as before."""
        found = [p for p in self.processes if p.name == name]
        if len(found) != 1:
            raise TwinError(f"stop {name}: {len(found)} processes of that name (running: "
                            f"{', '.join(p.name for p in self.processes)})")
        process = found[0]
        self.processes.remove(process)
        self.stopped_on_purpose.append(name)
        for hook in self.on_stopped:
            hook(process)
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process.pid, signal.SIGKILL)  # and whatever of its group outlived it
        try:
            process.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.state is not None:
            self.write_state()
        return process

    def stop_all(self, grace: float = 15.0) -> None:
        """SIGTERM every process group we started (newest first), then SIGKILL what is left."""
        for stop in self.stoppers:
            stop()
        self.stoppers.clear()
        for process in reversed(self.processes):
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in reversed(self.processes):
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in reversed(self.processes):
            _signal_group(process.pid, signal.SIGKILL)  # children that outlived their leader too
            try:
                process.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()
        self.forget()

    def forget(self) -> None:
        """No state to act on any more (stopped, or kept and recorded as such): the watchdog ends quietly."""
        if self.state is not None and self.watchdog is not None:
            try:
                kept = json.loads(self.state.read_text()).get("kept")
            except (OSError, ValueError):
                kept = False
            if not kept:
                self.state.unlink(missing_ok=True)
            self.watchdog.terminate()
            try:
                self.watchdog.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.watchdog.kill()
            self.watchdog = None


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [state, ppid, pgrp, session, ...]; field n of proc(5) is [n - 3]."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def identity(pid: int) -> tuple[int, str] | None:
    """(start time in clock ticks since boot, command line) of a live process: a reused PID has another start time."""
    fields = _stat(pid)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    return (int(fields[19]), cmdline) if fields and fields[0] != "Z" else None


def executable(pid: int) -> str | None:
    """The program a process runs (/proc/<pid>/exe): unlike its command line, a server retitling itself keeps it."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def _carries(pid: int, twin_id: str) -> bool:
    try:
        return f"{TWIN_ID_VARIABLE}={twin_id}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _members(sessions: set[int], twin_id: str, spared: set[int] = frozenset()) -> list[int]:
    """Live processes of the recorded sessions that are the twin's: in a session whose leader was verified, or
    carrying the twin's id (a session outlives its leader; tasks start sessions of their own). `spared`: recorded
    PIDs found to be something else now, never signalled even if they carry the id."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        pid = int(stat.parent.name)
        fields = _stat(pid)
        if pid in spared or pid == os.getpid() or not fields or fields[0] == "Z":
            continue
        if int(fields[3]) in sessions or _carries(pid, twin_id):
            found.append(pid)
    return found


def verified_sessions(state: dict[str, Any]) -> tuple[set[int], dict[int, str]]:
    """The recorded sessions still the twin's: same start time, same program, and the same command line or, for a
    server that retitled itself (PostgreSQL, gunicorn), the twin's id in its environment; and a line for each
    recorded PID that is now something else."""
    sessions, skipped = set(), {}
    for record in state.get("processes", []):
        now = identity(record["pid"])
        if now is None:
            sessions.add(record["pid"])  # leader gone: its session's members are checked by the twin id
            continue
        same_program = executable(record["pid"]) == record.get("exe")
        if now[0] == record["starttime"] and same_program and (
                now[1] == record["cmdline"] or _carries(record["pid"], state["twin_id"])):
            sessions.add(record["pid"])
        else:
            skipped[record["pid"]] = f"PID {record['pid']} ({record['name']}) is no longer the twin's: left alone"
    return sessions, skipped


def stop_recorded(path: Path, only_if_not_kept: bool = False, grace: float = 15.0) -> str:
    """Stop what a state file records (verified first), remove the twin's folders and the file."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return f"no twin recorded in {path}"
    if only_if_not_kept and state.get("kept"):
        return f"twin kept running ({path})"
    sessions, skipped = verified_sessions(state)
    twin_id = state.get("twin_id", "")
    members = _members(sessions, twin_id, set(skipped))
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        for pid in members:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + wait
        while members and time.monotonic() < deadline:
            time.sleep(0.2)
            members = _members(sessions, twin_id, set(skipped))
    workdir = Path(state["workdir"])
    for folder in [workdir, *workdir.parent.glob(f"{workdir.name}-*")]:  # and the servers' own folders beside it
        shutil.rmtree(folder, ignore_errors=True)
    path.unlink(missing_ok=True)
    return "; ".join([f"stopped {len(state.get('processes', [])) - len(skipped)} process groups", *skipped.values()])


def group_alive(pgid: int) -> bool:
    """Any process of the group still running (zombies, dead but not yet reaped by their parent, don't count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
