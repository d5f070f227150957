"""The EKS cluster Airflow runs on: private API by default, KMS envelope encryption, OIDC for IRSA."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from .. import iam
from ..aws_context import AwsContext
from ..eks_addon_registries import addon_registry_arn
from ..airflow_config import eks_log_group_name
from ..log_retention import log_groups
from ..settings import EksSettings

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# The CNI's permissions are not the node's: the aws-node service account gets them through IRSA (AWS's advice in
# "Configure Amazon VPC CNI plugin to use IRSA", EKS User Guide), so no pod on the host network inherits them. Nor is
# AmazonEC2ContainerRegistryReadOnly (every repository of every account): _image_pull reads two registries only.
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy",)
# What the kubelet's ECR credential provider and containerd call to pull an image: the actions of AWS's managed
# AmazonEC2ContainerRegistryPullOnly policy, less the pull-through cache import this program never sets up.
IMAGE_PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
CNI_POLICY = "AmazonEKS_CNI_Policy"
CNI_SERVICE_ACCOUNT = ("kube-system", "aws-node")
# `enableNetworkPolicy` is the vpc-cni add-on's configuration key (a string, as `aws eks describe-addon-configuration
# --addon-name vpc-cni` lists it; AWS EKS user guide "Restrict Pod network traffic with Kubernetes network policies"):
# without the network policy agent, NetworkPolicies are accepted and ignored.
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}


@dataclass
class EksClusterArgs:
    cluster_name: str
    settings: EksSettings
    vpc_id: pulumi.Input[str]
    private_subnet_ids: list[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    aws: AwsContext
    # ECR repositories of the Airflow image the nodes pull (this environment's own; a stack's image.repository in ECR)
    image_repository_arns: list[pulumi.Input[str]]
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
            # The VPC CNI is the program's own EKS add-on (_vpc_cni: IRSA role, network policy agent), not pulumi-eks's:
            # its role trusts the cluster's OIDC provider, which the cluster makes, so it cannot be a cluster input.
            use_default_vpc_cni=True,
            deletion_protection=args.protect,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=groups),
        )

        cni = self._vpc_cni(name, args.cluster_name, args.tags)
        node_role = aws.iam.Role(f"{name}-node-role", assume_role_policy=iam.assume_role_policy(["ec2.amazonaws.com"]),
                                 tags=args.tags, opts=child)
        attachments = [aws.iam.RolePolicyAttachment(f"{name}-node-{policy}", role=node_role.name,
                                                    policy_arn=f"arn:aws:iam::aws:policy/{policy}", opts=child)
                       for policy in NODE_POLICIES]
        attachments.append(self._image_pull(name, node_role, args))
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
                # Nodes join once the CNI has its role: without it no pod gets an address.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*attachments, cni]),
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

    def _vpc_cni(self, name: str, cluster_name: str, tags: dict[str, str]) -> aws.eks.Addon:
        """The VPC CNI as an EKS add-on whose aws-node service account assumes a role of its own (IRSA)."""
        from .irsa import trust_policy  # irsa builds the other service accounts' roles on the same trust

        trust = pulumi.Output.all(self.cluster.oidc_provider_arn, self.cluster.oidc_issuer).apply(
            lambda v: trust_policy(v[0], v[1], *CNI_SERVICE_ACCOUNT))
        role = aws.iam.Role(f"{name}-vpc-cni", assume_role_policy=trust, tags=tags, opts=pulumi.ResourceOptions(parent=self))
        attached = aws.iam.RolePolicyAttachment(f"{name}-vpc-cni", role=role.name,
                                                policy_arn=f"arn:aws:iam::aws:policy/{CNI_POLICY}",
                                                opts=pulumi.ResourceOptions(parent=self))
        # OVERWRITE: EKS installs aws-node itself at cluster creation; the add-on takes it over with the role.
        return aws.eks.Addon(f"{name}-vpc-cni", cluster_name=cluster_name, addon_name="vpc-cni",
                             service_account_role_arn=role.arn, configuration_values=json.dumps(VPC_CNI_CONFIGURATION), resolve_conflicts_on_create="OVERWRITE",
                             resolve_conflicts_on_update="OVERWRITE", tags=tags,
                             opts=pulumi.ResourceOptions(parent=self, depends_on=[attached, self.cluster]))

    def _image_pull(self, name: str, node_role: aws.iam.Role, args: EksClusterArgs) -> aws.iam.RolePolicy:
        """Nodes pull images from this environment's repository and from the region's EKS add-on registry only."""
        registries = [*args.image_repository_arns, args.aws.region.apply(addon_registry_arn)]
        return aws.iam.RolePolicy(f"{name}-node-image-pull", role=node_role.id, policy=iam.policy_document([
            {"Sid": "PullAirflowAndAddonImages", "Effect": "Allow", "Action": IMAGE_PULL_ACTIONS, "Resource": registries},
            # GetAuthorizationToken has no resource type (Service Authorization Reference, Amazon ECR): "*" only.
            {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        ]), opts=pulumi.ResourceOptions(parent=self))

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
