"""The CloudWatch agent that carries Airflow's StatsD metrics to CloudWatch on EKS, and how it names them.

Chosen over ADOT's statsd receiver + EMF exporter: the `amazon-cloudwatch-observability` EKS add-on is one
AWS-managed add-on (no cert-manager, no collector CRDs to own), its agent has a StatsD listener built in, and its
operator exposes it as a Service when the agent config has `metrics.metrics_collected.statsd`
(aws/amazon-cloudwatch-agent-operator, internal/manifests/collector/ports.go: port `statsd`, 8125/UDP by default).
The add-on and its Helm chart take the same values (`agent.config`, `agent.resources`, `containerLogs.enabled`:
aws-observability/helm-charts, charts/amazon-cloudwatch-observability/values.yaml).

Naming (what the EKS bindings expect the agent to publish): the agent's StatsD input is Telegraf's statsd
plugin, whose `metric_separator` defaults to "_" (so `airflow.scheduler_heartbeat` becomes
`airflow_scheduler_heartbeat`) and which tags each metric with `metric_type` (counter, gauge, timing); the agent
publishes tags as dimensions. `omit_hostname` keeps the pod's host name out of the dimensions, so an alarm reads one
series per environment, and the namespace is the environment's own.
"""

from __future__ import annotations

import json

ADDON = "amazon-cloudwatch-observability"
NAMESPACE = "amazon-cloudwatch"  # the add-on's namespace and the agent's Service name in it (cloudwatch-agent)
SERVICE = "cloudwatch-agent"
STATSD_PORT = 8125
COLLECTION_INTERVAL = 10  # seconds between the agent's flushes of StatsD aggregates
AGGREGATION_INTERVAL = 60  # seconds the agent aggregates datapoints over before PutMetricData


def agent_namespace(environment_name: str) -> str:
    return f"Airflow/{environment_name}"


def statsd_prefix(side_slot: str) -> str:
    """Airflow's metrics.statsd_prefix on EKS for one blue/green slot. Both sides send to the one agent and namespace
    during an upgrade: without a prefix of its own, green's heartbeats would keep the live side's heartbeat alarms OK
    while blue's scheduler is down. Blue keeps `airflow`, the name it always had."""
    return "airflow" if side_slot == "blue" else f"airflow_{side_slot}"


def agent_metric_name(statsd_name: str) -> str:
    return statsd_name.replace(".", "_")


def agent_config(environment_name: str) -> dict:
    """StatsD only: no Container Insights (its metrics and logs are priced per observation/GB, and logs already go
    to S3), so the agent publishes just what Airflow sends."""
    return {
        "agent": {"omit_hostname": True},
        "metrics": {
            "namespace": agent_namespace(environment_name),
            "metrics_collected": {"statsd": {"service_address": f":{STATSD_PORT}",
                                             "metrics_collection_interval": COLLECTION_INTERVAL,
                                             "metrics_aggregation_interval": AGGREGATION_INTERVAL}},
        },
    }


def addon_configuration(environment_name: str, cpu_millis: int, memory_mib: int) -> str:
    """The add-on's configurationValues: our agent config, its requests (eks.resources.statsd, per node), no Fluent Bit."""
    requests = {"cpu": f"{cpu_millis}m", "memory": f"{memory_mib}Mi"}
    return json.dumps({
        "agent": {"config": agent_config(environment_name),
                  "resources": {"requests": requests, "limits": {"cpu": f"{2 * cpu_millis}m", "memory": f"{memory_mib}Mi"}}},
        "containerLogs": {"enabled": False},
    }, sort_keys=True)


def statsd_host() -> str:
    return f"{SERVICE}.{NAMESPACE}"
