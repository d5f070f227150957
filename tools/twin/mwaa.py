"""The MWAA target's twin: the environment's airflowConfigurationOptions, startup.sh and requirements.txt
from the bucket, CeleryExecutor on an SQS broker (moto), a PostgreSQL metadata DB, Secrets Manager on moto.

What MWAA itself provides and the program does not declare (its metadata DB and Celery queue, the admin
login mapped from IAM) is made here, with values generated at start.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path

from components import airflow_config as af

from . import aws
from .airflow_procs import AIRFLOW_VENV, AirflowHome, migrate_db, new_home, start_components, twin_environment
from .certs import make_certificates
from .checks import CheckContext, WiringCheck
from .datastores import Postgres
from .endpoints import Endpoints
from .errors import TwinError
from .supervisor import Supervisor
from .wiring import StackWiring

# MWAA's Celery queues are named airflow-celery-* (the execution role may use only those).
QUEUE_PREFIX = "airflow-celery-"


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


def install_requirements(supervisor: Supervisor, requirements: str, airflow_version: str) -> None:
    """pip install -r requirements.txt (as taken from the bucket) into the Airflow env: a no-op when satisfied."""
    path = supervisor.workdir / "requirements.txt"
    path.write_text(local_constraints(requirements, airflow_version))
    log = supervisor.logs / "requirements-install.log"
    with open(log, "wb") as out:
        done = subprocess.run([str(AIRFLOW_VENV / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                               "--no-input", "-r", str(path)], stdout=out, stderr=subprocess.STDOUT, timeout=900)
    if done.returncode != 0:
        raise TwinError(f"requirements.txt from the bucket did not install (exit {done.returncode}); read {log}")


def startup_wrapper(script: Path, environment_name: str, airflow_version: str):
    """Every component runs through `. startup.sh; exec <component>`, so the script's exports reach it (not the
    database migration: MWAA does not run the script there)."""
    def wrap(component: str, argv: list[str]) -> tuple[list[str], dict[str, str]]:
        if component == "db-migrate":
            return argv, {}
        mwaa_env = {"MWAA_AIRFLOW_COMPONENT": component, "AIRFLOW_ENV_NAME": environment_name,
                    "AIRFLOW_VERSION": airflow_version}
        return ["bash", "-c", '. "$0"; exec "$@"', str(script), *argv], mwaa_env
    return wrap


def start_mwaa(stack: StackWiring, supervisor: Supervisor) -> tuple[AirflowHome, CheckContext, list[WiringCheck]]:
    environment = stack.mwaa_environment()
    options = environment["airflowConfigurationOptions"]
    certs = make_certificates(supervisor.workdir / "tls")
    endpoints = Endpoints()

    _, moto_port = aws.start_moto(supervisor)
    aws.declare_aws_endpoints(endpoints, stack.region, moto_port)
    aws_env = aws.aws_environment(endpoints, stack.region)

    # MWAA's own metadata database (not declared by the program).
    db_password = secrets.token_urlsafe(24)
    postgres = Postgres(supervisor, certs)
    postgres.start("airflow", db_password, "airflow")
    metadata = f"postgresql://airflow:{db_password}@127.0.0.1:{postgres.port}/airflow?sslmode=require"

    aws.fill_platform(stack, aws_env)
    home = new_home(supervisor.workdir, admin_password=secrets.token_urlsafe(18))
    aws.download_prefix(stack, aws_env, environment["dagS3Path"], home.dags)
    objects = {key: aws.read_object(stack, aws_env, key) for key in
               (environment["requirementsS3Path"], environment["startupScriptS3Path"])}
    install_requirements(supervisor, objects[environment["requirementsS3Path"]].decode(), stack.airflow_version)
    startup = supervisor.workdir / "startup.sh"
    startup.write_bytes(objects[environment["startupScriptS3Path"]])

    # SQS broker on moto: kombu builds the endpoint from the URL's host and port.
    sqs_host, sqs_port, _ = endpoints.address(f"sqs.{stack.region}.amazonaws.com", 443, "Celery broker (SQS)")
    env = twin_environment(home)
    env.update(aws_env)
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
        "AIRFLOW__CELERY__BROKER_URL": f"sqs://{sqs_host}:{sqs_port}",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__REGION": stack.region,
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__IS_SECURE": "False",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__QUEUE_NAME_PREFIX": QUEUE_PREFIX,
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__WAIT_TIME_SECONDS": "1",
        "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{home.url}/execution/",
    })
    env.update(configuration_environment(options))
    wrap = startup_wrapper(startup, stack.environment_name, stack.airflow_version)
    migrate_db(supervisor, env, wrap)
    start_components(supervisor, home, env, wrap)
    exported = dict(re.findall(r"^export (\w+)=(\S+)$", startup.read_text(), flags=re.MULTILINE))
    context = CheckContext(stack=stack, aws_env=aws_env, deployment_target=exported.get("DEPLOYMENT_TARGET", "unknown"),
                           remote_logs=False, after_runs=lambda: _sqs_queues_used(stack, aws_env))
    return home, context, []


def _sqs_queues_used(stack: StackWiring, aws_env: dict[str, str]) -> WiringCheck:
    """The tasks went through SQS: Celery's queue exists on moto (kombu creates it on first use)."""
    queues = aws.sqs_queue_names(stack, aws_env, QUEUE_PREFIX)
    if not queues:
        return WiringCheck("celery-broker", "", problem=f"no SQS queue {QUEUE_PREFIX}* on moto: tasks did not go through SQS")
    return WiringCheck("celery-broker", f"SQS queues {', '.join(queues)}")


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
