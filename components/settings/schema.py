"""The JSON schema of the stack config (types, allowed values, unknown keys) and the validator that applies it."""

from __future__ import annotations

import re
from typing import Any, Mapping

import jsonschema

from .alarm_rules import PROTOCOLS
from .allowed import (AIRFLOW_VERSIONS, BROKERS, CACHE_ENGINES, EKS_KUBERNETES_VERSIONS, LOG_LEVELS,
                      LOG_RETENTION_DAYS, MAX_PUBLIC_ACCESS_CIDRS, MWAA_CLASSES, RESOURCE_KEYS, SIDES, TARGETS)
from .messages import describe, leaf_errors, non_finite

_CIDR_PATTERN = r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"
_INSTANCE_TYPE_PATTERN = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
_WINDOW_PATTERN = r"^(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30)$"

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
        "instanceTypes": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string", "pattern": _INSTANCE_TYPE_PATTERN, "x-allowed": "an EC2 instance type such as m6i.large"}},
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
        # Blue/green (docs/upgrades.md): a second side of the target at another Airflow version, and which side serves.
        "upgrade": {
            "type": "object",
            "additionalProperties": False,
            "required": ["airflowVersion"],
            "properties": {"airflowVersion": {"enum": list(AIRFLOW_VERSIONS)}},
        },
        "liveSide": {"enum": list(SIDES)},
        "logRetentionDays": {"enum": list(LOG_RETENTION_DAYS)},
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
                "allowExposeConfig": {"type": "boolean"},
                "logLevel": {"enum": list(LOG_LEVELS)},
            },
        },
        "eks": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "kubernetesVersion": {"enum": list(EKS_KUBERNETES_VERSIONS)},
                "nodeGroups": {"type": "array", "minItems": 1, "items": _NODE_GROUP},
                "endpointPublicAccessCidrs": {"type": "array", "maxItems": MAX_PUBLIC_ACCESS_CIDRS, "items": {"type": "string", "pattern": _CIDR_PATTERN, "x-allowed": "an IPv4 CIDR, e.g. 203.0.113.0/24"}},
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
                "replicas": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"scheduler": {"type": "integer", "minimum": 1, "maximum": 5},
                                   "apiServer": {"type": "integer", "minimum": 1, "maximum": 5}},
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
        "alarms": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "subscriptions": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["protocol", "endpoint"],
                    "properties": {"protocol": {"enum": list(PROTOCOLS)}, "endpoint": {"type": "string"}}}},
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


def _whole_ascii_pattern(validator, pattern, instance, schema):
    """`pattern`, matched against the whole string with ASCII classes: JSON Schema's search() would let a trailing
    newline pass `$` and a non-ASCII digit pass `\\d`."""
    if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance, flags=re.ASCII):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _is_finite_number(checker, instance) -> bool:
    return jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(instance, "number") and not non_finite(instance)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, validators={"pattern": _whole_ascii_pattern},
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _is_finite_number))


def schema_problems(raw: Mapping[str, Any]) -> list[str]:
    validator = _Validator(CONFIG_SCHEMA)
    problems = []
    for error in validator.iter_errors(dict(raw)):
        for leaf in leaf_errors(error):
            if leaf.validator in ("minimum", "maximum") and non_finite(leaf.instance):
                continue  # already reported by the type check, on the one line for this key
            problems.append(describe(leaf))
    return sorted(set(problems))

