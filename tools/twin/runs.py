"""Drive a running twin through Airflow's REST API: trigger every DAG, wait, read results and logs.

Airflow 3 serves /api/v2 (a JWT from POST /auth/token); Airflow 2 serves its stable REST API /api/v1, where the
twins log in with HTTP basic auth (`[api] auth_backends` must list airflow.api.auth.backend.basic_auth). What differs
between the two is in ApiDialect, chosen from the stack's Airflow major by dialect_for(), nowhere else.
Sources: https://airflow.apache.org/docs/apache-airflow/2.10.3/stable-rest-api-ref.html and
https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html, checked against the code of
the installed 2.10.3 and 3.3.1 (api_connexion/endpoints/*.py, api_fastapi/core_api/routes/public/*.py).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import requests

from .errors import TwinError

TERMINAL = {"success", "failed"}


@dataclass(frozen=True)
class ApiDialect:
    """What the twins' API client does differently on Airflow 2 (/api/v1) and Airflow 3 (/api/v2)."""

    prefix: str  # the REST API's root path
    server: str  # the process that serves it: 2.x `airflow webserver`, 3.x `airflow api-server`
    health: str  # the unauthenticated health path of that server
    token_login: bool  # 3.x: a JWT from /auth/token; 2.x: HTTP basic auth on every request
    trigger_body: dict  # 3.x requires logical_date (null = a run now); 2.x fills logical_date with now when absent
    xcom_params: dict  # 3.x deserialize=true; 2.x stringify=false (its deserialize needs enable_xcom_deserialize_support)
    log_accept: str  # 2.x's JSON log is the str() of (host, text) tuples: plain text instead; 3.x: JSON events
    bulk_writes: bool  # 3.x: PATCH /variables|/connections|/pools with actions; 2.x: one POST per item
    users: str  # FAB's users endpoint (3.x: the FAB provider's own API; 2.x: part of /api/v1)
    hides_passwords: bool  # 2.x never returns a connection's password: an export from it is incomplete


V1 = ApiDialect(prefix="/api/v1", server="webserver", health="/health", token_login=False, trigger_body={"conf": {}},
                xcom_params={"stringify": "false"}, log_accept="text/plain", bulk_writes=False, users="/api/v1/users",
                hides_passwords=True)
V2 = ApiDialect(prefix="/api/v2", server="api-server", health="/api/v2/monitor/health", token_login=True,
                trigger_body={"logical_date": None, "conf": {}}, xcom_params={"deserialize": True},
                log_accept="application/json", bulk_writes=True, users="/auth/fab/v1/users",
                hides_passwords=False)


def dialect_for(airflow_version: str) -> ApiDialect:
    """The API a stack's Airflow serves: /api/v1 up to 2.x, /api/v2 from 3.0."""
    major = airflow_version.split(".", 1)[0]
    if not major.isdigit():
        raise TwinError(f"airflowVersion: {airflow_version!r} is not X.Y.Z")
    return V2 if int(major) >= 3 else V1


def dag_ids_in(folder: Path) -> list[str]:
    """The dag_id of every DAG file in the twin's DAG folder (the files read from the bucket)."""
    ids = []
    for path in sorted(folder.rglob("*.py")):
        ids += re.findall(r"""dag_id\s*=\s*["']([\w.-]+)["']""", path.read_text())
    return ids


class AirflowApi:
    def __init__(self, url: str, user: str, password: str, airflow_version: str):
        self.url, self.user, self._password = url, user, password
        self.dialect = dialect_for(airflow_version)
        self.session = requests.Session()

    def login(self) -> None:
        d = self.dialect
        if d.token_login:
            r = requests.post(f"{self.url}/auth/token", json={"username": self.user, "password": self._password},
                              timeout=30)
            if r.status_code not in (200, 201):
                raise TwinError(f"{d.server}: /auth/token refused the admin login ({r.status_code})")
            self.session.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            return
        self.session.auth = (self.user, self._password)
        r = self.session.get(f"{self.url}{d.prefix}/dags", params={"limit": 1}, timeout=30)
        if r.status_code in (401, 403):
            raise TwinError(f"{d.server}: {d.prefix} refused the admin's basic auth ({r.status_code}); [api] "
                            f"auth_backends must list airflow.api.auth.backend.basic_auth")

    def call(self, method: str, path: str, **kwargs) -> Any:
        """`path` under the API's root; JSON answers decoded, text answers (2.x plain-text logs) as text."""
        r = self.session.request(method, f"{self.url}{self.dialect.prefix}{path}", timeout=60, **kwargs)
        if r.status_code >= 400:
            raise TwinError(f"{self.dialect.server}: {method} {self.dialect.prefix}{path} answered "
                            f"{r.status_code}: {r.text[:200]}")
        if not r.content:
            return None
        return r.json() if "json" in r.headers.get("content-type", "") else r.text

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

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.call("PATCH", f"/dags/{dag_id}", params={"update_mask": "is_paused"}, json={"is_paused": paused})

    def trigger(self, dag_id: str) -> str:
        self.set_paused(dag_id, False)
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=self.dialect.trigger_body)["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
                         params=self.dialect.xcom_params)["value"]

    def log_text(self, dag_id: str, run_id: str, ti: dict) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{max(1, ti.get('try_number') or 1)}"
        body = self.call("GET", path, params={"full_content": True, "map_index": ti.get("map_index", -1)},
                         headers={"Accept": self.dialect.log_accept})
        if isinstance(body, str):  # Airflow 2: the log as text
            return body
        content = body.get("content")
        if isinstance(content, list):  # Airflow 3: structured log events
            return "\n".join(str(e.get("event", e)) if isinstance(e, dict) else str(e) for e in content)
        return str(content or "")

    def create(self, kind: str, items: list[dict]) -> None:
        """Create variables, connections or pools (`kind`), overwriting same-named ones on 3.x's bulk endpoint."""
        if self.dialect.bulk_writes:
            self.call("PATCH", f"/{kind}", json={"actions": [{"action": "create", "entities": items,
                                                              "action_on_existence": "overwrite"}]})
            return
        for item in items:
            self.call("POST", f"/{kind}", json=item)


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
