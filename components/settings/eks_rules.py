"""Rules for `eks`: node groups, database and cache types (names AWS accepts), workers, and the names the
environment gives the database."""

from __future__ import annotations

import json
from typing import Any, Mapping

from . import aws_names
from .allowed import CACHE_NODE_FAMILIES, DB_INSTANCE_FAMILIES
from .model import DatabaseSettings, NodeGroupSettings, WorkerSettings
from .network_rules import endpoint_cidr_problems


def eks_problems(eks: Mapping[str, Any]) -> list[str]:
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
    problems += endpoint_cidr_problems(eks)
    problems += _instance_type_problems(eks.get("nodeGroups", []))
    node_type = eks.get("cache", {}).get("nodeType")
    if node_type:
        problems += _type_problems("eks.cache.nodeType", node_type, "cache node", CACHE_NODE_FAMILIES, aws_names.cache_node_types())
    database = eks.get("database", {})
    instance_class = database.get("instanceClass")
    if instance_class:
        problems += _type_problems("eks.database.instanceClass", instance_class, "RDS instance", DB_INSTANCE_FAMILIES,
                                   aws_names.db_instance_classes())
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


def _type_problems(key: str, name: str, what: str, families: tuple[str, ...], known: frozenset[str]) -> list[str]:
    family = name.split(".")[1]
    if family not in families:
        return [f"{key}: {json.dumps(name)} is not a known {what} family; allowed families: {', '.join(families)}"]
    if name not in known:
        return [f"{key}: {json.dumps(name)} is not a size AWS offers; allowed sizes of {name.rsplit('.', 1)[0]}: "
                f"{aws_names.sizes(known, family)}"]
    return []


def _instance_type_problems(groups: list[Mapping[str, Any]]) -> list[str]:
    known = aws_names.ec2_instance_types()
    return [f"eks.nodeGroups[{index}].instanceTypes[{position}]: {json.dumps(name)} is not an EC2 instance type; "
            f"allowed: a type in the EC2 API's list, e.g. m6i.large"
            for index, group in enumerate(groups)
            for position, name in enumerate(group.get("instanceTypes", [])) if name not in known]


def identifier_problems(environment_name: str) -> list[str]:
    """The database and its snapshots are named <environmentName>-…; RDS refuses two hyphens in a row in an
    identifier (CreateDBInstance, DBInstanceIdentifier constraints, in botocore's RDS model)."""
    if "--" in environment_name:
        return [f"environmentName: {json.dumps(environment_name)} has two hyphens in a row, which RDS refuses in the "
                f"database's identifier; allowed: single hyphens between letters or digits, e.g. airflow-prod"]
    return []
