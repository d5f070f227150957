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
from .supervisor import Supervisor, stop_groups
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
        api = AirflowApi(self.home.url, ADMIN_USER, self.home.admin_password)
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
    workdir = Path(tempfile.mkdtemp(prefix=f"airflow-twin-{name}-"))
    workdir.chmod(0o755)  # PostgreSQL/PgBouncer run as the postgres user when we are root
    return workdir


def cleanup(workdir: Path, keep_logs: bool) -> None:
    """The work folder goes, unless the run failed: then its logs stay for the user to read."""
    if keep_logs and any((workdir / "logs").glob("*.log")):
        print(f"twin: logs kept in {workdir / 'logs'}", file=sys.stderr)
        return
    shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- keep / stop


def save_state(name: str, supervisor: Supervisor, info: dict[str, Any]) -> Path:
    STATE_DIR.mkdir(exist_ok=True)
    path = STATE_DIR / f"{name}.json"
    write_private(path, json.dumps({"pids": [p.pid for p in supervisor.processes], "workdir": str(supervisor.workdir), **info}))
    return path


def keep_running(name: str, supervisor: Supervisor, home: AirflowHome) -> Path:
    """Record a kept twin for `--stop` and say where its UI and login are (the password file, never the password)."""
    state = save_state(name, supervisor, {"url": home.url})
    print(f"{name} twin kept running: UI {home.url}  login {ADMIN_USER} / password in {home.passwords_file}  (state {state})")
    return state


def stop_kept(name: str) -> str:
    path = STATE_DIR / f"{name}.json"
    if not path.exists():
        return f"no kept {name} twin ({path} does not exist)"
    state = json.loads(path.read_text())
    stop_groups(state["pids"])
    shutil.rmtree(state["workdir"], ignore_errors=True)
    path.unlink()
    return f"stopped the kept {name} twin ({len(state['pids'])} process groups)"


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
