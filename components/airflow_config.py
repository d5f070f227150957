"""Airflow settings and artifacts that both targets share: secrets backend, requirements, constraints.

Everything here is the same on MWAA and EKS, which is what makes the move between them a config change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_DIR = ROOT / "airflow"
REQUIREMENTS = AIRFLOW_DIR / "requirements.txt"
CONSTRAINTS_DIR = AIRFLOW_DIR / "constraints"
STARTUP_SCRIPT = AIRFLOW_DIR / "startup.sh"
# airflow_local_settings.py of the EKS deployment (the chart mounts it in every Airflow pod): see its docstring.
LOCAL_SETTINGS = AIRFLOW_DIR / "config" / "airflow_local_settings.py"
PLUGINS_DIR = AIRFLOW_DIR / "plugins"
DAGS_DIR = ROOT / "dags"

SECRETS_BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
# The bucket prefixes Airflow uses on both targets.
DAGS_PREFIX = "dags"
LOGS_PREFIX = "logs"
DATA_PREFIX = "data"
# MWAA's log groups are airflow-<environment>-<kind>; the EKS control plane's is /aws/eks/<cluster>/cluster, and the
# cluster is named after the environment (components/eks/component.py).
MWAA_LOG_GROUP_KINDS = ("DAGProcessing", "Scheduler", "Task", "WebServer", "Worker")


def mwaa_log_group_names(environment_name: str) -> dict[str, str]:
    """{kind: log group name} of the five groups MWAA writes to."""
    return {kind: f"airflow-{environment_name}-{kind}" for kind in MWAA_LOG_GROUP_KINDS}


def eks_log_group_name(cluster_name: str) -> str:
    return f"/aws/eks/{cluster_name}/cluster"


def log_group_names(environment_name: str) -> list[str]:
    """The CloudWatch log groups one environment writes, on either target."""
    return [*mwaa_log_group_names(environment_name).values(), eks_log_group_name(environment_name)]


# Object keys MWAA reads besides dags/ (the bucket uploads them; the MWAA role may read these and nothing else).
REQUIREMENTS_KEY = "requirements.txt"
STARTUP_SCRIPT_KEY = "startup.sh"
PLUGINS_KEY = "plugins.zip"


@dataclass(frozen=True)
class SecretsBackendPrefixes:
    connections: str
    variables: str

    @staticmethod
    def for_environment(environment_name: str) -> "SecretsBackendPrefixes":
        # Per environment, so two stacks in one account never read each other's secrets.
        return SecretsBackendPrefixes(connections=f"airflow/{environment_name}/connections",
                                      variables=f"airflow/{environment_name}/variables")


def portable_airflow_config(prefixes: SecretsBackendPrefixes) -> dict[str, str]:
    """Airflow config (section.key -> value) that must be identical on both targets."""
    return {
        "secrets.backend": SECRETS_BACKEND,
        "secrets.backend_kwargs": json.dumps({"connections_prefix": prefixes.connections,
                                               "variables_prefix": prefixes.variables}, sort_keys=True),
    }


# A blue/green upgrade side starts with every DAG paused (Airflow's [core] dags_are_paused_at_creation, explicit
# whatever the stack's options say): the live side runs them until the runbook pauses it and unpauses the new one.
PAUSED_AT_CREATION = {"core.dags_are_paused_at_creation": "True"}

# Options the program sets itself, compared lower-case: the secrets backend (both targets) and, on EKS, task logs
# to S3, Celery slots per worker (the chart's KEDA query divides by the same figure) and StatsD to the CloudWatch agent
# (the alarms read what it publishes; MWAA sets the same four itself). A stack may not set them.
PROGRAM_OPTIONS = ("secrets.backend", "secrets.backend_kwargs", "logging.remote_logging", "logging.remote_base_log_folder",
                   "logging.remote_log_conn_id", "celery.worker_concurrency", "metrics.statsd_on", "metrics.statsd_host",
                   "metrics.statsd_port", "metrics.statsd_prefix")

# Defaults EKS takes from MWAA's images, which a stack's airflowConfigurationOptions still override on both targets.
# MWAA's "opinionated" scheduler config that "can be overridden by the user" (aws/amazon-mwaa-docker-images,
# images/airflow/3.3.1/python/mwaa/config/airflow.py, and 2.10.3's, commit 9d2bebb5): AIRFLOW__SCHEDULER__
# TASK_QUEUED_TIMEOUT=1800.0, against Airflow's 600 s. Without it a task queued 10 min is re-queued on EKS but waits on
# MWAA, and its wait could never reach broker-oldest-task's 1800 s. The same function sets SCHEDULE_AFTER_TASK_EXECUTION
# False (no "mini scheduler" in each task's process); only Airflow 2 has that option (3.x removed it), so EKS sets it on
# 2.x only, where it would otherwise differ from MWAA.
MWAA_IMAGE_DEFAULTS = {"scheduler.task_queued_timeout": "1800.0"}
MWAA_IMAGE_DEFAULTS_AIRFLOW_2 = {"scheduler.schedule_after_task_execution": "False"}


def is_airflow3(airflow_version: str) -> bool:
    """The one test of the major both targets and the twins branch on (api-server vs webserver, /api/v2 vs /api/v1)."""
    return airflow_version.startswith("3.")


def mwaa_image_defaults(airflow_version: str) -> dict[str, str]:
    return {**MWAA_IMAGE_DEFAULTS, **({} if is_airflow3(airflow_version) else MWAA_IMAGE_DEFAULTS_AIRFLOW_2)}

# Options a target sets itself, outside the config table above, by the chart value that sets it on EKS (the chart's
# templates turn `executor` and each named Secret into an AIRFLOW__<SECTION>__<KEY> variable); MWAA sets the same ones
# itself. tests/test_settings.py checks that the planned Helm release sets every value named here.
TARGET_OPTIONS = {
    "core.executor": "executor",
    "core.fernet_key": "fernetKeySecretName",
    "database.sql_alchemy_conn": "data.metadataSecretName",
    "celery.result_backend": "data.resultBackendSecretName",
    "celery.broker_url": "data.brokerUrlSecretName",
}
# Options that override one of the above for part of Airflow: the workers' own secrets backend "will precede" the one
# the program sets (config.yml, [workers] secrets_backend), and its kwargs with it.
OVERRIDING_OPTIONS = ("workers.secrets_backend", "workers.secrets_backend_kwargs")
# Airflow reads any option from `<option>_cmd` (a command's output) or `<option>_secret` (a secrets backend key) too,
# so those spellings of a reserved option are reserved with it ("Setting Configuration Options", Airflow docs).
OPTION_SOURCE_SUFFIXES = ("_cmd", "_secret")
# Shows the whole configuration in the UI: a stack opts in with mwaa.allowExposeConfig (webserver.* on Airflow 2).
EXPOSE_CONFIG_OPTIONS = ("api.expose_config", "webserver.expose_config")


def nested_config(flat: dict[str, str]) -> dict[str, dict[str, str]]:
    """{'core.x': 'v'} -> {'core': {'x': 'v'}}: the shape of the Helm chart's `config` value."""
    nested: dict[str, dict[str, str]] = {}
    for option, value in flat.items():
        section, key = option.split(".", 1)
        nested.setdefault(section, {})[key] = value
    return nested


def constraints_file(airflow_version: str) -> Path:
    return CONSTRAINTS_DIR / f"constraints-{airflow_version}.txt"


def constraints_url(airflow_version: str) -> str:
    """The upstream constraints URL named in the shipped file's header (it carries the Python version)."""
    for line in constraints_file(airflow_version).read_text().splitlines()[:5]:
        match = re.search(r"https://\S+/constraints-[\d.]+/constraints-[\d.]+\.txt", line)
        if match:
            return match.group(0)
    raise ValueError(f"{constraints_file(airflow_version)} names no upstream constraints URL in its header")


def python_version(airflow_version: str) -> str:
    return re.search(r"constraints-(\d+\.\d+)\.txt$", constraints_url(airflow_version)).group(1)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_packages(airflow_version: str) -> dict[str, str]:
    pins = {}
    for line in constraints_file(airflow_version).read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_normalise(name.strip())] = version.strip()
    return pins


def requirement_names() -> list[str]:
    """Package names listed in airflow/requirements.txt (options and comments skipped)."""
    names = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(re.split(r"[\[<>=!~;\s]", line, maxsplit=1)[0])
    return names


def unpinned_requirements(airflow_version: str) -> list[str]:
    """Listed packages the version's constraints file doesn't pin: MWAA would reject or mis-resolve them."""
    pins = pinned_packages(airflow_version)
    return [name for name in requirement_names() if _normalise(name) not in pins]


def render_requirements(airflow_version: str) -> str:
    """airflow/requirements.txt with its --constraint line set to the configured Airflow version."""
    body = [line for line in REQUIREMENTS.read_text().splitlines()
            if not re.match(r"\s*(--constraint|-c)\b", line)]
    return "\n".join([f'--constraint "{constraints_url(airflow_version)}"', *body]).rstrip() + "\n"


def dag_files() -> list[Path]:
    """Files synced to the bucket's dags/ prefix: everything under dags/ except caches (see dag_sync.list_folder)."""
    from .dag_sync import list_folder  # imported here: this module is also read where Pulumi is not installed

    return list_folder(DAGS_DIR).files


def plugin_files() -> list[Path]:
    return sorted(p for p in PLUGINS_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if PLUGINS_DIR.is_dir() else []
