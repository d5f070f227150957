"""`--markdown` (the pull-request comment) and `--base REF` (each target's monthly change against a git ref)."""

from __future__ import annotations

import json
import subprocess

import pytest

import tools.compare.core as core
from tests.conftest import ROOT, planned
from tests.test_compare import run_cli
from tools.compare import cli
from tools.compare.markdown import MARKER
from tools.compare.prices import CompareError

DEV = (ROOT / "Pulumi.dev.yaml").read_text()
# The base keeps no idle worker pod (KEDA minReplicas 1 -> 0): its idle pods need one node less (2: the 2050m
# always-on pods on 1800m nodes), so the working tree adds one t3.large node and its 50 GB gp3 disk, always on:
# 730 h x $0.0832 + 50 GB x $0.08 = $64.74 a month more on EKS, nothing on MWAA.
BASE = DEV.replace("      minReplicas: 1\n", "      minReplicas: 0\n", 1)
assert BASE != DEV


@pytest.fixture
def planner(monkeypatch):
    """Plans through the session cache; a plan of other stack-file content (the base) goes through the planner."""
    from tools.planner import plan

    def fake(stack, overrides, config_text=None):
        return planned(stack, **overrides) if config_text is None else plan(stack, overrides, config_text=config_text)

    monkeypatch.setattr(core, "run_plan", fake)


def test_markdown_summarises_both_targets_bill_tco_and_break_even(capsys, planner):
    code, out, err = run_cli(capsys, "--stack", "dev", "--markdown", "--no-plot")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == MARKER  # how CI finds the comment to edit
    assert lines[1] == "### Airflow on AWS, monthly cost: stack `dev` (us-east-1)"
    table = [line for line in lines if line.startswith("| ")]
    assert table[0] == "| Monthly | MWAA | EKS |"
    data = json.loads(run_cli(capsys, "--stack", "dev", "--json", "--no-plot")[1])
    idle = f"| AWS bill, declared and idle | ${data['targets']['mwaa']['cost']['total']:,.2f} | " \
           f"${data['targets']['eks']['cost']['total']:,.2f} |"
    assert idle in table
    assert "| Operations (people's time) | $400.00 | $2,000.00 |" in table
    assert any(line.startswith("| **TCO** at the configured workload | **$") for line in table)
    assert any(line.startswith("- **Break-even, AWS bill:** ") for line in lines)
    assert any(line.startswith("- **Break-even, TCO:** ") for line in lines)
    assert "Change against" not in out


def test_base_shows_each_targets_monthly_change(capsys, planner, monkeypatch):
    monkeypatch.setattr(cli, "base_stack_file", lambda ref, stack: BASE)
    code, out, err = run_cli(capsys, "--stack", "dev", "--markdown", "--base", "origin/main", "--no-plot")
    assert code == 0, err
    assert "#### Change against `origin/main`" in out
    idle = next(line for line in out.splitlines() if line.startswith("| AWS bill, declared and idle | $") and "→" in line)
    cells = [cell.strip() for cell in idle.strip("|").split("|")]
    assert cells[2] == "±$0.00"  # MWAA
    assert cells[4] == "+$64.74"  # EKS: one node and its disk
    code, out, _ = run_cli(capsys, "--stack", "dev", "--json", "--base", "origin/main", "--no-plot")
    changes = json.loads(out)["base"]["changes"]
    assert changes["eks"]["idle"]["change"] == 64.74 and changes["mwaa"]["idle"]["change"] == 0
    assert changes["eks"]["operations"]["change"] == 0


def test_base_reads_the_committed_stack_file_and_refuses_a_bad_ref(capsys):
    committed = subprocess.run(["git", "show", "HEAD:Pulumi.prod.yaml"], cwd=ROOT, capture_output=True,
                               text=True).stdout
    assert cli.base_stack_file("HEAD", "prod") == committed and "airflow-on-aws:target" in committed
    with pytest.raises(CompareError, match=r"^--base no-such-ref: cannot read Pulumi.dev.yaml at that ref"):
        cli.base_stack_file("no-such-ref", "dev")


def test_a_broken_base_config_names_the_ref_file_and_line(capsys, planner, monkeypatch):
    monkeypatch.setattr(cli, "base_stack_file", lambda ref, stack: DEV.replace("target: mwaa", "target: gke"))
    code, out, err = run_cli(capsys, "--stack", "dev", "--markdown", "--base", "main", "--no-plot")
    assert (code, out) == (2, "")
    assert 'main:Pulumi.dev.yaml:4: target: "gke" is not allowed; allowed: mwaa, eks' in err


def test_markdown_and_json_are_exclusive(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["--markdown", "--json"])
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_comment_keeps_the_notes_behind_its_figures(capsys, planner):
    # dev declares mw1.micro and maxSize 3: the workload is priced as mw1.small and 4 nodes; the comment says both
    code, out, err = run_cli(capsys, "--stack", "dev", "--markdown", "--no-plot")
    assert code == 0, err
    notes = out.split("Notes behind these figures:", 1)[1]
    assert "the declared mw1.micro holds at most 3 concurrent tasks; the configured peak (16) is priced as mw1.small" in notes
    assert "above its maxSize 3 (priced as if raised)" in notes
    assert "- **Sensitivity, TCO at the configured workload:** EKS is cheaper in TCO if" in out


def test_comment_says_when_the_scan_stopped_for_a_missing_price_and_which_prices_are_unverified():
    from tests.test_compare import SCAN_3X, SIMPLE_EKS
    from tests.test_costs import AS_OF, pinned_plans, tiny_table
    from tools.compare.core import compare
    from tools.compare.markdown import render_markdown

    table = tiny_table()
    table.data["prices"]["us-east-1"]["ec2.t3.large"]["confidence"] = "low: one undated table"
    workload = {"averageConcurrentTasks": 50, "peakConcurrentTasks": 50, "peakHoursPerDay": 24}
    result = compare("dev", pinned_plans(eks=SIMPLE_EKS, workload=workload), table, SCAN_3X, as_of=AS_OF)
    assert result.break_even.stopped_by.startswith("from 126 peak tasks only MWAA classes the price table can't price")
    out = render_markdown(result)
    assert "the scan stops at 125 peak tasks: from 126 peak tasks" in out
    assert "? unverified price (not a dated primary reading; see tools/pricing/SOURCES.md): ec2.t3.large: " \
           "low: one undated table" in out
    nodes = next(i for i in result.targets["eks"].items if i.id == "target.eks.nodes.airflow")
    assert nodes.unverified == "ec2.t3.large: low: one undated table" and "unverified price" in nodes.note
