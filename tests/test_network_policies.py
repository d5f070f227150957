"""The NetworkPolicies that reach the namespace (the chart's rendered ones and the program's own), evaluated with
Kubernetes' semantics (tools/chart/netpol.py) against the connections the EKS twin makes (tools/twin/flows.py): every
one is allowed, and the named unneeded ones are denied. Also the rest of pod security on EKS: enforcement in the VPC
CNI, seccomp on every pod, and IRSA without a mounted Kubernetes API token."""

from __future__ import annotations

import ipaddress
import json

import pytest

from tests.test_rendered_chart import IDS, VARIANTS, rendered_of, variant_plan
from tools.chart import references
from tools.chart.checkov import NETWORK_POLICY_TYPE
from tools.chart.netpol import Address, Policies, Pod
from components.alarms import agent
from tools.twin.agent import agent_service
from tools.twin.endpoints import Service
from tools.twin.flows import AWS_APIS, DNS, KEDA_OPERATOR, twin_flows

NAMESPACE = "airflow"
PUBLIC_AWS_API = Address("203.0.113.10", "an AWS API endpoint through the NAT gateway")  # RFC 5737 documentation range


class Variant:
    def __init__(self, stack, airflow_version, broker):
        self.broker = broker
        self.plan = plan = variant_plan(stack, airflow_version, broker)
        self.rendered = rendered_of(plan)
        self.policies = Policies([{**p, "metadata": {**p["metadata"], "namespace": NAMESPACE}}
                                  for p in self.rendered.of_kind("NetworkPolicy")]
                                 + [{"metadata": r.inputs["metadata"], "spec": r.inputs["spec"]}
                                    for r in plan.of_type(NETWORK_POLICY_TYPE)])
        vpc = ipaddress.ip_network(plan.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"])
        self.in_vpc = str(vpc[100])  # RDS and ElastiCache sit in the VPC's private subnets
        db = plan.one("aws:rds/instance:Instance")
        self.externals = {"RDS metadata database": Service("RDS metadata database", db.outputs["address"],
                                                            int(db.outputs["port"]))}
        groups = plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
        if groups:
            self.externals["ElastiCache primary endpoint"] = Service(
                "ElastiCache primary endpoint", groups[0].outputs["primaryEndpointAddress"], int(groups[0].inputs["port"]))
        self.externals["CloudWatch agent StatsD"] = agent_service(plan)
        self.pods = {f"{o['kind']}/{o['metadata']['name']}": o for o in self.rendered.manifests
                     if o["kind"] in ("Deployment", "StatefulSet", "Job")}

    def secret(self, name):
        found = [s for s in self.plan.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["name"] == name]
        return found[0].inputs["stringData"] if found else None

    def flows(self):
        return twin_flows(self.rendered, self.secret, list(self.externals.values()))

    def pod(self, ref: str) -> Pod:
        if ref == KEDA_OPERATOR:  # components/eks/addons.py installs KEDA in its namespace; its operator's pod label
            return Pod.of("keda", {"app": "keda-operator"}, ref)
        labels = self.pods[ref]["spec"]["template"]["metadata"]["labels"]
        return Pod.of(NAMESPACE, labels, ref)

    def component(self, name: str) -> Pod:
        return next(self.pod(ref) for ref, o in self.pods.items()
                    if o["spec"]["template"]["metadata"]["labels"].get("component") == name)

    def targets(self, flow):
        if flow.targets:
            return [Pod(NAMESPACE, t.labels, t.ports, t.workload) for t in flow.targets]
        if flow.service == DNS:
            return [Pod.of("kube-system", {"k8s-app": "kube-dns"}, "CoreDNS")]
        if flow.service == AWS_APIS:
            return [PUBLIC_AWS_API]
        if flow.service == "CloudWatch agent StatsD":  # the add-on's DaemonSet, in its own namespace
            return [Pod.of(agent.NAMESPACE, {"app.kubernetes.io/name": agent.SERVICE}, "CloudWatch agent")]
        assert flow.service in self.externals, flow
        return [Address(self.in_vpc, flow.service)]


@pytest.fixture(scope="module", params=VARIANTS, ids=IDS)
def variant(request):
    return Variant(*request.param)


def test_every_connection_the_twin_makes_is_allowed(variant):
    flows = variant.flows()
    denied = [f"{f.source} -> {t.name} ({f.service}) {f.port}/{f.protocol} [{f.setting}]"
              for f in flows for t in variant.targets(f)
              if not variant.policies.allowed(variant.pod(f.source), t, f.port, f.protocol)]
    assert denied == []


def test_the_flows_checked_are_the_ones_airflow_needs(variant):
    """Guard against a vacuous pass: each flow the issue names is among those derived from the twin's mapping."""
    seen = {(f.source.split("/")[-1], f.service, f.port, f.protocol) for f in variant.flows()}
    ui = "airflow-api-server" if variant.plan.outputs["airflowVersion"].startswith("3.") else "airflow-webserver"
    broker = ("Service airflow-redis:6379" if variant.broker == "in-cluster" else "ElastiCache primary endpoint")
    expected = {("airflow-worker", "Service airflow-pgbouncer:6543", 6543, "TCP"),
                ("airflow-scheduler", broker, 6379, "TCP"),
                ("airflow-worker", broker, 6379, "TCP"),
                ("airflow-pgbouncer", "RDS metadata database", 5432, "TCP"),
                ("airflow-worker", "CloudWatch agent StatsD", 8125, "UDP"),
                ("airflow-worker", DNS, 53, "UDP"),
                ("airflow-worker", AWS_APIS, 443, "TCP"),
                (ui, "Service airflow-worker:8793", 8793, "TCP"),
                (ui, "Service airflow-triggerer:8794", 8794, "TCP"),
                (KEDA_OPERATOR, "Service airflow-pgbouncer:6543", 6543, "TCP")}
    if ui == "airflow-api-server":  # the Airflow 3 execution API
        expected.add(("airflow-worker", "Service airflow-api-server:8080", 8080, "TCP"))
    assert expected <= seen


def test_unneeded_connections_are_denied(variant):
    policies, in_vpc = variant.policies, variant.in_vpc
    outsider = Pod.of(NAMESPACE, {"app": "debug-shell"}, "a pod outside the release")
    lookalike = Pod.of("default", {"tier": "airflow", "release": "airflow", "app": "keda-operator"},
                       "a pod in another namespace with the release's labels")
    pgbouncer = variant.component("pgbouncer")  # in the release, but not Airflow
    assert not policies.allowed(variant.component("worker"), Address(in_vpc, "RDS"), 5432)
    assert not policies.allowed(variant.component("scheduler"), Address(in_vpc, "RDS"), 5432)
    for stranger in (outsider, lookalike):
        assert not policies.allowed(stranger, pgbouncer, 6543)
    if variant.broker == "in-cluster":
        redis = variant.component("redis")
        for stranger in (pgbouncer, outsider, lookalike):
            assert not policies.allowed(stranger, redis, 6379), stranger.name
    else:
        assert not policies.allowed(pgbouncer, Address(in_vpc, "ElastiCache"), 6379)
    assert not policies.allowed(pgbouncer, PUBLIC_AWS_API, 443)  # only Airflow's own containers call AWS


def test_without_the_programs_policies_pgbouncer_cannot_reach_rds_and_the_ui_cannot_read_worker_logs(variant):
    trimmed = Policies([p for p in variant.policies.policies
                        if p["metadata"]["name"] not in ("airflow-egress-database", "airflow-log-servers-worker")])
    worker, pgbouncer = variant.component("worker"), variant.component("pgbouncer")
    ui = variant.component("api-server" if variant.plan.outputs["airflowVersion"].startswith("3.") else "webserver")
    assert variant.policies.allowed(pgbouncer, Address(variant.in_vpc), 5432)
    assert not trimmed.allowed(pgbouncer, Address(variant.in_vpc), 5432)
    if ui.label_map["component"] == "api-server":  # the chart's worker policy names only the Airflow 2 webserver
        assert variant.policies.allowed(ui, worker, 8793) and not trimmed.allowed(ui, worker, 8793)


def test_the_vpc_cni_enforces_network_policies(variant):
    """The program's vpc-cni add-on runs the network policy agent; pulumi-eks makes no second vpc-cni add-on."""
    cluster = variant.plan.one("eks:index:Cluster").inputs
    assert cluster["useDefaultVpcCni"] is True and "vpcCniOptions" not in cluster
    [addon] = [a for a in variant.plan.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
    assert json.loads(addon.inputs["configurationValues"])["enableNetworkPolicy"] == "true"
    assert addon.inputs["serviceAccountRoleArn"]


def test_every_pod_runs_with_the_runtime_default_seccomp_profile(variant):
    for obj, _, spec in references.pods(variant.rendered):
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, obj


def test_irsa_keeps_its_role_annotation_without_an_api_token(variant):
    """IRSA's token is a projected volume the EKS pod identity webhook adds from the account's role-arn annotation;
    the Kubernetes API token is another volume, which the accounts turn off."""
    accounts = {a["metadata"]["name"]: a for a in variant.rendered.of_kind("ServiceAccount")}
    irsa = {name for name, a in accounts.items() if references.IRSA_ANNOTATION in (a["metadata"].get("annotations") or {})}
    assert len(irsa) == 5
    for name in irsa - {"airflow-scheduler"}:  # the chart keeps the scheduler's token with CeleryExecutor
        assert accounts[name]["automountServiceAccountToken"] is False, name
    for obj, _, spec in references.pods(variant.rendered):
        if spec["serviceAccountName"] in irsa:
            assert spec.get("automountServiceAccountToken") is not True, obj


# ---------------------------------------------------------------------------------------------- the semantics


def _policy(namespace, selector, **rules):
    return {"metadata": {"name": "p", "namespace": namespace}, "spec": {"podSelector": selector, **rules}}


def test_a_pod_no_policy_selects_is_not_isolated():
    a, b = Pod.of("ns", {"app": "a"}), Pod.of("ns", {"app": "b"})
    policies = Policies([_policy("ns", {"matchLabels": {"app": "c"}}, policyTypes=["Ingress"], ingress=[])])
    assert policies.allowed(a, b, 80)


def test_ingress_peers_ports_and_namespaces():
    db = Pod.of("ns", {"app": "db"}, ports={"sql": 5432})
    app, other_ns = Pod.of("ns", {"app": "web"}), Pod.of("other", {"app": "web"})
    policies = Policies([_policy("ns", {"matchLabels": {"app": "db"}}, policyTypes=["Ingress"], ingress=[
        {"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": "sql"}]},
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}},
                   "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}}],
         "ports": [{"port": 9000, "endPort": 9010}]}])])
    assert policies.allowed(app, db, 5432) and not policies.allowed(app, db, 5433)
    assert not policies.allowed(other_ns, db, 5432) and policies.allowed(other_ns, db, 9005)
    assert not policies.allowed(app, db, 5432, "UDP")


def test_egress_ip_blocks_and_their_exceptions():
    pod = Pod.of("ns", {"app": "a"})
    policies = Policies([_policy("ns", {}, policyTypes=["Egress"], egress=[
        {"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.5.0/24"]}}], "ports": [{"port": 443}]}])])
    assert policies.allowed(pod, Address("10.0.1.1"), 443)
    assert not policies.allowed(pod, Address("10.0.5.1"), 443)
    assert not policies.allowed(pod, Address("10.0.1.1"), 80)
    assert not policies.allowed(pod, Pod.of("ns", {"app": "b"}), 443)  # ipBlock names addresses, not pods here
