"""Rules for `eks`: node group sizes and names, the API endpoint's CIDRs, database and cache types, workers."""

from __future__ import annotations

import json
from typing import Any, Mapping

from policy.airflow_policy import OPEN_PREFIX, cidr_problem, describe_share, is_open

from .allowed import CACHE_NODE_FAMILIES, DB_INSTANCE_FAMILIES
from .model import DatabaseSettings, NodeGroupSettings, WorkerSettings


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
