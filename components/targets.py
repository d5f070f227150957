"""Which target components a stack deploys, and the outputs every target shares."""

from __future__ import annotations

from typing import Any


import pulumi

from .alarms import (AlarmTopic, AlarmTopicArgs, Subscription, TargetAlarms, TargetAlarmsArgs, eks_bindings,
                     mwaa_bindings)
from .mwaa import MwaaAirflow, MwaaAirflowArgs
from .platform import SharedPlatform


def deploy_targets(platform: SharedPlatform) -> dict[str, Any]:
    settings = platform.settings
    outputs: dict[str, Any] = {
        "target": settings.target,
        "airflowVersion": settings.airflow_version,
        "dagsBucket": platform.bucket.bucket_name,
        "environmentName": settings.environment_name,
    }
    # One topic per stack, whatever the target: switching target keeps it and its subscriptions.
    topic = AlarmTopic("alarms", AlarmTopicArgs(
        environment_name=settings.environment_name, kms_key_arn=platform.kms_key_arn, tags=platform.tags,
        subscriptions=[Subscription(s.protocol, s.endpoint) for s in settings.alarms.subscriptions]))
    outputs["alarmTopicArn"] = topic.arn

    def alarms(target: str, bindings, parent: pulumi.Resource) -> None:
        TargetAlarms(f"{target}-alarms", TargetAlarmsArgs(target=target, environment_name=settings.environment_name,
                                                         bindings=bindings, topic_arn=topic.arn, tags=platform.tags),
                     opts=pulumi.ResourceOptions(parent=parent))

    if settings.deploys_mwaa:
        mwaa = MwaaAirflow("mwaa", MwaaAirflowArgs(platform=platform))
        alarms("mwaa", mwaa_bindings(settings.environment_name), mwaa)
        outputs.update(mwaaEnvironmentArn=mwaa.environment.arn, mwaaExecutionRoleArn=mwaa.execution_role_arn,
                       mwaaUiUrl=mwaa.ui_url)
        if settings.target == "mwaa":
            outputs["airflowUiUrl"] = mwaa.ui_url
    if settings.deploys_eks:
        from .eks import EksAirflow, EksAirflowArgs  # noqa: PLC0415 - pulls in the Kubernetes SDK only when needed

        eks = EksAirflow("eks", EksAirflowArgs(platform=platform))
        alarms("eks", eks_bindings(settings.environment_name, eks.database_identifier), eks)
        outputs.update(eks.outputs())
    return outputs
