"""Typed stack settings, validated before any resource is declared.

The stack config is checked in two passes: a JSON schema (types, allowed values, unknown keys) and the
cross-field rules a schema can't express (min <= max, ranges that depend on the MWAA class). Every problem
is reported at once, one line each, naming the key, the bad value and what is allowed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import jsonschema

from policy.airflow_policy import OPEN_PREFIX, cidr_problem, describe_share, is_open

PROJECT = "airflow-on-aws"

# One allow-list for both targets: the Airflow versions Amazon MWAA runs. EKS runs the same version so a
# move between targets never changes Airflow underneath the DAGs.
AIRFLOW_VERSIONS = ("2.9.2", "2.10.1", "2.10.3", "2.11.0", "2.11.2", "3.0.6", "3.2.1", "3.3.1")
DEFAULT_AIRFLOW_VERSION = "3.3.1"

TARGETS = ("mwaa", "eks")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


@dataclass(frozen=True)
class MwaaClass:
    """Capacity limits of one MWAA environment class (AWS MWAA CreateEnvironment API reference)."""

    max_workers: int
    schedulers: tuple[int, int]
    webservers: tuple[int, int]


MWAA_CLASSES: dict[str, MwaaClass] = {
    "mw1.micro": MwaaClass(max_workers=1, schedulers=(1, 1), webservers=(1, 1)),
    **{
        name: MwaaClass(max_workers=25, schedulers=(2, 5), webservers=(2, 5))
        for name in ("mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge")
    },
}

# EKS versions offered on the release date of this program (EKS Kubernetes release calendar, 2026-11):
# 1.35 and 1.36 in standard support, 1.34 until 2026-12-02, 1.33 in extended support (costs more per hour).
EKS_KUBERNETES_VERSIONS = ("1.33", "1.34", "1.35", "1.36")
DEFAULT_EKS_KUBERNETES_VERSION = "1.35"
BROKERS = ("elasticache", "in-cluster")
CACHE_ENGINES = ("valkey", "redis")
# Families that ElastiCache offers for Valkey/Redis OSS nodes; anything else is a typo or a non-cache type.
CACHE_NODE_FAMILIES = ("t3", "t4g", "m5", "m6g", "m7g", "r5", "r6g", "r7g")
DB_INSTANCE_FAMILIES = ("t3", "t4g", "m5", "m6g", "m6i", "m7g", "m7i", "r5", "r6g", "r6i", "r7g", "r7i")

# AWS tag rules (Tagging AWS resources, "Tag naming limits and requirements"): at most 50 tags on a resource, keys
# 1-128 characters and not starting with aws: (any case), values up to 256, letters/digits/spaces and _ . : / = + - @.
MAX_TAGS_PER_RESOURCE = 50
# Tags the program puts on the resources it declares: every one gets airflow:environment; VPC resources also get a
# Name and subnets a kubernetes.io/role/* tag, so at most 3 on one resource (tests/test_settings.py checks the plan;
# what pulumi-eks adds inside its own component is not visible there).
PROGRAM_TAG_KEYS = ("airflow:environment", "Name", "kubernetes.io/role/elb", "kubernetes.io/role/internal-elb")
PROGRAM_TAGS_PER_RESOURCE = 3
_TAG_TEXT = re.compile(r"[\w .:/=+\-@]*")
_OPTION_NAME = r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*"

_CIDR_PATTERN = r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"
_INSTANCE_TYPE_PATTERN = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
_WINDOW_PATTERN = r"^(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30)$"

# Requests of the long-running pods besides the Celery workers (eks.resources.<key>): CPU in millicores, memory in MiB.
RESOURCE_KEYS = ("scheduler", "dagProcessor", "triggerer", "apiServer", "pgbouncer", "pgbouncerExporter", "statsd",
                 "redis", "system", "nodeReserved")
_POD_RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "cpuMillis": {"type": "integer", "minimum": 0, "maximum": 64000},
        "memoryMiB": {"type": "integer", "minimum": 0, "maximum": 262144},
    },
}

_NODE_GROUP = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z][a-z0-9-]{0,30}$", "x-allowed": "lowercase letters, digits and '-', up to 31 characters"},
        "instanceTypes": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": _INSTANCE_TYPE_PATTERN, "x-allowed": "an EC2 instance type such as m6i.large"}},
        "capacityType": {"enum": ["ON_DEMAND", "SPOT"]},
        "minSize": {"type": "integer", "minimum": 0, "maximum": 100},
        "desiredSize": {"type": "integer", "minimum": 0, "maximum": 100},
        "maxSize": {"type": "integer", "minimum": 1, "maximum": 100},
        "diskSizeGb": {"type": "integer", "minimum": 20, "maximum": 1000},
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["target"],
    "properties": {
        "target": {"enum": list(TARGETS)},
        "airflowVersion": {"enum": list(AIRFLOW_VERSIONS)},
        "environmentName": {"type": "string", "pattern": r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$", "x-allowed": "3-24 lowercase letters, digits or '-', starting with a letter"},
        "protectData": {"type": "boolean"},
        "keepMwaa": {"type": "boolean"},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "network": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "vpcCidr": {"type": "string", "pattern": _CIDR_PATTERN, "x-allowed": "an IPv4 CIDR from /16 to /22, e.g. 10.20.0.0/16"},
                "natGateways": {"enum": ["single", "perAz"]},
            },
        },
        "mwaa": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "environmentClass": {"enum": list(MWAA_CLASSES)},
                "minWorkers": {"type": "integer"},
                "maxWorkers": {"type": "integer"},
                "schedulers": {"type": "integer"},
                "minWebservers": {"type": "integer"},
                "maxWebservers": {"type": "integer"},
                "webserverAccessMode": {"enum": ["PRIVATE_ONLY", "PUBLIC_ONLY"]},
                "weeklyMaintenanceWindowStart": {"type": "string", "pattern": _WINDOW_PATTERN, "x-allowed": "DAY:HH:MM in UTC with DAY in MON..SUN and MM 00 or 30, e.g. SUN:03:00"},
                "airflowConfigurationOptions": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "logLevel": {"enum": list(LOG_LEVELS)},
            },
        },
        "eks": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "kubernetesVersion": {"enum": list(EKS_KUBERNETES_VERSIONS)},
                "nodeGroups": {"type": "array", "minItems": 1, "items": _NODE_GROUP},
                "endpointPublicAccessCidrs": {"type": "array", "items": {"type": "string", "pattern": _CIDR_PATTERN, "x-allowed": "an IPv4 CIDR, e.g. 203.0.113.0/24"}},
                "allowOpenApiEndpoint": {"type": "boolean"},
                "broker": {"enum": list(BROKERS)},
                "cache": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "engine": {"enum": list(CACHE_ENGINES)},
                        "nodeType": {"type": "string", "pattern": r"^cache\.[a-z0-9]+\.[a-z0-9]+$", "x-allowed": "an ElastiCache node type such as cache.t4g.micro"},
                        "nodes": {"type": "integer", "minimum": 1, "maximum": 6},
                    },
                },
                "database": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "instanceClass": {"type": "string", "pattern": r"^db\.[a-z0-9]+\.[a-z0-9]+$", "x-allowed": "an RDS instance class such as db.t4g.small"},
                        "allocatedStorageGb": {"type": "integer", "minimum": 20, "maximum": 65536},
                        "maxAllocatedStorageGb": {"type": "integer", "minimum": 20, "maximum": 65536},
                        "engineVersion": {"enum": ["16", "17"]},
                        "multiAz": {"type": "boolean"},
                        "backupRetentionDays": {"type": "integer", "minimum": 7, "maximum": 35},
                    },
                },
                "workers": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "minReplicas": {"type": "integer", "minimum": 0, "maximum": 100},
                        "maxReplicas": {"type": "integer", "minimum": 1, "maximum": 100},
                        "concurrency": {"type": "integer", "minimum": 1, "maximum": 64},
                        "taskCpuMillis": {"type": "integer", "minimum": 10, "maximum": 64000},
                        "taskMemoryMiB": {"type": "integer", "minimum": 32, "maximum": 262144},
                        "podCpuMillis": {"type": "integer", "minimum": 0, "maximum": 64000},
                        "podMemoryMiB": {"type": "integer", "minimum": 0, "maximum": 262144},
                        "nodeGroup": {"type": "string", "pattern": r"^[a-z][a-z0-9-]{0,30}\Z", "x-allowed": "the name of one of eks.nodeGroups"},
                    },
                },
                "resources": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {name: _POD_RESOURCES for name in RESOURCE_KEYS},
                },
                "image": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "repository": {"type": "string", "pattern": r"^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?$", "x-allowed": "a container image repository such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow"},
                        "tag": {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", "x-allowed": "a container image tag"},
                    },
                },
            },
        },
        "workload": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "averageConcurrentTasks": {"type": "number", "minimum": 0},
                "peakConcurrentTasks": {"type": "number", "minimum": 0},
                "peakHoursPerDay": {"type": "number", "minimum": 0, "maximum": 24},
            },
        },
    },
}


class ConfigError(Exception):
    """Invalid stack config. `problems` holds one line per problem: '<key>: <value> ... allowed ...'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


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
    log_level: str = "INFO"


@dataclass(frozen=True)
class NodeGroupSettings:
    name: str
    instance_types: tuple[str, ...] = ("m6i.large",)
    capacity_type: str = "ON_DEMAND"
    min_size: int = 2
    desired_size: int = 2
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
    statsd: PodResources = PodResources(50, 64)
    redis: PodResources = PodResources(100, 256)  # broker: in-cluster only
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


@dataclass(frozen=True)
class WorkloadSettings:
    """The workload the cost comparison is run for (not used to size resources)."""

    average_concurrent_tasks: float = 5
    peak_concurrent_tasks: float = 20
    peak_hours_per_day: float = 4


@dataclass(frozen=True)
class Settings:
    target: str
    stack: str
    airflow_version: str = DEFAULT_AIRFLOW_VERSION
    environment_name: str = "airflow"
    protect_data: bool = False
    keep_mwaa: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    network: NetworkSettings = NetworkSettings()
    mwaa: MwaaSettings = MwaaSettings()
    eks: EksSettings = EksSettings()
    workload: WorkloadSettings = WorkloadSettings()

    @property
    def deploys_mwaa(self) -> bool:
        # keepMwaa lets both environments run side by side during a move to EKS.
        return self.target == "mwaa" or self.keep_mwaa

    @property
    def deploys_eks(self) -> bool:
        return self.target == "eks"


def parse_settings(raw: Mapping[str, Any], stack: str) -> Settings:
    """Build Settings from the project's config keys (without the 'project:' prefix), or raise ConfigError."""
    problems = _schema_problems(raw)
    # Cross-field rules run on every section the schema found sound, so all problems show up at once.
    broken = {problem.split(":")[0].split(".")[0].split("[")[0] for problem in problems}
    problems += _rule_problems({k: v for k, v in raw.items() if k not in broken}, broken)
    if problems:
        raise ConfigError(problems)
    settings = _build(raw, stack)
    problems = capacity_problems(settings.eks)
    if problems:
        raise ConfigError(problems)
    return settings


def _whole_ascii_pattern(validator, pattern, instance, schema):
    """`pattern`, matched against the whole string with ASCII classes: JSON Schema's search() would let a trailing
    newline pass `$` and a non-ASCII digit pass `\\d`."""
    if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance, flags=re.ASCII):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _non_finite(value: Any) -> bool:
    # NaN and Infinity are JSON numbers to Python's json module, but no count, size or share is either.
    return isinstance(value, float) and not math.isfinite(value)


def _is_finite_number(checker, instance) -> bool:
    return jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(instance, "number") and not _non_finite(instance)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, validators={"pattern": _whole_ascii_pattern},
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _is_finite_number))


def _schema_problems(raw: Mapping[str, Any]) -> list[str]:
    validator = _Validator(CONFIG_SCHEMA)
    problems = []
    for error in validator.iter_errors(dict(raw)):
        for leaf in _leaf_errors(error):
            if leaf.validator in ("minimum", "maximum") and _non_finite(leaf.instance):
                continue  # already reported by the type check, on the one line for this key
            problems.append(_describe(leaf))
    return sorted(set(problems))


def _leaf_errors(error: jsonschema.ValidationError):
    if error.context:
        for sub in error.context:
            yield from _leaf_errors(sub)
    else:
        yield error


def _key(path) -> str:
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(config)"


def _describe(error: jsonschema.ValidationError) -> str:
    key, value, schema = _key(error.absolute_path), error.instance, error.schema
    shown = json.dumps(value)
    if error.validator == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties", {}))
        unknown = sorted(set(value) - set(allowed))
        prefix = f"{key}." if error.absolute_path else ""
        hint = f"allowed keys: {', '.join(allowed)}" if allowed else "values must be strings"
        return "; ".join(f"{prefix}{name}: unknown config key; {hint}" for name in unknown) if allowed else f"{key}: {error.message}; {hint}"
    if error.validator == "enum":
        return f"{key}: {shown} is not allowed; allowed: {', '.join(map(str, error.validator_value))}"
    if error.validator == "pattern":
        return f"{key}: {shown} is not valid; allowed: {schema.get('x-allowed', error.validator_value)}"
    if error.validator in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        bounds = f"{low} to {high}" if low is not None and high is not None else (f">= {low}" if low is not None else f"<= {high}")
        return f"{key}: {shown} is out of range; allowed: {bounds}"
    if error.validator == "type" and _non_finite(value):
        if isinstance(error.validator_value, list):  # a number is one of several types allowed here
            return f"{key}: {shown} is not a finite number; allowed: {', '.join(error.validator_value)} (numbers finite)"
        low, high = schema.get("minimum"), schema.get("maximum")
        bounds = f" from {low} to {high}" if low is not None and high is not None else (f" >= {low}" if low is not None else "")
        return f"{key}: {shown} is not a finite number; allowed: a finite number{bounds}"
    if error.validator == "type":
        return f"{key}: {shown} has the wrong type; allowed: {error.validator_value}"
    if error.validator in ("minItems", "minLength"):
        return f"{key}: {shown} is empty; allowed: at least {error.validator_value} item(s)"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        allowed = schema["properties"][missing].get("enum", "a value")
        prefix = f"{key}." if error.absolute_path else ""
        return f"{prefix}{missing}: not set; allowed: {', '.join(allowed) if isinstance(allowed, list) else allowed}"
    return f"{key}: {shown} is not valid ({error.message})"


def _rule_problems(raw: Mapping[str, Any], broken: set[str]) -> list[str]:
    problems: list[str] = []
    problems += _network_problems(raw.get("network", {}))
    problems += _mwaa_problems(raw.get("mwaa", {}))
    problems += _eks_problems(raw.get("eks", {}))
    problems += _tag_problems(raw.get("tags", {}))
    if raw.get("keepMwaa") and "target" not in broken and raw.get("target") != "eks":
        problems.append(f"keepMwaa: true is only meaningful with target eks (target is {json.dumps(raw.get('target', 'mwaa'))}); allowed: false, or set target to eks")
    if "airflowVersion" not in broken:
        problems += _requirements_problems(raw.get("airflowVersion", DEFAULT_AIRFLOW_VERSION))
    workload = raw.get("workload", {})
    avg, peak = workload.get("averageConcurrentTasks"), workload.get("peakConcurrentTasks")
    if avg is not None and peak is not None and avg > peak:
        problems.append(f"workload.averageConcurrentTasks: {avg} is greater than workload.peakConcurrentTasks ({peak}); allowed: <= {peak}")
    return problems


def _tag_problems(tags: Mapping[str, str]) -> list[str]:
    problems = []
    allowed_text = "letters, digits, spaces and _ . : / = + - @"
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not _TAG_TEXT.fullmatch(key):
            problems.append(f"tags: key {json.dumps(key)} is not a valid AWS tag key; allowed: 1-128 characters, {allowed_text}")
        elif key.lower().startswith("aws:"):
            problems.append(f"tags: key {json.dumps(key)} uses the prefix reserved for AWS; allowed: keys not starting with aws:")
        elif key in PROGRAM_TAG_KEYS:
            problems.append(f"tags: key {json.dumps(key)} is set by the program; allowed: keys other than {', '.join(PROGRAM_TAG_KEYS)}")
        elif len(value) > 256 or not _TAG_TEXT.fullmatch(value):
            problems.append(f"tags.{key}: {json.dumps(value)} is not a valid AWS tag value; allowed: up to 256 characters, {allowed_text}")
    most = MAX_TAGS_PER_RESOURCE - PROGRAM_TAGS_PER_RESOURCE
    if len(tags) > most:
        problems.append(f"tags: {len(tags)} tags plus the program's own ({PROGRAM_TAGS_PER_RESOURCE}) exceed AWS's "
                        f"{MAX_TAGS_PER_RESOURCE} per resource; allowed: at most {most} tags")
    return problems


def _requirements_problems(version: str) -> list[str]:
    from . import airflow_config  # the requirements file is part of the deployment's input, like config

    return [f"airflowVersion: {json.dumps(version)} does not pin {name!r} listed in airflow/requirements.txt; "
            f"allowed: packages pinned by airflow/constraints/constraints-{version}.txt, or another airflowVersion"
            for name in airflow_config.unpinned_requirements(version)]


def _network_problems(network: Mapping[str, Any]) -> list[str]:
    cidr = network.get("vpcCidr")
    if cidr is None:
        return []
    problem = cidr_problem(cidr)
    if problem:
        return [f"network.vpcCidr: {json.dumps(cidr)} is not a valid network ({problem}); allowed: an IPv4 CIDR from /16 to /22 with no host bits, e.g. 10.20.0.0/16"]
    net = ipaddress.IPv4Network(cidr)
    if not 16 <= net.prefixlen <= 22:
        return [f"network.vpcCidr: {json.dumps(cidr)} has prefix /{net.prefixlen}; allowed: /16 to /22"]
    if not net.is_private:
        return [f"network.vpcCidr: {json.dumps(cidr)} is not a private range; allowed: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"]
    return []


def _mwaa_capacity_defaults(class_name: str) -> dict[str, int]:
    """Unset capacity keys follow the class, so choosing mw1.micro alone is a valid config."""
    klass = MWAA_CLASSES[class_name]
    return {
        "minWorkers": 1,
        "maxWorkers": min(10, klass.max_workers),
        "schedulers": klass.schedulers[0],
        "minWebservers": klass.webservers[0],
        "maxWebservers": klass.webservers[0],
    }


def _mwaa_problems(mwaa: Mapping[str, Any]) -> list[str]:
    klass_name = mwaa.get("environmentClass", MwaaSettings.environment_class)
    klass = MWAA_CLASSES[klass_name]
    merged = {**_mwaa_capacity_defaults(klass_name), **mwaa}
    problems = []

    def check_range(key: str, low: int, high: int) -> None:
        value = merged[key]
        if not low <= value <= high:
            problems.append(f"mwaa.{key}: {value} is out of range for {klass_name}; allowed: {low} to {high}")

    check_range("minWorkers", 1, klass.max_workers)
    check_range("maxWorkers", 1, klass.max_workers)
    check_range("schedulers", *klass.schedulers)
    check_range("minWebservers", *klass.webservers)
    check_range("maxWebservers", *klass.webservers)
    for low_key, high_key in (("minWorkers", "maxWorkers"), ("minWebservers", "maxWebservers")):
        low, high = merged[low_key], merged[high_key]
        if low > high:
            problems.append(f"mwaa.{low_key}: {low} is greater than mwaa.{high_key} ({high}); allowed: <= {high}")
    from .airflow_config import PROGRAM_OPTIONS

    for option in mwaa.get("airflowConfigurationOptions", {}):
        if not re.fullmatch(_OPTION_NAME, option, flags=re.ASCII):
            problems.append(f"mwaa.airflowConfigurationOptions: {json.dumps(option)} is not a valid option name; allowed: "
                            f"section.key, both letters, digits or '_' and not starting with a digit, e.g. core.default_task_retries")
        elif option.lower() in PROGRAM_OPTIONS:
            problems.append(f"mwaa.airflowConfigurationOptions: {json.dumps(option)} is set by the program; allowed: "
                            f"options other than {', '.join(PROGRAM_OPTIONS)}")
    return problems


def _eks_problems(eks: Mapping[str, Any]) -> list[str]:
    problems = []
    for index, group in enumerate(eks.get("nodeGroups", [])):
        defaults = NodeGroupSettings(name=group["name"])
        low = group.get("minSize", defaults.min_size)
        desired = group.get("desiredSize", defaults.desired_size)
        high = group.get("maxSize", defaults.max_size)
        if not low <= desired <= high:
            problems.append(f"eks.nodeGroups[{index}]: minSize {low}, desiredSize {desired}, maxSize {high} are not ordered; allowed: minSize <= desiredSize <= maxSize")
    names = [group["name"] for group in eks.get("nodeGroups", [])]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"eks.nodeGroups: name {json.dumps(name)} is used twice; allowed: unique names")
    cidrs = eks.get("endpointPublicAccessCidrs", [])
    for index, cidr in enumerate(cidrs):
        problem = cidr_problem(cidr)
        if problem:
            problems.append(f"eks.endpointPublicAccessCidrs[{index}]: {json.dumps(cidr)} is not a valid network ({problem}); "
                            f"allowed: an IPv4 CIDR in canonical form with no host bits, e.g. 203.0.113.0/24")
    if is_open(cidrs) and not eks.get("allowOpenApiEndpoint", False):
        problems.append(f"eks.endpointPublicAccessCidrs: {json.dumps(cidrs)} cover {describe_share(cidrs)} and open the "
                        f"Kubernetes API to the internet; allowed: CIDRs narrower than a /{OPEN_PREFIX} together, "
                        f"or set eks.allowOpenApiEndpoint true to accept it")
    node_type = eks.get("cache", {}).get("nodeType")
    if node_type and node_type.split(".")[1] not in CACHE_NODE_FAMILIES:
        problems.append(f"eks.cache.nodeType: {json.dumps(node_type)} is not a known cache node family; allowed families: {', '.join(CACHE_NODE_FAMILIES)}")
    database = eks.get("database", {})
    instance_class = database.get("instanceClass")
    if instance_class and instance_class.split(".")[1] not in DB_INSTANCE_FAMILIES:
        problems.append(f"eks.database.instanceClass: {json.dumps(instance_class)} is not a known RDS instance family; allowed families: {', '.join(DB_INSTANCE_FAMILIES)}")
    db_defaults = DatabaseSettings()
    storage = database.get("allocatedStorageGb", db_defaults.allocated_storage_gb)
    max_storage = database.get("maxAllocatedStorageGb", max(storage, db_defaults.max_allocated_storage_gb))
    if max_storage < storage:
        problems.append(f"eks.database.maxAllocatedStorageGb: {max_storage} is less than eks.database.allocatedStorageGb ({storage}); allowed: >= {storage}")
    workers = eks.get("workers", {})
    worker_defaults = WorkerSettings()
    low, high = workers.get("minReplicas", worker_defaults.min_replicas), workers.get("maxReplicas", worker_defaults.max_replicas)
    if low > high:
        problems.append(f"eks.workers.minReplicas: {low} is greater than eks.workers.maxReplicas ({high}); allowed: <= {high}")
    return problems


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


def _fields(raw: Mapping[str, Any], renames: Mapping[str, str] | None = None) -> dict[str, Any]:
    """camelCase config keys -> dataclass field names (lists become tuples: settings are immutable)."""
    renames = renames or {}
    return {renames.get(k, _snake(k)): tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def _build(raw: Mapping[str, Any], stack: str) -> Settings:
    mwaa_raw = dict(raw.get("mwaa", {}))
    mwaa_raw = {**_mwaa_capacity_defaults(mwaa_raw.get("environmentClass", MwaaSettings.environment_class)), **mwaa_raw}
    options = {k: _option_text(v) for k, v in mwaa_raw.pop("airflowConfigurationOptions", {}).items()}
    eks_raw = dict(raw.get("eks", {}))
    eks_kwargs: dict[str, Any] = {}
    if "nodeGroups" in eks_raw:
        eks_kwargs["node_groups"] = tuple(NodeGroupSettings(**_fields(g)) for g in eks_raw.pop("nodeGroups"))
    db_raw = eks_raw.pop("database", {})
    database = DatabaseSettings(**_fields(db_raw))
    if "maxAllocatedStorageGb" not in db_raw:  # autoscaling ceiling follows a larger starting size
        database = DatabaseSettings(**{**database.__dict__, "max_allocated_storage_gb": max(database.allocated_storage_gb, database.max_allocated_storage_gb)})
    eks_kwargs.update(
        cache=CacheSettings(**_fields(eks_raw.pop("cache", {}))),
        database=database,
        workers=WorkerSettings(**_fields(eks_raw.pop("workers", {}), _MIB_RENAMES)),
        image=ImageSettings(**_fields(eks_raw.pop("image", {}))),
        resources=_resources(eks_raw.pop("resources", {})),
        **_fields(eks_raw),
    )
    top = {k: v for k, v in raw.items() if k not in ("network", "mwaa", "eks", "workload", "tags")}
    return Settings(
        stack=stack,
        **{"environment_name": default_environment_name(stack), **_fields(top)},
        tags=dict(raw.get("tags", {})),
        network=NetworkSettings(**_fields(raw.get("network", {}))),
        mwaa=MwaaSettings(**_fields(mwaa_raw), airflow_configuration_options=options),
        eks=EksSettings(**eks_kwargs),
        workload=WorkloadSettings(**_fields(raw.get("workload", {}))),
    )


_MIB_RENAMES = {"memoryMiB": "memory_mib", "taskMemoryMiB": "task_memory_mib", "podMemoryMiB": "pod_memory_mib"}


def _resources(raw: Mapping[str, Any]) -> ResourceSettings:
    defaults = ResourceSettings()
    return ResourceSettings(**{
        _snake(key): PodResources(**{**getattr(defaults, _snake(key)).__dict__, **_fields(value, _MIB_RENAMES)})
        for key, value in raw.items()})


def worker_node_group(eks: EksSettings) -> NodeGroupSettings:
    """The node group the Celery workers run on (and that scales with them): eks.workers.nodeGroup, else the group
    with the largest maxSize (the last one on a tie)."""
    if eks.workers.node_group is not None:
        return next(g for g in eks.node_groups if g.name == eks.workers.node_group)
    return max(reversed(eks.node_groups), key=lambda g: g.max_size)


def pod_room(instance_type: str, reserved: PodResources) -> PodResources | None:
    """What a node of this type has for pods: its vCPU and memory less the per-node reservation (None: unknown type)."""
    from .instance_types import spec

    size = spec(instance_type)
    if size is None:
        return None
    return PodResources(int(size[0] * 1000) - reserved.cpu_millis, int(size[1] * 1024) - reserved.memory_mib)


def fits(pod: PodResources, room: PodResources) -> bool:
    """Whether a pod's requests fit in a node's room for pods (both as PodResources)."""
    return pod.cpu_millis <= room.cpu_millis and pod.memory_mib <= room.memory_mib


def platform_pods(eks: EksSettings) -> dict[str, PodResources]:
    """The always-on pods besides the Celery workers, by config key (one replica each)."""
    r = eks.resources
    pods = {"scheduler": r.scheduler, "dagProcessor": r.dag_processor, "triggerer": r.triggerer,
            "apiServer": r.api_server, "pgbouncer": r.pgbouncer + r.pgbouncer_exporter, "statsd": r.statsd}
    if eks.broker == "in-cluster":
        pods["redis"] = r.redis
    return pods


def capacity_problems(eks: EksSettings) -> list[str]:
    """Every pod must fit on a node of a group it can run on: otherwise it stays Pending and the autoscaler can't help.
    The Celery workers run on worker_node_group (every instance type of it); the other pods on any group."""
    reserved = eks.resources.node_reserved
    problems = []
    rooms: dict[str, PodResources] = {}
    for index, group in enumerate(eks.node_groups):
        for position, instance_type in enumerate(group.instance_types):
            room = pod_room(instance_type, reserved)
            if room is None:
                from .instance_types import ALLOWED

                problems.append(f"eks.nodeGroups[{index}].instanceTypes[{position}]: {json.dumps(instance_type)} has no "
                                f"known vCPU/memory to fit pods on; allowed: {ALLOWED}")
            else:
                rooms[f"{group.name}/{instance_type}"] = room
    if problems:
        return problems
    names = [g.name for g in eks.node_groups]
    if eks.workers.node_group is not None and eks.workers.node_group not in names:
        return [f"eks.workers.nodeGroup: {json.dumps(eks.workers.node_group)} is not a node group; allowed: {', '.join(names)}"]
    workers = eks.workers
    group = worker_node_group(eks)
    for instance_type in group.instance_types:
        room = rooms[f"{group.name}/{instance_type}"]
        if not fits(workers.request, room):
            problems.append(
                f"eks.workers.concurrency: {workers.concurrency} makes a worker pod request {workers.request.text()} (podCpuMillis {workers.pod_cpu_millis} + "
                f"concurrency {workers.concurrency} × taskCpuMillis {workers.task_cpu_millis}; podMemoryMiB "
                f"{workers.pod_memory_mib} + {workers.concurrency} × taskMemoryMiB {workers.task_memory_mib}) but a "
                f"{instance_type} node of group {group.name} has {room.text()} for pods; allowed: a smaller "
                f"eks.workers.concurrency or task size, or a larger instance type")
    largest = max(rooms.items(), key=lambda item: (item[1].cpu_millis, item[1].memory_mib))
    for key, pod in platform_pods(eks).items():
        if not any(fits(pod, room) for room in rooms.values()):
            problems.append(f"eks.resources.{key}: {pod.text()} fits on no node group (largest: {largest[0]} with "
                            f"{largest[1].text()} for pods); allowed: smaller requests, or a larger instance type")
    return problems


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


def _option_text(value: Any) -> str:
    # Airflow config values are strings; YAML booleans would otherwise become "True"/"False".
    return json.dumps(value) if isinstance(value, bool) else str(value)


def decode_config_values(raw: Mapping[str, str]) -> dict[str, Any]:
    """Pulumi hands config to programs as strings; structured values and booleans arrive JSON-encoded."""
    decoded: dict[str, Any] = {}
    for key, text in raw.items():
        expected = CONFIG_SCHEMA["properties"].get(key, {}).get("type")
        if expected in ("object", "array", "boolean", "integer", "number") and isinstance(text, str):
            try:
                decoded[key] = json.loads(text)
                continue
            except json.JSONDecodeError:
                pass  # left as text: the schema check reports it with the key's name
        decoded[key] = text
    return decoded


def from_stack_config() -> Settings:
    """Settings of the running Pulumi stack; raises pulumi.RunError (no traceback) listing every problem."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    # Every key of this project, set ones only: unknown keys (typos) must be seen, not silently ignored.
    prefix = f"{pulumi.get_project()}:"
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw = {key[len(prefix):]: value for key, value in everything.items() if key.startswith(prefix)}
    try:
        return parse_settings(decode_config_values(raw), stack=pulumi.get_stack())
    except ConfigError as error:
        lines = "\n".join(f"  {problem}" for problem in error.problems)
        raise pulumi.RunError(f"invalid stack config ({len(error.problems)} problem(s)):\n{lines}") from None
