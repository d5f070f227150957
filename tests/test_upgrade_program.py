"""Blue/green in the program (`upgrade`, `liveSide`): green beside blue, blue untouched, convergence to one side."""

from __future__ import annotations

import json

import pytest

from components.settings import ConfigError, parse_settings
from tests.conftest import planned, stack_value

MWAA_ENV = "aws:mwaa/environment:Environment"
RELEASE = "kubernetes:helm.sh/v3:Release"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
# The two cases the docs rehearse: MWAA through the new-environment path, EKS an Airflow step on the same chart.
MWAA_BG = {"airflowVersion": "2.10.3", "upgrade": {"airflowVersion": "3.3.1"}}
EKS_BG = {"target": "eks", "airflowVersion": "3.2.1", "upgrade": {"airflowVersion": "3.3.1"}}


def without_upgrade(overrides: dict) -> dict:
    return {k: v for k, v in overrides.items() if k != "upgrade"}


def green_names(blue_green, blue) -> set[str]:
    return {r.name for r in blue_green.resources} - {r.name for r in blue.resources}


@pytest.mark.parametrize("overrides", [MWAA_BG, EKS_BG, {**EKS_BG, "eks": {"broker": "in-cluster"}}],
                         ids=["mwaa", "eks", "eks-in-cluster"])
def test_upgrade_leaves_every_blue_resource_urn_and_input_as_it_was(overrides):
    if "eks" in overrides:  # on top of the dev stack's eks section
        overrides = {**overrides, "eks": {**stack_value("dev", "eks"), **overrides["eks"]}}
    blue = planned("dev", **without_upgrade(overrides))
    both = planned("dev", **overrides)
    after = both.by_urn()
    for resource in blue.resources:
        assert resource.urn in after, f"{resource.urn} is gone with upgrade set"
        assert after[resource.urn].inputs == resource.inputs, f"{resource.urn}: inputs changed with upgrade set"
    assert green_names(both, blue), "upgrade declared nothing"
    assert all("green" in name for name in green_names(both, blue))


def test_mwaa_green_is_a_second_environment_with_its_own_objects_paused_dags_and_the_same_secrets():
    plan = planned("dev", **MWAA_BG)
    blue, green = plan.one(MWAA_ENV, "mwaa").inputs, plan.one(MWAA_ENV, "mwaa-green").inputs
    assert (blue["name"], blue["airflowVersion"]) == ("airflow-dev", "2.10.3")
    assert (green["name"], green["airflowVersion"]) == ("airflow-dev-green", "3.3.1")
    # Its own requirements (3.3.1's constraints) and startup script, pinned by their own object versions.
    assert (green["requirementsS3Path"], green["startupScriptS3Path"]) == ("green/requirements.txt", "green/startup.sh")
    requirements = plan.one(OBJECT, "platform-bucket-green-requirements").inputs
    assert requirements["key"] == "green/requirements.txt"
    assert "constraints-3.3.1/constraints-3.12.txt" in requirements["content"].splitlines()[0]
    assert "constraints-2.10.3/" in plan.one(OBJECT, "platform-bucket-requirements").inputs["content"].splitlines()[0]
    assert green["requirementsS3ObjectVersion"] != blue["requirementsS3ObjectVersion"]
    # The same DAGs, the same Secrets Manager prefixes; DAGs paused at creation on green only.
    assert green["dagS3Path"] == blue["dagS3Path"] == "dags"
    green_options, blue_options = green["airflowConfigurationOptions"], blue["airflowConfigurationOptions"]
    assert green_options["secrets.backend_kwargs"] == blue_options["secrets.backend_kwargs"]
    assert json.loads(green_options["secrets.backend_kwargs"])["variables_prefix"] == "airflow/airflow-dev/variables"
    assert green_options["core.dags_are_paused_at_creation"] == "True"
    assert "core.dags_are_paused_at_creation" not in blue_options
    # Its own execution role, trusted for and scoped to the green environment and its log groups.
    policy = plan.one("aws:iam/rolePolicy:RolePolicy", "mwaa-green-execution-policy").inputs["policy"]
    assert "environment/airflow-dev-green" in policy and "airflow-airflow-dev-green-Task" in policy
    assert "environment/airflow-dev\"" not in policy
    assert plan.outputs["upgradeMwaaEnvironmentArn"].endswith("environment/airflow-dev-green")
    assert plan.outputs["mwaaEnvironmentArn"].endswith("environment/airflow-dev")


def test_eks_green_is_a_second_release_with_its_own_namespace_database_broker_db_image_and_chart_pin():
    plan = planned("dev", **{**EKS_BG, "airflowVersion": "2.10.3"})
    blue, green = plan.one(RELEASE, "eks-airflow").inputs, plan.one(RELEASE, "eks-green-airflow").inputs
    assert (blue["namespace"], blue["version"], blue["values"]["airflowVersion"]) == ("airflow", "1.19.0", "2.10.3")
    assert (green["namespace"], green["version"], green["values"]["airflowVersion"]) == ("airflow-green", "1.21.0", "3.3.1")
    assert green["chart"] == "./components/eks/charts/airflow-1.21.0"
    assert green["values"]["images"]["airflow"]["tag"].startswith("3.3.1-")
    assert blue["values"]["images"]["airflow"]["tag"].startswith("2.10.3-")
    assert green["values"]["config"]["core"]["dags_are_paused_at_creation"] == "True"
    assert "dags_are_paused_at_creation" not in blue["values"]["config"].get("core", {})
    # Its own RDS instance (new, migrated by its own Job), Redis database 1 of the shared ElastiCache.
    databases = {r.name: r.inputs for r in plan.of_type("aws:rds/instance:Instance")}
    assert set(databases) == {"eks-metadata-db", "eks-green-metadata-db"}
    assert databases["eks-green-metadata-db"]["identifierPrefix"] == "airflow-dev-green-"
    assert "snapshotIdentifier" not in databases["eks-green-metadata-db"]
    assert len(plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup")) == 1
    secrets = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r for r in
               plan.of_type("kubernetes:core/v1:Secret")}
    assert secrets[("airflow-green", "airflow-broker-url")].name == "eks-green-broker-url"
    assert "airflow-green" in {ns for ns, _ in secrets} and ("airflow-green", "airflow-jwt-secret") in secrets
    # IRSA roles trust the green namespace's service accounts; the DAGs claim is its own volume of the same prefix.
    trusts = [r.inputs["assumeRolePolicy"] for r in plan.of_type("aws:iam/role:Role") if r.name.startswith("eks-green-roles")]
    assert trusts and all("system:serviceaccount:airflow-green:airflow-" in t for t in trusts)
    volumes = {r.name: r.inputs for r in plan.of_type("kubernetes:core/v1:PersistentVolume")}
    assert volumes["eks-green-dags"]["metadata"]["name"] == "airflow-dags-green"
    assert volumes["eks-green-dags"]["spec"]["claimRef"] == {"namespace": "airflow-green", "name": "airflow-dags"}
    assert "prefix dags/" in volumes["eks-green-dags"]["spec"]["mountOptions"]


def test_green_broker_url_uses_its_own_redis_database():
    from tools.planner import plan as fresh_plan  # secrets are mock values: read the URL shape from the planner

    plan = fresh_plan("dev", EKS_BG)
    urls = {r.inputs["metadata"]["namespace"]: r.inputs["stringData"]["connection"]
            for r in plan.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "airflow-broker-url"}
    assert urls["airflow"].split("?")[0].endswith(":6379/0")
    assert urls["airflow-green"].split("?")[0].endswith(":6379/1")


@pytest.mark.parametrize(("bad", "expected"), [
    ({"airflowVersion": "3.3.1", "upgrade": {"airflowVersion": "3.2.1"}},
     'upgrade.airflowVersion: "3.2.1" is not newer than airflowVersion (3.3.1); allowed: a newer version (to go back, '
     "remove `upgrade`: the live side was never touched)"),
    ({"upgrade": {"airflowVersion": "4.0.0"}},
     'upgrade.airflowVersion: "4.0.0" is not allowed; allowed: 2.9.2, 2.10.1, 2.10.3, 2.11.0, 2.11.2, 3.0.6, 3.2.1, 3.3.1'),
    ({"upgrade": {"version": "3.3.1"}}, "upgrade.version: unknown config key; allowed keys: airflowVersion"),
    ({"liveSide": "purple"}, 'liveSide: "purple" is not allowed; allowed: blue, green'),
])
def test_bad_upgrade_keys_are_one_line_each(bad, expected):
    with pytest.raises(ConfigError) as caught:
        parse_settings({"target": "mwaa", **bad}, "dev")
    assert expected in caught.value.problems


def _side_names(plan, prefix: str) -> set[str]:
    return {r.name for r in plan.resources if r.name == prefix or r.name.startswith(prefix + "-")}


@pytest.mark.parametrize(("overrides", "component"), [(MWAA_BG, "mwaa"), (EKS_BG, "eks")])
def test_cut_over_to_green_converges_on_green_without_replacing_shared_resources(overrides, component):
    """After the move: remove `upgrade`, set airflowVersion to green's and liveSide: green."""
    both = planned("dev", **overrides)
    converged = planned("dev", **{**without_upgrade(overrides), "airflowVersion": "3.3.1", "liveSide": "green"})
    blue_only = planned("dev", **without_upgrade(overrides))
    green = green_names(both, blue_only)
    blue_side = {name.replace(f"{component}-green", component, 1) for name in green if name.startswith(component)}
    after = {r.name: r for r in converged.resources}
    before = {r.name: r for r in both.resources}
    # Green stays, under the same URNs: only its paused-at-creation option goes (an in-place update).
    for name in green:
        assert after[name].urn == before[name].urn
        assert _without_paused(after[name].inputs) == _without_paused(before[name].inputs), name
    # Blue's own resources go; everything shared (network, key, bucket, secrets, cluster, broker) stays as it was,
    # except the content of blue's unused requirements object, which follows airflowVersion (an update, same key).
    assert not blue_side & set(after)
    for name, resource in before.items():
        if name in green or name in blue_side:
            continue
        assert after[name].urn == resource.urn
        inputs = {k: v for k, v in resource.inputs.items() if not (name == "platform-bucket-requirements" and k == "content")}
        if resource.type == "aws:cloudwatch/metricAlarm:MetricAlarm":
            # The alarms follow the live side in place: same name and rule, their metrics now green's.
            watched = {k: inputs.pop(k) for k in ("dimensions", "metricQueries", "metricName") if k in inputs}
            for key, was in watched.items():  # unchanged (the EKS agent's namespace is the stack's), or green's now:
                # its dimensions on MWAA, its StatsD prefix on EKS (airflow_green_...)
                now = after[name].inputs.get(key)
                assert now == was or ("green" in json.dumps(now) and "green" not in json.dumps(was)), (name, key)
        assert {k: after[name].inputs.get(k) for k in inputs} == inputs, name
    assert converged.outputs["liveSide"] == "green" and "upgradeAirflowVersion" not in converged.outputs


def test_eks_sides_send_statsd_under_their_own_prefix_and_the_alarms_read_the_live_ones():
    """Both releases send StatsD to the one agent and namespace: green's heartbeats must not count as blue's."""
    def prefixes(plan) -> dict[str, str]:
        return {r.name: r.inputs["values"]["config"]["metrics"]["statsd_prefix"] for r in plan.of_type(RELEASE)
                if r.name.endswith("-airflow")}

    def heartbeat_metric(plan) -> str:
        return plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", "eks-alarms-scheduler-heartbeat").inputs["metricName"]

    both = planned("dev", **EKS_BG)
    assert prefixes(both) == {"eks-airflow": "airflow", "eks-green-airflow": "airflow_green"}
    assert heartbeat_metric(both) == "airflow_scheduler_heartbeat"  # blue is live
    green_live = planned("dev", **{**EKS_BG, "liveSide": "green"})
    assert heartbeat_metric(green_live) == "airflow_green_scheduler_heartbeat"


def test_eks_in_place_convergence_keeps_blue_and_drops_green():
    """The other way (an in-place step the rules allow): remove `upgrade`, set airflowVersion, liveSide stays blue."""
    both = planned("dev", **EKS_BG)
    converged = planned("dev", **{**without_upgrade(EKS_BG), "airflowVersion": "3.3.1"})
    assert not _side_names(converged, "eks-green")
    before, after = both.one(RELEASE, "eks-airflow"), converged.one(RELEASE, "eks-airflow")
    assert after.urn == before.urn and after.inputs["values"]["airflowVersion"] == "3.3.1"
    assert {r.urn for r in both.resources} - _urns(both, "eks-green") >= {r.urn for r in converged.resources}


def _urns(plan, prefix: str) -> set[str]:
    names = _side_names(plan, prefix)
    return {r.urn for r in plan.resources if r.name in names}


def _without_paused(inputs):
    if isinstance(inputs, dict):
        return {k: _without_paused(v) for k, v in inputs.items() if k not in ("core.dags_are_paused_at_creation",
                                                                            "dags_are_paused_at_creation")}
    return inputs


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("overrides", [MWAA_BG, EKS_BG], ids=["mwaa", "eks"])
def test_both_sides_pass_the_policy_pack(stack, overrides):
    from tests.test_policy import violations_of

    assert violations_of(planned(stack, **overrides)) == []
