"""Values for the official Apache Airflow Helm chart: the one place they are set.

Follows the chart's production guide:
- `useStandardNaming` and a fixed `fullnameOverride`, so Service and Secret names are known (airflow-pgbouncer...).
- No chart-generated secrets: fernet key, API/webserver secret key, JWT secret (Airflow 3), metadata and
  broker connections and PgBouncer's config are Kubernetes Secrets this program creates, passed by name.
- External data stores (RDS PostgreSQL, ElastiCache), so the chart's own postgresql (and redis, unless
  broker=in-cluster) are off; PgBouncer in front of RDS.
- The DB-migration and create-user jobs run as plain Jobs (`useHelmHooks: false`), not Helm hooks: a Release
  that waits for readiness would deadlock on post-install hooks (pods wait for migrations that only run after
  they are ready), and helm.v4.Chart skips hooks altogether. Pulumi's helm.v3.Release waits for the jobs.
- DAGs come from the shared bucket's dags/ prefix through a Mountpoint for S3 volume (the same files MWAA
  reads); task logs go to the bucket's logs/ prefix; KEDA scales Celery workers on queued tasks.
- Pods secure by default (README "Pod security on EKS", `_set_pod_security`): the chart's NetworkPolicies, seccomp
  RuntimeDefault on every pod, no service-account token where nothing calls the Kubernetes API, limits everywhere.
Every key set here must exist in the pinned chart's values.schema.json: tests/test_chart_values.py checks it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pulumi

from .. import airflow_config as af
from ..alarms import agent
from ..settings import PodResources, ReplicaSettings, ResourceSettings, WorkerSettings
from .irsa import NAMESPACE, service_account_name
from .queued_age_sidecar import queued_age_container

CHART_VERSIONS_FILE = Path(__file__).with_name("chart_versions.json")
# The official chart releases, vendored byte-identical (charts/SOURCE.md): the Release installs these bytes, the
# same ones `make test` renders with a real helm, instead of fetching a tarball from the chart repository.
CHARTS_DIR = Path(__file__).with_name("charts")
_CHART_PATH_PREFIX = f"./{CHARTS_DIR.resolve().relative_to(Path(__file__).resolve().parents[2]).as_posix()}/airflow-"
FULLNAME = "airflow"
AIRFLOW_UID = 50000
PGBOUNCER_PORT = 6543
# Namespace-qualified, as the chart's own metadata Secret writes it: with workers.keda.usePgbouncer the KEDA operator
# (namespace keda) opens the metadata connection itself, and a short Service name doesn't resolve from there.
PGBOUNCER_HOST = f"{FULLNAME}-pgbouncer.{NAMESPACE}"
# Clients reach PgBouncer without TLS (PgBouncer -> RDS is TLS, see pgbouncer_ini), so say so: Go's lib/pq (the
# chart's stats exporter, whose health check is PgBouncer's readiness probe) reads a missing sslmode as `require`.
# The chart's default for its own connection Secrets and data.metadataConnection.sslmode is the same.
PGBOUNCER_CLIENT_SSLMODE = "disable"


# The Release waits (helm --wait, --wait-for-jobs) up to this long for the Jobs to complete and every pod to be ready.
RELEASE_TIMEOUT_SECONDS = 1200
# The migrate and create-user Jobs run without Helm hooks (below), under fixed names, and a Job's pod template is
# immutable: a later upgrade that finds the old Job still there fails to patch its new image into it. The chart's
# documented answer is ttlSecondsAfterFinished (values.yaml, migrateDatabaseJob/createUserJob; default 300): the
# finished Job is deleted, and the next upgrade creates a new one from the new template, which runs the new version's
# `airflow db migrate` that the pods' wait-for-airflow-migrations init containers wait for. Set here, not left to the
# chart's default, and longer than the Release's wait so the Job it waits for can't vanish mid-wait; a version change
# is a pull request, reviewed and merged, so it comes later than that (docs/upgrades.md, "Jobs").
JOB_TTL_SECONDS = RELEASE_TIMEOUT_SECONDS + 300


class SecretNames:
    """Kubernetes Secrets the chart reads by name, and the key each one holds."""

    fernet = "airflow-fernet-key"  # key: fernet-key
    api_secret_key = "airflow-api-secret-key"  # key: api-secret-key (Airflow 3)
    webserver_secret_key = "airflow-webserver-secret-key"  # key: webserver-secret-key (Airflow 2)
    jwt = "airflow-jwt-secret"  # key: jwt-secret (Airflow 3)
    metadata = "airflow-metadata"  # key: connection
    result_backend = "airflow-result-backend"  # key: connection
    broker_url = "airflow-broker-url"  # key: connection
    redis_password = "airflow-redis-password"  # key: password (broker=in-cluster)
    pgbouncer_config = "airflow-pgbouncer-config"  # keys: pgbouncer.ini, users.txt
    pgbouncer_stats = "airflow-pgbouncer-stats"  # key: connection
    admin_password = "airflow-admin-password"  # key: password


# Airflow 2's REST API (/api/v1) takes only the UI's session by default ([api] auth_backends =
# airflow.api.auth.backend.session, config.yml of 2.10), so the migration tool's basic-auth login (docs/migration.md,
# docs/upgrades.md: export from blue) would get 401. FAB provider docs, "API Authentication"
# (https://airflow.apache.org/docs/apache-airflow-providers-fab/1.5.1/auth-manager/api-authentication.html): basic
# auth is the provider's basic_auth backend. The session backend stays for the UI's own calls, under the name Airflow
# 2.10 looks for (configuration.py `_upgrade_auth_backends` appends airflow.api.auth.backend.session, with a warning,
# to a list without it). Airflow 3 has no such option (/api/v2 takes a JWT from /auth/token). A stack's
# airflowConfigurationOptions may still set it.
AIRFLOW2_API_AUTH = {"api.auth_backends": "airflow.providers.fab.auth_manager.api.auth.backend.basic_auth,"
                                          "airflow.api.auth.backend.session"}


def chart_version(airflow_version: str) -> str:
    """The chart release pinned for an Airflow version (components/eks/chart_versions.json)."""
    return json.loads(CHART_VERSIONS_FILE.read_text())["charts"][airflow_version]["chart"]


def chart_path(airflow_version: str) -> str:
    """The vendored chart of that pin, relative to the project root: the Pulumi program and its kubernetes provider run
    there (the provider resolves a local chart from its working directory), and a relative path keeps the Release's
    inputs the same on every checkout."""
    return f"{_CHART_PATH_PREFIX}{chart_version(airflow_version)}"


def is_airflow_chart(chart: str) -> bool:
    """Whether a Helm Release's `chart` input is one of the vendored Airflow charts (how readers of a plan find it)."""
    return chart.startswith(_CHART_PATH_PREFIX)


def airflow_components(airflow_version: str) -> list[str]:
    """Airflow's long-running components on this version (each gets its own service account and role)."""
    ui = "api-server" if af.is_airflow3(airflow_version) else "webserver"
    return ["scheduler", "dag-processor", "triggerer", "worker", ui]


@dataclass
class ChartInputs:
    airflow_version: str
    image_repository: pulumi.Input[str]
    image_tag: str
    bucket_name: pulumi.Input[str]
    role_arns: dict[str, pulumi.Input[str]]
    broker: str  # "elasticache" or "in-cluster"
    workers: WorkerSettings
    dags_claim: str
    airflow_config: dict[str, str] = field(default_factory=dict)  # section.key -> value, shared with MWAA
    resources: ResourceSettings = field(default_factory=ResourceSettings)
    worker_node_group: str | None = None  # the node group label the Celery workers are pinned to
    replicas: ReplicaSettings = field(default_factory=ReplicaSettings)  # scheduler and API server (eks.replicas)
    side_slot: str = "blue"  # the blue/green slot of the release: its StatsD prefix (agent.statsd_prefix)


# A green side starts with every DAG paused: blue keeps running them until the runbook's cut-over (docs/upgrades.md).
PAUSED_AT_CREATION = af.PAUSED_AT_CREATION

RELEASE = "airflow"  # the Helm release name (components/eks/component.py): the chart's `release` pod label
KEDA_NAMESPACE = "keda"  # where components/eks/addons.py installs KEDA, whose operator queries PgBouncer
# The chart's own pod user of its non-Airflow images (values.yaml `pgbouncer.uid`, `statsd.uid`, `redis.uid` of 1.19.0
# and 1.21.0): kept when the pod securityContext is set, since setting it replaces the chart's default.
CHART_POD_UIDS = {"pgbouncer": 65534, "statsd": 65534, "redis": 0}
# The container runtime's default seccomp profile (Kubernetes "Restrict a Container's Syscalls with seccomp").
SECCOMP = {"seccompProfile": {"type": "RuntimeDefault"}}


def _service_account(component: str, role_arn: pulumi.Input[str] | None) -> dict[str, Any]:
    """A named account; IRSA through the role-arn annotation. No API token: no Airflow component calls the Kubernetes
    API with CeleryExecutor, and IRSA does not need it (the EKS pod identity webhook adds its own projected token
    volume to pods whose account carries the annotation: github.com/aws/amazon-eks-pod-identity-webhook README)."""
    annotations = {"eks.amazonaws.com/role-arn": role_arn} if role_arn is not None else {}
    return {"create": True, "name": service_account_name(component), "annotations": annotations,
            "automountServiceAccountToken": False}


def _admin_user_args() -> list[str]:
    # The password comes from a Secret through the environment: never in the chart values or the Release.
    return ["bash", "-c",
            'exec airflow users create --role Admin --username admin --email admin@example.invalid '
            '--firstname Airflow --lastname Admin --password "${AIRFLOW_ADMIN_PASSWORD}"']


def task_environment() -> list[dict[str, str]]:
    """What airflow/startup.sh exports on MWAA, for every Airflow container on EKS (tests keep them equal)."""
    exported = dict(re.findall(r"^export (\w+)=(\S+)$", af.STARTUP_SCRIPT.read_text(), flags=re.MULTILINE))
    return [{"name": name, "value": "eks" if name == "DEPLOYMENT_TARGET" else value} for name, value in sorted(exported.items())]


def _celery_workers(inputs: ChartInputs) -> dict[str, Any]:
    """Celery worker values under the keys the pinned chart reads (workers.celery.keda exists from 1.20.0, #61820)."""
    # namespaceLabels: the chart's PgBouncer policy then admits KEDA's operator from its own namespace (without them the
    # rule matches `app: keda-operator` pods in Airflow's namespace only, and KEDA's query would be dropped).
    keda = {"enabled": True, "minReplicaCount": inputs.workers.min_replicas,
            "maxReplicaCount": inputs.workers.max_replicas, "usePgbouncer": True,
            "namespaceLabels": {"kubernetes.io/metadata.name": KEDA_NAMESPACE}}
    persistence = {"enabled": False}
    # workers.serviceAccount on every chart: 1.21.0 ignores workers.celery.serviceAccount in its RBAC bindings and
    # service-account helper (apache/airflow#67261, fixed after 1.21.0), so the IRSA role would not reach workers.
    account = _service_account("worker", inputs.role_arns.get("worker"))
    if not uses_celery_section(inputs.airflow_version):
        return {"persistence": persistence, "serviceAccount": account, "keda": keda}
    return {"serviceAccount": account, "celery": {"persistence": persistence, "keda": keda}}


def worker_keda(values: dict[str, Any]) -> dict[str, Any]:
    """The Celery workers' KEDA settings in chart values, under either key (readers of a plan use this)."""
    workers = values.get("workers") or {}
    return (workers.get("celery") or {}).get("keda") or workers.get("keda") or {}


def airflow_values(inputs: ChartInputs) -> dict[str, Any]:
    v3 = af.is_airflow3(inputs.airflow_version)
    roles = inputs.role_arns
    config = af.nested_config({
        **af.mwaa_image_defaults(inputs.airflow_version),  # before the stack's options, which override them as on MWAA
        **({} if v3 else AIRFLOW2_API_AUTH),
        **inputs.airflow_config,
        # StatsD to the CloudWatch agent's Service (components/alarms/agent.py), not the chart's Prometheus exporter.
        "metrics.statsd_on": "True",
        "metrics.statsd_host": agent.statsd_host(),
        "metrics.statsd_port": str(agent.STATSD_PORT),
        "metrics.statsd_prefix": agent.statsd_prefix(inputs.side_slot),
        "logging.remote_logging": "True",
        "logging.remote_base_log_folder": pulumi.Output.concat("s3://", inputs.bucket_name, f"/{af.LOGS_PREFIX}"),
        "logging.remote_log_conn_id": "aws_default",
        "celery.worker_concurrency": str(inputs.workers.concurrency),
    })
    values: dict[str, Any] = {
        "useStandardNaming": True,
        "fullnameOverride": FULLNAME,
        "executor": "CeleryExecutor",
        # Replaces the chart's own (a UI alert about a default secret key, which this program never uses).
        "airflowLocalSettings": af.LOCAL_SETTINGS.read_text(),
        "airflowVersion": inputs.airflow_version,
        "defaultAirflowTag": inputs.airflow_version,
        "images": {"airflow": {"repository": inputs.image_repository, "tag": inputs.image_tag, "pullPolicy": "IfNotPresent"}},
        "uid": AIRFLOW_UID,
        "env": task_environment(),
        "fernetKeySecretName": SecretNames.fernet,
        "data": {
            "metadataSecretName": SecretNames.metadata,
            "resultBackendSecretName": SecretNames.result_backend,
            "brokerUrlSecretName": SecretNames.broker_url,
        },
        "postgresql": {"enabled": False},
        "statsd": {"enabled": False},
        "redis": ({"enabled": True, "passwordSecretName": SecretNames.redis_password}
                  if inputs.broker == "in-cluster" else {"enabled": False}),
        "pgbouncer": {
            "enabled": True,
            "configSecretName": SecretNames.pgbouncer_config,
            "metricsExporterSidecar": {"statsSecretName": SecretNames.pgbouncer_stats, "sslmode": PGBOUNCER_CLIENT_SSLMODE},
        },
        "config": config,
        "dags": {
            "persistence": {"enabled": True, "existingClaim": inputs.dags_claim},
            "gitSync": {"enabled": False},
        },
        "logs": {"persistence": {"enabled": False}},
        # No automountServiceAccountToken here: the chart writes it for the scheduler only with a pod-launching
        # executor, so with Celery the scheduler keeps its token (a documented checkov skip).
        "scheduler": {"serviceAccount": {k: v for k, v in _service_account("scheduler", roles.get("scheduler")).items()
                                         if k != "automountServiceAccountToken"},
                      # The oldest queued task's age for broker-oldest-task (components/alarms/queued_age.py).
                      "extraContainers": [queued_age_container(inputs.side_slot,
                                                               k8s_resources(inputs.resources.queued_age_exporter))]},
        "dagProcessor": {"enabled": True, "serviceAccount": _service_account("dag-processor", roles.get("dag-processor"))},
        "triggerer": {"persistence": {"enabled": False},
                      "serviceAccount": _service_account("triggerer", roles.get("triggerer"))},
        "workers": _celery_workers(inputs),
        "migrateDatabaseJob": {"useHelmHooks": False, "applyCustomEnv": False, "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
                               "serviceAccount": _service_account("migrate-database-job", None)},
        "createUserJob": {
            "useHelmHooks": False,
            "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
            "applyCustomEnv": False,
            "serviceAccount": _service_account("create-user-job", None),
            "args": _admin_user_args(),
            "env": [{"name": "AIRFLOW_ADMIN_PASSWORD",
                     "valueFrom": {"secretKeyRef": {"name": SecretNames.admin_password, "key": "password"}}}],
        },
    }
    if v3:
        values["apiSecretKeySecretName"] = SecretNames.api_secret_key
        values["jwtSecretName"] = SecretNames.jwt
        values["apiServer"] = {"serviceAccount": _service_account("api-server", roles.get("api-server"))}
    else:
        values["webserverSecretKeySecretName"] = SecretNames.webserver_secret_key
        values["webserver"] = {"serviceAccount": _service_account("webserver", roles.get("webserver"))}
    _set_resources(values, inputs)
    _set_redundancy(values, inputs)
    _set_pod_security(values, inputs)
    return values


def _set_pod_security(values: dict[str, Any], inputs: ChartInputs) -> None:
    """NetworkPolicies, seccomp and service-account tokens (README "Pod security on EKS"); what stays open is a
    documented checkov skip (tools/chart/checkov_skips.yaml)."""
    values["networkPolicies"] = {"enabled": True}
    # The chart's API server / webserver policy admits nobody until peers are set: every pod of the release reaches it
    # (the Airflow 3 execution API is called by workers, triggerer and dag processor), on the chart's default port.
    ui = "apiServer" if af.is_airflow3(inputs.airflow_version) else "webserver"
    values[ui]["networkPolicy"] = {"ingress": {"from": [{"podSelector": {"matchLabels": {"tier": "airflow",
                                                                                         "release": RELEASE}}}]}}
    # Airflow's pods (components and Jobs) take the top-level pod context; it replaces the chart's runAsUser/fsGroup
    # default, so both are set again (uid, gid 0 as the official image expects).
    values["securityContexts"] = {"pod": {"runAsUser": AIRFLOW_UID, "fsGroup": 0, **SECCOMP}}
    for key, uid in CHART_POD_UIDS.items():
        if key == "redis" and not values["redis"].get("enabled"):
            continue
        section = values.setdefault(key, {})
        section["securityContexts"] = {"pod": {"runAsUser": uid, **SECCOMP}}
        section["serviceAccount"] = {"automountServiceAccountToken": False}


def _set_redundancy(values: dict[str, Any], inputs: ChartInputs) -> None:
    """Replicas of the components MWAA runs redundantly (eks.replicas). More than one gets a PodDisruptionBudget (a
    drain takes at most one away) and an anti-affinity on the node's hostname so the replicas land on different nodes.
    Preferred, not required: a required rule would leave a rolling update's extra pod Pending on a two-node group until
    the autoscaler adds a node. The label selectors are the chart's pod labels (component, release)."""
    ui, component = ("apiServer", "api-server") if af.is_airflow3(inputs.airflow_version) else ("webserver", "webserver")
    for key, label, count in (("scheduler", "scheduler", inputs.replicas.scheduler),
                              (ui, component, inputs.replicas.api_server)):
        section = values.setdefault(key, {})
        section["replicas"] = count
        if count > 1:
            section["podDisruptionBudget"] = {"enabled": True, "config": {"maxUnavailable": 1}}
            section["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 100,
                "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                    "labelSelector": {"matchLabels": {"component": label, "release": RELEASE}}}}]}}


def uses_celery_section(airflow_version: str) -> bool:
    """Chart 1.21.0 moved the Celery worker keys under workers.celery (the old ones are deprecated); 1.19.0 lacks it."""
    return tuple(int(p) for p in chart_version(airflow_version).split(".")) >= (1, 21, 0)


def k8s_resources(pod: PodResources) -> dict[str, dict[str, str]]:
    """Requests as settings give them. Memory limit = request: a pod over its share is OOM-killed alone instead of
    starving its node. CPU limit = 2 × request: room to burst (CPU is throttled, never fatal)."""
    cpu, memory = f"{pod.cpu_millis}m", f"{pod.memory_mib}Mi"
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": f"{2 * pod.cpu_millis}m", "memory": memory}}


def _set_resources(values: dict[str, Any], inputs: ChartInputs) -> None:
    """Requests and limits of every pod from settings (eks.workers, eks.resources): the same figures the settings
    check fits onto nodes and tools/compare packs onto nodes. Workers run on their own node group only."""
    r = inputs.resources
    workers = values["workers"]
    celery = workers.setdefault("celery", {}) if uses_celery_section(inputs.airflow_version) else workers
    celery["resources"] = k8s_resources(inputs.workers.request)
    if inputs.worker_node_group:
        celery["nodeSelector"] = {"airflow/node-group": inputs.worker_node_group}
    ui = "apiServer" if af.is_airflow3(inputs.airflow_version) else "webserver"
    for key, pod in (("scheduler", r.scheduler), ("dagProcessor", r.dag_processor), ("triggerer", r.triggerer),
                     (ui, r.api_server), ("pgbouncer", r.pgbouncer)):
        values.setdefault(key, {})["resources"] = k8s_resources(pod)
    values["pgbouncer"]["metricsExporterSidecar"]["resources"] = k8s_resources(r.pgbouncer_exporter)
    # The log groomer sidecars (a shell loop deleting old local logs) and the two Jobs get limits too.
    for key in ("scheduler", "dagProcessor", "triggerer"):
        values[key]["logGroomerSidecar"] = {"resources": k8s_resources(r.log_groomer)}
    celery["logGroomerSidecar"] = {"resources": k8s_resources(r.log_groomer)}
    for key in ("migrateDatabaseJob", "createUserJob"):
        values[key]["resources"] = k8s_resources(r.jobs)
    if values["redis"].get("enabled"):
        values["redis"]["resources"] = k8s_resources(r.redis)


def pgbouncer_ini(db_host: str, db_port: int, database: str) -> str:
    """PgBouncer config for an external database; the chart can't generate it when connections come from Secrets."""
    return "\n".join([
        "[databases]",
        f"{FULLNAME}-metadata = host={db_host} port={db_port} dbname={database}",
        f"{FULLNAME}-result-backend = host={db_host} port={db_port} dbname={database}",
        "",
        "[pgbouncer]",
        "pool_mode = transaction",
        f"listen_port = {PGBOUNCER_PORT}",
        "listen_addr = *",
        "auth_type = scram-sha-256",
        "auth_file = /etc/pgbouncer/users.txt",
        "stats_users = airflow",
        "ignore_startup_parameters = extra_float_digits",
        "max_client_conn = 200",
        "verbose = 0",
        "log_disconnections = 0",
        "log_connections = 0",
        # PgBouncer -> RDS is TLS: RDS PostgreSQL enforces it (rds.force_ssl is on by default from 15).
        "server_tls_sslmode = require",
        "server_tls_ciphers = normal",
        "",
    ])


# The connection strings Airflow, KEDA and the stats exporter use, in the forms of the chart's own Secrets
# (secrets/metadata-connection-secret.yaml, result-backend-connection-secret.yaml, pgbouncer-stats-secret.yaml).
# Pure functions of their arguments, so other tools (a local twin of the deployment) build the same strings.


def pgbouncer_url(user: str, password: str, database: str, scheme: str = "postgresql", host: str = PGBOUNCER_HOST) -> str:
    """A connection to one of PgBouncer's databases; user and password URL-quoted, as the chart does."""
    return (f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{PGBOUNCER_PORT}/{database}"
            f"?sslmode={PGBOUNCER_CLIENT_SSLMODE}")


def pgbouncer_host(namespace: str = NAMESPACE) -> str:
    return f"{FULLNAME}-pgbouncer.{namespace}"


def metadata_url(user: str, password: str, namespace: str = NAMESPACE) -> str:
    return pgbouncer_url(user, password, f"{FULLNAME}-metadata", host=pgbouncer_host(namespace))


def result_backend_url(user: str, password: str, namespace: str = NAMESPACE) -> str:
    return pgbouncer_url(user, password, f"{FULLNAME}-result-backend", scheme="db+postgresql",
                         host=pgbouncer_host(namespace))


def pgbouncer_stats_url(user: str, password: str) -> str:
    """The exporter sidecar runs in PgBouncer's pod and reads its admin console (database `pgbouncer`)."""
    return pgbouncer_url(user, password, "pgbouncer", host="127.0.0.1")


def pgbouncer_users(user: str, password: str) -> str:
    """PgBouncer's auth_file: one quoted user and password per line."""
    return f'"{user}" "{password}"\n'
