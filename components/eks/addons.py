"""Cluster add-ons Airflow's scaling depends on: KEDA (scales Celery workers on queued tasks) and
Cluster Autoscaler (adds nodes when worker pods don't fit, removes idle ones)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..platform import SharedPlatform
from .chart_values import KEDA_NAMESPACE
from .cluster import EksCluster
from .irsa import irsa_role

KEDA_CHART = {"chart": "keda", "repo": "https://kedacore.github.io/charts", "version": "2.20.2"}
AUTOSCALER_CHART = {"chart": "cluster-autoscaler", "repo": "https://kubernetes.github.io/autoscaler", "version": "9.59.0"}
# Cluster Autoscaler's minor version must match the cluster's (kubernetes/autoscaler release tags).
AUTOSCALER_IMAGE_TAGS = {"1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2", "1.36": "v1.36.1"}
AUTOSCALER_SERVICE_ACCOUNT = ("kube-system", "cluster-autoscaler")


@dataclass
class ClusterAddonsArgs:
    platform: SharedPlatform
    cluster: EksCluster
    cluster_name: str
    kubernetes_version: str


class ClusterAddons(pulumi.ComponentResource):
    releases: list[k8s.helm.v3.Release]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:eks:ClusterAddons", name, None, opts)
        cluster, platform = args.cluster, args.platform
        on_nodes = pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=cluster.node_groups)

        keda = k8s.helm.v3.Release(f"{name}-keda", name="keda", chart=KEDA_CHART["chart"], version=KEDA_CHART["version"],
                                   repository_opts={"repo": KEDA_CHART["repo"]}, namespace=KEDA_NAMESPACE, create_namespace=True,
                                   opts=on_nodes)

        namespace, service_account = AUTOSCALER_SERVICE_ACCOUNT
        # Scaling actions only on this cluster's node groups (EKS tags their Auto Scaling groups); the
        # Describe calls it needs cannot be scoped to a resource.
        owned = {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{args.cluster_name}": "owned"}}
        role, _ = irsa_role(f"{name}-cluster-autoscaler", platform, cluster.oidc_provider_arn, cluster.oidc_issuer,
                         namespace, service_account, statements=[
                             {"Sid": "ScaleOwnNodeGroups", "Effect": "Allow",
                              "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                              "Resource": platform.aws.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/eks-*"),
                              "Condition": owned},
                             {"Sid": "DiscoverNodeGroups", "Effect": "Allow",
                              "Action": ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                                         "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                                         "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
                                         "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements"],
                              "Resource": "*"},
                             {"Sid": "DescribeOwnNodeGroups", "Effect": "Allow", "Action": "eks:DescribeNodegroup",
                              "Resource": platform.aws.arn("eks", f"nodegroup/{args.cluster_name}/*/*")},
                         ], parent=self)
        autoscaler = k8s.helm.v3.Release(
            f"{name}-cluster-autoscaler", name="cluster-autoscaler", chart=AUTOSCALER_CHART["chart"],
            version=AUTOSCALER_CHART["version"], repository_opts={"repo": AUTOSCALER_CHART["repo"]}, namespace=namespace,
            values={
                "cloudProvider": "aws",
                "awsRegion": platform.aws.region,
                "autoDiscovery": {"clusterName": args.cluster_name},
                "image": {"tag": AUTOSCALER_IMAGE_TAGS[args.kubernetes_version]},
                "rbac": {"serviceAccount": {"create": True, "name": service_account,
                                            "annotations": {"eks.amazonaws.com/role-arn": role.arn}}},
                # Celery workers drain before their node goes; never remove nodes with local storage in use.
                "extraArgs": {"balance-similar-node-groups": True, "skip-nodes-with-local-storage": False,
                              "expander": "least-waste"},
            },
            opts=on_nodes)
        self.releases = [keda, autoscaler]
        self.register_outputs({})
