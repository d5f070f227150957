"""The MWAA target's twin, started as MWAA's own images start it (tools/twin/mwaa_runtime.py has their rules).

From the plan: the environment's airflowConfigurationOptions, and startup.sh, requirements.txt and the DAGs from
the bucket. What MWAA's service provides and the program does not declare (its metadata DB, its SQS queue, the
admin login it maps from IAM) is made here, with values generated at start. Per container (scheduler, worker,
webserver), in MWAA's order: startup.sh once, sourced by bash, its exported environment read back and merged under
MWAA's precedence (an export MWAA would drop stops the twin, naming it); then `pip install -r requirements.txt`
(a failure is reported and the container starts anyway, as on MWAA); then the container's Airflow processes.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from components import airflow_config as af

from . import aws
from . import mwaa_runtime as mwaa
from .airflow_procs import (ADMIN_USER, AIRFLOW_VENV, AirflowHome, add_admin, migrate_db, new_home,
                            process_environment, service_settings, twin_sizing, wait_healthy)
from .certs import make_certificates
from .checks import CheckContext, WiringCheck, served_version
from .datastores import Postgres
from .eks import LOOPBACK_SITE
from .agent import MWAA_CONTAINER, start_mwaa_metrics_listener
from .endpoints import Endpoints, rewrite_host_port
from .errors import TwinError
from .ports import free_port
from .runs import AirflowApi, dialect_for
from .supervisor import Supervisor
from .wiring import StackWiring

# MWAA's code on its images' PYTHONPATH (/python); here only what stands in for its 2.x Celery config module.
MWAA_SITE = Path(__file__).with_name("mwaa_site")
# MWAA's Celery queues are named airflow-celery-* (the execution role may use only those).
QUEUE_PREFIX = "airflow-celery-"
# Startup scripts run under bash with `exit` aliased, so the environment is read back however the script ends.
STARTUP_RUNNER = r"""
__script=$1 __dump=$2 __python=$3
shift 3
shopt -s expand_aliases
__mwaa_dump() { "$__python" -c 'import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], "w"))' "$__dump"; }
alias exit='__mwaa_dump; builtin exit'
source "$__script"
__mwaa_dump
"""


def configuration_environment(options: dict[str, str]) -> dict[str, str]:
    """airflowConfigurationOptions as MWAA applies them: section.key -> AIRFLOW__SECTION__KEY."""
    env = {}
    for option, value in options.items():
        section, _, key = option.partition(".")
        if not key:
            raise TwinError(f"airflowConfigurationOptions: {option!r} is not section.key")
        env[f"AIRFLOW__{section.upper()}__{key.upper()}"] = str(value)
    return env


def local_constraints(requirements: str, airflow_version: str) -> str:
    """The --constraint line's upstream URL -> the shipped copy of that file (no network to GitHub here)."""
    url = af.constraints_url(airflow_version)
    if url not in requirements:
        raise TwinError(f"requirements.txt: its --constraint line does not name {url}")
    return requirements.replace(url, str(af.constraints_file(airflow_version)))


def run_startup_script(supervisor: Supervisor, script: Path, command: str, env: dict[str, str],
                       venv: Path = AIRFLOW_VENV) -> dict[str, str]:
    """startup.sh sourced by bash as MWAA runs it; returns the environment it left (all of it, as MWAA reads it)."""
    dump = supervisor.workdir / f"{command}.startup-env.json"
    log = supervisor.logs / f"{command}.startup.log"
    with open(log, "wb") as out:
        try:
            subprocess.run(["bash", "-c", STARTUP_RUNNER, "bash", str(script), str(dump), str(venv / "bin" / "python")],
                           env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=mwaa.STARTUP_SCRIPT_TIMEOUT, start_new_session=True)
        except subprocess.TimeoutExpired:
            raise TwinError(f"startup.sh ran over MWAA's {mwaa.STARTUP_SCRIPT_TIMEOUT}s limit in the {command} "
                            f"container; read {log}") from None
    if not dump.exists():
        raise TwinError(f"startup.sh left no environment in the {command} container (MWAA fails the container); read {log}")
    left = json.loads(dump.read_text())
    dump.unlink()
    return left


def install_requirements(supervisor: Supervisor, command: str, requirements: Path, env: dict[str, str],
                         venv: Path = AIRFLOW_VENV) -> WiringCheck:
    """pip install -r requirements.txt in the container's environment; a failure is reported, not fatal (MWAA's way)."""
    log = supervisor.logs / f"{command}.requirements-install.log"
    with open(log, "wb") as out:
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                               "--no-input", "-r", str(requirements)], env=env, stdout=out, stderr=subprocess.STDOUT,
                              timeout=mwaa.REQUIREMENTS_TIMEOUT)
    name = f"{command}-requirements"
    if done.returncode != 0:
        return WiringCheck(name, "", problem=f"requirements.txt did not install (pip exit {done.returncode}); MWAA logs "
                                             f"the error and starts the {command} container anyway; read {log}")
    return WiringCheck(name, "requirements.txt installed (constraints from its --constraint line)")


@dataclass
class MwaaTwin:
    stack: StackWiring
    supervisor: Supervisor
    home: AirflowHome
    container_env: dict[str, str]  # what the container has before MWAA's entrypoint runs
    service: dict[str, str]  # what MWAA's service sets and no script changes (DB, keys, login, listeners)
    options: dict[str, str]
    queue_url: str
    endpoints: Endpoints = field(default_factory=Endpoints)
    checks: list[WiringCheck] = field(default_factory=list)

    @property
    def image(self) -> mwaa.Image:
        return mwaa.image_for(self.stack.airflow_version)

    def essentials(self, command: str) -> dict[str, str]:
        essential = mwaa.essential(command, self.stack.airflow_version, self.queue_url, self.stack.region, use_ssl=False)
        # The one endpoint rewrite of MWAA's essentials: StatsD to localhost:8125 (MWAA's agent) -> the twin's listener.
        essential = rewrite_host_port(essential, "AIRFLOW__METRICS__STATSD_HOST", "AIRFLOW__METRICS__STATSD_PORT",
                                      self.endpoints, f"MWAA essential setting ({command})", from_pod=MWAA_CONTAINER)
        return {**essential, **self.service, **twin_sizing(self.stack.airflow_version)}

    def environment(self, command: str, script: Path) -> dict[str, str]:
        """startup.sh, then MWAA's merge; an export MWAA would drop stops the twin with its name and why."""
        essentials = self.essentials(command)
        before = {**self.container_env, **mwaa.OPINIONATED, **self.options, **essentials}
        left = run_startup_script(self.supervisor, script, command, before, self.stack.airflow_venv)
        merged, dropped = mwaa.merge(self.container_env, left, self.options, essentials, self.image)
        if dropped:
            raise TwinError("startup.sh: " + "; ".join(f"export {name} is ignored on MWAA ({why})"
                                                        for name, why in sorted(dropped.items())))
        return merged

    def start_container(self, command: str, script: Path, requirements: Path) -> None:
        env = self.environment(command, script)
        self.checks.append(install_requirements(self.supervisor, command, requirements, env, self.stack.airflow_venv))
        server = dialect_for(self.stack.airflow_version).server
        for process, args in self.image.containers[command].items():
            ports = (self.home.api_port,) if process == server else ()
            self.supervisor.start(f"{command}.{process}", [str(self.stack.airflow_venv / "bin" / "airflow"), *args], env=env,
                                  ports=ports)


def start_mwaa(stack: StackWiring, supervisor: Supervisor) -> tuple[AirflowHome, CheckContext, list[WiringCheck]]:
    environment = stack.mwaa_environment()
    certs = make_certificates(supervisor.workdir / "tls")
    endpoints = Endpoints()
    _, moto_port = aws.start_moto(supervisor)
    aws.declare_aws_endpoints(endpoints, stack.region, moto_port)
    aws_env = aws.aws_environment(endpoints, stack.region)

    # MWAA's own metadata database and Celery queue (not declared by the program).
    db_password = secrets.token_urlsafe(24)
    postgres = Postgres(supervisor, certs)
    postgres.start("airflow", db_password, "airflow")
    metadata = f"postgresql://airflow:{db_password}@127.0.0.1:{postgres.port}/airflow?sslmode=require"
    aws.fill_platform(stack, aws_env)
    queue_url = aws.create_queue(stack, aws_env, f"{QUEUE_PREFIX}{uuid.uuid4().hex[:12]}")

    home = new_home(supervisor.workdir, admin_password=secrets.token_urlsafe(18))
    aws.download_prefix(stack, aws_env, environment["dagS3Path"], home.dags)
    objects = {key: aws.read_object(stack, aws_env, key) for key in
               (environment["requirementsS3Path"], environment["startupScriptS3Path"])}
    requirements = supervisor.workdir / "requirements.txt"
    requirements.write_text(local_constraints(objects[environment["requirementsS3Path"]].decode(), stack.airflow_version))
    script = supervisor.workdir / "startup.sh"
    script.write_bytes(objects[environment["startupScriptS3Path"]])

    sqs_host, sqs_port, _ = endpoints.address(f"sqs.{stack.region}.amazonaws.com", 443, "Celery broker (SQS)")
    container_env = {**process_environment(stack.airflow_venv), **aws_env, "AIRFLOW_HOME": str(home.home), "PYTHONUNBUFFERED": "1",
                     "PYTHONPATH": f"{LOOPBACK_SITE}:{MWAA_SITE}", "AIRFLOW_ENV_NAME": stack.environment_name,
                     "AIRFLOW_VERSION": stack.airflow_version, "AWS_REGION": stack.region, "AWS_DEFAULT_REGION": stack.region,
                     "MWAA__SQS__QUEUE_URL": queue_url, "MWAA__SQS__USE_SSL": "false"}
    service = {**service_settings(home, stack.airflow_version),
               "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
               "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
               "AIRFLOW__CELERY__BROKER_URL": f"sqs://{sqs_host}:{sqs_port}",
               "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
               **_server_secrets(stack.airflow_version, home),
               # The log servers of worker and triggerer, on loopback ports of their own.
               "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
               "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port())}
    twin = MwaaTwin(stack, supervisor, home, container_env, service,
                    configuration_environment(environment["airflowConfigurationOptions"]), queue_url, endpoints=endpoints)
    statsd = start_mwaa_metrics_listener(endpoints, supervisor)

    # migrate-db: no startup script, no requirements; of the options only the default pool's size (MWAA's rule).
    migrate_env = {**container_env, **twin.essentials("migrate-db"),
                   **{k: v for k, v in twin.options.items() if k == "AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT"}}
    migrate_db(supervisor, migrate_env, venv=stack.airflow_venv)
    add_admin(supervisor, migrate_env, home, stack.airflow_version, venv=stack.airflow_venv)
    for command in twin.image.containers:
        twin.start_container(command, script, requirements)
    wait_healthy(supervisor, home, stack.airflow_version)
    api = AirflowApi(home.url, ADMIN_USER, home.admin_password, stack.airflow_version)
    api.login()
    twin.checks.append(served_version(api, stack.airflow_version))
    exported = dict(re.findall(r"^export (\w+)=(\S+)$", script.read_text(), flags=re.MULTILINE))
    worker_log = supervisor.logs / "worker.worker.log"
    context = CheckContext(stack=stack, aws_env=aws_env, deployment_target=exported.get("DEPLOYMENT_TARGET", "unknown"),
                           remote_logs=False, after_runs=lambda: _sqs_queue_used(stack, aws_env, queue_url, worker_log),
                           statsd=statsd)
    return home, context, twin.checks


def _server_secrets(airflow_version: str, home: AirflowHome) -> dict[str, str]:
    """The keys MWAA's essentials derive from its secrets: 3.x the API server's and the JWTs' (with the execution
    API's URL), 2.x the webserver's (MWAA__WEBSERVER__SECRET), which also signs the log servers' requests."""
    if af.is_airflow3(airflow_version):
        return {"AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{home.url}/execution/"}
    return {"AIRFLOW__WEBSERVER__SECRET_KEY": secrets.token_urlsafe(32)}


def _sqs_queue_used(stack: StackWiring, aws_env: dict[str, str], queue_url: str, worker_log: Path) -> WiringCheck:
    """The tasks went through MWAA's predefined queue: the only airflow-celery-* queue, and the worker took tasks from it."""
    queue = queue_url.rsplit("/", 1)[-1]
    queues = aws.sqs_queue_names(stack, aws_env, QUEUE_PREFIX)
    if queues != [queue]:
        return WiringCheck("celery-broker", "", problem=f"SQS queues {queues}: expected only MWAA's predefined {queue}")
    log = worker_log.read_text(errors="replace") if worker_log.exists() else ""
    received = len(re.findall(r"Task \S+\[[0-9a-f-]+\] received", log))
    if "sqs://" not in log or not received:
        return WiringCheck("celery-broker", "", problem=f"the Celery worker took no task from SQS queue {queue}; read {worker_log}")
    return WiringCheck("celery-broker", f"SQS queue {queue} (predefined, visibility timeout {mwaa.SQS_VISIBILITY_TIMEOUT}s): "
                                        f"{received} tasks received by the worker")
