"""`make compare` prices a blue/green upgrade: a second side of each target for upgradeOverlapDays."""

from __future__ import annotations

import datetime
import json

import pytest

from tests.conftest import planned
from tools.compare.assumptions import Assumptions
from tools.compare.costs import declared_cost
from tools.compare.declared import declared
from tools.compare.prices import PriceTable

from tests.test_compare import cached_planner, run_cli  # noqa: F401 - cached_planner is a fixture


def items_of(data: dict, target: str) -> dict[str, float]:
    return {i["id"]: i["monthly"] for i in data["targets"][target]["cost"]["items"]}


def test_overlap_is_one_more_side_of_each_target_for_the_configured_days(capsys, cached_planner):  # noqa: F811
    code, out, err = run_cli(capsys, "--stack", "dev", "--json", "--no-plot")
    assert code == 0, err
    data = json.loads(out)
    overlap, hours = data["upgradeOverlap"], data["hoursPerMonth"]
    mwaa, eks = items_of(data, "mwaa"), items_of(data, "eks")
    # MWAA: one more environment of the same class and its metadata storage (dev: mw1.micro).
    assert overlap["mwaa"]["secondSideMonthly"] == pytest.approx(mwaa["target.mwaa.environment"] + mwaa["target.mwaa.metadb"])
    # EKS: one more RDS instance with its storage, the nodes the second release's idle pods need, and the agent's custom
    # metrics once more, under green's own StatsD prefix. dev's t3.large have 1700m for pods; one worker pod (1700m) fills
    # a node. One side: 1 worker node + always-on 2010m (scheduler 500 with its queued-age exporter 10, DAG processor,
    # triggerer, API server 250 each, PgBouncer 150, add-ons 600) on 2 more = 3 nodes. Two: 2 worker nodes + 2010m +
    # 1410m (no second copy of the add-ons) = 3420m, over 2 x 1700m: 3 more = 5 nodes, 2 more than one side.
    node = (eks["target.eks.nodes.airflow"] + eks["target.eks.ebs.airflow"]) / 3
    rds = eks["target.eks.rds.eks-metadata-db"] + eks["target.eks.rdsStorage.eks-metadata-db"]
    assert overlap["eks"]["secondSideMonthly"] == pytest.approx(rds + 2 * node + eks["target.eks.agentMetrics"], abs=0.02)
    for target in ("mwaa", "eks"):
        o = overlap[target]
        assert o["days"] == 7
        assert o["total"] == pytest.approx(o["secondSideMonthly"] * 7 * 24 / hours, abs=0.01)


def test_a_plan_with_a_green_release_prices_the_agent_metrics_of_both_prefixes():
    def agent_metrics(plan) -> tuple[int, float]:
        decl = declared(plan, "eks")
        items = declared_cost(decl, PriceTable.load(), Assumptions({}), as_of=datetime.date(2026, 12, 6))
        return decl.statsd_prefixes, next(i.quantity for i in items if i.id == "target.eks.agentMetrics")

    assert agent_metrics(planned("dev", target="eks")) == (1, 108)
    assert agent_metrics(planned("dev", target="eks", airflowVersion="3.2.1", upgrade={"airflowVersion": "3.3.1"})) == (2, 216)


def test_overlap_days_is_an_assumption_and_the_line_is_printed(capsys, cached_planner):  # noqa: F811
    code, out, _ = run_cli(capsys, "--stack", "dev", "--json", "--no-plot", "--assume", "upgradeOverlapDays=14")
    data = json.loads(out)
    week = json.loads(run_cli(capsys, "--stack", "dev", "--json", "--no-plot")[1])["upgradeOverlap"]
    assert data["upgradeOverlap"]["eks"]["total"] == pytest.approx(2 * week["eks"]["total"], abs=0.02)
    assert data["assumptions"]["upgradeOverlapDays"]["value"] == 14
    code, out, _ = run_cli(capsys, "--stack", "dev", "--markdown", "--no-plot")
    assert code == 0
    line = next(line for line in out.splitlines() if "Blue/green upgrade" in line)
    assert line.startswith("- **Blue/green upgrade, both sides for 7 days (--assume upgradeOverlapDays=N):** MWAA $")
