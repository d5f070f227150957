"""The Airflow chart rendered by the real helm with the values the plan gives its Helm release.

`render(plan)` runs `helm template` on the vendored chart folder the Release names (the same bytes `pulumi up`
installs, components/eks/charts/SOURCE.md) with the Release's own name, namespace and values, for the cluster's
Kubernetes version. Renders are cached by their inputs for the life of the process, so many tests over the same
plan run helm once.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from typing import Any

import yaml

from components.eks.chart_values import is_airflow_chart, worker_keda
from tools.planner import Plan, PlannedResource

from . import helm

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
SECRET_TYPE = "kubernetes:core/v1:Secret"
CLUSTER_TYPE = "eks:index:Cluster"
# CRDs the program installs before the chart (components/eks/addons.py: KEDA), so helm may render objects of them.
KEDA_API = "keda.sh/v1alpha1"


class PlanError(Exception):
    """The plan cannot be rendered as declared (one line naming what is wrong)."""


@dataclass
class Rendered:
    release: str  # Helm release name as declared in the plan
    namespace: str
    chart_version: str  # e.g. "1.21.0"
    kube_version: str  # e.g. "1.35"
    values: dict  # the values passed to helm (as the plan declares them)
    manifests: list[dict] = field(default_factory=list)  # every rendered object, parsed YAML, in helm's order

    def of_kind(self, kind: str) -> list[dict]:
        return [m for m in self.manifests if m.get("kind") == kind]

    def get(self, kind: str, name: str) -> dict:
        for manifest in self.of_kind(kind):
            if manifest.get("metadata", {}).get("name") == name:
                return manifest
        raise LookupError(f"{kind}/{name} not rendered")


def airflow_release(plan: Plan, namespace: str | None = None) -> PlannedResource:
    """The plan's Helm release of the vendored Airflow chart (the one in `namespace`: a blue/green plan has two)."""
    found = [r for r in plan.of_type(RELEASE_TYPE) if is_airflow_chart(str(r.inputs.get("chart", "")))
             and namespace in (None, r.inputs.get("namespace"))]
    if len(found) != 1:
        raise PlanError(f"the plan of stack {plan.stack} declares {len(found)} Helm releases of the vendored Airflow "
                        f"chart{f' in namespace {namespace}' if namespace else ''} "
                        f"({', '.join(r.name for r in found) or 'none'}); expected exactly one (target eks)")
    return found[0]


def kube_version(plan: Plan) -> str:
    """The Kubernetes version the plan's EKS cluster is declared with."""
    clusters = plan.of_type(CLUSTER_TYPE)
    if len(clusters) != 1 or not clusters[0].inputs.get("version"):
        raise PlanError(f"the plan of stack {plan.stack} declares no single EKS cluster with a version")
    return str(clusters[0].inputs["version"])


def declared_secrets(plan: Plan) -> dict[str, set[str]]:
    """Kubernetes Secret name -> its data keys, as the plan declares them (stringData and data)."""
    secrets: dict[str, set[str]] = {}
    for secret in plan.of_type(SECRET_TYPE):
        inputs = secret.inputs
        secrets[inputs["metadata"]["name"]] = set(inputs.get("stringData") or {}) | set(inputs.get("data") or {})
    return secrets


def render(plan: Plan, namespace: str | None = None) -> Rendered:
    release = airflow_release(plan, namespace)
    inputs = release.inputs
    secret = sorted(p for p in release.secret_paths if p == "values" or p.startswith("values."))
    if secret:
        # Helm would write these into the release's stored manifest and values (readable with `helm get values`):
        # secrets belong in Kubernetes Secrets the chart reads by name.
        raise PlanError(f"Helm release {release.name}: values hold Pulumi secrets at {', '.join(secret)}; "
                        "put them in a Kubernetes Secret and pass its name instead")
    chart = str(inputs["chart"])
    chart_yaml = yaml.safe_load((helm.ROOT / chart / "Chart.yaml").read_text())
    values = inputs.get("values") or {}
    api_versions = [KEDA_API] if worker_keda(values).get("enabled") else []
    return _render(str(inputs["name"]), str(inputs.get("namespace") or "default"), chart, str(chart_yaml["version"]),
                   kube_version(plan), json.dumps(values, sort_keys=True), tuple(api_versions))


_CACHE: dict[str, Rendered] = {}


def _render(release: str, namespace: str, chart: str, chart_version: str, kube: str, values_json: str,
            api_versions: tuple[str, ...]) -> Rendered:
    key = hashlib.sha256(json.dumps([release, namespace, chart, kube, values_json, api_versions]).encode()).hexdigest()
    if key not in _CACHE:
        values = json.loads(values_json)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="chart-values-") as file:
            yaml.safe_dump(values, file)
            file.flush()
            args = ["template", release, chart, "--namespace", namespace, "--kube-version", kube, "--values", file.name]
            for api in api_versions:
                args += ["--api-versions", api]
            out = helm.run(args)
        manifests = [doc for doc in yaml.safe_load_all(out) if doc]
        _CACHE[key] = Rendered(release=release, namespace=namespace, chart_version=chart_version, kube_version=kube,
                               values=values, manifests=manifests)
    return _CACHE[key]

