"""Start the twin's processes, each in its own process group with its own log file; stop them all by PID.

Every failure is one line naming the component and the log file to read: a missing Debian binary, a port
already in use, a process that exits while starting or later.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import TwinError
from .ports import ensure_free, is_listening

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
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: list[Process] = []
        self.watchers: list[Callable[[], None]] = []  # more health checks (e.g. probes), each raising TwinError

        self.stoppers: list[Callable[[], None]] = []  # in-process stand-ins (probe threads, statsd) to stop first

    def watch(self, check: Callable[[], None]) -> None:
        self.watchers.append(check)

    def at_stop(self, stop: Callable[[], None]) -> None:
        self.stoppers.append(stop)

    def start(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              ports: tuple[int, ...] = (), prefix: list[str] | None = None) -> Process:
        """Run argv (binary checked first) in a new session: stop() ends it and every child by group."""
        binary = require_binary(argv[0], (env or {}).get("PATH"))
        for port in ports:
            ensure_free(port, name)
        log = self.logs / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen([*(prefix or []), binary, *argv[1:]], env=env, cwd=cwd or self.workdir,
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        process = Process(name, popen, log)
        self.processes.append(process)
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


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_groups(pgids: list[int], grace: float = 15.0) -> None:
    """Stop process groups recorded by a kept twin (`--stop`), by their PIDs."""
    for pgid in pgids:
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(group_alive(p) for p in pgids):
        time.sleep(0.2)
    for pgid in pgids:
        _signal_group(pgid, signal.SIGKILL)


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
