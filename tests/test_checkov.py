"""checkov 3.3.30 over what the EKS target deploys, for every stack and variant the rendered-chart tests plan: one
run over all variants, every failure a documented skip (tools/chart/checkov_skips.yaml), every skip with a reason."""

from __future__ import annotations

import copy
import time

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_rendered_chart import IDS, VARIANTS, rendered_of, variant_plan
from tools.chart import checkov
from tools.chart.checkov import Finding, Report, Skip

CHECKOV_VERSION = "3.3.30"


def _run(root) -> checkov.Report:
    try:
        return checkov.run(root)
    except checkov.ToolMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkov")
    scanned = {}
    for (stack, airflow_version, broker), variant in zip(VARIANTS, IDS):
        plan = variant_plan(stack, airflow_version, broker)
        scanned[variant] = (plan, rendered_of(plan), checkov.scanned_objects(rendered_of(plan), plan))
        checkov.write_variant(root, variant, scanned[variant][2])
    started = time.monotonic()
    report = _run(root)
    print(f"\ncheckov: {time.monotonic() - started:.1f} s, {report.passed} passed, {len(report.failed)} failed "
          f"(all skipped: see checkov_skips.yaml), {report.resources} resources, {len(report.variants)} variants")
    return scanned, report


def test_checkov_is_pinned_in_its_own_virtualenv_and_make_test_builds_it():
    pins = [line for line in (ROOT / "requirements-checkov.txt").read_text().splitlines() if line and line[0] != "#"]
    assert f"checkov=={CHECKOV_VERSION}" in pins
    assert all("==" in pin for pin in pins) and len(pins) > 50  # the whole resolution, installed with --no-deps
    makefile = (ROOT / "Makefile").read_text()
    test_rule = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert "$(CHECKOV_VENV)/.installed" in test_rule.split()
    assert "--no-deps -r requirements-checkov.txt" in makefile
    assert ".venv-checkov" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_scan_covers_every_variant_in_its_namespace(scan):
    scanned, report = scan
    assert report.variants == set(IDS)
    for variant, (plan, rendered, objects) in scanned.items():
        kinds = {o["kind"] for o in objects}
        assert {"Deployment", "Job", "NetworkPolicy", "ServiceAccount"} <= kinds, variant
        assert all(o["metadata"].get("namespace") == "airflow" for o in objects if o["kind"] not in checkov.CLUSTER_SCOPED)
        # the program's own policies are scanned with the chart's
        assert any(o["metadata"]["name"] == "airflow-egress-in-cluster" for o in objects)
    assert report.passed > 5000
    assert not [f for f in report.failed if f.check == "CKV_K8S_21"]  # "default namespace": gone with the namespace


def test_every_failed_check_is_a_documented_skip(scan):
    _, report = scan
    skips, _ = checkov.load_skips()
    assert checkov.unskipped(report, skips) == []


def test_no_skip_outlives_its_failure(scan):
    _, report = scan
    skips, _ = checkov.load_skips()
    assert checkov.unused(report, skips) == []


def test_what_the_values_fixed_stays_fixed(scan):
    _, report = scan
    fixed = {"CKV2_K8S_6", "CKV_K8S_31", "CKV_K8S_11", "CKV_K8S_13", "CKV_K8S_21"}
    assert not [f for f in report.failed if f.check in fixed]
    skipped = {s.check for s in checkov.load_skips()[0]}
    assert not fixed & skipped


def test_every_skip_has_a_check_workloads_reason_and_lift():
    skips, problems = checkov.load_skips()
    assert problems == []
    assert skips and all(s.check.startswith("CKV") and s.workloads and len(s.reason) > 40 for s in skips)


def test_a_skip_without_a_reason_is_named(tmp_path):
    path = tmp_path / "skips.yaml"
    path.write_text(yaml.safe_dump([{"check": "CKV_K8S_43", "workloads": ["Deployment/x"], "lift": "pin it"},
                                    {"check": "CKV_K8S_22", "workloads": ["Deployment/x"], "reason": " ", "lift": ""}]))
    skips, problems = checkov.load_skips(path)
    assert skips == []
    assert problems == ["skips.yaml[0] (CKV_K8S_43): no reason", "skips.yaml[1] (CKV_K8S_22): no reason, lift"]


def test_a_new_failure_breaks_the_scan(scan, tmp_path):
    """A real checkov run: the scheduler without its seccomp profile fails CKV_K8S_31, which no skip covers."""
    scanned, _ = scan
    _, _, objects = scanned["dev-3.3.1-elasticache"]
    broken = copy.deepcopy(objects)
    scheduler = next(o for o in broken if o["kind"] == "Deployment" and o["metadata"]["name"] == "airflow-scheduler")
    del scheduler["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]
    checkov.write_variant(tmp_path, "dev-3.3.1-elasticache", [scheduler])
    problems = checkov.unskipped(_run(tmp_path), checkov.load_skips()[0])
    assert "dev-3.3.1-elasticache: CKV_K8S_31 failed on Deployment/airflow-scheduler and checkov_skips.yaml documents " \
           "no skip for it" in problems


def test_unskipped_and_unused_name_the_check_and_workload():
    report = Report(failed=[Finding("dev-x", "CKV_K8S_43", "Deployment/a")])
    skips = [Skip("CKV_K8S_43", ("Deployment/b",), "r", "l")]
    assert checkov.unskipped(report, skips) == [
        "dev-x: CKV_K8S_43 failed on Deployment/a and checkov_skips.yaml documents no skip for it"]
    assert checkov.unused(report, skips) == [
        "checkov_skips.yaml: CKV_K8S_43 on Deployment/b is skipped but passes on every variant"]


def test_the_token_skip_holds_no_pod_mounts_a_token_except_the_scheduler(scan):
    """CKV_K8S_38's first skip says the accounts, not the pods, turn automount off: check that on every variant."""
    scanned, _ = scan
    skip = next(s for s in checkov.load_skips()[0] if s.check == "CKV_K8S_38" and "Deployment/airflow-worker" in s.workloads)
    for variant, (_, rendered, _) in scanned.items():
        accounts = {a["metadata"]["name"]: a for a in rendered.of_kind("ServiceAccount")}
        for obj in rendered.manifests:
            if f"{obj['kind']}/{obj['metadata']['name']}" not in skip.workloads:
                continue
            spec = obj["spec"]["template"]["spec"]
            assert spec.get("automountServiceAccountToken") is not True, (variant, obj["metadata"]["name"])
            assert accounts[spec["serviceAccountName"]].get("automountServiceAccountToken") is False, \
                (variant, obj["metadata"]["name"])
