"""Rules for the networks a stack names: `network.vpcCidr` and `eks.endpointPublicAccessCidrs`."""

from __future__ import annotations

import ipaddress
import json
from typing import Any, Mapping

from policy.airflow_policy import OPEN_PREFIX, cidr_problem, describe_share, is_open

# RFC 1918's private ranges, which the README promises the VPC lies in. ipaddress.is_private would also admit
# 0.0.0.0/8, 127/8, 169.254/16, 198.18/15 and 240/4, none of which a VPC may use.
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


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
    if not any(net.subnet_of(private) for private in RFC1918):
        return [f"network.vpcCidr: {json.dumps(cidr)} is not a private range; allowed: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"]
    return []


def _private(cidr: str) -> bool:
    net = ipaddress.ip_network(cidr)
    return net.version == 4 and any(net.subnet_of(private) for private in RFC1918)


def endpoint_cidr_problems(eks: Mapping[str, Any]) -> list[str]:
    problems = []
    cidrs = eks.get("endpointPublicAccessCidrs", [])
    for index, cidr in enumerate(cidrs):
        problem = cidr_problem(cidr)
        if problem:
            problems.append(f"eks.endpointPublicAccessCidrs[{index}]: {json.dumps(cidr)} is not a valid network ({problem}); "
                            f"allowed: an IPv4 CIDR in canonical form with no host bits, e.g. 203.0.113.0/24")
        elif _private(cidr):
            # The public endpoint sees public source addresses only; from the VPC the private endpoint answers.
            problems.append(f"eks.endpointPublicAccessCidrs[{index}]: {json.dumps(cidr)} is a private range, which never "
                            f"reaches the public endpoint (the VPC uses the private one); allowed: public CIDRs, "
                            f"e.g. 203.0.113.0/24")
    public = [c for c in cidrs if cidr_problem(c) is None and not _private(c)]
    if is_open(public) and not eks.get("allowOpenApiEndpoint", False):
        problems.append(f"eks.endpointPublicAccessCidrs: {json.dumps(cidrs)} cover {describe_share(public)} and open the "
                        f"Kubernetes API to the internet; allowed: CIDRs narrower than a /{OPEN_PREFIX} together, "
                        f"or set eks.allowOpenApiEndpoint true to accept it")
    return problems
