"""Where Airflow's StatsD goes on each target, as the twin provides it: a StatsdListener on loopback.

EKS: the program installs the agent as the `amazon-cloudwatch-observability` add-on (components/alarms/agent.py) and points
the chart's `[metrics] statsd_host/port` at its Service. Its image is not here, so the port its configurationValues
declare (`metrics.metrics_collected.statsd.service_address`) becomes a loopback listener that records every datagram.

MWAA: its images send to MWAA's agent on localhost:8125 (mwaa_runtime.STATSD, an essential setting); that port is not
free to take here, so it is declared as a service of the MWAA container and becomes a loopback port of its own.
"""

from __future__ import annotations

import json

from components.alarms import agent

from . import mwaa_runtime

from .endpoints import Endpoints, Service
from .errors import TwinError
from .ports import free_port
from .statsd import StatsdListener
from .supervisor import Supervisor
from .wiring import StackWiring


def agent_service(stack_plan) -> Service:
    """The agent's StatsD Service as the plan's add-on configures it (the port of its statsd service_address)."""
    addons = [r for r in stack_plan.of_type("aws:eks/addon:Addon") if r.inputs.get("addonName") == agent.ADDON]
    if len(addons) != 1:
        raise TwinError(f"the plan declares {len(addons)} {agent.ADDON} add-ons; expected one (Airflow's StatsD target)")
    config = json.loads(addons[0].inputs["configurationValues"])["agent"]["config"]
    address = config["metrics"]["metrics_collected"]["statsd"].get("service_address", f":{agent.STATSD_PORT}")
    return Service("CloudWatch agent StatsD", agent.SERVICE, int(address.rsplit(":", 1)[1]), namespace=agent.NAMESPACE,
                   protocol="UDP")


def start_agent_listener(stack: StackWiring, endpoints: Endpoints, supervisor: Supervisor) -> StatsdListener:
    port = free_port()
    endpoints.declare(agent_service(stack.plan), port)
    listener = StatsdListener(port)
    supervisor.at_stop(listener.stop)
    return listener


MWAA_CONTAINER = "mwaa-container"  # localhost inside MWAA's containers: where its agent listens


def start_mwaa_metrics_listener(endpoints: Endpoints, supervisor: Supervisor) -> StatsdListener:
    port = free_port()
    endpoints.declare(Service("MWAA's CloudWatch metrics agent (StatsD)", mwaa_runtime.STATSD_HOST,
                              mwaa_runtime.STATSD_PORT, pod=MWAA_CONTAINER), port)
    listener = StatsdListener(port)
    supervisor.at_stop(listener.stop)
    return listener
