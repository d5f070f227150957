"""The guardrails of the Airflow-on-AWS stacks, as plain functions.

Every resource rule has the same signature, `(resource_type, props, ctx, protect=None)`: plain data (the
resource's type token and its properties with the provider's camelCase names, exactly as Pulumi sends them to a
policy pack), a `StackContext`, and the resource's `protect` option (None when the caller doesn't know it; rules
that don't need it ignore it). It returns the violations it found as messages. Nothing here imports Pulumi:
`__main__.py` wraps the rules with `pulumi_policy`, and the tests call them directly on every resource the program
declares under mocks.

A property whose value Pulumi can't know yet during a preview (it depends on another resource's output) reaches
the rules as `UNKNOWN`. A rule never reports an unknown value as a violation: Pulumi runs the rules again with the
real value before it creates or updates the resource.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence


class _Unknown:
    """A value Pulumi can't know during preview (one instance: compare with `is UNKNOWN`)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()

# Stacks whose data stores must survive a `pulumi destroy` or a replacement: "prod" and "prod-<suffix>".
# A pack that can't tell which stack it runs for treats it as production (the stricter answer).
PRODUCTION_STACK = re.compile(r"^prod(-[A-Za-z0-9_.-]+)?$")

# ------------------------------------------------------------------------------ address space of CIDR lists
# Shared with components/settings (the stack config check), so the program and the pack agree on "open".

# A list of CIDRs is open when together they cover at least a /8's worth of their address family: wider than any
# one organisation's range, and how 0.0.0.0/0 split in pieces (0.0.0.0/1 + 128.0.0.0/1) or a half of the
# internet (0.0.0.0/1) would otherwise pass.
OPEN_PREFIX = 8


def cidr_problem(text: Any) -> str | None:
    """Why `text` is not a CIDR in canonical form (what ipaddress prints back), or None when it is one."""
    if not isinstance(text, str):
        return "not a string"
    if "/" not in text:
        return "no prefix length"
    try:
        network = (ipaddress.IPv6Network if ":" in text else ipaddress.IPv4Network)(text, strict=True)
    except ValueError as error:
        return str(error)
    if str(network) != text:
        return f"not in canonical form, which is {network}"
    return None


def open_share(cidrs: Iterable[str]) -> dict[int, float]:
    """Per IP version, the share of all addresses that the (canonical) CIDRs cover together, overlaps counted once."""
    networks = [ipaddress.ip_network(c) for c in cidrs if cidr_problem(c) is None]
    shares = {}
    for version, bits in ((4, 32), (6, 128)):
        same = [n for n in networks if n.version == version]
        if same:
            covered = sum(n.num_addresses for n in ipaddress.collapse_addresses(same))
            shares[version] = covered / 2 ** bits
    return shares


def is_open(cidrs: Iterable[str]) -> bool:
    return any(share >= 2 ** -OPEN_PREFIX for share in open_share(cidrs).values())


def describe_share(cidrs: Iterable[str]) -> str:
    """'100% of IPv4 addresses', for messages."""
    return ", ".join(f"{share * 100:.3g}% of IPv{version} addresses" for version, share in open_share(cidrs).items())


S3_BUCKET = "aws:s3/bucket:Bucket"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
RDS_INSTANCE = "aws:rds/instance:Instance"
ELASTICACHE_REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
MWAA_ENVIRONMENT = "aws:mwaa/environment:Environment"
EKS_COMPONENT = "eks:index:Cluster"  # pulumi-eks; its child below is created by the eks provider
EKS_CLUSTER = "aws:eks/cluster:Cluster"
IAM_ROLE = "aws:iam/role:Role"
# Identity policies whose `policy` input is the document.
IAM_POLICY_DOCUMENT_TYPES = frozenset({
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
})
IAM_ATTACHMENT_TYPES = frozenset({
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
})
ADMINISTRATOR_ACCESS = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")
KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})


@dataclass(frozen=True)
class StackContext:
    """What the rules need to know about the stack being checked."""

    stack: str | None
    production: bool
    # Exceptions granted per stack through the policy pack's config (see docs/ci.md).
    allow_public_webserver: bool = False
    allow_open_eks_endpoint: bool = False

    @classmethod
    def for_stack(cls, stack: str | None, config: Mapping[str, Any] | None = None) -> "StackContext":
        """The context of `stack`, with the exceptions listed in a policy's config (stack names per key)."""
        config = config or {}
        return cls(
            stack=stack,
            production=stack is None or bool(PRODUCTION_STACK.match(stack)),
            allow_public_webserver=stack is not None and stack in config.get("allowPublicWebserverStacks", ()),
            allow_open_eks_endpoint=stack is not None and stack in config.get("allowOpenEksEndpointStacks", ()),
        )


@dataclass(frozen=True)
class StackResource:
    """One resource of the stack as a stack-level rule sees it (its outputs, as Pulumi hands them over)."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    # Input property name -> URNs of the resources its value came from (known even when the value isn't).
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    protect: bool = False


# ------------------------------------------------------------------------------------------------ helpers


def _known(value: Any) -> bool:
    return value is not UNKNOWN


def _set(value: Any) -> bool:
    """A value is there (or will be: unknown values come from other resources' outputs)."""
    return value is UNKNOWN or value not in (None, "", [], {})


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


# ------------------------------------------------------------------------------------------------ S3


def s3_bucket_controls(resources: Sequence[StackResource], ctx: StackContext) -> list[tuple[str, str]]:
    """Each bucket has its versioning, public access block and SSE-KMS resources (separate resources in aws v7).

    A control belongs to a bucket when its `bucket` input came from that bucket (property dependency), or when
    its value is the bucket's id or name. Returns (bucket URN, message) pairs.
    """
    violations = []
    for bucket in (r for r in resources if r.type == S3_BUCKET):
        controls = [r for r in resources if r.type in (S3_VERSIONING, S3_PUBLIC_ACCESS_BLOCK, S3_ENCRYPTION)
                    and _controls_bucket(r, bucket)]
        if not any(_versioning_enabled(r.props) for r in controls if r.type == S3_VERSIONING):
            violations.append((bucket.urn, f"S3 bucket '{bucket.name}' has no {S3_VERSIONING} with status Enabled"))
        if not any(_public_access_blocked(r.props) for r in controls if r.type == S3_PUBLIC_ACCESS_BLOCK):
            violations.append((bucket.urn, f"S3 bucket '{bucket.name}' has no {S3_PUBLIC_ACCESS_BLOCK} with "
                                           "blockPublicAcls, blockPublicPolicy, ignorePublicAcls and "
                                           "restrictPublicBuckets all true"))
        if not any(_kms_encrypted(r.props) for r in controls if r.type == S3_ENCRYPTION):
            violations.append((bucket.urn, f"S3 bucket '{bucket.name}' has no {S3_ENCRYPTION} whose rules all "
                                           "use sseAlgorithm aws:kms"))
    return violations


def _controls_bucket(control: StackResource, bucket: StackResource) -> bool:
    if bucket.urn in control.property_dependencies.get("bucket", ()):
        return True
    target = control.props.get("bucket")
    names = {bucket.props.get("id"), bucket.props.get("bucket")}
    return isinstance(target, str) and target in {n for n in names if isinstance(n, str) and n}


def _versioning_enabled(props: Mapping[str, Any]) -> bool:
    configuration = props.get("versioningConfiguration")
    if configuration is UNKNOWN:
        return True
    status = (configuration or {}).get("status")
    return status is UNKNOWN or status == "Enabled"


def _public_access_blocked(props: Mapping[str, Any]) -> bool:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return all(props.get(flag) is True or props.get(flag) is UNKNOWN for flag in flags)


def _kms_encrypted(props: Mapping[str, Any]) -> bool:
    rules = props.get("rules")
    if rules is UNKNOWN:
        return True
    rules = _as_list(rules)

    def kms(rule: Any) -> bool:
        if rule is UNKNOWN:
            return True
        default = (rule or {}).get("applyServerSideEncryptionByDefault")
        if default is UNKNOWN:
            return True
        algorithm = (default or {}).get("sseAlgorithm")
        return algorithm is UNKNOWN or algorithm in KMS_ALGORITHMS

    return bool(rules) and all(kms(rule) for rule in rules)


# ------------------------------------------------------------------------------------------------ data stores


def rds_encrypted_and_private(resource_type: str, props: Mapping[str, Any], ctx: StackContext,
                              protect: bool | None = None) -> list[str]:
    if resource_type != RDS_INSTANCE:
        return []
    violations = []
    if props.get("storageEncrypted") is not True and _known(props.get("storageEncrypted")):
        violations.append("RDS instance must set storageEncrypted: true")
    if props.get("publiclyAccessible") is True:
        violations.append("RDS instance must not be publiclyAccessible")
    return violations


def elasticache_encrypted_and_authenticated(resource_type: str, props: Mapping[str, Any], ctx: StackContext,
                                            protect: bool | None = None) -> list[str]:
    if resource_type != ELASTICACHE_REPLICATION_GROUP:
        return []
    violations = []
    for flag in ("atRestEncryptionEnabled", "transitEncryptionEnabled"):
        if props.get(flag) is not True and _known(props.get(flag)):
            violations.append(f"ElastiCache replication group must set {flag}: true")
    if not _set(props.get("authToken")) and not _set(props.get("userGroupIds")):
        violations.append("ElastiCache replication group must require authentication: set authToken or userGroupIds")
    return violations


def data_store_deletion_protection(resource_type: str, props: Mapping[str, Any], ctx: StackContext,
                                   protect: bool | None = None) -> list[str]:
    """In a production stack, no data store can be deleted by accident.

    `protect` is the resource's `protect` option (policy packs see it; retainOnDelete they don't); None when the
    caller doesn't know it, and then only the properties are checked.
    """
    if not ctx.production:
        return []
    violations = []
    unprotected = protect is False
    if resource_type == RDS_INSTANCE:
        if props.get("deletionProtection") is not True and _known(props.get("deletionProtection")):
            violations.append("RDS instance in a production stack must set deletionProtection: true")
        if props.get("skipFinalSnapshot") is True:
            violations.append("RDS instance in a production stack must keep a final snapshot (skipFinalSnapshot: false)")
        if unprotected:
            violations.append("RDS instance in a production stack must have the protect resource option")
    elif resource_type == S3_BUCKET:
        if props.get("forceDestroy") is True:
            violations.append("S3 bucket in a production stack must not set forceDestroy: true")
        if unprotected:
            violations.append("S3 bucket in a production stack must have the protect resource option")
    elif resource_type == ELASTICACHE_REPLICATION_GROUP:
        # ElastiCache has no deletion-protection flag: a protected resource or a final snapshot on delete.
        if unprotected and not _set(props.get("finalSnapshotIdentifier")):
            violations.append("ElastiCache replication group in a production stack must have the protect resource "
                              "option or a finalSnapshotIdentifier")
    return violations


# ------------------------------------------------------------------------------------------------ MWAA and EKS


def mwaa_webserver_private(resource_type: str, props: Mapping[str, Any], ctx: StackContext,
                           protect: bool | None = None) -> list[str]:
    if resource_type != MWAA_ENVIRONMENT or ctx.allow_public_webserver:
        return []
    mode = props.get("webserverAccessMode")  # AWS defaults to PRIVATE_ONLY
    if mode in (None, "PRIVATE_ONLY") or mode is UNKNOWN:
        return []
    return [f"MWAA webserverAccessMode is {mode}; only PRIVATE_ONLY is allowed unless the policy config lists "
            f"stack '{ctx.stack}' in allowPublicWebserverStacks"]


def eks_secrets_encrypted(resource_type: str, props: Mapping[str, Any], ctx: StackContext,
                          protect: bool | None = None) -> list[str]:
    if resource_type == EKS_COMPONENT:
        if not _set(props.get("encryptionConfigKeyArn")):
            return ["EKS cluster must encrypt Kubernetes secrets: set encryptionConfigKeyArn"]
    elif resource_type == EKS_CLUSTER:
        config = props.get("encryptionConfig")
        if config is UNKNOWN:
            return []
        if isinstance(config, list):  # a one-element block in some provider versions
            config = config[0] if config else None
        config = config or {}
        resources, provider = config.get("resources"), config.get("provider")
        key_arn = provider.get("keyArn") if isinstance(provider, Mapping) else provider
        if not (resources is UNKNOWN or "secrets" in _as_list(resources)) or not _set(key_arn):
            return ["EKS cluster must encrypt Kubernetes secrets: encryptionConfig with resources [secrets] and a KMS keyArn"]
    return []


def eks_endpoint_not_open(resource_type: str, props: Mapping[str, Any], ctx: StackContext,
                          protect: bool | None = None) -> list[str]:
    if ctx.allow_open_eks_endpoint:
        return []
    if resource_type == EKS_COMPONENT:
        settings = props
    elif resource_type == EKS_CLUSTER:
        settings = props.get("vpcConfig")
        if settings is UNKNOWN:
            return []
        settings = settings or {}
    else:
        return []
    public = settings.get("endpointPublicAccess", True)  # both pulumi-eks and EKS default to a public endpoint
    if public is False or public is UNKNOWN:
        return []
    cidrs = settings.get("publicAccessCidrs")
    if cidrs is UNKNOWN:
        return []
    cidrs = _as_list(cidrs)
    if not cidrs:
        return ["EKS public API endpoint is open to 0.0.0.0/0 (the default): set endpointPublicAccess false or "
                "list publicAccessCidrs"]
    if any(c is UNKNOWN for c in cidrs):
        return []
    bad = [f"{c!r} ({cidr_problem(c)})" for c in cidrs if cidr_problem(c)]
    if bad:
        return [f"EKS publicAccessCidrs must be CIDRs in canonical form: {', '.join(bad)}"]
    if is_open(cidrs):
        return [f"EKS public API endpoint is open to {', '.join(cidrs)} ({describe_share(cidrs)}): list specific "
                f"publicAccessCidrs, narrower than a /{OPEN_PREFIX} together, or set endpointPublicAccess false"]
    return []


# ------------------------------------------------------------------------------------------------ IAM


def iam_no_admin_wildcard(resource_type: str, props: Mapping[str, Any], ctx: StackContext,
                          protect: bool | None = None) -> list[str]:
    """No identity policy allows every action on every resource, nor attaches AdministratorAccess."""
    documents: list[tuple[str, Any]] = []
    if resource_type in IAM_POLICY_DOCUMENT_TYPES:
        documents.append(("policy", props.get("policy")))
    elif resource_type == IAM_ROLE:
        inline = props.get("inlinePolicies")
        for index, entry in enumerate(_as_list(inline) if _known(inline) else []):
            if isinstance(entry, Mapping):
                documents.append((f"inlinePolicies[{index}] ({entry.get('name', '')})", entry.get("policy")))
    elif resource_type in IAM_ATTACHMENT_TYPES:
        arn = props.get("policyArn")
        return [f"attaches {arn}"] if isinstance(arn, str) and ADMINISTRATOR_ACCESS.match(arn) else []
    violations = []
    if resource_type == IAM_ROLE:
        # Reported alongside (not instead of) what the role's inline policies allow.
        managed = props.get("managedPolicyArns")
        for arn in _as_list(managed) if _known(managed) else []:
            if isinstance(arn, str) and ADMINISTRATOR_ACCESS.match(arn):
                violations.append(f"role attaches {arn}")
    for where, document in documents:
        violations += [f"{where}: {problem}" for problem in admin_statements(document)]
    return violations


def admin_statements(document: Any) -> list[str]:
    """Allow statements of an IAM policy document that amount to administrator access:

    - Action '*' on Resource '*', or on every resource but some (NotResource, whatever it lists);
    - every action but some (NotAction, whatever it lists) on Resource '*' or with NotResource.
    """
    if document is UNKNOWN or document is None:
        return []
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            return [f"is not a JSON policy document ({exc})"]
    if not isinstance(document, Mapping):
        return ["is not a JSON policy document (not an object)"]
    problems = []
    for index, statement in enumerate(_as_list(document.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        label = f"statement {statement.get('Sid') or index}"
        if "*" in _as_list(statement.get("Resource")):
            resources = "Resource '*'"
        elif "NotResource" in statement:
            resources = f"every resource but {_as_list(statement['NotResource'])} (NotResource)"
        else:
            continue
        actions = _as_list(statement.get("Action"))
        if any(action in ("*", "*:*") for action in actions):
            problems.append(f"{label} allows Action '*' on {resources}")
        elif "NotAction" in statement:
            problems.append(f"{label} allows everything but {_as_list(statement['NotAction'])} on {resources} (NotAction)")
    return problems


# ------------------------------------------------------------------------------------------------ registry


_STACK_LIST = {"type": "array", "items": {"type": "string"}, "default": []}


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[..., Any]
    resource_types: frozenset[str]
    config_schema: Mapping[str, Any] | None = None  # JSON-schema properties of the policy's config
    stack_level: bool = False


RESOURCE_RULES: tuple[Rule, ...] = (
    Rule("rds-encrypted-and-private", "RDS instances encrypt their storage and are not publicly accessible.",
         rds_encrypted_and_private, frozenset({RDS_INSTANCE})),
    Rule("elasticache-encrypted-and-authenticated",
         "ElastiCache replication groups encrypt at rest and in transit and require an auth token or user group.",
         elasticache_encrypted_and_authenticated, frozenset({ELASTICACHE_REPLICATION_GROUP})),
    Rule("mwaa-webserver-private", "MWAA web servers are PRIVATE_ONLY unless the stack is allowed an exception.",
         mwaa_webserver_private, frozenset({MWAA_ENVIRONMENT}),
         config_schema={"allowPublicWebserverStacks": _STACK_LIST}),
    Rule("eks-secrets-encrypted", "EKS clusters encrypt Kubernetes secrets with a KMS key.",
         eks_secrets_encrypted, frozenset({EKS_COMPONENT, EKS_CLUSTER})),
    Rule("eks-endpoint-not-open", "The EKS public API endpoint is off or limited to specific CIDRs, never 0.0.0.0/0.",
         eks_endpoint_not_open, frozenset({EKS_COMPONENT, EKS_CLUSTER}),
         config_schema={"allowOpenEksEndpointStacks": _STACK_LIST}),
    Rule("iam-no-admin-wildcard", "No IAM policy allows Action '*' on Resource '*' or attaches AdministratorAccess.",
         iam_no_admin_wildcard, IAM_POLICY_DOCUMENT_TYPES | IAM_ATTACHMENT_TYPES | {IAM_ROLE}),
    Rule("data-store-deletion-protection",
         "In production stacks the RDS instance, ElastiCache and the Airflow bucket can't be deleted by accident.",
         data_store_deletion_protection, frozenset({RDS_INSTANCE, S3_BUCKET, ELASTICACHE_REPLICATION_GROUP})),
)

STACK_RULES: tuple[Rule, ...] = (
    Rule("s3-bucket-controls", "S3 buckets are versioned, block public access and use SSE-KMS.",
         s3_bucket_controls, frozenset({S3_BUCKET}), stack_level=True),
)

ALL_RULES: tuple[Rule, ...] = RESOURCE_RULES + STACK_RULES


def check_resource(rule: Rule, resource_type: str, props: Mapping[str, Any], ctx: StackContext,
                   protect: bool | None = None) -> list[str]:
    """Run one resource rule: every one takes (resource_type, props, ctx, protect)."""
    if rule.stack_level:
        raise ValueError(f"{rule.name} is a stack-level rule: call rule.check(resources, ctx)")
    return rule.check(resource_type, props, ctx, protect)


def applicable(rule: Rule, types: Iterable[str]) -> bool:
    return bool(rule.resource_types & set(types))
