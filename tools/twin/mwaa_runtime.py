"""How Amazon MWAA's own images start Airflow, as data: the rules the MWAA twin follows.

Read from aws/amazon-mwaa-docker-images at commit 9d2bebb5c7858e27a1c6afb20b7827840217e3a0, folder
images/airflow/3.3.1 (all its files last changed in 0028196ecde7, "Add Airflow 3.3.1 image"); written here in
this project's words, no code copied:
- python/mwaa/entrypoint.py `main()`: per container, the startup script, then the requirements install, then the
  component's processes; the database migration runs neither.
- python/mwaa/config/setup_environment.py: the environment is merged in layers (later wins): the container's
  environment, MWAA's opinionated settings, the startup script's exported environment, the customer's configuration
  options, protected variables from the container, MWAA's essential settings. So a `startup.sh` export of a
  protected, essential or configured name is silently dropped on MWAA.
- python/mwaa/execute_command.py: the container commands and the Airflow processes each runs.
- python/mwaa/config/celery.py, sqs.py, airflow.py: Celery on SQS with predefined queues, visibility timeout
  43200 s, the queue as `[operators] default_queue`; tasks in a new interpreter (an opinionated default).
- python/mwaa/config/airflow.py (metrics): with MWAA__CLOUDWATCH_METRICS_INTEGRATION__ENABLED=true (the CloudWatch
  metrics integration, on for every environment) `[metrics]` is reset and StatsD goes to MWAA's agent on
  localhost:8125 with the prefix `airflow`, no allow or block list (/work/notes/mwaa-images.md, section 7).
- python/mwaa/utils/user_requirements.py: a failed `pip install -r requirements.txt` is logged and the container
  starts anyway.

A stack at Airflow 2 follows folder images/airflow/2.10.3 of the same commit (its config/airflow.py, execute_command.py,
config/celery.py and config/setup_environment.py last changed in 785edccd5f6b); what differs is in IMAGES["2.10.3"]:
- execute_command.py: the scheduler container runs the same three processes (scheduler, standalone dag-processor,
  triggerer); the webserver container runs `airflow webserver` (Flask/gunicorn, /api/v1) instead of the api-server.
- config/airflow.py: no [api_auth], [execution_api], [triggerer] or multi-team settings; the webserver's
  (config file, COOKIE_SECURE=true, its secret key); the SQS visibility timeout as
  AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT and the predefined queue through `[celery]
  celery_config_options` (mwaa.config.celery.MWAA_CELERY_CONFIG: Airflow's default Celery config plus the
  queue, no "default" entry); colored console logs not forced off. `[api] auth_backends` is left at Airflow's default
  (session) unless MWAA__CORE__AUTH_TYPE=none; the IAM login is MWAA's sidecar plugin (the twin's stand-in: airflow_procs).
- config/setup_environment.py: the protected list lacks AIRFLOW__API__BASE_URL and AIRFLOW__CORE__DATABASE_ACCESS_ISOLATION.
A stack's Airflow follows the image read for its major (IMAGES_BY_MAJOR): 3.x the 3.3.1 image, 2.x the 2.10.3 one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from components.airflow_config import is_airflow3

from .errors import TwinError

# The container commands and the Airflow processes each one runs (execute_command.py); migrate-db runs apart.
SCHEDULER = {"scheduler": ["scheduler"], "dag-processor": ["dag-processor"], "triggerer": ["triggerer"]}
WORKER = {"worker": ["celery", "worker"]}
# Names a startup script cannot change: `_is_protected_os_environ` (any MWAA__* too).
PROTECTED_2 = frozenset({
    "AIRFLOW_ENV_ID", "AIRFLOW_ENV_NAME", "AIRFLOW_HOME", "AIRFLOW_TASK_REVISION_ID", "AIRFLOW_VERSION",
    "AIRFLOW__AWS_MWAA__REDIRECT_URL", "JWT_PUBLIC_KEY", "AIRFLOW__WEBSERVER__BASE_URL",
    "AWS_DEFAULT_REGION", "AWS_REGION", "CUSTOMER_ACCOUNT_ID", "ECS_AGENT_URI", "ECS_CONTAINER_METADATA_URI",
    "ECS_CONTAINER_METADATA_URI_V4", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_EXECUTION_ENV", "PYTHONPATH",
    "PYTHONUNBUFFERED", "WATCHTOWER_VERSION", "USE_NON_CRITICAL_LOGGING",
})
PROTECTED = PROTECTED_2 | {"AIRFLOW__API__BASE_URL", "AIRFLOW__CORE__DATABASE_ACCESS_ISOLATION"}
# Defaults MWAA sets and a startup script or an option may change (config/airflow.py, config/environ.py; both images).
OPINIONATED = {
    "AIRFLOW__CORE__EXECUTE_TASKS_NEW_PYTHON_INTERPRETER": "True",
    "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": "proxy,proxies",
    "AIRFLOW__SCHEDULER__SCHEDULE_AFTER_TASK_EXECUTION": "False",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "1800.0",
    "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
    "AIRFLOW_CONN_AWS_DEFAULT": "aws://",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}
# MWAA's essential metrics settings (CloudWatch metrics integration on): its agent listens on localhost:8125.
STATSD_HOST, STATSD_PORT = "localhost", 8125
STATSD = {
    "AIRFLOW__METRICS__STATSD_ON": "True",
    "AIRFLOW__METRICS__STATSD_HOST": STATSD_HOST,
    "AIRFLOW__METRICS__STATSD_PORT": str(STATSD_PORT),
    "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
    "AIRFLOW__METRICS__METRICS_ALLOW_LIST": "",
    "AIRFLOW__METRICS__METRICS_BLOCK_LIST": "",
}
SQS_VISIBILITY_TIMEOUT = 43200
STARTUP_SCRIPT_TIMEOUT = 5 * 60 - 5  # seconds
REQUIREMENTS_TIMEOUT = 9 * 60
# What stands in for 2.10.3's mwaa.config.celery module (MWAA's own needs its vendored SQS transport): tools/twin/mwaa_site.
TWIN_CELERY_CONFIG = "twin_mwaa_celery.MWAA_CELERY_CONFIG"


@dataclass(frozen=True)
class Image:
    """One folder images/airflow/<version> of MWAA's images, as the twin follows it."""

    version: str
    containers: dict[str, dict[str, list[str]]]  # container command -> its Airflow processes -> their arguments
    protected: frozenset[str]
    essential: dict[str, str]  # essential settings besides Celery on SQS, metrics and the per-command names

    def celery(self, queue_url: str, region: str, use_ssl: bool) -> dict[str, str]:
        """Celery on SQS: the predefined queue, its visibility timeout, the default queue."""
        queue = queue_url.rstrip("/").rsplit("/", 1)[-1]
        common = {"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "AIRFLOW__CELERY__WORKER_ENABLE_REMOTE_CONTROL": "False",
                  "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue}
        if not is_airflow3(self.version):
            # 2.x: a config module reads the queue URL, region and TLS from MWAA__SQS__* and AWS_REGION.
            return {**common, "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": TWIN_CELERY_CONFIG,
                    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": str(SQS_VISIBILITY_TIMEOUT)}
        transport = {"broker_transport_options": {
            "predefined_queues": {queue: {"url": queue_url}, "default": {"url": queue_url}},
            "is_secure": use_ssl, "region": region, "visibility_timeout": SQS_VISIBILITY_TIMEOUT}}
        # From 3.2 Airflow reads broker_transport_options as a string; MWAA passes them through extra_celery_config.
        return {**common, "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": json.dumps(transport)}


IMAGES = {
    "3.3.1": Image("3.3.1", {"scheduler": SCHEDULER, "worker": WORKER, "webserver": {"api-server": ["api-server"]}},
                   PROTECTED, {
                       "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__CORE__MULTI_TEAM": "False",
                       "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
                       "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
                       "AIRFLOW__TRIGGERER__QUEUES_ENABLED": "False",
                       "AIRFLOW__API_AUTH__JWT_ALGORITHM": "HS256",
                       "AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME": "86400",
                   }),
    "2.10.3": Image("2.10.3", {"scheduler": SCHEDULER, "worker": WORKER, "webserver": {"webserver": ["webserver"]}},
                    PROTECTED_2, {
                        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
                        "AIRFLOW__WEBSERVER__COOKIE_SECURE": "true",
                    }),
}
IMAGES_BY_MAJOR = {"3": IMAGES["3.3.1"], "2": IMAGES["2.10.3"]}


def image_for(airflow_version: str) -> Image:
    """The MWAA image whose rules a stack at `airflow_version` follows (the one read for its major)."""
    image = IMAGES_BY_MAJOR.get(airflow_version.split(".", 1)[0])
    if image is None:
        raise TwinError(f"airflowVersion: {airflow_version} is not Airflow 2 or 3; the MWAA twin follows MWAA's "
                        f"images {', '.join(IMAGES)}")
    return image


def is_protected(name: str, image: Image) -> bool:
    return name.startswith("MWAA__") or name in image.protected


def essential(command: str, airflow_version: str, queue_url: str, region: str, use_ssl: bool) -> dict[str, str]:
    """MWAA's essential settings for a container command (always win), Celery on SQS included."""
    image = image_for(airflow_version)
    return {
        **image.essential,
        **image.celery(queue_url, region, use_ssl),
        "AWS_EXECUTION_ENV": f"Amazon_MWAA_{airflow_version.replace('.', '')}",
        "MWAA_AIRFLOW_COMPONENT": command,
        "MWAA_COMMAND": command,
        **STATSD,
    }


def merge(container: dict[str, str], startup: dict[str, str], options: dict[str, str],
          essentials: dict[str, str], image: Image) -> tuple[dict[str, str], dict[str, str]]:
    """The environment MWAA gives a container's processes, and each startup.sh export it drops -> why."""
    protected = {k: v for k, v in container.items() if is_protected(k, image)}
    merged = {**container, **OPINIONATED, **startup, **options, **protected, **essentials}
    exported = {k: v for k, v in startup.items() if container.get(k) != v}  # what the script set or changed
    dropped = {}
    for name, value in exported.items():
        if merged.get(name) == value:
            continue
        dropped[name] = ("MWAA's essential setting" if name in essentials else
                         "a protected variable" if name in protected else
                         "an airflowConfigurationOptions entry" if name in options else "overridden")
    return merged, dropped
