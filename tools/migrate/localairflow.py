"""Throwaway local Airflow 3 instances (SQLite, simple auth manager, API server on loopback).

Used by tests/migrate and scripts/bench-migrate. Each instance has its own AIRFLOW_HOME; the schema is
built once (``airflow db migrate`` + ``airflow dags reserialize``) and the resulting SQLite file copied
to every instance, which is much faster than migrating each.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO / ".venv-airflow"

#: Two tiny DAGs that the paused-state tests and the benchmark can count on, whatever dags/ holds.
TEST_DAGS = {
    "migrate_test_dags.py": '''
from datetime import datetime

from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

for _dag_id in ("migrate_test_alpha", "migrate_test_beta", "migrate_test_gamma"):
    with DAG(dag_id=_dag_id, schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as _dag:
        EmptyOperator(task_id="noop")
    globals()[_dag_id] = _dag
'''
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bundle_config(dags_folders: list[Path]) -> str:
    return json.dumps(
        [
            {
                "name": f"dags-{i}" if i else "dags-folder",
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(p), "refresh_interval": 0},
            }
            for i, p in enumerate(dags_folders)
        ]
    )


class LocalAirflow:
    def __init__(
        self,
        home: Path,
        dags_folders: list[Path],
        user: str = "admin",
        password: str = "admin-pass",
        hide_sensitive: bool = True,
        venv: Path = DEFAULT_VENV,
        workers: int = 1,
        name: str = "airflow",
        extra_env: dict[str, str] | None = None,
    ):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_folders = [Path(p) for p in dags_folders]
        self.user, self.password = user, password
        self.hide_sensitive = hide_sensitive
        self.venv = Path(venv)
        self.workers = workers
        self.name = name
        self.extra_env = dict(extra_env or {})
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path = self.home / "api-server.log"
        (self.home / "passwords.json").write_text(json.dumps({user: password}))
        self.fernet_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        self.jwt_secret = base64.urlsafe_b64encode(os.urandom(32)).decode()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.home / "airflow.db"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "PATH": f"{self.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folders[0]),
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": _bundle_config(self.dags_folders),
                "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.user}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS": str(self.hide_sensitive),
                "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__EXPOSE_CONFIG": "False",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "PYTHONWARNINGS": "ignore",
                # The local settings the EKS chart mounts (faster secret masking): these instances behave as EKS's.
                "PYTHONPATH": str(REPO / "airflow" / "config"),
            }
        )
        if not self.hide_sensitive:
            # Airflow 3 also masks every loaded connection password by value, whatever the setting above;
            # only passwords shorter than this are exempt. Both together make the API return secrets.
            env["AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET"] = "1000000"
        if self.port:
            env["AIRFLOW__API__PORT"] = str(self.port)
            env["AIRFLOW__API__BASE_URL"] = self.url
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(self.venv / "bin" / "airflow"), *args],
            env=self.env(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            tail = (proc.stderr or proc.stdout)[-3000:]
            raise RuntimeError(f"airflow {' '.join(args[:3])} failed ({proc.returncode}):\n{tail}")
        return proc

    def init_db(self) -> None:
        self.cli("db", "migrate", timeout=600)
        self.cli("dags", "reserialize", timeout=600)

    def copy_db_from(self, other: LocalAirflow) -> None:
        shutil.copyfile(other.db_path, self.db_path)

    def start(self) -> None:
        self.port = free_port()
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [str(self.venv / "bin" / "airflow"), "api-server", "--host", "127.0.0.1", "--port",
                 str(self.port), "--workers", str(self.workers), "--apps", "core"],
                env=self.env(),
                cwd=self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends the server and its workers
            )
        finally:
            log.close()

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} API server exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                r = requests.post(f"{self.url}/auth/token",
                                  json={"username": self.user, "password": self.password}, timeout=2)
                if r.status_code in (200, 201):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} API server not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)

    # -- a small client for filling and checking an instance ------------------------------------

    def session(self) -> requests.Session:
        s = requests.Session()
        r = s.post(f"{self.url}/auth/token", json={"username": self.user, "password": self.password}, timeout=30)
        r.raise_for_status()
        s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return s


def write_test_dags(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in TEST_DAGS.items():
        (folder / name).write_text(text.lstrip())
    return folder


def dags_folders(tmp: Path) -> list[Path]:
    """The repo's dags/ when it holds DAG files, plus a folder with this tool's own test DAGs."""
    own = write_test_dags(tmp / "migrate-test-dags")
    repo_dags = REPO / "dags"
    if repo_dags.is_dir() and any(repo_dags.rglob("*.py")):
        return [repo_dags, own]
    return [own]


def start_pair(tmp: Path, venv: Path = DEFAULT_VENV, workers: int = 1, source_hides_secrets: bool = False,
               target_hides_secrets: bool = True, extra_env: dict[str, str] | None = None,
               ) -> tuple[LocalAirflow, LocalAirflow]:
    """Two fresh instances sharing one migrated schema; the source reveals secrets, the target masks them
    (Airflow's default), as in a real migration where the source is set up for the export."""
    folders = dags_folders(tmp)
    template = LocalAirflow(tmp / "template", folders, venv=venv, name="template")
    template.init_db()
    source = LocalAirflow(tmp / "source", folders, hide_sensitive=source_hides_secrets, venv=venv,
                          workers=workers, name="source", password="source-pass", extra_env=extra_env)
    target = LocalAirflow(tmp / "target", folders, hide_sensitive=target_hides_secrets, venv=venv,
                          workers=workers, name="target", password="target-pass", extra_env=extra_env)
    started = []
    try:
        for inst in (source, target):
            inst.copy_db_from(template)
            inst.start()
            started.append(inst)
        for inst in (source, target):
            inst.wait_ready()
    except BaseException:
        for inst in started:
            inst.stop()
        raise
    return source, target


def bulk_create(inst: LocalAirflow, kind: str, entities: list[dict], batch: int = 1000,
                session: requests.Session | None = None) -> None:
    """Create items on an instance through Airflow 3's bulk endpoint (fails loudly on any error)."""
    s = session or inst.session()
    for i in range(0, len(entities), batch):
        chunk = entities[i : i + batch]
        r = s.patch(f"{inst.url}/api/v2/{kind}", timeout=300,
                    json={"actions": [{"action": "create", "entities": chunk, "action_on_existence": "fail"}]})
        if r.status_code != 200:
            raise RuntimeError(f"bulk create of {kind} on {inst.name}: {r.status_code} {r.text[:300]}")
        errors = (r.json().get("create") or {}).get("errors")
        if errors:
            raise RuntimeError(f"bulk create of {kind} on {inst.name}: {str(errors)[:300]}")


def set_paused(inst: LocalAirflow, states: dict[str, bool], session: requests.Session | None = None) -> None:
    s = session or inst.session()
    for dag_id, paused in states.items():
        r = s.patch(f"{inst.url}/api/v2/dags/{dag_id}", params={"update_mask": "is_paused"},
                    json={"is_paused": paused}, timeout=60)
        if r.status_code != 200:
            raise RuntimeError(f"pausing {dag_id} on {inst.name}: {r.status_code} {r.text[:300]}")
