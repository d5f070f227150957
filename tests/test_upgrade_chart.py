"""Chart upgrades that don't jam: each kind of in-place EKS upgrade planned, and what changes and what doesn't.

The migrate and create-user Jobs run without Helm hooks under fixed names; their explicit ttlSecondsAfterFinished
(components/eks/chart_values.py) deletes a finished Job so the next version's Job is created, not patched (a Job's
pod template is immutable). Every secret keeps its URN and inputs across the step, so JWT and API secret keys (and
every password) stay the same.
"""

from __future__ import annotations

import pytest

from components.eks.chart_values import JOB_TTL_SECONDS, RELEASE_TIMEOUT_SECONDS
from tests.conftest import planned
from tools.chart.render import render

RELEASE = "kubernetes:helm.sh/v3:Release"
KEPT_TYPES = ("random:index/randomPassword:RandomPassword", "random:index/randomBytes:RandomBytes",
              "kubernetes:core/v1:Secret", "aws:rds/instance:Instance", "kubernetes:core/v1:Namespace")
JOBS = ("airflow-run-airflow-migrations", "airflow-create-user")


def eks(version: str):
    return planned("dev", target="eks", airflowVersion=version)


def by_urn(plan, types) -> dict:
    return {r.urn: r.inputs for r in plan.resources if r.type in types}


# (old, new, chart before, chart after): an Airflow step on one chart, a chart step, the 2 -> 3 step on 1.21.0.
STEPS = [("3.2.1", "3.3.1", "1.21.0", "1.21.0"), ("2.10.3", "2.11.2", "1.19.0", "1.21.0"),
         ("2.11.2", "3.3.1", "1.21.0", "1.21.0")]


@pytest.mark.parametrize(("old", "new", "chart_old", "chart_new"), STEPS, ids=["airflow", "chart", "major"])
def test_in_place_step_changes_the_release_only_and_keeps_every_secret(old, new, chart_old, chart_new):
    before, after = eks(old), eks(new)
    release_before, release_after = before.one(RELEASE, "eks-airflow"), after.one(RELEASE, "eks-airflow")
    # The same release, updated: new chart pin, version and image; no other resource is replaced.
    assert release_before.urn == release_after.urn
    assert (release_before.inputs["version"], release_after.inputs["version"]) == (chart_old, chart_new)
    assert release_after.inputs["chart"].endswith(f"airflow-{chart_new}")
    values = release_after.inputs["values"]
    assert (values["airflowVersion"], values["defaultAirflowTag"]) == (new, new)
    assert values["images"]["airflow"]["tag"].startswith(f"{new}-")
    assert release_before.inputs["values"]["images"]["airflow"]["tag"] != values["images"]["airflow"]["tag"]
    kept_before, kept_after = by_urn(before, KEPT_TYPES), by_urn(after, KEPT_TYPES)
    for urn in set(kept_before) & set(kept_after):
        assert kept_after[urn] == kept_before[urn], f"{urn} changes with the upgrade"
    gone, added = set(kept_before) - set(kept_after), set(kept_after) - set(kept_before)
    if old.startswith("2.") and new.startswith("3."):
        # Airflow 3 has no webserver secret key; its API secret key and JWT secret are made at the step.
        assert {u.rsplit("::", 1)[1] for u in gone} == {"eks-webserver-secret-key"}
        assert {u.rsplit("::", 1)[1] for u in added} == {"eks-api-secret-key", "eks-jwt-secret"}
    else:
        assert not gone and not added


def test_airflow_3_step_keeps_jwt_and_api_secret_keys():
    before, after = eks("3.2.1"), eks("3.3.1")
    for name in ("eks-jwt-secret", "eks-api-secret-key"):
        old = [r for r in before.resources if r.name == name]
        new = [r for r in after.resources if r.name == name]
        assert len(old) == 2 and [(r.urn, r.inputs) for r in old] == [(r.urn, r.inputs) for r in new]  # password + Secret


@pytest.mark.parametrize("version", ["2.10.3", "3.3.1"])
def test_jobs_are_deleted_after_they_finish_but_not_while_the_release_waits(version):
    plan = eks(version)
    release = plan.one(RELEASE, "eks-airflow").inputs
    assert release["timeout"] == RELEASE_TIMEOUT_SECONDS and release["waitForJobs"] is True
    assert JOB_TTL_SECONDS > RELEASE_TIMEOUT_SECONDS
    rendered = render(plan)
    for name in JOBS:
        job = rendered.get("Job", name)
        assert job["spec"]["ttlSecondsAfterFinished"] == JOB_TTL_SECONDS
        assert "helm.sh/hook" not in (job["metadata"].get("annotations") or {})  # plain Jobs: awaited by the Release
    # Pods wait for the migration the Job runs: an Airflow or chart step makes a new Job (the old one is gone).
    scheduler = rendered.get("Deployment", "airflow-scheduler")
    assert [c["name"] for c in scheduler["spec"]["template"]["spec"]["initContainers"]][0] == "wait-for-airflow-migrations"


def test_green_release_renders_in_its_own_namespace_with_its_own_jobs():
    plan = planned("dev", target="eks", airflowVersion="2.10.3", upgrade={"airflowVersion": "3.3.1"})
    blue, green = render(plan, "airflow"), render(plan, "airflow-green")
    assert (blue.chart_version, green.chart_version) == ("1.19.0", "1.21.0")
    assert (blue.namespace, green.namespace) == ("airflow", "airflow-green")
    assert green.get("Job", JOBS[0])["spec"]["template"]["spec"]["containers"][0]["image"].split(":")[-1].startswith("3.3.1-")
    with pytest.raises(Exception, match="declares 2 Helm releases"):
        render(plan)
