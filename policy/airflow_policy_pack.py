"""The rules of `airflow_policy`, wrapped as pulumi_policy policies (all mandatory).

Kept apart from `__main__.py` (which serves the pack and never returns) so tests can build the same policies.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

import airflow_policy as rules

PACK_NAME = "airflow-on-aws"


def current_stack() -> str | None:
    """The stack being previewed or updated: the Pulumi CLI hands it to policy packs as PULUMI_STACK."""
    stack = os.environ.get("PULUMI_STACK", "").strip()
    return stack.rsplit("/", 1)[-1] if stack else None


def plain(value: Any) -> Any:
    """pulumi_policy's props (proxies that raise on unknown values) as plain data, unknowns as rules.UNKNOWN."""
    if isinstance(value, Mapping):
        result = {}
        for key in value:
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = rules.UNKNOWN
        return result
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(rules.UNKNOWN)
        return items
    return value


def _config_schema(rule: rules.Rule) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties=dict(rule.config_schema)) if rule.config_schema else None


def resource_policy(rule: rules.Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        ctx = rules.StackContext.for_stack(current_stack(), args.get_config())
        protect = bool(args.opts.protect) if args.opts is not None else None
        for message in rules.check_resource(rule, args.resource_type, plain(args.props), ctx, protect):
            report_violation(message, None)

    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate,
                                    enforcement_level=EnforcementLevel.MANDATORY, config_schema=_config_schema(rule))


def stack_policy(rule: rules.Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        ctx = rules.StackContext.for_stack(current_stack(), args.get_config())
        resources = [
            rules.StackResource(
                urn=r.urn, type=r.resource_type, name=r.name, props=plain(r.props),
                property_dependencies={key: [dep.urn for dep in deps] for key, deps in r.property_dependencies.items()},
                protect=bool(r.opts.protect) if r.opts is not None else False)
            for r in args.resources
        ]
        for urn, message in rule.check(resources, ctx):
            report_violation(message, urn)

    return StackValidationPolicy(name=rule.name, description=rule.description, validate=validate,
                                 enforcement_level=EnforcementLevel.MANDATORY, config_schema=_config_schema(rule))


def build_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [resource_policy(rule) for rule in rules.RESOURCE_RULES] + [stack_policy(rule) for rule in rules.STACK_RULES]
