"""Faults injected into a running twin, one per alarm it can prove, each the way it happens in production.

Components are stopped on purpose through Supervisor.stop_one (the kubelet then stops probing them), DAG files are
replaced in the twin's DAG folder (the bucket's `dags/` as each target reads it: a changed file is parsed again
within `min_file_process_interval`, 30 s; a new one only at the next folder scan, 300 s, so existing files are
replaced), pools are changed through the REST API. Faults run in phases: those of a phase do not interfere with each
other; the next phase needs what the previous one broke (a worker, the scheduler) for its own proof.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import TwinError
from .runs import AirflowApi
from .session import Twin

PARSE_TIMEOUT = 150.0  # seconds for a replaced DAG file to be parsed again (30 s interval, on a loaded machine)
FAILING_TASKS = 6  # each run of the failing DAG fails this many task instances at once (the alarm wants 3)

# Replaces s3_sales_rollup.py: mentions "airflow" and "dag" so safe mode parses it, then fails to import.
BROKEN_DAG = '''"""Replaced by twin-alarms: an airflow DAG file that fails to import."""
import twin_alarms_module_that_does_not_exist  # noqa: F401
'''
# Replaces smoke.py: the same dag_id, every task fails at once, no retries.
FAILING_DAG = f'''"""Replaced by twin-alarms: a DAG whose {FAILING_TASKS} tasks fail, no retries."""
import pendulum

from airflow.sdk import dag, task


@dag(dag_id="smoke", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False,
     max_active_runs=4, default_args={{"retries": 0}})
def smoke():
    @task
    def fail(n: int) -> None:
        raise RuntimeError(f"twin-alarms: task {{n}} fails on purpose")

    for n in range({FAILING_TASKS}):
        fail.override(task_id=f"fail_{{n}}")(n)


smoke()
'''


@dataclass(frozen=True)
class Fault:
    alarm: str
    phase: int
    what: str
    inject: Callable[[Twin, AirflowApi], None]


def stop_component(twin: Twin, component: str) -> None:
    """Stop the process that runs `component` (EKS: <workload>.<container>; MWAA: <container>.<process>)."""
    names = [p.name for p in twin.supervisor.processes if p.name.endswith(f".{component}")]
    if len(names) != 1:
        raise TwinError(f"fault: expected one {component} process, found {names or 'none'}")
    twin.supervisor.stop_one(names[0])


def replace_dag_file(twin: Twin, name: str, text: str) -> Path:
    path = twin.home.dags / name
    if not path.exists():
        raise TwinError(f"fault: {path} is not in the twin's DAG folder; only an existing file is parsed again soon")
    path.write_text(text)
    return path


def wait_for_tasks(api: AirflowApi, dag_id: str, task_id: str, alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + PARSE_TIMEOUT
    while time.monotonic() < deadline:
        alive()
        tasks = api.call("GET", f"/dags/{dag_id}/tasks")["tasks"]
        if any(t["task_id"] == task_id for t in tasks):
            return
        time.sleep(2)
    raise TwinError(f"fault: {dag_id} was not parsed again with task {task_id} within {PARSE_TIMEOUT:.0f}s")


def wait_for_state(api: AirflowApi, dag_id: str, run_id: str, state: str, alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + PARSE_TIMEOUT
    while time.monotonic() < deadline:
        alive()
        if any(ti["state"] == state for ti in api.task_instances(dag_id, run_id)):
            return
        time.sleep(1)
    raise TwinError(f"fault: no task of {dag_id} run {run_id} reached {state} within {PARSE_TIMEOUT:.0f}s")


# ---------------------------------------------------------------------------------------------- the faults


def _import_error(twin: Twin, _api: AirflowApi) -> None:
    replace_dag_file(twin, "s3_sales_rollup.py", BROKEN_DAG)


def _failing_tasks(twin: Twin, api: AirflowApi) -> None:
    replace_dag_file(twin, "smoke.py", FAILING_DAG)
    wait_for_tasks(api, "smoke", "fail_0", twin.alive)
    for _ in range(2):  # two runs at once: FAILING_TASKS x 2 failures within seconds
        api.trigger("smoke")


def _stop_triggerer(twin: Twin, _api: AirflowApi) -> None:
    stop_component(twin, "triggerer")


def _stalled_workers(twin: Twin, api: AirflowApi) -> None:
    stop_component(twin, "worker")
    run_id = api.trigger("fanout_primes")
    wait_for_state(api, "fanout_primes", run_id, "queued", twin.alive)  # queued, and no worker to take it


def _queued_too_long(twin: Twin, api: AirflowApi) -> None:
    """A task left QUEUED with no worker to take it: the exporter's age passes 1800 s / TIME_SCALE (90 s) as a wait
    in production would pass 30 min. workers-stalled's fault, of the same phase and injected first, has done it
    already (worker stopped, fanout_primes's first task queued); alone, this does the same."""
    if any(p.name.endswith(".worker") for p in twin.supervisor.processes):
        _stalled_workers(twin, api)


def _starved_pool(twin: Twin, api: AirflowApi) -> None:
    api.call("PATCH", "/pools/default_pool", params={"update_mask": "slots"}, json={"slots": 0})
    api.trigger("smoke")  # its tasks are scheduled, and wait for a slot of default_pool


def _stop_scheduler(twin: Twin, _api: AirflowApi) -> None:
    stop_component(twin, "scheduler")


FAULTS: tuple[Fault, ...] = (
    Fault("dag-import-errors", 1, "s3_sales_rollup.py replaced by a file that fails to import", _import_error),
    Fault("triggerer-heartbeat", 1, "the triggerer stopped", _stop_triggerer),
    Fault("task-failure-burst", 1, f"smoke.py replaced by a DAG of {FAILING_TASKS} failing tasks, two runs triggered",
          _failing_tasks),
    Fault("workers-stalled", 2, "the Celery worker stopped, fanout_primes triggered (its first task queued)",
          _stalled_workers),
    Fault("broker-oldest-task", 2, "the worker kept stopped with fanout_primes's first task queued (workers-stalled's "
          "fault): the oldest queued task's age grows", _queued_too_long),
    Fault("pool-starving", 2, "default_pool set to 0 slots through the API, smoke triggered", _starved_pool),
    Fault("scheduler-heartbeat", 3, "the scheduler stopped", _stop_scheduler),
)
BY_ALARM = {fault.alarm: fault for fault in FAULTS}
# An alarm read from Airflow's StatsD but with no fault here, and why. The healthy run checks the reason still holds
# (alarm_run.py: a metric that is never emitted must stay absent; once it arrives, the alarm needs its fault).
# None today: broker-oldest-task on EKS was one while it read task.queued_duration, which Airflow 3.0 to 3.3.1 never
# send; it now reads the scheduler pod's queued-age exporter, which its fault above drives.
NOT_INJECTED: dict[str, str] = {}
