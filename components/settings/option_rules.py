"""Rules for `mwaa.airflowConfigurationOptions`, the Airflow options a stack sets on either target."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from ..airflow_config import PROGRAM_OPTIONS

_OPTION_NAME = r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*"


def option_problems(options: Mapping[str, Any]) -> list[str]:
    problems = []
    for option in options:
        if not re.fullmatch(_OPTION_NAME, option, flags=re.ASCII):
            problems.append(f"mwaa.airflowConfigurationOptions: {json.dumps(option)} is not a valid option name; allowed: "
                            f"section.key, both letters, digits or '_' and not starting with a digit, e.g. core.default_task_retries")
        elif option.lower() in PROGRAM_OPTIONS:
            problems.append(f"mwaa.airflowConfigurationOptions: {json.dumps(option)} is set by the program; allowed: "
                            f"options other than {', '.join(PROGRAM_OPTIONS)}")
    return problems
