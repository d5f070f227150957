"""The EKS cluster Airflow runs on: private API by default, KMS envelope encryption, OIDC for IRSA."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from .. import iam
from ..log_retention import eks_log_group_name, log_groups
from ..settings import EksSettings

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# `enableNetworkPolicy` is the vpc-cni add-on's configuration key (a string, as `aws eks describe-addon-configuration
# --addon-name vpc-cni` lists it; AWS EKS user guide "Restrict Pod network traffic with Kubernetes network policies").
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonEKS_CNI_Policy")


@dataclass
class EksClusterArgs:
    cluster_name: str
    settings: EksSettings
    vpc_id: pulumi.Input[str]
    private_subnet_ids: list[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    protect: bool
    tags: dict[str, str]
    log_retention_days: int = 90  # the control-plane log group's retention (logRetentionDays)


class EksCluster(pulumi.ComponentResource):
    cluster: eks.Cluster
    provider: k8s.Provider

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:eks:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.settings
        public_cidrs = list(cfg.endpoint_public_access_cidrs)

        # Before the cluster, with a retention: EKS would create it itself and keep control-plane logs forever.
        groups = log_groups(f"{name}-logs", {"controlPlane": eks_log_group_name(args.cluster_name)},
                            args.log_retention_days, args.tags, child)
        self.cluster = eks.Cluster(
            name,
            name=args.cluster_name,
            version=cfg.kubernetes_version,
            vpc_id=args.vpc_id,
            private_subnet_ids=args.private_subnet_ids,
            node_associate_public_ip_address=False,
            # The API is reachable from the VPC; from outside only from the CIDRs the stack names.
            endpoint_private_access=True,
            endpoint_public_access=bool(public_cidrs),
            public_access_cidrs=public_cidrs or None,
            encryption_config_key_arn=args.kms_key_arn,
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            create_oidc_provider=True,
            authentication_mode="API",
            skip_default_node_group=True,
            # Managed node groups use the EKS-created cluster security group; pulumi-eks need not add its own.
            skip_default_security_groups=True,
            # The VPC CNI add-on's network policy agent: without it NetworkPolicies are accepted and ignored. pulumi-eks
            # passes configurationValues to the EKS add-on (nodejs/eks/addons/cni-addon.ts, mergeConfigurationValues).
            vpc_cni_options={"configuration_values": VPC_CNI_CONFIGURATION},
            deletion_protection=args.protect,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=groups),
        )

        node_role = aws.iam.Role(f"{name}-node-role", assume_role_policy=iam.assume_role_policy(["ec2.amazonaws.com"]),
                                 tags=args.tags, opts=child)
        attachments = [aws.iam.RolePolicyAttachment(f"{name}-node-{policy}", role=node_role.name,
                                                    policy_arn=f"arn:aws:iam::aws:policy/{policy}", opts=child)
                       for policy in NODE_POLICIES]
        self.node_groups = [
            eks.ManagedNodeGroup(
                f"{name}-{group.name}",
                cluster=self.cluster,
                node_group_name_prefix=f"{group.name}-",
                node_role=node_role,
                subnet_ids=args.private_subnet_ids,
                instance_types=list(group.instance_types),
                capacity_type=group.capacity_type,
                launch_template=self._launch_template(f"{name}-{group.name}", group.disk_size_gb, args.tags),
                scaling_config={"min_size": group.min_size, "desired_size": group.desired_size, "max_size": group.max_size},
                # Cluster autoscaling changes desired size; Pulumi must not fight it on the next `up`.
                ignore_scaling_changes=True,
                labels={"airflow/node-group": group.name},
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
            )
            for group in cfg.node_groups
        ]

        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.cluster.kubeconfig_json,
                                     enable_server_side_apply=True, opts=child)
        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_issuer = self.cluster.oidc_issuer
        # Managed nodes (and so pods) carry the EKS-created cluster security group.
        self.cluster_security_group_id = self.cluster.cluster_security_group_id
        self.register_outputs({"clusterName": args.cluster_name, "oidcProviderArn": self.oidc_provider_arn})

    def _launch_template(self, name: str, disk_size_gb: int, tags: dict[str, str]) -> dict:
        """Encrypted root volumes, and IMDSv2 with one hop: pods can't borrow the node's role, they use IRSA."""
        template = aws.ec2.LaunchTemplate(
            name,
            block_device_mappings=[{"device_name": "/dev/xvda",
                                    "ebs": {"volume_size": disk_size_gb, "volume_type": "gp3", "encrypted": "true",
                                            "delete_on_termination": "true"}}],
            metadata_options={"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
            tag_specifications=[{"resource_type": "instance", "tags": tags}, {"resource_type": "volume", "tags": tags}],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self))
        return {"id": template.id, "version": template.latest_version.apply(str)}
