"""The cross-field rules a schema can't express, run on every section the schema found sound."""

from __future__ import annotations

import json
from typing import Any, Mapping

from .alarm_rules import alarm_problems
from .allowed import DEFAULT_AIRFLOW_VERSION
from .eks_rules import eks_problems, identifier_problems
from .mwaa_rules import mwaa_problems
from .network_rules import network_problems
from .tag_rules import tag_problems


def rule_problems(raw: Mapping[str, Any], broken: set[str]) -> list[str]:
    problems: list[str] = []
    problems += network_problems(raw.get("network", {}))
    problems += mwaa_problems(raw.get("mwaa", {}))
    problems += eks_problems(raw.get("eks", {}))
    problems += tag_problems(raw.get("tags", {}))
    if raw.get("target") == "eks" and "environmentName" not in broken and "environmentName" in raw:
        problems += identifier_problems(raw["environmentName"])
    problems += alarm_problems(raw.get("alarms", {}))
    if raw.get("keepMwaa") and "target" not in broken and raw.get("target") != "eks":
        problems.append(f"keepMwaa: true is only meaningful with target eks (target is {json.dumps(raw.get('target', 'mwaa'))}); allowed: false, or set target to eks")
    if "airflowVersion" not in broken:
        problems += _requirements_problems(raw.get("airflowVersion", DEFAULT_AIRFLOW_VERSION))
    if "upgrade" in raw and "airflowVersion" not in broken:
        problems += _upgrade_problems(raw.get("airflowVersion", DEFAULT_AIRFLOW_VERSION), raw["upgrade"]["airflowVersion"])
    workload = raw.get("workload", {})
    avg, peak = workload.get("averageConcurrentTasks"), workload.get("peakConcurrentTasks")
    if avg is not None and peak is not None and avg > peak:
        problems.append(f"workload.averageConcurrentTasks: {avg} is greater than workload.peakConcurrentTasks ({peak}); allowed: <= {peak}")
    return problems


def _upgrade_problems(live: str, new: str) -> list[str]:
    """The upgrade side runs a newer version than the live one (going back is removing `upgrade`)."""
    from ..upgrade_paths import parse

    if parse(new) <= parse(live):
        return [f"upgrade.airflowVersion: {json.dumps(new)} is not newer than airflowVersion ({live}); allowed: a newer "
                f"version (to go back, remove `upgrade`: the live side was never touched)"]
    return _requirements_problems(new, key="upgrade.airflowVersion")


def _requirements_problems(version: str, key: str = "airflowVersion") -> list[str]:
    from .. import airflow_config  # the requirements file is part of the deployment's input, like config

    return [f"{key}: {json.dumps(version)} does not pin {name!r} listed in airflow/requirements.txt; "
            f"allowed: packages pinned by airflow/constraints/constraints-{version}.txt, or another {key}"
            for name in airflow_config.unpinned_requirements(version)]
