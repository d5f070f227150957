"""The shared platform both targets run on: network, encryption key, Airflow bucket, portable secrets.

Its logical names and inputs never depend on `target`, so switching target never touches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import airflow_config as af
from .aws_context import AwsContext
from .bucket import AirflowBucket, AirflowBucketArgs
from .dag_sync import FolderListing
from .network import Network, NetworkArgs
from .settings import Settings


@dataclass
class SharedPlatformArgs:
    settings: Settings
    aws: AwsContext
    dags: FolderListing  # what dags/ holds, listed (and checked) before anything is declared


class SharedPlatform(pulumi.ComponentResource):
    network: Network
    bucket: AirflowBucket
    kms_key_arn: pulumi.Output[str]
    secrets_prefixes: af.SecretsBackendPrefixes

    def __init__(self, name: str, args: SharedPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:platform:SharedPlatform", name, None, opts)
        settings, ctx = args.settings, args.aws
        tags = {"airflow:environment": settings.environment_name, **settings.tags}
        self.aws = ctx
        self.settings = settings
        self.tags = tags

        self.network = Network(f"{name}-network", NetworkArgs(vpc_cidr=settings.network.vpc_cidr,
                                                              nat_gateways=settings.network.nat_gateways, tags=tags),
                               opts=pulumi.ResourceOptions(parent=self))
        key = aws.kms.Key(f"{name}-key", description=f"Airflow {settings.environment_name}: bucket, logs, secrets, databases",
                          enable_key_rotation=True, deletion_window_in_days=30, policy=self._key_policy(ctx, settings.environment_name), tags=tags,
                          opts=pulumi.ResourceOptions(parent=self, protect=settings.protect_data,
                                                      retain_on_delete=settings.protect_data))
        aws.kms.Alias(f"{name}-key", name=f"alias/airflow-{settings.environment_name}", target_key_id=key.key_id,
                      opts=pulumi.ResourceOptions(parent=self))
        self.kms_key_arn = key.arn

        self.bucket = AirflowBucket(f"{name}-bucket", AirflowBucketArgs(
            environment_name=settings.environment_name, airflow_version=_slot_version(settings, "blue"),
            green_airflow_version=next((s.airflow_version for s in settings.sides if s.slot == "green"), None),
            kms_key_arn=key.arn, aws=ctx, dags=args.dags, protect=settings.protect_data, tags=tags,
            log_retention_days=settings.log_retention_days),
            opts=pulumi.ResourceOptions(parent=self))

        # Connections and variables live in Secrets Manager, read by both targets through Airflow's backend:
        # they need no migration. The example DAGs find their data bucket here.
        self.secrets_prefixes = af.SecretsBackendPrefixes.for_environment(settings.environment_name)
        data_bucket = aws.secretsmanager.Secret(f"{name}-var-data-bucket", name=f"{self.secrets_prefixes.variables}/data_bucket",
                                                kms_key_id=key.arn, recovery_window_in_days=7, tags=tags,
                                                opts=pulumi.ResourceOptions(parent=self))
        aws.secretsmanager.SecretVersion(f"{name}-var-data-bucket", secret_id=data_bucket.id,
                                         secret_string=self.bucket.bucket_name, opts=pulumi.ResourceOptions(parent=self))

        self.register_outputs({"vpcId": self.network.vpc_id, "kmsKeyArn": key.arn, "bucketName": self.bucket.bucket_name})

    @staticmethod
    def _key_policy(ctx: AwsContext, environment_name: str) -> pulumi.Output[str]:
        root = pulumi.Output.all(ctx.partition, ctx.account_id).apply(lambda p: f"arn:{p[0]}:iam::{p[1]}:root")
        return pulumi.Output.json_dumps({
            "Version": "2012-10-17",
            "Statement": [
                # Key administration stays with the account's IAM; services use it through their own grants.
                {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
                # CloudWatch Logs encrypts MWAA's and EKS's log groups with this key.
                {"Sid": "CloudWatchLogsUse", "Effect": "Allow",
                 "Principal": {"Service": ctx.region.apply(lambda r: f"logs.{r}.amazonaws.com")},
                 "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                 "Resource": "*",
                 # Only this environment's log groups (the encryption context CloudWatch Logs sends is the group's ARN).
                 "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": [
                     ctx.arn("logs", f"log-group:{group}") for group in af.log_group_names(environment_name)]}}},
                # The alarm topic is encrypted with this key: CloudWatch publishes to it only if it may make and read
                # data keys ("Enable compatibility between event sources from AWS services and encrypted topics",
                # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html), for this account's alarms only.
                {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                 "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                               "ArnLike": {"aws:SourceArn": ctx.arn("cloudwatch", "alarm:*")}}},
            ],
        })


def _slot_version(settings, slot: str) -> str:
    """The version a slot's objects are made for: that side's, or airflowVersion when the slot has no side."""
    return next((side.airflow_version for side in settings.sides if side.slot == slot), settings.airflow_version)
