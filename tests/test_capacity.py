"""Idle is what the pods need (issue 19, item 1): the always-on pods, the minimum worker pods and every node's
DaemonSets packed onto the node group; a desiredSize that can't hold them is a config error, and the bill prices
what runs (the same rule in components/settings/capacity.py and tools/compare)."""

from __future__ import annotations

import json

from components.settings import ConfigError, parse_settings
from tests.test_compare import cached_planner, run_cli  # noqa: F401 - fixture

DEV_EKS = {"kubernetesVersion": "1.35",
           "nodeGroups": [{"name": "airflow", "instanceTypes": ["t3.large"], "minSize": 1, "desiredSize": 3,
                           "maxSize": 3}],
           "workers": {"minReplicas": 1, "maxReplicas": 3}}


def problems(eks: dict) -> list[str]:
    try:
        parse_settings({"target": "eks", "eks": eks}, "dev")
    except ConfigError as error:
        return error.problems
    return []


def test_a_desired_size_that_cannot_hold_the_idle_pods_is_one_config_error():
    # t3.large: 2000m less 200m reserved (kubelet + DaemonSets) and 100m for the CloudWatch agent = 1700m for pods. The
    # worker pod (1700m) takes one node; the always-on pods (2010m: scheduler 500 + its queued-age exporter 10, DAG
    # processor 250, triggerer 250, API server 250, PgBouncer 150, add-ons 600) don't fit on one more node: 3 nodes.
    assert problems(DEV_EKS) == []
    small = {**DEV_EKS, "nodeGroups": [{**DEV_EKS["nodeGroups"][0], "desiredSize": 2}]}
    assert problems(small) == [
        "eks.nodeGroups[0].desiredSize: 2 nodes of group airflow can't hold what runs idle: the minimum 1 worker pod(s) "
        "of 1700m CPU / 3712 MiB and the always-on pods (2010m CPU / 4864 MiB, replicas included) on t3.large nodes "
        "with 1700m CPU / 6764 MiB each for pods (DaemonSets and the kubelet reservation, eks.resources.nodeReserved, "
        "and the CloudWatch agent, eks.resources.statsd, taken off) need 3; allowed: desiredSize >= 3"]
    # maxSize below the need says so too
    capped = {**DEV_EKS, "nodeGroups": [{**DEV_EKS["nodeGroups"][0], "desiredSize": 2, "maxSize": 2}]}
    assert problems(capped)[0].endswith("need 3; allowed: desiredSize >= 3 and maxSize >= 3")


def test_replicas_count_in_what_runs_idle():
    # two schedulers and two API servers add 500m + 250m: 2800m always-on, still 3 t3.large nodes with the worker pod
    # (1800 - 1700 = 100 left on the worker's node, then 1800 + 900): a fourth node only from 3700m
    assert problems({**DEV_EKS, "replicas": {"scheduler": 2, "apiServer": 2}}) == []
    heavy = {**DEV_EKS, "replicas": {"scheduler": 4, "apiServer": 2}}  # 3800m always-on
    assert problems(heavy)[0].startswith("eks.nodeGroups[0].desiredSize: 3 nodes of group airflow can't hold")


def test_dev_idle_prices_the_three_nodes_the_pods_need_and_agrees_with_the_scan(capsys, cached_planner):  # noqa: F811
    data = json.loads(run_cli(capsys, "--stack", "dev", "--no-plot", "--json")[1])
    nodes = next(i for i in data["targets"]["eks"]["cost"]["items"] if i["id"] == "target.eks.nodes.airflow")
    assert nodes["quantity"] == 3 * 730 and nodes["label"] == "EKS nodes airflow: 3 × t3.large"
    lowest = data["breakEven"]["points"][0]
    assert lowest["eks"]["nodesOffPeak"] == 3  # the scan's lowest load runs the same nodes as the idle line


def test_prod_idle_prices_what_runs_not_desired_size(capsys, cached_planner):  # noqa: F811
    # prod's workers group: desiredSize 2, but its 2 minimum worker pods fit one m6i.xlarge and the always-on pods fit
    # the system group; the Cluster Autoscaler removes the second node, so idle is 1 (730 h x $0.192 less than before)
    data = json.loads(run_cli(capsys, "--stack", "prod", "--no-plot", "--json")[1])
    nodes = next(i for i in data["targets"]["eks"]["cost"]["items"] if i["id"] == "target.eks.nodes.workers")
    assert nodes["quantity"] == 730 and "desiredSize 2" in nodes["note"]
    system = next(i for i in data["targets"]["eks"]["cost"]["items"] if i["id"] == "target.eks.nodes.system")
    assert system["quantity"] == 2 * 730  # the group that holds the always-on pods stays at its desired size
