"""Rules for `mwaa.airflowConfigurationOptions`, the Airflow options a stack sets on either target.

Refused: options the program or the target sets (a stack's value would be ignored, or would get around the program's
secrets backend), options Airflow marks sensitive (a value there is a secret in plain text in the stack config, the
MWAA API and the chart's ConfigMap), and values that change meaning on the way: control characters, and `{{`, which
the chart renders through Helm's `tpl`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any, Mapping

from .. import airflow_config as af

KEY = "mwaa.airflowConfigurationOptions"
_OPTION_NAME = r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*"
_SENSITIVE_FILE = Path(__file__).with_name("airflow_sensitive_options.json")


@cache
def sensitive_options() -> tuple[str, ...]:
    """What Airflow marks sensitive (see the file's _about for where the list comes from)."""
    return tuple(json.loads(_SENSITIVE_FILE.read_text())["sensitive"])


@cache
def program_options() -> tuple[str, ...]:
    """Options the program or the target sets, lower-case, sorted: what the stack may not set."""
    return tuple(sorted({*af.PROGRAM_OPTIONS, *af.TARGET_OPTIONS, *af.OVERRIDING_OPTIONS}))


def _base(option: str) -> str:
    """The option an `<option>_cmd` / `<option>_secret` spelling reads."""
    for suffix in af.OPTION_SOURCE_SUFFIXES:
        if option.endswith(suffix):
            return option[: -len(suffix)]
    return option


def _shown(text: str) -> str:
    return json.dumps(text)  # JSON escapes control characters, so a message never carries them raw


def option_problems(options: Mapping[str, Any], allow_expose_config: bool = False) -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    for option, value in options.items():
        lower = option.lower()
        if not re.fullmatch(_OPTION_NAME, option, flags=re.ASCII):
            problems.append(f"{KEY}: {_shown(option)} is not a valid option name; allowed: section.key, both letters, "
                            f"digits or '_' and not starting with a digit, e.g. core.default_task_retries")
            continue
        if lower in seen:
            problems.append(f"{KEY}: {_shown(option)} and {_shown(seen[lower])} are the same option (Airflow ignores "
                            f"case); allowed: each option once")
            continue
        seen[lower] = option
        if lower in program_options() or _base(lower) in program_options():
            problems.append(f"{KEY}: {_shown(option)} is set by the program; allowed: options other than "
                            f"{', '.join(program_options())} (or their _cmd/_secret forms)")
        elif lower in sensitive_options() or _base(lower) in sensitive_options():
            problems.append(f"{KEY}: {_shown(option)} holds a secret (Airflow marks it sensitive), which would be "
                            f"stored in plain text; allowed: options Airflow does not mark sensitive (keep secrets in "
                            f"Secrets Manager: airflow/<environment>/connections or variables)")
        elif lower in af.EXPOSE_CONFIG_OPTIONS and _truthy(value) and not allow_expose_config:
            problems.append(f"{KEY}.{option}: {json.dumps(value)} shows the whole configuration in the UI; allowed: "
                            f"false, or set mwaa.allowExposeConfig true to accept it")
        elif isinstance(value, str):
            problems += _value_problems(option, value)
    return problems


def _truthy(value: Any) -> bool:
    # Airflow reads "True"/"true"/"1"/"t" and also the deprecated "non-sensitive-only" as on (config.yml, expose_config).
    return str(value).strip().lower() not in ("false", "0", "f", "")


def _value_problems(option: str, value: str) -> list[str]:
    if any(unicodedata.category(c) == "Cc" for c in value):
        return [f"{KEY}.{option}: {_shown(value)} holds a newline or control character; allowed: one line of "
                f"printable text"]
    if "{{" in value:
        return [f"{KEY}.{option}: {_shown(value)} holds '{{{{', which the Helm chart renders as a template; allowed: "
                f"text without '{{{{'"]
    return []
