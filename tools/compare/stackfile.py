"""Check Pulumi.<stack>.yaml before planning, exactly as the program will read it, and point at the file and line.

The program receives its config as strings from the Pulumi engine and validates it with components/settings
(decode_config_values, then parse_settings); tools/planner.stack_config hands it over the same way. This runs that
same path on the file, and turns each problem's key into `Pulumi.<stack>.yaml:<line>`.
"""

from __future__ import annotations

import re
from pathlib import Path
import yaml

from tools.planner import PROJECT, ROOT, stack_config

from .prices import CompareError


def _key_path(problem: str) -> list[str | int]:
    """'eks.nodeGroups[0].instanceTypes[1]: ...' -> ['eks', 'nodeGroups', 0, 'instanceTypes', 1]."""
    key = problem.split(":", 1)[0].strip()
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", key):
        parts.append(int(index) if index else name)
    return parts


def _line_of(root: yaml.Node | None, parts: list[str | int]) -> int | None:
    """1-based line of the deepest node of `parts` under the file's config section (None: no config section)."""
    def child(node: yaml.Node, part: str | int) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            return next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            return node.value[part]
        return None

    config = child(root, "config") if root is not None else None
    if config is None:
        return None
    node, line = config, config.start_mark.line  # 'config:' itself when nothing deeper matches
    for depth, part in enumerate(parts):
        name = f"{PROJECT}:{part}" if depth == 0 and isinstance(part, str) and ":" not in part else part
        found = child(node, name)
        if found is None:
            break
        node, line = found, found.start_mark.line + 1
    return line if node is not config else config.start_mark.line + 1


def check(stack: str, text: str | None = None, name: str | None = None) -> None:
    """CompareError naming file:line for a YAML error or any config problem the program would refuse.
    `text`/`name`: another version of the stack file (e.g. at a git ref) and how to name it."""
    from components.settings import ConfigError, decode_config_values, parse_settings

    path = ROOT / f"Pulumi.{stack}.yaml"
    name = name or path.name
    if text is None:
        if not Path(path).exists():
            stack_config(stack)  # raises the 'no stack file ...; stacks here: ...' error
        text = path.read_text()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CompareError(f"{where}: not valid YAML ({problem})") from None
    if not isinstance(data, dict) or not isinstance(data.get("config", {}), dict):
        raise CompareError(f"{name}:1: expected a mapping with a 'config' mapping (as `pulumi config` writes it)")
    prefix = f"{PROJECT}:"
    flat = stack_config(stack, text=text)  # strings, as the engine hands them to the program
    raw = {key[len(prefix):]: value for key, value in flat.items() if key.startswith(prefix)}
    try:
        parse_settings(decode_config_values(raw), stack)
    except ConfigError as error:
        lines = [f"  {name}:{_line_of(root, _key_path(p)) or 1}: {p}" for p in error.problems]
        raise CompareError(f"invalid stack config ({len(error.problems)} problem(s)):\n" + "\n".join(lines)) from None
