"""The chart's startup, liveness and readiness probes, run with its delays, periods, timeouts and thresholds.

Kubernetes' rules (Pod lifecycle, "Container probes"): liveness and readiness start once the startup probe has
succeeded; a probe fails after `failureThreshold` consecutive failures (defaults: period 10 s, timeout 1 s,
failureThreshold 3). A startup or liveness probe that fails would restart the container: here it fails the twin,
naming the pod, the container and the probe. A readiness probe only decides whether the pod is ready (the API
server's Service sends nothing to a pod that is not).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

from .errors import TwinError
from .ports import LOOPBACK

KINDS = ("startupProbe", "livenessProbe", "readinessProbe")
DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3}


@dataclass
class Probe:
    pod: str
    container: str
    kind: str
    spec: dict[str, Any]
    argv: list[str] | None = None  # exec, with paths already rewritten
    env: dict[str, str] | None = None
    port: int | None = None  # http/tcp: the loopback port the container listens on
    failures: int = 0
    passed: bool = False
    last_error: str = ""

    def setting(self, name: str) -> float:
        return float(self.spec.get(name, DEFAULTS[name]))

    @property
    def describe(self) -> str:
        action = next(k for k in ("exec", "httpGet", "tcpSocket") if k in self.spec)
        detail = {"exec": lambda: " ".join(self.spec["exec"]["command"])[-90:].replace("\n", " "),
                  "httpGet": lambda: f"GET {self.spec['httpGet'].get('path', '/')} on port {self.spec['httpGet']['port']}",
                  "tcpSocket": lambda: f"TCP port {self.spec['tcpSocket']['port']}"}[action]()
        return f"{self.kind} ({action}: {detail.strip()})"

    def run_once(self) -> str | None:
        """None when the probe passes, else why it failed."""
        timeout = self.setting("timeoutSeconds")
        try:
            if "exec" in self.spec:
                done = subprocess.run(self.argv, env=self.env, capture_output=True, text=True, timeout=timeout,
                                      stdin=subprocess.DEVNULL)
                return None if done.returncode == 0 else f"exit {done.returncode}: {_tail(done.stderr or done.stdout)}"
            if "httpGet" in self.spec:
                answer = requests.get(f"http://{LOOPBACK}:{self.port}{self.spec['httpGet'].get('path', '/')}", timeout=timeout)
                return None if 200 <= answer.status_code < 400 else f"HTTP {answer.status_code}"
            with socket.create_connection((LOOPBACK, self.port), timeout=timeout):
                return None
        except subprocess.TimeoutExpired:
            return f"timed out after {timeout:.0f}s"
        except (OSError, requests.RequestException) as exc:
            return type(exc).__name__


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no output"


@dataclass
class ContainerProbes:
    """One container's probes, on the clock of its start."""

    started: float
    probes: dict[str, Probe] = field(default_factory=dict)
    next_run: dict[str, float] = field(default_factory=dict)
    unwatched: bool = False  # its container was stopped on purpose

    @property
    def started_ok(self) -> bool:
        startup = self.probes.get("startupProbe")
        return startup is None or startup.passed

    @property
    def ready(self) -> bool:
        readiness = self.probes.get("readinessProbe")
        return self.started_ok and (readiness is None or readiness.passed)

    def due(self, now: float) -> list[Probe]:
        due = []
        for kind, probe in self.probes.items():
            if (kind == "startupProbe") == self.started_ok:  # startup runs until it passes, the others after that
                continue
            # initialDelaySeconds counts from the container's start; liveness and readiness wait for startup too.
            first = self.next_run.setdefault(kind, self.started + probe.setting("initialDelaySeconds"))
            if now >= first:
                due.append(probe)
                self.next_run[kind] = now + probe.setting("periodSeconds")
        return due


class ProbeRunner:
    """Runs every registered container's probes in the background; `check()` raises the first fatal failure."""

    def __init__(self):
        self.containers: dict[tuple[str, str], ContainerProbes] = {}
        self.failure: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def watch(self, pod: str, container: str, probes: list[Probe]) -> ContainerProbes:
        watched = ContainerProbes(started=time.monotonic(), probes={p.kind: p for p in probes})
        self.containers[(pod, container)] = watched
        if probes:
            thread = threading.Thread(target=self._loop, args=(watched,), name=f"probes-{pod}-{container}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return watched

    def unwatch(self, pod: str, container: str) -> None:
        """Stop probing a container that was stopped on purpose (its probes would fail, as intended)."""
        watched = self.containers.pop((pod, container), None)
        if watched is not None:
            with self._lock:
                watched.unwatched = True

    def _loop(self, watched: ContainerProbes) -> None:
        while not self._stop.wait(0.25) and not watched.unwatched:
            for probe in watched.due(time.monotonic()):
                error = probe.run_once()
                with self._lock:
                    if not watched.unwatched:
                        self._record(probe, error)

    def _record(self, probe: Probe, error: str | None) -> None:
        if error is None:
            probe.failures, probe.passed = 0, True
            return
        probe.failures, probe.last_error = probe.failures + 1, error
        if probe.kind == "readinessProbe":
            probe.passed = False
        if probe.kind != "readinessProbe" and probe.failures >= probe.setting("failureThreshold") and self.failure is None:
            self.failure = (f"{probe.pod} container {probe.container}: {probe.describe} failed "
                            f"{probe.failures} times in a row (failureThreshold {probe.setting('failureThreshold'):.0f}); "
                            f"last: {error}")

    def check(self) -> None:
        if self.failure:
            raise TwinError(self.failure)

    def wait_ready(self, pod: str, container: str, timeout: float, alive: Callable[[], None]) -> None:
        watched = self.containers[(pod, container)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            alive()
            if watched.ready:
                return
            time.sleep(0.2)
        readiness = watched.probes.get("readinessProbe")
        raise TwinError(f"{pod} container {container} not ready within {timeout:.0f}s"
                        + (f": {readiness.describe} last failed with {readiness.last_error}" if readiness else ""))

    def summary(self) -> list[str]:
        return [f"{pod}/{container} {kind}: {'passed' if p.passed else 'not passed'}"
                for (pod, container), w in self.containers.items() for kind, p in w.probes.items()]

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
