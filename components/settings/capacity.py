"""Pod packing: every pod must fit on a node of a group it can run on (the cost comparison uses the same figures)."""

from __future__ import annotations

import json
import math

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


def fits(pod: PodResources, room: PodResources) -> bool:
    """Whether a pod's requests fit in a node's room for pods (both as PodResources)."""
    return pod.cpu_millis <= room.cpu_millis and pod.memory_mib <= room.memory_mib


def per_node(eks: EksSettings) -> PodResources:
    """What every node keeps from Airflow's pods: the kubelet reservation and the DaemonSets (nodeReserved), plus the
    CloudWatch agent's pod (eks.resources.statsd), a DaemonSet that receives Airflow's StatsD metrics on each node."""
    return eks.resources.node_reserved + eks.resources.statsd


def platform_pods(eks: EksSettings) -> dict[str, PodResources]:
    """The always-on pods besides the Celery workers, by config key (one replica each)."""
    r = eks.resources
    # The scheduler's pod carries the queued-age exporter (components/eks/queued_age_sidecar.py).
    pods = {"scheduler": r.scheduler + r.queued_age_exporter, "dagProcessor": r.dag_processor, "triggerer": r.triggerer,
            "apiServer": r.api_server, "pgbouncer": r.pgbouncer + r.pgbouncer_exporter}
    if eks.broker == "in-cluster":
        pods["redis"] = r.redis
    return pods


def always_on(eks: EksSettings) -> PodResources:
    """What the always-on pods request together: each platform pod × its replicas, and the cluster add-ons."""
    replicas = {"scheduler": eks.replicas.scheduler, "apiServer": eks.replicas.api_server}
    total = eks.resources.system
    for key, pod in platform_pods(eks).items():
        total = total + PodResources(pod.cpu_millis * replicas.get(key, 1), pod.memory_mib * replicas.get(key, 1))
    return total


def _ceil(x: float) -> int:
    return max(0, math.ceil(x - 1e-9))


def nodes_needed(worker_pod: PodResources, worker_pods: int, room: PodResources, spill: PodResources) -> int:
    """Nodes of the worker group that hold `worker_pods` whole worker pods plus `spill`, the always-on requests the
    other groups can't hold (packed into what the worker nodes have left, then onto more nodes). The DaemonSets are
    in `room` already: it is each node's capacity less eks.resources.nodeReserved. The cost comparison prices idle
    and every scan point with this rule, so the bill and the program agree on what runs."""
    per_node = min(room.cpu_millis // max(worker_pod.cpu_millis, 1), room.memory_mib // max(worker_pod.memory_mib, 1))
    n = _ceil(worker_pods / max(per_node, 1))
    free_cpu = n * room.cpu_millis - worker_pods * worker_pod.cpu_millis
    free_memory = n * room.memory_mib - worker_pods * worker_pod.memory_mib
    return n + max(_ceil((spill.cpu_millis - free_cpu) / room.cpu_millis),
                   _ceil((spill.memory_mib - free_memory) / room.memory_mib))


def idle_nodes(eks: EksSettings) -> tuple[NodeGroupSettings, int]:
    """The worker group and the nodes it needs when nothing runs but what always runs: the minimum worker pods, the
    always-on pods the other groups (at their desiredSize) can't hold, and every node's DaemonSets."""
    reserved = per_node(eks)
    group = worker_node_group(eks)
    others = [g for g in eks.node_groups if g is not group]
    fixed = PodResources(0, 0)
    for g in others:
        room = pod_room(g.instance_types[0], reserved)
        fixed = fixed + PodResources(g.desired_size * room.cpu_millis, g.desired_size * room.memory_mib)
    pods = always_on(eks)
    spill = PodResources(max(0, pods.cpu_millis - fixed.cpu_millis), max(0, pods.memory_mib - fixed.memory_mib))
    need = nodes_needed(eks.workers.request, eks.workers.min_replicas, pod_room(group.instance_types[0], reserved), spill)
    return group, max(group.min_size, need)


def idle_problems(eks: EksSettings) -> list[str]:
    """desiredSize must hold what runs idle. A config error rather than a derived desiredSize: the program declares
    what runs, and with the Cluster Autoscaler owning the node count after creation, a derived value would change the
    plan whenever a pod request moves without anyone having chosen a size."""
    group, need = idle_nodes(eks)
    index = eks.node_groups.index(group)
    if group.desired_size >= need:
        return []
    what = (f"the minimum {eks.workers.min_replicas} worker pod(s) of {eks.workers.request.text()} and the always-on "
            f"pods ({always_on(eks).text()}, replicas included) on {group.instance_types[0]} nodes with "
            f"{pod_room(group.instance_types[0], per_node(eks)).text()} each for pods (DaemonSets and the kubelet "
            f"reservation, eks.resources.nodeReserved, and the CloudWatch agent, eks.resources.statsd, taken off)")
    allowed = f"desiredSize >= {need}" + (f" and maxSize >= {need}" if group.max_size < need else "")
    return [f"eks.nodeGroups[{index}].desiredSize: {group.desired_size} nodes of group {group.name} can't hold what "
            f"runs idle: {what} need {need}; allowed: {allowed}"]


def capacity_problems(eks: EksSettings) -> list[str]:
    """Every pod must fit on a node of a group it can run on: otherwise it stays Pending and the autoscaler can't help.
    The Celery workers run on worker_node_group (every instance type of it); the other pods on any group."""
    reserved = per_node(eks)
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
            what = " with eks.resources.queuedAgeExporter (its sidecar)" if key == "scheduler" else ""
            problems.append(f"eks.resources.{key}{what}: {pod.text()} fits on no node group (largest: {largest[0]} with "
                            f"{largest[1].text()} for pods); allowed: smaller requests, or a larger instance type")
    return problems
