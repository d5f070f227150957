"""The CloudWatch agent's StatsD Service on EKS, as the twin provides it: a StatsdListener on loopback.

The program installs the agent as the `amazon-cloudwatch-observability` add-on (components/alarms/agent.py) and points
the chart's `[metrics] statsd_host/port` at its Service. Its image is not here, so the port its configurationValues
declare (`metrics.metrics_collected.statsd.service_address`) becomes a loopback listener that records every datagram.
"""

from __future__ import annotations

import json

from components.alarms import agent

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
