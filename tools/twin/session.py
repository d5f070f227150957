"""One twin's life: plan, start, run every DAG, check, report, stop (or keep, and stop a kept one later)."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tools.planner import ROOT

from .airflow_procs import ADMIN_USER, AirflowHome, venv_for
from .checks import CheckContext, WiringCheck, check_outputs
from .errors import TwinError
from .files import write_private
from .runs import AirflowApi, DagResult, dag_ids_in, run_all
from .supervisor import Supervisor, stop_recorded, verified_sessions
from .wiring import StackWiring, wiring

STATE_DIR = ROOT / ".twin"


@dataclass
class Twin:
    target: str
    stack: StackWiring
    supervisor: Supervisor
    home: AirflowHome
    context: CheckContext
    wiring_checks: list[WiringCheck] = field(default_factory=list)
    started_seconds: float = 0.0

    def api(self) -> AirflowApi:
        api = AirflowApi(self.home.url, ADMIN_USER, self.home.admin_password, self.stack.airflow_version)
        api.login()
        return api

    def alive(self) -> None:
        self.supervisor.check()


@dataclass
class Report:
    target: str
    results: list[DagResult]
    wiring_checks: list[WiringCheck]
    seconds_to_all_succeeded: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and not any(c.problem for c in self.wiring_checks) and bool(self.results)

    def lines(self) -> list[str]:
        out = []
        for c in self.wiring_checks:
            out.append(f"{self.target} {c.component:<22} {'FAILED  ' + c.problem if c.problem else 'ok      ' + c.detail}")
        for r in self.results:
            detail = r.problem or "; ".join(r.checks)
            out.append(f"{self.target} {r.dag_id:<22} {'ok' if r.ok else 'FAILED':<7} {r.state:<8} {r.seconds:6.1f}s  {detail}")
        failed = [r.dag_id for r in self.results if not r.ok] + [c.component for c in self.wiring_checks if c.problem]
        out.append(f"{self.target} twin: {sum(r.ok for r in self.results)}/{len(self.results)} DAGs succeeded, "
                   f"{'all checks passed' if not failed else 'FAILED: ' + ', '.join(failed)}; "
                   f"{self.seconds_to_all_succeeded:.1f}s from start to every DAG finished")
        return out


def start_twin(target: str, stack_name: str, overrides: dict[str, Any] | None, supervisor: Supervisor,
               starter: Callable[[StackWiring, Supervisor], tuple]) -> Twin:
    began = time.monotonic()
    stack = wiring(stack_name, target, overrides)
    stack.airflow_venv = venv_for(stack.airflow_version)  # checked before anything starts
    home, context, checks = starter(stack, supervisor)
    return Twin(target, stack, supervisor, home, context, checks, started_seconds=time.monotonic() - began)


def exercise(twin: Twin, began: float, timeout: float = 900) -> Report:
    """Trigger every DAG in the twin's DAG folder, wait for each, check what it produced."""
    api = twin.api()
    dag_ids = dag_ids_in(twin.home.dags)
    if not dag_ids:
        raise TwinError(f"no DAGs in {twin.home.dags} (read from s3://{twin.stack.bucket}/dags/)")
    api.wait_parsed(dag_ids, timeout=300, alive=twin.alive)
    results = run_all(api, dag_ids, timeout=timeout, alive=twin.alive)
    finished = time.monotonic() - began
    check_outputs(api, results, twin.context)
    if twin.context.after_runs is not None:
        twin.wiring_checks.append(twin.context.after_runs())
    return Report(twin.target, results, twin.wiring_checks, finished)


def new_workdir(name: str) -> Path:
    """0700 (mkdtemp's mode): it holds the twin's passwords, keys and Airflow home. Servers that run as another
    user get folders of their own beside it (datastores.service_folder)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"airflow-twin-{name}-"))
    workdir.chmod(0o700)
    return workdir


def cleanup(workdir: Path, keep_logs: bool) -> None:
    """The work folders go, unless the run failed: then its logs stay for the user to read."""
    for folder in workdir.parent.glob(f"{workdir.name}-*"):  # the servers' own folders (no secrets kept for later)
        shutil.rmtree(folder, ignore_errors=True)
    if keep_logs and any((workdir / "logs").glob("*.log")):
        print(f"twin: logs kept in {workdir / 'logs'}", file=sys.stderr)
        return
    shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- keep / stop


def state_path(name: str) -> Path:
    """Where a twin's processes are recorded from its start: `--stop` reads it, so does the watchdog."""
    return STATE_DIR / f"{name}.json"


def new_supervisor(name: str) -> Supervisor:
    """A Supervisor whose processes are recorded at once, refused while a kept twin of that name still runs."""
    path = state_path(name)
    if path.exists():
        try:
            running, _ = verified_sessions(json.loads(path.read_text()))
        except ValueError:
            running = set()
        from .supervisor import identity

        if any(identity(pid) for pid in running):
            raise TwinError(f"a {name} twin is still running ({path}); stop it first: python -m tools.twin {name} --stop")
    return Supervisor(new_workdir(name), state=path)


def keep_running(name: str, supervisor: Supervisor, home: AirflowHome) -> Path:
    """Record a kept twin for `--stop` and say where its UI and login are (the password file, never the password)."""
    supervisor.info = {"url": home.url}
    supervisor.write_state(kept=True)  # command lines as they are now that every server has retitled itself
    supervisor.forget()
    print(f"{name} twin kept running: UI {home.url}  login {ADMIN_USER} / password in {home.passwords_file}  "
          f"(state {supervisor.state})")
    return supervisor.state


def stop_kept(name: str) -> str:
    """Stop a twin recorded in its state file: kept, or left behind by a CLI that died (each PID checked first)."""
    path = state_path(name)
    if not path.exists():
        return f"no kept {name} twin ({path} does not exist)"
    return f"{name} twin: {stop_recorded(path)}"


class StopOnSignal:
    """SIGTERM/SIGINT/SIGHUP end the twin through the normal cleanup path (everything stopped by PID)."""

    def __enter__(self):
        self.saved = {sig: signal.signal(sig, self._raise) for sig in (signal.SIGTERM, signal.SIGHUP)}
        return self

    @staticmethod
    def _raise(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        return False
