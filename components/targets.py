"""Which target components a stack deploys, and the outputs every target shares."""

from __future__ import annotations

from typing import Any

import pulumi

from .alarms import (AlarmTopic, AlarmTopicArgs, Subscription, TargetAlarms, TargetAlarmsArgs, eks_bindings,
                     mwaa_bindings)
from .mwaa import MwaaAirflow, MwaaAirflowArgs
from .platform import SharedPlatform
from .settings import Side


def deploy_targets(platform: SharedPlatform) -> dict[str, Any]:
    settings = platform.settings
    outputs: dict[str, Any] = {
        "target": settings.target,
        "airflowVersion": settings.airflow_version,
        "dagsBucket": platform.bucket.bucket_name,
        "environmentName": settings.environment_name,
    }
    if settings.upgrade is not None or settings.live_side != "blue":
        outputs["liveSide"] = settings.live_side
    # One topic per stack, whatever the target: switching target keeps it and its subscriptions.
    topic = AlarmTopic("alarms", AlarmTopicArgs(
        environment_name=settings.environment_name, kms_key_arn=platform.kms_key_arn, tags=platform.tags,
        subscriptions=[Subscription(s.protocol, s.endpoint) for s in settings.alarms.subscriptions]))
    outputs["alarmTopicArn"] = topic.arn

    def alarms(target: str, bindings, parent: pulumi.Resource) -> None:
        """The alarm table on the live side of a target (a side being rehearsed pages nobody). Alarms are named after
        the stack's environment, so a cut-over only moves their metrics' dimensions to the new live side."""
        TargetAlarms(f"{target}-alarms", TargetAlarmsArgs(target=target, environment_name=settings.environment_name,
                                                         bindings=bindings, topic_arn=topic.arn, tags=platform.tags),
                     opts=pulumi.ResourceOptions(parent=parent))
    if settings.target == "mwaa":
        # Blue/green: each side is its own environment (docs/upgrades.md); the live one fills the usual outputs.
        for side in settings.sides:
            mwaa = MwaaAirflow(side.logical("mwaa"), MwaaAirflowArgs(platform=platform, side=side))
            side_outputs = {"mwaaEnvironmentArn": mwaa.environment.arn, "mwaaExecutionRoleArn": mwaa.execution_role_arn,
                            "mwaaUiUrl": mwaa.ui_url, "airflowUiUrl": mwaa.ui_url}
            outputs.update(side_outputs if side.live else _upgrade_outputs(side, side_outputs))
            if side.live:
                alarms("mwaa", mwaa_bindings(side.environment_name(settings.environment_name)), mwaa)
    elif settings.keep_mwaa:
        # Kept beside EKS during a move: the MWAA environment the stack had, never a blue/green side of EKS.
        mwaa = MwaaAirflow("mwaa", MwaaAirflowArgs(platform=platform, side=Side("blue", settings.airflow_version, True)))
        alarms("mwaa", mwaa_bindings(settings.environment_name), mwaa)
        outputs.update(mwaaEnvironmentArn=mwaa.environment.arn, mwaaExecutionRoleArn=mwaa.execution_role_arn,
                       mwaaUiUrl=mwaa.ui_url)
    if settings.deploys_eks:
        from .eks import EksAirflow, EksAirflowArgs  # noqa: PLC0415 - pulls in the Kubernetes SDK only when needed

        eks = EksAirflow("eks", EksAirflowArgs(platform=platform))
        alarms("eks", eks_bindings(settings.environment_name, eks.database_identifier, eks.live_slot), eks)
        outputs.update(eks.outputs())
        for side, side_outputs in eks.upgrade_outputs().items():
            outputs.update(_upgrade_outputs(side, side_outputs))
    return outputs


def _upgrade_outputs(side: Side, side_outputs: dict[str, Any]) -> dict[str, Any]:
    """The side being rehearsed: the same outputs, prefixed `upgrade` (upgradeAirflowUiUrl...)."""
    return {"upgradeAirflowVersion": side.airflow_version,
            **{f"upgrade{key[0].upper()}{key[1:]}": value for key, value in side_outputs.items()}}
