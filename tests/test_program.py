"""The real program (__main__.py) under the mock planner: config errors stop it before anything is declared."""

from __future__ import annotations

import traceback

import pulumi
import pytest

import tools.planner as planner


@pytest.fixture
def monitors(monkeypatch):
    """Every RecordingMonitor the planner creates while the test runs (to see what a failing plan registered)."""
    created: list[planner.RecordingMonitor] = []

    class Watched(planner.RecordingMonitor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(planner, "RecordingMonitor", Watched)
    return created


BAD = {
    "target": "kubernetes",
    "mwaa": {"environmentClass": "mw1.micro", "maxWorkers": 2},
    "network": {"vpcCidr": "10.20.0.1/16", "natGateways": "single"},
}
BAD_PROBLEMS = [
    'target: "kubernetes" is not allowed; allowed: mwaa, eks',
    'network.vpcCidr: "10.20.0.1/16" is not a valid network (10.20.0.1/16 has host bits set); '
    "allowed: an IPv4 CIDR from /16 to /22 with no host bits, e.g. 10.20.0.0/16",
    "mwaa.maxWorkers: 2 is out of range for mw1.micro; allowed: 1 to 1",
]


def _failing_plan(stack="dev", **overrides) -> pulumi.RunError:
    with pytest.raises(pulumi.RunError) as caught:
        planner.plan(stack, overrides)
    return caught.value


def test_bad_config_stops_the_program_with_a_run_error_listing_every_problem(monitors):
    error = _failing_plan(**BAD)
    lines = str(error).splitlines()
    assert lines[0] == "invalid stack config (3 problem(s)):"
    assert sorted(line.strip() for line in lines[1:]) == sorted(BAD_PROBLEMS)
    # Nothing was declared: the monitor the program ran against never saw a registration.
    assert len(monitors) == 1
    assert monitors[0].planned == []
    assert monitors[0].resources == {}


def test_the_same_config_without_its_mistakes_declares_resources(monitors):
    # Guards the test above: the watched monitor does see registrations when the config is sound.
    plan = planner.plan("dev", {})
    assert len(monitors) == 1
    assert len(monitors[0].planned) == len(plan.resources) > 0


def test_error_shape_for_the_cli_has_no_traceback_and_one_problem_per_line():
    error = _failing_plan(**BAD)
    text = str(error)
    assert "Traceback" not in text
    assert 'File "' not in text
    # The Pulumi CLI prints a RunError's message alone; nothing chained would print "During handling of ...".
    assert error.__cause__ is None and error.__suppress_context__ is True
    shown = "".join(traceback.format_exception_only(error))
    assert "Traceback" not in shown and "ConfigError" not in shown
    problem_lines = text.splitlines()[1:]
    assert len(problem_lines) == len(BAD_PROBLEMS)
    assert all(line.startswith("  ") and line.strip() and ";" in line for line in problem_lines)


def test_typo_in_a_stack_config_key_is_reported_not_ignored():
    # Pulumi's Config API would silently ignore 'airflow-on-aws:mwaaa'; the program must name it.
    error = _failing_plan(mwaaa={"maxWorkers": 3})
    assert "mwaaa: unknown config key; allowed keys: " in str(error)
    assert str(error).splitlines()[0] == "invalid stack config (1 problem(s)):"


def test_missing_target_through_the_program():
    error = _failing_plan(target=None)
    assert str(error).splitlines()[1:] == ["  target: not set; allowed: mwaa, eks"]


def test_problem_inside_a_stack_file_section_is_reported_with_its_path(stack_value):
    mwaa = stack_value("prod", "mwaa")
    mwaa["maxWorkers"] = 40
    error = _failing_plan("prod", mwaa=mwaa)
    assert str(error).splitlines()[1:] == ["  mwaa.maxWorkers: 40 is out of range for mw1.medium; allowed: 1 to 25"]


def test_config_values_set_as_text_by_the_cli_are_decoded(planned):
    # `pulumi config set protectData true` stores the text "true"; it must mean protection, not a type error.
    plan = planned("dev", protectData="true")
    assert plan.one("aws:s3/bucket:Bucket").protect is True
    error = _failing_plan(protectData="maybe")
    assert str(error).splitlines()[1:] == ['  protectData: "maybe" has the wrong type; allowed: boolean']


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_plan_cleanly(planned, stack):
    plan = planned(stack)
    assert plan.outputs["target"] == "mwaa"
    assert plan.outputs["environmentName"] == f"airflow-{stack}"
    assert len(plan.of_type("aws:mwaa/environment:Environment")) == 1
    assert len(plan.of_type("airflow:platform:SharedPlatform")) == 1
