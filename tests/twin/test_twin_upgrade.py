"""docs/upgrades.md on the twins, on each target: blue at 3.2.1 (.venv-airflow-3.2.1), green at 3.3.1, the runbook
between them."""

from __future__ import annotations

from tools.planner import ROOT
from tools.twin.runs import dag_ids_in


def test_blue_green_upgrade_moves_everything_with_no_differences_and_every_dag_runs_on_both(upgrade_result):
    every_dag = sorted(dag_ids_in(ROOT / "dags"))
    # The same dags/ files on both versions: every DAG before the move on blue, after it on green.
    for side in (upgrade_result.blue, upgrade_result.green):
        assert sorted(r.dag_id for r in side.results) == every_dag
        assert all(r.ok for r in side.results), [(r.dag_id, r.problem) for r in side.results]
    assert upgrade_result.clean, "tools.migrate diff reported differences"
    assert upgrade_result.paused_at_creation, "green ran DAGs before the runbook unpaused it"
    assert upgrade_result.unpaused_as_blue, "after the cut-over green's paused state is not blue's"
    assert upgrade_result.uses_variable  # the variable moved from blue drives the fan-out DAG on green
    assert list(upgrade_result.timings) == ["blue at 3.2.1 up and seeded", "every DAG on blue",
                                            "green at 3.3.1 up, DAGs parsed", "pause blue, export from blue",
                                            "import into green, diff", "unpause green", "every DAG on green",
                                            "final diff"]
