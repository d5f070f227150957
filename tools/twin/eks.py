"""The EKS target's twin: the official chart rendered by a real helm with the program's values, run as Kubernetes
would run it (tools/twin/kubelet.py), against the data stores the program declares.

Every command, argument, env entry, mounted file and probe comes from the rendered manifests (tools/chart); the
Secrets they reference from the plan. Only endpoints (endpoints.py) and paths (podfs.py) change. Outside the
cluster: RDS is a PostgreSQL with TLS, ElastiCache a Redis with TLS and AUTH, the bucket and Secrets Manager moto.
"""

from __future__ import annotations

import configparser
import os
import pwd
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.chart.helm import HelmFailed, ToolMissing
from tools.chart.render import PlanError, Rendered, render

from . import aws
from .agent import start_agent_listener
from .airflow_procs import ADMIN_USER, AirflowHome, process_environment, twin_sizing
from .certs import Certificates, make_certificates
from .checks import CheckContext, WiringCheck
from . import datastores
from .datastores import Postgres, check_stats_connection, psql_query, rewrite_pgbouncer_ini, start_redis
from .endpoints import LISTEN_SETTINGS, Endpoints, Service, rewrite_config, rewrite_env
from .errors import TwinError
from .files import write_private
from .kubelet import Kubelet, Skipped, Started
from .manifests import Container, Workload, service_ports, workloads
from .podfs import PodFilesystem
from .ports import LOOPBACK, free_port
from .probes import KINDS, Probe, ProbeRunner
from .runs import AirflowApi
from .statsd import StatsdListener
from .supervisor import Supervisor
from .wiring import StackWiring

LOOPBACK_SITE = Path(__file__).with_name("loopback")  # sitecustomize: log servers bind to 127.0.0.1
# Containers whose image is not on this machine, and what stands in for each (README, "What cannot run here").
NOT_RUN = {
    "metrics-exporter": "the Go pgbouncer-exporter image is not here; its stats connection is opened as lib/pq opens it",
}
START_TIMEOUT = 240.0
# The Airflow majors this twin runs: 3.x on chart 1.21.0 (api-server, /api/v2), 2.x on chart 1.19.0 (webserver,
# /api/v1 with the basic auth the program's values turn on).
AIRFLOW_MAJORS = ("3", "2")


@dataclass
class EksTwin:
    stack: StackWiring
    supervisor: Supervisor
    rendered: Rendered
    certs: Certificates
    endpoints: Endpoints = field(default_factory=Endpoints)
    probes: ProbeRunner = field(default_factory=ProbeRunner)
    filesystems: dict[str, PodFilesystem] = field(default_factory=dict)
    listen: dict[tuple[str, int], int] = field(default_factory=dict)  # (workload ref, container port) -> loopback
    checks: list[WiringCheck] = field(default_factory=list)
    aws_env: dict[str, str] = field(default_factory=dict)
    claims: dict[str, Path] = field(default_factory=dict)
    statsd: StatsdListener | None = None

    @property
    def airflow_image(self) -> str:
        image = self.rendered.values["images"]["airflow"]
        return f"{image['repository']}:{image['tag']}"

    def secret(self, name: str) -> dict[str, str] | None:
        return self.stack.k8s_secret(name)

    # ---------------------------------------------------------------------------------------------- Services
    def declare_services(self) -> None:
        """Each rendered Service port becomes a loopback port; the pods it selects listen there."""
        pods = {w.ref: w for w in workloads(self.rendered.manifests)}
        for sp in service_ports(self.rendered.manifests):
            port = free_port()
            selected = [w for w in pods.values() if sp.selector and all(
                w.manifest["spec"]["template"]["metadata"].get("labels", {}).get(k) == v for k, v in sp.selector.items())]
            # A sidecar reaches its own pod's Service port on the pod's loopback (the exporter -> PgBouncer).
            pod = selected[0].name if len(selected) == 1 else None
            self.endpoints.declare(Service(f"Service {sp.service}:{sp.port}", sp.service, sp.port,
                                           namespace=self.rendered.namespace, pod=pod), port)
            for workload in selected:
                self.listen[(workload.ref, _container_port(workload, sp.target_port))] = port

    def port_names(self, workload: Workload, container: Container) -> dict[str, int]:
        return {p["name"]: self.listen[(workload.ref, int(p["containerPort"]))]
                for p in container.spec.get("ports", []) if "name" in p and (workload.ref, int(p["containerPort"])) in self.listen}

    # ---------------------------------------------------------------------------------------------- containers
    def run(self, workload: Workload, container: Container, attempt: int) -> Started | Skipped:
        fs = self.filesystem(workload)
        if container.name in NOT_RUN:
            return Skipped(NOT_RUN[container.name])
        if container.image == self.airflow_image:
            if any("/clean-logs" in word for word in container.argv({})):
                return Skipped("the log groomer runs the image's /clean-logs script, which is not here; pod logs are "
                               "removed with the twin")
            return self._airflow(workload, container, fs)
        runner = {"pgbouncer": self._pgbouncer, "redis": self._redis}.get(container.name)
        if runner is None:
            raise TwinError(f"{container.where}: image {container.image} has no stand-in in the twin")
        return runner(workload, container, fs)

    def filesystem(self, workload: Workload) -> PodFilesystem:
        if workload.ref not in self.filesystems:
            home = next((e.get("value") for c in workload.containers() for e in c.spec.get("env", [])
                         if e["name"] == "AIRFLOW_HOME"), None)
            fs = PodFilesystem(self.supervisor.workdir / "pods" / workload.name, workload, home)
            fs.lay_out(self.rendered.manifests, self.secret, self.claims, transform=self._endpoints_in_files)
            self.filesystems[workload.ref] = fs
        return self.filesystems[workload.ref]

    def _endpoints_in_files(self, source: str, key: str, text: str) -> str:
        if key == "airflow.cfg":
            return rewrite_config(text, self.endpoints, f"{source} airflow.cfg")
        return text

    def _environment(self, workload: Workload, container: Container, fs: PodFilesystem) -> dict[str, str]:
        """The container's env (endpoints and paths rewritten) over this machine's, then what only the twin sets:
        where it listens (LISTEN_SETTINGS for the container's named ports) and airflow_procs.twin_sizing."""
        env = rewrite_env(container.env(self.secret), self.endpoints, container.where, from_pod=workload.name)
        env = {name: fs.rewrite_path(value) for name, value in env.items()}
        machine = {**process_environment(self.stack.airflow_venv), **self.aws_env,
                   "PYTHONPATH": str(LOOPBACK_SITE),
                   # Clients verify the broker's certificate against the made CA (as against ElastiCache's public CA).
                   "SSL_CERT_FILE": str(self.certs.ca)}
        listen: dict[str, str] = {}
        for name, port in self.port_names(workload, container).items():
            host_setting, port_setting = LISTEN_SETTINGS.get(name, (None, None))
            listen.update({port_setting: str(port)} if port_setting else {})
            listen.update({host_setting: LOOPBACK} if host_setting else {})
        return {**machine, **env, **listen, **twin_sizing(self.stack.airflow_version)}

    def _airflow(self, workload: Workload, container: Container, fs: PodFilesystem) -> Started:
        env = self._environment(workload, container, fs)
        argv = [fs.rewrite_path(word) for word in container.argv(env)]
        process = self.supervisor.start(f"{workload.name}.{container.name}", argv, env=env, cwd=fs.root)
        return Started(process, self._probes(workload, container, fs, env))

    def _probes(self, workload: Workload, container: Container, fs: PodFilesystem, env: dict[str, str]) -> list[Probe]:
        probes = []
        for kind in KINDS:
            spec = container.probe(kind)
            if spec is None:
                continue
            probe = Probe(workload.ref, container.name, kind, spec, env=env)
            if "exec" in spec:
                probe.argv = [fs.rewrite_path(word) for word in spec["exec"]["command"]]
            else:
                action = spec.get("httpGet") or spec["tcpSocket"]
                probe.port = self.listen.get((workload.ref, _container_port(workload, action["port"])))
                if probe.port is None:
                    raise TwinError(f"{container.where}: {kind} port {action['port']} is not served by any Service")
            probes.append(probe)
        return probes

    def _pgbouncer(self, workload: Workload, container: Container, fs: PodFilesystem) -> Started:
        """Debian's PgBouncer with the chart's command and mounts; its ini must agree with them."""
        mounts = {m.get("subPath"): m["mountPath"] for m in container.spec.get("volumeMounts", [])}
        ini_volume = next(m["name"] for m in container.spec.get("volumeMounts", []) if m.get("subPath") == "pgbouncer.ini")
        secret_name = workload.volumes()[ini_volume]["secret"]["secretName"]
        ini = (self.secret(secret_name) or {}).get("pgbouncer.ini", "")
        where = f"Secret {secret_name} pgbouncer.ini"
        auth_file = _ini_value(ini, "auth_file", where)
        if auth_file != mounts.get("users.txt"):
            raise TwinError(f"{where}: auth_file {auth_file} is not where the chart mounts users.txt "
                            f"({mounts.get('users.txt')}) in {container.where}")
        listen_port = int(_ini_value(ini, "listen_port", where))
        port = self.listen.get((workload.ref, listen_port))
        if port is None:
            raise TwinError(f"{where}: listen_port {listen_port} is not the port the chart's PgBouncer Service targets "
                            f"({', '.join(str(p) for (ref, p) in self.listen if ref == workload.ref)})")
        config = fs.local(mounts["pgbouncer.ini"])
        write_private(config, rewrite_pgbouncer_ini(ini, self.endpoints, port, fs.local(auth_file)))
        argv = [fs.rewrite_path(word) for word in container.argv({})]
        if os.geteuid() == 0:  # `-u nobody` drops root, as in the image: nobody must read the two files
            nobody = pwd.getpwnam("nobody")
            for path in (config, fs.local(auth_file)):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        else:  # PgBouncer refuses -u when not started as root
            argv = [w for i, w in enumerate(argv) if w != "-u" and (i == 0 or argv[i - 1] != "-u")]
        process = self.supervisor.start(f"{workload.name}.{container.name}", [datastores.PGBOUNCER, *argv[1:]], ports=(port,))
        self.supervisor.wait_port(process, port, timeout=30)
        stats_url = container_env_of(workload, "metrics-exporter", self.secret).get("DATABASE_URL")
        if stats_url:
            try:
                self.checks.append(WiringCheck("pgbouncer-exporter", "stats connection: "
                                               + check_stats_connection(stats_url, self.endpoints, pod=workload.name)))
            except TwinError as exc:
                self.checks.append(WiringCheck("pgbouncer-exporter", "", problem=str(exc)))
        return Started(process, self._probes(workload, container, fs, {}))

    def _redis(self, workload: Workload, container: Container, fs: PodFilesystem) -> Started:
        env = container.env(self.secret)
        port = self.listen[(workload.ref, int(container.spec["ports"][0]["containerPort"]))]
        return Started(start_redis(self.supervisor, port, env["REDIS_PASSWORD"], certs=None))


def _container_port(workload: Workload, port: int | str) -> int:
    """A Service targetPort or probe port (number or name) -> the container port number."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for container in workload.containers():
        for p in container.spec.get("ports", []):
            if p.get("name") == port:
                return int(p["containerPort"])
    raise TwinError(f"{workload.ref}: no container port named {port!r}")


def _ini_value(ini: str, key: str, where: str) -> str:
    match = re.search(rf"^\s*{key}\s*=\s*(\S+)\s*$", ini, flags=re.MULTILINE)
    if not match:
        raise TwinError(f"{where}: no {key}")
    return match.group(1)


def container_env_of(workload: Workload, name: str, secrets) -> dict[str, str]:
    for container in workload.containers():
        if container.name == name:
            return container.env(secrets)
    return {}


def _broker(twin: EksTwin) -> None:
    """ElastiCache as declared (TLS when in-transit encryption is on, AUTH token); in-cluster Redis is a pod."""
    group = twin.stack.plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    if group:
        port = free_port()
        twin.endpoints.declare(Service("ElastiCache primary endpoint", *twin.stack.elasticache()), port)
        tls = twin.certs if group[0].inputs.get("transitEncryptionEnabled") else None
        start_redis(twin.supervisor, port, group[0].inputs["authToken"], certs=tls)


def start_eks(stack: StackWiring, supervisor: Supervisor) -> tuple[AirflowHome, CheckContext, list[WiringCheck]]:
    try:
        rendered = render(stack.plan)
    except (ToolMissing, HelmFailed, PlanError) as exc:
        raise TwinError(str(exc)) from None
    twin = EksTwin(stack, supervisor, rendered, make_certificates(supervisor.workdir / "tls"))
    supervisor.watch(twin.probes.check)
    supervisor.at_stop(twin.probes.stop)
    _, moto_port = aws.start_moto(supervisor)
    aws.declare_aws_endpoints(twin.endpoints, stack.region, moto_port)
    twin.aws_env = aws.aws_environment(twin.endpoints, stack.region)

    rds = stack.plan.one("aws:rds/instance:Instance")
    postgres = Postgres(supervisor, twin.certs)
    twin.endpoints.declare(Service("RDS metadata database", *stack.rds()), postgres.port)
    postgres.start(rds.inputs["username"], rds.inputs["password"], rds.inputs["dbName"])
    _broker(twin)
    twin.declare_services()
    twin.statsd = start_agent_listener(stack, twin.endpoints, supervisor)  # the CloudWatch agent's StatsD Service

    aws.fill_platform(stack, aws_env := twin.aws_env)
    dags = supervisor.workdir / "dags-volume"  # stands in for the S3 CSI mount of the DAGs PersistentVolume
    aws.download_prefix(stack, aws_env, _mounted_dags_prefix(stack), dags)
    twin.claims = {claim: dags for claim in stack.k8s_claims()}

    kubelet = Kubelet(supervisor, twin.probes, twin.run)
    for workload in workloads(rendered.manifests):
        kubelet.add(workload)
    api = next(w for w in workloads(rendered.manifests) if w.name.endswith("-api-server") or w.name.endswith("-webserver"))
    jobs = [w.ref for w in workloads(rendered.manifests) if w.kind == "Job"]
    kubelet.run_until(lambda: kubelet.all_running() and all(kubelet.completed(j) for j in jobs),
                      START_TIMEOUT, "every pod running and every Job complete")
    twin.probes.wait_ready(api.ref, api.containers()[0].name, START_TIMEOUT, kubelet.check)
    supervisor.watch(kubelet.check)

    api_port = twin.listen[(api.ref, _container_port(api, api.containers()[0].spec["ports"][0]["containerPort"]))]
    password = _admin_password(twin, rendered)
    home = AirflowHome(home=supervisor.workdir, dags=dags, api_port=api_port, admin_password=password,
                       passwords_file=write_private(supervisor.workdir / "admin-password", password))
    twin.checks += [_skipped_line(kubelet, rendered), _fab_login(rendered, home, stack.airflow_version)]
    context = CheckContext(stack=stack, aws_env=aws_env, deployment_target=_task_env(rendered).get("DEPLOYMENT_TARGET", "unknown"),
                           remote_logs=_remote_logging(rendered), after_runs=lambda: _after_runs(twin, kubelet),
                           statsd=twin.statsd)
    return home, context, twin.checks


def _fab_login(rendered: Rendered, home: AirflowHome, airflow_version: str) -> WiringCheck:
    """The chart's admin (made by its create-user Job) logs in through the auth manager of the rendered airflow.cfg."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(next(m for m in rendered.of_kind("ConfigMap") if "airflow.cfg" in m.get("data", {}))["data"]["airflow.cfg"])
    manager = config.get("core", "auth_manager", fallback="(Airflow's default)")
    api = AirflowApi(home.url, ADMIN_USER, home.admin_password, airflow_version)
    try:
        api.login()
        user = api.session.get(f"{home.url}{api.dialect.users}/{ADMIN_USER}", timeout=30)
    except TwinError as exc:
        return WiringCheck("fab-login", "", problem=str(exc))
    roles = [r["name"] for r in user.json().get("roles", [])] if user.ok else []
    if "Admin" not in roles:
        return WiringCheck("fab-login", "", problem=f"{api.dialect.users}/{ADMIN_USER} answered {user.status_code} {roles}")
    return WiringCheck("fab-login", f"{ADMIN_USER} logged in through {manager.rsplit('.', 1)[-1]} (roles {', '.join(roles)})")


def _admin_password(twin: EksTwin, rendered: Rendered) -> str:
    """The password the chart's create-user Job got: its container's env, as the kubelet resolved it."""
    job = next(w for w in workloads(rendered.manifests) if w.kind == "Job" and "create-user" in w.name)
    env = job.containers()[0].env(twin.secret)
    found = [v for k, v in env.items() if "PASSWORD" in k]
    if len(found) != 1:
        raise TwinError(f"{job.ref}: expected one password in its env, found {len(found)}")
    return found[0]


def _task_env(rendered: Rendered) -> dict[str, str]:
    worker = next(w for w in workloads(rendered.manifests) if w.name.endswith("-worker"))
    return {e["name"]: str(e["value"]) for e in worker.containers()[0].spec.get("env", []) if "value" in e}


def _remote_logging(rendered: Rendered) -> bool:
    config = rendered.values.get("config", {}).get("logging", {})
    return str(config.get("remote_logging")) == "True"


def _skipped_line(kubelet: Kubelet, rendered: Rendered) -> WiringCheck:
    """Which chart release ran (a blue/green rehearsal shows each side's pin), how many workloads, what did not run."""
    skipped = [f"{p.workload.name}/{name}" for p in kubelet.pods for name, _ in p.skipped]
    run = len(kubelet.pods)
    return WiringCheck("rendered-chart", f"chart {rendered.chart_version}: {run} workloads run from the rendered "
                       f"manifests; not run here: {', '.join(skipped) or 'none'}")


def _after_runs(twin: EksTwin, kubelet: Kubelet) -> WiringCheck:
    """After the DAGs: KEDA's query through PgBouncer with the worker's connection, probes, and what statsd got."""
    problems, details = [], []
    scaled = twin.rendered.of_kind("ScaledObject")
    if scaled:
        trigger = scaled[0]["spec"]["triggers"][0]["metadata"]
        target = scaled[0]["spec"]["scaleTargetRef"]
        worker = next(w for w in workloads(twin.rendered.manifests) if w.name == target["name"])
        container = next(c for c in worker.containers() if c.name == target.get("envSourceContainerName", c.name))
        url = rewrite_env(container.env(twin.secret), twin.endpoints, container.where)[trigger["connectionFromEnv"]]
        try:
            details.append(f"KEDA query through PgBouncer = {psql_query(url, trigger['query'], 'KEDA ScaledObject query')}")
        except TwinError as exc:
            problems.append(str(exc))
    metrics = twin.statsd.names() if twin.statsd else {}
    if not metrics:
        problems.append("statsd: Airflow emitted no metric to the CloudWatch agent's StatsD Service")
    details.append(f"statsd received {sum(metrics.values())} datagrams, {len(metrics)} names")
    passed = sum(1 for w in twin.probes.containers.values() for p in w.probes.values() if p.passed)
    details.append(f"{passed} probes passed")
    return WiringCheck("keda-statsd-probes", "; ".join(details), problem="; ".join(problems))


def _mounted_dags_prefix(stack: StackWiring) -> str:
    """The bucket prefix the DAGs volume (Mountpoint for S3) mounts: its `prefix <p>/` mount option."""
    volume = stack.plan.one("kubernetes:core/v1:PersistentVolume")
    prefixes = [o.split(" ", 1)[1].strip("/") for o in volume.inputs["spec"].get("mountOptions", []) if o.startswith("prefix ")]
    if len(prefixes) != 1:
        raise TwinError(f"the DAGs PersistentVolume mounts {len(prefixes)} bucket prefixes; expected one `prefix` option")
    return prefixes[0]
