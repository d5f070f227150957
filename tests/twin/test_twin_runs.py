"""Each twin runs every DAG in dags/ to success and the DAGs' outputs are where the wiring says."""

from __future__ import annotations

from tools.planner import ROOT
from tools.twin.runs import dag_ids_in

REPO_DAGS = sorted(dag_ids_in(ROOT / "dags"))


def _by_dag(report):
    return {r.dag_id: r for r in report.results}


def test_repo_has_dags_to_run():
    assert {"smoke", "s3_sales_rollup", "fanout_primes"} <= set(REPO_DAGS)


def test_eks_twin_runs_every_dag_to_success(eks_report):
    results = _by_dag(eks_report)
    assert sorted(results) == REPO_DAGS
    for dag_id, result in results.items():
        assert result.ok, f"{dag_id}: {result.state} {result.problem}"
    # Task logs went to the bucket through the generated remote-logging settings and read back through the API.
    assert all(any("in s3://" in c and "/logs/" in c for c in r.checks) for r in results.values())
    assert "DEPLOYMENT_TARGET=eks" in results["smoke"].checks[0]
    assert "bucket from Secrets Manager" in results["s3_sales_rollup"].checks[0]


def test_eks_pgbouncer_exporter_stats_connection(eks_report):
    """The chart's exporter (lib/pq) opens the stats connection with sslmode=require unless the URL says otherwise."""
    [check] = [c for c in eks_report.wiring_checks if c.component == "pgbouncer-exporter"]
    assert not check.problem, check.problem
    assert eks_report.ok


def test_eks_in_cluster_broker_runs_every_dag(eks_in_cluster_report):
    results = _by_dag(eks_in_cluster_report)
    assert sorted(results) == REPO_DAGS
    assert all(r.ok for r in results.values()), [(r.dag_id, r.problem) for r in results.values()]


def test_mwaa_twin_runs_every_dag_to_success(mwaa_report):
    results = _by_dag(mwaa_report)
    assert sorted(results) == REPO_DAGS
    assert all(r.ok for r in results.values()), [(r.dag_id, r.problem) for r in results.values()]
    # startup.sh's export reached the task; Celery went through SQS on moto.
    assert "DEPLOYMENT_TARGET=mwaa" in results["smoke"].checks[0]
    [broker] = [c for c in mwaa_report.wiring_checks if c.component == "celery-broker"]
    assert not broker.problem and "airflow-celery-" in broker.detail
    assert mwaa_report.ok


def test_keep_leaves_the_twin_running_and_stop_ends_it(eks_in_cluster_report):
    import json

    import requests

    from tools.twin import cli
    from tools.twin.session import STATE_DIR

    from .conftest import group_alive

    state = json.loads((STATE_DIR / "eks.json").read_text())
    assert state["pids"] and all(group_alive(pid) for pid in state["pids"])
    assert requests.get(f"{state['url']}/api/v2/monitor/health", timeout=10).status_code == 200
    assert cli.main(["eks", "--stop"]) == 0
    assert not [pid for pid in state["pids"] if group_alive(pid)]
    assert not (STATE_DIR / "eks.json").exists()
