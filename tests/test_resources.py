"""Pod requests are set once in settings (eks.workers.*, eks.resources.*): the chart values carry them, a pod that
fits on no node is a config error, and tools/compare packs exactly those figures onto nodes."""

from __future__ import annotations

import pytest

from components.instance_types import spec
from components.settings import ConfigError, parse_settings
from tests.conftest import planned, stack_value
from tests.test_costs import PINNED, pinned_plans
from tools.compare.declared import declared
from tools.compare.workload import EksModel

RELEASE = "kubernetes:helm.sh/v3:Release"


def values_of(**overrides) -> dict:
    return planned("dev", target="eks", **overrides).one(RELEASE, "eks-airflow").inputs["values"]


def requests(node: dict) -> dict:
    return node["resources"]["requests"]


def test_worker_requests_are_concurrency_times_the_task_plus_the_pod_and_pinned_to_the_worker_group():
    eks = {**stack_value("dev", "eks"), "workers": {"concurrency": 4, "taskCpuMillis": 250, "taskMemoryMiB": 300,
                                                    "podCpuMillis": 100, "podMemoryMiB": 200}}
    values = values_of(eks=eks)  # Airflow 3.3.1 -> chart 1.21.0: the Celery keys live under workers.celery
    celery = values["workers"]["celery"]
    assert celery["resources"] == {"requests": {"cpu": "1100m", "memory": "1400Mi"},
                                   "limits": {"cpu": "2200m", "memory": "1400Mi"}}
    assert celery["nodeSelector"] == {"airflow/node-group": "airflow"}
    assert "resources" not in values["workers"]  # the deprecated key is not set on 1.21.0
    assert values["config"]["celery"]["worker_concurrency"] == "4"


def test_chart_1_19_gets_the_worker_requests_at_its_own_key():
    values = values_of(airflowVersion="2.10.3")
    assert requests(values["workers"]) == {"cpu": "1700m", "memory": "3712Mi"}  # 100m + 8 x 200m, 512Mi + 8 x 400Mi
    assert values["workers"]["nodeSelector"] == {"airflow/node-group": "airflow"}
    assert requests(values["webserver"]) == {"cpu": "250m", "memory": "1024Mi"}


def test_every_always_on_component_requests_what_settings_say():
    eks = {**stack_value("dev", "eks"), "resources": {"scheduler": {"cpuMillis": 700}, "pgbouncer": {"memoryMiB": 64}}}
    values = values_of(eks=eks)
    assert requests(values["scheduler"]) == {"cpu": "700m", "memory": "1024Mi"}  # memory keeps its default
    assert requests(values["pgbouncer"]) == {"cpu": "100m", "memory": "64Mi"}
    assert requests(values["pgbouncer"]["metricsExporterSidecar"]) == {"cpu": "50m", "memory": "64Mi"}
    assert values["statsd"]["enabled"] is False  # StatsD goes to the CloudWatch agent, sized per node
    for key in ("dagProcessor", "triggerer", "apiServer"):
        assert requests(values[key])["cpu"].endswith("m"), key
        assert values[key]["resources"]["limits"]["memory"] == requests(values[key])["memory"], key


def test_prod_pins_workers_to_the_group_that_scales():
    values = planned("prod", target="eks").one(RELEASE, "eks-airflow").inputs["values"]
    assert values["workers"]["celery"]["nodeSelector"] == {"airflow/node-group": "workers"}


@pytest.mark.parametrize("eks, message", [
    ({"nodeGroups": [{"name": "airflow", "instanceTypes": ["t3.large"]}], "workers": {"concurrency": 16}},
     "eks.workers.concurrency: 16 makes a worker pod request 3300m CPU / 6912 MiB (podCpuMillis 100 + concurrency 16 × "
     "taskCpuMillis 200; podMemoryMiB 512 + 16 × taskMemoryMiB 400) but a t3.large node of group airflow has 1700m CPU "
     "/ 6764 MiB for pods; allowed: a smaller eks.workers.concurrency or task size, or a larger instance type"),
    ({"nodeGroups": [{"name": "a", "instanceTypes": ["m6i.large", "t3.medium"]}]},
     "eks.workers.concurrency: 8 makes a worker pod request 1700m CPU / 3712 MiB (podCpuMillis 100 + concurrency 8 × "
     "taskCpuMillis 200; podMemoryMiB 512 + 8 × taskMemoryMiB 400) but a t3.medium node of group a has 1700m CPU / "
     "2668 MiB for pods; allowed: a smaller eks.workers.concurrency or task size, or a larger instance type"),
    ({"resources": {"scheduler": {"cpuMillis": 4000}}},
     "eks.resources.scheduler with eks.resources.queuedAgeExporter (its sidecar): 4010m CPU / 1088 MiB fits on no node group (largest: airflow/m6i.large with 1700m CPU / "
     "6764 MiB for pods); allowed: smaller requests, or a larger instance type"),
    ({"nodeGroups": [{"name": "gpu", "instanceTypes": ["g5.xlarge"]}]},
     'eks.nodeGroups[0].instanceTypes[0]: "g5.xlarge" has no known vCPU/memory to fit pods on; allowed: t3, t3a or '
     "t4g types, or an m, c or r family type such as m6i.large (sizes medium to 48xlarge)"),
    ({"workers": {"nodeGroup": "workers"}},
     'eks.workers.nodeGroup: "workers" is not a node group; allowed: airflow'),
    ({"workers": {"taskCpuMillis": 5}}, "eks.workers.taskCpuMillis: 5 is out of range; allowed: 10 to 64000"),
    ({"resources": {"scheduler": {"cpu": 1}}},
     "eks.resources.scheduler.cpu: unknown config key; allowed keys: cpuMillis, memoryMiB"),
])
def test_a_pod_that_fits_no_node_is_one_config_line(eks, message):
    with pytest.raises(ConfigError) as caught:
        parse_settings({"target": "eks", "eks": eks}, "dev")
    assert caught.value.problems == [message]


def test_the_shipped_stacks_fit():
    for stack in ("dev", "prod"):
        planned(stack, target="eks")  # plans: every pod fits


def test_instance_sizes_follow_the_ec2_naming_rules():
    assert spec("t3.large") == (2, 8) and spec("t4g.medium") == (2, 4)
    assert spec("m6i.xlarge") == (4, 16) and spec("c6i.large") == (2, 4) and spec("r7g.2xlarge") == (8, 64)
    assert spec("m7i-flex.large") == (2, 8)
    assert spec("g5.xlarge") is None and spec("m6i.metal") is None


def test_the_comparison_reads_the_pods_from_the_plan_not_from_assumptions():
    workers = {"minReplicas": 1, "maxReplicas": 3, "concurrency": 4}  # pod: 100m + 4 x 200m = 900m, 512 + 1600 MiB
    plans = pinned_plans(eks={**PINNED["eks"], "workers": workers})
    decl = declared(plans["eks"], "eks")
    assert (decl.workers.concurrency, decl.workers.pod.cpu_millis, decl.workers.pod.memory_mib) == (4, 900, 2112)
    assert decl.workers.node_group == "airflow"
    # scheduler 500 + its queued-age exporter 10 + dag-processor 250 + triggerer 250 + api-server 250 + PgBouncer 100
    # + its stats exporter 50 + system add-ons 600 = 2010m; every node keeps 200m + the CloudWatch agent's 100m
    assert sum(p.cpu_millis for p in decl.pods.platform.values()) == 2010
    assert decl.pods.platform["scheduler"].memory_mib == 1024 + 64  # the sidecar's requests count with its pod
    assert decl.pods.node_reserved.cpu_millis == 300
    from tests.test_costs import tiny_table

    model = EksModel(decl, [], tiny_table())
    assert model.pods_per_node == 1  # t3.large: 1700m for pods / 900m
    # 20 tasks: 5 pods -> 5 nodes with 800m free each, which hold the always-on 2000m
    assert model.nodes(20) == 5


def test_mwaa_prices_web_servers_up_to_max_at_peak_and_schedulers_above_the_included_two():
    from tests.test_costs import AS_OF, NO_GROWTH, tiny_table
    from tools.compare.assumptions import Assumptions
    from tools.compare.core import compare
    from tools.compare.workload import MwaaModel, Profile

    mwaa = {**PINNED["mwaa"], "schedulers": 3, "minWebservers": 2, "maxWebservers": 4}
    table = tiny_table(**{"mwaa.scheduler.mw1.small": 0.2, "mwaa.webserver.mw1.small": 0.1})
    result = compare("dev", pinned_plans(mwaa=mwaa), table, Assumptions(NO_GROWTH), as_of=AS_OF)
    target = result.targets["mwaa"]
    model = MwaaModel(target.declared, target.items, table)
    # 5 tasks all day at peak 10 for 6 h/day: off-peak 547.5 h, peak 182.5 h. Environment 730 x 0.1 = 73; one worker
    # extra at peak: 182.5 x 0.1 = 18.25; one scheduler above the included 2: 730 x 0.2 = 146; web servers: 2 (the
    # included ones) off-peak, 4 at peak -> 2 x 182.5 x 0.1 = 36.5; fixed items (NAT, KMS, ...) unchanged.
    point = model.point(Profile(5, 10, 6, 730))
    assert point.monthly - model.fixed == pytest.approx(73 + 18.25 + 146 + 36.5)


def test_prod_compares_and_a_missing_price_can_be_supplied_with_prices_file(tmp_path, capsys, monkeypatch):
    import json

    import tools.compare.core as core
    from tools.compare import cli

    monkeypatch.setattr(core, "run_plan", lambda stack, overrides: planned(stack, **overrides))
    assert cli.main(["--stack", "prod", "--no-plot", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rds = next(i for i in result["targets"]["eks"]["cost"]["items"] if i["id"].startswith("target.eks.rds."))
    assert (rds["priceKey"], rds["unitPrice"], rds["quantity"]) == ("rds.postgres.db.m7g.large", 0.168, 1460)
    # us-east-2 has no S3 price: the error says how to supply it; a --prices file with it gets past that key
    assert cli.main(["--stack", "dev", "--region", "us-east-2", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert "no price 's3.standardGbMonth' for region us-east-2" in err and "supply it with --prices FILE" in err
    extra = tmp_path / "more.json"
    extra.write_text(json.dumps({"prices": {"us-east-2": {"s3.standardGbMonth": {
        "price": 0.023, "unit": "GB-month", "source": "https://example.invalid/s3", "asOf": "2026-11-30"}}}}))
    assert cli.main(["--stack", "dev", "--region", "us-east-2", "--no-plot", "--prices", str(extra)]) == 2
    err = capsys.readouterr().err
    assert "s3.standardGbMonth" not in err and "no price '" in err  # the next missing key, not the supplied one
    extra.write_text(json.dumps({"prices": {"us-east-2": {"s3.standardGbMonth": {"price": 0.023}}}}))
    assert cli.main(["--stack", "dev", "--region", "us-east-2", "--no-plot", "--prices", str(extra)]) == 2
    assert 'prices.us-east-2.s3.standardGbMonth has no "source"' in capsys.readouterr().err
