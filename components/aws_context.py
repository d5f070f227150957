"""Account, region and partition of the deployment, looked up once and passed to every component."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class AwsContext:
    account_id: pulumi.Output[str]
    region: pulumi.Output[str]
    partition: pulumi.Output[str]

    @staticmethod
    def lookup() -> "AwsContext":
        return AwsContext(
            account_id=aws.get_caller_identity_output().account_id,
            region=aws.get_region_output().region,
            partition=aws.get_partition_output().partition,
        )

    def arn(self, service: str, resource: str, region: bool = True) -> pulumi.Output[str]:
        """arn:<partition>:<service>:<region>:<account>:<resource>, e.g. arn('logs', 'log-group:airflow-x-*')."""
        return pulumi.Output.all(self.partition, self.region, self.account_id).apply(
            lambda p: f"arn:{p[0]}:{service}:{p[1] if region else ''}:{p[2]}:{resource}"
        )
