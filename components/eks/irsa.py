"""One IAM role per Airflow component (IRSA), each with only what that component does.

The statements come from components/iam.py, the same builders the MWAA execution role uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import pulumi
import pulumi_aws as aws

from .. import airflow_config as af
from .. import iam
from ..platform import SharedPlatform

NAMESPACE = "airflow"


def service_account_name(component: str) -> str:
    return f"airflow-{component}"


# What each component touches, beyond reading connections/variables from Secrets Manager (all do):
# task logs go to s3://<bucket>/logs, DAG data to s3://<bucket>/data.
def _writes_logs(p: SharedPlatform) -> list[iam.Statement]:
    return iam.bucket_prefix_read_write(p.bucket.bucket_arn, af.LOGS_PREFIX, "TaskLogs")


def _reads_logs(p: SharedPlatform) -> list[iam.Statement]:
    return [{"Sid": "ReadTaskLogs", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": pulumi.Output.concat(p.bucket.bucket_arn, f"/{af.LOGS_PREFIX}/*")},
            {"Sid": "ListTaskLogs", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": p.bucket.bucket_arn,
             "Condition": {"StringLike": {"s3:prefix": [f"{af.LOGS_PREFIX}/*", af.LOGS_PREFIX]}}}]


def _dag_data(p: SharedPlatform) -> list[iam.Statement]:
    return iam.bucket_prefix_read_write(p.bucket.bucket_arn, af.DATA_PREFIX, "DagData")


def _writes(statements: list[iam.Statement]) -> bool:
    """Whether the statements put objects (so the role must encrypt with the key)."""
    return any(a in ("s3:PutObject",) for st in statements for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))


COMPONENT_ACCESS: dict[str, list[Callable[[SharedPlatform], list[iam.Statement]]]] = {
    "scheduler": [_writes_logs],
    "dag-processor": [_writes_logs],
    "triggerer": [_writes_logs, _dag_data],
    "worker": [_writes_logs, _dag_data],
    "api-server": [_reads_logs],  # Airflow 3; serves the UI and shows task logs
    "webserver": [_reads_logs],  # Airflow 2
}


@dataclass
class ServiceAccountRolesArgs:
    platform: SharedPlatform
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    components: list[str]
    namespace: str = NAMESPACE  # each blue/green side has its own (components/eks/side.py)


class ServiceAccountRoles(pulumi.ComponentResource):
    role_arns: dict[str, pulumi.Output[str]]
    policies: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ServiceAccountRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:eks:ServiceAccountRoles", name, None, opts)
        p = args.platform
        self.role_arns, self.policies = {}, {}
        for component in args.components:
            grants = [statement for grant in COMPONENT_ACCESS[component] for statement in grant(p)]
            statements = [*iam.secrets_backend_read(p.aws, p.secrets_prefixes),
                          iam.kms_use_via(p.aws, p.kms_key_arn, ["s3", "secretsmanager"], writes=_writes(grants)),
                          *grants]
            role, self.policies[component] = irsa_role(
                f"{name}-{component}", p, args.oidc_provider_arn, args.oidc_issuer, args.namespace,
                service_account_name(component), statements, parent=self)
            self.role_arns[component] = role.arn
        self.register_outputs({"roleArns": self.role_arns})


def trust_policy(provider_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    """Only this one Kubernetes service account, through the cluster's OIDC provider, may assume the role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                           f"{issuer}:aud": "sts.amazonaws.com"}},
        }],
    })


def irsa_role(name: str, platform: SharedPlatform, oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str],
              namespace: str, service_account: str, statements: list[iam.Statement],
              parent: pulumi.Resource) -> tuple[aws.iam.Role, pulumi.Output[str]]:
    """A role that one Kubernetes service account assumes (IRSA), with an inline policy; returns both."""
    trust = pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
        lambda v: trust_policy(v[0], v[1], namespace, service_account))
    role = aws.iam.Role(name, assume_role_policy=trust, tags=platform.tags, opts=pulumi.ResourceOptions(parent=parent))
    policy = iam.policy_document(statements)
    aws.iam.RolePolicy(name, role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=parent))
    return role, policy
