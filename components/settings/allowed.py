"""The values the stack config allows: versions, targets, MWAA classes, families and the program's own tags."""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = "airflow-on-aws"

# One allow-list for both targets: the Airflow versions Amazon MWAA runs. EKS runs the same version so a
# move between targets never changes Airflow underneath the DAGs.
AIRFLOW_VERSIONS = ("2.9.2", "2.10.1", "2.10.3", "2.11.0", "2.11.2", "3.0.6", "3.2.1", "3.3.1")
DEFAULT_AIRFLOW_VERSION = "3.3.1"

TARGETS = ("mwaa", "eks")
# The two slots of a blue/green upgrade (docs/upgrades.md): `liveSide` names the one in service, `upgrade` adds the other.
SIDES = ("blue", "green")
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
# "Public endpoint access CIDR ranges per cluster": 40, not adjustable (Amazon EKS service quotas, EKS User Guide).
MAX_PUBLIC_ACCESS_CIDRS = 40
DB_INSTANCE_FAMILIES = ("t3", "t4g", "m5", "m6g", "m6i", "m7g", "m7i", "r5", "r6g", "r6i", "r7g", "r7i")

# AWS tag rules (Tagging AWS resources, "Tag naming limits and requirements"): at most 50 tags on a resource, keys
# 1-128 characters and not starting with aws: (any case), values up to 256, letters/digits/spaces and _ . : / = + - @.
MAX_TAGS_PER_RESOURCE = 50
# Tags the program puts on the resources it declares: every one gets airflow:environment; VPC resources also get a
# Name and subnets a kubernetes.io/role/* tag, alarms an `alarm` tag, so at most 3 on one resource (tests/test_settings.py checks the plan;
# what pulumi-eks adds inside its own component is not visible there).
PROGRAM_TAG_KEYS = ("airflow:environment", "Name", "kubernetes.io/role/elb", "kubernetes.io/role/internal-elb", "alarm")
PROGRAM_TAGS_PER_RESOURCE = 3

# Requests of the long-running pods besides the Celery workers (eks.resources.<key>): CPU in millicores, memory in MiB.
RESOURCE_KEYS = ("scheduler", "dagProcessor", "triggerer", "apiServer", "pgbouncer", "pgbouncerExporter", "statsd",
                 "redis", "system", "nodeReserved", "logGroomer", "jobs", "queuedAgeExporter")

# CloudWatch Logs accepts only these retentions (PutRetentionPolicy, "Possible values are: ..."; boto3/SDK reference,
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html). `logRetentionDays`
# applies one of them to every log the program keeps: MWAA's and the EKS control plane's log groups, and the EKS task
# logs under s3://<bucket>/logs/ (a lifecycle expiry of the same number of days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
                      3653)
DEFAULT_LOG_RETENTION_DAYS = 90  # a quarter: long enough to compare a run with last month's, short enough to stop growth
