"""Which target components a stack deploys, and the outputs every target shares."""

from __future__ import annotations

from typing import Any


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
    if settings.deploys_mwaa:
        mwaa = MwaaAirflow("mwaa", MwaaAirflowArgs(platform=platform))
        outputs.update(mwaaEnvironmentArn=mwaa.environment.arn, mwaaExecutionRoleArn=mwaa.execution_role_arn,
                       mwaaUiUrl=mwaa.ui_url)
        if settings.target == "mwaa":
            outputs["airflowUiUrl"] = mwaa.ui_url
    if settings.deploys_eks:
        from .eks import EksAirflow, EksAirflowArgs  # noqa: PLC0415 - pulls in the Kubernetes SDK only when needed

        eks = EksAirflow("eks", EksAirflowArgs(platform=platform))
        outputs.update(eks.outputs())
    return outputs
