"""The policy pack in policy/: the program passes every rule, every rule catches what it is for, and the pack
behaves the same when Pulumi runs it (a real analyzer process spoken to over gRPC, as the CLI does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Any, Iterator

import grpc
import pytest
import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policy import airflow_policy as rules
from tests.conftest import ROOT, planned
from tools.planner import Plan, PlannedResource

POLICY_DIR = ROOT / "policy"

STACKS = [("dev", "mwaa"), ("dev", "eks"), ("prod", "mwaa"), ("prod", "eks")]
STACK_IDS = [f"{stack}-{target}" for stack, target in STACKS]
RULES = {rule.name: rule for rule in rules.ALL_RULES}


def stack_view(resources: list[PlannedResource]) -> list[rules.StackResource]:
    """What a stack-level policy sees: the resources' outputs (the mocks echo the inputs plus ids and ARNs)."""
    return [rules.StackResource(urn=r.urn, type=r.type, name=r.name, props=r.outputs, protect=r.protect)
            for r in resources]


def violations_of(p: Plan) -> list[str]:
    ctx = rules.StackContext.for_stack(p.stack)
    found = []
    for r in p.resources:
        for rule in rules.RESOURCE_RULES:
            if r.type in rule.resource_types:
                found += [f"{rule.name} {r.type} {r.name}: {m}" for m in rules.check_resource(rule, r.type, r.inputs, ctx, r.protect)]
    for rule in rules.STACK_RULES:
        found += [f"{rule.name} {urn}: {m}" for urn, m in rule.check(stack_view(p.resources), ctx)]
    return found


# ------------------------------------------------------------------------------------------ the program


@pytest.mark.parametrize("stack,target", STACKS, ids=STACK_IDS)
def test_program_passes_every_rule(stack, target):
    p = planned(stack, target=target)
    assert p.resources, "the program declared nothing"
    assert violations_of(p) == []


def test_every_rule_has_something_to_check_in_the_program():
    """A rule whose resource types the program never declares would pass vacuously."""
    declared = {r.type for stack, target in STACKS for r in planned(stack, target=target).resources}
    idle = [rule.name for rule in rules.ALL_RULES if not rules.applicable(rule, declared)]
    assert idle == []


@pytest.mark.parametrize("target,types", [
    ("mwaa", [rules.S3_BUCKET]),
    ("eks", [rules.S3_BUCKET, rules.RDS_INSTANCE]),
])
def test_prod_protects_and_retains_the_dag_bucket_and_metadata_db(target, types):
    """Policies see `protect` but not `retainOnDelete`, so both are checked on the plan itself."""
    p = planned("prod", target=target)
    for type_ in types:
        found = p.of_type(type_)
        assert found, f"prod/{target} declares no {type_}"
        for r in found:
            assert (r.protect, r.retain_on_delete) == (True, True), f"{r.type} {r.name}: protect/retainOnDelete"


def test_dev_target_eks_is_checked_against_the_eks_rules():
    types = {r.type for r in planned("dev", target="eks").resources}
    for expected in (rules.EKS_COMPONENT, rules.RDS_INSTANCE, rules.ELASTICACHE_REPLICATION_GROUP):
        assert expected in types, f"target eks declares no {expected}: the EKS rules would check nothing"


# ------------------------------------------------------------------------------------------ each rule fires

DEV = rules.StackContext.for_stack("dev")
PROD = rules.StackContext.for_stack("prod")
ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ADMIN_ROLE = {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
              "inlinePolicies": [{"name": "ops", "policy": ADMIN}]}


# (rule, resource type, props, context, protect option, expected fragment of a violation)
BAD_RESOURCES = [
    ("rds-encrypted-and-private", rules.RDS_INSTANCE, {"publiclyAccessible": False}, DEV, None, "storageEncrypted"),
    ("rds-encrypted-and-private", rules.RDS_INSTANCE, {"storageEncrypted": False}, DEV, None, "storageEncrypted"),
    ("rds-encrypted-and-private", rules.RDS_INSTANCE, {"storageEncrypted": True, "publiclyAccessible": True}, DEV, None, "publiclyAccessible"),
    ("elasticache-encrypted-and-authenticated", rules.ELASTICACHE_REPLICATION_GROUP,
     {"atRestEncryptionEnabled": False, "transitEncryptionEnabled": True, "authToken": "x"}, DEV, None, "atRestEncryptionEnabled"),
    ("elasticache-encrypted-and-authenticated", rules.ELASTICACHE_REPLICATION_GROUP,
     {"atRestEncryptionEnabled": True, "authToken": "x"}, DEV, None, "transitEncryptionEnabled"),
    ("elasticache-encrypted-and-authenticated", rules.ELASTICACHE_REPLICATION_GROUP,
     {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": True, "userGroupIds": []}, DEV, None, "authToken"),
    ("mwaa-webserver-private", rules.MWAA_ENVIRONMENT, {"webserverAccessMode": "PUBLIC_ONLY"}, DEV, None, "PUBLIC_ONLY"),
    ("mwaa-webserver-private", rules.MWAA_ENVIRONMENT, {"webserverAccessMode": "PUBLIC_ONLY"},
     rules.StackContext.for_stack("dev", {"allowPublicWebserverStacks": ["sandbox"]}), None, "allowPublicWebserverStacks"),
    ("eks-secrets-encrypted", rules.EKS_COMPONENT, {"endpointPublicAccess": False}, DEV, None, "encryptionConfigKeyArn"),
    ("eks-secrets-encrypted", rules.EKS_CLUSTER, {"vpcConfig": {"endpointPublicAccess": False}}, DEV, None, "encryptionConfig"),
    ("eks-secrets-encrypted", rules.EKS_CLUSTER,
     {"encryptionConfig": {"resources": [], "provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"}}}, DEV, None, "secrets"),
    ("eks-endpoint-not-open", rules.EKS_COMPONENT, {"encryptionConfigKeyArn": "k"}, DEV, None, "0.0.0.0/0"),
    ("eks-endpoint-not-open", rules.EKS_COMPONENT,
     {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]}, DEV, None, "0.0.0.0/0"),
    ("eks-endpoint-not-open", rules.EKS_CLUSTER, {"vpcConfig": {"publicAccessCidrs": ["::/0"]}}, DEV, None, "::/0"),
    # Openness is the address space covered, not the literal 0.0.0.0/0.
    ("eks-endpoint-not-open", rules.EKS_COMPONENT, {"publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}, DEV, None,
     "0.0.0.0/1, 128.0.0.0/1 (100% of IPv4 addresses)"),
    ("eks-endpoint-not-open", rules.EKS_COMPONENT, {"publicAccessCidrs": ["0.0.0.0/1"]}, DEV, None, "50% of IPv4 addresses"),
    ("eks-endpoint-not-open", rules.EKS_CLUSTER, {"vpcConfig": {"publicAccessCidrs": ["::/1", "8000::/1"]}}, DEV, None,
     "100% of IPv6 addresses"),
    ("eks-endpoint-not-open", rules.EKS_COMPONENT, {"publicAccessCidrs": ["0.0.0.0/00"]}, DEV, None,
     "'0.0.0.0/00' (not in canonical form, which is 0.0.0.0/0)"),
    ("eks-endpoint-not-open", rules.EKS_COMPONENT, {"publicAccessCidrs": ["203.0.113.1/24"]}, DEV, None, "has host bits set"),
    ("iam-no-admin-wildcard", "aws:iam/rolePolicy:RolePolicy", {"policy": ADMIN}, DEV, None, "Action '*' on Resource '*'"),
    ("iam-no-admin-wildcard", "aws:iam/policy:Policy",
     {"policy": _doc({"Sid": "All", "Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["*"]})}, DEV, None, "statement All"),
    ("iam-no-admin-wildcard", "aws:iam/userPolicy:UserPolicy",
     {"policy": _doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}, DEV, None, "NotAction"),
    ("iam-no-admin-wildcard", rules.IAM_ROLE, {"inlinePolicies": [{"name": "ops", "policy": ADMIN}]}, DEV, None, "inlinePolicies[0] (ops)"),
    # AdministratorAccess among the managed policies doesn't hide what the inline policies allow (and vice versa).
    ("iam-no-admin-wildcard", rules.IAM_ROLE, ADMIN_ROLE, DEV, None, "inlinePolicies[0] (ops)"),
    ("iam-no-admin-wildcard", rules.IAM_ROLE, ADMIN_ROLE, DEV, None, "role attaches arn:aws:iam::aws:policy/AdministratorAccess"),
    # Action '*' with NotResource (whatever it excludes) is admin.
    ("iam-no-admin-wildcard", "aws:iam/rolePolicy:RolePolicy",
     {"policy": _doc({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::audit-logs/*"})}, DEV, None, "NotResource"),
    ("iam-no-admin-wildcard", "aws:iam/policy:Policy",
     {"policy": _doc({"Sid": "Almost", "Effect": "Allow", "Action": ["*:*"], "NotResource": []})}, DEV, None, "statement Almost"),
    ("iam-no-admin-wildcard", rules.IAM_ROLE,
     {"inlinePolicies": [{"name": "ops", "policy": _doc({"Effect": "Allow", "Action": "*", "NotResource": ["arn:aws:iam::*:role/x"]})}]},
     DEV, None, "inlinePolicies[0] (ops): statement 0 allows Action '*' on every resource but"),
    # Allow NotAction on Resource '*' is admin whatever it excludes (and with NotResource too).
    ("iam-no-admin-wildcard", "aws:iam/groupPolicy:GroupPolicy",
     {"policy": _doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": ["*"]})}, DEV, None,
     "allows everything but ['iam:*', 'organizations:*'] on Resource '*' (NotAction)"),
    ("iam-no-admin-wildcard", "aws:iam/rolePolicy:RolePolicy",
     {"policy": _doc({"Effect": "Allow", "NotAction": "s3:DeleteBucket", "NotResource": "arn:aws:s3:::b"})}, DEV, None, "NotAction"),
    ("iam-no-admin-wildcard", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess", "role": "r"}, DEV, None, "AdministratorAccess"),
    ("iam-no-admin-wildcard", "aws:iam/rolePolicy:RolePolicy", {"policy": "{not json"}, DEV, None, "not a JSON policy document"),
    ("data-store-deletion-protection", rules.RDS_INSTANCE, {"deletionProtection": False}, PROD, True, "deletionProtection"),
    ("data-store-deletion-protection", rules.RDS_INSTANCE,
     {"deletionProtection": True, "skipFinalSnapshot": True}, PROD, True, "skipFinalSnapshot"),
    ("data-store-deletion-protection", rules.RDS_INSTANCE, {"deletionProtection": True}, PROD, False, "protect resource option"),
    ("data-store-deletion-protection", rules.S3_BUCKET, {"forceDestroy": True}, PROD, True, "forceDestroy"),
    ("data-store-deletion-protection", rules.S3_BUCKET, {"forceDestroy": False}, PROD, False, "protect resource option"),
    ("data-store-deletion-protection", rules.ELASTICACHE_REPLICATION_GROUP, {"authToken": "x"}, PROD, False, "finalSnapshotIdentifier"),
    ("data-store-deletion-protection", rules.RDS_INSTANCE, {"deletionProtection": False},
     rules.StackContext.for_stack(None), None, "deletionProtection"),  # stack unknown: treated as production
]

# Near misses that must pass: exceptions granted by config, values unknown during preview, other stacks.
GOOD_RESOURCES = [
    ("rds-encrypted-and-private", rules.RDS_INSTANCE, {"storageEncrypted": rules.UNKNOWN}, DEV, None),
    ("elasticache-encrypted-and-authenticated", rules.ELASTICACHE_REPLICATION_GROUP,
     {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": True, "userGroupIds": ["g"]}, DEV, None),
    ("mwaa-webserver-private", rules.MWAA_ENVIRONMENT, {}, DEV, None),
    ("mwaa-webserver-private", rules.MWAA_ENVIRONMENT, {"webserverAccessMode": "PUBLIC_ONLY"},
     rules.StackContext.for_stack("sandbox", {"allowPublicWebserverStacks": ["sandbox"]}), None),
    ("eks-secrets-encrypted", rules.EKS_CLUSTER,
     {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": rules.UNKNOWN}}}, DEV, None),
    ("eks-endpoint-not-open", rules.EKS_COMPONENT, {"publicAccessCidrs": ["203.0.113.0/24"]}, DEV, None),
    ("eks-endpoint-not-open", rules.EKS_COMPONENT, {"publicAccessCidrs": ["203.0.113.0/24", "198.51.100.0/24", "16.0.0.0/9"]}, DEV, None),
    ("eks-endpoint-not-open", rules.EKS_COMPONENT, {"publicAccessCidrs": ["203.0.113.0/24", rules.UNKNOWN]}, DEV, None),
    ("eks-endpoint-not-open", rules.EKS_CLUSTER, {"vpcConfig": {"endpointPublicAccess": False}}, DEV, None),
    ("eks-endpoint-not-open", rules.EKS_COMPONENT, {"publicAccessCidrs": ["0.0.0.0/0"]},
     rules.StackContext.for_stack("dev", {"allowOpenEksEndpointStacks": ["dev"]}), None),
    ("iam-no-admin-wildcard", "aws:iam/rolePolicy:RolePolicy",
     {"policy": _doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
                     {"Effect": "Deny", "Action": "*", "Resource": "*"},
                     {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"})}, DEV, None),
    ("iam-no-admin-wildcard", "aws:iam/rolePolicy:RolePolicy", {"policy": rules.UNKNOWN}, DEV, None),
    ("iam-no-admin-wildcard", "aws:iam/rolePolicy:RolePolicy",
     {"policy": _doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b/*"},
                     {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::b/*"},
                     {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"})}, DEV, None),
    ("iam-no-admin-wildcard", rules.IAM_ROLE,
     {"managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess", rules.UNKNOWN],
      "inlinePolicies": [{"name": "ops", "policy": _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})}]}, DEV, None),
    ("data-store-deletion-protection", rules.RDS_INSTANCE, {"deletionProtection": False, "skipFinalSnapshot": True}, DEV, False),
    ("data-store-deletion-protection", rules.RDS_INSTANCE, {"deletionProtection": True}, rules.StackContext.for_stack("prod-eu"), True),
    ("data-store-deletion-protection", rules.ELASTICACHE_REPLICATION_GROUP,
     {"finalSnapshotIdentifier": "airflow-prod-broker-final"}, PROD, False),
]


@pytest.mark.parametrize("rule_name,resource_type,props,ctx,protect,expected", BAD_RESOURCES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(BAD_RESOURCES)])
def test_resource_rule_fires(rule_name, resource_type, props, ctx, protect, expected):
    found = rules.check_resource(RULES[rule_name], resource_type, props, ctx, protect)
    assert any(expected in message for message in found), found


def test_role_reports_administrator_access_and_inline_admin_statements_together():
    found = rules.check_resource(RULES["iam-no-admin-wildcard"], rules.IAM_ROLE, ADMIN_ROLE, DEV)
    assert found == ["role attaches arn:aws:iam::aws:policy/AdministratorAccess",
                     "inlinePolicies[0] (ops): statement 0 allows Action '*' on Resource '*'"]


@pytest.mark.parametrize("rule", rules.RESOURCE_RULES, ids=[rule.name for rule in rules.RESOURCE_RULES])
def test_every_resource_rule_takes_the_same_arguments(rule):
    """The dispatcher passes (resource_type, props, ctx, protect) to every rule alike: none is special-cased."""
    import inspect

    parameters = list(inspect.signature(rule.check).parameters.values())
    assert [p.name for p in parameters] == ["resource_type", "props", "ctx", "protect"]
    assert parameters[-1].default is None
    assert rule.check("no:such/type:Type", {}, DEV, True) == []


@pytest.mark.parametrize("rule_name,resource_type,props,ctx,protect", GOOD_RESOURCES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(GOOD_RESOURCES)])
def test_resource_rule_accepts_compliant_or_excepted_resources(rule_name, resource_type, props, ctx, protect):
    assert rules.check_resource(RULES[rule_name], resource_type, props, ctx, protect) == []


def _bucket_stack(*, versioning: Any = "Enabled", block: bool = True, algorithm: str = "aws:kms",
                  owner: str = "b-id", link_by_dependency: bool = False) -> list[rules.StackResource]:
    """A bucket and its three controls; `owner` is the value of the controls' `bucket` input."""
    bucket_urn = "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b"
    deps = {"bucket": [bucket_urn]} if link_by_dependency else {}

    def control(type_: str, name: str, props: dict) -> rules.StackResource:
        return rules.StackResource(urn=f"urn:pulumi:dev::p::{type_}::{name}", type=type_, name=name,
                                   props={"bucket": owner, **props}, property_dependencies=deps)

    return [
        rules.StackResource(urn=bucket_urn, type=rules.S3_BUCKET, name="b",
                            props={"id": rules.UNKNOWN if link_by_dependency else "b-id", "bucket": "b-name"}),
        control(rules.S3_VERSIONING, "v", {"versioningConfiguration": {"status": versioning}}),
        control(rules.S3_PUBLIC_ACCESS_BLOCK, "pab", {"blockPublicAcls": True, "blockPublicPolicy": block,
                                                       "ignorePublicAcls": True, "restrictPublicBuckets": True}),
        control(rules.S3_ENCRYPTION, "sse", {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]}),
    ]


BAD_STACKS = [
    ("s3-bucket-controls", [r for r in _bucket_stack() if r.type != rules.S3_VERSIONING], "BucketVersioning"),
    ("s3-bucket-controls", _bucket_stack(versioning="Suspended"), "BucketVersioning"),
    ("s3-bucket-controls", _bucket_stack(block=False), "BucketPublicAccessBlock"),
    ("s3-bucket-controls", _bucket_stack(algorithm="AES256"), "aws:kms"),
    ("s3-bucket-controls", _bucket_stack(owner="some-other-bucket"), "BucketVersioning"),
]


@pytest.mark.parametrize("rule_name,resources,expected", BAD_STACKS,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(BAD_STACKS)])
def test_stack_rule_fires(rule_name, resources, expected):
    found = RULES[rule_name].check(resources, DEV)
    assert any(expected in message and urn.endswith("::b") for urn, message in found), found


@pytest.mark.parametrize("resources", [
    _bucket_stack(),
    _bucket_stack(owner="b-name"),  # the controls may name the bucket instead of its id
    _bucket_stack(owner=rules.UNKNOWN, link_by_dependency=True),  # preview of a new bucket: only the graph is known
], ids=["by-id", "by-name", "by-dependency"])
def test_stack_rule_matches_controls_to_their_bucket(resources):
    assert RULES["s3-bucket-controls"].check(resources, DEV) == []


def test_every_rule_has_a_failing_case():
    tested = {case[0] for case in BAD_RESOURCES} | {case[0] for case in BAD_STACKS}
    assert sorted(set(RULES) - tested) == []


@pytest.mark.parametrize("stack,production", [("prod", True), ("prod-eu", True), ("dev", False), ("production-like", False),
                                               ("preprod", False), (None, True)])
def test_which_stacks_are_production(stack, production):
    assert rules.StackContext.for_stack(stack).production is production


def test_policy_requirements_match_the_lock_file():
    lock = dict(line.split("==") for line in (ROOT / "requirements-lock.txt").read_text().split()
                if "==" in line and not line.startswith("#"))
    lock = {name.lower().replace("_", "-"): version for name, version in lock.items()}
    pins = [line for line in (POLICY_DIR / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert pins
    for pin in pins:
        name, version = pin.split("==")
        assert lock.get(name.lower().replace("_", "-")) == version, pin


# ------------------------------------------------------------------------------------------ the pack as Pulumi runs it

UNKNOWN_BOOL = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"  # how the engine sends values unknown during preview
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SIG = "4dabf18193072939515e22adb298388d"
_RESOURCE_REF = "5cf8f73096256a8f31e491e813e4eb8e"
_ASSET = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE = "0def7320c3a5731c473e5ecbe6d01bc7"


def _engine_view(value: Any) -> Any:
    """Properties as the engine marshals them for analyzers: resource references become their id (or URN);
    assets and archives travel as signature-tagged objects. (Mock outputs echo the SDK's Python objects.)"""
    if isinstance(value, (pulumi.FileAsset, pulumi.FileArchive)):
        return {_SIG: _ASSET if isinstance(value, pulumi.Asset) else _ARCHIVE, "path": value.path}
    if isinstance(value, pulumi.StringAsset):
        return {_SIG: _ASSET, "text": value.text}
    if isinstance(value, pulumi.Resource):  # a resource echoed by the mock; the engine sends its id (no rule reads it)
        return f"{type(value).__name__}-id"
    if isinstance(value, dict):
        if value.get(_SIG) == _RESOURCE_REF:
            return value.get("id") or value["urn"]
        return {k: _engine_view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_view(v) for v in value]
    return value


def _struct(props: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_engine_view(props))
    return struct


def _options(protect: bool) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(protect=protect)


def analyze(stub, type_: str, props: dict, protect: bool = False, name: str = "r") -> list:
    response = stub.Analyze(analyzer_pb2.AnalyzeRequest(
        type=type_, name=name, urn=f"urn:pulumi:s::airflow-on-aws::{type_}::{name}", properties=_struct(props),
        options=_options(protect)), timeout=30)
    return list(response.diagnostics)


def analyze_stack(stub, resources: list[rules.StackResource]) -> list:
    request = analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, name=r.name, urn=r.urn, properties=_struct(dict(r.props)), options=_options(r.protect),
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                  for k, v in r.property_dependencies.items()})
        for r in resources])
    return list(stub.AnalyzeStack(request, timeout=60).diagnostics)


@contextmanager
def running_pack(stack: str) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """Boot policy/ the way `pulumi-analyzer-policy-python` does: `python -m pulumi.policy <engine> .` in the pack."""
    env = {**os.environ, "PULUMI_STACK": stack, "PULUMI_PROJECT": "airflow-on-aws", "PULUMI_DRY_RUN": "true"}
    process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."], cwd=POLICY_DIR,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = process.stdout.readline().decode().strip()
        if not port.isdigit():
            process.kill()
            raise AssertionError(f"policy pack did not start: {port!r}\n{process.stderr.read().decode()}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def dev_pack():
    with running_pack("dev") as stub:
        yield stub


@pytest.fixture(scope="module")
def prod_pack():
    with running_pack("prod") as stub:
        yield stub


def _messages(diagnostics) -> list[str]:
    return [f"{d.policyName}: {d.message} ({d.urn})" for d in diagnostics]


def test_pack_declares_every_rule_as_mandatory(dev_pack):
    from google.protobuf import empty_pb2

    info = dev_pack.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "airflow-on-aws"
    assert {p.name: p.enforcementLevel for p in info.policies} == {name: analyzer_pb2.MANDATORY for name in RULES}
    schema = {p.name: json_format.MessageToDict(p.configSchema.properties) for p in info.policies}
    assert schema["mwaa-webserver-private"]["allowPublicWebserverStacks"]["type"] == "array"
    assert schema["eks-endpoint-not-open"]["allowOpenEksEndpointStacks"]["type"] == "array"


@pytest.mark.parametrize("stack,target", STACKS, ids=STACK_IDS)
def test_pack_passes_the_program(stack, target, dev_pack, prod_pack):
    stub = dev_pack if stack == "dev" else prod_pack
    p = planned(stack, target=target)
    diagnostics = []
    for r in p.resources:
        diagnostics += analyze(stub, r.type, r.inputs, r.protect, r.name)
    diagnostics += analyze_stack(stub, stack_view(p.resources))
    assert _messages(diagnostics) == []


def test_pack_reports_violations_as_mandatory(dev_pack, prod_pack):
    found = analyze(dev_pack, rules.RDS_INSTANCE, {"storageEncrypted": False, "publiclyAccessible": True})
    assert {d.policyName for d in found} == {"rds-encrypted-and-private"}
    assert {d.enforcementLevel for d in found} == {analyzer_pb2.MANDATORY}
    assert len(found) == 2
    # In prod the protect option is part of the check; in dev it isn't.
    assert analyze(dev_pack, rules.S3_BUCKET, {"forceDestroy": False}, protect=False) == []
    found = analyze(prod_pack, rules.S3_BUCKET, {"forceDestroy": False}, protect=False)
    assert ["protect resource option" in d.message for d in found] == [True]


def test_pack_reports_stack_violations_on_the_bucket(dev_pack):
    resources = [r for r in stack_view(planned("dev", target="mwaa").resources) if r.type != rules.S3_ENCRYPTION]
    found = analyze_stack(dev_pack, resources)
    bucket = planned("dev", target="mwaa").one(rules.S3_BUCKET)
    assert [(d.policyName, d.urn) for d in found] == [("s3-bucket-controls", bucket.urn)]


def test_pack_passes_values_unknown_during_preview(dev_pack):
    """Unknowns are neither violations nor 'can't run policy' warnings: the real value is checked at update."""
    found = analyze(dev_pack, rules.RDS_INSTANCE, {"storageEncrypted": UNKNOWN_BOOL, "publiclyAccessible": False})
    assert _messages(found) == []
    # A new bucket: its id is unknown, its controls are tied to it only through property dependencies.
    linked = _bucket_stack(owner=UNKNOWN_STRING, link_by_dependency=True)
    linked[0] = rules.StackResource(urn=linked[0].urn, type=rules.S3_BUCKET, name="b", props={"id": UNKNOWN_STRING})
    assert _messages(analyze_stack(dev_pack, linked)) == []
    unlinked = [rules.StackResource(urn=r.urn, type=r.type, name=r.name, props=r.props) for r in linked]
    assert len(analyze_stack(dev_pack, unlinked)) == 3


def test_pack_config_grants_a_public_webserver_to_listed_stacks_only(dev_pack):
    def configure(stacks: list[str]) -> None:
        properties = struct_pb2.Struct()
        properties.update({"allowPublicWebserverStacks": stacks})
        dev_pack.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
            "mwaa-webserver-private": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.MANDATORY,
                                                                properties=properties)}), timeout=30)

    public = {"webserverAccessMode": "PUBLIC_ONLY"}
    try:
        configure(["sandbox"])
        assert [d.policyName for d in analyze(dev_pack, rules.MWAA_ENVIRONMENT, public)] == ["mwaa-webserver-private"]
        configure(["dev"])
        assert analyze(dev_pack, rules.MWAA_ENVIRONMENT, public) == []
    finally:
        dev_pack.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={}), timeout=30)


@pytest.mark.parametrize(("cidrs", "is_open"), [
    (["0.0.0.0/0"], True), (["0.0.0.0/1", "128.0.0.0/1"], True), (["10.0.0.0/8"], True),
    (["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"], True),
    # Overlaps count once: two copies of a /9 are still half a /8.
    (["16.0.0.0/9", "16.0.0.0/9"], False), (["16.0.0.0/9", "16.128.0.0/9"], True),
    (["203.0.113.0/24"], False), ([], False), (["::/0"], True), (["2001:db8::/32"], False),
])
def test_openness_is_the_address_space_covered(cidrs, is_open):
    assert rules.is_open(cidrs) is is_open


@pytest.mark.parametrize(("text", "problem"), [
    ("0.0.0.0/0", None), ("203.0.113.0/24", None), ("2001:db8::/32", None),
    ("0.0.0.0/00", "not in canonical form, which is 0.0.0.0/0"), ("10.0.0.0/08", "not in canonical form, which is 10.0.0.0/8"),
    ("2001:DB8::/32", "not in canonical form, which is 2001:db8::/32"), ("203.0.113.7", "no prefix length"),
    ("203.0.113.7/24", "203.0.113.7/24 has host bits set"), (" 10.0.0.0/8", "Only decimal digits permitted in ' 10' in ' 10.0.0.0'"),
])
def test_only_canonical_cidrs_are_accepted(text, problem):
    assert rules.cidr_problem(text) == problem
