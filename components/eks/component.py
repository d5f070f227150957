"""Self-managed Airflow on EKS: cluster, data stores, per-component roles, secrets, and the official chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import airflow_config as af
from .. import iam
from ..alarms import agent
from ..platform import SharedPlatform
from ..settings import worker_node_group
from . import chart_values as chart
from .chart_values import SecretNames
from .addons import ClusterAddons, ClusterAddonsArgs
from .cluster import EksCluster, EksClusterArgs
from .datastores import CeleryBroker, DataStoreArgs, MetadataDatabase, REDIS_PORT
from .image import image_tag
from .irsa import NAMESPACE, ServiceAccountRoles, ServiceAccountRolesArgs, irsa_role
from .network_policies import network_policies

S3_CSI_ADDON = "aws-mountpoint-s3-csi-driver"
S3_CSI_SERVICE_ACCOUNT = ("kube-system", "s3-csi-driver-sa")
DAGS_CLAIM = "airflow-dags"


@dataclass
class EksAirflowArgs:
    platform: SharedPlatform


class EksAirflow(pulumi.ComponentResource):
    def __init__(self, name: str, args: EksAirflowArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:eks:EksAirflow", name, None, opts)
        platform = args.platform
        settings, network = platform.settings, platform.network
        cfg = settings.eks
        env_name = settings.environment_name
        self.cluster_name = env_name

        cluster = EksCluster(f"{name}-cluster", EksClusterArgs(
            cluster_name=self.cluster_name, settings=cfg, vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids, kms_key_arn=platform.kms_key_arn,
            protect=settings.protect_data, tags=platform.tags, log_retention_days=settings.log_retention_days),
            opts=pulumi.ResourceOptions(parent=self))
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=cluster.provider)

        store_args = DataStoreArgs(environment_name=env_name, vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
                                   client_security_group_id=cluster.cluster_security_group_id,
                                   kms_key_arn=platform.kms_key_arn, protect=settings.protect_data, tags=platform.tags)
        database = MetadataDatabase(f"{name}-metadata-db", store_args, cfg.database, opts=pulumi.ResourceOptions(parent=self))
        broker = (CeleryBroker(f"{name}-broker", store_args, cfg.cache, opts=pulumi.ResourceOptions(parent=self))
                  if cfg.broker == "elasticache" else None)

        components = chart.airflow_components(settings.airflow_version)
        roles = ServiceAccountRoles(f"{name}-roles", ServiceAccountRolesArgs(
            platform=platform, oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
            components=components), opts=pulumi.ResourceOptions(parent=self))
        self.service_account_policies = roles.policies

        # The image: ECR repository of this environment, tag derived from version + requirements.
        repository = aws.ecr.Repository(f"{name}-image", name=f"{env_name}/airflow", image_tag_mutability="IMMUTABLE",
                                        image_scanning_configuration={"scan_on_push": True},
                                        encryption_configurations=[{"encryption_type": "KMS", "kms_key": platform.kms_key_arn}],
                                        tags=platform.tags, opts=pulumi.ResourceOptions(parent=self))
        image_repository = cfg.image.repository or repository.repository_url
        tag = cfg.image.tag or image_tag(settings.airflow_version)

        namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata={"name": NAMESPACE}, opts=k8s_opts)
        in_namespace = pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=[namespace])
        dags_claim = self._dags_volume(name, platform, cluster, in_namespace)
        secrets = self._secrets(name, settings.airflow_version, database, broker, in_namespace)
        # The egress side of the chart's NetworkPolicies and the gaps in its ingress rules (network_policies.py).
        policies = [k8s.networking.v1.NetworkPolicy(
            f"{name}-policy-{spec['metadata']['name']}", metadata={**spec["metadata"], "namespace": NAMESPACE},
            spec=spec["spec"], opts=in_namespace)
            for spec in network_policies(settings.airflow_version, cfg.broker, settings.network.vpc_cidr, database.port)]

        addons = ClusterAddons(f"{name}-addons", ClusterAddonsArgs(
            platform=platform, cluster=cluster, cluster_name=self.cluster_name, kubernetes_version=cfg.kubernetes_version),
            opts=pulumi.ResourceOptions(parent=self))
        self._metrics_agent(name, platform, cluster)
        self.database_identifier = database.instance.identifier
        values = chart.airflow_values(chart.ChartInputs(
            airflow_version=settings.airflow_version, image_repository=image_repository, image_tag=tag,
            bucket_name=platform.bucket.bucket_name, role_arns=roles.role_arns, broker=cfg.broker, workers=cfg.workers,
            dags_claim=dags_claim, resources=cfg.resources, worker_node_group=worker_node_group(cfg).name,
            replicas=cfg.replicas,
            # The stack's Airflow options apply on both targets, so DAGs behave the same after a move.
            airflow_config={**settings.mwaa.airflow_configuration_options,
                            **af.portable_airflow_config(platform.secrets_prefixes)}))
        self.release = k8s.helm.v3.Release(
            # The vendored chart folder (no repository_opts): what tests/test_rendered_chart.py renders is what deploys.
            f"{name}-airflow", name=chart.RELEASE, chart=chart.chart_path(settings.airflow_version),
            version=chart.chart_version(settings.airflow_version), namespace=NAMESPACE, values=values,
            # Waits until the migration and admin-user Jobs have completed and every pod is ready.
            timeout=1200, wait_for_jobs=True,
            opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider,
                                        depends_on=[namespace, *addons.releases, *secrets, *policies,
                                                    *cluster.node_groups]))

        self.image = pulumi.Output.concat(image_repository, ":", tag)
        self.kubeconfig = cluster.kubeconfig
        self.metadata_endpoint = database.host
        self.broker_endpoint = broker.host if broker else f"{chart.FULLNAME}-redis.{NAMESPACE}:{REDIS_PORT}"
        ui_service = "airflow-api-server" if chart.is_airflow3(settings.airflow_version) else "airflow-webserver"
        # Nothing is exposed outside the VPC by default: the UI is reached through the Kubernetes API.
        self.ui_access = f"kubectl -n {NAMESPACE} port-forward svc/{ui_service} 8080:8080, then open http://localhost:8080"
        self.register_outputs({"clusterName": self.cluster_name, "image": self.image})

    def outputs(self) -> dict[str, Any]:
        return {
            "airflowUiUrl": self.ui_access,
            "eksClusterName": self.cluster_name,
            "kubeconfig": self.kubeconfig,
            "airflowImage": self.image,
            "metadataDbEndpoint": self.metadata_endpoint,
            "brokerEndpoint": self.broker_endpoint,
            "adminPasswordSecret": f"kubectl -n {NAMESPACE} get secret {SecretNames.admin_password} -o jsonpath='{{.data.password}}' | base64 -d",
        }

    def _metrics_agent(self, name: str, platform: SharedPlatform, cluster: EksCluster) -> None:
        """The CloudWatch agent (components/alarms/agent.py) as a DaemonSet, receiving Airflow's StatsD metrics. Its
        role may only put metrics into this environment's namespace (cloudwatch:namespace condition)."""
        role, _ = irsa_role(f"{name}-cloudwatch-agent", platform, cluster.oidc_provider_arn, cluster.oidc_issuer,
                            agent.NAMESPACE, agent.SERVICE, statements=[
                                {"Sid": "PutAirflowMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData",
                                 "Resource": "*",  # PutMetricData has no resource type; the namespace narrows it
                                 "Condition": {"StringEquals": {
                                     "cloudwatch:namespace": agent.agent_namespace(platform.settings.environment_name)}}},
                            ], parent=self)
        pod = platform.settings.eks.resources.statsd
        aws.eks.Addon(f"{name}-cloudwatch-agent", cluster_name=self.cluster_name, addon_name=agent.ADDON,
                      service_account_role_arn=role.arn, resolve_conflicts_on_update="OVERWRITE", tags=platform.tags,
                      configuration_values=agent.addon_configuration(platform.settings.environment_name,
                                                                     pod.cpu_millis, pod.memory_mib),
                      opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster.cluster, *cluster.node_groups]))

    def _dags_volume(self, name: str, platform: SharedPlatform, cluster: EksCluster, opts: pulumi.ResourceOptions) -> str:
        """The bucket's dags/ prefix as a read-only volume (Mountpoint for S3): the same files MWAA syncs."""
        bucket = platform.bucket
        role, _ = irsa_role(f"{name}-s3-csi", platform, cluster.oidc_provider_arn, cluster.oidc_issuer, *S3_CSI_SERVICE_ACCOUNT,
                         statements=[
                             {"Sid": "ListDags", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket.bucket_arn,
                              "Condition": {"StringLike": {"s3:prefix": [f"{af.DAGS_PREFIX}/*", af.DAGS_PREFIX]}}},
                             {"Sid": "ReadDags", "Effect": "Allow", "Action": "s3:GetObject",
                              "Resource": pulumi.Output.concat(bucket.bucket_arn, f"/{af.DAGS_PREFIX}/*")},
                             iam.kms_use_via(platform.aws, platform.kms_key_arn, ["s3"]),
                         ], parent=self)
        addon = aws.eks.Addon(f"{name}-s3-csi", cluster_name=self.cluster_name, addon_name=S3_CSI_ADDON,
                              service_account_role_arn=role.arn, resolve_conflicts_on_update="OVERWRITE", tags=platform.tags,
                              opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster.cluster, *cluster.node_groups]))
        volume = k8s.core.v1.PersistentVolume(
            f"{name}-dags", metadata={"name": DAGS_CLAIM},
            spec={"capacity": {"storage": "10Gi"}, "access_modes": ["ReadOnlyMany"], "storage_class_name": "",
                  "claim_ref": {"namespace": NAMESPACE, "name": DAGS_CLAIM},
                  "mount_options": ["read-only", "allow-other", f"uid={chart.AIRFLOW_UID}", "gid=0",
                                    f"prefix {af.DAGS_PREFIX}/", pulumi.Output.concat("region ", platform.aws.region)],
                  "csi": {"driver": "s3.csi.aws.com", "volume_handle": f"{NAMESPACE}-dags",
                          "volume_attributes": {"bucketName": bucket.bucket_name}}},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[addon])))
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-dags", metadata={"name": DAGS_CLAIM, "namespace": NAMESPACE},
            spec={"access_modes": ["ReadOnlyMany"], "storage_class_name": "", "volume_name": DAGS_CLAIM,
                  "resources": {"requests": {"storage": "10Gi"}}},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[volume])))
        return DAGS_CLAIM

    def _secrets(self, name: str, airflow_version: str, database: MetadataDatabase, broker: CeleryBroker | None,
                 opts: pulumi.ResourceOptions) -> list[k8s.core.v1.Secret]:
        """Every credential Airflow needs, generated here and handed to the chart as named Secrets."""
        child = pulumi.ResourceOptions(parent=self)

        def password(logical: str, length: int) -> pulumi.Output[str]:
            return random.RandomPassword(f"{name}-{logical}", length=length, special=False, opts=child).result

        def secret(logical: str, secret_name: str, data: dict[str, pulumi.Input[str]]) -> k8s.core.v1.Secret:
            return k8s.core.v1.Secret(f"{name}-{logical}", metadata={"name": secret_name, "namespace": NAMESPACE},
                                      string_data={k: pulumi.Output.secret(v) for k, v in data.items()}, opts=opts)

        # Fernet keys are 32 random bytes in URL-safe base64.
        fernet = random.RandomBytes(f"{name}-fernet-key", length=32, opts=child).base64.apply(
            lambda b: b.replace("+", "-").replace("/", "_"))
        db_password = database.password
        made = [
            secret("fernet-key", SecretNames.fernet, {"fernet-key": fernet}),
            secret("admin-password", SecretNames.admin_password, {"password": password("admin-password", 24)}),
            secret("metadata", SecretNames.metadata, {"connection": db_password.apply(
                lambda pw: chart.metadata_url(database.username, pw))}),
            secret("result-backend", SecretNames.result_backend, {"connection": db_password.apply(
                lambda pw: chart.result_backend_url(database.username, pw))}),
            secret("pgbouncer-config", SecretNames.pgbouncer_config, {
                "pgbouncer.ini": pulumi.Output.all(database.host, database.port).apply(
                    lambda v: chart.pgbouncer_ini(v[0], int(v[1]), database.database_name)),
                "users.txt": db_password.apply(lambda pw: chart.pgbouncer_users(database.username, pw))}),
            secret("pgbouncer-stats", SecretNames.pgbouncer_stats, {"connection": db_password.apply(
                lambda pw: chart.pgbouncer_stats_url(database.username, pw))}),
        ]
        if chart.is_airflow3(airflow_version):
            made += [secret("api-secret-key", SecretNames.api_secret_key, {"api-secret-key": password("api-secret-key", 48)}),
                     secret("jwt-secret", SecretNames.jwt, {"jwt-secret": password("jwt-secret", 64)})]
        else:
            made.append(secret("webserver-secret-key", SecretNames.webserver_secret_key,
                               {"webserver-secret-key": password("webserver-secret-key", 48)}))
        if broker is not None:
            # rediss://: TLS to ElastiCache, certificate verified.
            url = pulumi.Output.all(broker.auth_token, broker.host).apply(
                lambda v: f"rediss://:{v[0]}@{v[1]}:{REDIS_PORT}/0?ssl_cert_reqs=required")
        else:
            redis_password = password("redis-password", 32)
            made.append(secret("redis-password", SecretNames.redis_password, {"password": redis_password}))
            url = redis_password.apply(lambda pw: f"redis://:{pw}@{chart.FULLNAME}-redis:{REDIS_PORT}/0")
        made.append(secret("broker-url", SecretNames.broker_url, {"connection": url}))
        return made
