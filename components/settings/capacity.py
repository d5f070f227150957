"""Pod packing: every pod must fit on a node of a group it can run on (the cost comparison uses the same figures)."""

from __future__ import annotations

import json

from .model import EksSettings, NodeGroupSettings, PodResources


def worker_node_group(eks: EksSettings) -> NodeGroupSettings:
    """The node group the Celery workers run on (and that scales with them): eks.workers.nodeGroup, else the group
    with the largest maxSize (the last one on a tie)."""
    if eks.workers.node_group is not None:
        return next(g for g in eks.node_groups if g.name == eks.workers.node_group)
    return max(reversed(eks.node_groups), key=lambda g: g.max_size)


def pod_room(instance_type: str, reserved: PodResources) -> PodResources | None:
    """What a node of this type has for pods: its vCPU and memory less the per-node reservation (None: unknown type)."""
    from ..instance_types import spec

    size = spec(instance_type)
    if size is None:
        return None
    return PodResources(int(size[0] * 1000) - reserved.cpu_millis, int(size[1] * 1024) - reserved.memory_mib)


def _fits(pod: PodResources, room: PodResources) -> bool:
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
                from ..instance_types import ALLOWED

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
        if not _fits(workers.request, room):
            problems.append(
                f"eks.workers.concurrency: {workers.concurrency} makes a worker pod request {workers.request.text()} (podCpuMillis {workers.pod_cpu_millis} + "
                f"concurrency {workers.concurrency} × taskCpuMillis {workers.task_cpu_millis}; podMemoryMiB "
                f"{workers.pod_memory_mib} + {workers.concurrency} × taskMemoryMiB {workers.task_memory_mib}) but a "
                f"{instance_type} node of group {group.name} has {room.text()} for pods; allowed: a smaller "
                f"eks.workers.concurrency or task size, or a larger instance type")
    largest = max(rooms.items(), key=lambda item: (item[1].cpu_millis, item[1].memory_mib))
    for key, pod in platform_pods(eks).items():
        if not any(_fits(pod, room) for room in rooms.values()):
            problems.append(f"eks.resources.{key}: {pod.text()} fits on no node group (largest: {largest[0]} with "
                            f"{largest[1].text()} for pods); allowed: smaller requests, or a larger instance type")
    return problems
