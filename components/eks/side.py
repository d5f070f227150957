"""One side of Airflow on the EKS cluster: namespace, roles, DAGs claim, metadata DB, secrets and the chart release.

Blue/green (docs/upgrades.md): the cluster, its add-ons, the ECR repository and the ElastiCache broker are the
cluster's; each side gets the rest. Blue's resources keep the names they always had (`eks-...`, namespace `airflow`);
green's are `eks-green-...` in namespace `airflow-green`. Green's metadata DB is a new RDS instance that its own
migrate Job creates at its version, then filled by the runbook (`python -m tools.migrate`), as MWAA's new-environment
path does; restoring a snapshot of blue's would copy a database blue keeps writing to and run green's migration on a
copy of live data. Green's Celery queues live in Redis database 1 of the same ElastiCache (blue uses 0), so the two
sides' workers never take each other's tasks: the replication group runs with cluster mode disabled
(num_cache_clusters, datastores.py), where logical databases exist (Redis `SELECT`, https://redis.io/commands/select:
only Redis Cluster is limited to database 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import airflow_config as af
from ..platform import SharedPlatform
from ..settings import Side, worker_node_group
from . import chart_values as chart
from .chart_values import SecretNames
from .cluster import EksCluster
from .datastores import CeleryBroker, DataStoreArgs, MetadataDatabase, REDIS_PORT
from .image import image_tag
from .irsa import NAMESPACE, ServiceAccountRoles, ServiceAccountRolesArgs
from .network_policies import network_policies

DAGS_CLAIM = "airflow-dags"
# Redis logical database of each slot on the shared ElastiCache broker.
BROKER_DB = {"blue": 0, "green": 1}


def namespace_of(side: Side) -> str:
    return NAMESPACE if side.is_blue else f"{NAMESPACE}-{side.slot}"


@dataclass
class ClusterShared:
    """What both sides use: the cluster, its add-ons and S3 CSI driver, the image repository and the broker."""

    platform: SharedPlatform
    cluster: EksCluster
    store_args: DataStoreArgs
    broker: CeleryBroker | None
    image_repository: pulumi.Input[str]
    addon_releases: list[pulumi.Resource]
    dags_addon: pulumi.Resource


@dataclass
class SideOutputs:
    side: Side
    namespace: str
    release: k8s.helm.v3.Release
    image: pulumi.Output[str]
    metadata_endpoint: pulumi.Output[str]
    database_identifier: pulumi.Output[str]
    broker_endpoint: pulumi.Input[str]
    ui_access: str
    service_account_policies: dict[str, pulumi.Output[str]]

    def outputs(self) -> dict[str, Any]:
        return {"airflowUiUrl": self.ui_access, "airflowImage": self.image,
                "metadataDbEndpoint": self.metadata_endpoint, "brokerEndpoint": self.broker_endpoint,
                "adminPasswordSecret": f"kubectl -n {self.namespace} get secret {SecretNames.admin_password} "
                                       "-o jsonpath='{.data.password}' | base64 -d"}


def deploy_side(parent: pulumi.Resource, base: str, side: Side, shared: ClusterShared) -> SideOutputs:
    """Declare one side under `parent` with names from `base` (`eks`), blue's unchanged."""
    platform, cluster = shared.platform, shared.cluster
    settings = platform.settings
    cfg = settings.eks
    name, namespace_name, version = side.logical(base), namespace_of(side), side.airflow_version
    store_args = (shared.store_args if side.is_blue else
                  DataStoreArgs(**{**shared.store_args.__dict__,
                                   "environment_name": side.environment_name(shared.store_args.environment_name)}))
    database = MetadataDatabase(f"{name}-metadata-db", store_args, cfg.database, opts=pulumi.ResourceOptions(parent=parent))
    roles = ServiceAccountRoles(f"{name}-roles", ServiceAccountRolesArgs(
        platform=platform, oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
        components=chart.airflow_components(version), namespace=namespace_name), opts=pulumi.ResourceOptions(parent=parent))
    # The live side may pin its own tag (eks.image.tag); an upgrade side always runs the image of its version.
    tag = (cfg.image.tag if side.live and cfg.image.tag else None) or image_tag(version)

    k8s_opts = pulumi.ResourceOptions(parent=parent, provider=cluster.provider)
    namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata={"name": namespace_name}, opts=k8s_opts)
    in_namespace = pulumi.ResourceOptions(parent=parent, provider=cluster.provider, depends_on=[namespace])
    dags_claim = _dags_volume(name, side, shared, in_namespace)
    secrets = _secrets(parent, name, side, database, shared.broker, in_namespace)
    # The egress side of the chart's NetworkPolicies and the gaps in its ingress rules (network_policies.py).
    policies = [k8s.networking.v1.NetworkPolicy(
        f"{name}-policy-{spec['metadata']['name']}", metadata={**spec["metadata"], "namespace": namespace_name},
        spec=spec["spec"], opts=in_namespace)
        for spec in network_policies(version, cfg.broker, settings.network.vpc_cidr, database.port)]
    values = chart.airflow_values(chart.ChartInputs(
        airflow_version=version, image_repository=shared.image_repository, image_tag=tag,
        bucket_name=platform.bucket.bucket_name, role_arns=roles.role_arns, broker=cfg.broker, workers=cfg.workers,
        dags_claim=dags_claim, resources=cfg.resources, worker_node_group=worker_node_group(cfg).name,
        replicas=cfg.replicas, side_slot=side.slot,
        # The stack's Airflow options apply on both targets, so DAGs behave the same after a move.
        airflow_config={**settings.mwaa.airflow_configuration_options,
                        **af.portable_airflow_config(platform.secrets_prefixes),
                        **({} if side.live else chart.PAUSED_AT_CREATION)}))
    release = k8s.helm.v3.Release(
        # The vendored chart folder (no repository_opts): what tests/test_rendered_chart.py renders is what deploys.
        f"{name}-airflow", name=chart.RELEASE, chart=chart.chart_path(version),
        version=chart.chart_version(version), namespace=namespace_name, values=values,
        # Waits until the migration and admin-user Jobs have completed and every pod is ready.
        timeout=chart.RELEASE_TIMEOUT_SECONDS, wait_for_jobs=True,
        opts=pulumi.ResourceOptions(parent=parent, provider=cluster.provider,
                                    depends_on=[namespace, *shared.addon_releases, *secrets, *policies,
                                                *cluster.node_groups]))
    broker_endpoint = (shared.broker.host if shared.broker else f"{chart.FULLNAME}-redis.{namespace_name}:{REDIS_PORT}")
    ui_service = "airflow-api-server" if af.is_airflow3(version) else "airflow-webserver"
    # Nothing is exposed outside the VPC by default: the UI is reached through the Kubernetes API.
    ui_access = f"kubectl -n {namespace_name} port-forward svc/{ui_service} 8080:8080, then open http://localhost:8080"
    return SideOutputs(side, namespace_name, release, pulumi.Output.concat(shared.image_repository, ":", tag),
                       database.host, database.instance.identifier, broker_endpoint, ui_access, roles.policies)


def _dags_volume(name: str, side: Side, shared: ClusterShared, opts: pulumi.ResourceOptions) -> str:
    """The bucket's dags/ prefix as a read-only volume (Mountpoint for S3): the same files MWAA syncs, on both sides."""
    platform, namespace = shared.platform, namespace_of(side)
    volume_name = side.logical(DAGS_CLAIM)  # PersistentVolumes are cluster-wide: one per side
    volume = k8s.core.v1.PersistentVolume(
        f"{name}-dags", metadata={"name": volume_name},
        spec={"capacity": {"storage": "10Gi"}, "access_modes": ["ReadOnlyMany"], "storage_class_name": "",
              "claim_ref": {"namespace": namespace, "name": DAGS_CLAIM},
              "mount_options": ["read-only", "allow-other", f"uid={chart.AIRFLOW_UID}", "gid=0",
                                f"prefix {af.DAGS_PREFIX}/", pulumi.Output.concat("region ", platform.aws.region)],
              "csi": {"driver": "s3.csi.aws.com", "volume_handle": f"{namespace}-dags",
                      "volume_attributes": {"bucketName": platform.bucket.bucket_name}}},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[shared.dags_addon])))
    k8s.core.v1.PersistentVolumeClaim(
        f"{name}-dags", metadata={"name": DAGS_CLAIM, "namespace": namespace},
        spec={"access_modes": ["ReadOnlyMany"], "storage_class_name": "", "volume_name": volume_name,
              "resources": {"requests": {"storage": "10Gi"}}},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[volume])))
    return DAGS_CLAIM


def _secrets(parent: pulumi.Resource, name: str, side: Side, database: MetadataDatabase, broker: CeleryBroker | None,
             opts: pulumi.ResourceOptions) -> list[k8s.core.v1.Secret]:
    """Every credential Airflow needs, generated here and handed to the chart as named Secrets.

    Each is a pulumi-random value with no keepers and a name that doesn't carry the version: a version or chart change
    never regenerates one, so the JWT and API secret keys (Airflow 3) and every password stay as they are across an
    in-place upgrade (tests/test_upgrade_chart.py). A green side has its own."""
    child = pulumi.ResourceOptions(parent=parent)
    namespace = namespace_of(side)

    def password(logical: str, length: int) -> pulumi.Output[str]:
        return random.RandomPassword(f"{name}-{logical}", length=length, special=False, opts=child).result

    def secret(logical: str, secret_name: str, data: dict[str, pulumi.Input[str]]) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(f"{name}-{logical}", metadata={"name": secret_name, "namespace": namespace},
                                  string_data={k: pulumi.Output.secret(v) for k, v in data.items()}, opts=opts)

    # Fernet keys are 32 random bytes in URL-safe base64.
    fernet = random.RandomBytes(f"{name}-fernet-key", length=32, opts=child).base64.apply(
        lambda b: b.replace("+", "-").replace("/", "_"))
    db_password, user = database.password, database.username
    made = [
        secret("fernet-key", SecretNames.fernet, {"fernet-key": fernet}),
        secret("admin-password", SecretNames.admin_password, {"password": password("admin-password", 24)}),
        secret("metadata", SecretNames.metadata, {"connection": db_password.apply(
            lambda pw: chart.metadata_url(user, pw, namespace))}),
        secret("result-backend", SecretNames.result_backend, {"connection": db_password.apply(
            lambda pw: chart.result_backend_url(user, pw, namespace))}),
        secret("pgbouncer-config", SecretNames.pgbouncer_config, {
            "pgbouncer.ini": pulumi.Output.all(database.host, database.port).apply(
                lambda v: chart.pgbouncer_ini(v[0], int(v[1]), database.database_name)),
            "users.txt": db_password.apply(lambda pw: chart.pgbouncer_users(user, pw))}),
        secret("pgbouncer-stats", SecretNames.pgbouncer_stats, {"connection": db_password.apply(
            lambda pw: chart.pgbouncer_stats_url(user, pw))}),
    ]
    if af.is_airflow3(side.airflow_version):
        made += [secret("api-secret-key", SecretNames.api_secret_key, {"api-secret-key": password("api-secret-key", 48)}),
                 secret("jwt-secret", SecretNames.jwt, {"jwt-secret": password("jwt-secret", 64)})]
    else:
        made.append(secret("webserver-secret-key", SecretNames.webserver_secret_key,
                           {"webserver-secret-key": password("webserver-secret-key", 48)}))
    db = BROKER_DB[side.slot]
    if broker is not None:
        # rediss://: TLS to ElastiCache, certificate verified.
        url = pulumi.Output.all(broker.auth_token, broker.host).apply(
            lambda v: f"rediss://:{v[0]}@{v[1]}:{REDIS_PORT}/{db}?ssl_cert_reqs=required")
    else:
        redis_password = password("redis-password", 32)
        made.append(secret("redis-password", SecretNames.redis_password, {"password": redis_password}))
        url = redis_password.apply(lambda pw: f"redis://:{pw}@{chart.FULLNAME}-redis:{REDIS_PORT}/0")
    made.append(secret("broker-url", SecretNames.broker_url, {"connection": url}))
    return made
