"""docs/upgrades.md on the twins, on each target: blue at the old version (.venv-airflow-<version>), green at 3.3.1,
the runbook between them. MWAA: 2.10.3 -> 3.3.1 (the new-environment path, blue read through /api/v1); EKS: 2.10.3 on
chart 1.19.0 -> 3.3.1 on chart 1.21.0 (tests/twin/conftest.py, UPGRADES)."""

from __future__ import annotations

import pytest

from components.eks.chart_values import chart_version
from tools.planner import ROOT
from tools.twin.runs import dag_ids_in


def test_blue_green_upgrade_moves_everything_with_no_differences_and_every_dag_runs_on_both(upgrade_result):
    result, old, new = upgrade_result
    every_dag = sorted(dag_ids_in(ROOT / "dags"))
    # The same dags/ files on both versions: every DAG before the move on blue, after it on green.
    for side in (result.blue, result.green):
        assert sorted(r.dag_id for r in side.results) == every_dag
        assert all(r.ok for r in side.results), [(r.dag_id, r.problem) for r in side.results]
    assert result.clean, "tools.migrate diff reported differences"
    assert result.paused_at_creation, "green ran DAGs before the runbook unpaused it"
    assert result.unpaused_as_blue, "after the cut-over green's paused state is not blue's"
    assert result.uses_variable  # the variable moved from blue drives the fan-out DAG on green
    assert list(result.timings) == [f"blue at {old} up and seeded", "every DAG on blue",
                                    f"green at {new} up, DAGs parsed", "pause blue, export from blue",
                                    "import into green, diff", "unpause green", "every DAG on green", "final diff"]


@pytest.mark.parametrize("upgrade_result", ["eks"], indirect=True)
def test_each_eks_side_ran_the_chart_its_version_pins(upgrade_result):
    """Blue and green each ran the manifests a real helm rendered from their own vendored chart (the rendered-chart
    line reads the rendered folder's Chart.yaml): 1.19.0 for 2.10.3, 1.21.0 for 3.3.1 (components/eks/chart_versions.json)."""
    result, old, new = upgrade_result
    ran = {side: next(c.detail for c in report.wiring_checks if c.component == "rendered-chart").split(":", 1)[0]
           for side, report in (("blue", result.blue), ("green", result.green))}
    assert ran == {"blue": f"chart {chart_version(old)}", "green": f"chart {chart_version(new)}"}
    assert ran == {"blue": "chart 1.19.0", "green": "chart 1.21.0"}
    # Every wiring check passed on both sides; on blue the chart 1.19.0 admin logged in through FAB over /api/v1.
    for report in (result.blue, result.green):
        assert not [(c.component, c.problem) for c in report.wiring_checks if c.problem]
    assert next(c.detail for c in result.blue.wiring_checks if c.component == "fab-login") == (
        "admin logged in through FabAuthManager (roles Admin)")
