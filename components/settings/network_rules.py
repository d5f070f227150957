"""Rules for `network`: the VPC CIDR."""

from __future__ import annotations

import ipaddress
import json
from typing import Any, Mapping

from policy.airflow_policy import cidr_problem


def network_problems(network: Mapping[str, Any]) -> list[str]:
    cidr = network.get("vpcCidr")
    if cidr is None:
        return []
    problem = cidr_problem(cidr)
    if problem:
        return [f"network.vpcCidr: {json.dumps(cidr)} is not a valid network ({problem}); allowed: an IPv4 CIDR from /16 to /22 with no host bits, e.g. 10.20.0.0/16"]
    net = ipaddress.IPv4Network(cidr)
    if not 16 <= net.prefixlen <= 22:
        return [f"network.vpcCidr: {json.dumps(cidr)} has prefix /{net.prefixlen}; allowed: /16 to /22"]
    if not net.is_private:
        return [f"network.vpcCidr: {json.dumps(cidr)} is not a private range; allowed: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"]
    return []
