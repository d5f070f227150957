"""Which metric each alarm of spec.py reads on each target (the rule stays spec.py's).

MWAA (https://docs.aws.amazon.com/mwaa/latest/userguide/access-metrics-cw.html, "Dimensions" and the metrics tables, as
archived in awsdocs/amazon-mwaa-user-guide doc_source/access-metrics-cw-220.md: each Airflow metric's CloudWatch name
and dimensions, e.g. ti_failures -> TaskInstanceFailures {DAG: All, Task: All}, pool.queued_slots.<pool> ->
PoolQueuedSlots {Pool: <pool>}; `make twin-alarms TARGET=mwaa` applies that table to what Airflow emits;
container/database/queue metrics: https://aws.amazon.com/blogs/compute/introducing-container-database-and-queue-utilization-metrics-for-the-amazon-mwaa-environment/):
Airflow's StatsD metrics in namespace `AmazonMWAA` with dimensions `Environment` and `Function`; what MWAA itself
measures (its SQS queue, its Aurora metadata database) in `AWS/MWAA` with `Environment` (and `DatabaseRole`).

EKS: Airflow's StatsD metrics go to the CloudWatch agent (agent.py), which publishes them in a namespace of this
environment with the agent's naming (agent_metric_name) and a `metric_type` dimension; RDS in `AWS/RDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pulumi

from . import queued_age
from .agent import agent_metric_name, agent_namespace, statsd_prefix

# Tasks starving for pool slots, as default_pool having no free slot through a whole period. Not
# `scheduler.tasks.starving`: Airflow 3 leaves a pool with no open slot out before it counts starving tasks
# (scheduler_job_runner.py, `_executable_task_instances_to_queued`: such pools are `starved_pools` and filtered from the
# query; with every pool full it returns first), so that gauge stays 0 while tasks wait; `make twin-alarms` showed it.
NO_FREE_SLOT = "IF(open <= 0, 1, 0)"

MWAA_NAMESPACE = "AmazonMWAA"
MWAA_SERVICE_NAMESPACE = "AWS/MWAA"


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    statsd: str | None = None  # the Airflow StatsD name it comes from (None: published by AWS itself)


@dataclass(frozen=True)
class Binding:
    """One metric, or metric math over several (`expression` names them by their key in `metrics`)."""

    metrics: Mapping[str, Metric]
    expression: str | None = None


def one(metric: Metric) -> Binding:
    return Binding({"m": metric})


def mwaa_bindings(environment_name: str) -> dict[str, Binding]:
    def published(name: str, statsd: str, **dimensions: str) -> Metric:
        return Metric(MWAA_NAMESPACE, name, {**dimensions, "Environment": environment_name}, statsd)

    def airflow(name: str, function: str, statsd: str) -> Metric:
        return published(name, statsd, Function=function)

    def service(name: str, **extra: str) -> Metric:
        return Metric(MWAA_SERVICE_NAMESPACE, name, {"Environment": environment_name, **extra})

    return {
        "scheduler-heartbeat": one(airflow("SchedulerHeartbeat", "Scheduler", "scheduler_heartbeat")),
        "triggerer-heartbeat": one(airflow("TriggererHeartbeat", "Triggerer", "triggerer_heartbeat")),
        # Queued but none running, from the pool's own slot counts (the scheduler's view of QUEUED and RUNNING).
        "workers-stalled": Binding({
            "queued": published("PoolQueuedSlots", "pool.queued_slots.default_pool", Pool="default_pool"),
            "running": published("PoolRunningSlots", "pool.running_slots.default_pool", Pool="default_pool"),
        }, expression="IF(queued > 0 AND running == 0, 1, 0)"),
        "pool-starving": Binding({"open": published("PoolOpenSlots", "pool.open_slots.default_pool", Pool="default_pool")},
                                 expression=NO_FREE_SLOT),
        "dag-import-errors": one(airflow("ImportErrors", "DAG Processing", "dag_processing.import_errors")),
        "task-failure-burst": one(published("TaskInstanceFailures", "ti_failures", DAG="All", Task="All")),
        "broker-oldest-task": one(service("ApproximateAgeOfOldestTask")),
        "metadata-db-cpu": one(service("CPUUtilization", DatabaseRole="WRITER")),
        "metadata-db-freeable-memory": one(service("FreeableMemory", DatabaseRole="WRITER")),
    }


def eks_bindings(environment_name: str, db_instance_id: pulumi.Input[str], side_slot: str = "blue") -> dict[str, Binding]:
    """The live side's metrics: its StatsD prefix (agent.statsd_prefix) and its metadata database."""
    namespace, prefix = agent_namespace(environment_name), statsd_prefix(side_slot)

    def airflow(name: str, metric_type: str) -> Metric:
        statsd = f"{prefix}.{name}"
        return Metric(namespace, agent_metric_name(statsd), {"metric_type": metric_type}, statsd)

    def rds(name: str) -> Metric:
        return Metric("AWS/RDS", name, {"DBInstanceIdentifier": db_instance_id})

    return {
        "scheduler-heartbeat": one(airflow("scheduler_heartbeat", "counter")),
        "triggerer-heartbeat": one(airflow("triggerer_heartbeat", "counter")),
        "workers-stalled": Binding({
            "queued": airflow("pool.queued_slots.default_pool", "gauge"),
            "running": airflow("pool.running_slots.default_pool", "gauge"),
        }, expression="IF(queued > 0 AND running == 0, 1, 0)"),
        "pool-starving": Binding({"open": airflow("pool.open_slots.default_pool", "gauge")}, expression=NO_FREE_SLOT),
        "dag-import-errors": one(airflow("dag_processing.import_errors", "gauge")),
        "task-failure-burst": one(airflow("ti_failures", "counter")),
        # What matches SQS's oldest-task age on Redis: ElastiCache cannot see task ages, so the scheduler pod's sidecar
        # (components/alarms/queued_age.py) sends the age of the oldest task instance in state QUEUED, from the
        # metadata database, every 10 s, in milliseconds: how long the oldest task has been waiting for a worker, as
        # SQS's oldest message is. Not Airflow's task.queued_duration: it is timed only when a task leaves QUEUED (a
        # stuck task never sends it) and Airflow 3.0 to 3.3.1 never send it at all (apache/airflow#63503, #66067).
        "broker-oldest-task": Binding({"wait": airflow(queued_age.METRIC, "timing")},
                                      expression="wait / 1000"),
        "metadata-db-cpu": one(rds("CPUUtilization")),
        "metadata-db-freeable-memory": one(rds("FreeableMemory")),
    }
