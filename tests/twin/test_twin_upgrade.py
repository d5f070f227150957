"""docs/upgrades.md on the twins, on each target: blue at the old version (.venv-airflow-<version>), green at 3.3.1,
the runbook between them. MWAA: 2.10.3 -> 3.3.1 (the new-environment path, blue read through /api/v1); EKS: 3.2.1 ->
3.3.1 (tests/twin/conftest.py, UPGRADES)."""

from __future__ import annotations

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
