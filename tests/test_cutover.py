"""The move MWAA -> EKS: both side by side on one platform, then MWAA dropped, shared resources untouched."""

from __future__ import annotations

import json

from tests.conftest import planned

PLATFORM = "airflow:platform:SharedPlatform"


def shared(plan) -> dict[str, dict]:
    return {r.urn: r.inputs for r in plan.under(PLATFORM)}


def test_side_by_side_runs_both_targets_on_one_platform():
    both = planned("dev", target="eks", keepMwaa=True)
    environment = both.one("aws:mwaa/environment:Environment")
    release = both.one("kubernetes:helm.sh/v3:Release", "eks-airflow")
    bucket = both.one("aws:s3/bucket:Bucket")
    assert environment.inputs["sourceBucketArn"] == bucket.outputs["arn"]
    volume = both.one("kubernetes:core/v1:PersistentVolume").inputs["spec"]["csi"]["volumeAttributes"]
    assert volume["bucketName"] == bucket.outputs["bucket"]
    assert release.inputs["values"]["airflowVersion"] == environment.inputs["airflowVersion"] == "3.3.1"
    assert both.outputs["target"] == "eks" and "mwaaEnvironmentArn" in both.outputs
    assert both.outputs["airflowUiUrl"].startswith("kubectl")  # the target's UI; MWAA's stays in mwaaUiUrl
    assert both.outputs["mwaaUiUrl"].startswith("https://")


def test_every_step_of_the_move_keeps_shared_resources_and_mwaa_identical():
    steps = [planned("dev", target="mwaa"), planned("dev", target="eks", keepMwaa=True), planned("dev", target="eks")]
    first = shared(steps[0])
    assert len(first) > 30
    for step in steps[1:]:
        assert shared(step) == first
    # MWAA itself is not touched when EKS is added beside it: same URN, same inputs.
    mwaa_before = {r.urn: r.inputs for r in steps[0].under("airflow:mwaa:MwaaAirflow")}
    mwaa_during = {r.urn: r.inputs for r in steps[1].under("airflow:mwaa:MwaaAirflow")}
    assert mwaa_before and mwaa_before == mwaa_during
    assert not steps[2].under("airflow:mwaa:MwaaAirflow")


def test_stateful_resources_are_never_replaced_by_the_move():
    urns = [{r.urn for r in plan.resources if r.type in ("aws:s3/bucket:Bucket", "aws:kms/key:Key")}
            for plan in (planned("dev", target="mwaa"), planned("dev", target="eks", keepMwaa=True), planned("dev", target="eks"))]
    assert urns[0] == urns[1] == urns[2] and len(urns[0]) == 2


def test_both_targets_configure_the_same_secrets_backend():
    both = planned("dev", target="eks", keepMwaa=True)
    mwaa_options = both.one("aws:mwaa/environment:Environment").inputs["airflowConfigurationOptions"]
    chart_config = both.one("kubernetes:helm.sh/v3:Release", "eks-airflow").inputs["values"]["config"]["secrets"]
    assert mwaa_options["secrets.backend"] == chart_config["backend"] == \
        "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    assert json.loads(mwaa_options["secrets.backend_kwargs"]) == json.loads(chart_config["backend_kwargs"]) == {
        "connections_prefix": "airflow/airflow-dev/connections", "variables_prefix": "airflow/airflow-dev/variables"}
    # ... and both may read exactly those prefixes.
    role_policies = {p.name: p.inputs["policy"] for p in both.of_type("aws:iam/rolePolicy:RolePolicy")}
    for name in ("mwaa-execution-policy", "eks-roles-worker", "eks-roles-scheduler"):
        assert "secret:airflow/airflow-dev/connections/*" in role_policies[name]
        assert "secret:airflow/airflow-dev/variables/*" in role_policies[name]
