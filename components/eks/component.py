"""Self-managed Airflow on EKS: cluster, data stores, per-component roles, secrets, and the official chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .. import airflow_config as af
from .. import iam
from ..alarms import agent
from ..eks_addon_registries import ecr_repository_arn
from ..platform import SharedPlatform
from ..settings import Side
from .addons import ClusterAddons, ClusterAddonsArgs
from .cluster import EksCluster, EksClusterArgs
from .datastores import CeleryBroker, DataStoreArgs
from .irsa import irsa_role
from .side import DAGS_CLAIM, ClusterShared, deploy_side

S3_CSI_ADDON = "aws-mountpoint-s3-csi-driver"
S3_CSI_SERVICE_ACCOUNT = ("kube-system", "s3-csi-driver-sa")
__all__ = ["DAGS_CLAIM", "EksAirflow", "EksAirflowArgs"]  # DAGS_CLAIM: the claim both sides' chart values name


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

        # The image: ECR repository of this environment, one tag per Airflow version + requirements (image.py).
        repository = aws.ecr.Repository(f"{name}-image", name=f"{env_name}/airflow", image_tag_mutability="IMMUTABLE",
                                        image_scanning_configuration={"scan_on_push": True},
                                        encryption_configurations=[{"encryption_type": "KMS", "kms_key": platform.kms_key_arn}],
                                        tags=platform.tags, opts=pulumi.ResourceOptions(parent=self))
        # A stack's own image.repository replaces it for the pods, and for the nodes' pull permission when it is in ECR.
        pulled = [repository.arn] if cfg.image.repository is None else [
            arn for arn in [ecr_repository_arn(cfg.image.repository)] if arn]
        cluster = EksCluster(f"{name}-cluster", EksClusterArgs(
            cluster_name=self.cluster_name, settings=cfg, vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids, kms_key_arn=platform.kms_key_arn,
            aws=platform.aws, image_repository_arns=pulled, protect=settings.protect_data, tags=platform.tags,
            log_retention_days=settings.log_retention_days),
            opts=pulumi.ResourceOptions(parent=self))

        store_args = DataStoreArgs(environment_name=env_name, vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
                                   client_security_group_id=cluster.cluster_security_group_id,
                                   kms_key_arn=platform.kms_key_arn, protect=settings.protect_data, tags=platform.tags)
        broker = (CeleryBroker(f"{name}-broker", store_args, cfg.cache, opts=pulumi.ResourceOptions(parent=self))
                  if cfg.broker == "elasticache" else None)

        addons = ClusterAddons(f"{name}-addons", ClusterAddonsArgs(
            platform=platform, cluster=cluster, cluster_name=self.cluster_name, kubernetes_version=cfg.kubernetes_version),
            opts=pulumi.ResourceOptions(parent=self))
        self._metrics_agent(name, platform, cluster)
        shared = ClusterShared(platform=platform, cluster=cluster, store_args=store_args, broker=broker,
                               image_repository=cfg.image.repository or repository.repository_url,
                               addon_releases=list(addons.releases), dags_addon=self._dags_addon(name, platform, cluster))
        # Blue/green (docs/upgrades.md): each side is a release in its own namespace; the live one fills the outputs.
        self.sides = [deploy_side(self, name, side, shared) for side in settings.sides]
        live = self.sides[0]
        self.release = live.release
        self.service_account_policies = live.service_account_policies
        self.database_identifier = live.database_identifier  # the live side's metadata DB: what the alarms watch
        self.live_slot = live.side.slot  # and its StatsD prefix (alarms/agent.py statsd_prefix)
        self.kubeconfig = cluster.kubeconfig
        self.register_outputs({"clusterName": self.cluster_name, "image": live.image})

    def outputs(self) -> dict[str, Any]:
        return {**self.sides[0].outputs(), "eksClusterName": self.cluster_name, "kubeconfig": self.kubeconfig}

    def upgrade_outputs(self) -> dict[Side, dict[str, Any]]:
        """The side being rehearsed beside the live one, if any."""
        return {s.side: s.outputs() for s in self.sides[1:]}

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

    def _dags_addon(self, name: str, platform: SharedPlatform, cluster: EksCluster) -> pulumi.Resource:
        """Mountpoint for S3's CSI driver with a role that reads only dags/: each side's volume mounts through it."""
        bucket = platform.bucket
        role, _ = irsa_role(f"{name}-s3-csi", platform, cluster.oidc_provider_arn, cluster.oidc_issuer, *S3_CSI_SERVICE_ACCOUNT,
                         statements=[
                             {"Sid": "ListDags", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket.bucket_arn,
                              "Condition": {"StringLike": {"s3:prefix": [f"{af.DAGS_PREFIX}/*", af.DAGS_PREFIX]}}},
                             {"Sid": "ReadDags", "Effect": "Allow", "Action": "s3:GetObject",
                              "Resource": pulumi.Output.concat(bucket.bucket_arn, f"/{af.DAGS_PREFIX}/*")},
                             iam.kms_use_via(platform.aws, platform.kms_key_arn, ["s3"]),
                         ], parent=self)
        return aws.eks.Addon(f"{name}-s3-csi", cluster_name=self.cluster_name, addon_name=S3_CSI_ADDON,
                             service_account_role_arn=role.arn, resolve_conflicts_on_update="OVERWRITE", tags=platform.tags,
                             opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster.cluster, *cluster.node_groups]))
