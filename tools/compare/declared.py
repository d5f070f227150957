"""What a plan declares, read from the planned resources' inputs (not from config): the quantities to price.

Resources are split by their URN type chain into the shared platform (airflow:platform:SharedPlatform) and the
target components (airflow:mwaa:MwaaAirflow, airflow:eks:EksAirflow); anything else is 'other'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from components.eks.chart_values import worker_keda
from components.settings import PodResources
from tools.planner import Plan, PlannedResource, resource_counts

from .prices import CompareError

SHARED = "airflow:platform:SharedPlatform"
TARGET_COMPONENTS = {"mwaa": "airflow:mwaa:MwaaAirflow", "eks": "airflow:eks:EksAirflow"}
PROJECT_PREFIX = "airflow-on-aws:"

T_NAT = "aws:ec2/natGateway:NatGateway"
T_EIP = "aws:ec2/eip:Eip"
T_VPCE = "aws:ec2/vpcEndpoint:VpcEndpoint"
T_KMS = "aws:kms/key:Key"
T_SECRET = "aws:secretsmanager/secret:Secret"
T_BUCKET = "aws:s3/bucket:Bucket"
T_MWAA = "aws:mwaa/environment:Environment"
T_EKS_CLUSTER = ("eks:index:Cluster", "aws:eks/cluster:Cluster")
T_NODE_GROUP = ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")
T_CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
T_RDS = "aws:rds/instance:Instance"
T_ECR = "aws:ecr/repository:Repository"
T_LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
T_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
T_LB = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer")
T_K8S_SERVICE = "kubernetes:core/v1:Service"
T_HELM = "kubernetes:helm.sh/v3:Release"
T_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def split(plan: Plan) -> dict[str, list[PlannedResource]]:
    """Resources by scope: inside the shared platform (or the component itself), inside a target component, or
    other. Shared wins when a resource sits inside both."""
    def inside(component_type: str) -> set[str]:
        return {r.urn for r in plan.under(component_type)} | {r.urn for r in plan.of_type(component_type)}

    shared = inside(SHARED)
    target = set().union(*(inside(component) for component in TARGET_COMPONENTS.values()))
    groups: dict[str, list[PlannedResource]] = {"shared": [], "target": [], "other": []}
    for resource in plan.resources:
        scope = "shared" if resource.urn in shared else "target" if resource.urn in target else "other"
        groups[scope].append(resource)
    return groups


def resource_summary(plan: Plan, target: str) -> dict[str, Any]:
    """Counts per type (and names) for the shared platform and the target-specific part of one plan."""
    summary: dict[str, Any] = {"total": len(plan.resources)}
    for scope, resources in split(plan).items():
        names: dict[str, list[str]] = {}
        for r in resources:
            names.setdefault(r.type, []).append(r.name)
        if resources or scope != "other":
            summary[scope] = {"count": len(resources), "byType": resource_counts(resources),
                              "names": {t: sorted(n) for t, n in sorted(names.items())}}
    return summary


# ---------------------------------------------------------------------------------------------- quantities


@dataclass(frozen=True)
class VpcEndpoint:
    name: str
    kind: str  # "Gateway" or "Interface"
    azs: int


@dataclass(frozen=True)
class Platform:
    """Items both targets can declare (counted per scope)."""

    nat_gateways: int = 0
    public_ips: int = 0
    endpoints: tuple[VpcEndpoint, ...] = ()
    kms_keys: int = 0
    secrets: int = 0
    buckets: int = 0
    load_balancers: int = 0
    log_groups: int = 0


@dataclass(frozen=True)
class MwaaEnvironment:
    name: str
    environment_class: str
    min_workers: int
    max_workers: int
    schedulers: int
    min_webservers: int
    max_webservers: int
    airflow_version: str | None = None


@dataclass(frozen=True)
class NodeGroup:
    name: str
    instance_types: tuple[str, ...]
    capacity_type: str
    min_size: int
    desired_size: int
    max_size: int
    disk_gb: int
    disk_type: str = "gp3"
    disk_from: str = "diskSize"  # where the size came from: "launchTemplate", "diskSize" or "EKS default"

    @property
    def instance_type(self) -> str:
        """The instance type priced and sized: the first declared (the program always declares them)."""
        if not self.instance_types:
            raise CompareError(f"node group {self.name} declares no instanceTypes: nothing to price its nodes with")
        return self.instance_types[0]


@dataclass(frozen=True)
class CacheGroup:
    name: str
    engine: str
    node_type: str
    nodes: int


@dataclass(frozen=True)
class Database:
    name: str
    engine: str
    instance_class: str
    storage_gb: int
    multi_az: bool


@dataclass(frozen=True)
class CeleryWorkers:
    concurrency: int
    min_replicas: int
    max_replicas: int
    pod: PodResources  # what one worker pod requests (chart values)
    node_group: str | None  # the node group its nodeSelector pins it to (None: any)


@dataclass(frozen=True)
class Alarm:
    """A MetricAlarm as CloudWatch bills it: per metric it reads, at its resolution."""

    name: str
    metrics: int  # metrics read (a metric-math alarm: each query's metric)
    period: int  # seconds: under 60 is a high-resolution alarm
    math: bool


def alarm_of(resource: PlannedResource) -> Alarm:
    queries = [q for q in resource.inputs.get("metricQueries") or [] if "metric" in q]
    if queries:
        return Alarm(resource.inputs.get("name", resource.name), len(queries),
                     min(int(q["metric"]["period"]) for q in queries), True)
    return Alarm(resource.inputs.get("name", resource.name), 1, int(_required(resource, "period")), False)


@dataclass(frozen=True)
class PodSizes:
    """What the EKS plan's pods request, read from the Airflow release's values and the stack config the plan ran
    with (the same settings the program fits onto nodes: components/settings)."""

    platform: dict[str, PodResources]  # always-on chart pods (one replica each) by chart key, with the system add-ons
    node_reserved: PodResources  # what each node keeps from pods


@dataclass(frozen=True)
class Declared:
    """Everything priced for one target, per scope."""

    target: str
    region: str
    platform: dict[str, Platform]  # "shared" / "target"
    mwaa: tuple[MwaaEnvironment, ...] = ()
    eks_clusters: int = 0
    kubernetes_version: str | None = None
    node_groups: tuple[NodeGroup, ...] = ()
    caches: tuple[CacheGroup, ...] = ()
    databases: tuple[Database, ...] = ()
    ecr_repositories: int = 0
    workers: CeleryWorkers | None = None
    pods: PodSizes | None = None
    workload: dict[str, float] = field(default_factory=dict)
    node_autoscaler: bool = False  # a cluster-autoscaler or Karpenter release is declared
    # days each kind of log is kept (None: no retention declared, kept forever): "mwaa" (MWAA's five log groups),
    # "eksControlPlane" (the cluster's log group), "eksTaskLogs" (s3://<bucket>/logs/ lifecycle expiry)
    retention: dict[str, int | None] = field(default_factory=dict)
    replicas: dict[str, int] = field(default_factory=dict)  # EKS: scheduler and apiServer replicas (chart values)
    alarms: tuple[Alarm, ...] = ()
    # EKS: the Airflow releases' distinct StatsD prefixes (one per blue/green side, components/alarms/agent.py): each
    # is its own set of the agent's custom metrics
    statsd_prefixes: int = 0


def _int(value: Any, default: int = 0) -> int:
    return default if value is None else int(value)


def _required(resource: PlannedResource, key: str) -> Any:
    """An input the program always declares and the cost depends on: never replaced by a guess."""
    value = resource.inputs.get(key)
    if value is None:
        raise CompareError(f"{resource.type} {resource.name} declares no {key}: the comparison prices what the plan "
                           "declares and has no default for it")
    return value


def _platform(resources: Iterable[PlannedResource]) -> Platform:
    resources = list(resources)
    of = lambda *types: [r for r in resources if r.type in types]  # noqa: E731
    endpoints = tuple(
        VpcEndpoint(name=r.name, kind=r.inputs.get("vpcEndpointType", "Gateway"), azs=len(r.inputs.get("subnetIds") or []))
        for r in of(T_VPCE))
    services_lb = [r for r in of(T_K8S_SERVICE) if (r.inputs.get("spec") or {}).get("type") == "LoadBalancer"]
    return Platform(nat_gateways=len(of(T_NAT)), public_ips=len(of(T_EIP)), endpoints=endpoints,
                    kms_keys=len(of(T_KMS)), secrets=len(of(T_SECRET)), buckets=len(of(T_BUCKET)),
                    load_balancers=len(of(*T_LB)) + len(services_lb), log_groups=len(of(T_LOG_GROUP)))


def quantity(text: Any, unit: str) -> int:
    """A Kubernetes quantity as millicores ("1700m", "2") or MiB ("3712Mi", "4Gi")."""
    text = str(text)
    factors = {"cpu": {"m": 1, "": 1000}, "memory": {"Mi": 1, "Gi": 1024, "Ki": 1 / 1024, "M": 1e6 / 2**20,
                                                    "G": 1e9 / 2**20, "": 1 / 2**20}}[unit]
    for suffix in sorted(factors, key=len, reverse=True):
        if text.endswith(suffix) and text[:len(text) - len(suffix)].replace(".", "", 1).isdigit():
            return round(float(text[:len(text) - len(suffix)]) * factors[suffix])
    raise CompareError(f"Airflow chart values: {unit} quantity {text!r} is not one the comparison reads")


def _requests(values: dict, path: str) -> PodResources:
    node: Any = values
    for part in path.split("."):
        node = (node or {}).get(part)
    requests = ((node or {}).get("requests")) or {}
    if "cpu" not in requests or "memory" not in requests:
        raise CompareError(f"the Airflow release declares no CPU/memory requests at {path}: the comparison packs pods "
                           "by what the plan declares and has no default for it")
    return PodResources(quantity(requests["cpu"], "cpu"), quantity(requests["memory"], "memory"))


def airflow_release_values(resources: list[PlannedResource]) -> dict:
    for r in resources:
        values = r.inputs.get("values") or {}
        if r.type == T_HELM and values.get("executor") == "CeleryExecutor":
            return values
    raise CompareError("the EKS plan declares no Airflow Helm release (CeleryExecutor): no worker figures to read")


def _workers(values: dict) -> CeleryWorkers:
    concurrency = ((values.get("config") or {}).get("celery") or {}).get("worker_concurrency")
    if concurrency is None:
        raise CompareError("the Airflow release sets no config.celery.worker_concurrency: tasks per worker pod unknown")
    workers = values.get("workers") or {}
    celery = workers.get("celery") or {}
    # chart >= 1.21 reads workers.celery.*, older pins workers.*: whichever the release sets
    section = "workers.celery" if "resources" in celery else "workers"
    keda = worker_keda(values)
    selector = (celery.get("nodeSelector") or workers.get("nodeSelector") or {}).get("airflow/node-group")
    return CeleryWorkers(concurrency=int(concurrency), min_replicas=_int(keda.get("minReplicaCount"), 1),
                         max_replicas=_int(keda.get("maxReplicaCount"), 1), pod=_requests(values, f"{section}.resources"),
                         node_group=selector)


def _pod_sizes(values: dict, plan: Plan) -> PodSizes:
    from components.settings import decode_config_values, parse_settings, per_node

    platform = {}
    ui = "apiServer" if "apiServer" in values else "webserver"
    for key in ("scheduler", "dagProcessor", "triggerer", ui, "pgbouncer"):
        replicas = _int((values.get(key) or {}).get("replicas"), 1)
        pod = _requests(values, f"{key}.resources")
        if key == "pgbouncer":
            pod = pod + _requests(values, "pgbouncer.metricsExporterSidecar.resources")
        for extra in (values.get(key) or {}).get("extraContainers") or []:  # the scheduler's queued-age exporter
            pod = pod + _requests({"extraContainers": extra}, "extraContainers.resources")
        platform[key] = PodResources(pod.cpu_millis * replicas, pod.memory_mib * replicas)
    if (values.get("redis") or {}).get("enabled"):
        platform["redis"] = _requests(values, "redis.resources")
    # Outside the chart: the cluster add-ons and the per-node reservation, as the program's settings give them.
    raw = {k[len(PROJECT_PREFIX):]: v for k, v in plan.config.items() if k.startswith(PROJECT_PREFIX)}
    eks = parse_settings(decode_config_values(raw), plan.stack).eks
    platform["system"] = eks.resources.system
    return PodSizes(platform=platform, node_reserved=per_node(eks))  # the CloudWatch agent's DaemonSet pod included


def workload_of(plan: Plan) -> dict[str, float]:
    """The `workload` section of the stack config (what the comparison is run for), with the program's defaults."""
    from components.settings import WorkloadSettings

    raw = plan.config.get(f"{PROJECT_PREFIX}workload")
    values = json.loads(raw) if isinstance(raw, str) and raw else (raw or {})
    defaults = WorkloadSettings()
    return {
        "averageConcurrentTasks": float(values.get("averageConcurrentTasks", defaults.average_concurrent_tasks)),
        "peakConcurrentTasks": float(values.get("peakConcurrentTasks", defaults.peak_concurrent_tasks)),
        "peakHoursPerDay": float(values.get("peakHoursPerDay", defaults.peak_hours_per_day)),
    }


MWAA_LOG_TYPES = ("DAGProcessing", "Scheduler", "Task", "WebServer", "Worker")  # MWAA's log groups: airflow-<env>-<type>
T_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def retention_of(resources: list[PlannedResource], target: str) -> dict[str, int | None]:
    """How long the plan keeps each kind of log: what the comparison prices as stored (None: kept forever)."""
    groups = [r for r in resources if r.type == T_LOG_GROUP]

    def days(names: list[PlannedResource]) -> int | None:
        values = [r.inputs.get("retentionInDays") for r in names]
        return None if not values or None in values else max(int(v) for v in values)

    out: dict[str, int | None] = {}
    if target == "mwaa" or any(r.type == T_MWAA for r in resources):
        out["mwaa"] = days([r for r in groups if str(r.inputs.get("name", "")).startswith("airflow-")
                            and str(r.inputs.get("name", "")).rsplit("-", 1)[-1] in MWAA_LOG_TYPES])
    if target == "eks":
        out["eksControlPlane"] = days([r for r in groups if str(r.inputs.get("name", "")).startswith("/aws/eks/")])
        expiry = [(rule.get("expiration") or {}).get("days") for r in resources if r.type == T_LIFECYCLE
                  for rule in r.inputs.get("rules") or []
                  if (rule.get("filter") or {}).get("prefix") == "logs/" and rule.get("status", "Enabled") == "Enabled"]
        out["eksTaskLogs"] = int(expiry[0]) if expiry and expiry[0] is not None else None
    return out


def declared(plan: Plan, target: str) -> Declared:
    groups = split(plan)
    everything = plan.resources
    of = lambda *types: [r for r in everything if r.type in types]  # noqa: E731

    mwaa = tuple(MwaaEnvironment(
        name=r.inputs.get("name", r.name), environment_class=_required(r, "environmentClass"),
        min_workers=int(_required(r, "minWorkers")), max_workers=int(_required(r, "maxWorkers")),
        schedulers=int(_required(r, "schedulers")), min_webservers=int(_required(r, "minWebservers")),
        max_webservers=int(_required(r, "maxWebservers")), airflow_version=r.inputs.get("airflowVersion"))
        for r in of(T_MWAA))
    clusters = of(*T_EKS_CLUSTER)
    templates = {t.outputs.get("id", f"{t.name}-id"): t for t in of(T_LAUNCH_TEMPLATE)}
    node_groups = []
    for r in of(*T_NODE_GROUP):
        scaling = r.inputs.get("scalingConfig") or {}
        disk_gb, disk_type, disk_from = _int(r.inputs.get("diskSize"), 20), "gp3", "diskSize" if "diskSize" in r.inputs else "EKS default"
        template = templates.get((r.inputs.get("launchTemplate") or {}).get("id"))
        if template is not None:
            for mapping in template.inputs.get("blockDeviceMappings") or []:
                ebs = mapping.get("ebs") or {}
                if "volumeSize" in ebs:
                    disk_gb, disk_type, disk_from = int(ebs["volumeSize"]), ebs.get("volumeType", "gp2"), "launchTemplate"
                    break
        label = (r.inputs.get("labels") or {}).get("airflow/node-group") or r.inputs.get("nodeGroupNamePrefix", "").rstrip("-")
        node_groups.append(NodeGroup(
            name=label or r.name, instance_types=tuple(r.inputs.get("instanceTypes") or ()),
            capacity_type=r.inputs.get("capacityType", "ON_DEMAND"), min_size=_int(scaling.get("minSize"), 1),
            desired_size=_int(scaling.get("desiredSize"), _int(scaling.get("minSize"), 1)),
            max_size=_int(scaling.get("maxSize"), 1), disk_gb=disk_gb, disk_type=disk_type, disk_from=disk_from))
    caches = tuple(CacheGroup(name=r.name, engine=r.inputs.get("engine", "redis"), node_type=r.inputs["nodeType"],
                              nodes=_int(r.inputs.get("numCacheClusters"), 1)) for r in of(T_CACHE))
    databases = tuple(Database(name=r.name, engine=r.inputs.get("engine", "postgres"),
                               instance_class=r.inputs["instanceClass"], storage_gb=_int(r.inputs.get("allocatedStorage"), 20),
                               multi_az=bool(r.inputs.get("multiAz", False))) for r in of(T_RDS))
    return Declared(
        target=target, region=plan.config.get("aws:region", "us-east-1"),
        platform={"shared": _platform(groups["shared"]), "target": _platform(groups["target"] + groups["other"])},
        mwaa=mwaa, eks_clusters=len(clusters),
        kubernetes_version=clusters[0].inputs.get("version") if clusters else None,
        node_groups=tuple(node_groups), caches=caches, databases=databases, ecr_repositories=len(of(T_ECR)),
        workers=_workers(airflow_release_values(everything)) if clusters else None,
        pods=_pod_sizes(airflow_release_values(everything), plan) if clusters else None, workload=workload_of(plan),
        node_autoscaler=any(any(word in str(r.inputs.get("chart", "")) for word in ("autoscaler", "karpenter"))
                            for r in of(T_HELM)),
        retention=retention_of(everything, target),
        replicas=_replicas(airflow_release_values(everything)) if clusters else {},
        alarms=tuple(alarm_of(r) for r in of(T_ALARM)),
        statsd_prefixes=len({json.dumps(((r.inputs.get("values") or {}).get("config") or {}).get("metrics", {})
                                        .get("statsd_prefix")) for r in of(T_HELM)
                             if (r.inputs.get("values") or {}).get("executor") == "CeleryExecutor"}))


def _replicas(values: dict) -> dict[str, int]:
    ui = "apiServer" if "apiServer" in values else "webserver"
    return {"scheduler": _int((values.get("scheduler") or {}).get("replicas"), 1),
            "apiServer": _int((values.get(ui) or {}).get("replicas"), 1)}
