"""IAM policy statements both targets grant to Airflow. Written once so MWAA and EKS get the same access."""

from __future__ import annotations

from typing import Any, Sequence

import pulumi

from .aws_context import AwsContext
from . import airflow_config as af
from .airflow_config import SecretsBackendPrefixes

Statement = dict[str, Any]


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(services: Sequence[str], condition: dict[str, Any] | None = None) -> pulumi.Output[str]:
    statement: Statement = {"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})


def on_behalf_of(ctx: AwsContext, source_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Trust condition against the confused deputy: the service may assume the role only for this account's
    resource `source_arn` (aws:SourceAccount and aws:SourceArn, AWS's cross-service guidance)."""
    return {"StringEquals": {"aws:SourceAccount": ctx.account_id}, "ArnLike": {"aws:SourceArn": source_arn}}


def mwaa_artifacts_read(bucket_arn: pulumi.Input[str], keys: Sequence[str]) -> list[Statement]:
    """What MWAA reads from the Airflow bucket: the objects under dags/ and the artifacts it is given by key
    (requirements, startup script, plugins), and the bucket's own settings. Not logs/ nor data/."""
    prefixes = [f"{af.DAGS_PREFIX}/*", af.DAGS_PREFIX, *keys]
    return [
        {"Sid": "ReadAirflowArtifacts", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
         "Resource": [pulumi.Output.concat(bucket_arn, f"/{af.DAGS_PREFIX}/*"),
                      *[pulumi.Output.concat(bucket_arn, f"/{key}") for key in keys]]},
        {"Sid": "ListAirflowArtifacts", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
         "Resource": bucket_arn, "Condition": {"StringLike": {"s3:prefix": prefixes}}},
        {"Sid": "ReadBucketSettings", "Effect": "Allow", "Action": "s3:GetBucket*", "Resource": bucket_arn},
    ]


def bucket_prefix_read_write(bucket_arn: pulumi.Input[str], prefix: str, sid: str) -> list[Statement]:
    """Read and write objects under one prefix of the Airflow bucket (task logs, DAG data)."""
    return [
        {"Sid": sid, "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": pulumi.Output.concat(bucket_arn, f"/{prefix}/*")},
        {"Sid": f"{sid}List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}}},
    ]


def secrets_backend_read(ctx: AwsContext, prefixes: SecretsBackendPrefixes) -> list[Statement]:
    """Airflow's Secrets Manager backend reads connections and variables under this environment's prefixes."""
    return [
        {"Sid": "ReadAirflowSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
         "Resource": [ctx.arn("secretsmanager", f"secret:{prefixes.connections}/*"),
                      ctx.arn("secretsmanager", f"secret:{prefixes.variables}/*")]},
    ]


KMS_READ = ["kms:Decrypt", "kms:DescribeKey"]
KMS_WRITE = ["kms:GenerateDataKey*", "kms:Encrypt"]  # only a role that writes encrypted objects or messages


def kms_use_via(ctx: AwsContext, key_arn: pulumi.Input[str], services: Sequence[str], sid: str = "UseAirflowKey",
                writes: bool = False) -> Statement:
    """Use the platform key only through the named AWS services (kms:ViaService), never directly; encrypting
    only for a role that writes."""
    return {
        "Sid": sid, "Effect": "Allow",
        "Action": KMS_READ + (KMS_WRITE if writes else []),
        "Resource": key_arn,
        "Condition": {"StringLike": {"kms:ViaService": [ctx.region.apply(lambda r, s=s: f"{s}.{r}.amazonaws.com") for s in services]}},
    }
