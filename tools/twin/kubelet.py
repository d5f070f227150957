"""Runs the rendered workloads' containers as the kubelet and the Job controller would, one process each.

A pod's init containers run one after the other, each to a zero exit (a failed one is run again after Kubernetes'
back-off: 10 s, doubling); then its containers start together and their probes begin. A Job's pod is run again on
failure, up to its backoffLimit. What a container runs is decided by `Runner`s (eks.py): Airflow's image runs from
.venv-airflow, PgBouncer from Debian's package, and the images that are not here get a stand-in or are skipped
with the reason (`Skipped`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from .errors import TwinError
from .manifests import Container, Workload
from .probes import Probe, ProbeRunner
from .supervisor import Process, Supervisor

BACKOFF_START, BACKOFF_MAX = 10.0, 300.0  # kubelet's CrashLoopBackOff and the Job controller's back-off


@dataclass
class Started:
    """What a runner made of a container: a process (or None for an in-process stand-in) and its probes."""

    process: Process | None
    probes: list[Probe] = field(default_factory=list)


@dataclass(frozen=True)
class Skipped:
    reason: str


Runner = Callable[[Workload, Container, int], "Started | Skipped"]  # workload, container, attempt


@dataclass
class PodState:
    workload: Workload
    init_done: int = 0
    attempt: int = 0
    current: Process | None = None  # the init container (or the Job's container) running now
    retry_at: float = 0.0
    running: bool = False  # Deployment: containers started; Job: completed
    skipped: list[tuple[str, str]] = field(default_factory=list)


class Kubelet:
    def __init__(self, supervisor: Supervisor, probes: ProbeRunner, runner: Runner):
        self.supervisor, self.probes, self.runner = supervisor, probes, runner
        self.pods: list[PodState] = []
        self.long_running: list[Process] = []
        self.owners: dict[str, tuple[str, str]] = {}  # process name -> (pod, container), for its probes
        supervisor.on_stopped.append(self.stopped_on_purpose)

    def stopped_on_purpose(self, process: Process) -> None:
        """A container stopped on purpose (Supervisor.stop_one): no death check and no probes for it any more, as a
        scaled-to-zero Deployment has none; every other container stays checked."""
        if process in self.long_running:
            self.long_running.remove(process)
        owner = self.owners.pop(process.name, None)
        if owner is not None:
            self.probes.unwatch(*owner)

    def add(self, workload: Workload) -> None:
        self.pods.append(PodState(workload))

    def run_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pod in self.pods:
                self._step(pod)
            self.check()
            if done():
                return
            time.sleep(0.2)
        waiting = [p.workload.ref for p in self.pods if not p.running]
        raise TwinError(f"{what} not reached within {timeout:.0f}s (still starting: {', '.join(waiting) or 'none'})")

    def check(self) -> None:
        """Every long-running container still up, and no startup or liveness probe failed."""
        self.probes.check()
        if self.long_running:  # (with no argument, check() would also look at init containers that just ended)
            self.supervisor.check(*self.long_running)

    def completed(self, ref: str) -> bool:
        return any(p.running for p in self.pods if p.workload.ref == ref)

    def all_running(self) -> bool:
        return all(p.running for p in self.pods)

    # -------------------------------------------------------------------------------------------------------
    def _step(self, pod: PodState) -> None:
        if pod.running or time.monotonic() < pod.retry_at:
            return
        if pod.current is not None:
            code = pod.current.exited()
            if code is None:
                return
            self.supervisor.processes.remove(pod.current)
            finished, pod.current = pod.current, None
            if code != 0:
                self._failed(pod, code, finished.log)
                return
            if pod.workload.kind == "Job":
                pod.running = True
                return
            pod.init_done += 1
        inits = pod.workload.init_containers()
        if pod.init_done < len(inits):
            pod.current = self._one_shot(pod, inits[pod.init_done])
            return
        if pod.workload.kind == "Job":
            pod.current = self._one_shot(pod, pod.workload.containers()[0])
            return
        for container in pod.workload.containers():
            started = self.runner(pod.workload, container, pod.attempt)
            if isinstance(started, Skipped):
                pod.skipped.append((container.name, started.reason))
                continue
            if started.process is not None:
                self.long_running.append(started.process)
                self.owners[started.process.name] = (pod.workload.ref, container.name)
            self.probes.watch(pod.workload.ref, container.name, started.probes)
        pod.running = True

    def _one_shot(self, pod: PodState, container: Container) -> Process:
        started = self.runner(pod.workload, container, pod.attempt)
        if isinstance(started, Skipped) or started.process is None:
            raise TwinError(f"{container.where}: must run to completion, but the twin cannot run it")
        return started.process

    def _failed(self, pod: PodState, code: int, log) -> None:
        pod.attempt += 1
        if pod.workload.kind == "Job" and pod.attempt > pod.workload.backoff_limit:
            raise TwinError(f"{pod.workload.ref} failed {pod.attempt} times (backoffLimit {pod.workload.backoff_limit}), "
                            f"last exit code {code}; read {log}")
        pod.retry_at = time.monotonic() + min(BACKOFF_MAX, BACKOFF_START * 2 ** (pod.attempt - 1))
