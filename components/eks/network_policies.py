"""The NetworkPolicies the program adds to the chart's own (README "Pod security on EKS").

The chart (`networkPolicies.enabled`, components/eks/chart_values.py) renders Ingress-only policies: it never limits
where a pod connects to. These add the Egress side for every pod of the release, and close two gaps in the chart's
Ingress rules. Kubernetes allows a connection when any policy selecting the pod allows it (policies add up), so
these only ever open what the chart's rules miss:

- egress: DNS to kube-dns; any pod of the release (each target's Ingress policy then limits the port); AWS APIs on
  443 (through the NAT gateway or VPC endpoints) and StatsD to the CloudWatch agent for Airflow's own containers; from the VPC, only RDS's port for
  PgBouncer and the broker's port for Airflow's containers when the broker is ElastiCache. A worker cannot reach RDS
  directly, PgBouncer and statsd cannot reach the broker.
- ingress the chart's rules miss: the Airflow 3 API server reading the worker's and triggerer's log servers (the
  chart's rules name only the Airflow 2 `webserver`), and the in-cluster Redis from every Airflow container (the
  chart allows only worker, scheduler and flower, yet every Airflow container carries the broker URL).

Enforced only when the VPC CNI runs its network policy agent: components/eks/cluster.py turns it on.
`tools/chart/netpol.py` evaluates these with the chart's rendered policies against the flows the EKS twin uses.
"""

from __future__ import annotations

from typing import Any

import pulumi

from ..alarms.agent import NAMESPACE as AGENT_NAMESPACE
from ..alarms.agent import STATSD_PORT as AGENT_STATSD_PORT
from .chart_values import RELEASE, airflow_components
from .datastores import REDIS_PORT

# Labels the chart puts on every pod (tier, release) and on each component (component).
RELEASE_PODS = {"tier": "airflow", "release": RELEASE}
# What the chart's Jobs are labelled; they run Airflow's image too (db migrate, users create).
JOB_COMPONENTS = ("run-airflow-migrations", "create-user-job")
# kube-dns on EKS (CoreDNS add-on keeps the `k8s-app: kube-dns` label); namespaces carry kubernetes.io/metadata.name
# since Kubernetes 1.21 (https://kubernetes.io/docs/concepts/overview/working-with-objects/_print/ "Automatic labelling").
KUBE_DNS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"
# The chart's default ports.workerLogs / ports.triggererLogs (values.yaml of 1.19.0 and 1.21.0).
WORKER_LOGS_PORT = 8793
TRIGGERER_LOGS_PORT = 8794


def airflow_pods(airflow_version: str) -> dict[str, Any]:
    """Selector of the pods that run Airflow's own image: its components and the chart's two Jobs."""
    return {"matchLabels": dict(RELEASE_PODS), "matchExpressions": [
        {"key": "component", "operator": "In", "values": [*airflow_components(airflow_version), *JOB_COMPONENTS]}]}


def _component(name: str) -> dict[str, Any]:
    return {"matchLabels": {**RELEASE_PODS, "component": name}}


def _tcp(port: pulumi.Input[int]) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def _policy(name: str, pod_selector: dict, **rules: list) -> dict[str, Any]:
    types = [t.capitalize() for t in ("ingress", "egress") if t in rules]
    return {"metadata": {"name": f"{RELEASE}-{name}", "labels": dict(RELEASE_PODS)},
            "spec": {"podSelector": pod_selector, "policyTypes": types, **rules}}


def network_policies(airflow_version: str, broker: str, vpc_cidr: str,
                     database_port: pulumi.Input[int]) -> list[dict[str, Any]]:
    """Metadata and spec of each NetworkPolicy, as declared in the release's namespace."""
    ui = "api-server" if airflow_version.startswith("3.") else "webserver"
    vpc = {"ipBlock": {"cidr": vpc_cidr}}
    policies = [
        _policy("egress-in-cluster", {"matchLabels": dict(RELEASE_PODS)}, egress=[
            {"to": [KUBE_DNS], "ports": [{"protocol": "UDP", "port": 53}, _tcp(53)]},
            {"to": [{"podSelector": {"matchLabels": dict(RELEASE_PODS)}}]},
        ]),
        _policy("egress-aws-apis", airflow_pods(airflow_version), egress=[
            {"to": [{"ipBlock": {"cidr": ANYWHERE}}], "ports": [_tcp(HTTPS_PORT)]}]),
        _policy("egress-database", _component("pgbouncer"), egress=[{"to": [vpc], "ports": [_tcp(database_port)]}]),
        # StatsD to the CloudWatch agent (components/alarms/agent.py): its pods in their namespace, or, if the agent
        # runs on the host network, the node's address in the VPC that its Service leads to.
        _policy("egress-metrics", airflow_pods(airflow_version), egress=[
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": AGENT_NAMESPACE}}}, vpc],
             "ports": [{"protocol": "UDP", "port": AGENT_STATSD_PORT}]}]),
        _policy("log-servers-worker", _component("worker"), ingress=[
            {"from": [{"podSelector": _component(ui)}], "ports": [_tcp(WORKER_LOGS_PORT)]}]),
        _policy("log-servers-triggerer", _component("triggerer"), ingress=[
            {"from": [{"podSelector": _component(ui)}], "ports": [_tcp(TRIGGERER_LOGS_PORT)]}]),
    ]
    if broker == "elasticache":
        policies.append(_policy("egress-broker", airflow_pods(airflow_version),
                                egress=[{"to": [vpc], "ports": [_tcp(REDIS_PORT)]}]))
    else:
        policies.append(_policy("broker-clients", _component("redis"), ingress=[
            {"from": [{"podSelector": airflow_pods(airflow_version)}], "ports": [_tcp(REDIS_PORT)]}]))
    return policies
