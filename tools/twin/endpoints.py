"""The ONE place where the twin changes a setting: a declared service endpoint becomes 127.0.0.1:<picked port>.

Each service is declared by the resource that provides it (RDS instance address/port, ElastiCache primary
endpoint/port, the chart's in-cluster Redis and PgBouncer Services, the AWS API endpoints). A setting whose
(host, port) no declared service provides is an error naming the setting and the endpoint: a wrong port in
components/ fails the twin instead of being rewritten blindly. Kubernetes Service names are matched by
parsing (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`), since service DNS cannot run here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit, urlunsplit

from .errors import TwinError
from .ports import LOOPBACK

DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "db+postgresql": 5432, "redis": 6379, "rediss": 6379,
                 "http": 80, "https": 443, "sqs": 443}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Service:
    name: str  # what provides it, e.g. "RDS metadata database"
    host: str  # DNS name, or a Kubernetes Service name when namespace is set
    port: int
    namespace: str | None = None
    pod: str | None = None  # a sidecar in this pod reaches the service on the pod's own loopback
    loopback_scheme: str | None = None  # the twin's stand-in speaks another scheme (moto: http)
    protocol: str = "TCP"  # UDP for StatsD

    def provides(self, host: str, port: int, from_pod: str | None) -> bool:
        if port != self.port:
            return False
        host = host.lower().rstrip(".")
        if host in LOOPBACK_HOSTS:
            return self.pod is not None and self.pod == from_pod
        if self.namespace is None:
            return host == self.host.lower()
        name, *rest = host.split(".")
        if name != self.host or (rest and rest[0] != self.namespace):
            return False
        return rest[1:] in ([], ["svc"], ["svc", "cluster", "local"])


@dataclass
class Endpoints:
    services: list[Service] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)  # service name -> picked loopback port

    def declare(self, service: Service, loopback_port: int) -> None:
        self.services.append(service)
        self.ports[service.name] = loopback_port

    def address(self, host: str | None, port: int | None, setting: str, from_pod: str | None = None) -> tuple[str, int, Service]:
        """(127.0.0.1, picked port, service) for a declared (host, port); an error naming the setting otherwise."""
        for service in self.services:
            if host and port and service.provides(host, port, from_pod):
                return LOOPBACK, self.ports[service.name], service
        known = ", ".join(f"{s.host}:{s.port}" for s in self.services)
        raise TwinError(f"{setting}: endpoint {host}:{port} is provided by no declared service (declared: {known})")

    def url(self, url: str, setting: str, from_pod: str | None = None) -> str:
        """The URL with only its host and port (and scheme, for a plain-HTTP stand-in) rewritten."""
        parts = urlsplit(url)
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            raise TwinError(f"{setting}: endpoint has an invalid port") from None
        host, loopback_port, service = self.address(parts.hostname, port, setting, from_pod)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}:{loopback_port}" if userinfo else f"{host}:{loopback_port}"
        return urlunsplit(SplitResult(service.loopback_scheme or parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# ------------------------------------------------------------------------------------- settings that hold endpoints

# Options that name a host in one key and its port in another (section, host key, port key), as airflow.cfg has them.
HOST_PORT_OPTIONS = (("metrics", "statsd_host", "statsd_port"),)
# What moves a listener: the Airflow settings behind a container port, by the port's name in the rendered manifest.
# The component then listens on 127.0.0.1:<the port its Service maps to> instead of every interface.
LISTEN_SETTINGS = {
    "api-server": ("AIRFLOW__API__HOST", "AIRFLOW__API__PORT"),
    "airflow-ui": ("AIRFLOW__WEBSERVER__WEB_SERVER_HOST", "AIRFLOW__WEBSERVER__WEB_SERVER_PORT"),  # Airflow 2's webserver
    "worker-logs": (None, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"),
    "triggerer-logs": (None, "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"),
}


def _is_url(value: str) -> bool:
    """A network URL (scheme://host...); S3 and file URLs name no endpoint."""
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. a JSON list such as [core] dag_bundle_config_list
        return False
    return bool(parts.scheme and parts.scheme not in ("s3", "file") and parts.netloc and parts.hostname)


def rewrite_env(env: dict[str, str], endpoints: Endpoints, where: str, from_pod: str | None = None) -> dict[str, str]:
    """Each env value that is a URL, its endpoint moved to loopback (an undeclared endpoint is an error)."""
    return {name: endpoints.url(value, f"{where}: env {name}", from_pod) if _is_url(value) else value
            for name, value in env.items()}


def rewrite_host_port(env: dict[str, str], host_key: str, port_key: str, endpoints: Endpoints, where: str,
                      from_pod: str | None = None) -> dict[str, str]:
    """env with a host/port pair of settings (e.g. MWAA's StatsD essentials) moved to the declared service's loopback port."""
    host, port, _ = endpoints.address(env[host_key], int(env[port_key]), f"{where}: {host_key}/{port_key}", from_pod)
    return {**env, host_key: host, port_key: str(port)}


def rewrite_config(text: str, endpoints: Endpoints, where: str) -> str:
    """airflow.cfg with each URL option, and each host/port option pair, moved to loopback; nothing else changes."""
    section, lines, values = None, text.splitlines(), {}
    for line in lines:  # first pass: the values of host/port pairs, wherever they stand in their section
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif "=" in line:
            key, _, value = line.partition("=")
            values[(section, key.strip())] = value.strip()
    moved: dict[tuple[str, str], str] = {}
    for sec, host_key, port_key in HOST_PORT_OPTIONS:
        if (sec, host_key) in values:
            host, port, _ = endpoints.address(values[(sec, host_key)], int(values.get((sec, port_key), 0)),
                                              f"{where} [{sec}] {host_key}/{port_key}")
            moved.update({(sec, host_key): host, (sec, port_key): str(port)})
    out, section = [], None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif "=" in line:
            key, _, value = line.partition("=")
            value, key = value.strip(), key.strip()
            if (section, key) in moved:
                line = f"{key} = {moved[(section, key)]}"
            elif _is_url(value):
                line = f"{key} = {endpoints.url(value, f'{where} [{section}] {key}')}"
        out.append(line)
    return "\n".join(out) + "\n"
