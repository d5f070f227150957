"""How long the program keeps every log it produces: one spec, applied by each target (and the shared bucket).

- MWAA writes to five CloudWatch log groups it would otherwise create itself with no retention (kept forever):
  airflow-<environment name>-<type>. The program creates them first, with `logRetentionDays`; MWAA then writes to them.
- EKS writes its control-plane logs to /aws/eks/<cluster>/cluster, also created by EKS without retention unless it
  exists; the program creates it before the cluster.
- EKS task logs go to s3://<bucket>/logs/: a lifecycle rule expires them after the same number of days.

Stacks deployed before this existed already have those log groups (made by MWAA/EKS): `pulumi import` them once
(docs/comparison.md, "Log retention") or the create fails with ResourceAlreadyExistsException.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

TASK_LOGS_RULE_ID = "expire-task-logs"


def log_groups(name: str, groups: dict[str, str], days: int, tags: dict[str, str],
               opts: pulumi.ResourceOptions) -> list[aws.cloudwatch.LogGroup]:
    """One log group per {logical suffix: group name}, kept `days` days."""
    return [aws.cloudwatch.LogGroup(f"{name}-{suffix.lower()}", name=group, retention_in_days=days, tags=tags, opts=opts)
            for suffix, group in groups.items()]


def task_logs_rule(prefix: str, days: int) -> dict:
    """The bucket lifecycle rule that expires task logs (the EKS remote log folder) after `days` days; older versions
    of them go with the bucket's existing noncurrent-version rule."""
    return {"id": TASK_LOGS_RULE_ID, "status": "Enabled", "filter": {"prefix": prefix}, "expiration": {"days": days}}
