"""Cost figures of tools.compare against numbers worked out by hand.

Two kinds of checks:
- a pinned tiny price table (round numbers) where every expected total is a literal computed by hand below, so the
  test does not mirror the code;
- the real tools/pricing/prices.json, where the expected figure is written as the arithmetic over its entries and the
  quantities the plan declares.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime

import pytest

from components.settings import EKS_KUBERNETES_VERSIONS
from tests.conftest import planned
from tools.compare.assumptions import Assumptions
from tools.compare.core import compare
from tools.compare.costs import SHARED_UNPRICED_NOTE, declared_cost, total, unpriced_notes
from components.settings import PodResources
from tools.compare.declared import (CeleryWorkers, Declared, MwaaEnvironment, NodeGroup, Platform, PodSizes, declared,
                                    resource_summary)
from tools.compare.eks_support import STANDARD_SUPPORT_END
from tools.compare.prices import CompareError, PriceError, PriceTable
from tools.compare.workload import EksModel, MwaaModel, Profile

HOURS = 730
# The pricing date of every figure below: Kubernetes 1.34 (PINNED) and 1.35 are both in EKS standard support then
# (1.34 until 2026-12-02, 1.35 until 2027-03-27), so the control plane is 730 h x eks.cluster.
AS_OF = datetime.date(2026, 11, 26)


def _entry(price: float, unit: str = "hour") -> dict:
    return {"price": price, "unit": unit, "source": "test fixture", "asOf": "2026-01-01"}


TINY_PRICES = {
    "nat.hour": 0.05, "nat.gb": 0.1, "publicIpv4.hour": 0.01, "kms.keyMonth": 1, "secretsmanager.secretMonth": 0.5,
    "s3.standardGbMonth": 0.02, "logs.ingestGb": 0.5, "logs.storageGbMonth": 0.03,
    "mwaa.environment.mw1.micro": 0.05, "mwaa.environment.mw1.small": 0.1, "mwaa.worker.mw1.small": 0.1,
    "mwaa.metadbStorage": 0.1,
    "eks.cluster": 0.1, "eks.clusterExtended": 0.6, "ec2.t3.large": 0.05, "ec2.m6i.large": 0.1, "ec2.m6i.xlarge": 0.2, "ebs.gp3": 0.1,
    "elasticache.redis.cache.t4g.micro": 0.02, "elasticache.valkeyFactor": 0.8,
    "rds.postgres.db.t4g.micro": 0.02, "rds.gp3Storage": 0.1, "rds.multiAzMultiplier": 2,
    "dataTransfer.crossAzGb": 0.02,
    # Zero here so the literal totals below stay about the rest; test_alarms_are_priced_per_alarm_metric prices them.
    "cloudwatch.alarmStandardMetricMonth": 0, "cloudwatch.alarmHighResolutionMetricMonth": 0, "cloudwatch.customMetricMonth": 0,
}
TINY_FACTS = {
    "mwaa.classes": {"source": "test", "classes": {"mw1.micro": {"tasksPerWorker": 3}, "mw1.small": {"tasksPerWorker": 5},
                                                   "mw1.medium": {"tasksPerWorker": 10}, "mw1.large": {"tasksPerWorker": 20},
                                                   "mw1.xlarge": {"tasksPerWorker": 40}, "mw1.2xlarge": {"tasksPerWorker": 80}}},
    "mwaa.included": {"source": "test", "workers": 1},
    "discounts": {"source": "test", "commitment1y": {"ec2": {"discount": 0.3}, "rds": {"discount": 0.4},
                                                     "elasticache": {"discount": 0.5}},
                  "spot": {"ec2": {"discount": 0.6}}},
}


# The hand-computed figures price the declared resources only: no usage that grows with the workload.
NO_GROWTH = {"taskLogGbPerTaskHour": 0, "natGbPerTaskHour": 0, "eksCrossAzGbPerTaskHour": 0}


def tiny_table(**changes: float | None) -> PriceTable:
    prices = {**TINY_PRICES, **changes}
    return PriceTable({"currency": "USD", "hoursPerMonth": HOURS, "facts": TINY_FACTS,
                       "prices": {"us-east-1": {k: _entry(v) for k, v in prices.items() if v is not None}}},
                      path="tiny-prices.json")


# One stack config for both targets, every section pinned so other stacks' edits don't move the figures.
PINNED = {
    "aws:region": "us-east-1",
    "network": {"vpcCidr": "10.20.0.0/16", "natGateways": "single"},
    "mwaa": {"environmentClass": "mw1.small", "minWorkers": 1, "maxWorkers": 10, "schedulers": 2,
             "minWebservers": 2, "maxWebservers": 2},
    "eks": {"kubernetesVersion": "1.34",
            "nodeGroups": [{"name": "airflow", "instanceTypes": ["t3.large"], "minSize": 1, "desiredSize": 3,
                            "maxSize": 3, "diskSizeGb": 50}],
            "broker": "elasticache", "cache": {"engine": "valkey", "nodeType": "cache.t4g.micro", "nodes": 1},
            "database": {"instanceClass": "db.t4g.micro", "allocatedStorageGb": 20},
            "workers": {"minReplicas": 1, "maxReplicas": 3}},
    "workload": {"averageConcurrentTasks": 10, "peakConcurrentTasks": 10, "peakHoursPerDay": 24},
}


def pinned_plans(**changes) -> dict:
    config = {**PINNED, **changes}
    return {"mwaa": planned("dev", **{**config, "target": "mwaa"}), "eks": planned("dev", **{**config, "target": "eks"})}


def by_id(items) -> dict:
    return {item.id: item for item in items}


# ---------------------------------------------------------------------------------------------- literal totals


def test_declared_totals_on_the_tiny_price_table_match_the_hand_computed_literals():
    result = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF)
    # Shared: NAT 730 h x 0.05 = 36.50; NAT data 20 GB x 0.1 = 2.00; 1 EIP 730 h x 0.01 = 7.30; S3 gateway endpoint 0;
    # 1 KMS key 1.00; 1 secret 0.50; S3 5 GB x 0.02 = 0.10                                          -> 47.40
    # MWAA: environment 730 x 0.1 = 73.00 (min 1 worker, 2 schedulers, 2 web servers: all included); metadata 10 GB x 0.1
    # = 1.00; logs 5 GB x 0.5 + 5 GB x 0.03 = 2.65                                                 -> 76.65 + 47.40
    assert result.targets["mwaa"].total == pytest.approx(124.05, abs=1e-9)
    # EKS: control plane 730 x 0.1 = 73.00; nodes 3 x 730 x 0.05 = 109.50 (the idle pods need 3: always-on 2050m + a
    # 1700m worker pod on t3.large nodes with 1800m each); disks 3 x 50 GB x 0.1 = 15.00; Valkey node
    # 730 x 0.02 x 0.8 = 11.68; RDS 730 x 0.02 = 14.60; RDS storage 20 GB x 0.1 = 2.00; logs 2.65 -> 228.43 + 47.40
    assert result.targets["eks"].total == pytest.approx(275.83, abs=1e-9)
    shared = {t: total([i for i in r.items if i.scope == "shared"]) for t, r in result.targets.items()}
    assert shared == {"mwaa": pytest.approx(47.40), "eks": pytest.approx(47.40)}


def test_each_item_comes_from_the_declared_quantities():
    result = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF)
    mwaa, eks = by_id(result.targets["mwaa"].items), by_id(result.targets["eks"].items)
    assert (mwaa["shared.nat.hours"].quantity, mwaa["shared.nat.hours"].monthly) == (730, pytest.approx(36.5))
    assert (mwaa["shared.publicIpv4"].quantity, mwaa["shared.publicIpv4"].price_key) == (730, "publicIpv4.hour")
    assert mwaa["shared.vpce.gateway"].monthly == 0 and mwaa["shared.vpce.gateway"].price_key is None
    assert "target.mwaa.workers" not in mwaa  # min 1 worker: the included one
    assert eks["target.eks.nodes.airflow"].quantity == 3 * 730
    assert eks["target.eks.ebs.airflow"].quantity == 3 * 50
    assert eks["target.eks.cache.eks-broker"].unit_price == pytest.approx(0.016)  # 0.02 x 0.8 (Valkey)
    assert eks["target.eks.rds.eks-metadata-db"].monthly == pytest.approx(14.6)
    assert eks["target.eks.logs.ingest"].assumption == "eksLogsGbPerMonth"


def test_per_az_nat_doubles_nat_hours_and_public_ips():
    result = compare("dev", pinned_plans(network={"vpcCidr": "10.20.0.0/16", "natGateways": "perAz"}), tiny_table(),
                     Assumptions(NO_GROWTH), as_of=AS_OF)
    items = by_id(result.targets["mwaa"].items)
    assert items["shared.nat.hours"].monthly == pytest.approx(2 * 730 * 0.05)  # 73.00
    assert items["shared.publicIpv4"].monthly == pytest.approx(2 * 730 * 0.01)  # 14.60
    assert result.targets["mwaa"].total == pytest.approx(124.05 + 36.5 + 7.3)


def test_assumptions_move_only_their_items():
    base = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF)
    more = compare("dev", pinned_plans(), tiny_table(), Assumptions({"natDataGbPerMonth": 120, "mwaaMetadbGb": 30, **NO_GROWTH}),
                   as_of=AS_OF)
    # +100 GB x 0.1 NAT on both; +20 GB x 0.1 metadata on MWAA only
    assert more.targets["mwaa"].total - base.targets["mwaa"].total == pytest.approx(10 + 2)
    assert more.targets["eks"].total - base.targets["eks"].total == pytest.approx(10)


# ---------------------------------------------------------------------------------------------- real price file

REAL_OVERRIDES = {
    "mwaa": {"environmentClass": "mw1.small", "minWorkers": 3, "maxWorkers": 10, "schedulers": 3,
             "minWebservers": 2, "maxWebservers": 2},
    "eks": {**PINNED["eks"], "database": {"instanceClass": "db.t4g.small", "allocatedStorageGb": 40, "multiAz": True}},
}


def test_real_price_file_mwaa_items_are_the_arithmetic_of_its_entries():
    table = PriceTable.load()
    price = table.region("us-east-1")
    result = compare("dev", pinned_plans(**REAL_OVERRIDES), table, Assumptions(NO_GROWTH), as_of=AS_OF)
    items = by_id(result.targets["mwaa"].items)
    assert items["target.mwaa.environment"].monthly == pytest.approx(730 * price("mwaa.environment.mw1.small"))
    # minWorkers 3: 2 above the included one, always on
    assert items["target.mwaa.workers"].monthly == pytest.approx(2 * 730 * price("mwaa.worker.mw1.small"))
    # 3 schedulers: 1 above the class default of 2
    assert items["target.mwaa.schedulers"].monthly == pytest.approx(1 * 730 * price("mwaa.scheduler.mw1.small"))
    assert "target.mwaa.webservers" not in items
    expected_target = (730 * price("mwaa.environment.mw1.small") + 2 * 730 * price("mwaa.worker.mw1.small")
                       + 730 * price("mwaa.scheduler.mw1.small") + 10 * price("mwaa.metadbStorage")
                       + 5 * price("logs.ingestGb") + 5 * price("logs.storageGbMonth")
                       + 10 * price("cloudwatch.alarmStandardMetricMonth"))  # 9 alarms, 10 alarm metrics
    expected_shared = (730 * price("nat.hour") + 20 * price("nat.gb") + 730 * price("publicIpv4.hour")
                       + price("kms.keyMonth") + price("secretsmanager.secretMonth") + 5 * price("s3.standardGbMonth"))
    assert result.targets["mwaa"].total == pytest.approx(expected_target + expected_shared)


def test_real_price_file_eks_items_are_the_arithmetic_of_its_entries():
    table = PriceTable.load()
    price = table.region("us-east-1")
    result = compare("dev", pinned_plans(**REAL_OVERRIDES), table, Assumptions(NO_GROWTH), as_of=AS_OF)
    items = by_id(result.targets["eks"].items)
    multi_az = price("rds.multiAzMultiplier")
    assert items["target.eks.controlPlane"].monthly == pytest.approx(730 * price("eks.cluster"))
    assert items["target.eks.nodes.airflow"].monthly == pytest.approx(3 * 730 * price("ec2.t3.large"))
    assert items["target.eks.ebs.airflow"].monthly == pytest.approx(3 * 50 * price("ebs.gp3"))
    assert items["target.eks.cache.eks-broker"].monthly == pytest.approx(
        730 * price("elasticache.redis.cache.t4g.micro") * price("elasticache.valkeyFactor"))
    assert items["target.eks.rds.eks-metadata-db"].monthly == pytest.approx(730 * price("rds.postgres.db.t4g.small") * multi_az)
    assert items["target.eks.rdsStorage.eks-metadata-db"].monthly == pytest.approx(40 * price("rds.gp3Storage") * multi_az)


def test_quantities_come_from_the_planned_inputs_not_from_config():
    plan = copy.deepcopy(pinned_plans()["mwaa"])
    environment = plan.one("aws:mwaa/environment:Environment")
    environment.inputs.update(environmentClass="mw1.medium", minWorkers=4)
    decl = declared(plan, "mwaa")
    assert (decl.mwaa[0].environment_class, decl.mwaa[0].min_workers) == ("mw1.medium", 4)
    items = by_id(declared_cost(decl, PriceTable.load(), Assumptions(NO_GROWTH), as_of=AS_OF))
    assert items["target.mwaa.environment"].price_key == "mwaa.environment.mw1.medium"
    assert items["target.mwaa.workers"].quantity == 3 * 730


def test_shared_and_target_resources_are_split_by_component():
    plans = pinned_plans()
    mwaa, eks = resource_summary(plans["mwaa"], "mwaa"), resource_summary(plans["eks"], "eks")
    assert mwaa["shared"]["byType"] == eks["shared"]["byType"]  # switching target never touches the platform
    assert mwaa["shared"]["byType"]["aws:ec2/natGateway:NatGateway"] == 1
    assert mwaa["target"]["byType"]["aws:mwaa/environment:Environment"] == 1
    assert "aws:mwaa/environment:Environment" not in eks["target"]["byType"]
    assert eks["target"]["byType"]["eks:index:ManagedNodeGroup"] == 1
    assert mwaa["total"] == mwaa["shared"]["count"] + mwaa["target"]["count"] + mwaa.get("other", {}).get("count", 0)


# ---------------------------------------------------------------------------------------------- capacity models


# Pods as the program's defaults make them: a worker pod is 100m/512Mi + 8 tasks x 200m/400Mi = 1700m/3712Mi; each
# node keeps 200m/1300Mi (t3.large and m6i.large: 1800m/6892Mi left for pods; m6i.xlarge: 3800m/15084Mi).
WORKER_POD = PodResources(1700, 3712)
RESERVED = PodResources(200, 1300)


def _decl(mwaa=(), node_groups=(), concurrency=8, platform=PodResources(1000, 2048), node_group=None) -> Declared:
    return Declared(target="x", region="us-east-1", platform={"shared": Platform(), "target": Platform()}, mwaa=tuple(mwaa),
                    eks_clusters=1 if node_groups else 0, kubernetes_version="1.35" if node_groups else None,
                    node_groups=tuple(node_groups),
                    workers=CeleryWorkers(concurrency=concurrency, min_replicas=1, max_replicas=10, pod=WORKER_POD,
                                          node_group=node_group),
                    pods=PodSizes(platform={"airflow": platform}, node_reserved=RESERVED))


def test_mwaa_model_picks_the_cheapest_class_that_holds_the_peak():
    table = tiny_table()
    decl = _decl(mwaa=[MwaaEnvironment("env", "mw1.micro", 1, 1, 1, 1, 1)])
    model = MwaaModel(decl, declared_cost(decl, table, Assumptions(NO_GROWTH), as_of=AS_OF), table)
    # micro holds 3 tasks: 730 x 0.05 = 36.50 + metadata 1.00 + logs 2.65
    point = model.point(Profile(2, 3, 4, HOURS))
    assert (point.environment_class, point.monthly) == ("mw1.micro", pytest.approx(40.15))
    # peak 10 for 12 h/day, average 4: mw1.small, 1 worker off-peak, 2 at peak -> 1 extra worker x 365 h x 0.1
    point = model.point(Profile(4, 10, 12, HOURS))
    assert (point.environment_class, point.workers_off_peak, point.workers_peak) == ("mw1.small", 1, 2)
    assert point.monthly == pytest.approx(73 + 1 + 2.65 + 36.5)
    # mw1.medium and up have no prices in the tiny table: above mw1.small's 125 tasks nothing can be priced
    assert model.point(Profile(130, 130, 24, HOURS)) is None
    assert model.holdable(130)


def test_eks_model_packs_whole_worker_pods_and_the_always_on_pods_onto_nodes():
    table = tiny_table()
    group = NodeGroup("airflow", ("t3.large",), "ON_DEMAND", min_size=1, desired_size=2, max_size=3, disk_gb=50)
    decl = _decl(node_groups=[group])
    model = EksModel(decl, declared_cost(decl, table, Assumptions(NO_GROWTH), as_of=AS_OF), table)
    assert model.pods_per_node == 1  # 1800m / 1700m
    # 4 tasks: 1 worker pod -> 1 node with 100m / 3180Mi left; the always-on 1000m/2048Mi need one node more
    assert model.nodes(4) == 2
    # 16 tasks: 2 pods -> 2 nodes, 200m left; + 1 for the always-on pods
    assert model.nodes(16) == 3
    # 40 tasks: 5 pods -> 5 nodes, 500m left; + 1
    assert model.nodes(40) == 6
    # monthly: fixed items (control plane 73 + logs 2.65) + node-hours x (0.05 + 50 GB x 0.1 / 730)
    point = model.point(Profile(4, 16, 6, HOURS))  # 547.5 h at 2 nodes, 182.5 h at 3 nodes
    assert (point.nodes_off_peak, point.nodes_peak, point.worker_pods_peak) == (2, 3, 2)
    assert point.monthly == pytest.approx(75.65 + (2 * 547.5 + 3 * 182.5) * (0.05 + 5 / 730))


def test_eks_model_never_splits_a_worker_pod_across_nodes():
    # the old per-vCPU model would put 16 tasks x 0.2 vCPU on 2 t3.large nodes; a pod of 16 tasks fits on none
    group = NodeGroup("airflow", ("t3.large",), "ON_DEMAND", 1, 2, 3, 50)
    decl = dataclasses.replace(_decl(node_groups=[group]), workers=CeleryWorkers(16, 1, 10, PodResources(3300, 6912), None))
    with pytest.raises(CompareError, match=r"^a worker pod \(3300m CPU / 6912 MiB\) does not fit on a t3.large node "
                                           r"\(1800m CPU / 6892 MiB for pods\)"):
        EksModel(decl, [], tiny_table())


def test_eks_model_scales_the_group_the_workers_are_pinned_to():
    table = tiny_table()
    system = NodeGroup("system", ("m6i.large",), "ON_DEMAND", 2, 2, 3, 50)
    workers = NodeGroup("workers", ("m6i.xlarge",), "ON_DEMAND", 1, 2, 10, 50)
    decl = _decl(node_groups=[system, workers], platform=PodResources(2050, 4864), node_group="workers")
    model = EksModel(decl, declared_cost(decl, table, Assumptions(NO_GROWTH), as_of=AS_OF), table)
    assert model.scaling.name == "workers"
    # m6i.xlarge: 3800m/15084Mi for pods -> 2 worker pods per node; the always-on pods fit on the 2 system nodes
    assert model.pods_per_node == 2
    assert model.nodes(30) == 2  # 4 pods
    assert model.nodes(0) == 1  # KEDA's minimum of 1 pod
    # the system group's nodes and disks stay in the fixed part: 2 x 730 x 0.1 + 2 x 50 x 0.1 = 156.00, plus the
    # control plane 73.00 and logs 2.65
    assert model.fixed == pytest.approx(156 + 73 + 2.65)
    # pinned to the system group instead, that one scales although the other has the larger maxSize
    pinned = EksModel(dataclasses.replace(decl, workers=dataclasses.replace(decl.workers, node_group="system")),
                      declared_cost(decl, table, Assumptions(NO_GROWTH), as_of=AS_OF), table)
    assert pinned.scaling.name == "system"


# ---------------------------------------------------------------------------------------------- missing prices


def test_a_missing_price_is_an_error_naming_the_key_region_and_what_exists():
    with pytest.raises(PriceError) as caught:
        PriceTable.load().region("us-east-1").get("rds.postgres.db.r7g.large")
    message = str(caught.value)
    assert "'rds.postgres.db.r7g.large'" in message and "us-east-1" in message
    assert "available rds.postgres.*: db.m7g.large, db.t4g.medium, db.t4g.micro, db.t4g.small" in message
    assert "supply it with --prices FILE" in message
    assert "\n" not in message


def test_a_declared_size_the_table_lacks_stops_the_costing():
    with pytest.raises(PriceError, match=r"'ec2\.t3\.large' for region us-east-1 .*available ec2\.\*: m6i\.large, m6i\.xlarge"):
        compare("dev", pinned_plans(), tiny_table(**{"ec2.t3.large": None}), Assumptions(NO_GROWTH), as_of=AS_OF)


def test_an_unknown_region_lists_the_regions_with_prices():
    with pytest.raises(PriceError) as caught:
        PriceTable.load().region("ap-south-1")
    assert str(caught.value) == ("no prices for region 'ap-south-1' in tools/pricing/prices.json; regions with prices: "
                                 "eu-central-1, eu-west-1, us-east-1, us-east-2, us-west-2")


# ---------------------------------------------------------------------------------------------- EKS support dates


def test_control_plane_is_priced_at_the_standard_rate_up_to_the_end_of_standard_support():
    # PINNED runs Kubernetes 1.34, in standard support until 2026-12-02 (its last day): 730 h x 0.10 = 73.00
    result = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=datetime.date(2026, 12, 2))
    item = by_id(result.targets["eks"].items)["target.eks.controlPlane"]
    assert (item.price_key, item.unit_price, item.quantity) == ("eks.cluster", 0.1, 730)
    assert item.monthly == pytest.approx(73.00)
    assert item.label == "EKS control plane: standard support (until 2026-12-02)"
    assert result.targets["eks"].total == pytest.approx(275.83)  # the literal of the first test above


def test_control_plane_is_priced_at_the_extended_rate_after_the_end_of_standard_support():
    # the day after: extended support, 730 h x 0.60 = 438.00, i.e. 365.00 more than standard (275.83 -> 640.83)
    result = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=datetime.date(2026, 12, 3))
    item = by_id(result.targets["eks"].items)["target.eks.controlPlane"]
    assert (item.price_key, item.unit_price, item.quantity) == ("eks.clusterExtended", 0.6, 730)
    assert item.monthly == pytest.approx(438.00)
    assert item.label == "EKS control plane: extended support (standard ended 2026-12-02)"
    assert result.targets["eks"].total == pytest.approx(640.83)
    assert result.targets["mwaa"].total == pytest.approx(124.05)  # MWAA has no control plane: unchanged
    # the break-even's fixed EKS part carries the extended rate: 640.83 minus the scaling group's nodes
    # (3 x 730 x 0.05 = 109.50) and disks (3 x 50 GB x 0.1 = 15.00) = 516.33
    model = EksModel(result.targets["eks"].declared, result.targets["eks"].items, tiny_table())
    assert model.fixed == pytest.approx(516.33)


def test_control_plane_on_the_real_price_file_standard_vs_extended():
    # dev-like pin on Kubernetes 1.35 (standard support until 2027-03-27); prices.json: eks.cluster $0.10/h,
    # eks.clusterExtended $0.60/h -> 730 x 0.10 = 73.00 vs 730 x 0.60 = 438.00
    plans = pinned_plans(eks={**PINNED["eks"], "kubernetesVersion": "1.35"})
    table = PriceTable.load()
    standard = by_id(compare("dev", plans, table, Assumptions(NO_GROWTH), as_of=datetime.date(2027, 3, 27)).targets["eks"].items)
    extended = by_id(compare("dev", plans, table, Assumptions(NO_GROWTH), as_of=datetime.date(2027, 3, 28)).targets["eks"].items)
    assert standard["target.eks.controlPlane"].monthly == pytest.approx(73.00)
    assert extended["target.eks.controlPlane"].monthly == pytest.approx(438.00)
    assert extended["target.eks.controlPlane"].label == "EKS control plane: extended support (standard ended 2027-03-27)"


def test_every_allowed_kubernetes_version_has_an_end_of_standard_support_date():
    assert set(EKS_KUBERNETES_VERSIONS) <= set(STANDARD_SUPPORT_END)
    # the dates of docs/research/chart-notes.md ("EKS Kubernetes versions")
    assert STANDARD_SUPPORT_END["1.33"] == datetime.date(2026, 7, 29)
    assert STANDARD_SUPPORT_END["1.34"] == datetime.date(2026, 12, 2)
    assert STANDARD_SUPPORT_END["1.35"] == datetime.date(2027, 3, 27)


def test_a_kubernetes_version_without_support_dates_is_a_clean_error():
    group = NodeGroup("airflow", ("t3.large",), "ON_DEMAND", min_size=1, desired_size=2, max_size=3, disk_gb=50)
    decl = Declared(target="eks", region="us-east-1", platform={"shared": Platform(), "target": Platform()},
                    eks_clusters=1, kubernetes_version="1.99", node_groups=(group,))
    with pytest.raises(CompareError) as caught:
        declared_cost(decl, tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF)
    assert str(caught.value) == ("no end-of-standard-support date for Kubernetes 1.99 in tools/compare/eks_support.py; "
                                 "known: 1.33, 1.34, 1.35, 1.36")


# ---------------------------------------------------------------------------------------------- declared inputs


def test_a_node_group_without_instance_types_is_an_error_not_a_guess():
    # the EKS plan holds Outputs (no deepcopy): a shallow copy with the node group's inputs replaced
    plan = pinned_plans()["eks"]
    group = plan.one("eks:index:ManagedNodeGroup")
    stripped = dataclasses.replace(group, inputs={k: v for k, v in group.inputs.items() if k != "instanceTypes"})
    decl = declared(dataclasses.replace(plan, resources=[stripped if r is group else r for r in plan.resources]), "eks")
    with pytest.raises(CompareError, match="^node group airflow declares no instanceTypes"):
        declared_cost(decl, tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF)
    with pytest.raises(CompareError, match="^node group airflow declares no instanceTypes"):
        EksModel(decl, [], tiny_table())


def test_an_mwaa_environment_without_its_class_is_an_error_not_a_guess():
    plan = copy.deepcopy(pinned_plans()["mwaa"])
    del plan.one("aws:mwaa/environment:Environment").inputs["environmentClass"]
    with pytest.raises(CompareError, match="declares no environmentClass"):
        declared(plan, "mwaa")


def test_unpriced_notes_are_each_targets_own_and_the_shared_one_comes_once_at_the_end():
    result = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF)
    assert SHARED_UNPRICED_NOTE not in unpriced_notes(result.targets["mwaa"].declared)
    assert SHARED_UNPRICED_NOTE not in unpriced_notes(result.targets["eks"].declared)
    assert result.notes.count(SHARED_UNPRICED_NOTE) == 1
    # every note of each target is kept (none dropped by position), each once
    for target in ("mwaa", "eks"):
        assert set(unpriced_notes(result.targets[target].declared)) <= set(result.notes)
    assert len(result.notes) == len(set(result.notes))
    assert "MWAA's web server endpoint is part of the environment price: no load balancer to add" in result.notes
    assert any(note.startswith("pulumi-eks creates the cluster's IAM roles") for note in result.notes)


def test_alarms_are_priced_per_alarm_metric_and_the_eks_agents_metrics():
    table = tiny_table(**{"cloudwatch.alarmStandardMetricMonth": 0.1, "cloudwatch.alarmHighResolutionMetricMonth": 0.3,
                          "cloudwatch.customMetricMonth": 0.3})
    result = compare("dev", pinned_plans(), table, Assumptions({**NO_GROWTH, "eksAgentCustomMetrics": 40}), as_of=AS_OF)
    mwaa, eks = by_id(result.targets["mwaa"].items), by_id(result.targets["eks"].items)
    for items, math in ((mwaa, 2), (eks, 3)):
        # 9 alarms of 300 s periods, 10 alarm metrics x 0.10: metric math in workers-stalled (2 metrics) and pool-starving
        # (1), and on EKS broker-oldest-task (1, milliseconds to seconds)
        alarms = items["target.alarms.alarmStandardMetricMonth"]
        assert (alarms.quantity, alarms.monthly) == (10, pytest.approx(1.0))
        assert alarms.label.endswith("(9)") and alarms.note.startswith(f"{math} with metric math")
        assert "target.alarms.alarmHighResolutionMetricMonth" not in items
    # EKS: the agent's custom metrics (an assumption, measured by twin-alarms) x 0.30; MWAA's are the service's own.
    assert (eks["target.eks.agentMetrics"].quantity, eks["target.eks.agentMetrics"].monthly) == (40, pytest.approx(12.0))
    assert eks["target.eks.agentMetrics"].assumption == "eksAgentCustomMetrics"
    assert "target.eks.agentMetrics" not in mwaa
    base = compare("dev", pinned_plans(), tiny_table(), Assumptions(NO_GROWTH), as_of=AS_OF)
    assert result.targets["mwaa"].total == pytest.approx(base.targets["mwaa"].total + 1.0)
    assert result.targets["eks"].total == pytest.approx(base.targets["eks"].total + 1.0 + 12.0)


def test_a_high_resolution_alarm_is_priced_at_the_high_resolution_rate():
    from tools.compare.costs import Pricer, _alarms
    from tools.compare.declared import Alarm, Declared

    table = tiny_table(**{"cloudwatch.alarmStandardMetricMonth": 0.1, "cloudwatch.alarmHighResolutionMetricMonth": 0.3})
    pricer = Pricer(table, "us-east-1")
    decl = Declared(target="mwaa", region="us-east-1", platform={},
                    alarms=(Alarm("fast", 1, 10, False), Alarm("slow", 2, 300, True)))
    _alarms(pricer, decl, Assumptions(NO_GROWTH))
    items = by_id(pricer.items)
    assert items["target.alarms.alarmHighResolutionMetricMonth"].monthly == pytest.approx(0.3)
    assert items["target.alarms.alarmStandardMetricMonth"].monthly == pytest.approx(0.2)
