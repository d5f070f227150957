"""Airflow's components as separate processes from the project's pinned environment (.venv-airflow).

Each target builds its environment the way it runs in AWS (twin/eks.py: the rendered chart; twin/mwaa.py: MWAA's
start-up); this module holds what they share: the pinned environment, the database migration, the wait for the API
server, and what the MWAA twin sets as MWAA's service would (loopback listener, the simple auth manager's login).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import requests

from components.airflow_config import is_airflow3
from tools.planner import ROOT

from .errors import TwinError
from .files import write_private
from .ports import LOOPBACK, free_port
from .runs import dialect_for
from .supervisor import Supervisor

# The default Airflow of the twins; a stack at another version runs from .venv-airflow-<version> (venv_for).
AIRFLOW_VENV = Path(os.environ.get("TWIN_AIRFLOW_VENV", ROOT / ".venv-airflow"))
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
ADMIN_USER = "admin"
# Airflow 2's API login for the twin's admin and the migration tool (basic auth), the UI's session kept.
BASIC_AUTH_BACKENDS = "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session"
# What `airflow users create --role Admin` does (the FAB provider's users_create), the login from the passwords file.
ADD_FAB_ADMIN = """
import json, sys
from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder
[(user, password)] = json.load(open(sys.argv[1])).items()
with get_application_builder() as appbuilder:
    sm = appbuilder.sm
    if not sm.find_user(user) and not sm.add_user(user, "Twin", "Admin", user + "@twin.invalid", sm.find_role("Admin"), password):
        sys.exit("could not create the FAB user " + user)
"""


@dataclass
class AirflowHome:
    home: Path
    dags: Path
    api_port: int
    admin_password: str
    passwords_file: Path  # where the admin password is, for the user of a kept twin (0600)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"


def installed_airflow_version(venv: Path = AIRFLOW_VENV) -> str:
    """The Airflow version of a pinned environment the twin runs (must be the stack's airflowVersion)."""
    found = sorted((venv / "lib").glob("python3*/site-packages/apache_airflow-*.dist-info"))
    if not found:
        raise TwinError(f"no Airflow in {venv}: run `make airflow-venv`")
    return found[0].name[len("apache_airflow-"):-len(".dist-info")]


def venv_for(version: str) -> Path:
    """The environment a stack at `version` runs from: the default one when it has that version, else
    .venv-airflow-<version> (a second Airflow for blue/green, made by scripts/setup-twin-airflow-env)."""
    installed = installed_airflow_version()
    if installed == version:
        return AIRFLOW_VENV
    second = ROOT / f".venv-airflow-{version}"
    if (second / "lib").is_dir() and installed_airflow_version(second) == version:
        return second
    raise TwinError(f"airflowVersion: the stack runs {version} but {AIRFLOW_VENV} has Airflow {installed} "
                    f"(make airflow-venv AIRFLOW_VERSION={version}, or a second one beside it: "
                    f"bash scripts/setup-twin-airflow-env {version})")


def new_home(workdir: Path, admin_password: str) -> AirflowHome:
    home = workdir / "airflow-home"
    (home / "dags").mkdir(parents=True, exist_ok=True)
    # The admin login, written by service_settings: 3.x's simple auth manager reads it, 2.x's FAB admin is made from it.
    return AirflowHome(home=home, dags=home / "dags", api_port=free_port(), admin_password=admin_password,
                       passwords_file=home / "admin_passwords.json")


def process_environment(venv: Path = AIRFLOW_VENV) -> dict[str, str]:
    """This machine's environment without its Airflow and AWS settings, with the pinned Airflow first on PATH."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    return {**base, "PATH": f"{venv / 'bin'}:{base.get('PATH', '/usr/bin:/bin')}"}


def twin_sizing(airflow_version: str) -> dict[str, str]:
    """The one sizing change: one API (3.x) or webserver (2.x) worker instead of Airflow's default 4 on 2 cores."""
    return {f"AIRFLOW__{'API' if is_airflow3(airflow_version) else 'WEBSERVER'}__WORKERS": "1"}


def service_settings(home: AirflowHome, airflow_version: str) -> dict[str, str]:
    """What only the twin sets, as the service would: paths, loopback API, the admin login (0600 password file).

    The admin login stands in for the one MWAA maps from IAM: on 3.x the simple auth manager's admin (password file);
    on 2.x a FAB user (add_admin) that logs in to /api/v1 with basic auth, the backend the migration tool also uses."""
    write_private(home.passwords_file, json.dumps({ADMIN_USER: home.admin_password}))
    # Off unless the stack's options turn it on; then on loopback and a port of its own, not 0.0.0.0:8974.
    health = {"AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": LOOPBACK,
              "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port())}
    if not is_airflow3(airflow_version):
        return {"AIRFLOW__WEBSERVER__WEB_SERVER_HOST": LOOPBACK,
                "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(home.api_port),
                "AIRFLOW__WEBSERVER__BASE_URL": home.url,
                **health,
                "AIRFLOW__API__AUTH_BACKENDS": BASIC_AUTH_BACKENDS}
    return {
        "AIRFLOW__API__HOST": LOOPBACK,
        "AIRFLOW__API__PORT": str(home.api_port),
        "AIRFLOW__API__BASE_URL": home.url,
        **health,
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home.passwords_file),
    }


def add_admin(supervisor: Supervisor, env: dict[str, str], home: AirflowHome, airflow_version: str,
              venv: Path = AIRFLOW_VENV) -> None:
    """2.x: the FAB admin user, made as `airflow users create` makes it but with the password read from the 0600
    passwords file (never on a command line). 3.x: nothing to do, the simple auth manager reads that file."""
    if is_airflow3(airflow_version):
        return
    _run_once(supervisor, "add-admin", [str(venv / "bin" / "python"), "-c", ADD_FAB_ADMIN, str(home.passwords_file)],
              env, 300)


def migrate_db(supervisor: Supervisor, env: dict[str, str], timeout: float = 600, venv: Path = AIRFLOW_VENV) -> None:
    """`airflow db migrate`, as MWAA's migrate-db command runs it before the containers; waits until it exits."""
    _run_once(supervisor, "migrate-db", [str(venv / "bin" / "airflow"), "db", "migrate"], env, timeout)


def _run_once(supervisor: Supervisor, name: str, argv: list[str], env: dict[str, str], timeout: float) -> None:
    """A supervised command that must exit 0 within `timeout` seconds."""
    process = supervisor.start(name, argv, env=env)
    try:
        code = process.popen.wait(timeout=timeout)
    except Exception:
        raise TwinError(f"{name} did not finish within {timeout:.0f}s; read {process.log}") from None
    supervisor.processes.remove(process)
    if code != 0:
        raise TwinError(f"{name} exited with code {code}; read {process.log}")


def wait_healthy(supervisor: Supervisor, home: AirflowHome, airflow_version: str, timeout: float = 240) -> None:
    """Until the API's server answers its health path (3.x api-server /api/v2/monitor/health, 2.x webserver /health),
    every process still running meanwhile."""
    dialect = dialect_for(airflow_version)
    server = next(p for p in supervisor.processes if p.name.endswith(f".{dialect.server}"))
    supervisor.wait(server, lambda: _healthy(f"{home.url}{dialect.health}"), f"{home.url}{dialect.health}",
                    timeout=timeout)


def _healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
