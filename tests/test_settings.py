"""Stack config validation: every bad value is reported on one line naming the key, the value and what's allowed."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from components import airflow_config
from components.settings import CONFIG_SCHEMA, EKS_KUBERNETES_VERSIONS, ConfigError, parse_settings
from tests.test_program import monitors  # noqa: F401 - the fixture: what a failing plan registered

VERSIONS = "2.9.2, 2.10.1, 2.10.3, 2.11.0, 2.11.2, 3.0.6, 3.2.1, 3.3.1"
CLASSES = "mw1.micro, mw1.small, mw1.medium, mw1.large, mw1.xlarge, mw1.2xlarge"
TOP_KEYS = ("airflowVersion, alarms, eks, environmentName, keepMwaa, liveSide, logRetentionDays, mwaa, network, protectData, "
            "tags, target, upgrade, workload")
MWAA_KEYS = ("airflowConfigurationOptions, allowExposeConfig, environmentClass, logLevel, maxWebservers, maxWorkers, minWebservers, "
             "minWorkers, schedulers, webserverAccessMode, weeklyMaintenanceWindowStart")
CIDR_ALLOWED = "allowed: an IPv4 CIDR from /16 to /22 with no host bits, e.g. 10.20.0.0/16"
API_CIDR_ALLOWED = "allowed: an IPv4 CIDR in canonical form with no host bits, e.g. 203.0.113.0/24"
OPEN_ALLOWED = "allowed: CIDRs narrower than a /8 together, or set eks.allowOpenApiEndpoint true to accept it"
OPTION_ALLOWED = ("allowed: section.key, both letters, digits or '_' and not starting with a digit, "
                  "e.g. core.default_task_retries")
PROGRAM_OPTIONS = ("celery.broker_url, celery.result_backend, celery.worker_concurrency, core.executor, core.fernet_key, "
                   "database.sql_alchemy_conn, logging.remote_base_log_folder, logging.remote_log_conn_id, "
                   "logging.remote_logging, metrics.statsd_host, metrics.statsd_on, metrics.statsd_port, "
                   "metrics.statsd_prefix, secrets.backend, secrets.backend_kwargs, workers.secrets_backend, "
                   "workers.secrets_backend_kwargs (or their _cmd/_secret forms)")
WINDOW_ALLOWED = "allowed: DAY:HH:MM in UTC with DAY in MON..SUN and MM 00 or 30, e.g. SUN:03:00"
TAG_TEXT = "letters, digits, spaces and _ . : / = + - @"


SECRET_REFUSED = ("holds a secret (Airflow marks it sensitive), which would be stored in plain text; allowed: options "
                  "Airflow does not mark sensitive (keep secrets in Secrets Manager: airflow/<environment>/connections "
                  "or variables)")
EKS_TAG_REFUSED = ("is read by EKS tooling (cluster ownership or the Cluster Autoscaler); allowed: keys not starting "
                   "with kubernetes.io/cluster/ or k8s.io/cluster-autoscaler/")
PRIVATE_API_CIDR = ("is a private range, which never reaches the public endpoint (the VPC uses the private one); "
                    "allowed: public CIDRs, e.g. 203.0.113.0/24")
NOT_RFC1918 = "is not a private range; allowed: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"


def O(options: dict, target: str = "mwaa") -> dict:  # noqa: E743 - short: the table below uses it ~40 times
    """A config whose one mistake is in mwaa.airflowConfigurationOptions (shared by both targets)."""
    return {"target": target, "mwaa": {"airflowConfigurationOptions": options}}


def E(eks: dict) -> dict:
    """An EKS config whose one mistake is in the eks section."""
    return {"target": "eks", "eks": eks}


def problems_of(raw: dict, stack: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, stack)
    return caught.value.problems


# (case id, config, the one problem it must produce). Each config is valid except for the one mistake.
BAD_VALUES = [
    ("unknown-target", {"target": "gke"},
     'target: "gke" is not allowed; allowed: mwaa, eks'),
    ("missing-target", {"airflowVersion": "3.3.1"},
     "target: not set; allowed: mwaa, eks"),
    ("unsupported-airflow-version", {"target": "mwaa", "airflowVersion": "2.8.1"},
     f'airflowVersion: "2.8.1" is not allowed; allowed: {VERSIONS}'),
    ("bad-environment-class", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.huge"}},
     f'mwaa.environmentClass: "mw1.huge" is not allowed; allowed: {CLASSES}'),
    ("min-workers-above-max", {"target": "mwaa", "mwaa": {"minWorkers": 5, "maxWorkers": 3}},
     "mwaa.minWorkers: 5 is greater than mwaa.maxWorkers (3); allowed: <= 3"),
    ("micro-max-workers-2", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.micro", "maxWorkers": 2}},
     "mwaa.maxWorkers: 2 is out of range for mw1.micro; allowed: 1 to 1"),
    ("small-max-workers-26", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.small", "maxWorkers": 26}},
     "mwaa.maxWorkers: 26 is out of range for mw1.small; allowed: 1 to 25"),
    ("schedulers-above-class", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.large", "schedulers": 6}},
     "mwaa.schedulers: 6 is out of range for mw1.large; allowed: 2 to 5"),
    ("micro-two-schedulers", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.micro", "schedulers": 2}},
     "mwaa.schedulers: 2 is out of range for mw1.micro; allowed: 1 to 1"),
    ("webservers-above-class", {"target": "mwaa", "mwaa": {"maxWebservers": 6}},
     "mwaa.maxWebservers: 6 is out of range for mw1.small; allowed: 2 to 5"),
    ("webservers-below-class", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.medium", "minWebservers": 1}},
     "mwaa.minWebservers: 1 is out of range for mw1.medium; allowed: 2 to 5"),
    ("cidr-host-bits", {"target": "mwaa", "network": {"vpcCidr": "10.20.0.1/16"}},
     f'network.vpcCidr: "10.20.0.1/16" is not a valid network (10.20.0.1/16 has host bits set); {CIDR_ALLOWED}'),
    ("cidr-not-a-cidr", {"target": "mwaa", "network": {"vpcCidr": "not-a-cidr"}},
     'network.vpcCidr: "not-a-cidr" is not valid; allowed: an IPv4 CIDR from /16 to /22, e.g. 10.20.0.0/16'),
    ("cidr-bad-octet", {"target": "mwaa", "network": {"vpcCidr": "300.1.0.0/16"}},
     f"network.vpcCidr: \"300.1.0.0/16\" is not a valid network (Octet 300 (> 255) not permitted in '300.1.0.0'); {CIDR_ALLOWED}"),
    ("cidr-public-range", {"target": "mwaa", "network": {"vpcCidr": "8.8.0.0/16"}},
     'network.vpcCidr: "8.8.0.0/16" is not a private range; allowed: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16'),
    ("cidr-too-large", {"target": "mwaa", "network": {"vpcCidr": "10.0.0.0/8"}},
     'network.vpcCidr: "10.0.0.0/8" has prefix /8; allowed: /16 to /22'),
    ("cidr-too-small", {"target": "mwaa", "network": {"vpcCidr": "10.20.0.0/24"}},
     'network.vpcCidr: "10.20.0.0/24" has prefix /24; allowed: /16 to /22'),
    ("nat-mode", {"target": "mwaa", "network": {"natGateways": "none"}},
     'network.natGateways: "none" is not allowed; allowed: single, perAz'),
    ("maintenance-window-minutes", {"target": "mwaa", "mwaa": {"weeklyMaintenanceWindowStart": "SUN:03:15"}},
     'mwaa.weeklyMaintenanceWindowStart: "SUN:03:15" is not valid; allowed: DAY:HH:MM in UTC with DAY in MON..SUN '
     'and MM 00 or 30, e.g. SUN:03:00'),
    ("maintenance-window-format", {"target": "mwaa", "mwaa": {"weeklyMaintenanceWindowStart": "Sunday 03:00"}},
     'mwaa.weeklyMaintenanceWindowStart: "Sunday 03:00" is not valid; allowed: DAY:HH:MM in UTC with DAY in MON..SUN '
     'and MM 00 or 30, e.g. SUN:03:00'),
    ("unknown-log-level", {"target": "mwaa", "mwaa": {"logLevel": "VERBOSE"}},
     'mwaa.logLevel: "VERBOSE" is not allowed; allowed: CRITICAL, ERROR, WARNING, INFO, DEBUG'),
    ("access-mode", {"target": "mwaa", "mwaa": {"webserverAccessMode": "PUBLIC"}},
     'mwaa.webserverAccessMode: "PUBLIC" is not allowed; allowed: PRIVATE_ONLY, PUBLIC_ONLY'),
    ("option-name-without-section", {"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {"retries": "2"}}},
     f'mwaa.airflowConfigurationOptions: "retries" is not a valid option name; {OPTION_ALLOWED}'),
    ("typo-top-level-key", {"target": "mwaa", "environmentNmae": "airflow-x"},
     f"environmentNmae: unknown config key; allowed keys: {TOP_KEYS}"),
    ("typo-nested-key", {"target": "mwaa", "mwaa": {"minWorker": 1}},
     f"mwaa.minWorker: unknown config key; allowed keys: {MWAA_KEYS}"),
    ("type-string-for-integer", {"target": "mwaa", "mwaa": {"maxWorkers": "ten"}},
     'mwaa.maxWorkers: "ten" has the wrong type; allowed: integer'),
    ("type-bool-for-integer", {"target": "mwaa", "mwaa": {"maxWorkers": True}},
     "mwaa.maxWorkers: true has the wrong type; allowed: integer"),
    ("type-fraction-for-integer", {"target": "mwaa", "mwaa": {"maxWorkers": 2.5}},
     "mwaa.maxWorkers: 2.5 has the wrong type; allowed: integer"),
    ("type-string-for-boolean", {"target": "mwaa", "protectData": "yes"},
     'protectData: "yes" has the wrong type; allowed: boolean'),
    ("type-string-for-section", {"target": "mwaa", "mwaa": "big"},
     'mwaa: "big" has the wrong type; allowed: object'),
    ("type-tag-value", {"target": "mwaa", "tags": {"team": 1}},
     "tags.team: 1 has the wrong type; allowed: string"),
    ("environment-name", {"target": "mwaa", "environmentName": "Airflow_Prod"},
     'environmentName: "Airflow_Prod" is not valid; allowed: 3-24 lowercase letters, digits or \'-\', starting with a letter'),
    ("keep-mwaa-without-eks", {"target": "mwaa", "keepMwaa": True},
     'keepMwaa: true is only meaningful with target eks (target is "mwaa"); allowed: false, or set target to eks'),
    ("eks-node-group-min-above-max",
     {"target": "eks", "eks": {"nodeGroups": [{"name": "airflow", "minSize": 5, "desiredSize": 2, "maxSize": 3}]}},
     "eks.nodeGroups[0]: minSize 5, desiredSize 2, maxSize 3 are not ordered; allowed: minSize <= desiredSize <= maxSize"),
    ("eks-second-node-group-desired-above-max",
     {"target": "eks", "eks": {"nodeGroups": [{"name": "system"}, {"name": "workers", "minSize": 1, "desiredSize": 9, "maxSize": 4}]}},
     "eks.nodeGroups[1]: minSize 1, desiredSize 9, maxSize 4 are not ordered; allowed: minSize <= desiredSize <= maxSize"),
    ("eks-node-group-name-twice", {"target": "eks", "eks": {"nodeGroups": [{"name": "a1"}, {"name": "a1"}]}},
     'eks.nodeGroups: name "a1" is used twice; allowed: unique names'),
    ("eks-node-group-without-name", {"target": "eks", "eks": {"nodeGroups": [{"minSize": 1}]}},
     "eks.nodeGroups[0].name: not set; allowed: a value"),
    ("eks-open-api-endpoint", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]}},
     'eks.endpointPublicAccessCidrs: ["203.0.113.0/24", "0.0.0.0/0"] cover 100% of IPv4 addresses and open the '
     f'Kubernetes API to the internet; {OPEN_ALLOWED}'),
    ("eks-endpoint-cidr-host-bits", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["203.0.113.1/24"]}},
     f'eks.endpointPublicAccessCidrs[0]: "203.0.113.1/24" is not a valid network (203.0.113.1/24 has host bits set); {API_CIDR_ALLOWED}'),
    ("eks-unknown-cache-family", {"target": "eks", "eks": {"cache": {"nodeType": "cache.x9.large"}}},
     'eks.cache.nodeType: "cache.x9.large" is not a known cache node family; allowed families: t3, t4g, m5, m6g, m7g, r5, r6g, r7g'),
    ("eks-unknown-broker", {"target": "eks", "eks": {"broker": "rabbitmq"}},
     'eks.broker: "rabbitmq" is not allowed; allowed: elasticache, in-cluster'),
    ("eks-kubernetes-version", {"target": "eks", "eks": {"kubernetesVersion": "1.29"}},
     f'eks.kubernetesVersion: "1.29" is not allowed; allowed: {", ".join(EKS_KUBERNETES_VERSIONS)}'),
    ("eks-unknown-db-family", {"target": "eks", "eks": {"database": {"instanceClass": "db.x1.large"}}},
     'eks.database.instanceClass: "db.x1.large" is not a known RDS instance family; allowed families: '
     't3, t4g, m5, m6g, m6i, m7g, m7i, r5, r6g, r6i, r7g, r7i'),
    ("eks-db-max-storage-below-allocated",
     {"target": "eks", "eks": {"database": {"allocatedStorageGb": 200, "maxAllocatedStorageGb": 100}}},
     "eks.database.maxAllocatedStorageGb: 100 is less than eks.database.allocatedStorageGb (200); allowed: >= 200"),
    ("eks-worker-replicas", {"target": "eks", "eks": {"workers": {"minReplicas": 5, "maxReplicas": 2}}},
     "eks.workers.minReplicas: 5 is greater than eks.workers.maxReplicas (2); allowed: <= 2"),
    ("eks-empty-node-groups", {"target": "eks", "eks": {"nodeGroups": []}},
     "eks.nodeGroups: [] is empty; allowed: at least 1 item(s)"),
    ("workload-average-above-peak", {"target": "mwaa", "workload": {"averageConcurrentTasks": 30, "peakConcurrentTasks": 3}},
     "workload.averageConcurrentTasks: 30 is greater than workload.peakConcurrentTasks (3); allowed: <= 3"),
    # --- EKS API endpoint: openness is the address space covered; only canonical CIDRs (issue 12, item 5)
    ("eks-open-api-two-halves", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}},
     'eks.endpointPublicAccessCidrs: ["0.0.0.0/1", "128.0.0.0/1"] cover 100% of IPv4 addresses and open the '
     f'Kubernetes API to the internet; {OPEN_ALLOWED}'),
    ("eks-open-api-half", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["0.0.0.0/1"]}},
     'eks.endpointPublicAccessCidrs: ["0.0.0.0/1"] cover 50% of IPv4 addresses and open the '
     f'Kubernetes API to the internet; {OPEN_ALLOWED}'),
    ("eks-open-api-a-slash-8", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["16.0.0.0/8"]}},
     'eks.endpointPublicAccessCidrs: ["16.0.0.0/8"] cover 0.391% of IPv4 addresses and open the '
     f'Kubernetes API to the internet; {OPEN_ALLOWED}'),
    ("eks-open-api-quarters", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"]}},
     'eks.endpointPublicAccessCidrs: ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"] cover 100% of IPv4 '
     f'addresses and open the Kubernetes API to the internet; {OPEN_ALLOWED}'),
    ("eks-endpoint-cidr-two-digit-zero-prefix", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["0.0.0.0/00"]}},
     f'eks.endpointPublicAccessCidrs[0]: "0.0.0.0/00" is not a valid network (not in canonical form, which is 0.0.0.0/0); {API_CIDR_ALLOWED}'),
    ("eks-endpoint-cidr-zero-padded-prefix", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["203.0.113.0/024"]}},
     'eks.endpointPublicAccessCidrs[0]: "203.0.113.0/024" is not valid; allowed: an IPv4 CIDR, e.g. 203.0.113.0/24'),
    ("eks-endpoint-cidr-leading-zero-octet", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["203.0.113.00/32"]}},
     "eks.endpointPublicAccessCidrs[0]: \"203.0.113.00/32\" is not a valid network (Leading zeros are not permitted in '00' "
     f"in '203.0.113.00'); {API_CIDR_ALLOWED}"),
    ("eks-endpoint-cidr-bad-octet", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["203.0.313.0/24"]}},
     "eks.endpointPublicAccessCidrs[0]: \"203.0.313.0/24\" is not a valid network (Octet 313 (> 255) not permitted in "
     f"'203.0.313.0'); {API_CIDR_ALLOWED}"),
    ("eks-endpoint-cidr-without-prefix", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["203.0.113.7"]}},
     'eks.endpointPublicAccessCidrs[0]: "203.0.113.7" is not valid; allowed: an IPv4 CIDR, e.g. 203.0.113.0/24'),
    ("cidr-leading-zero-octet", {"target": "mwaa", "network": {"vpcCidr": "10.020.0.0/16"}},
     f"network.vpcCidr: \"10.020.0.0/16\" is not a valid network (Leading zeros are not permitted in '020' in '10.020.0.0'); {CIDR_ALLOWED}"),
    # --- whole-string, ASCII-only patterns (item 12)
    ("environment-name-trailing-newline", {"target": "mwaa", "environmentName": "airflow-dev\n"},
     'environmentName: "airflow-dev\\n" is not valid; allowed: 3-24 lowercase letters, digits or \'-\', starting with a letter'),
    ("maintenance-window-arabic-digit", {"target": "mwaa", "mwaa": {"weeklyMaintenanceWindowStart": "SUN:0\u0663:00"}},
     f'mwaa.weeklyMaintenanceWindowStart: "SUN:0\\u0663:00" is not valid; {WINDOW_ALLOWED}'),
    ("maintenance-window-trailing-newline", {"target": "mwaa", "mwaa": {"weeklyMaintenanceWindowStart": "SUN:03:00\n"}},
     f'mwaa.weeklyMaintenanceWindowStart: "SUN:03:00\\n" is not valid; {WINDOW_ALLOWED}'),
    ("cidr-arabic-digit", {"target": "mwaa", "network": {"vpcCidr": "10.20.0.0/1\u0666"}},
     'network.vpcCidr: "10.20.0.0/1\\u0666" is not valid; allowed: an IPv4 CIDR from /16 to /22, e.g. 10.20.0.0/16'),
    ("cidr-trailing-newline", {"target": "mwaa", "network": {"vpcCidr": "10.20.0.0/16\n"}},
     'network.vpcCidr: "10.20.0.0/16\\n" is not valid; allowed: an IPv4 CIDR from /16 to /22, e.g. 10.20.0.0/16'),
    ("eks-node-group-name-trailing-newline", {"target": "eks", "eks": {"nodeGroups": [{"name": "airflow\n"}]}},
     "eks.nodeGroups[0].name: \"airflow\\n\" is not valid; allowed: lowercase letters, digits and '-', up to 31 characters"),
    ("eks-instance-type-trailing-newline", {"target": "eks", "eks": {"nodeGroups": [{"name": "airflow", "instanceTypes": ["m6i.large\n"]}]}},
     'eks.nodeGroups[0].instanceTypes[0]: "m6i.large\\n" is not valid; allowed: an EC2 instance type such as m6i.large'),
    ("eks-cache-node-type-trailing-newline", {"target": "eks", "eks": {"cache": {"nodeType": "cache.t4g.micro\n"}}},
     'eks.cache.nodeType: "cache.t4g.micro\\n" is not valid; allowed: an ElastiCache node type such as cache.t4g.micro'),
    ("eks-db-class-arabic-digit", {"target": "eks", "eks": {"database": {"instanceClass": "db.t\u0664g.small"}}},
     'eks.database.instanceClass: "db.t\\u0664g.small" is not valid; allowed: an RDS instance class such as db.t4g.small'),
    ("eks-image-tag-trailing-newline", {"target": "eks", "eks": {"image": {"tag": "3.3.1-abc\n"}}},
     'eks.image.tag: "3.3.1-abc\\n" is not valid; allowed: a container image tag'),
    ("eks-image-repository-trailing-newline", {"target": "eks", "eks": {"image": {"repository": "example.com/airflow\n"}}},
     'eks.image.repository: "example.com/airflow\\n" is not valid; allowed: a container image repository such as '
     '123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow'),
    # --- tags against AWS's rules (item 13)
    ("tag-key-aws-prefix", {"target": "mwaa", "tags": {"aws:team": "data"}},
     'tags: key "aws:team" uses the prefix reserved for AWS; allowed: keys not starting with aws:'),
    ("tag-key-aws-prefix-any-case", {"target": "mwaa", "tags": {"AWS:team": "data"}},
     'tags: key "AWS:team" uses the prefix reserved for AWS; allowed: keys not starting with aws:'),
    ("tag-key-too-long", {"target": "mwaa", "tags": {"k" * 129: "v"}},
     f'tags: key "{"k" * 129}" is not a valid AWS tag key; allowed: 1-128 characters, {TAG_TEXT}'),
    ("tag-key-empty", {"target": "mwaa", "tags": {"": "v"}},
     f'tags: key "" is not a valid AWS tag key; allowed: 1-128 characters, {TAG_TEXT}'),
    ("tag-key-bad-character", {"target": "mwaa", "tags": {"team#1": "v"}},
     f'tags: key "team#1" is not a valid AWS tag key; allowed: 1-128 characters, {TAG_TEXT}'),
    ("tag-key-set-by-the-program", {"target": "mwaa", "tags": {"airflow:environment": "other"}},
     'tags: key "airflow:environment" is set by the program; allowed: keys other than airflow:environment, Name, '
     'kubernetes.io/role/elb, kubernetes.io/role/internal-elb, alarm'),
    ("tag-value-too-long", {"target": "mwaa", "tags": {"team": "v" * 257}},
     f'tags.team: "{"v" * 257}" is not a valid AWS tag value; allowed: up to 256 characters, {TAG_TEXT}'),
    ("tag-value-newline", {"target": "mwaa", "tags": {"team": "data\nops"}},
     f'tags.team: "data\\nops" is not a valid AWS tag value; allowed: up to 256 characters, {TAG_TEXT}'),
    ("too-many-tags", {"target": "mwaa", "tags": {f"t{i}": "v" for i in range(48)}},
     "tags: 48 tags plus the program's own (3) exceed AWS's 50 per resource; allowed: at most 47 tags"),
    # --- Airflow option names (item 14)
    ("option-empty-section", {"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {".x": "1"}}},
     f'mwaa.airflowConfigurationOptions: ".x" is not a valid option name; {OPTION_ALLOWED}'),
    ("option-blank-key", {"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {"core. ": "1"}}},
     f'mwaa.airflowConfigurationOptions: "core. " is not a valid option name; {OPTION_ALLOWED}'),
    ("option-two-dots", {"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {"core.a.b": "1"}}},
     f'mwaa.airflowConfigurationOptions: "core.a.b" is not a valid option name; {OPTION_ALLOWED}'),
    ("option-non-ascii-letter", {"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {"c\u00f6re.x": "1"}}},
     f'mwaa.airflowConfigurationOptions: "c\\u00f6re.x" is not a valid option name; {OPTION_ALLOWED}'),
    ("option-set-by-the-program", {"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {"secrets.backend": "x"}}},
     f'mwaa.airflowConfigurationOptions: "secrets.backend" is set by the program; allowed: options other than {PROGRAM_OPTIONS}'),
    ("option-set-by-the-program-any-case", {"target": "eks", "mwaa": {"airflowConfigurationOptions": {"Secrets.Backend_Kwargs": "{}"}}},
     f'mwaa.airflowConfigurationOptions: "Secrets.Backend_Kwargs" is set by the program; allowed: options other than {PROGRAM_OPTIONS}'),
    ("option-set-by-the-program-on-eks", {"target": "eks", "mwaa": {"airflowConfigurationOptions": {"celery.worker_concurrency": "4"}}},
     f'mwaa.airflowConfigurationOptions: "celery.worker_concurrency" is set by the program; allowed: options other than {PROGRAM_OPTIONS}'),
    # --- workload numbers are finite (item 15)
    ("workload-nan", {"target": "mwaa", "workload": {"peakConcurrentTasks": float("nan")}},
     "workload.peakConcurrentTasks: NaN is not a finite number; allowed: a finite number >= 0"),
    ("workload-infinity", {"target": "mwaa", "workload": {"averageConcurrentTasks": float("inf")}},
     "workload.averageConcurrentTasks: Infinity is not a finite number; allowed: a finite number >= 0"),
    ("workload-hours-infinity", {"target": "mwaa", "workload": {"peakHoursPerDay": float("inf")}},
     "workload.peakHoursPerDay: Infinity is not a finite number; allowed: a finite number from 0 to 24"),
    ("workload-hours-minus-infinity", {"target": "mwaa", "workload": {"peakHoursPerDay": float("-inf")}},
     "workload.peakHoursPerDay: -Infinity is not a finite number; allowed: a finite number from 0 to 24"),
    ("option-value-nan", {"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {"core.parallelism": float("nan")}}},
     'mwaa.airflowConfigurationOptions.core.parallelism: NaN is not a finite number; allowed: string, number, boolean (numbers finite)'),
    ("workload-hours-above-a-day", {"target": "mwaa", "workload": {"peakHoursPerDay": 25}},
     "workload.peakHoursPerDay: 25 is out of range; allowed: 0 to 24"),
    # --- issue 20: options that bypass the program or hold secrets (item 1), RFC 1918 (item 2), names AWS refuses
    # (item 3), messages that say what is wrong (item 4), and more of each kind so that every key is swept
    ("option-workers-secrets-backend", O({"workers.secrets_backend": "my.Backend"}),
     f"mwaa.airflowConfigurationOptions: \"workers.secrets_backend\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-workers-secrets-backend-kwargs", O({"workers.secrets_backend_kwargs": "{}"}, "eks"),
     f"mwaa.airflowConfigurationOptions: \"workers.secrets_backend_kwargs\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-fernet-key", O({"core.fernet_key": "x" * 44}),
     f"mwaa.airflowConfigurationOptions: \"core.fernet_key\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-fernet-key-upper-case", O({"CORE.FERNET_KEY": "k"}),
     f"mwaa.airflowConfigurationOptions: \"CORE.FERNET_KEY\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-sql-alchemy-conn", O({"database.sql_alchemy_conn": "postgresql://u:p@h/db"}, "eks"),
     f"mwaa.airflowConfigurationOptions: \"database.sql_alchemy_conn\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-sql-alchemy-conn-cmd", O({"database.sql_alchemy_conn_cmd": "cat /tmp/conn"}, "eks"),
     f"mwaa.airflowConfigurationOptions: \"database.sql_alchemy_conn_cmd\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-fernet-key-secret", O({"core.fernet_key_secret": "airflow/fernet"}),
     f"mwaa.airflowConfigurationOptions: \"core.fernet_key_secret\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-broker-url", O({"celery.broker_url": "redis://:pw@h:6379/0"}, "eks"),
     f"mwaa.airflowConfigurationOptions: \"celery.broker_url\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-result-backend", O({"celery.result_backend": "db+postgresql://u:p@h/db"}, "eks"),
     f"mwaa.airflowConfigurationOptions: \"celery.result_backend\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-executor", O({"core.executor": "LocalExecutor"}, "eks"),
     f"mwaa.airflowConfigurationOptions: \"core.executor\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-secrets-backend-kwargs-cmd", O({"secrets.backend_kwargs_cmd": "echo {}"}),
     f"mwaa.airflowConfigurationOptions: \"secrets.backend_kwargs_cmd\" is set by the program; allowed: options other than {PROGRAM_OPTIONS}"),
    ("option-deprecated-sql-alchemy-conn", O({"core.sql_alchemy_conn": "postgresql://u:p@h/db"}),
     f"mwaa.airflowConfigurationOptions: \"core.sql_alchemy_conn\" {SECRET_REFUSED}"),
    ("option-sentry-dsn", O({"sentry.sentry_dsn": "https://key@sentry.example/1"}),
     f"mwaa.airflowConfigurationOptions: \"sentry.sentry_dsn\" {SECRET_REFUSED}"),
    ("option-api-secret-key", O({"api.secret_key": "s3cret"}),
     f"mwaa.airflowConfigurationOptions: \"api.secret_key\" {SECRET_REFUSED}"),
    ("option-jwt-secret", O({"api_auth.jwt_secret": "s3cret"}),
     f"mwaa.airflowConfigurationOptions: \"api_auth.jwt_secret\" {SECRET_REFUSED}"),
    ("option-webserver-secret-key", O({"webserver.secret_key": "s3cret"}),
     f"mwaa.airflowConfigurationOptions: \"webserver.secret_key\" {SECRET_REFUSED}"),
    ("option-flower-basic-auth", O({"celery.flower_basic_auth": "admin:pw"}, "eks"),
     f"mwaa.airflowConfigurationOptions: \"celery.flower_basic_auth\" {SECRET_REFUSED}"),
    ("option-remote-task-handler-kwargs", O({"logging.remote_task_handler_kwargs": "{}"}),
     f"mwaa.airflowConfigurationOptions: \"logging.remote_task_handler_kwargs\" {SECRET_REFUSED}"),
    ("option-sql-alchemy-engine-args", O({"database.sql_alchemy_engine_args": "{}"}),
     f"mwaa.airflowConfigurationOptions: \"database.sql_alchemy_engine_args\" {SECRET_REFUSED}"),
    ("option-sql-alchemy-conn-async", O({"database.sql_alchemy_conn_async": "postgresql+asyncpg://u:p@h/db"}),
     f"mwaa.airflowConfigurationOptions: \"database.sql_alchemy_conn_async\" {SECRET_REFUSED}"),
    ("option-asset-manager-kwargs", O({"core.asset_manager_kwargs": "{}"}),
     f"mwaa.airflowConfigurationOptions: \"core.asset_manager_kwargs\" {SECRET_REFUSED}"),
    ("option-sentinel-kwargs", O({"celery_broker_transport_options.sentinel_kwargs": "{}"}, "eks"),
     f"mwaa.airflowConfigurationOptions: \"celery_broker_transport_options.sentinel_kwargs\" {SECRET_REFUSED}"),
    ("option-expose-config-true", O({"api.expose_config": "True"}),
     "mwaa.airflowConfigurationOptions.api.expose_config: \"True\" shows the whole configuration in the UI; allowed: false, or set mwaa.allowExposeConfig true to accept it"),
    ("option-expose-config-boolean", O({"api.expose_config": True}, "eks"),
     "mwaa.airflowConfigurationOptions.api.expose_config: true shows the whole configuration in the UI; allowed: false, or set mwaa.allowExposeConfig true to accept it"),
    ("option-expose-config-non-sensitive-only", O({"api.expose_config": "non-sensitive-only"}),
     "mwaa.airflowConfigurationOptions.api.expose_config: \"non-sensitive-only\" shows the whole configuration in the UI; allowed: false, or set mwaa.allowExposeConfig true to accept it"),
    ("option-webserver-expose-config", O({"webserver.expose_config": "true"}),
     "mwaa.airflowConfigurationOptions.webserver.expose_config: \"true\" shows the whole configuration in the UI; allowed: false, or set mwaa.allowExposeConfig true to accept it"),
    ("option-expose-config-one", O({"Api.Expose_Config": 1}),
     "mwaa.airflowConfigurationOptions.Api.Expose_Config: 1 shows the whole configuration in the UI; allowed: false, or set mwaa.allowExposeConfig true to accept it"),
    ("option-value-newline", O({"core.dags_folder": "/dags\n[core]"}),
     "mwaa.airflowConfigurationOptions.core.dags_folder: \"/dags\\n[core]\" holds a newline or control character; allowed: one line of printable text"),
    ("option-value-carriage-return", O({"core.default_timezone": "utc\r"}),
     "mwaa.airflowConfigurationOptions.core.default_timezone: \"utc\\r\" holds a newline or control character; allowed: one line of printable text"),
    ("option-value-terminal-escape", O({"core.default_timezone": "\x1b[31mutc"}),
     "mwaa.airflowConfigurationOptions.core.default_timezone: \"\\u001b[31mutc\" holds a newline or control character; allowed: one line of printable text"),
    ("option-value-tab", O({"webserver.instance_name": "a\tb"}),
     "mwaa.airflowConfigurationOptions.webserver.instance_name: \"a\\tb\" holds a newline or control character; allowed: one line of printable text"),
    ("option-value-nul", O({"core.default_timezone": "utc\x00"}),
     "mwaa.airflowConfigurationOptions.core.default_timezone: \"utc\\u0000\" holds a newline or control character; allowed: one line of printable text"),
    ("option-value-delete", O({"core.default_timezone": "utc\x7f"}),
     "mwaa.airflowConfigurationOptions.core.default_timezone: \"utc\\u007f\" holds a newline or control character; allowed: one line of printable text"),
    ("option-value-helm-template", O({"webserver.instance_name": "{{ .Values.data.metadataConnection.pass }}"}, "eks"),
     "mwaa.airflowConfigurationOptions.webserver.instance_name: \"{{ .Values.data.metadataConnection.pass }}\" holds '{{', which the Helm chart renders as a template; allowed: text without '{{'"),
    ("option-value-helm-template-inside", O({"core.default_timezone": "utc{{x}}"}),
     "mwaa.airflowConfigurationOptions.core.default_timezone: \"utc{{x}}\" holds '{{', which the Helm chart renders as a template; allowed: text without '{{'"),
    ("option-case-duplicate-key", O({"core.parallelism": "32", "core.Parallelism": "64"}),
     "mwaa.airflowConfigurationOptions: \"core.Parallelism\" and \"core.parallelism\" are the same option (Airflow ignores case); allowed: each option once"),
    ("option-case-duplicate-section", O({"core.parallelism": "32", "CORE.parallelism": "64"}),
     "mwaa.airflowConfigurationOptions: \"CORE.parallelism\" and \"core.parallelism\" are the same option (Airflow ignores case); allowed: each option once"),
    ("cidr-this-network", {"target": "mwaa", "network": {"vpcCidr": "0.0.0.0/16"}},
     f"network.vpcCidr: \"0.0.0.0/16\" {NOT_RFC1918}"),
    ("cidr-loopback", {"target": "mwaa", "network": {"vpcCidr": "127.0.0.0/16"}},
     f"network.vpcCidr: \"127.0.0.0/16\" {NOT_RFC1918}"),
    ("cidr-link-local", {"target": "mwaa", "network": {"vpcCidr": "169.254.0.0/16"}},
     f"network.vpcCidr: \"169.254.0.0/16\" {NOT_RFC1918}"),
    ("cidr-benchmarking", {"target": "mwaa", "network": {"vpcCidr": "198.18.0.0/16"}},
     f"network.vpcCidr: \"198.18.0.0/16\" {NOT_RFC1918}"),
    ("cidr-reserved-class-e", {"target": "mwaa", "network": {"vpcCidr": "240.0.0.0/16"}},
     f"network.vpcCidr: \"240.0.0.0/16\" {NOT_RFC1918}"),
    ("cidr-shared-address-space", {"target": "mwaa", "network": {"vpcCidr": "100.64.0.0/16"}},
     f"network.vpcCidr: \"100.64.0.0/16\" {NOT_RFC1918}"),
    ("cidr-next-to-172-16", {"target": "mwaa", "network": {"vpcCidr": "172.32.0.0/16"}},
     f"network.vpcCidr: \"172.32.0.0/16\" {NOT_RFC1918}"),
    ("cidr-documentation", {"target": "mwaa", "network": {"vpcCidr": "192.0.0.0/22"}},
     f"network.vpcCidr: \"192.0.0.0/22\" {NOT_RFC1918}"),
    ("eks-environment-name-double-hyphen", {"target": "eks", "environmentName": "air--flow"},
     "environmentName: \"air--flow\" has two hyphens in a row, which RDS refuses in the database's identifier; allowed: single hyphens between letters or digits, e.g. airflow-prod"),
    ("eks-environment-name-triple-hyphen", {"target": "eks", "environmentName": "airflow---prod"},
     "environmentName: \"airflow---prod\" has two hyphens in a row, which RDS refuses in the database's identifier; allowed: single hyphens between letters or digits, e.g. airflow-prod"),
    ("eks-endpoint-cidrs-41", E({"endpointPublicAccessCidrs": [f"203.0.{i}.0/24" for i in range(41)]}),
     "eks.endpointPublicAccessCidrs: 41 entries are too many; allowed: at most 40"),
    ("eks-endpoint-cidrs-255", E({"endpointPublicAccessCidrs": [f"198.51.{i}.0/24" for i in range(255)]}),
     "eks.endpointPublicAccessCidrs: 255 entries are too many; allowed: at most 40"),
    ("eks-db-class-enormous", E({"database": {"instanceClass": "db.t4g.enormous"}}),
     "eks.database.instanceClass: \"db.t4g.enormous\" is not a size AWS offers; allowed sizes of db.t4g: micro, small, medium, large, xlarge, 2xlarge"),
    ("eks-db-class-nano", E({"database": {"instanceClass": "db.t4g.nano"}}),
     "eks.database.instanceClass: \"db.t4g.nano\" is not a size AWS offers; allowed sizes of db.t4g: micro, small, medium, large, xlarge, 2xlarge"),
    ("eks-db-class-metal", E({"database": {"instanceClass": "db.m6i.metal"}}),
     "eks.database.instanceClass: \"db.m6i.metal\" is not a size AWS offers; allowed sizes of db.m6i: large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, 24xlarge, 32xlarge"),
    ("eks-db-class-7xlarge", E({"database": {"instanceClass": "db.r6g.7xlarge"}}),
     "eks.database.instanceClass: \"db.r6g.7xlarge\" is not a size AWS offers; allowed sizes of db.r6g: large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge"),
    ("eks-db-class-graviton-medium", E({"database": {"instanceClass": "db.m6g.medium"}}),
     "eks.database.instanceClass: \"db.m6g.medium\" is not a size AWS offers; allowed sizes of db.m6g: large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge"),
    ("eks-cache-node-t4g-large", E({"cache": {"nodeType": "cache.t4g.large"}}),
     "eks.cache.nodeType: \"cache.t4g.large\" is not a size AWS offers; allowed sizes of cache.t4g: micro, small, medium"),
    ("eks-cache-node-m5-8xlarge", E({"cache": {"nodeType": "cache.m5.8xlarge"}}),
     "eks.cache.nodeType: \"cache.m5.8xlarge\" is not a size AWS offers; allowed sizes of cache.m5: large, xlarge, 2xlarge, 4xlarge, 12xlarge, 24xlarge"),
    ("eks-cache-node-enormous", E({"cache": {"nodeType": "cache.r7g.enormous"}}),
     "eks.cache.nodeType: \"cache.r7g.enormous\" is not a size AWS offers; allowed sizes of cache.r7g: large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge"),
    ("eks-instance-type-7xlarge", E({"nodeGroups": [{"name": "airflow", "instanceTypes": ["m6i.7xlarge"]}]}),
     "eks.nodeGroups[0].instanceTypes[0]: \"m6i.7xlarge\" is not an EC2 instance type; allowed: a type in the EC2 API's list, e.g. m6i.large"),
    ("eks-instance-type-enormous", E({"nodeGroups": [{"name": "airflow", "instanceTypes": ["t3.enormous"]}]}),
     "eks.nodeGroups[0].instanceTypes[0]: \"t3.enormous\" is not an EC2 instance type; allowed: a type in the EC2 API's list, e.g. m6i.large"),
    ("eks-instance-type-made-up-family", E({"nodeGroups": [{"name": "airflow", "instanceTypes": ["m99i.large"]}]}),
     "eks.nodeGroups[0].instanceTypes[0]: \"m99i.large\" is not an EC2 instance type; allowed: a type in the EC2 API's list, e.g. m6i.large"),
    ("eks-instance-types-duplicate", E({"nodeGroups": [{"name": "airflow", "instanceTypes": ["m6i.large", "m6i.large"]}]}),
     "eks.nodeGroups[0].instanceTypes: \"m6i.large\" is listed twice; allowed: each item once"),
    ("eks-instance-types-duplicate-later", E({"nodeGroups": [{"name": "a1"}, {"name": "b1", "instanceTypes": ["t3.large", "m6i.large", "t3.large"]}]}),
     "eks.nodeGroups[1].instanceTypes: \"t3.large\" is listed twice; allowed: each item once"),
    ("tag-kubernetes-cluster", {"target": "eks", "tags": {"kubernetes.io/cluster/airflow": "owned"}},
     f"tags: key \"kubernetes.io/cluster/airflow\" {EKS_TAG_REFUSED}"),
    ("tag-kubernetes-cluster-other", {"target": "mwaa", "tags": {"kubernetes.io/cluster/other-cluster": "shared"}},
     f"tags: key \"kubernetes.io/cluster/other-cluster\" {EKS_TAG_REFUSED}"),
    ("tag-cluster-autoscaler-enabled", {"target": "eks", "tags": {"k8s.io/cluster-autoscaler/enabled": "true"}},
     f"tags: key \"k8s.io/cluster-autoscaler/enabled\" {EKS_TAG_REFUSED}"),
    ("tag-cluster-autoscaler-node-template", {"target": "eks", "tags": {"k8s.io/cluster-autoscaler/node-template/label/x": "y"}},
     f"tags: key \"k8s.io/cluster-autoscaler/node-template/label/x\" {EKS_TAG_REFUSED}"),
    ("boolean-trailing-newline", {"target": "mwaa", "protectData": "true\n"},
     "protectData: \"true\\n\" has the wrong type; allowed: boolean"),
    ("boolean-leading-space", {"target": "eks", "keepMwaa": " true"},
     "keepMwaa: \" true\" has the wrong type; allowed: boolean"),
    ("boolean-nested-trailing-newline", E({"allowOpenApiEndpoint": "true\n"}),
     "eks.allowOpenApiEndpoint: \"true\\n\" has the wrong type; allowed: boolean"),
    ("boolean-multi-az-text", E({"database": {"multiAz": "false"}}),
     "eks.database.multiAz: \"false\" has the wrong type; allowed: boolean"),
    ("eks-kubernetes-version-number", E({"kubernetesVersion": 1.35}),
     "eks.kubernetesVersion: 1.35 is a number, not a string; allowed: one of \"1.33\", \"1.34\", \"1.35\", \"1.36\" written in quotes, e.g. \"1.36\""),
    ("eks-kubernetes-version-number-1-3", E({"kubernetesVersion": 1.3}),
     "eks.kubernetesVersion: 1.3 is a number, not a string; allowed: one of \"1.33\", \"1.34\", \"1.35\", \"1.36\" written in quotes, e.g. \"1.36\""),
    ("eks-db-engine-version-16-number", E({"database": {"engineVersion": 16}}),
     "eks.database.engineVersion: 16 is a number, not a string; allowed: one of \"16\", \"17\" written in quotes, e.g. \"17\""),
    ("eks-db-engine-version-number", E({"database": {"engineVersion": 17}}),
     "eks.database.engineVersion: 17 is a number, not a string; allowed: one of \"16\", \"17\" written in quotes, e.g. \"17\""),
    ("eks-endpoint-private-10-8", E({"endpointPublicAccessCidrs": ["10.0.0.0/8"]}),
     f"eks.endpointPublicAccessCidrs[0]: \"10.0.0.0/8\" {PRIVATE_API_CIDR}"),
    ("eks-endpoint-private-192-168", E({"endpointPublicAccessCidrs": ["203.0.113.0/24", "192.168.1.0/24"]}),
     f"eks.endpointPublicAccessCidrs[1]: \"192.168.1.0/24\" {PRIVATE_API_CIDR}"),
    ("eks-endpoint-private-172-16", E({"endpointPublicAccessCidrs": ["172.16.0.0/12"]}),
     f"eks.endpointPublicAccessCidrs[0]: \"172.16.0.0/12\" {PRIVATE_API_CIDR}"),
    ("max-workers-negative", {"target": "mwaa", "mwaa": {"maxWorkers": -1}},
     "mwaa.maxWorkers: -1 is out of range for mw1.small; allowed: 1 to 25"),
    ("max-webservers-below-class", {"target": "mwaa", "mwaa": {"maxWebservers": 1}},
     "mwaa.maxWebservers: 1 is out of range for mw1.small; allowed: 2 to 5"),
    ("min-workers-zero", {"target": "mwaa", "mwaa": {"minWorkers": 0}},
     "mwaa.minWorkers: 0 is out of range for mw1.small; allowed: 1 to 25"),
    ("eks-cache-nodes-zero", E({"cache": {"nodes": 0}}),
     "eks.cache.nodes: 0 is out of range; allowed: 1 to 6"),
    ("eks-cache-nodes-seven", E({"cache": {"nodes": 7}}),
     "eks.cache.nodes: 7 is out of range; allowed: 1 to 6"),
    ("eks-cache-engine", E({"cache": {"engine": "memcached"}}),
     "eks.cache.engine: \"memcached\" is not allowed; allowed: valkey, redis"),
    ("eks-db-backup-retention-six", E({"database": {"backupRetentionDays": 6}}),
     "eks.database.backupRetentionDays: 6 is out of range; allowed: 7 to 35"),
    ("eks-db-storage-nineteen", E({"database": {"allocatedStorageGb": 19}}),
     "eks.database.allocatedStorageGb: 19 is out of range; allowed: 20 to 65536"),
    ("eks-db-engine-version-old", E({"database": {"engineVersion": "13"}}),
     "eks.database.engineVersion: \"13\" is not allowed; allowed: 16, 17"),
    ("eks-workers-concurrency-zero", E({"workers": {"concurrency": 0}}),
     "eks.workers.concurrency: 0 is out of range; allowed: 1 to 64"),
    ("eks-workers-concurrency-65", E({"workers": {"concurrency": 65}}),
     "eks.workers.concurrency: 65 is out of range; allowed: 1 to 64"),
    ("eks-workers-task-cpu-nine", E({"workers": {"taskCpuMillis": 9}}),
     "eks.workers.taskCpuMillis: 9 is out of range; allowed: 10 to 64000"),
    ("eks-workers-unknown-node-group", E({"workers": {"nodeGroup": "gpu"}}),
     "eks.workers.nodeGroup: \"gpu\" is not a node group; allowed: airflow"),
    ("eks-node-group-disk-nineteen", E({"nodeGroups": [{"name": "airflow", "diskSizeGb": 19}]}),
     "eks.nodeGroups[0].diskSizeGb: 19 is out of range; allowed: 20 to 1000"),
    ("eks-node-group-max-size-zero", E({"nodeGroups": [{"name": "airflow", "minSize": 0, "desiredSize": 0, "maxSize": 0}]}),
     "eks.nodeGroups[0].maxSize: 0 is out of range; allowed: 1 to 100"),
    ("eks-node-group-capacity-lowercase", E({"nodeGroups": [{"name": "airflow", "capacityType": "spot"}]}),
     "eks.nodeGroups[0].capacityType: \"spot\" is not allowed; allowed: ON_DEMAND, SPOT"),
    ("eks-node-group-name-uppercase", E({"nodeGroups": [{"name": "Airflow"}]}),
     "eks.nodeGroups[0].name: \"Airflow\" is not valid; allowed: lowercase letters, digits and '-', up to 31 characters"),
    ("eks-node-group-empty-instance-types", E({"nodeGroups": [{"name": "airflow", "instanceTypes": []}]}),
     "eks.nodeGroups[0].instanceTypes: [] is empty; allowed: at least 1 item(s)"),
    ("eks-image-tag-space", E({"image": {"tag": "3.3.1 latest"}}),
     "eks.image.tag: \"3.3.1 latest\" is not valid; allowed: a container image tag"),
    ("eks-image-repository-uppercase", E({"image": {"repository": "Example.com/Airflow"}}),
     "eks.image.repository: \"Example.com/Airflow\" is not valid; allowed: a container image repository such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow"),
    ("eks-resources-negative-cpu", E({"resources": {"scheduler": {"cpuMillis": -1}}}),
     "eks.resources.scheduler.cpuMillis: -1 is out of range; allowed: 0 to 64000"),
    ("eks-resources-unknown-pod", E({"resources": {"webserver": {"cpuMillis": 100}}}),
     "eks.resources.webserver: unknown config key; allowed keys: apiServer, dagProcessor, jobs, logGroomer, nodeReserved, pgbouncer, pgbouncerExporter, queuedAgeExporter, redis, scheduler, statsd, system, triggerer"),
    ("environment-name-too-short", {"target": "mwaa", "environmentName": "ab"},
     "environmentName: \"ab\" is not valid; allowed: 3-24 lowercase letters, digits or '-', starting with a letter"),
    ("environment-name-trailing-hyphen", {"target": "mwaa", "environmentName": "airflow-"},
     "environmentName: \"airflow-\" is not valid; allowed: 3-24 lowercase letters, digits or '-', starting with a letter"),
    ("environment-name-too-long", {"target": "mwaa", "environmentName": "a" * 25},
     "environmentName: \"aaaaaaaaaaaaaaaaaaaaaaaaa\" is not valid; allowed: 3-24 lowercase letters, digits or '-', starting with a letter"),
    ("environment-name-leading-digit", {"target": "mwaa", "environmentName": "1airflow"},
     "environmentName: \"1airflow\" is not valid; allowed: 3-24 lowercase letters, digits or '-', starting with a letter"),
    ("access-mode-lower-case", {"target": "mwaa", "mwaa": {"webserverAccessMode": "private_only"}},
     "mwaa.webserverAccessMode: \"private_only\" is not allowed; allowed: PRIVATE_ONLY, PUBLIC_ONLY"),
    ("nat-mode-lower-case", {"target": "mwaa", "network": {"natGateways": "peraz"}},
     "network.natGateways: \"peraz\" is not allowed; allowed: single, perAz"),
    ("workload-negative", {"target": "mwaa", "workload": {"averageConcurrentTasks": -1}},
     "workload.averageConcurrentTasks: -1 is out of range; allowed: >= 0"),
    ("tags-not-a-map", {"target": "mwaa", "tags": ["team=data"]},
     "tags: [\"team=data\"] has the wrong type; allowed: object"),
    ("option-value-list", O({"core.parallelism": [32]}),
     "mwaa.airflowConfigurationOptions.core.parallelism: [32] has the wrong type; allowed: ['string', 'number', 'boolean']"),
    ("allow-expose-config-text", {"target": "mwaa", "mwaa": {"allowExposeConfig": "yes"}},
     "mwaa.allowExposeConfig: \"yes\" has the wrong type; allowed: boolean"),
]


@pytest.mark.parametrize(("raw", "expected"), [case[1:] for case in BAD_VALUES], ids=[case[0] for case in BAD_VALUES])
def test_one_bad_value_gives_exactly_its_one_line_problem(raw, expected):
    assert problems_of(raw) == [expected]


# Mistakes only the Pulumi engine can hand the program: `aws:` keys, and text where a boolean is due (run through the
# real program only; the values are the strings the engine passes).
REGION_ALLOWED = "allowed: an AWS region such as us-east-1 (the regions of botocore's partitions.json)"
ENGINE_BAD_VALUES = [
    ("region-empty", {"aws:region": ""}, f'aws:region: "" is not allowed; {REGION_ALLOWED}'),
    ("region-made-up", {"aws:region": "mars-north-1"}, f'aws:region: "mars-north-1" is not allowed; {REGION_ALLOWED}'),
    ("region-trailing-newline", {"aws:region": "us-east-1\n"}, f'aws:region: "us-east-1\\n" is not allowed; {REGION_ALLOWED}'),
    ("region-upper-case", {"aws:region": "US-EAST-1"}, f'aws:region: "US-EAST-1" is not allowed; {REGION_ALLOWED}'),
    ("region-trailing-space", {"aws:region": "eu-west-1 "}, f'aws:region: "eu-west-1 " is not allowed; {REGION_ALLOWED}'),
    ("region-availability-zone", {"aws:region": "us-east-1a"}, f'aws:region: "us-east-1a" is not allowed; {REGION_ALLOWED}'),
    ("region-global-pseudo-region", {"aws:region": "aws-global"}, f'aws:region: "aws-global" is not allowed; {REGION_ALLOWED}'),
    ("engine-boolean-trailing-newline", {"protectData": "false\n"}, 'protectData: "false\\n" has the wrong type; allowed: boolean'),
    ("engine-boolean-trailing-space", {"target": "eks", "keepMwaa": "true "}, 'keepMwaa: "true " has the wrong type; allowed: boolean'),
    ("engine-boolean-capitalised", {"protectData": "True"}, 'protectData: "True" has the wrong type; allowed: boolean'),
]


def test_bad_value_cases_are_distinct_and_numerous():
    # The tables are the contract: at least 150 different mistakes, each with its own message, and none accepted.
    cases = BAD_VALUES + ENGINE_BAD_VALUES
    assert len({case[0] for case in cases}) == len(cases) >= 150
    assert len({case[2] for case in cases}) == len(cases)


@pytest.mark.parametrize(("overrides", "expected"), [case[1:] for case in ENGINE_BAD_VALUES],
                         ids=[case[0] for case in ENGINE_BAD_VALUES])
def test_engine_values_stop_the_real_program_before_anything_is_declared(overrides, expected, monitors):
    import pulumi

    import tools.planner as planner

    with pytest.raises(pulumi.RunError) as caught:
        planner.plan("dev", overrides)
    assert str(caught.value).splitlines() == ["invalid stack config (1 problem(s)):", f"  {expected}"]
    assert len(monitors) == 1 and monitors[0].planned == [] and monitors[0].resources == {}


def test_every_region_botocore_knows_is_accepted_and_the_planned_one_is_used():
    import tools.planner as planner
    from components.settings import aws_names

    assert {"us-east-1", "eu-central-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"} <= aws_names.regions()
    assert not any(r.endswith("-global") for r in aws_names.regions())
    plan = planner.plan("dev", {"aws:region": "eu-central-1"})
    assert any("eu-central-1" in json.dumps(r.inputs, default=str) for r in plan.resources)


@pytest.mark.parametrize(("raw", "expected"), [case[1:] for case in BAD_VALUES], ids=[case[0] for case in BAD_VALUES])
def test_every_problem_names_its_key_and_what_is_allowed_on_one_line(raw, expected):
    [problem] = problems_of(raw)
    assert "\n" not in problem and "\r" not in problem
    key = problem.split(":", 1)[0]
    # The key named is a real path into the config that was given (or the required key that is missing).
    top = re.split(r"[.\[]", key, maxsplit=1)[0]
    assert top in raw or top in CONFIG_SCHEMA["required"]
    assert "allowed" in problem.split(";")[-1]
    # The bad value is shown, as JSON (or its count, for a list or map too long), unless the mistake is a missing key
    # or an unknown one (then the key named is the bad value).
    if "not set" not in problem and "unknown config key" not in problem:
        shown = [json.dumps(v) for v in _scalars({k: v for k, v in raw.items() if k != "target" or top == "target"})]
        assert any(text in problem for text in shown), (problem, shown)


def _scalars(value):
    """Every map key and scalar value inside `value`, and the size of every map or list (what a message may show)."""
    if isinstance(value, dict):
        yield len(value)
        for key, item in value.items():
            yield key
            yield from _scalars(item)
    elif isinstance(value, list):
        yield len(value)
        yield value
        for item in value:
            yield from _scalars(item)
    else:
        yield value


def test_all_problems_are_reported_at_once():
    raw = {
        "target": "kubernetes",  # schema: enum
        "airflowVersion": "1.10.15",  # schema: enum
        "network": {"vpcCidr": "8.8.0.0/16"},  # rule: not private
        "mwaa": {"environmentClass": "mw1.small", "maxWorkers": 30},  # rule: class range
        "eks": {"broker": "sqs"},  # schema: enum
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, "dev")
    problems = caught.value.problems
    assert len(problems) == 5
    assert sorted(p.split(":", 1)[0] for p in problems) == [
        "airflowVersion", "eks.broker", "mwaa.maxWorkers", "network.vpcCidr", "target"]
    # The exception's text is those problems, one per line.
    assert str(caught.value).splitlines() == problems


def test_problems_in_several_keys_of_one_section_are_all_reported():
    raw = {"target": "mwaa", "mwaa": {"logLevel": "LOUD", "webserverAccessMode": "OPEN", "minWorkerz": 1}}
    assert sorted(problems_of(raw)) == sorted([
        f"mwaa.minWorkerz: unknown config key; allowed keys: {MWAA_KEYS}",
        'mwaa.logLevel: "LOUD" is not allowed; allowed: CRITICAL, ERROR, WARNING, INFO, DEBUG',
        'mwaa.webserverAccessMode: "OPEN" is not allowed; allowed: PRIVATE_ONLY, PUBLIC_ONLY',
    ])


def test_open_api_endpoint_is_accepted_when_explicitly_allowed():
    settings = parse_settings({"target": "eks", "eks": {"endpointPublicAccessCidrs": ["0.0.0.0/0"],
                                                         "allowOpenApiEndpoint": True}}, "dev")
    assert settings.eks.endpoint_public_access_cidrs == ("0.0.0.0/0",)
    assert settings.eks.allow_open_api_endpoint is True


def test_keep_mwaa_is_valid_with_target_eks():
    settings = parse_settings({"target": "eks", "keepMwaa": True}, "dev")
    assert settings.deploys_eks and settings.deploys_mwaa


# ------------------------------------------------------------------------------------ requirements pinning


def _requirements(tmp_path, monkeypatch, *lines: str) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(airflow_config, "REQUIREMENTS", path)


def test_requirement_not_pinned_by_the_versions_constraints_is_a_problem(tmp_path, monkeypatch):
    _requirements(tmp_path, monkeypatch, "--constraint https://example.invalid/c.txt", "apache-airflow-providers-amazon",
                  "surely-not-a-real-package-xyz")
    assert problems_of({"target": "mwaa", "airflowVersion": "3.3.1"}) == [
        "airflowVersion: \"3.3.1\" does not pin 'surely-not-a-real-package-xyz' listed in airflow/requirements.txt; "
        "allowed: packages pinned by airflow/constraints/constraints-3.3.1.txt, or another airflowVersion"]


def test_requirement_pinned_only_by_newer_airflow_is_a_problem_for_the_older_version(tmp_path, monkeypatch):
    # The standard provider exists from Airflow 3 on: fine for 3.3.1, unpinned (so unresolvable on MWAA) for 2.9.2.
    _requirements(tmp_path, monkeypatch, "apache-airflow-providers-standard")
    assert parse_settings({"target": "mwaa", "airflowVersion": "3.3.1"}, "dev").airflow_version == "3.3.1"
    assert problems_of({"target": "mwaa", "airflowVersion": "2.9.2"}) == [
        "airflowVersion: \"2.9.2\" does not pin 'apache-airflow-providers-standard' listed in airflow/requirements.txt; "
        "allowed: packages pinned by airflow/constraints/constraints-2.9.2.txt, or another airflowVersion"]


def test_requirement_names_match_constraints_whatever_their_spelling(tmp_path, monkeypatch):
    # pip normalises names (case, '_' and '.' equal '-'); extras, markers and comments don't change the name.
    _requirements(tmp_path, monkeypatch, "# comment line", "Apache_Airflow.Providers-AMAZON[s3fs]  # inline comment",
                  "boto3 ; python_version >= '3.9'", "-r other.txt")
    assert parse_settings({"target": "mwaa"}, "dev").airflow_version == "3.3.1"


def test_unpinned_requirements_are_listed_with_other_problems(tmp_path, monkeypatch):
    _requirements(tmp_path, monkeypatch, "no-such-package-one", "no-such-package-two")
    problems = problems_of({"target": "mwaa", "mwaa": {"logLevel": "LOUD"}})
    assert len(problems) == 3
    assert sum("no-such-package-one" in p for p in problems) == 1
    assert sum("no-such-package-two" in p for p in problems) == 1
    assert sum(p.startswith("mwaa.logLevel:") for p in problems) == 1


def test_allowed_airflow_versions_are_exactly_those_with_shipped_constraints():
    # A version is only deployable if its constraints file ships (requirements are resolved against it).
    shipped = sorted(p.name[len("constraints-"):-len(".txt")] for p in airflow_config.CONSTRAINTS_DIR.glob("constraints-*.txt"))
    assert sorted(VERSIONS.split(", ")) == shipped
    assert "1.29" not in EKS_KUBERNETES_VERSIONS  # the kubernetesVersion case above stays a bad value


def test_shipped_requirements_are_pinned_for_every_supported_version():
    from components.settings import AIRFLOW_VERSIONS

    for version in AIRFLOW_VERSIONS:
        assert parse_settings({"target": "mwaa", "airflowVersion": version}, "dev").airflow_version == version


# ------------------------------------------------------------------------------------------- valid configs


def test_dev_stack_file_parses(stack_raw_config):
    settings = parse_settings(stack_raw_config("dev"), "dev")
    assert settings.target == "mwaa" and settings.stack == "dev"
    assert settings.airflow_version == "3.3.1"
    assert settings.environment_name == "airflow-dev"
    assert settings.protect_data is False
    assert settings.network.vpc_cidr == "10.20.0.0/16" and settings.network.nat_gateways == "single"
    assert settings.mwaa.environment_class == "mw1.micro"
    assert (settings.mwaa.min_workers, settings.mwaa.max_workers, settings.mwaa.schedulers) == (1, 1, 1)
    assert settings.mwaa.airflow_configuration_options == {"core.default_task_retries": "2"}
    assert [g.name for g in settings.eks.node_groups] == ["airflow"]
    assert settings.eks.node_groups[0].instance_types == ("t3.large",)


def test_prod_stack_file_parses(stack_raw_config):
    settings = parse_settings(stack_raw_config("prod"), "prod")
    assert settings.protect_data is True
    assert settings.network.nat_gateways == "perAz"
    assert settings.mwaa.environment_class == "mw1.medium"
    assert (settings.mwaa.min_workers, settings.mwaa.max_workers) == (2, 10)
    assert (settings.mwaa.schedulers, settings.mwaa.min_webservers, settings.mwaa.max_webservers) == (2, 2, 3)
    assert settings.mwaa.log_level == "WARNING"
    assert [(g.name, g.min_size, g.desired_size, g.max_size) for g in settings.eks.node_groups] == [
        ("system", 2, 2, 3), ("workers", 1, 2, 10)]
    assert settings.eks.database.multi_az is True
    assert settings.eks.database.max_allocated_storage_gb == 500


def test_minimal_config_takes_documented_defaults():
    settings = parse_settings({"target": "mwaa"}, "staging")
    assert settings.airflow_version == "3.3.1"
    assert settings.environment_name == "airflow-staging"
    assert settings.mwaa.environment_class == "mw1.small"
    assert settings.mwaa.webserver_access_mode == "PRIVATE_ONLY"
    assert settings.network.nat_gateways == "single"


def test_micro_class_alone_is_valid_and_sizes_follow_the_class():
    mwaa = parse_settings({"target": "mwaa", "mwaa": {"environmentClass": "mw1.micro"}}, "dev").mwaa
    assert (mwaa.min_workers, mwaa.max_workers) == (1, 1)
    assert mwaa.schedulers == 1
    assert (mwaa.min_webservers, mwaa.max_webservers) == (1, 1)


def test_larger_class_alone_gets_its_own_minimums():
    mwaa = parse_settings({"target": "mwaa", "mwaa": {"environmentClass": "mw1.large"}}, "dev").mwaa
    assert mwaa.schedulers == 2
    assert (mwaa.min_webservers, mwaa.max_webservers) == (2, 2)
    assert mwaa.max_workers == 10


def test_class_upper_bounds_are_accepted():
    mwaa = parse_settings({"target": "mwaa", "mwaa": {"environmentClass": "mw1.xlarge", "maxWorkers": 25,
                                                      "schedulers": 5, "minWebservers": 5, "maxWebservers": 5}}, "dev").mwaa
    assert (mwaa.max_workers, mwaa.schedulers, mwaa.max_webservers) == (25, 5, 5)


def test_boolean_configuration_options_become_airflow_text():
    options = parse_settings({"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {
        "core.load_examples": False, "webserver.warn_deployment_exposure": True, "core.parallelism": 64}}},
        "dev").mwaa.airflow_configuration_options
    assert options == {"core.load_examples": "false", "webserver.warn_deployment_exposure": "true", "core.parallelism": "64"}


@pytest.mark.parametrize("stack,expected", [
    ("dev", "airflow-dev"),
    ("prod-eu", "airflow-prod-eu"),
    ("Prod", "airflow-prod-" + hashlib.sha256(b"Prod").hexdigest()[:4]),
    ("team.dev", "airflow-team-dev-" + hashlib.sha256(b"team.dev").hexdigest()[:4]),
    ("us-east-1-stage-2", "airflow-us-east-1-s-" + hashlib.sha256(b"us-east-1-stage-2").hexdigest()[:4]),
])
def test_environment_name_derived_from_any_stack_name_is_valid(stack, expected):
    """Pulumi stack names may hold capitals, '.', '_' and be long. The default environmentName derived from one
    feeds the MWAA name and the S3 bucket prefix, so it must obey the environmentName rule."""
    pattern = CONFIG_SCHEMA["properties"]["environmentName"]["pattern"]
    name = parse_settings({"target": "mwaa"}, stack).environment_name
    assert name == expected
    assert re.match(pattern, name), name


def test_changed_stack_names_never_share_an_environment_name():
    stacks = ["team.dev", "team_dev", "team-dev", "us-east-1-stage-2", "us-east-1-stage-3", "Prod", "prod"]
    names = [parse_settings({"target": "mwaa"}, stack).environment_name for stack in stacks]
    assert len(set(names)) == len(stacks), dict(zip(stacks, names))

# ------------------------------------------------------------------------- the same mistakes through the program


@pytest.mark.parametrize(("raw", "expected"), [case[1:] for case in BAD_VALUES], ids=[case[0] for case in BAD_VALUES])
def test_each_bad_value_stops_the_real_program_before_anything_is_declared(raw, expected, monitors, stack_raw_config):
    import pulumi

    import tools.planner as planner

    # Exactly `raw` as the stack's config: the dev stack's own keys are removed, the region stays.
    overrides = {**{key: None for key in stack_raw_config("dev")}, **raw}
    with pytest.raises(pulumi.RunError) as caught:
        planner.plan("dev", overrides)
    assert str(caught.value).splitlines() == ["invalid stack config (1 problem(s)):", f"  {expected}"]
    assert len(monitors) == 1 and monitors[0].planned == [] and monitors[0].resources == {}


def test_values_at_the_edge_of_each_new_rule_are_accepted():
    settings = parse_settings({
        "target": "eks",
        "tags": {**{f"t{i}": "v" for i in range(45)}, "k" * 128: "v" * 256, "cost-center/team:a_b=c+d@e.f": ""},
        "mwaa": {"airflowConfigurationOptions": {"core.default_task_retries": 2, "_s.k_1": "x"}},
        "eks": {"endpointPublicAccessCidrs": ["203.0.113.0/24", "16.0.0.0/9", "16.0.0.0/9"]},
        "workload": {"averageConcurrentTasks": 0.5, "peakConcurrentTasks": 1e6, "peakHoursPerDay": 24},
    }, "dev")
    assert len(settings.tags) == 47  # the most that leaves room for the program's own 3 within AWS's 50
    assert settings.eks.endpoint_public_access_cidrs == ("203.0.113.0/24", "16.0.0.0/9", "16.0.0.0/9")
    assert settings.mwaa.airflow_configuration_options == {"core.default_task_retries": "2", "_s.k_1": "x"}


@pytest.mark.parametrize("target", ["mwaa", "eks"])
def test_the_program_puts_at_most_its_counted_tags_on_a_resource(planned, target):
    from components.settings import PROGRAM_TAG_KEYS, PROGRAM_TAGS_PER_RESOURCE

    plan = planned("dev", target=target, tags={"team": "data"})
    tagged = [r for r in plan.resources if isinstance(r.inputs.get("tags"), dict)]
    assert len(tagged) > 20
    own = [{k for k in r.inputs["tags"] if k != "team"} for r in tagged]
    assert max(len(keys) for keys in own) == PROGRAM_TAGS_PER_RESOURCE
    assert set().union(*own) <= set(PROGRAM_TAG_KEYS)
    assert all(r.inputs["tags"]["team"] == "data" for r in tagged)


def test_options_the_program_sets_are_exactly_the_reserved_ones(planned):
    from components.airflow_config import MWAA_IMAGE_DEFAULTS, PROGRAM_OPTIONS

    plan = planned("dev", target="eks", keepMwaa=True)
    config = plan.one("kubernetes:helm.sh/v3:Release", "eks-airflow").inputs["values"]["config"]
    set_on_eks = {f"{section}.{key}" for section, options in config.items() for key in options}
    set_on_mwaa = set(plan.one("aws:mwaa/environment:Environment").inputs["airflowConfigurationOptions"])
    user = set(stack_raw_config_options())
    assert (set_on_eks | set_on_mwaa) - user == set(PROGRAM_OPTIONS) | set(MWAA_IMAGE_DEFAULTS)


def stack_raw_config_options() -> dict:
    from tests.conftest import stack_raw_config

    return stack_raw_config("dev").get("mwaa", {}).get("airflowConfigurationOptions", {})


@pytest.mark.parametrize("value, expected", [
    ("31", "logRetentionDays: 31 is not allowed; allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, "
           "1096, 1827, 2192, 2557, 2922, 3288, 3653"),
    ("forever", 'logRetentionDays: "forever" is not allowed; allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, '
                "400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"),
])
def test_log_retention_takes_only_what_cloudwatch_accepts_in_one_line(value, expected):
    from components.settings import decode_config_values

    with pytest.raises(ConfigError) as error:
        parse_settings(decode_config_values({"target": "mwaa", "logRetentionDays": value}), "dev")
    assert error.value.problems == [expected]
    assert parse_settings(decode_config_values({"target": "mwaa", "logRetentionDays": "365"}), "dev").log_retention_days == 365
    assert parse_settings({"target": "mwaa"}, "dev").log_retention_days == 90  # the default


# ------------------------------------------------------------------ issue 20: where the refused names come from


def test_shipped_sensitive_options_match_the_installed_airflow():
    """The list is Airflow's own (config.yml and providers' `sensitive: true`, with deprecated names), regenerated here
    from the real Airflow in .venv-airflow; the program's venv has none, so it ships the list."""
    import subprocess
    from pathlib import Path

    from components.settings import AIRFLOW_VERSIONS, option_rules

    python = Path(__file__).resolve().parents[1] / ".venv-airflow" / "bin" / "python"
    assert python.exists(), "no .venv-airflow: run `make airflow-venv` (make test does)"
    script = ("import airflow, json; from airflow.configuration import conf; print(json.dumps({'version': "
              "airflow.__version__, 'sensitive': sorted(f'{s}.{k}' for s, k in conf.sensitive_config_values)}))")
    live = json.loads(subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True,
                                     timeout=120).stdout)
    shipped = json.loads(option_rules._SENSITIVE_FILE.read_text())
    assert shipped["airflowVersion"] == live["version"] == AIRFLOW_VERSIONS[-1]
    assert list(option_rules.sensitive_options()) == live["sensitive"]
    assert {"core.fernet_key", "database.sql_alchemy_conn", "celery.broker_url", "workers.secrets_backend_kwargs"} <= set(live["sensitive"])


def test_options_a_target_sets_are_set_by_the_planned_chart(planned):
    """TARGET_OPTIONS names, for each option, the chart value through which the program sets it on EKS."""
    plan = planned("dev", target="eks")
    values = plan.one("kubernetes:helm.sh/v3:Release", "eks-airflow").inputs["values"]
    for option, path in airflow_config.TARGET_OPTIONS.items():
        node = values
        for part in path.split("."):
            node = node[part]
        assert node, (option, path)
    assert values["executor"] == "CeleryExecutor"


def test_aws_names_come_from_botocore_and_keep_the_defaults_valid():
    from components.settings import aws_names
    from components.settings.model import CacheSettings, DatabaseSettings, NodeGroupSettings

    assert DatabaseSettings().instance_class in aws_names.db_instance_classes()
    assert CacheSettings().node_type in aws_names.cache_node_types()
    assert set(NodeGroupSettings(name="x").instance_types) <= aws_names.ec2_instance_types()
    assert {"db.t4g.micro", "db.m7g.large", "db.r6i.32xlarge"} <= aws_names.db_instance_classes()
    assert not {"db.t4g.nano", "db.m6g.medium", "db.m6i.metal"} & aws_names.db_instance_classes()
    assert {"cache.t4g.micro", "cache.r7g.16xlarge"} <= aws_names.cache_node_types()
    assert "cache.t4g.large" not in aws_names.cache_node_types()


def test_values_at_the_edge_of_the_issue_20_rules_are_accepted():
    settings = parse_settings({
        "target": "eks",
        "environmentName": "air-flow-2",
        "network": {"vpcCidr": "172.31.0.0/16"},
        "tags": {"kubernetes.io/team": "data", "k8s.io/owner": "ops"},
        "mwaa": {"airflowConfigurationOptions": {"api.expose_config": "False", "webserver.instance_name": "a } { b",
                                                 "core.parallelism": 32, "core.max_active_tasks_per_dag": 16}},
        "eks": {"endpointPublicAccessCidrs": [f"203.0.{i}.0/24" for i in range(40)],
                "database": {"instanceClass": "db.r7g.large", "engineVersion": "17"},
                "cache": {"nodeType": "cache.m7g.large"},
                "nodeGroups": [{"name": "airflow", "instanceTypes": ["m6i.large", "m7i.large", "t3.large"]}]},
    }, "dev")
    assert len(settings.eks.endpoint_public_access_cidrs) == 40
    assert settings.mwaa.airflow_configuration_options["api.expose_config"] == "False"
    opted_in = parse_settings({"target": "mwaa", "mwaa": {"allowExposeConfig": True,
                                                           "airflowConfigurationOptions": {"api.expose_config": True}}}, "dev")
    assert opted_in.mwaa.allow_expose_config and opted_in.mwaa.airflow_configuration_options == {"api.expose_config": "true"}
    # Two hyphens are an RDS rule: MWAA (no database of ours) takes the name.
    assert parse_settings({"target": "mwaa", "environmentName": "air--flow"}, "dev").environment_name == "air--flow"
