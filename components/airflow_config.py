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
PLUGINS_DIR = AIRFLOW_DIR / "plugins"
DAGS_DIR = ROOT / "dags"

SECRETS_BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
# The bucket prefixes Airflow uses on both targets.
DAGS_PREFIX = "dags"
LOGS_PREFIX = "logs"
DATA_PREFIX = "data"


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
# to S3 and Celery slots per worker (the chart's KEDA query divides by the same figure). A stack may not set them.
PROGRAM_OPTIONS = ("secrets.backend", "secrets.backend_kwargs", "logging.remote_logging", "logging.remote_base_log_folder",
                   "logging.remote_log_conn_id", "celery.worker_concurrency")


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
