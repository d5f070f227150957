"""The twins' Airflow per side (tools/twin/airflow_procs.venv_for): the default environment when it has the stack's
version, .venv-airflow-<version> beside it otherwise, else one line saying how to make one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.twin import airflow_procs
from tools.twin.errors import TwinError


def fake_venv(path: Path, version: str) -> Path:
    (path / "lib" / "python3.12" / "site-packages" / f"apache_airflow-{version}.dist-info").mkdir(parents=True)
    return path


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(airflow_procs, "ROOT", tmp_path)
    monkeypatch.setattr(airflow_procs, "AIRFLOW_VENV", fake_venv(tmp_path / ".venv-airflow", "3.3.1"))
    return tmp_path


def test_default_environment_when_it_has_the_version(root):
    assert airflow_procs.venv_for("3.3.1") == root / ".venv-airflow"


def test_second_environment_for_another_version(root):
    second = fake_venv(root / ".venv-airflow-3.2.1", "3.2.1")
    assert airflow_procs.venv_for("3.2.1") == second
    assert airflow_procs.process_environment(second)["PATH"].startswith(f"{second / 'bin'}:")


def test_no_environment_names_both_ways_to_make_one(root):
    fake_venv(root / ".venv-airflow-3.0.6", "3.2.1")  # a folder of that name holding another version does not count
    with pytest.raises(TwinError) as raised:
        airflow_procs.venv_for("3.0.6")
    assert str(raised.value) == (f"airflowVersion: the stack runs 3.0.6 but {root / '.venv-airflow'} has Airflow 3.3.1 "
                                 "(make airflow-venv AIRFLOW_VERSION=3.0.6, or a second one beside it: "
                                 "bash scripts/setup-twin-airflow-env 3.0.6)")


@pytest.mark.parametrize(("target", "old", "new", "expected"), [
    ("eks", "3.3.1", "3.2.1", 'upgrade.airflowVersion: "3.2.1" is not newer than airflowVersion (3.3.1)'),
    ("mwaa", "3.3.1", "2.10.3", 'upgrade.airflowVersion: "2.10.3" is not newer than airflowVersion (3.3.1)'),
])
def test_twin_upgrade_refuses_what_the_program_or_the_twins_cannot_run(target, old, new, expected):
    from tools.twin.upgrade import check_versions

    with pytest.raises(TwinError) as raised:
        check_versions("dev", target, old, new)
    assert str(raised.value).startswith(expected)


def test_twin_upgrade_refuses_a_major_the_twin_does_not_run(monkeypatch):
    from tools.twin import upgrade

    monkeypatch.setitem(upgrade.TWIN_MAJORS, "eks", ("3",))
    with pytest.raises(TwinError) as raised:
        upgrade.check_versions("dev", "eks", "2.10.3", "3.3.1")
    assert str(raised.value) == "FROM/TO: the eks twin runs Airflow 3.x; 2.10.3 is not; allowed: versions of those majors"


@pytest.mark.parametrize("target", ["mwaa", "eks"])
def test_twin_upgrade_runs_both_targets_from_airflow_2_blue_green(target):
    """MWAA: a new environment (AWS's path from 2.10.3); EKS: a second release, chart 1.19.0 -> 1.21.0 and 2 -> 3 at
    once, which the program refuses in place (components/upgrade_paths.py) and takes through `upgrade`."""
    from components.upgrade_paths import in_place_problem
    from tools.twin.upgrade import TWIN_MAJORS, check_versions

    check_versions("dev", target, "2.10.3", "3.3.1")  # the program's `upgrade` key takes it, and the twin runs both
    assert TWIN_MAJORS[target] == ("3", "2")
    assert "blue/green" in in_place_problem(target, "2.10.3", "3.3.1")


def test_twin_upgrade_needs_both_versions(capsys):
    from tools.twin import cli

    assert cli.main(["upgrade", "--on", "eks", "--from", "3.2.1"]) == 1
    assert capsys.readouterr().err.strip() == ("twin: upgrade: --from A and --to B are both needed "
                                               "(make twin-upgrade TARGET=eks FROM=A TO=B)")


@pytest.mark.parametrize(("argv", "expected"), [
    (["eks", "--airflow-version", "9.9.9"], "twin: --airflow-version: '9.9.9' is not allowed; allowed: 2.9.2, 2.10.1, "
                                            "2.10.3, 2.11.0, 2.11.2, 3.0.6, 3.2.1, 3.3.1"),
    (["migrate", "--airflow-version", "2.10.3"], "twin: --airflow-version: only with eks or mwaa (upgrade takes --from "
                                                 "and --to)"),
])
def test_a_twin_at_another_version_is_refused_in_one_line(argv, expected, capsys):
    from tools.twin import cli

    assert cli.main(argv) == 1
    assert capsys.readouterr().err.strip() == expected


def test_a_twin_at_airflow_2_runs_the_stack_with_that_version(monkeypatch):
    """`python -m tools.twin eks --airflow-version 2.10.3` plans the stack at 2.10.3 (chart 1.19.0 on EKS)."""
    from tools.twin import cli

    seen = {}
    monkeypatch.setattr(cli, "run_one", lambda target, stack, overrides, keep, timeout: seen.update(
        target=target, overrides=overrides) or type("R", (), {"ok": True})())
    assert cli.main(["eks", "--airflow-version", "2.10.3"]) == 0
    assert seen == {"target": "eks", "overrides": {"airflowVersion": "2.10.3"}}
