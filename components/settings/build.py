"""Raw config (camelCase keys, JSON-encoded strings from Pulumi) -> typed Settings, once it is known to be valid."""

from __future__ import annotations

import json
from typing import Any, Mapping

from .model import (AlarmSettings, AlarmSubscription, CacheSettings, DatabaseSettings, EksSettings, ImageSettings,
                    MwaaSettings, NetworkSettings, NodeGroupSettings, PodResources, ReplicaSettings, ResourceSettings,
                    Settings, UpgradeSettings, WorkerSettings, WorkloadSettings, default_environment_name)
from .mwaa_rules import mwaa_capacity_defaults
from .schema import CONFIG_SCHEMA


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


def _fields(raw: Mapping[str, Any], renames: Mapping[str, str] | None = None) -> dict[str, Any]:
    """camelCase config keys -> dataclass field names (lists become tuples: settings are immutable)."""
    renames = renames or {}
    return {renames.get(k, _snake(k)): tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def build(raw: Mapping[str, Any], stack: str) -> Settings:
    mwaa_raw = dict(raw.get("mwaa", {}))
    mwaa_raw = {**mwaa_capacity_defaults(mwaa_raw.get("environmentClass", MwaaSettings.environment_class)), **mwaa_raw}
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
        replicas=ReplicaSettings(**_fields(eks_raw.pop("replicas", {}))),
        **_fields(eks_raw),
    )
    top = {k: v for k, v in raw.items() if k not in ("network", "mwaa", "eks", "workload", "tags", "alarms", "upgrade")}
    return Settings(
        stack=stack,
        **{"environment_name": default_environment_name(stack), **_fields(top)},
        tags=dict(raw.get("tags", {})),
        network=NetworkSettings(**_fields(raw.get("network", {}))),
        mwaa=MwaaSettings(**_fields(mwaa_raw), airflow_configuration_options=options),
        eks=EksSettings(**eks_kwargs),
        workload=WorkloadSettings(**_fields(raw.get("workload", {}))),
        alarms=AlarmSettings(tuple(AlarmSubscription(**s) for s in raw.get("alarms", {}).get("subscriptions", []))),
        upgrade=UpgradeSettings(**_fields(raw["upgrade"])) if "upgrade" in raw else None,
    )


_MIB_RENAMES = {"memoryMiB": "memory_mib", "taskMemoryMiB": "task_memory_mib", "podMemoryMiB": "pod_memory_mib"}


def _resources(raw: Mapping[str, Any]) -> ResourceSettings:
    defaults = ResourceSettings()
    return ResourceSettings(**{
        _snake(key): PodResources(**{**getattr(defaults, _snake(key)).__dict__, **_fields(value, _MIB_RENAMES)})
        for key, value in raw.items()})


def _option_text(value: Any) -> str:
    # Airflow config values are strings; YAML booleans would otherwise become "True"/"False".
    return json.dumps(value) if isinstance(value, bool) else str(value)


def decode_config_values(raw: Mapping[str, str]) -> dict[str, Any]:
    """Pulumi hands config to programs as strings; structured values and booleans arrive JSON-encoded."""
    decoded: dict[str, Any] = {}
    for key, text in raw.items():
        schema = CONFIG_SCHEMA["properties"].get(key, {})
        expected = schema.get("type")
        numeric_enum = bool(schema.get("enum")) and all(isinstance(v, int) for v in schema["enum"])  # logRetentionDays
        # Only text that is exactly the JSON value: json.loads would read "true\n" as true, hiding a stray newline.
        if ((expected in ("object", "array", "boolean", "integer", "number") or numeric_enum) and isinstance(text, str)
                and text == text.strip()):
            try:
                decoded[key] = json.loads(text)
                continue
            except json.JSONDecodeError:
                pass  # left as text: the schema check reports it with the key's name
        decoded[key] = text
    return decoded
