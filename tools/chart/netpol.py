"""Kubernetes NetworkPolicy semantics, evaluated statically over the objects a namespace would hold.

A pod selected by any policy whose policyTypes name a direction is isolated in that direction; a connection from a
pod (egress) to a pod or address (ingress, when the target is a pod) is allowed when, on each isolated side, some
policy's rule matches the peer (podSelector in the policy's namespace, namespaceSelector, both, or ipBlock) and the
port and protocol (https://kubernetes.io/docs/concepts/services-networking/network-policies/). Traffic from the
node a pod runs on (kubelet probes) is always allowed there, so it is not modelled. An ipBlock is matched against
addresses outside the cluster only: pods are named by their labels.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[tuple[str, int], ...] = ()  # named container ports (name, number), for named policy ports
    name: str = ""  # for messages: Deployment/airflow-worker, or what the pod stands for

    @staticmethod
    def of(namespace: str, labels: dict[str, str], name: str = "", ports: dict[str, int] | None = None) -> "Pod":
        return Pod(namespace, tuple(sorted(labels.items())), tuple(sorted((ports or {}).items())), name)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class Address:
    ip: str
    name: str = ""  # e.g. "RDS (an address in the VPC)"


Endpoint = Pod | Address


@dataclass
class Policies:
    policies: list[dict[str, Any]] = field(default_factory=list)  # NetworkPolicy objects (metadata.namespace set)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # extra labels per namespace

    def labels_of(self, namespace: str) -> dict[str, str]:
        # Kubernetes labels every namespace with its name (kubernetes.io/metadata.name, from 1.21).
        return {"kubernetes.io/metadata.name": namespace, **self.namespace_labels.get(namespace, {})}

    def allowed(self, source: Endpoint, target: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return (self._side(source, "Egress", target, port, protocol)
                and self._side(target, "Ingress", source, port, protocol))

    def _side(self, pod: Endpoint, direction: str, peer: Endpoint, port: int, protocol: str) -> bool:
        if not isinstance(pod, Pod):
            return True  # an address outside the cluster: no policy applies there
        selecting = [p for p in self.policies if p["metadata"].get("namespace") == pod.namespace
                     and direction in _policy_types(p) and matches(p["spec"].get("podSelector") or {}, pod.label_map)]
        if not selecting:
            return True
        key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        target_pod = peer if direction == "Egress" else pod  # named ports are the target's container ports
        for policy in selecting:
            for rule in policy["spec"].get(key) or []:
                peers = rule.get(peers_key)
                if (not peers or any(self._peer(p, peer, policy["metadata"]["namespace"]) for p in peers)) \
                        and _port_matches(rule.get("ports"), port, protocol, target_pod):
                    return True
        return False

    def _peer(self, peer: dict[str, Any], endpoint: Endpoint, policy_namespace: str) -> bool:
        if "ipBlock" in peer:
            if not isinstance(endpoint, Address):
                return False
            ip = ipaddress.ip_address(endpoint.ip)
            block = peer["ipBlock"]
            return ip in ipaddress.ip_network(block["cidr"]) and not any(
                ip in ipaddress.ip_network(e) for e in block.get("except") or [])
        if not isinstance(endpoint, Pod):
            return False
        if "namespaceSelector" in peer:
            if not matches(peer["namespaceSelector"] or {}, self.labels_of(endpoint.namespace)):
                return False
        elif endpoint.namespace != policy_namespace:
            return False
        return matches(peer.get("podSelector") or {}, endpoint.label_map)


def _policy_types(policy: dict[str, Any]) -> list[str]:
    spec = policy["spec"]
    # Without policyTypes: Ingress always, Egress when the policy has egress rules (the API's defaulting).
    return spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector against labels ({} selects everything)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str, target: Endpoint) -> bool:
    if not ports:
        return True
    named = dict(target.ports) if isinstance(target, Pod) else {}
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        value = entry.get("port")
        if value is None:
            return True
        number = named.get(value) if isinstance(value, str) and not value.isdigit() else int(value)
        if number is not None and number <= port <= int(entry.get("endPort", number)):
            return True
    return False
