"""The EKS target's twin: what the chart would run, from the Secrets and Helm values the program declares."""

from __future__ import annotations

from . import aws
from .airflow_procs import AirflowHome, migrate_db, new_home, start_components, twin_environment, unwrapped, write_airflow_cfg
from .certs import make_certificates
from .checks import CheckContext, WiringCheck
from .datastores import Postgres, check_stats_connection, pgbouncer_listen_port, start_pgbouncer, start_redis
from .endpoints import Endpoints, Service
from .errors import TwinError
from .ports import free_port
from .supervisor import Supervisor
from .wiring import StackWiring

# Service ports the chart sets by default (values `ports.*`); used unless the release values set them.
CHART_DEFAULT_PORTS = {"redisDB": 6379, "apiServer": 8080}


def _chart_port(values: dict, name: str) -> int:
    return int(values.get("ports", {}).get(name, CHART_DEFAULT_PORTS[name]))


def _admin_password(values: dict, secret) -> str:
    """The password the chart's create-user Job gets from a Secret (the only secretKeyRef in its env)."""
    refs = [item["valueFrom"]["secretKeyRef"] for item in values["createUserJob"].get("env", [])
            if "secretKeyRef" in item.get("valueFrom", {})]
    if len(refs) != 1:
        raise TwinError(f"createUserJob.env: expected one password from a Secret, found {len(refs)}")
    return secret(refs[0]["name"], refs[0]["key"])


def _mounted_dags_prefix(stack: StackWiring) -> str:
    """The bucket prefix the DAGs volume (Mountpoint for S3) mounts: its `prefix <p>/` mount option."""
    volume = stack.plan.one("kubernetes:core/v1:PersistentVolume")
    prefixes = [o.split(" ", 1)[1].strip("/") for o in volume.inputs["spec"].get("mountOptions", []) if o.startswith("prefix ")]
    if len(prefixes) != 1:
        raise TwinError(f"the DAGs PersistentVolume mounts {len(prefixes)} bucket prefixes; expected one `prefix` option")
    return prefixes[0]


def start_eks(stack: StackWiring, supervisor: Supervisor) -> tuple[AirflowHome, CheckContext, list[WiringCheck]]:
    """Start every component; returns the Airflow home, what to check on the DAGs, and the wiring checks made."""
    release = stack.airflow_release()
    values, namespace = release["values"], release["namespace"]
    fullname = values["fullnameOverride"]
    secret = lambda name, key: stack.k8s_secret(name)[key]  # noqa: E731 - the chart reads Secrets by name and key
    data = values["data"]
    certs = make_certificates(supervisor.workdir / "tls")
    endpoints = Endpoints()
    wiring_checks: list[WiringCheck] = []

    _, moto_port = aws.start_moto(supervisor)
    aws.declare_aws_endpoints(endpoints, stack.region, moto_port)
    aws_env = aws.aws_environment(endpoints, stack.region)

    # Metadata database: RDS, as declared (user, password and database of the instance).
    rds = stack.plan.one("aws:rds/instance:Instance")
    postgres = Postgres(supervisor, certs)
    endpoints.declare(Service("RDS metadata database", *stack.rds()), postgres.port)
    postgres.start(rds.inputs["username"], rds.inputs["password"], rds.inputs["dbName"])

    # PgBouncer: the generated pgbouncer.ini and users.txt, TLS to PostgreSQL as the ini says.
    config = stack.k8s_secret(values["pgbouncer"]["configSecretName"])
    listen_port, pgbouncer_port = pgbouncer_listen_port(config["pgbouncer.ini"]), free_port()
    endpoints.declare(Service("PgBouncer", f"{fullname}-pgbouncer", listen_port, namespace=namespace, pod="pgbouncer"),
                      pgbouncer_port)
    start_pgbouncer(supervisor, config["pgbouncer.ini"], config["users.txt"], endpoints, pgbouncer_port)
    # The chart's default name unless the values name the Secret.
    stats_secret = values["pgbouncer"].get("metricsExporterSidecar", {}).get("statsSecretName",
                                                                           f"{release['name']}-pgbouncer-stats")

    # Celery broker: ElastiCache (TLS + AUTH token) or the chart's Redis (password Secret).
    redis_port = free_port()
    if values["redis"]["enabled"]:
        endpoints.declare(Service("in-cluster Redis", f"{fullname}-redis", _chart_port(values, "redisDB"), namespace=namespace),
                          redis_port)
        start_redis(supervisor, redis_port, secret(values["redis"]["passwordSecretName"], "password"), certs=None)
    else:
        group = stack.plan.one("aws:elasticache/replicationGroup:ReplicationGroup")
        endpoints.declare(Service("ElastiCache primary endpoint", *stack.elasticache()), redis_port)
        tls = certs if group.inputs.get("transitEncryptionEnabled") else None
        start_redis(supervisor, redis_port, group.inputs["authToken"], certs=tls)
    home = new_home(supervisor.workdir, _admin_password(values, secret))
    endpoints.declare(Service("API server", f"{fullname}-api-server", _chart_port(values, "apiServer"), namespace=namespace),
                      home.api_port)

    aws.fill_platform(stack, aws_env)
    aws.download_prefix(stack, aws_env, _mounted_dags_prefix(stack), home.dags)  # stands in for the S3 CSI mount

    # The chart's `config` into airflow.cfg; its standard_airflow_environment from the Secrets; its `env`.
    write_airflow_cfg(home, {**values["config"], "core": {**values["config"].get("core", {}), "executor": values["executor"]}})
    env = twin_environment(home)
    env.update(aws_env)
    env.update({
        "AIRFLOW__CORE__FERNET_KEY": secret(values["fernetKeySecretName"], "fernet-key"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": endpoints.url(secret(data["metadataSecretName"], "connection"),
                                                             f"{data['metadataSecretName']} connection"),
        "AIRFLOW__CELERY__RESULT_BACKEND": endpoints.url(secret(data["resultBackendSecretName"], "connection"),
                                                         f"{data['resultBackendSecretName']} connection"),
        "AIRFLOW__CELERY__BROKER_URL": endpoints.url(secret(data["brokerUrlSecretName"], "connection"),
                                                     f"{data['brokerUrlSecretName']} connection"),
        "AIRFLOW__API__SECRET_KEY": secret(values["apiSecretKeySecretName"], "api-secret-key"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secret(values["jwtSecretName"], "jwt-secret"),
        # The chart's default: the API server's Service.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": endpoints.url(
            f"http://{fullname}-api-server:{_chart_port(values, 'apiServer')}/execution/", "core.execution_api_server_url"),
        # Clients verify the broker's certificate against the made CA (as against ElastiCache's public CA).
        "SSL_CERT_FILE": str(certs.ca),
    })
    env["AIRFLOW_CONN_AIRFLOW_DB"] = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    env.update({item["name"]: str(item["value"]) for item in values.get("env", [])})

    migrate_db(supervisor, env, unwrapped)
    start_components(supervisor, home, env, unwrapped)

    # The exporter sidecar's stats connection (lib/pq semantics), checked once PgBouncer serves.
    # A failure here is reported with the DAGs (the twin still runs them), and fails the run.
    try:
        stats = check_stats_connection(secret(stats_secret, "connection"), endpoints, pod="pgbouncer")
        wiring_checks.append(WiringCheck("pgbouncer-exporter", f"stats connection: {stats}"))
    except TwinError as exc:
        wiring_checks.append(WiringCheck("pgbouncer-exporter", "", problem=str(exc)))
    remote = values["config"].get("logging", {}).get("remote_logging") == "True"
    context = CheckContext(stack=stack, aws_env=aws_env, deployment_target=env.get("DEPLOYMENT_TARGET", "unknown"),
                           remote_logs=remote)
    return home, context, wiring_checks
