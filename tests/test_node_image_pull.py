"""Issue 20: EKS nodes read images from this environment's ECR repository and the region's EKS add-on registry only."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.eks_addon_registries import REGISTRY_HOSTS, addon_registry_arn, ecr_repository_arn
from components.settings import aws_names
from tests.conftest import planned
from tests.test_program import monitors  # noqa: F401 - fixture
from tools import planner

EKS = {"target": "eks"}


def pull_policy(plan) -> list[dict]:
    return json.loads(plan.one("aws:iam/rolePolicy:RolePolicy", "eks-cluster-node-image-pull").inputs["policy"])["Statement"]


def test_nodes_pull_only_from_this_environments_repository_and_the_regions_addon_registry():
    plan = planned("dev", **EKS)
    repository = plan.one("aws:ecr/repository:Repository")
    role = plan.one("aws:iam/role:Role", "eks-cluster-node-role")
    policy = plan.one("aws:iam/rolePolicy:RolePolicy", "eks-cluster-node-image-pull")
    assert policy.inputs["role"] == role.outputs["id"]
    pull, login = pull_policy(plan)
    assert pull["Action"] == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    # dev deploys to us-east-1, whose add-on registry is AWS's account 602401143452 (EKS User Guide table).
    assert pull["Resource"] == [repository.outputs["arn"], "arn:aws:ecr:us-east-1:602401143452:repository/*"]
    assert login == {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
    assert not any(a.inputs["policyArn"].endswith("/AmazonEC2ContainerRegistryReadOnly")
                   for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"))


def test_a_region_reads_its_own_registry_account():
    plan = planned("dev", **EKS, **{"aws:region": "eu-south-1"})
    assert pull_policy(plan)[0]["Resource"][1] == "arn:aws:ecr:eu-south-1:590381155156:repository/*"


def test_a_stack_image_repository_in_ecr_replaces_the_own_one_and_one_outside_ecr_needs_no_grant():
    eks = {"image": {"repository": "111122223333.dkr.ecr.us-east-1.amazonaws.com/team/airflow"}}
    resources = pull_policy(planned("dev", target="eks", eks=eks))[0]["Resource"]
    assert resources == ["arn:aws:ecr:us-east-1:111122223333:repository/team/airflow",
                         "arn:aws:ecr:us-east-1:602401143452:repository/*"]
    outside = pull_policy(planned("dev", target="eks", eks={"image": {"repository": "ghcr.io/team/airflow"}}))
    assert outside[0]["Resource"] == ["arn:aws:ecr:us-east-1:602401143452:repository/*"]


@pytest.mark.parametrize("host, arn", [
    ("918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn/x", "arn:aws-cn:ecr:cn-north-1:918309763551:repository/x"),
    ("013241004608.dkr.ecr.us-gov-west-1.amazonaws.com/y/z", "arn:aws-us-gov:ecr:us-gov-west-1:013241004608:repository/y/z"),
    ("877088126301.dkr.ecr.eusc-de-east-1.amazonaws.eu/a", "arn:aws-eusc:ecr:eusc-de-east-1:877088126301:repository/a"),
    ("public.ecr.aws/airflow", None), ("apache/airflow", None), ("602401143452.dkr.ecr.us-east-1.amazonaws.com", None),
])
def test_repository_urls_become_arns_in_their_partition(host, arn):
    assert ecr_repository_arn(host) == arn


def test_every_listed_region_is_a_real_one_and_the_registry_host_names_the_arn():
    assert set(REGISTRY_HOSTS) <= aws_names.regions()
    # As published: ap-east-2's registry host is in ap-east-1, and the ARN follows the host nodes pull from.
    assert addon_registry_arn("ap-east-2") == "arn:aws:ecr:ap-east-1:533267051163:repository/*"


def test_an_eks_stack_in_a_region_without_an_addon_registry_stops_before_anything_is_declared(monitors):  # noqa: F811
    missing = sorted(aws_names.regions() - set(REGISTRY_HOSTS))[0]
    with pytest.raises(pulumi.RunError) as caught:
        planner.plan("dev", {"target": "eks", "aws:region": missing})
    assert str(caught.value).splitlines()[1].startswith(
        f'  aws:region: "{missing}" is not allowed with target eks; allowed: a region with an EKS add-on image registry (')
    assert [m.planned for m in monitors] == [[]]
    planned("dev", **{"aws:region": missing})  # MWAA pulls no images: the same region plans
