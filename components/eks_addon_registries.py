"""Where EKS nodes pull AWS's add-on images from: one private ECR registry per region, owned by AWS.

The node role may read images only from this environment's own repository and from these registries (issue 20: ECR
read limited to the project's repository), instead of AmazonEC2ContainerRegistryReadOnly's every repository of every
account. The add-ons the program installs (vpc-cni, Mountpoint for S3's CSI driver, amazon-cloudwatch-observability,
kube-proxy and CoreDNS) are AWS add-ons, pulled from these registries with the node role's credentials.

Source: "View Amazon container image registries for Amazon EKS add-ons", EKS User Guide
(https://docs.aws.amazon.com/eks/latest/userguide/add-ons-images.html; its source
awsdocs/amazon-eks-user-guide latest/ug/workloads/add-ons-images.adoc, read 2026-12-06). The table is copied as
published, host for host: ap-east-2's registry host names ap-east-1, so the ARN follows the host, which is what nodes
pull from. A region missing here stops the program with one line (settings: `aws:region`) rather than guessing.
"""

from __future__ import annotations

REGISTRY_HOSTS: dict[str, str] = {
    "af-south-1": "877085696533.dkr.ecr.af-south-1.amazonaws.com",
    "ap-east-1": "800184023465.dkr.ecr.ap-east-1.amazonaws.com",
    "ap-east-2": "533267051163.dkr.ecr.ap-east-1.amazonaws.com",
    "ap-southeast-3": "296578399912.dkr.ecr.ap-southeast-3.amazonaws.com",
    "ap-south-2": "900889452093.dkr.ecr.ap-south-2.amazonaws.com",
    "ap-southeast-4": "491585149902.dkr.ecr.ap-southeast-4.amazonaws.com",
    "ap-southeast-6": "333609536671.dkr.ecr.ap-southeast-6.amazonaws.com",
    "ap-south-1": "602401143452.dkr.ecr.ap-south-1.amazonaws.com",
    "ap-northeast-3": "602401143452.dkr.ecr.ap-northeast-3.amazonaws.com",
    "ap-northeast-2": "602401143452.dkr.ecr.ap-northeast-2.amazonaws.com",
    "ap-southeast-1": "602401143452.dkr.ecr.ap-southeast-1.amazonaws.com",
    "ap-southeast-2": "602401143452.dkr.ecr.ap-southeast-2.amazonaws.com",
    "ap-southeast-7": "121268973566.dkr.ecr.ap-southeast-7.amazonaws.com",
    "ap-northeast-1": "602401143452.dkr.ecr.ap-northeast-1.amazonaws.com",
    "cn-north-1": "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn",
    "cn-northwest-1": "961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
    "eu-central-1": "602401143452.dkr.ecr.eu-central-1.amazonaws.com",
    "eu-west-1": "602401143452.dkr.ecr.eu-west-1.amazonaws.com",
    "eu-west-2": "602401143452.dkr.ecr.eu-west-2.amazonaws.com",
    "eu-south-1": "590381155156.dkr.ecr.eu-south-1.amazonaws.com",
    "eu-west-3": "602401143452.dkr.ecr.eu-west-3.amazonaws.com",
    "eu-south-2": "455263428931.dkr.ecr.eu-south-2.amazonaws.com",
    "eu-north-1": "602401143452.dkr.ecr.eu-north-1.amazonaws.com",
    "eu-central-2": "900612956339.dkr.ecr.eu-central-2.amazonaws.com",
    "il-central-1": "066635153087.dkr.ecr.il-central-1.amazonaws.com",
    "mx-central-1": "730335286997.dkr.ecr.mx-central-1.amazonaws.com",
    "me-south-1": "558608220178.dkr.ecr.me-south-1.amazonaws.com",
    "me-central-1": "759879836304.dkr.ecr.me-central-1.amazonaws.com",
    "us-east-1": "602401143452.dkr.ecr.us-east-1.amazonaws.com",
    "us-east-2": "602401143452.dkr.ecr.us-east-2.amazonaws.com",
    "us-west-1": "602401143452.dkr.ecr.us-west-1.amazonaws.com",
    "us-west-2": "602401143452.dkr.ecr.us-west-2.amazonaws.com",
    "ca-central-1": "602401143452.dkr.ecr.ca-central-1.amazonaws.com",
    "ca-west-1": "761377655185.dkr.ecr.ca-west-1.amazonaws.com",
    "sa-east-1": "602401143452.dkr.ecr.sa-east-1.amazonaws.com",
    "us-gov-east-1": "151742754352.dkr.ecr.us-gov-east-1.amazonaws.com",
    "us-gov-west-1": "013241004608.dkr.ecr.us-gov-west-1.amazonaws.com",
    "eusc-de-east-1": "877088126301.dkr.ecr.eusc-de-east-1.amazonaws.eu",
}

# The ARN partition of a registry host's DNS suffix (botocore's partitions.json dnsSuffix of each partition).
_PARTITION_OF_SUFFIX = {"amazonaws.com": "aws", "amazonaws.com.cn": "aws-cn", "amazonaws.eu": "aws-eusc"}


def repository_arns_of_host(host: str, repository: str = "*") -> str:
    """`<account>.dkr.ecr.<region>.<suffix>` -> the ARN of its repositories (all of them by default)."""
    account, _dkr, _ecr, region, suffix = host.split(".", 4)
    partition = "aws-us-gov" if region.startswith("us-gov-") else _PARTITION_OF_SUFFIX[suffix]
    return f"arn:{partition}:ecr:{region}:{account}:repository/{repository}"


def ecr_repository_arn(image_repository: str) -> str | None:
    """The ARN of an image repository given as `<account>.dkr.ecr.<region>.<suffix>/<name>`; None when it is not ECR
    (a public registry needs no IAM permission to pull)."""
    host, _, name = image_repository.partition("/")
    parts = host.split(".")
    if len(parts) < 5 or parts[1:3] != ["dkr", "ecr"] or not name:
        return None
    return repository_arns_of_host(host, name)


def addon_registry_arn(region: str) -> str:
    """The repositories of the region's EKS add-on registry; KeyError for a region the table doesn't list."""
    return repository_arns_of_host(REGISTRY_HOSTS[region])
