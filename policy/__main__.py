"""Policy pack `airflow-on-aws`: `pulumi preview --policy-pack policy` (see docs/ci.md).

The rules live in airflow_policy.py as plain functions; airflow_policy_pack.py wraps them, all mandatory.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from airflow_policy_pack import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
)
