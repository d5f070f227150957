"""Amazon MWAA on the shared platform: security group, execution role, environment."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import airflow_config as af
from . import iam
from .airflow_config import mwaa_log_group_names
from .log_retention import log_groups
from .bucket import SideObjects
from .platform import SharedPlatform
from .settings import Side

LOG_TYPES = ("dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs")
MWAA_SERVICES = ("airflow.amazonaws.com", "airflow-env.amazonaws.com")
# The CloudWatch namespace of MWAA's environment metrics (MWAA User Guide, "Monitoring and metrics").
MWAA_METRICS_NAMESPACE = "AmazonMWAA"


@dataclass
class MwaaAirflowArgs:
    platform: SharedPlatform
    side: Side | None = None  # None: the live side of the stack's settings


class MwaaAirflow(pulumi.ComponentResource):
    environment: aws.mwaa.Environment
    ui_url: pulumi.Output[str]

    def __init__(self, name: str, args: MwaaAirflowArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:mwaa:MwaaAirflow", name, None, opts)
        platform = args.platform
        settings, bucket = platform.settings, platform.bucket
        side = args.side or settings.sides[0]
        mwaa = settings.mwaa
        env_name = side.environment_name(settings.environment_name)
        objects = bucket.sides[side.slot]
        child = pulumi.ResourceOptions(parent=self)

        # MWAA's Fargate containers talk to each other through a self-referencing group; nothing else gets in.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=platform.network.vpc_id, description=f"MWAA {env_name}: members only",
            ingress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "self": True, "description": "MWAA components"}],
            egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"],
                     "description": "AWS APIs and PyPI through NAT"}],
            tags=platform.tags, opts=child)

        trust = iam.assume_role_policy(MWAA_SERVICES, iam.on_behalf_of(platform.aws, environment_arn(platform, env_name)))
        role = aws.iam.Role(f"{name}-execution-role", assume_role_policy=trust, tags=platform.tags, opts=child)
        self.execution_policy = execution_role_policy(platform, env_name, objects)
        aws.iam.RolePolicy(f"{name}-execution-policy", role=role.id, policy=self.execution_policy, opts=child)

        # Same Secrets Manager prefixes on both sides: connections and variables need no copy between them.
        options = {**mwaa.airflow_configuration_options, **af.portable_airflow_config(platform.secrets_prefixes),
                   **({} if side.live else af.PAUSED_AT_CREATION)}
        plugins = ({"plugins_s3_path": objects.plugins_key, "plugins_s3_object_version": objects.plugins_version}
                   if objects.plugins_version is not None else {})
        # Created before the environment, with a retention: MWAA would make them itself and keep every log forever.
        groups = log_groups(f"{name}-logs", mwaa_log_group_names(env_name), settings.log_retention_days, platform.tags,
                            child)
        self.environment = aws.mwaa.Environment(
            name,
            name=env_name,
            airflow_version=side.airflow_version,
            environment_class=mwaa.environment_class,
            min_workers=mwaa.min_workers,
            max_workers=mwaa.max_workers,
            schedulers=mwaa.schedulers,
            min_webservers=mwaa.min_webservers,
            max_webservers=mwaa.max_webservers,
            webserver_access_mode=mwaa.webserver_access_mode,
            weekly_maintenance_window_start=mwaa.weekly_maintenance_window_start,
            airflow_configuration_options=options,
            execution_role_arn=role.arn,
            kms_key=platform.kms_key_arn,
            source_bucket_arn=bucket.bucket_arn,
            # One dags/ prefix for both sides: the DAGs run on every allowed version (tests/dags), so one merge reaches
            # both and the twin's upgrade run checks the same files on both versions (docs/upgrades.md).
            dag_s3_path=af.DAGS_PREFIX,
            requirements_s3_path=objects.requirements_key,
            requirements_s3_object_version=objects.requirements_version,
            startup_script_s3_path=objects.startup_key,
            startup_script_s3_object_version=objects.startup_version,
            **plugins,
            network_configuration={"security_group_ids": [security_group.id], "subnet_ids": platform.network.private_subnet_ids},
            logging_configuration={log: {"enabled": True, "log_level": mwaa.log_level} for log in LOG_TYPES},
            endpoint_management="SERVICE",
            tags=platform.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=groups),
        )
        self.execution_role_arn = role.arn
        self.ui_url = self.environment.webserver_url.apply(lambda host: f"https://{host}")
        self.register_outputs({"environmentArn": self.environment.arn, "executionRoleArn": role.arn, "uiUrl": self.ui_url})


def environment_arn(platform: SharedPlatform, env_name: str | None = None) -> pulumi.Output[str]:
    return platform.aws.arn("airflow", f"environment/{env_name or platform.settings.environment_name}")


def log_group_arns(platform: SharedPlatform, env_name: str | None = None) -> list[pulumi.Output[str]]:
    """This environment's log groups and their streams (`:*`), by exact name: a pattern such as airflow-<env>-*
    would also match the groups of an environment named <env>-2 in the same account."""
    names = mwaa_log_group_names(env_name or platform.settings.environment_name)
    groups = [f"log-group:{group}" for group in names.values()]
    return [platform.aws.arn("logs", resource) for group in groups for resource in (group, f"{group}:*")]


def execution_role_policy(platform: SharedPlatform, env_name: str, objects: SideObjects) -> pulumi.Output[str]:
    """Least privilege for one environment: its bucket (dags/ and its own side's objects), log groups, Celery queues,
    key and secrets."""
    ctx, bucket = platform.aws, platform.bucket
    return iam.policy_document([
        {"Sid": "PublishMetrics", "Effect": "Allow", "Action": "airflow:PublishMetrics", "Resource": environment_arn(platform, env_name)},
        {"Sid": "NoBucketListing", "Effect": "Deny", "Action": "s3:ListAllMyBuckets",
         "Resource": [bucket.bucket_arn, pulumi.Output.concat(bucket.bucket_arn, "/*")]},
        *iam.mwaa_artifacts_read(bucket.bucket_arn, [objects.requirements_key, objects.startup_key]
                                 + ([objects.plugins_key] if objects.plugins_version is not None else [])),
        *iam.bucket_prefix_read_write(bucket.bucket_arn, af.DATA_PREFIX, "DagData"),
        {"Sid": "AccountPublicAccessBlock", "Effect": "Allow", "Action": "s3:GetAccountPublicAccessBlock", "Resource": "*"},
        {"Sid": "WriteLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents", "logs:GetLogEvents",
                    "logs:GetLogRecord", "logs:GetLogGroupFields", "logs:GetQueryResults"],
         "Resource": log_group_arns(platform, env_name)},
        {"Sid": "DescribeLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
        # PutMetricData has no resource ARN; the namespace condition keeps it to MWAA's own metrics.
        {"Sid": "PutMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": MWAA_METRICS_NAMESPACE}}},
        # MWAA's Celery queues live in an AWS-owned account, hence the '*' account in the ARN: AWS's execution-role
        # policy (MWAA User Guide, "Amazon MWAA execution role") names no account, and ours can't either.
        {"Sid": "CeleryQueues", "Effect": "Allow",
         "Action": ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage", "sqs:SendMessage"],
         "Resource": pulumi.Output.all(ctx.partition, ctx.region).apply(lambda p: f"arn:{p[0]}:sqs:{p[1]}:*:airflow-celery-*")},
        iam.kms_use_via(ctx, platform.kms_key_arn, ["sqs", "s3", "secretsmanager"], writes=True),  # data/, queues
        *iam.secrets_backend_read(ctx, platform.secrets_prefixes),
    ])
