"""`--months N`: per-month figures over a horizon (EKS support calendar, MWAA version support, stored logs under the
declared retention), the JSON `horizon` section, and the default N = 1 that changes nothing."""

from __future__ import annotations

import datetime
import json

import pytest

from tests.test_compare import cached_planner, run_cli  # noqa: F401 - fixture
from tests.test_costs import AS_OF, NO_GROWTH, pinned_plans, tiny_table
from tools.compare.assumptions import Assumptions
from tools.compare.core import compare
from tools.compare.horizon import _extended_share, add_months, kept


def test_default_one_month_changes_nothing(capsys, cached_planner):  # noqa: F811
    code, plain, _ = run_cli(capsys, "--stack", "dev", "--no-plot")
    code1, one, _ = run_cli(capsys, "--stack", "dev", "--no-plot", "--months", "1")
    assert code == code1 == 0 and plain == one and "Horizon:" not in plain
    data = json.loads(run_cli(capsys, "--stack", "dev", "--no-plot", "--json")[1])
    h, at, ops = data["horizon"], data["breakEven"]["atConfiguredWorkload"], data["operations"]
    assert h["months"] == 1 and len(h["perMonth"]) == 1
    for target in ("mwaa", "eks"):  # month 1 is the monthly TCO the rest of the output shows
        assert h["total"][target] == pytest.approx(at[target]["monthly"] + ops[target]["monthly"], abs=0.01)
        assert h["perMonth"][0][target]["logsStorageChange"] == 0


def test_eks_support_calendar_upgrades_on_time_and_states_the_cost_of_skipping():
    # PINNED runs Kubernetes 1.34, standard support until 2026-12-02; from AS_OF 2026-11-26, month 1 holds that end:
    # the cluster moves to 1.35 (standard until 2027-03-27), so both months stay at eks.cluster (0.1/h).
    result = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF, months=2)
    h = result.horizon
    assert [r["eks"]["kubernetes"] for r in h.rows] == ["1.35", "1.35"]
    assert [r["eks"]["extendedSupportShare"] for r in h.rows] == [0, 0]
    assert h.upgrades == [{"by": "2026-12-02", "from": "1.34", "to": "1.35", "hours": 12}]
    # skipping it: extended (0.6 - 0.1 = 0.5/h more) from 2026-12-03: 23 of month 1's 30 days, all 31 of month 2's
    assert h.if_not_upgraded["extraBill"] == pytest.approx(730 * 0.5 * (23 / 30 + 1), abs=0.01)
    assert h.if_not_upgraded["upgradeHoursCost"] == 1200
    assert any("skipping them costs" in n for n in h.notes)


def test_a_version_without_a_dated_successor_runs_into_extended_support():
    # 1.36: standard until 2027-08-02, no later version in the calendar. Month [2027-08-02, 2027-09-02): extended
    # from 2027-08-03, 30 of 31 days.
    share, running = _extended_share("1.36", datetime.date(2027, 8, 2), datetime.date(2027, 9, 2), upgrade=True)
    assert (round(share, 4), running) == (round(30 / 31, 4), "1.36")
    # 1.35 ends inside the month and has a successor: upgraded, no extended support
    assert _extended_share("1.35", datetime.date(2027, 3, 6), datetime.date(2027, 4, 6), upgrade=True) == (0.0, "1.36")
    # not upgraded: extended from 2027-03-28 to 2027-04-06 = 9 of 31 days
    share, _ = _extended_share("1.35", datetime.date(2027, 3, 6), datetime.date(2027, 4, 6), upgrade=False)
    assert share == pytest.approx(9 / 31)


def test_a_version_already_in_extended_support_is_priced_as_deployed():
    late = datetime.date(2026, 12, 10)  # 1.34 left standard support on 2026-12-02
    result = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=late, months=2)
    assert [r["eks"]["extendedSupportShare"] for r in result.horizon.rows] == [1.0, 1.0]
    assert result.horizon.rows[0]["eks"]["bill"] == pytest.approx(result.break_even.at_configured["eks"]["monthly"],
                                                                  abs=0.01)
    assert result.horizon.upgrades == []


def test_stored_logs_grow_under_the_declared_retention():
    assert kept(1, None) == 1 and kept(5, None) == 5  # no retention: every month's logs stay
    assert kept(5, 90) == pytest.approx(90 / (365 / 12)) and kept(1, 90) == 1
    # PINNED keeps logs 90 days (the logRetentionDays default): month m stores min(m, 90 / 30.42 = 2.96) months of logs.
    # No task logs (NO_GROWTH): MWAA's log groups 5 GB x 0.03 = 0.15 a month, the EKS control-plane group the same.
    result = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF, months=4)
    capped = round((90 / (365 / 12) - 1) * 0.15, 2)  # 0.29: month 3 and later
    assert [r["mwaa"]["logsStorageChange"] for r in result.horizon.rows] == [0, 0.15, capped, capped]
    assert [r["eks"]["logsStorageChange"] for r in result.horizon.rows] == [0, 0.15, capped, capped]
    assert result.horizon.totals["mwaa"] == pytest.approx(
        4 * (result.break_even.at_configured["mwaa"]["monthly"] + result.operations["mwaa"]["monthly"])
        + 0.15 + 2 * capped, abs=0.02)
    # with no retention declared (a stack planned before logRetentionDays existed) every month's logs stay
    forever = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF, months=3)
    for target in forever.targets.values():
        object.__setattr__(target.declared, "retention", {k: None for k in target.declared.retention})
    from tools.compare.horizon import horizon

    assert [r["eks"]["logsStorageChange"] for r in horizon(forever, 3).rows] == [0, 0.15, 0.3]
    assert add_months(datetime.date(2027, 1, 31), 1) == datetime.date(2027, 2, 28)


def test_months_out_of_range_is_one_line(capsys):
    code, out, err = run_cli(capsys, "--stack", "dev", "--months", "0")
    assert code == 2 and out == "" and "--months 0 is out of range; allowed: 1 to 120" in err
    assert "Traceback" not in err


def test_horizon_table_and_comment_over_several_months(capsys, cached_planner):  # noqa: F811
    code, out, err = run_cli(capsys, "--stack", "dev", "--no-plot", "--months", "6")
    assert code == 0, err
    assert "Horizon: 6 months from" in out and "1.35 → 1.36 by 2027-03-27" in " ".join(out.split())
    code, out, err = run_cli(capsys, "--stack", "dev", "--no-plot", "--months", "6", "--markdown")
    assert "- **Over 6 months from" in out


def test_the_program_declares_log_retention_and_the_comparison_prices_what_is_kept():
    """Issue 19 item 6: MWAA's five log groups (created before the environment), the EKS control-plane log group
    (before the cluster) and the logs/ lifecycle expiry all take logRetentionDays; the comparison reads them."""
    from tests.conftest import planned

    mwaa = planned("dev", target="mwaa", logRetentionDays=30)
    groups = {r.inputs["name"]: r for r in mwaa.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert sorted(groups) == [f"airflow-airflow-dev-{t}" for t in ("DAGProcessing", "Scheduler", "Task", "WebServer",
                                                                   "Worker")]
    assert {r.inputs["retentionInDays"] for r in groups.values()} == {30}
    order = [r.urn for r in mwaa.resources]  # registration order; the environment also depends_on the groups
    env = mwaa.one("aws:mwaa/environment:Environment")
    assert max(order.index(r.urn) for r in groups.values()) < order.index(env.urn)
    eks = planned("dev", target="eks", logRetentionDays=30)
    control = eks.one("aws:cloudwatch/logGroup:LogGroup", "eks-cluster-logs-controlplane")
    assert control.inputs == {**control.inputs, "name": "/aws/eks/airflow-dev/cluster", "retentionInDays": 30}
    rules = eks.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "platform-bucket").inputs["rules"]
    assert {"id": "expire-task-logs", "status": "Enabled", "filter": {"prefix": "logs/"}, "expiration": {"days": 30}} in rules
    assert rules[0]["id"] == "expire-old-versions"  # the existing rule is untouched: an in-place update, no replacement
    from tools.compare.declared import declared

    assert declared(mwaa, "mwaa").retention == {"mwaa": 30}
    assert declared(eks, "eks").retention == {"eksControlPlane": 30, "eksTaskLogs": 30}
