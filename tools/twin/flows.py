"""The connections the EKS twin makes, listed without running it: from each pod to a Service of the rendered chart,
or to RDS, ElastiCache and the AWS APIs outside the cluster.

Read the way tools/twin/eks.py maps them: every rendered Service port is declared (`declare_services`), then each
container's env and the airflow.cfg it mounts go through the twin's own `rewrite_env` / `rewrite_config`, and
PgBouncer's ini through `rewrite_pgbouncer_ini`, with an Endpoints that records which declared service each setting
names instead of moving it to loopback. Besides: every Airflow container reaches the AWS APIs (the twin hands each one
its AWS endpoints), the UI reads the log servers (Services with a `*-logs` port of LISTEN_SETTINGS), KEDA's operator
runs the ScaledObject's query with the worker's connection, and any pod that names a Service resolves it by DNS.
tools/chart/netpol.py checks these against the NetworkPolicies (tests/test_network_policies.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tools.chart.render import Rendered

from .datastores import rewrite_pgbouncer_ini
from .endpoints import LISTEN_SETTINGS, LOOPBACK_HOSTS, Endpoints, Service, rewrite_config, rewrite_env
from .manifests import Container, SecretLookup, Workload, config_map_data, service_ports, workloads

AWS_APIS = "AWS APIs"
KEDA_OPERATOR = "KEDA operator"
DNS = "kube-dns"


@dataclass(frozen=True)
class Target:
    workload: str  # Deployment/airflow-pgbouncer
    labels: tuple[tuple[str, str], ...]
    port: int  # the container port the Service targets
    ports: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Flow:
    source: str  # a workload ref, or KEDA_OPERATOR
    service: str  # "Service airflow-pgbouncer:6543", "RDS metadata database", AWS_APIS, DNS
    port: int  # the port the connection reaches (a Service's target port, or the external endpoint's)
    protocol: str
    setting: str  # where the twin finds it
    targets: tuple[Target, ...] = ()  # the pods behind a Service; empty outside the cluster


@dataclass
class _Recording(Endpoints):
    seen: list[tuple[Service, str]] = field(default_factory=list)

    def address(self, host, port, setting, from_pod=None):
        found = super().address(host, port, setting, from_pod)
        if not (host in LOOPBACK_HOSTS and found[2].pod == from_pod):  # a sidecar's own pod: no network policy
            self.seen.append((found[2], setting))
        return found


def _labels(workload: Workload) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(workload.manifest["spec"]["template"]["metadata"].get("labels", {}).items()))


def _named_ports(workload: Workload) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((p["name"], int(p["containerPort"])) for c in workload.containers()
                        for p in c.spec.get("ports", []) if "name" in p))


def twin_flows(rendered: Rendered, secrets: SecretLookup, externals: list[Service]) -> list[Flow]:
    """Every (source, service, port) the twin connects, for the rendered chart and the plan's Secrets; `externals` are
    the services outside the cluster the twin declares (RDS, ElastiCache)."""
    pods = workloads(rendered.manifests)
    endpoints = _Recording()
    behind: dict[str, tuple[str, tuple[Target, ...]]] = {}
    for index, sp in enumerate(service_ports(rendered.manifests)):
        selected = [w for w in pods if sp.selector and sp.selector.items() <= dict(_labels(w)).items()]
        name = f"Service {sp.service}:{sp.port}"
        endpoints.declare(Service(name, sp.service, sp.port, namespace=rendered.namespace,
                                  pod=selected[0].name if len(selected) == 1 else None), index)
        behind[name] = (sp.protocol, tuple(Target(w.ref, _labels(w), _target_port(w, sp.target_port), _named_ports(w))
                                           for w in selected))
    for service in externals:
        endpoints.declare(service, -1)
    airflow_image = "{repository}:{tag}".format(**rendered.values["images"]["airflow"])

    flows: list[Flow] = []

    def record(source: str, start: int) -> None:
        for service, setting in endpoints.seen[start:]:
            protocol, targets = behind.get(service.name, (service.protocol, ()))
            port = targets[0].port if targets else service.port
            flows.append(Flow(source, service.name, port, protocol, setting, targets))
            if service.namespace:  # a Service name: resolved by the cluster DNS first
                flows.append(Flow(source, DNS, 53, "UDP", f"{setting} (DNS)"))

    for workload in pods:
        for container in [*workload.init_containers(), *workload.containers()]:
            start = len(endpoints.seen)
            rewrite_env(container.env(secrets), endpoints, container.where, from_pod=workload.name)
            for key, text in _mounted_files(rendered, workload, container, secrets).items():
                if key == "airflow.cfg":
                    rewrite_config(text, endpoints, f"{container.where} airflow.cfg")
                elif key == "pgbouncer.ini":
                    rewrite_pgbouncer_ini(text, endpoints, 0, Path("users.txt"))
            record(workload.ref, start)
            if container.image == airflow_image:
                flows.append(Flow(workload.ref, AWS_APIS, 443, "TCP", f"{container.where}: the twin's AWS endpoints"))
    flows += _log_server_flows(rendered, pods, behind)
    for scaled in rendered.of_kind("ScaledObject"):
        target = scaled["spec"]["scaleTargetRef"]
        worker = next(w for w in pods if w.name == target["name"])
        container = next(c for c in worker.containers() if c.name == target.get("envSourceContainerName", c.name))
        start = len(endpoints.seen)
        env = container.env(secrets)
        for trigger in scaled["spec"]["triggers"]:
            name = trigger["metadata"]["connectionFromEnv"]
            rewrite_env({name: env[name]}, endpoints, f"ScaledObject/{scaled['metadata']['name']} {name}")
        record(KEDA_OPERATOR, start)
    return flows


def _log_server_flows(rendered: Rendered, pods: list[Workload], behind) -> list[Flow]:
    """The UI (API server, webserver on Airflow 2) reads task logs from each log server Service."""
    ui = next(w for w in pods if w.name.endswith(("-api-server", "-webserver")))
    flows = []
    for service in rendered.of_kind("Service"):
        for port in service["spec"].get("ports", []):
            if port.get("name") in LISTEN_SETTINGS and port["name"].endswith("-logs"):
                name = f"Service {service['metadata']['name']}:{port['port']}"
                protocol, targets = behind[name]
                flows.append(Flow(ui.ref, name, targets[0].port, protocol, f"{ui.ref} reads task logs", targets))
    return flows


def _mounted_files(rendered: Rendered, workload: Workload, container: Container, secrets: SecretLookup) -> dict[str, str]:
    """airflow.cfg (ConfigMap) and pgbouncer.ini (Secret) as mounted into the container by subPath."""
    volumes = workload.volumes()
    files = {}
    for mount in container.spec.get("volumeMounts", []):
        key = mount.get("subPath")
        volume = volumes.get(mount["name"], {})
        if key == "airflow.cfg" and "configMap" in volume:
            files[key] = config_map_data(rendered.manifests, volume["configMap"]["name"], container.where)[key]
        elif key == "pgbouncer.ini" and "secret" in volume:
            files[key] = (secrets(volume["secret"]["secretName"]) or {}).get(key, "")
    return files


def _target_port(workload: Workload, port: int | str) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    return dict(_named_ports(workload))[port]
