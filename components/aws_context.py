"""Account, region and partition of the deployment, looked up once and passed to every component.

Also the stack's AWS session settings (`aws:profile`, `aws:assumeRoles`, as pulumi-aws 7 reads them), for code
that talks to AWS itself instead of through the pulumi-aws provider (the DAG sync): it must write into the same
account and region as the rest of the stack, not wherever the ambient credentials point.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .eks_addon_registries import REGISTRY_HOSTS
from .settings import aws_names

# pulumi-aws 7 `aws:assumeRoles` item field -> STS AssumeRole parameter.
_ASSUME_ROLE_FIELDS = {
    "roleArn": "RoleArn", "sessionName": "RoleSessionName", "externalId": "ExternalId", "duration": "DurationSeconds",
    "policy": "Policy", "policyArns": "PolicyArns", "sourceIdentity": "SourceIdentity", "tags": "Tags",
    "transitiveTagKeys": "TransitiveTagKeys",
}
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", re.ASCII)
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.ASCII)
DEFAULT_SESSION_NAME = "pulumi-airflow-dag-sync"

# Config keys pulumi-aws reads that the DAG sync cannot honour the same way: refused, rather than ignored.
_SESSION_SOURCES = "aws:profile, aws:assumeRoles or the environment's credentials"
_STATIC_KEYS = f"allowed: {_SESSION_SOURCES} (static keys in stack config would be stored in the DAG sync's state)"
_UNSUPPORTED = {
    "assumeRole": "allowed: aws:assumeRoles, a list (pulumi-aws 7 no longer reads aws:assumeRole)",
    "assumeRoleWithWebIdentity": f"allowed: {_SESSION_SOURCES} (the DAG sync cannot follow a web identity role)",
    "accessKey": _STATIC_KEYS,
    "secretKey": _STATIC_KEYS,
    "token": _STATIC_KEYS,
}


class AwsConfigError(ValueError):
    """One line naming the `aws:` key, the bad value and what is allowed."""


def _duration_seconds(text: Any, where: str) -> int:
    match = _DURATION.fullmatch(text) if isinstance(text, str) and text else None
    seconds = None if match is None else sum(int(n or 0) * unit for n, unit in zip(match.groups(), (3600, 60, 1)))
    if not seconds or not 900 <= seconds <= 43200:
        raise AwsConfigError(f"{where}: {json.dumps(text)} is not allowed; allowed: a duration from 15m to 12h, "
                             "e.g. 1h or 30m")
    return seconds


def _assume_role(item: Any, where: str) -> dict[str, Any]:
    """An `aws:assumeRoles` item as the keyword arguments of STS AssumeRole."""
    if not isinstance(item, dict):
        raise AwsConfigError(f"{where}: {json.dumps(item)} is not allowed; allowed: an object with roleArn")
    unknown = sorted(set(item) - set(_ASSUME_ROLE_FIELDS))
    if unknown:
        raise AwsConfigError(f"{where}.{unknown[0]}: unknown field; allowed: {', '.join(_ASSUME_ROLE_FIELDS)}")
    role_arn = item.get("roleArn")
    if not isinstance(role_arn, str) or not _ROLE_ARN.fullmatch(role_arn):
        raise AwsConfigError(f"{where}.roleArn: {json.dumps(role_arn)} is not allowed; allowed: an IAM role ARN, "
                             "e.g. arn:aws:iam::123456789012:role/deployer")
    call: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": item.get("sessionName") or DEFAULT_SESSION_NAME}
    for name in ("externalId", "policy", "sourceIdentity"):
        if item.get(name) is not None:
            if not isinstance(item[name], str) or not item[name]:
                raise AwsConfigError(f"{where}.{name}: {json.dumps(item[name])} is not allowed; allowed: a non-empty string")
            call[_ASSUME_ROLE_FIELDS[name]] = item[name]
    if item.get("duration") is not None:
        call["DurationSeconds"] = _duration_seconds(item["duration"], f"{where}.duration")
    for name in ("policyArns", "transitiveTagKeys"):
        values = item.get(name)
        if values is not None:
            if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
                raise AwsConfigError(f"{where}.{name}: {json.dumps(values)} is not allowed; allowed: a list of strings")
            call[_ASSUME_ROLE_FIELDS[name]] = [{"arn": v} for v in values] if name == "policyArns" else values
    tags = item.get("tags")
    if tags is not None:
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise AwsConfigError(f"{where}.tags: {json.dumps(tags)} is not allowed; allowed: a map of strings")
        call["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return call


@dataclass(frozen=True)
class AwsSessionConfig:
    """How to open the stack's own AWS session outside the pulumi-aws provider. Nothing here is a secret."""

    profile: str | None = None
    region: str | None = None  # aws:region, checked against botocore's regions
    assume_roles: list[dict[str, Any]] = field(default_factory=list)  # STS AssumeRole kwargs, in chain order

    @staticmethod
    def parse(config: dict[str, Any]) -> "AwsSessionConfig":
        """From the `aws:` keys (without the prefix, values decoded); raises AwsConfigError."""
        for key, why in _UNSUPPORTED.items():
            if config.get(key) is not None:
                shown = "(set)" if key in ("accessKey", "secretKey", "token") else json.dumps(config[key])
                raise AwsConfigError(f"aws:{key}: {shown} is not allowed; {why}")
        region = config.get("region")
        if region is not None and region not in aws_names.regions():
            raise AwsConfigError(f"aws:region: {json.dumps(region)} is not allowed; allowed: an AWS region such as "
                                 "us-east-1 (the regions of botocore's partitions.json)")
        profile = config.get("profile")
        if profile is not None and (not isinstance(profile, str) or not profile.strip()):
            raise AwsConfigError(f"aws:profile: {json.dumps(profile)} is not allowed; allowed: a profile name")
        roles = config.get("assumeRoles")
        if roles is None:
            roles = []
        if not isinstance(roles, list):
            raise AwsConfigError(f"aws:assumeRoles: {json.dumps(roles)} is not allowed; allowed: a list of objects "
                                 "with roleArn (role chaining, in order)")
        return AwsSessionConfig(profile=profile, region=region,
                                assume_roles=[_assume_role(r, f"aws:assumeRoles[{i}]") for i, r in enumerate(roles)])

    @staticmethod
    def from_stack() -> "AwsSessionConfig":
        config = pulumi.Config("aws")
        raw: dict[str, Any] = {"profile": config.get("profile"), "region": config.get("region")}
        for key in ("assumeRoles", *_UNSUPPORTED):
            try:
                raw[key] = config.get_object(key)
            except pulumi.ConfigTypeError:  # plain text, not JSON (an access key)
                raw[key] = config.get(key)
        try:
            return AwsSessionConfig.parse(raw)
        except AwsConfigError as error:
            raise pulumi.RunError(f"invalid stack config (1 problem(s)):\n  {error}") from None


@dataclass
class AwsContext:
    account_id: pulumi.Output[str]
    region: pulumi.Output[str]
    partition: pulumi.Output[str]
    session: AwsSessionConfig = field(default_factory=AwsSessionConfig)

    @staticmethod
    def lookup(eks: bool = False) -> "AwsContext":
        """`eks`: the stack deploys the EKS target, whose nodes pull AWS's add-on images from the region's registry
        (components/eks_addon_registries.py); a region without a published one is refused here, before anything."""
        session = AwsSessionConfig.from_stack()  # read (and refused if bad) before anything is declared
        if eks and session.region is not None and session.region not in REGISTRY_HOSTS:
            raise pulumi.RunError(f"invalid stack config (1 problem(s)):\n  aws:region: {json.dumps(session.region)} is "
                                  "not allowed with target eks; allowed: a region with an EKS add-on image registry "
                                  f"({', '.join(sorted(REGISTRY_HOSTS))})")
        return AwsContext(
            account_id=aws.get_caller_identity_output().account_id,
            region=aws.get_region_output().region,
            partition=aws.get_partition_output().partition,
            session=session,
        )

    def arn(self, service: str, resource: str, region: bool = True) -> pulumi.Output[str]:
        """arn:<partition>:<service>:<region>:<account>:<resource>, e.g. arn('logs', 'log-group:airflow-x-*')."""
        return pulumi.Output.all(self.partition, self.region, self.account_id).apply(
            lambda p: f"arn:{p[0]}:{service}:{p[1] if region else ''}:{p[2]}:{resource}"
        )
