"""The rendered chart, read as Kubernetes would run it: workloads, their containers, env and Services.

Nothing here is re-described: every command, argument, env entry, mount and probe comes from the manifests that
`helm template` produced with the program's values (tools/chart/render.py). References are resolved as the
kubelet resolves them: a `secretKeyRef` against the Secrets the program declares, `$(VAR)` in command and args
against the container's own env. A reference that does not resolve is a one-line error naming the workload, the
container, the field and what is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import TwinError

WORKLOAD_KINDS = ("Job", "Deployment", "StatefulSet")
# Kubernetes' default Job backoffLimit when the manifest sets none (batch/v1 JobSpec).
DEFAULT_BACKOFF_LIMIT = 6

SecretLookup = Callable[[str], dict[str, str] | None]  # Secret name -> its data, None when not declared


@dataclass(frozen=True)
class Container:
    workload: str  # "Deployment/airflow-scheduler"
    name: str
    image: str
    spec: dict[str, Any]
    init: bool = False

    @property
    def where(self) -> str:
        return f"{self.workload} {'initContainer' if self.init else 'container'} {self.name}"

    def probe(self, kind: str) -> dict[str, Any] | None:
        return self.spec.get(kind)

    def env(self, secrets: SecretLookup) -> dict[str, str]:
        """The container's env as the kubelet builds it: plain values, and secretKeyRefs read from the plan."""
        resolved: dict[str, str] = {}
        for item in self.spec.get("env", []):
            name = item["name"]
            if "value" in item:
                resolved[name] = _expand(str(item["value"]), resolved)
                continue
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref is None:
                raise TwinError(f"{self.where}: env {name}: only value and secretKeyRef are supported, got "
                                f"{sorted(item.get('valueFrom', {}))}")
            resolved[name] = secret_value(secrets, ref["name"], ref["key"], f"{self.where}: env {name}",
                                          optional=ref.get("optional", False))
        return {k: v for k, v in resolved.items() if v is not None}

    def argv(self, env: dict[str, str]) -> list[str]:
        """command + args with $(VAR) expanded from the container's env (the image's entrypoint when no command)."""
        words = [*self.spec.get("command", []), *self.spec.get("args", [])]
        if not words:
            raise TwinError(f"{self.where}: no command or args (the image's entrypoint cannot run here)")
        return [_expand(str(w), env) for w in words]


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    manifest: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def pod_spec(self) -> dict[str, Any]:
        return self.manifest["spec"]["template"]["spec"]

    @property
    def backoff_limit(self) -> int:
        return int(self.manifest["spec"].get("backoffLimit", DEFAULT_BACKOFF_LIMIT))

    def init_containers(self) -> list[Container]:
        return [Container(self.ref, c["name"], c.get("image", ""), c, init=True) for c in self.pod_spec.get("initContainers", [])]

    def containers(self) -> list[Container]:
        return [Container(self.ref, c["name"], c.get("image", ""), c) for c in self.pod_spec["containers"]]

    def volumes(self) -> dict[str, dict[str, Any]]:
        """The pod's volumes, and a StatefulSet's volumeClaimTemplates (each pod claims its own volume)."""
        claimed = {t["metadata"]["name"]: {"name": t["metadata"]["name"], "volumeClaimTemplate": t}
                   for t in self.manifest["spec"].get("volumeClaimTemplates", [])}
        return {**claimed, **{v["name"]: v for v in self.pod_spec.get("volumes", [])}}


@dataclass(frozen=True)
class ServicePort:
    service: str
    port: int
    target_port: int | str
    protocol: str
    selector: dict[str, str]


def workloads(manifests: list[dict[str, Any]]) -> list[Workload]:
    return [Workload(m["kind"], m["metadata"]["name"], m) for m in manifests if m.get("kind") in WORKLOAD_KINDS]


def service_ports(manifests: list[dict[str, Any]]) -> list[ServicePort]:
    return [ServicePort(m["metadata"]["name"], int(p["port"]), p.get("targetPort", p["port"]), p.get("protocol", "TCP"),
                        m["spec"].get("selector", {}))
            for m in manifests if m.get("kind") == "Service" for p in m["spec"].get("ports", [])]


def config_map_data(manifests: list[dict[str, Any]], name: str, where: str) -> dict[str, str]:
    for m in manifests:
        if m.get("kind") == "ConfigMap" and m["metadata"]["name"] == name:
            return m.get("data", {})
    raise TwinError(f"{where}: ConfigMap {name} is not rendered")


def secret_value(secrets: SecretLookup, name: str, key: str, where: str, optional: bool = False) -> str | None:
    data = secrets(name)
    if data is None:
        if optional:
            return None
        raise TwinError(f"{where}: Secret {name} is not declared by the program")
    if key not in data:
        if optional:
            return None
        raise TwinError(f"{where}: Secret {name} has no key {key!r} (it has: {', '.join(sorted(data)) or 'none'})")
    return data[key]


_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: a defined VAR is replaced, an undefined one is left as written, $$ is $."""
    return _VAR.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)
