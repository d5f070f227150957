"""How a problem is told: ConfigError, and one line per schema error naming the key, the value and what is allowed."""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema


class ConfigError(Exception):
    """Invalid stack config. `problems` holds one line per problem: '<key>: <value> ... allowed ...'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))



def non_finite(value: Any) -> bool:
    # NaN and Infinity are JSON numbers to Python's json module, but no count, size or share is either.
    return isinstance(value, float) and not math.isfinite(value)


def leaf_errors(error: jsonschema.ValidationError):
    if error.context:
        for sub in error.context:
            yield from leaf_errors(sub)
    else:
        yield error


def _key(path) -> str:
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(config)"


def describe(error: jsonschema.ValidationError) -> str:
    key, value, schema = _key(error.absolute_path), error.instance, error.schema
    shown = json.dumps(value)
    if error.validator == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties", {}))
        unknown = sorted(set(value) - set(allowed))
        prefix = f"{key}." if error.absolute_path else ""
        hint = f"allowed keys: {', '.join(allowed)}" if allowed else "values must be strings"
        return "; ".join(f"{prefix}{name}: unknown config key; {hint}" for name in unknown) if allowed else f"{key}: {error.message}; {hint}"
    if error.validator == "enum" and _number_for_text(value, error.validator_value):
        # YAML reads an unquoted 1.35 as a number (and 1.30 as 1.3): say so rather than list what looks the same.
        return (f"{key}: {shown} is a number, not a string; allowed: one of {', '.join(map(json.dumps, error.validator_value))} "
                f"written in quotes, e.g. {json.dumps(error.validator_value[-1])}")
    if error.validator == "enum":
        return f"{key}: {shown} is not allowed; allowed: {', '.join(map(str, error.validator_value))}"
    if error.validator == "pattern":
        return f"{key}: {shown} is not valid; allowed: {schema.get('x-allowed', error.validator_value)}"
    if error.validator in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        bounds = f"{low} to {high}" if low is not None and high is not None else (f">= {low}" if low is not None else f"<= {high}")
        return f"{key}: {shown} is out of range; allowed: {bounds}"
    if error.validator == "type" and non_finite(value):
        if isinstance(error.validator_value, list):  # a number is one of several types allowed here
            return f"{key}: {shown} is not a finite number; allowed: {', '.join(error.validator_value)} (numbers finite)"
        low, high = schema.get("minimum"), schema.get("maximum")
        bounds = f" from {low} to {high}" if low is not None and high is not None else (f" >= {low}" if low is not None else "")
        return f"{key}: {shown} is not a finite number; allowed: a finite number{bounds}"
    if error.validator == "type":
        return f"{key}: {shown} has the wrong type; allowed: {error.validator_value}"
    if error.validator == "maxItems":
        return f"{key}: {len(value)} entries are too many; allowed: at most {error.validator_value}"
    if error.validator == "uniqueItems":
        twice = next(item for index, item in enumerate(value) if item in value[:index])
        return f"{key}: {json.dumps(twice)} is listed twice; allowed: each item once"
    if error.validator in ("minItems", "minLength"):
        return f"{key}: {shown} is empty; allowed: at least {error.validator_value} item(s)"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        allowed = schema["properties"][missing].get("enum", "a value")
        prefix = f"{key}." if error.absolute_path else ""
        return f"{prefix}{missing}: not set; allowed: {', '.join(allowed) if isinstance(allowed, list) else allowed}"
    return f"{key}: {shown} is not valid ({error.message})"



def _number_for_text(value: Any, allowed: list[Any]) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and all(isinstance(a, str) for a in allowed)
