"""`python -m tools.compare`: JSON shape, plot, break-even verdicts and clean errors.

Planning goes through the session's plan cache (tests.conftest.planned): the CLI's planner is swapped for it, so
the program still runs for real under the mocks, but each config is planned once per test session.
"""

from __future__ import annotations

import datetime
import json

import pytest

import tools.compare.core as core
from tests.conftest import planned
from tests.test_costs import AS_OF, NO_GROWTH, PINNED, pinned_plans, tiny_table
from components.settings import RESOURCE_KEYS
from tools.compare import cli
from tools.compare.assumptions import Assumptions
from tools.compare.core import compare, target_overrides
from tools.compare.plot import write_plot
from tools.compare.prices import CompareError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The EKS pods reduced to one rule so the break-even can be worked out by hand (stack config, so the chart values carry
# it): nothing but tasks requests anything, a node keeps nothing back, a task takes 200m/400Mi and a worker pod runs
# 10 -> one 2000m/4000Mi pod per t3.large (2 vCPU, 8 GiB): nodes = max(1, ceil(p / 10)).
ZERO = {"cpuMillis": 0, "memoryMiB": 0}
SIMPLE_EKS = {**PINNED["eks"], "resources": {key: ZERO for key in RESOURCE_KEYS},
              "workers": {"minReplicas": 1, "maxReplicas": 3, "concurrency": 10, "taskCpuMillis": 200,
                          "taskMemoryMiB": 400, "podCpuMillis": 0, "podMemoryMiB": 0}}
SCAN_3X = Assumptions({"maxScale": 3, **NO_GROWTH})


@pytest.fixture
def cached_planner(monkeypatch):
    """The CLI plans through the session cache; records the overrides it asked for."""
    calls = []

    def fake(stack, overrides):
        calls.append((stack, dict(overrides)))
        return planned(stack, **overrides)

    monkeypatch.setattr(core, "run_plan", fake)
    return calls


def run_cli(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------- break-even


def test_break_even_found_where_it_exists():
    # Workload: 10 tasks all day (peak = average, 24 h/day), scanned 1..30 tasks. Tiny prices (tests/test_costs.py):
    # MWAA(p) = 124.05 + 73 x (ceil(p / 5) - 1)      [mw1.small 5 tasks/worker, extra worker 730 h x 0.1]
    # EKS(p)  = 151.33 + 41.5 x max(1, ceil(p / 10)) [node 730 h x 0.05 + disk 50 GB x 0.1]
    # p 1-5: 124.05 vs 192.83 (MWAA); p 6-10: 197.05 vs 192.83 (EKS); p 11-15: 270.05 vs 234.33; ... EKS stays cheaper.
    result = compare("dev", pinned_plans(eks=SIMPLE_EKS), tiny_table(), SCAN_3X, as_of=AS_OF).break_even
    assert result.verdict == "eks-cheaper-from"
    assert result.eks_cheaper_from == {"peakConcurrentTasks": 6.0, "averageConcurrentTasks": 6.0, "scale": 0.6,
                                       "mwaa": 197.05, "eks": 192.83}
    assert [c["peakConcurrentTasks"] for c in result.crossings] == [6.0]
    at = result.at_configured
    assert (at["mwaa"]["monthly"], at["eks"]["monthly"], at["cheaper"]) == (197.05, 192.83, "eks")
    assert (at["mwaa"]["workersPeak"], at["eks"]["nodesPeak"]) == (2, 1)
    assert result.curve[-1][0] == 30  # 3 x the configured peak of 10


def test_break_even_never_when_eks_nodes_cost_more_than_mwaa_workers():
    # A t3.large at $1/h: EKS(p) >= 151.33 + 735 = 886.33 while MWAA(30) = 124.05 + 73 x 5 = 489.05.
    result = compare("dev", pinned_plans(eks=SIMPLE_EKS), tiny_table(**{"ec2.t3.large": 1.0}), SCAN_3X,
                     as_of=AS_OF).break_even
    assert result.verdict == "never"
    assert result.eks_cheaper_from is None
    assert result.crossings == []
    assert all(row["cheaper"] == "mwaa" for row in result.rows)


def test_break_even_always_when_the_mwaa_environment_dominates():
    # mw1.small at $10/h: MWAA >= 7,351 a month, EKS at 30 tasks 151.33 + 3 x 41.5 = 275.83.
    result = compare("dev", pinned_plans(eks=SIMPLE_EKS), tiny_table(**{"mwaa.environment.mw1.small": 10}),
                     SCAN_3X, as_of=AS_OF).break_even
    assert result.verdict == "eks-always-cheaper"
    assert result.eks_cheaper_from["peakConcurrentTasks"] == 1


def test_scan_stops_where_the_price_table_cannot_price_a_class_that_would_hold_the_peak():
    # mw1.small holds 125 tasks; mw1.medium and up have no prices in the tiny table.
    result = compare("dev", pinned_plans(eks=SIMPLE_EKS, workload={"averageConcurrentTasks": 50, "peakConcurrentTasks": 50,
                                                                  "peakHoursPerDay": 24}),
                     tiny_table(), SCAN_3X, as_of=AS_OF).break_even
    assert result.scanned_to == 125
    assert any("the scan stops at 125 peak tasks" in note for note in result.notes)
    assert result.rows[-1]["cheaper"] == "unknown" and result.rows[-1]["mwaa"] is None


# ---------------------------------------------------------------------------------------------- CLI and JSON


def test_json_output_has_the_documented_shape(capsys, cached_planner):
    code, out, err = run_cli(capsys, "--stack", "dev", "--json", "--no-plot")
    assert code == 0, err
    data = json.loads(out)  # stdout is nothing but the JSON document
    assert set(data) == {"stack", "region", "currency", "hoursPerMonth", "pricesFile", "asOf", "targets", "breakEven",
                         "assumptions", "notes", "commitment", "operations", "tco", "prices", "horizon", "redundancy",
                         "upgradeOverlap"}
    assert data["commitment"] == "none"
    # every price used carries its source and the date it was read
    assert data["prices"] and all(p["source"] and p["asOf"] for p in data["prices"].values())
    ops = data["operations"]
    assert ops["eks"]["monthly"] == ops["eks"]["hoursPerMonth"] * ops["eks"]["hourlyRate"] == 2000  # 20 h x $100
    assert data["tco"]["declared"]["mwaa"] == pytest.approx(data["targets"]["mwaa"]["cost"]["total"] + 400, abs=0.01)
    assert data["tco"]["breakEven"]["verdict"] in ("eks-cheaper-from", "eks-always-cheaper", "never")
    assert data["asOf"] == datetime.date.today().isoformat()  # the pricing date defaults to today
    assert (data["stack"], data["region"], data["currency"]) == ("dev", "us-east-1", "USD")
    assert set(data["targets"]) == {"mwaa", "eks"}
    for target in data["targets"].values():
        assert set(target) == {"resources", "cost"}
        assert {"total", "shared", "target"} <= set(target["resources"])
        assert set(target["resources"]["shared"]) == {"count", "byType", "names"}
        cost = target["cost"]
        assert set(cost) == {"items", "total", "sharedTotal", "targetTotal"}
        for item in cost["items"]:
            assert set(item) == {"id", "scope", "label", "quantity", "unit", "unitPrice", "priceKey", "monthly", "note",
                                 "assumption", "proxyOf", "unverified", "sources"}
            assert item["scope"] in ("shared", "target")
            if item["priceKey"]:  # a priced item names each table entry behind it, with source and date
                assert item["priceKey"] in [s["key"] for s in item["sources"]]
                assert all(s["source"] and s["asOf"] for s in item["sources"])
        assert cost["total"] == pytest.approx(sum(i["monthly"] for i in cost["items"]), abs=0.01 * len(cost["items"]))
        assert cost["total"] == pytest.approx(cost["sharedTotal"] + cost["targetTotal"], abs=0.011)
    shared = [[i for i in data["targets"][t]["cost"]["items"] if i["scope"] == "shared"] for t in ("mwaa", "eks")]
    assert shared[0] == shared[1]
    be = data["breakEven"]
    assert {"workload", "atConfiguredWorkload", "verdict", "eksCheaperFrom", "crossings", "points", "plot",
            "notes", "maxScale", "scannedUpToPeakConcurrentTasks"} <= set(be)
    assert be["verdict"] in ("eks-cheaper-from", "eks-always-cheaper", "never")
    assert be["plot"] is None
    scales = [p["scale"] for p in be["points"]]
    assert scales == sorted(scales) and {0.25, 0.5, 1} <= set(scales)
    assert set(data["assumptions"]["natDataGbPerMonth"]) == {"value", "unit", "description", "overridden"}
    # both plans came from the same stack config; only the target differs
    assert [overrides for _, overrides in cached_planner] == [{"target": "mwaa"}, {"target": "eks"}]


def test_terminal_output_shows_both_targets_side_by_side(capsys, cached_planner, tmp_path):
    plot = tmp_path / "chart.png"
    code, out, err = run_cli(capsys, "--stack", "dev", "--plot", str(plot))
    assert code == 0, err
    for text in ("Resources declared", "Shared platform", "Target-specific", "MWAA environment", "EKS control plane",
                 "Break-even", "Assumptions", "natDataGbPerMonth"):
        assert text in out
    assert plot.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_is_written_as_a_png(tmp_path):
    result = compare("dev", pinned_plans(eks=SIMPLE_EKS), tiny_table(), SCAN_3X, as_of=AS_OF)
    path = write_plot(result.break_even, tmp_path / "nested" / "break-even.png", "dev", "us-east-1")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000


def test_unknown_region_is_one_clean_line_and_a_non_zero_exit(capsys, cached_planner):
    code, out, err = run_cli(capsys, "--stack", "dev", "--region", "ap-south-1", "--no-plot")
    assert code == 2 and out == ""
    assert err.strip() == ("error: no prices for region 'ap-south-1' in tools/pricing/prices.json; regions with prices: "
                           "eu-central-1, eu-west-1, us-east-1, us-east-2, us-west-2")
    assert cached_planner == []  # refused before planning


def test_missing_price_is_one_clean_line(capsys, cached_planner):
    code, out, err = run_cli(capsys, "--stack", "dev", "--region", "eu-west-1", "--no-plot")
    assert code == 2 and out == ""
    assert err.startswith("error: no price 'nat.gb' for region eu-west-1 in tools/pricing/prices.json; available "
                          "nat.*: hour; supply it with --prices FILE")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_config_errors_print_as_clean_lines(capsys, monkeypatch):
    monkeypatch.setattr(core, "run_plan", lambda stack, overrides: planned(
        stack, **{**overrides, "mwaa": {"environmentClass": "mw1.small", "minWorkers": 99}}))
    code, out, err = run_cli(capsys, "--stack", "dev", "--no-plot")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    # One line: a value out of range is not compared with maxWorkers as well (issue 20, item 4).
    assert lines[0] == "error: invalid stack config (1 problem(s)):"
    assert "mwaa.minWorkers: 99 is out of range for mw1.small; allowed: 1 to 25" in err
    assert "is greater than" not in err
    assert "Traceback" not in err


def test_unknown_stack_and_bad_assumptions_are_clean_errors(capsys):
    code, _, err = run_cli(capsys, "--stack", "nope", "--no-plot")
    assert code == 2 and err.strip() == "error: no stack file Pulumi.nope.yaml; stacks here: dev, prod"
    code, _, err = run_cli(capsys, "--assume", "natDataGb=3")
    assert code == 2 and err.startswith("error: unknown assumption natDataGb; known: natDataGbPerMonth,")
    code, _, err = run_cli(capsys, "--assume", "s3StorageGb=lots")
    assert code == 2 and err.strip() == "error: --assume s3StorageGb='lots': not a number"


def test_bad_assumption_values_are_one_clean_line_naming_key_value_and_what_is_allowed(capsys, cached_planner):
    cases = {
        ("--assume", "maxScale=nan"): "assumption maxScale = nan is not a finite number; allowed: 1 to 1000",
        ("--max-scale", "inf"): "assumption maxScale = inf is not a finite number; allowed: 1 to 1000",
        ("--assume", "maxScale=1e9"): "assumption maxScale = 1e+09 is out of range; allowed: 1 to 1000",
        ("--max-scale", "1001"): "assumption maxScale = 1001 is out of range; allowed: 1 to 1000",
        ("--max-scale", "0.5"): "assumption maxScale = 0.5 is out of range; allowed: 1 to 1000",
        ("--assume", "s3StorageGb=inf"): "assumption s3StorageGb = inf is not a finite number; allowed: a finite number >= 0",
        ("--assume", "natDataGbPerMonth=-5"): "assumption natDataGbPerMonth = -5 is negative; allowed: a finite number >= 0",
    }
    for args, message in cases.items():
        code, out, err = run_cli(capsys, "--stack", "dev", "--no-plot", *args)
        assert (code, out, err.strip()) == (2, "", f"error: {message}"), args
    assert cached_planner == []  # all refused before planning
    assert Assumptions({"maxScale": 1000})["maxScale"] == 1000  # the cap itself is allowed
    with pytest.raises(CompareError, match=r"^assumption s3StorageGb = -inf is not a finite number"):
        Assumptions.parse(["s3StorageGb=-inf"])


def test_as_of_picks_standard_or_extended_support_for_the_control_plane(capsys, cached_planner):
    # dev runs Kubernetes 1.35: standard support until 2027-03-27. prices.json: eks.cluster $0.10/h,
    # eks.clusterExtended $0.60/h -> 730 x 0.10 = 73.00 on the last day, 730 x 0.60 = 438.00 the day after.
    items = {}
    for day in ("2027-03-27", "2027-03-28"):
        code, out, err = run_cli(capsys, "--stack", "dev", "--json", "--no-plot", "--as-of", day)
        assert code == 0, err
        data = json.loads(out)
        assert data["asOf"] == day
        items[day] = next(i for i in data["targets"]["eks"]["cost"]["items"] if i["id"] == "target.eks.controlPlane")
    assert (items["2027-03-27"]["priceKey"], items["2027-03-27"]["monthly"]) == ("eks.cluster", 73.0)
    assert items["2027-03-27"]["label"] == "EKS control plane: standard support (until 2027-03-27)"
    assert (items["2027-03-28"]["priceKey"], items["2027-03-28"]["monthly"]) == ("eks.clusterExtended", 438.0)
    assert items["2027-03-28"]["label"] == "EKS control plane: extended support (standard ended 2027-03-27)"
    code, out, err = run_cli(capsys, "--stack", "dev", "--no-plot", "--as-of", "2027-03-28")
    assert code == 0, err
    assert "EKS control plane: extended support (standard ended 2027-03-27)" in out
    assert "priced as of 2027-03-28" in out


def test_a_bad_as_of_date_is_one_clean_line(capsys, cached_planner):
    for text in ("2026-13-01", "26-11-2026", "20261126", "tomorrow"):
        code, out, err = run_cli(capsys, "--stack", "dev", "--no-plot", "--as-of", text)
        assert (code, out) == (2, "")
        assert err.strip() == f"error: --as-of {text!r} is not a date; allowed: YYYY-MM-DD, e.g. 2026-11-26"
    assert cached_planner == []


def test_only_the_target_changes_between_the_two_plans(monkeypatch):
    assert target_overrides("dev", "eks") == {"target": "eks"}
    assert target_overrides("dev", "mwaa", {"aws:region": "us-west-2"}) == {"aws:region": "us-west-2", "target": "mwaa"}
    # keepMwaa is valid with target eks only: the MWAA plan drops it instead of failing on it
    monkeypatch.setattr(core, "stack_config", lambda stack, text=None: {"airflow-on-aws:keepMwaa": "true"})
    assert target_overrides("prod", "mwaa") == {"target": "mwaa", "keepMwaa": None}
    assert target_overrides("prod", "eks") == {"target": "eks"}


def test_pinned_config_is_what_the_plans_declare():
    # Guards the fixtures the figures above rest on.
    plans = pinned_plans()
    assert plans["mwaa"].one("aws:mwaa/environment:Environment").inputs["environmentClass"] == "mw1.small"
    assert json.loads(plans["eks"].config["airflow-on-aws:workload"]) == PINNED["workload"]


def test_verbose_lists_every_price_with_its_source_and_date(capsys, cached_planner):
    code, out, err = run_cli(capsys, "--stack", "prod", "--no-plot", "--verbose")
    assert code == 0, err
    listed = out.split("Prices used (us-east-1; source and date of each", 1)[1]
    data = json.loads(run_cli(capsys, "--stack", "prod", "--no-plot", "--json")[1])
    flat = "".join(listed.split())  # folded URLs: compare without the line breaks
    for key, price in data["prices"].items():
        assert key in listed and price["asOf"] in listed and "".join(price["source"].split()) in flat
    # the unverified RDS price is flagged beside its figure in the bill, and in the price list
    assert "RDS postgres db.m7g.large (Multi-AZ) ?" in out
    assert data["prices"]["rds.postgres.db.m7g.large"]["confidence"].startswith("medium")
    code, out, _ = run_cli(capsys, "--stack", "prod", "--no-plot")
    assert "Prices used" not in out


def test_headline_says_which_side_is_less_redundant():
    # PINNED: MWAA 2 schedulers and 2 web servers; EKS leaves eks.replicas at 1 each
    from tools.compare.render import headline

    result = compare("dev", pinned_plans(), tiny_table(), SCAN_3X, as_of=AS_OF)
    assert result.redundancy()["schedulers"] == {"mwaa": 2, "eks": 1, "lessRedundant": "eks"}
    assert ("Not like for like: EKS is less redundant in schedulers (MWAA 2, EKS 1); EKS is less redundant in web/API "
            "servers (MWAA 2, EKS 1) (eks.replicas sets EKS's).") in headline(result)
    same = compare("dev", pinned_plans(eks={**PINNED["eks"], "replicas": {"scheduler": 2, "apiServer": 2}}),
                   tiny_table(), SCAN_3X, as_of=AS_OF)
    assert "Like for like: both run 2 scheduler(s) and 2 web/API server(s) at least." in headline(same)


def test_compare_shows_the_alarms_and_the_eks_agents_metrics_with_their_sources(capsys):
    code, out, _ = run_cli(capsys, "--stack", "dev", "--no-plot", "--verbose")
    assert code == 0
    assert "CloudWatch alarms, standard resolution (9)" in out
    assert "CloudWatch agent's custom metrics (StatsD)" in out
    for key in ("cloudwatch.alarmStandardMetricMonth", "cloudwatch.customMetricMonth"):
        assert key in out.split("Prices used", 1)[1]
