"""Drive a running twin through Airflow 3's REST API (v2): trigger every DAG, wait, read results and logs."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import requests

from .errors import TwinError

TERMINAL = {"success", "failed"}


def dag_ids_in(folder: Path) -> list[str]:
    """The dag_id of every DAG file in the twin's DAG folder (the files read from the bucket)."""
    ids = []
    for path in sorted(folder.rglob("*.py")):
        ids += re.findall(r"""dag_id\s*=\s*["']([\w.-]+)["']""", path.read_text())
    return ids


class AirflowApi:
    def __init__(self, url: str, user: str, password: str):
        self.url, self.user, self._password = url, user, password
        self.session = requests.Session()

    def login(self) -> None:
        r = requests.post(f"{self.url}/auth/token", json={"username": self.user, "password": self._password}, timeout=30)
        if r.status_code not in (200, 201):
            raise TwinError(f"api-server: /auth/token refused the admin login ({r.status_code})")
        self.session.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs) -> Any:
        r = self.session.request(method, f"{self.url}/api/v2{path}", timeout=60, **kwargs)
        if r.status_code >= 400:
            raise TwinError(f"api-server: {method} /api/v2{path} answered {r.status_code}: {r.text[:200]}")
        return r.json() if r.content else None

    def wait_parsed(self, dag_ids: list[str], timeout: float, alive: Callable[[], None]) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive()
            known = {d["dag_id"] for d in self.call("GET", "/dags", params={"limit": 1000})["dags"]}
            if set(dag_ids) <= known:
                return
            time.sleep(1)
        errors = self.call("GET", "/importErrors").get("import_errors", [])
        detail = "; ".join(f"{e['filename']}: {e['stack_trace'].strip().splitlines()[-1]}" for e in errors)
        raise TwinError(f"dag-processor: DAGs not parsed within {timeout:.0f}s: "
                        f"missing {sorted(set(dag_ids) - known)}{'; ' + detail if detail else ''}")

    def trigger(self, dag_id: str) -> str:
        self.call("PATCH", f"/dags/{dag_id}", params={"update_mask": "is_paused"}, json={"is_paused": False})
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": {}})["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
                         params={"deserialize": True})["value"]

    def log_text(self, dag_id: str, run_id: str, ti: dict) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{max(1, ti.get('try_number') or 1)}"
        body = self.call("GET", path, params={"full_content": True, "map_index": ti.get("map_index", -1)},
                         headers={"Accept": "application/json"})
        content = body.get("content")
        if isinstance(content, list):  # Airflow 3: structured log events
            return "\n".join(str(e.get("event", e)) if isinstance(e, dict) else str(e) for e in content)
        return str(content or "")


@dataclass
class DagResult:
    dag_id: str
    run_id: str = ""
    state: str = "not started"
    seconds: float = 0.0
    checks: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "success" and not self.problem


def run_all(api: AirflowApi, dag_ids: list[str], timeout: float, alive: Callable[[], None]) -> list[DagResult]:
    """Trigger every DAG at once, then wait until each run is finished (or the timeout)."""
    started = time.monotonic()
    results = {dag_id: DagResult(dag_id, run_id=api.trigger(dag_id), state="queued") for dag_id in dag_ids}
    deadline = started + timeout
    while time.monotonic() < deadline and any(r.state not in TERMINAL for r in results.values()):
        alive()
        for result in results.values():
            if result.state not in TERMINAL:
                result.state = api.run_state(result.dag_id, result.run_id)
                result.seconds = time.monotonic() - started
        time.sleep(1)
    for result in results.values():
        if result.state not in TERMINAL:
            result.problem = f"still {result.state} after {timeout:.0f}s"
        elif result.state == "failed":
            failed = [ti["task_id"] for ti in api.task_instances(result.dag_id, result.run_id) if ti["state"] != "success"]
            result.problem = f"tasks not successful: {', '.join(failed)}"
    return list(results.values())
