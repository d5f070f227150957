"""Rules for `mwaa`: capacity ranges that depend on the environment class, and Airflow configuration options."""

from __future__ import annotations

import json
from typing import Any, Mapping

from .allowed import MWAA_CLASSES
from .model import MwaaSettings
from .option_rules import option_problems


def mwaa_capacity_defaults(class_name: str) -> dict[str, int]:
    """Unset capacity keys follow the class, so choosing mw1.micro alone is a valid config."""
    klass = MWAA_CLASSES[class_name]
    return {
        "minWorkers": 1,
        "maxWorkers": min(10, klass.max_workers),
        "schedulers": klass.schedulers[0],
        "minWebservers": klass.webservers[0],
        "maxWebservers": klass.webservers[0],
    }


def mwaa_problems(mwaa: Mapping[str, Any]) -> list[str]:
    klass_name = mwaa.get("environmentClass", MwaaSettings.environment_class)
    klass = MWAA_CLASSES[klass_name]
    merged = {**mwaa_capacity_defaults(klass_name), **mwaa}
    problems = []
    out_of_range = set()

    def check_range(key: str, low: int, high: int) -> None:
        value = merged[key]
        if not low <= value <= high:
            out_of_range.add(key)
            problems.append(f"mwaa.{key}: {value} is out of range for {klass_name}; allowed: {low} to {high}")

    check_range("minWorkers", 1, klass.max_workers)
    check_range("maxWorkers", 1, klass.max_workers)
    check_range("schedulers", *klass.schedulers)
    check_range("minWebservers", *klass.webservers)
    check_range("maxWebservers", *klass.webservers)
    for low_key, high_key in (("minWorkers", "maxWorkers"), ("minWebservers", "maxWebservers")):
        low, high = merged[low_key], merged[high_key]
        # A value already out of range says enough: comparing with it would only contradict that line.
        if low > high and not out_of_range & {low_key, high_key}:
            problems.append(f"mwaa.{low_key}: {low} is greater than mwaa.{high_key} ({high}); allowed: <= {high}")
    problems += option_problems(mwaa.get("airflowConfigurationOptions", {}), mwaa.get("allowExposeConfig", False))
    return problems
