"""Whether every rendered pod fits the nodes it may run on, sidecars and init containers included.

The room on a node and the fit test are the settings check's own (components/settings.py `pod_room`, `fits`, with
`eks.resources.nodeReserved`); only the pod's request is read here, from the rendered manifest, so a container the
chart adds (log groomer, metrics exporter, wait-for-migrations) counts even though settings never size it.
"""

from __future__ import annotations

import re

from components.settings import PodResources, Settings, decode_config_values, fits, parse_settings, per_node, pod_room
from tools.planner import PROJECT, Plan

from .references import node_group_labels, pods
from .render import Rendered

NODE_GROUP_TYPE = "eks:index:ManagedNodeGroup"
_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEMORY_UNITS = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024, "K": 1000 / 1024 ** 2, "M": 1000 ** 2 / 1024 ** 2,
                 "G": 1000 ** 3 / 1024 ** 2, "": 1 / 1024 ** 2}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|)$")


def cpu_millis(quantity: str | int | float) -> int:
    match = _CPU.match(str(quantity))
    if not match:
        raise ValueError(f"CPU quantity {quantity!r} is not in cores or millicores")
    value = float(match[1])
    return int(value if match[2] else value * 1000)


def memory_mib(quantity: str | int | float) -> int:
    match = _MEMORY.match(str(quantity))
    if not match:
        raise ValueError(f"memory quantity {quantity!r} has no unit this check reads (Ki, Mi, Gi, Ti, K, M, G)")
    return int(-(-float(match[1]) * _MEMORY_UNITS[match[2]] // 1))  # rounded up: never under-count a request


def _request(container: dict) -> PodResources:
    requests = (container.get("resources") or {}).get("requests") or {}
    return PodResources(cpu_millis(requests.get("cpu", 0)), memory_mib(requests.get("memory", "0")))


def _max(a: PodResources, b: PodResources) -> PodResources:
    return PodResources(max(a.cpu_millis, b.cpu_millis), max(a.memory_mib, b.memory_mib))


def pod_request(spec: dict) -> PodResources:
    """What the scheduler reserves for a pod (Kubernetes' effective request, per resource): the larger of the sum of
    its containers plus restartable init containers (sidecars), and each ordinary init container plus the sidecars
    started before it."""
    sidecars, init_peak = PodResources(0, 0), PodResources(0, 0)
    for init in spec.get("initContainers") or []:
        if init.get("restartPolicy") == "Always":
            sidecars = sidecars + _request(init)
        else:
            init_peak = _max(init_peak, _request(init) + sidecars)
    running = sidecars
    for container in spec.get("containers") or []:
        running = running + _request(container)
    return _max(running, init_peak)


def plan_settings(plan: Plan) -> Settings:
    prefix = f"{PROJECT}:"
    raw = {key[len(prefix):]: value for key, value in plan.config.items() if key.startswith(prefix)}
    return parse_settings(decode_config_values(raw), stack=plan.stack)


def fit_problems(rendered: Rendered, plan: Plan) -> list[str]:
    """Every pod fits on every instance type of a node group its nodeSelector allows (any group when it has none:
    then it must fit on at least one), after the per-node reservation."""
    reserved = per_node(plan_settings(plan).eks)
    groups = {g.name: g for g in plan.of_type(NODE_GROUP_TYPE)}
    labels = node_group_labels(plan)
    problems = []
    for obj, pod_path, spec in pods(rendered):
        request = pod_request(spec)
        selector = spec.get("nodeSelector") or {}
        allowed = [name for name in groups if selector.items() <= labels[name].items()]
        rooms = {f"{name}/{t}": pod_room(t, reserved) for name in allowed for t in groups[name].inputs["instanceTypes"]}
        fitting = [where for where, room in rooms.items() if room is not None and fits(request, room)]
        if (selector and len(fitting) < len(rooms)) or not fitting:
            short = [where for where in rooms if where not in fitting]
            problems.append(f"{obj}: {pod_path} requests {request.text()} (containers, sidecars and init containers) "
                            f"but does not fit {', '.join(short) or 'any node group'} "
                            f"(room for pods: {', '.join(f'{w} {r.text()}' for w, r in rooms.items() if r)})")
    return problems
