"""Every IAM policy document the program builds passes parliament (an IAM policy linter), for both targets.

Documents are found by scanning every resource's inputs in the mock plan for JSON with a `Statement`: role and
user policies, roles' trust and inline policies, the KMS key policy, the bucket policy, and anything added later.
A finding passes only if the allow-list below names it, with the reason; an allow-list entry nothing matches fails.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tools.planner import ACCOUNT_ID, AwsMocks, Plan, plan


def _import_parliament():
    """parliament 1.6.4 imports pkg_resources only to find its two data files; setuptools >= 82 dropped that
    module. Stand in for it during the import when it's missing (nothing else is taken from it)."""
    try:
        import pkg_resources  # noqa: F401
    except ModuleNotFoundError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, name: str(Path(importlib.util.find_spec(package).origin).parent / name)
        sys.modules["pkg_resources"] = shim
        try:
            import parliament
        finally:
            del sys.modules["pkg_resources"]
        return parliament
    import parliament
    return parliament


parliament = _import_parliament()
from parliament.cli import is_finding_filtered  # noqa: E402

STACKS = [("dev", "mwaa"), ("dev", "eks"), ("prod", "mwaa"), ("prod", "eks")]
STACK_IDS = [f"{stack}-{target}" for stack, target in STACKS]
KMS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def realistic_arns(mocks: AwsMocks) -> None:
    """The planner's generic mock ARN (arn:aws:kms:<region>:<account>:<name>) isn't a KMS key ARN, and parliament
    checks ARN formats against each action: give the key the shape AWS gives it."""
    mocks.register("aws:kms/key:Key", lambda name, inputs: {
        "keyId": KMS_KEY_ID, "arn": f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{KMS_KEY_ID}"})


@functools.cache
def planned(stack: str, target: str) -> Plan:
    return plan(stack, {"target": target}, customize=realistic_arns)


# ------------------------------------------------------------------------------------------ documents


@dataclass(frozen=True)
class Document:
    where: str  # "<type> <name> <input path>"
    kind: str  # identity | trust | key | bucket | resource
    text: str  # what parliament lints


def _json_documents(value: Any, path: str) -> Iterator[tuple[str, dict]]:
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return
        if isinstance(parsed, dict) and "Statement" in parsed:
            yield path, parsed
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_documents(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_documents(item, f"{path}[{index}]")


def documents(p: Plan) -> list[Document]:
    found = []
    for r in p.resources:
        for path, document in _json_documents(r.inputs, ""):
            statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
            if path == "assumeRolePolicy":
                # A trust policy is the role's resource policy: its implicit Resource is the role itself. Parliament
                # reads every document as an identity policy and stops at a missing Resource, so the role's ARN is
                # written in to let it check the principals, actions and conditions.
                kind = "trust"
                statements = [{**s, "Resource": r.outputs["arn"]} if "Resource" not in s else s for s in statements]
                document = {**document, "Statement": statements}
            elif r.type in ("aws:kms/key:Key", "aws:kms/keyPolicy:KeyPolicy"):
                kind = "key"
            elif r.type == "aws:s3/bucketPolicy:BucketPolicy":
                kind = "bucket"
            elif any("Principal" in s or "NotPrincipal" in s for s in statements):
                kind = "resource"
            else:
                kind = "identity"
            found.append(Document(f"{r.type} {r.name} {path}", kind, json.dumps(document, indent=1)))
    return found


# ------------------------------------------------------------------------------------------ allow-list


@dataclass(frozen=True)
class Allowed:
    kind: str
    issue: str
    detail: Callable[[str], bool]  # does this finding's detail fall under the exception?
    why: str

    def matches(self, document: Document, issue: str, detail: str) -> bool:
        return document.kind == self.kind and issue == self.issue and self.detail(detail)


def matching(pattern: str) -> Callable[[str], bool]:
    return lambda detail: re.search(pattern, detail) is not None


_OIDC_ISSUER = r"oidc\.eks\.[a-z0-9-]+\.amazonaws\.com/id/[A-Za-z0-9]+"
ALLOWED = [
    Allowed("trust", "UNKNOWN_FEDERATION_SOURCE", matching(rf"^arn:aws:iam::\d{{12}}:oidc-provider/{_OIDC_ISSUER}$"),
            "IRSA trusts the cluster's IAM OIDC provider; parliament 1.6.4 only knows Cognito, Amazon, Facebook, "
            "Google and SAML federation sources."),
    Allowed("trust", "UNKNOWN_CONDITION_FOR_ACTION",
            matching(rf"^Unknown condition {_OIDC_ISSUER}:(sub|aud) for action sts:AssumeRoleWithWebIdentity$"),
            "<issuer>:sub and <issuer>:aud are the OIDC provider's own condition keys, which AWS documents for IRSA "
            "trust policies; parliament's IAM definitions list only global and service keys."),
    Allowed("key", "RESOURCE_STAR", matching(r"^\['kms:"),
            "In a key policy Resource must be '*', and it means this key only."),
    Allowed("key", "UNKNOWN_CONDITION_FOR_ACTION",
            matching(r"^Unknown condition kms:EncryptionContext:aws:logs:arn for action kms:Describe[A-Za-z]*$"),
            "AWS's documented CloudWatch Logs key-policy statement grants kms:Describe* under the log-group encryption "
            "context; Describe calls carry none, so the condition only ever narrows them."),
    Allowed("key", "MISMATCHED_TYPE", matching(r"^Type mismatch: ArnLike requires a value of type Arn but given String$"),
            "ArnLike on kms:EncryptionContext:aws:logs:arn is what AWS documents for CloudWatch Logs; the value is a "
            "log-group ARN pattern."),
]


def findings(document: Document) -> list[tuple[str, str, str]]:
    """(issue, severity, detail) of every finding parliament reports (all severities but MUTE)."""
    policy = parliament.analyze_policy_string(document.text)
    result = []
    for finding in policy.findings:
        finding = parliament.enhance_finding(finding)
        if not is_finding_filtered(finding, minimum_severity="INFO"):
            result.append((finding.issue, finding.severity, str(finding.detail)))
    return result


def unexplained(document: Document) -> list[str]:
    return [f"{document.where}: {issue} ({severity}) {detail}" for issue, severity, detail in findings(document)
            if not any(allowed.matches(document, issue, detail) for allowed in ALLOWED)]


# ------------------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("stack,target", STACKS, ids=STACK_IDS)
def test_every_policy_document_passes_parliament(stack, target):
    docs = documents(planned(stack, target))
    problems = [problem for document in docs for problem in unexplained(document)]
    assert problems == []


@pytest.mark.parametrize("target,kinds", [
    ("mwaa", {"identity", "trust", "key", "bucket"}),
    ("eks", {"identity", "trust", "key", "bucket"}),
])
def test_the_documents_the_program_builds_are_all_found(target, kinds):
    docs = documents(planned("dev", target))
    assert kinds <= {d.kind for d in docs}
    roles = planned("dev", target).of_type("aws:iam/role:Role")
    trusts = [d for d in docs if d.kind == "trust"]
    assert len(trusts) == len(roles), "every role's trust policy is linted"
    role_policies = planned("dev", target).of_type("aws:iam/rolePolicy:RolePolicy")
    assert len([d for d in docs if d.where.startswith("aws:iam/rolePolicy:RolePolicy ")]) == len(role_policies)


def test_every_allow_list_entry_is_still_needed():
    used = set()
    for stack, target in STACKS:
        for document in documents(planned(stack, target)):
            for issue, _, detail in findings(document):
                used |= {i for i, allowed in enumerate(ALLOWED) if allowed.matches(document, issue, detail)}
    stale = [f"{a.kind} {a.issue}: {a.why}" for i, a in enumerate(ALLOWED) if i not in used]
    assert stale == []


@pytest.mark.parametrize("kind,statement,issue", [
    # An object action on a bucket ARN: what a slip in a Resource looks like.
    ("identity", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::airflow-dev"}, "RESOURCE_MISMATCH"),
    ("identity", {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::airflow-dev/*"}, "UNKNOWN_ACTION"),
    # The allow-list for trust policies covers EKS OIDC providers only, not any federation source.
    ("trust", {"Effect": "Allow", "Principal": {"Federated": "token.actions.example.com"},
               "Action": "sts:AssumeRoleWithWebIdentity", "Resource": f"arn:aws:iam::{ACCOUNT_ID}:role/r"}, "UNKNOWN_FEDERATION_SOURCE"),
    # RESOURCE_STAR is accepted in key policies only.
    ("identity", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}, "RESOURCE_STAR"),
])
def test_the_lint_reports_what_it_should(kind, statement, issue):
    document = Document("crafted", kind, json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    assert any(f" {issue} " in problem for problem in unexplained(document)), findings(document)
