"""Every value the program sets must exist in the pinned chart's values.schema.json, for every Airflow version."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest

from components.eks.chart_values import CHART_VERSIONS_FILE, chart_version
from components.settings import AIRFLOW_VERSIONS
from tests.conftest import planned

SCHEMAS = Path(CHART_VERSIONS_FILE).with_name("chart-schema")


@lru_cache(maxsize=None)
def schema(version: str) -> dict:
    return json.loads((SCHEMAS / f"values.schema-{version}.json").read_text())


def planned_values(airflow_version: str, **overrides) -> dict:
    plan = planned("dev", target="eks", airflowVersion=airflow_version, **overrides)
    return plan.one("kubernetes:helm.sh/v3:Release", "eks-airflow").inputs["values"]


def unknown_keys(values, node: dict, root: dict, path: str = "") -> list[str]:
    """Keys set in `values` that the schema node doesn't declare (the chart would reject or ignore them).

    Stricter than the schema itself: its root allows undeclared keys, which the chart then silently ignores.
    Only nodes that declare a schema for additional keys (maps such as `config` or annotations) accept others.
    """
    while "$ref" in node:
        node = root["definitions"][node["$ref"].split("/")[-1]]
    found = []
    if isinstance(values, dict) and node.get("type") in ("object", None) and "properties" in node:
        for key, value in values.items():
            if key in node["properties"]:
                found += unknown_keys(value, node["properties"][key], root, f"{path}.{key}" if path else key)
            elif not isinstance(node.get("additionalProperties"), dict):
                found.append(f"{path}.{key}" if path else key)
    if isinstance(values, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(values):
            found += unknown_keys(item, node["items"], root, f"{path}[{index}]")
    return found


def test_every_airflow_version_has_a_pinned_chart_with_a_shipped_schema():
    pins = json.loads(CHART_VERSIONS_FILE.read_text())["charts"]
    assert set(pins) == set(AIRFLOW_VERSIONS)
    for airflow_version in AIRFLOW_VERSIONS:
        assert (SCHEMAS / f"values.schema-{chart_version(airflow_version)}.json").is_file(), airflow_version
    # Airflow < 2.11 is only supported up to chart 1.19.x; Airflow 3 needs chart >= 1.18.
    assert chart_version("2.10.3") == "1.19.0"
    assert tuple(int(p) for p in chart_version("3.3.1").split(".")) >= (1, 18, 0)


@pytest.mark.parametrize("airflow_version", AIRFLOW_VERSIONS)
def test_values_validate_against_the_pinned_chart_schema(airflow_version):
    values = planned_values(airflow_version)
    pinned = schema(chart_version(airflow_version))
    assert unknown_keys(values, pinned, pinned) == []
    jsonschema.Draft7Validator(pinned).validate(values)


@pytest.mark.parametrize("broker", ["elasticache", "in-cluster"])
def test_both_brokers_validate(broker):
    from tests.conftest import stack_value

    eks = stack_value("dev", "eks")
    eks["broker"] = broker
    values = planned_values("3.3.1", eks=eks)
    pinned = schema(chart_version("3.3.1"))
    assert unknown_keys(values, pinned, pinned) == []
    jsonschema.Draft7Validator(pinned).validate(values)


def test_the_check_catches_a_key_the_chart_does_not_have():
    values = planned_values("3.3.1")
    pinned = schema(chart_version("3.3.1"))
    broken = {**values, "scheduler": {**values["scheduler"], "replicaz": 2}, "notAChartKey": True}
    assert sorted(unknown_keys(broken, pinned, pinned)) == ["notAChartKey", "scheduler.replicaz"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(pinned).validate(broken)


def deprecated_keys(values, node: dict, root: dict, path: str = "") -> list[str]:
    """Keys set in `values` whose schema description says they are deprecated (the schema's only marker)."""
    while "$ref" in node:
        node = root["definitions"][node["$ref"].split("/")[-1]]
    found = []
    if isinstance(values, dict) and "properties" in node:
        for key, value in values.items():
            if key in node["properties"]:
                child, where = node["properties"][key], f"{path}.{key}" if path else key
                if "deprecated" in child.get("description", "").lower():
                    found.append(where)  # its sub-keys are deprecated with it: named once
                else:
                    found += deprecated_keys(value, child, root, where)
    return found


# Chart 1.21.0 deprecates workers.serviceAccount but ignores its replacement, workers.celery.serviceAccount, in the
# worker RBAC bindings and service-account helper (apache/airflow#67261): the one deprecated key kept on purpose.
KEPT_DEPRECATED = {"1.21.0": ["workers.serviceAccount"]}


@pytest.mark.parametrize("airflow_version", [v for v in AIRFLOW_VERSIONS if chart_version(v) == "1.21.0"])
def test_no_deprecated_key_is_emitted_for_the_1_21_pin(airflow_version):
    from tests.conftest import stack_value

    dev = stack_value("dev", "eks")
    # two idle worker pods of 1700m each need a node each besides the always-on pods: 4 t3.large nodes
    groups = [{**dev["nodeGroups"][0], "desiredSize": 4, "maxSize": 4}]
    eks = {**dev, "nodeGroups": groups, "workers": {"minReplicas": 2, "maxReplicas": 7, "concurrency": 8}}
    values = planned_values(airflow_version, eks=eks)
    pinned = schema("1.21.0")
    assert deprecated_keys(values, pinned, pinned) == KEPT_DEPRECATED["1.21.0"]
    keda = values["workers"]["celery"]["keda"]
    assert (keda["enabled"], keda["usePgbouncer"], keda["minReplicaCount"], keda["maxReplicaCount"]) == (True, True, 2, 7)
    assert values["workers"]["celery"]["persistence"] == {"enabled": False}


def test_deprecation_check_sees_the_old_worker_keys():
    pinned = schema("1.21.0")
    old = {"workers": {"keda": {"enabled": True}, "persistence": {"enabled": False}, "serviceAccount": {"create": True}}}
    assert sorted(deprecated_keys(old, pinned, pinned)) == ["workers.keda", "workers.persistence", "workers.serviceAccount"]


def test_chart_1_19_gets_the_worker_keys_it_reads():
    # 1.19.0 has no workers.celery.keda: KEDA settings stay where that chart reads them.
    values = planned_values("2.10.3")
    assert chart_version("2.10.3") == "1.19.0"
    assert values["workers"]["keda"]["enabled"] is True and "celery" not in values["workers"]
    assert values["workers"]["serviceAccount"]["name"] == "airflow-worker"


@pytest.mark.parametrize("airflow_version", ["2.10.3", "3.3.1"])
def test_pgbouncer_exporter_sslmode_is_a_value_the_pinned_chart_accepts(airflow_version):
    values = planned_values(airflow_version)
    sidecar = schema(chart_version(airflow_version))["properties"]["pgbouncer"]["properties"]["metricsExporterSidecar"]
    assert values["pgbouncer"]["metricsExporterSidecar"]["sslmode"] in sidecar["properties"]["sslmode"]["enum"]


def test_schema_notes_agree_with_the_pins():
    pins = {entry["chart"] for entry in json.loads(CHART_VERSIONS_FILE.read_text())["charts"].values()}
    notes = (SCHEMAS / "SOURCE.md").read_text()
    for version in pins:
        assert f"`values.schema-{version}.json`" in notes, version
    # Every chart release the notes call pinned is one chart_versions.json pins.
    import re

    claimed = set(re.findall(r"pins chart \*\*(\d+\.\d+\.\d+)\*\*", notes))
    assert claimed and claimed <= pins, claimed - pins


@pytest.mark.parametrize("airflow_version", ["2.11.2", "3.3.1"])
def test_replicas_get_a_disruption_budget_and_anti_affinity_that_the_pinned_chart_accepts(airflow_version):
    from tests.conftest import stack_value

    eks = stack_value("dev", "eks")
    eks["replicas"] = {"scheduler": 2, "apiServer": 3}
    values = planned_values(airflow_version, eks=eks)
    pinned = schema(chart_version(airflow_version))
    assert unknown_keys(values, pinned, pinned) == []
    jsonschema.Draft7Validator(pinned).validate(values)
    ui, label = ("apiServer", "api-server") if airflow_version.startswith("3") else ("webserver", "webserver")
    for key, component, count in (("scheduler", "scheduler", 2), (ui, label, 3)):
        section = values[key]
        assert section["replicas"] == count
        assert section["podDisruptionBudget"] == {"enabled": True, "config": {"maxUnavailable": 1}}
        term = section["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
        assert term["podAffinityTerm"] == {"topologyKey": "kubernetes.io/hostname",
                                           "labelSelector": {"matchLabels": {"component": component, "release": "airflow"}}}


def test_one_replica_gets_no_disruption_budget():
    values = planned_values("3.3.1")  # dev: eks.replicas unset -> 1 each
    assert values["scheduler"]["replicas"] == 1 and values["apiServer"]["replicas"] == 1
    assert "podDisruptionBudget" not in values["scheduler"] and "affinity" not in values["apiServer"]


def test_prod_eks_is_as_redundant_as_prod_mwaa():
    from tests.conftest import stack_value

    mwaa, eks = stack_value("prod", "mwaa"), stack_value("prod", "eks")
    assert eks["replicas"]["scheduler"] >= mwaa["schedulers"] and eks["replicas"]["apiServer"] >= mwaa["minWebservers"]
    values = planned("prod", target="eks").one("kubernetes:helm.sh/v3:Release", "eks-airflow").inputs["values"]
    assert values["scheduler"]["replicas"] == 2 and values["apiServer"]["podDisruptionBudget"]["enabled"] is True
