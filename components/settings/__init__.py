"""Typed stack settings, validated before any resource is declared.

The stack config is checked in two passes: a JSON schema (types, allowed values, unknown keys) and the
cross-field rules a schema can't express (min <= max, ranges that depend on the MWAA class). Every problem
is reported at once, one line each, naming the key, the bad value and what is allowed.

The package is split by concern: `allowed` (allowed values), `schema` (the JSON schema), `messages` (how a problem is
told), `model` (the typed settings), one `*_rules` module per config area, `capacity` (pods fit on nodes) and `build`.
This module is the public surface: import from `components.settings`.
"""

from __future__ import annotations

from typing import Any, Mapping

from .allowed import (AIRFLOW_VERSIONS, BROKERS, CACHE_ENGINES, CACHE_NODE_FAMILIES, DB_INSTANCE_FAMILIES,
                      DEFAULT_AIRFLOW_VERSION, DEFAULT_EKS_KUBERNETES_VERSION, EKS_KUBERNETES_VERSIONS, LOG_LEVELS,
                      MAX_TAGS_PER_RESOURCE, MWAA_CLASSES, PROGRAM_TAG_KEYS, PROGRAM_TAGS_PER_RESOURCE, PROJECT,
                      RESOURCE_KEYS, SIDES, TARGETS, MwaaClass)
from .build import build, decode_config_values
from .capacity import (always_on, capacity_problems, fits, idle_problems, nodes_needed, per_node, platform_pods, pod_room,
                       worker_node_group)
from .messages import ConfigError
from .model import (AlarmSettings, AlarmSubscription, CacheSettings, DatabaseSettings, EksSettings, ImageSettings,
                    MwaaSettings, NetworkSettings, NodeGroupSettings, PodResources, ReplicaSettings, ResourceSettings,
                    Settings, Side, UpgradeSettings, WorkerSettings, WorkloadSettings, default_environment_name)
from .rules import rule_problems
from .schema import CONFIG_SCHEMA, schema_problems

__all__ = [
    "AIRFLOW_VERSIONS", "BROKERS", "CACHE_ENGINES", "CACHE_NODE_FAMILIES", "CONFIG_SCHEMA", "DB_INSTANCE_FAMILIES",
    "DEFAULT_AIRFLOW_VERSION", "DEFAULT_EKS_KUBERNETES_VERSION", "EKS_KUBERNETES_VERSIONS", "LOG_LEVELS",
    "MAX_TAGS_PER_RESOURCE", "MWAA_CLASSES", "PROGRAM_TAGS_PER_RESOURCE", "PROGRAM_TAG_KEYS", "PROJECT",
    "RESOURCE_KEYS", "SIDES", "TARGETS", "AlarmSettings", "AlarmSubscription", "CacheSettings", "ConfigError",
    "DatabaseSettings", "EksSettings", "ImageSettings", "MwaaClass", "MwaaSettings", "NetworkSettings",
    "NodeGroupSettings", "PodResources", "ReplicaSettings", "ResourceSettings", "Settings", "Side", "UpgradeSettings",
    "WorkerSettings", "WorkloadSettings", "always_on", "capacity_problems", "decode_config_values",
    "default_environment_name", "fits", "from_stack_config", "idle_problems", "nodes_needed", "parse_settings",
    "per_node", "platform_pods", "pod_room", "worker_node_group",
]


def parse_settings(raw: Mapping[str, Any], stack: str) -> Settings:
    """Build Settings from the project's config keys (without the 'project:' prefix), or raise ConfigError."""
    problems = schema_problems(raw)
    # Cross-field rules run on every section the schema found sound, so all problems show up at once.
    broken = {problem.split(":")[0].split(".")[0].split("[")[0] for problem in problems}
    problems += rule_problems({k: v for k, v in raw.items() if k not in broken}, broken)
    if problems:
        raise ConfigError(problems)
    settings = build(raw, stack)
    problems = capacity_problems(settings.eks)
    problems = problems or idle_problems(settings.eks)  # packing needs pods that fit at all
    if problems:
        raise ConfigError(problems)
    return settings


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
