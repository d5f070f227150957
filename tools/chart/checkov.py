"""checkov (a Kubernetes scanner this project did not write) over what the EKS target deploys into its namespace.

What is scanned, per stack and variant: the chart as `render(plan)` renders it, with `metadata.namespace` set to the
release's namespace on every namespaced object (helm installs them there, but the chart's templates don't write it, and
checkov would read a missing namespace as `default`), and the NetworkPolicies the program declares beside it
(components/eks/network_policies.py). All variants go into one folder, one subfolder each, and checkov runs once.

Every failed check must match a documented skip in checkov_skips.yaml (check id, workloads, reason, what would lift
it); a failure no skip names, a skip without a reason or lift, or a skip nothing matches any more is a problem.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tools.planner import Plan

from .helm import ROOT
from .render import Rendered

CHECKOV = Path(".venv-checkov/bin/checkov")  # relative to the project root, as the Makefile names it
SKIPS_FILE = Path(__file__).with_name("checkov_skips.yaml")
TIMEOUT_SECONDS = 600
NETWORK_POLICY_TYPE = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition"}


class ToolMissing(Exception):
    def __init__(self, path: Path = CHECKOV):
        super().__init__(f"checkov not found at {path}: run `make checkov`")


class CheckovFailed(Exception):
    """checkov did not produce a report (one line: its exit code and error)."""


@dataclass(frozen=True)
class Finding:
    variant: str  # the subfolder, e.g. dev-3.3.1-elasticache
    check: str  # e.g. CKV_K8S_43
    workload: str  # Kind/name, e.g. Deployment/airflow-scheduler (Pod/<name> for checkov's graph checks)


@dataclass
class Report:
    failed: list[Finding] = field(default_factory=list)
    passed: int = 0
    resources: int = 0
    variants: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Skip:
    check: str
    workloads: tuple[str, ...]
    reason: str
    lift: str

    def covers(self, finding: Finding) -> bool:
        return finding.check == self.check and finding.workload in self.workloads


def scanned_objects(rendered: Rendered, plan: Plan) -> list[dict]:
    """The rendered objects in their namespace, and the program's NetworkPolicies as Kubernetes would hold them."""
    objects = []
    for manifest in rendered.manifests:
        obj = json.loads(json.dumps(manifest))
        if obj.get("kind") not in CLUSTER_SCOPED:
            obj.setdefault("metadata", {})["namespace"] = rendered.namespace
        objects.append(obj)
    for policy in plan.of_type(NETWORK_POLICY_TYPE):
        objects.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": policy.inputs["metadata"], "spec": policy.inputs["spec"]})
    return objects


def write_variant(root: Path, variant: str, objects: list[dict]) -> None:
    folder = root / variant
    folder.mkdir(parents=True)
    for index, obj in enumerate(objects):
        (folder / f"{index:03d}-{obj['kind']}-{obj['metadata']['name']}.yaml").write_text(yaml.safe_dump(obj))


def _workload(resource: str) -> str:
    """checkov's resource id (Kind.namespace.name[.labels...]) -> Kind/name."""
    kind, _namespace, name, *_ = resource.split(".")
    return f"{kind}/{name}"


def run(root: Path, timeout: float = TIMEOUT_SECONDS) -> Report:
    """One checkov run (kubernetes framework) over every variant folder under `root`."""
    checkov = ROOT / CHECKOV
    if not checkov.is_file():
        raise ToolMissing()
    command = [str(checkov), "--directory", str(root), "--framework", "kubernetes", "--output", "json", "--compact",
               "--skip-download"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise CheckovFailed(f"checkov did not finish in {timeout:g} s") from None
    # checkov exits 1 when a check fails; its JSON report on stdout is what matters.
    try:
        output = json.loads(done.stdout)
    except json.JSONDecodeError:
        error = " ".join(done.stderr.split())[:800] or "(no stderr)"
        raise CheckovFailed(f"checkov exited {done.returncode} without a JSON report: {error}") from None
    reports = output if isinstance(output, list) else [output]
    report = Report()
    for part in reports:
        if part.get("check_type") != "kubernetes":
            continue
        summary = part.get("summary", {})
        report.passed += summary.get("passed", 0)
        report.resources += summary.get("resource_count", 0)
        for result in part.get("results", {}).get("passed_checks", []):
            report.variants.add(Path(result["file_path"].lstrip("/")).parts[0])
        for result in part.get("results", {}).get("failed_checks", []):
            variant = Path(result["file_path"].lstrip("/")).parts[0]
            report.variants.add(variant)
            report.failed.append(Finding(variant, result["check_id"], _workload(result["resource"])))
    return report


def load_skips(path: Path = SKIPS_FILE) -> tuple[list[Skip], list[str]]:
    """The documented skips, and one line per entry that lacks its check id, workloads, reason or lift."""
    entries = yaml.safe_load(path.read_text()) or []
    skips, problems = [], []
    for index, entry in enumerate(entries):
        where = f"{path.name}[{index}]"
        missing = [key for key in ("check", "workloads", "reason", "lift") if not str(entry.get(key) or "").strip()]
        if missing:
            problems.append(f"{where} ({entry.get('check', 'no check id')}): no {', '.join(missing)}")
            continue
        skips.append(Skip(str(entry["check"]), tuple(entry["workloads"]), " ".join(str(entry["reason"]).split()),
                          " ".join(str(entry["lift"]).split())))
    return skips, problems


def unskipped(report: Report, skips: list[Skip]) -> list[str]:
    """One line per failed check that no skip documents."""
    return sorted({f"{f.variant}: {f.check} failed on {f.workload} and checkov_skips.yaml documents no skip for it"
                   for f in report.failed if not any(s.covers(f) for s in skips)})


def unused(report: Report, skips: list[Skip]) -> list[str]:
    """One line per skipped (check, workload) that no variant fails any more: the skip must go."""
    failing = {(f.check, f.workload) for f in report.failed}
    return [f"checkov_skips.yaml: {s.check} on {w} is skipped but passes on every variant"
            for s in skips for w in s.workloads if (s.check, w) not in failing]
