"""What a blue/green upgrade costs: both sides running for `upgradeOverlapDays` (docs/upgrades.md).

The second side is priced as the program declares it (components/mwaa.py, components/eks/side.py) at the live side's
sizes, idle: on MWAA one more environment of the same class; on EKS one more RDS instance and the nodes the second
release's always-on pods and minimum workers need on the shared cluster, and the agent's custom metrics under its own
StatsD prefix (the cluster, broker and add-ons are shared).
The Airflow version doesn't enter a price, so the figure holds for any upgrade of this stack.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from .assumptions import Assumptions
from .costs import declared_cost, total
from .declared import Declared, PodSizes
from .prices import PriceTable


def _sides(decl: Declared, count: int) -> Declared:
    """The plan's target with `count` sides of its live side's size (a plan that already has two keeps the first)."""
    if decl.target == "mwaa":
        return dataclasses.replace(decl, mwaa=decl.mwaa[:1] * count)
    pods = decl.pods
    platform = {f"{key}#{n}" if n else key: pod for n in range(count) for key, pod in pods.platform.items()
                if n == 0 or key != "system"}  # the cluster add-ons run once
    return dataclasses.replace(
        decl, databases=decl.databases[:1] * count, pods=PodSizes(platform=platform, node_reserved=pods.node_reserved),
        workers=dataclasses.replace(decl.workers, min_replicas=decl.workers.min_replicas * count),
        statsd_prefixes=count)  # the second release's StatsD prefix: the agent's custom metrics once more


def upgrade_overlap(decl: Declared, table: PriceTable, assume: Assumptions, *, as_of: datetime.date) -> dict[str, Any]:
    """One more side's monthly idle cost, and what `upgradeOverlapDays` of it cost."""
    one, two = (total(declared_cost(_sides(decl, n), table, assume, as_of=as_of)) for n in (1, 2))
    days = assume["upgradeOverlapDays"]
    monthly = two - one
    return {"days": days, "secondSideMonthly": round(monthly, 2),
            "total": round(monthly * days * 24 / table.hours_per_month, 2)}


def overlap_sentence(overlap: dict[str, dict[str, Any]]) -> str:
    """One line for the table output and the PR comment."""
    if not overlap:
        return ""
    days = next(iter(overlap.values()))["days"]
    parts = [f"{target.upper()} ${o['total']:,.2f} (a second side ${o['secondSideMonthly']:,.2f} a month)"
             for target, o in overlap.items()]
    return (f"Blue/green upgrade, both sides for {days:g} days (--assume upgradeOverlapDays=N): " + ", ".join(parts))
