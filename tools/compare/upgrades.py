"""The PR check's version rules: each side's Airflow version at the base ref against the working tree.

A side (blue or green slot, see docs/upgrades.md) present at both ends whose version changed is changed in place by
`pulumi up`; components/upgrade_paths.py says whether its target can do that, and if not, which path to take. A side
that appears is new (any version); one that goes is removed; a change of target is a move (docs/migration.md).
"""

from __future__ import annotations

from components.settings import Settings, decode_config_values, parse_settings
from components.upgrade_paths import in_place_problem
from tools.planner import PROJECT, stack_config


def settings_of(stack: str, text: str) -> Settings:
    """The stack file's settings as the program reads them (the file was already checked)."""
    prefix = f"{PROJECT}:"
    flat = stack_config(stack, text=text)
    return parse_settings(decode_config_values({k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)}),
                          stack)


def _key(side_live: bool) -> str:
    return "airflowVersion" if side_live else "upgrade.airflowVersion"


def version_problems(stack: str, base_text: str, head_text: str, base_ref: str) -> list[str]:
    """One line per side whose version changes in a way its target can't make in place."""
    base, head = settings_of(stack, base_text), settings_of(stack, head_text)
    if base.target != head.target:
        return []
    before = {side.slot: side for side in base.sides}
    problems = []
    for side in head.sides:
        old = before.get(side.slot)
        if old is None:
            continue
        reason = in_place_problem(head.target, old.airflow_version, side.airflow_version)
        if reason:
            problems.append(f"Pulumi.{stack}.yaml {_key(side.live)}: {old.airflow_version} ({base_ref}) -> "
                            f"{side.airflow_version} would change the {side.slot} side of target {head.target} in "
                            f"place: {reason}")
    return problems
