"""What CloudWatch would hold, from the StatsD datagrams Airflow really sent: each target's agent mapping, applied.

The alarms (alarm_eval.py) read only these datapoints, so an alarm whose metric name or dimensions do not match what
the target's agent publishes never fires on the twin: the mapping here is written from each agent's documentation,
never from components/alarms/bindings.py.

EKS: the CloudWatch agent's StatsD input. The agent accepts `name:value|type|@rate|#tags`, publishes tags as dimensions,
and aggregates every `metrics_collection_interval` (AWS, "Retrieve custom metrics with StatsD",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Agent-custom-metrics-statsd.html). It runs
Telegraf's statsd input (the agent's translated config has `[[inputs.statsd]]`, aws/amazon-cloudwatch-agent translator
samples), whose defaults name a metric by joining the dotted name with `metric_separator` "_", tag it `metric_type`
(counter, gauge, timing, ...), sum counters and keep a gauge's last value per interval, and drop both after each flush
(`delete_counters`/`delete_gauges` true: no datapoint for an interval with no datagram); influxdata/telegraf,
plugins/inputs/statsd/README.md. Checked in the agent's own code (aws/amazon-cloudwatch-agent at ab55b8d): its fork of
the input keeps those defaults (plugins/inputs/statsd/statsd.go: separator "_", delete_* true, field `value`, tag
`metric_type`; timers kept as raw samples, a histogram, not mean/upper fields); the translator sets no separator or
templates (translator/translate/metrics/metrics_collect/statsd/); the metric name of a `value` field is the
measurement's own (internal/metric/metric.go DecorateMetricName); tags other than `aws:*` become dimensions
(plugins/outputs/cloudwatch/convert_otel.go), and no `host` tag exists with `omit_hostname` (our agent config); each
minute goes out as a statistic set (Sum, Maximum, SampleCount exact) of unit None. docs/operations.md names the same files.

MWAA: MWAA's published table of Airflow metrics in CloudWatch (namespace `AmazonMWAA`, each metric with its
dimensions, plus `Environment`): awsdocs/amazon-mwaa-user-guide, doc_source/access-metrics-cw-220.md (commit 4de37acf),
"Apache Airflow metrics available in CloudWatch". `TriggererHeartbeat` (Airflow 2.8.1+) is named by MWAA's current
"Monitoring dashboards and alarms" page but not in that table: its `Function` value `Triggerer` is inferred from the
table's pattern (SchedulerHeartbeat: Function Scheduler), not read.

Time scale, for values: the twin runs every alarm period TIME_SCALE times faster (alarm_eval.py), so a duration Airflow
measures on it stands for TIME_SCALE times as long in production, exactly as a period does: a task that waited 90 s on
the twin is a 1800 s wait. `twin_value` applies that to every duration (a StatsD timing) and to nothing else, on both
targets, before any agent's aggregation; counts and gauges are unchanged.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from components.alarms import agent

from .errors import TwinError
from .statsd import Metric
from .wiring import StackWiring

STATSD_TYPES = {"c": "counter", "g": "gauge", "ms": "timing", "h": "histogram", "s": "set"}
# StatsD types whose value is a duration (a timing, `|ms`); a histogram (`|h`) can hold any quantity, so it is not one.
DURATION_TYPES = frozenset({"ms"})
MWAA_PREFIX = "airflow."  # mwaa_runtime.STATSD: STATSD_PREFIX=airflow

# MWAA's table: Airflow metric (regex over the name without the prefix) -> (CloudWatch metric, dimensions).
MWAA_TABLE: tuple[tuple[str, str, dict[str, str]], ...] = (
    (r"scheduler_heartbeat", "SchedulerHeartbeat", {"Function": "Scheduler"}),
    (r"triggerer_heartbeat", "TriggererHeartbeat", {"Function": "Triggerer"}),
    (r"dag_processing\.import_errors", "ImportErrors", {"Function": "DAG Processing"}),
    (r"scheduler\.tasks\.starving", "TasksStarving", {"Function": "Scheduler"}),
    (r"scheduler\.tasks\.executable", "TasksExecutable", {"Function": "Scheduler"}),
    (r"ti_failures", "TaskInstanceFailures", {"DAG": "All", "Task": "All"}),
    (r"ti_successes", "TaskInstanceSuccesses", {"DAG": "All", "Task": "All"}),
    (r"executor\.queued_tasks", "QueuedTasks", {"Function": "Executor"}),
    (r"executor\.running_tasks", "RunningTasks", {"Function": "Executor"}),
    (r"pool\.queued_slots\.(?P<pool>[^.]+)", "PoolQueuedSlots", {"Pool": "{pool}"}),
    (r"pool\.running_slots\.(?P<pool>[^.]+)", "PoolRunningSlots", {"Pool": "{pool}"}),
    (r"pool\.open_slots\.(?P<pool>[^.]+)", "PoolOpenSlots", {"Pool": "{pool}"}),
    (r"pool\.starving_tasks\.(?P<pool>[^.]+)", "PoolStarvingTasks", {"Pool": "{pool}"}),
)


@dataclass(frozen=True)
class Datapoint:
    at: float
    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]
    value: float


MapFunction = Callable[[list[Metric], float], list[Datapoint]]  # datagrams, time scale -> datapoints


def twin_value(metric: Metric, scale: float) -> float:
    """The value production would have sent: a duration measured on the twin's compressed clock, times `scale` (the
    same factor that shortens every period); any other value as sent."""
    return metric.value * scale if metric.type in DURATION_TYPES else metric.value


@dataclass(frozen=True)
class Mapping:
    namespace: str  # where the agent publishes Airflow's metrics (any other namespace is AWS's own)
    map: MapFunction


def eks_mapping(stack: StackWiring) -> Mapping:
    """The CloudWatch agent as the plan's add-on configures it (namespace, collection interval)."""
    addons = [r for r in stack.plan.of_type("aws:eks/addon:Addon") if r.inputs.get("addonName") == agent.ADDON]
    if len(addons) != 1:
        raise TwinError(f"the plan declares {len(addons)} {agent.ADDON} add-ons; expected one")
    config = json.loads(addons[0].inputs["configurationValues"])["agent"]["config"]
    namespace = config["metrics"]["namespace"]
    interval = float(config["metrics"]["metrics_collected"]["statsd"].get("metrics_collection_interval", 10))

    def mapped(metrics: list[Metric], scale: float) -> list[Datapoint]:
        flush = interval / scale  # the agent's interval on the twin's clock, as every alarm period
        buckets: dict[tuple[str, str, int], list[Metric]] = {}
        for m in metrics:
            buckets.setdefault((m.name, m.type, int(m.at // flush)), []).append(m)
        points = []
        for (name, kind, slot), group in sorted(buckets.items(), key=lambda kv: kv[0][2]):
            dims = frozenset({("metric_type", STATSD_TYPES.get(kind, kind))})
            cw_name, at = name.replace(".", "_"), (slot + 1) * flush
            if kind == "c":
                points.append(Datapoint(at, namespace, cw_name, dims, sum(m.value for m in group)))
            elif kind == "g":
                points.append(Datapoint(at, namespace, cw_name, dims, group[-1].value))
            else:  # timings: every sample (the agent sends a statistic set; the alarms' statistics read the same)
                points += [Datapoint(at, namespace, cw_name, dims, twin_value(m, scale)) for m in group]
        return points

    return Mapping(namespace, mapped)


def mwaa_mapping(stack: StackWiring) -> Mapping:
    """MWAA's published table; Airflow metrics it does not list are not published."""
    table = [(re.compile(pattern), name, dims) for pattern, name, dims in MWAA_TABLE]
    environment = stack.environment_name

    @functools.lru_cache(maxsize=None)
    def published_as(statsd_name: str) -> tuple[str, frozenset] | None:
        if not statsd_name.startswith(MWAA_PREFIX):
            return None
        for pattern, name, dims in table:
            match = pattern.fullmatch(statsd_name[len(MWAA_PREFIX):])
            if match:
                values = {k: v.format(**match.groupdict()) for k, v in dims.items()}
                return name, frozenset({**values, "Environment": environment}.items())
        return None

    def mapped(metrics: list[Metric], scale: float) -> list[Datapoint]:
        return [Datapoint(m.at, "AmazonMWAA", *found, twin_value(m, scale)) for m in metrics
                if (found := published_as(m.name))]

    return Mapping("AmazonMWAA", mapped)


def mapping_for(target: str, stack: StackWiring) -> Mapping:
    return eks_mapping(stack) if target == "eks" else mwaa_mapping(stack)


def published(points: Iterable[Datapoint]) -> set[tuple[str, str, frozenset]]:
    """Every (namespace, metric, dimensions) the agent would publish: a custom metric each."""
    return {(p.namespace, p.name, p.dimensions) for p in points}
