"""Version rules (components/upgrade_paths.py) and the PR check that applies them to base vs head (`--base`)."""

from __future__ import annotations

import pytest

from components.settings import AIRFLOW_VERSIONS
from components.upgrade_paths import RULES, in_place_problem, latest
from tests.conftest import ROOT
from tests.test_compare import run_cli
from tools.compare import cli
from tools.compare.upgrades import version_problems

DEV = (ROOT / "Pulumi.dev.yaml").read_text()
assert "airflowVersion: 3.3.1\n" in DEV


def dev_with(version: str, extra: str = "", target: str = "mwaa") -> str:
    text = DEV.replace("airflowVersion: 3.3.1\n", f"airflowVersion: {version}\n{extra}", 1)
    return text.replace("target: mwaa", f"target: {target}", 1)


@pytest.mark.parametrize(("target", "old", "new", "allowed"), [
    ("mwaa", "2.10.1", "2.10.3", True),  # patch
    ("mwaa", "2.10.3", "2.11.2", True),  # minor
    ("mwaa", "2.11.2", "2.10.3", True),  # minor downgrade: MWAA does it
    ("mwaa", "2.11.2", "3.3.1", True),  # from the latest 2.11.x
    ("mwaa", "2.11.0", "3.3.1", False),  # not the latest 2.11.x
    ("mwaa", "2.10.3", "3.3.1", False),  # new environment + migration
    ("mwaa", "3.3.1", "2.11.2", True),  # 3.x back to 2.11.x
    ("mwaa", "3.3.1", "2.10.3", False),
    ("mwaa", "3.2.1", "3.3.1", True),
    ("eks", "3.2.1", "3.3.1", True),
    ("eks", "2.10.3", "2.11.2", True),  # chart 1.19.0 -> 1.21.0, same major
    ("eks", "2.11.0", "3.3.1", True),  # both on 1.21.0
    ("eks", "2.10.3", "3.3.1", False),  # chart step and major step at once
    ("eks", "3.3.1", "3.2.1", False),  # the migrate Job never goes back
    ("eks", "2.11.2", "2.10.3", False),
])
def test_rules(target, old, new, allowed):
    problem = in_place_problem(target, old, new)
    assert (problem is None) == allowed, problem
    if problem:
        assert "path:" in problem or "refused" in problem or "keep the" in problem


def test_latest_2_11_is_the_newest_allowed_and_the_table_covers_both_targets():
    assert latest("2.11") == "2.11.2" == max((v for v in AIRFLOW_VERSIONS if v.startswith("2.11.")),
                                             key=lambda v: tuple(map(int, v.split("."))))
    assert {rule.target for rule in RULES} == {"mwaa", "eks"}
    assert all(rule.source for rule in RULES)


def test_a_version_mwaa_does_not_offer_is_named():
    assert in_place_problem("mwaa", "3.3.1", "3.4.0").startswith("3.4.0 is not a version MWAA offers")


def test_pr_check_names_why_and_the_blue_green_path():
    [line] = version_problems("dev", dev_with("2.10.3"), DEV, "origin/main")
    assert line == ("Pulumi.dev.yaml airflowVersion: 2.10.3 (origin/main) -> 3.3.1 would change the blue side of target "
                    "mwaa in place: MWAA can't upgrade 2.10.3 to 3.x in place (from 2.10.3 or older AWS says: new "
                    "environment + migration); path: blue/green: set upgrade.airflowVersion to 3.3.1 beside 2.10.3, "
                    "move with docs/upgrades.md, then cut over")
    assert version_problems("dev", dev_with("2.11.2"), DEV, "origin/main") == []
    assert version_problems("dev", DEV, DEV, "origin/main") == []


def test_pr_check_follows_the_sides_through_a_blue_green_upgrade():
    base = dev_with("2.10.3")
    with_green = dev_with("2.10.3", "  airflow-on-aws:upgrade:\n    airflowVersion: 3.3.1\n")
    assert version_problems("dev", base, with_green, "main") == []  # green is new: any version
    cut_over = dev_with("3.3.1", "  airflow-on-aws:liveSide: green\n")
    assert version_problems("dev", with_green, cut_over, "main") == []  # green unchanged, blue removed
    [line] = version_problems("dev", with_green, dev_with("3.3.1"), "main")  # forgot liveSide: blue in place
    assert "would change the blue side of target mwaa in place" in line and "path: blue/green" in line


def test_pr_check_on_eks_refuses_a_downgrade_and_skips_a_change_of_target():
    [line] = version_problems("dev", dev_with("3.3.1", target="eks"), dev_with("3.2.1", target="eks"), "main")
    assert "airflow db migrate" in line and "never moves a schema back" in line
    assert version_problems("dev", dev_with("2.10.3"), dev_with("3.3.1", target="eks"), "main") == []


def test_compare_base_fails_the_pull_request_with_the_line(capsys, monkeypatch):
    monkeypatch.setattr(cli, "base_stack_file", lambda ref, stack: dev_with("2.10.3"))
    code, out, err = run_cli(capsys, "--stack", "dev", "--markdown", "--base", "origin/main", "--no-plot")
    assert (code, out) == (2, "")
    assert "airflowVersion: 2.10.3 (origin/main) -> 3.3.1 would change the blue side" in " ".join(err.split())


def test_docs_table_is_the_rules():
    text = (ROOT / "docs" / "upgrades.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| mwaa |") or line.startswith("| eks |")]
    assert rows == [f"| {r.target} | {r.change} | {'yes' if r.in_place else 'no'} | {r.path} |" for r in RULES]
