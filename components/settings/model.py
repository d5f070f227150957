"""The typed settings the program reads, with their defaults."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Mapping

from .allowed import DEFAULT_AIRFLOW_VERSION, DEFAULT_EKS_KUBERNETES_VERSION, DEFAULT_LOG_RETENTION_DAYS


@dataclass(frozen=True)
class NetworkSettings:
    vpc_cidr: str = "10.20.0.0/16"
    nat_gateways: str = "single"  # "single" is cheap for dev; "perAz" survives the loss of one AZ


@dataclass(frozen=True)
class MwaaSettings:
    environment_class: str = "mw1.small"
    min_workers: int = 1
    max_workers: int = 10
    schedulers: int = 2
    min_webservers: int = 2
    max_webservers: int = 2
    webserver_access_mode: str = "PRIVATE_ONLY"
    weekly_maintenance_window_start: str = "SUN:03:00"
    airflow_configuration_options: Mapping[str, str] = field(default_factory=dict)
    allow_expose_config: bool = False  # accept api.expose_config: the UI then shows the whole configuration
    log_level: str = "INFO"


@dataclass(frozen=True)
class NodeGroupSettings:
    name: str
    instance_types: tuple[str, ...] = ("m6i.large",)
    capacity_type: str = "ON_DEMAND"
    min_size: int = 2
    # 3 m6i.large hold what the default pods run idle (capacity.idle_problems): 2050m always-on + a 1700m worker pod
    desired_size: int = 3
    max_size: int = 4
    disk_size_gb: int = 50


@dataclass(frozen=True)
class CacheSettings:
    engine: str = "valkey"
    node_type: str = "cache.t4g.micro"
    nodes: int = 1


@dataclass(frozen=True)
class DatabaseSettings:
    instance_class: str = "db.t4g.small"
    allocated_storage_gb: int = 20
    max_allocated_storage_gb: int = 100
    engine_version: str = "17"
    multi_az: bool = False
    backup_retention_days: int = 7


@dataclass(frozen=True)
class PodResources:
    """A pod's requests: CPU in millicores, memory in MiB (the chart values and the cost comparison use these)."""

    cpu_millis: int
    memory_mib: int

    def __add__(self, other: "PodResources") -> "PodResources":
        return PodResources(self.cpu_millis + other.cpu_millis, self.memory_mib + other.memory_mib)

    def text(self) -> str:
        return f"{self.cpu_millis}m CPU / {self.memory_mib} MiB"


@dataclass(frozen=True)
class WorkerSettings:
    min_replicas: int = 1
    max_replicas: int = 10
    # Celery slots per worker pod (the chart's worker_concurrency). 8 tasks of the default size make a 1.7 vCPU pod,
    # which fits on a 2-vCPU node (t3.large, m6i.large); 16 would not fit on any 2-vCPU node.
    concurrency: int = 8
    # One running task: 0.2 vCPU / 400 MiB, an MWAA mw1.small worker (1 vCPU, 2 GB) over its 5 default tasks,
    # so a task gets the same room on both targets.
    task_cpu_millis: int = 200
    task_memory_mib: int = 400
    # The Celery worker process itself (and its log-serving sidecar), besides its tasks.
    pod_cpu_millis: int = 100
    pod_memory_mib: int = 512
    node_group: str | None = None  # None: the group with the largest maxSize (see worker_node_group)

    @property
    def request(self) -> PodResources:
        """What one worker pod requests: its own overhead plus `concurrency` tasks."""
        return PodResources(self.pod_cpu_millis + self.concurrency * self.task_cpu_millis,
                            self.pod_memory_mib + self.concurrency * self.task_memory_mib)


@dataclass(frozen=True)
class ResourceSettings:
    """Requests of the other pods, and what each node keeps from pods. The defaults are estimates for a small
    deployment, not measurements: set your own from `kubectl top pods` once it runs. nodeReserved estimates the EKS
    AMI's kubelet/system reservation and eviction threshold plus the aws-node, kube-proxy and S3 CSI DaemonSets."""

    scheduler: PodResources = PodResources(500, 1024)
    dag_processor: PodResources = PodResources(250, 1024)
    triggerer: PodResources = PodResources(250, 512)
    api_server: PodResources = PodResources(250, 1024)  # the webserver on Airflow 2
    pgbouncer: PodResources = PodResources(100, 128)
    pgbouncer_exporter: PodResources = PodResources(50, 64)
    # The CloudWatch agent's pod on every node (a DaemonSet receiving Airflow's StatsD metrics, components/alarms/agent.py):
    # StatsD only, so less than the add-on chart's 250m default, which sizes it for Container Insights.
    statsd: PodResources = PodResources(100, 128)
    redis: PodResources = PodResources(100, 256)  # broker: in-cluster only
    # The chart's log groomer sidecar (a shell loop deleting old local log files) beside the scheduler, DAG processor,
    # triggerer (and Celery worker when the chart adds one there), and the chart's two Jobs (db migrate, users create).
    # Set so every container has limits; not in the idle sizing (capacity.py) nor the comparison: 3 x 10m / 32 MiB.
    # The rendered pods' fit on their nodes counts them (tools/chart/fit.py).
    log_groomer: PodResources = PodResources(10, 32)
    jobs: PodResources = PodResources(250, 1024)
    # The scheduler pod's sidecar sending the oldest queued task's age (components/alarms/queued_age.py): Python with
    # SQLAlchemy and psycopg2 imported peaks at 43 MiB RSS (measured with the Airflow 3.3.1 venv, `ru_maxrss`). Counted
    # with the scheduler in the packing and the price (capacity.platform_pods, tools/compare).
    queued_age_exporter: PodResources = PodResources(10, 64)
    # Cluster add-ons outside the Airflow chart: CoreDNS (2 replicas), KEDA operator and metrics server, Cluster
    # Autoscaler, S3 CSI controller.
    system: PodResources = PodResources(600, 1024)
    # Per node: kubelet/system reservation and eviction threshold, and the DaemonSets every node runs.
    node_reserved: PodResources = PodResources(200, 1300)


@dataclass(frozen=True)
class ImageSettings:
    repository: str | None = None  # None: the ECR repository this program creates
    tag: str | None = None  # None: derived from the Airflow version and requirements.txt


@dataclass(frozen=True)
class ReplicaSettings:
    """Replicas of the Airflow components MWAA runs redundantly (its schedulers and web servers). More than one gets a
    PodDisruptionBudget and anti-affinity, so a node drain or loss takes at most one away."""

    scheduler: int = 1
    api_server: int = 1  # the webserver on Airflow 2


@dataclass(frozen=True)
class EksSettings:
    kubernetes_version: str = DEFAULT_EKS_KUBERNETES_VERSION
    node_groups: tuple[NodeGroupSettings, ...] = (NodeGroupSettings(name="airflow"),)
    endpoint_public_access_cidrs: tuple[str, ...] = ()
    allow_open_api_endpoint: bool = False
    broker: str = "elasticache"
    cache: CacheSettings = CacheSettings()
    database: DatabaseSettings = DatabaseSettings()
    workers: WorkerSettings = WorkerSettings()
    image: ImageSettings = ImageSettings()
    resources: ResourceSettings = ResourceSettings()
    replicas: ReplicaSettings = ReplicaSettings()


@dataclass(frozen=True)
class WorkloadSettings:
    """The workload the cost comparison is run for (not used to size resources)."""

    average_concurrent_tasks: float = 5
    peak_concurrent_tasks: float = 20
    peak_hours_per_day: float = 4


@dataclass(frozen=True)
class AlarmSubscription:
    protocol: str  # an SNS protocol (alarm_rules.PROTOCOLS)
    endpoint: str


@dataclass(frozen=True)
class AlarmSettings:
    """Who the alarm topic notifies (components/alarms): none by default, the topic and alarms exist anyway."""

    subscriptions: tuple[AlarmSubscription, ...] = ()


@dataclass(frozen=True)
class UpgradeSettings:
    """`upgrade`: a second side of the target beside the live one, at another Airflow version (blue/green)."""

    airflow_version: str


@dataclass(frozen=True)
class Side:
    """One side of the target: its slot (blue keeps the names the program always used; green gets its own) and the
    Airflow version it runs. `live` is the side in service; the other one is the upgrade being rehearsed."""

    slot: str
    airflow_version: str
    live: bool

    @property
    def is_blue(self) -> bool:
        return self.slot == "blue"

    def logical(self, name: str) -> str:
        """Pulumi name of one of this side's resources: blue's are the ones every stack already has."""
        return name if self.is_blue else f"{name}-{self.slot}"

    def environment_name(self, environment_name: str) -> str:
        return self.logical(environment_name)


@dataclass(frozen=True)
class Settings:
    target: str
    stack: str
    airflow_version: str = DEFAULT_AIRFLOW_VERSION
    environment_name: str = "airflow"
    protect_data: bool = False
    keep_mwaa: bool = False
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    tags: Mapping[str, str] = field(default_factory=dict)
    network: NetworkSettings = NetworkSettings()
    mwaa: MwaaSettings = MwaaSettings()
    eks: EksSettings = EksSettings()
    workload: WorkloadSettings = WorkloadSettings()
    alarms: AlarmSettings = AlarmSettings()
    upgrade: UpgradeSettings | None = None
    live_side: str = "blue"

    @property
    def sides(self) -> tuple[Side, ...]:
        """The live side at airflowVersion, then the upgrade side (the other slot) when `upgrade` is set."""
        live = Side(self.live_side, self.airflow_version, live=True)
        if self.upgrade is None:
            return (live,)
        other = "green" if self.live_side == "blue" else "blue"
        return live, Side(other, self.upgrade.airflow_version, live=False)

    @property
    def deploys_mwaa(self) -> bool:
        # keepMwaa lets both environments run side by side during a move to EKS.
        return self.target == "mwaa" or self.keep_mwaa

    @property
    def deploys_eks(self) -> bool:
        return self.target == "eks"


def default_environment_name(stack: str) -> str:
    """airflow-<stack>, made valid: stack names may hold capitals, '.', '_' and be long; AWS names may not.

    When the stack name had to be changed, a short hash of the original keeps two stacks (team.dev and team_dev,
    or two long names with the same first 24 characters) from sharing one MWAA name and secrets prefix.
    """
    plain = f"airflow-{stack}"
    name = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    if name == plain and len(name) <= 24:
        return name
    suffix = hashlib.sha256(stack.encode()).hexdigest()[:4]
    return f"{name[:19].rstrip('-')}-{suffix}"
