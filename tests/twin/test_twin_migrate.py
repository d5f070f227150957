"""docs/migration.md end to end on the twins: MWAA twin -> EKS twin with python -m tools.migrate."""

from __future__ import annotations

from tools.planner import ROOT
from tools.twin.runs import dag_ids_in


def test_runbook_moves_metadata_with_no_differences_and_dags_run_on_eks(migrate_result):
    assert all(r.ok for r in migrate_result.source.results), "the MWAA twin did not run its DAGs before the move"
    assert migrate_result.clean, "tools.migrate diff reported differences"
    assert sorted(r.dag_id for r in migrate_result.moved.results) == sorted(dag_ids_in(ROOT / "dags"))
    assert all(r.ok for r in migrate_result.moved.results), [(r.dag_id, r.problem) for r in migrate_result.moved.results]
    # The moved variable changes what the fan-out DAG does on EKS (6 shards instead of its default 4).
    assert migrate_result.uses_variable
