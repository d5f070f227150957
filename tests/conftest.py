"""Shared fixtures for the Pulumi program's tests.

Planning the program under mocks takes about a second, so plans are cached for the whole session per
(stack, overrides). A cached Plan is shared between tests: read it, never mutate it. Use the fixtures
(`planned`, `stack_value`, `stack_raw_config`, `dev_plan`, `prod_plan`) or import the functions
(`from tests.conftest import planned`): tests/__init__.py makes both the same module, so one cache.

This conftest is also loaded for tests/dags (run in the Airflow virtualenv, which has no Pulumi): it must not
import Pulumi, the planner or the components at module level.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `components` and `tools` are imported from the project root
    sys.path.insert(0, str(ROOT))


def pytest_configure(config):
    # Importing pulumi_aws / pulumi_eks warns (at import time) about every deprecated class they define, used or not.
    for module in ("pulumi_aws", "pulumi_eks"):
        config.addinivalue_line("filterwarnings", rf"ignore::DeprecationWarning:{module}\..*")


@functools.lru_cache(maxsize=None)
def _cached_plan(stack: str, frozen_overrides: str):
    from tools.planner import plan

    return plan(stack, json.loads(frozen_overrides))


def planned(stack: str = "dev", **overrides: Any):
    """The program's plan for `stack` with config overrides (top-level keys, e.g. mwaa={...}; a key with ':'
    such as 'aws:region' can be given as **{'aws:region': ...}; None removes a key). Cached per arguments."""
    return _cached_plan(stack, json.dumps(overrides, sort_keys=True))


def stack_value(stack: str, key: str) -> Any:
    """A deep copy of one value of Pulumi.<stack>.yaml ('mwaa', or 'aws:region'), for building overrides."""
    import yaml

    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    full = key if ":" in key else f"{_project()}:{key}"
    return copy.deepcopy(config[full])


def stack_raw_config(stack: str) -> dict[str, Any]:
    """The project's config of Pulumi.<stack>.yaml as the program decodes it (keys without 'project:')."""
    from components.settings import decode_config_values
    from tools.planner import stack_config

    prefix = f"{_project()}:"
    flat = stack_config(stack)
    return decode_config_values({k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)})


@functools.lru_cache(maxsize=None)
def _project() -> str:
    import yaml

    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]


@pytest.fixture(name="planned", scope="session")
def planned_fixture():
    """The `planned(stack='dev', **overrides)` function, cached for the session."""
    return planned


@pytest.fixture(name="stack_value", scope="session")
def stack_value_fixture():
    return stack_value


@pytest.fixture(name="stack_raw_config", scope="session")
def stack_raw_config_fixture():
    return stack_raw_config


@pytest.fixture(scope="session")
def dev_plan():
    return planned("dev")


@pytest.fixture(scope="session")
def prod_plan():
    return planned("prod")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT
