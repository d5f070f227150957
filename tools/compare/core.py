"""Plan both targets from one stack config and put resources, declared cost and break-even side by side."""

from __future__ import annotations

import contextlib
import datetime
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from tools.planner import PROJECT, Plan, plan as run_plan, stack_config

from .assumptions import DEFAULTS, Assumptions
from .costs import SHARED_UNPRICED_NOTE, CostItem, declared_cost, total, unpriced_notes
from .declared import Declared, declared, resource_summary
from .eks_support import SOURCE as SUPPORT_SOURCE
from .prices import CompareError, PriceTable
from .horizon import horizon
from .overlap import upgrade_overlap
from .sensitivity import sensitivity
from .workload import BreakEven, EksModel, MwaaModel, Profile, break_even

TARGETS = ("mwaa", "eks")
Planner = Callable[[str, Mapping[str, Any]], Plan]


def target_overrides(stack: str, target: str, extra: Mapping[str, Any] | None = None,
                     config_text: str | None = None) -> dict[str, Any]:
    """Only `target` changes between the two plans. keepMwaa (valid with target eks only) is dropped for mwaa."""
    overrides: dict[str, Any] = {**(extra or {}), "target": target}
    if target == "mwaa" and stack_config(stack, text=config_text).get(f"{PROJECT}:keepMwaa", "false").lower() == "true":
        overrides["keepMwaa"] = None
    return overrides


def plan_targets(stack: str, extra: Mapping[str, Any] | None = None, planner: Planner | None = None,
                 progress: Callable[[str], None] | None = None, config_text: str | None = None) -> dict[str, Plan]:
    """Both targets' plans. `config_text`: plan this stack-file content (e.g. at a git ref) instead of the file."""
    if planner is None:
        planner = (lambda s, o: run_plan(s, o)) if config_text is None else (
            lambda s, o: run_plan(s, o, config_text=config_text))
    plans = {}
    for target in TARGETS:
        if progress:
            progress(target)
        # The program runs exactly as under `pulumi up`; anything it prints must not reach stdout (--json).
        with contextlib.redirect_stdout(sys.stderr):
            plans[target] = planner(stack, target_overrides(stack, target, extra, config_text))
    return plans


@dataclass
class TargetResult:
    target: str
    declared: Declared
    items: list[CostItem]
    resources: dict[str, Any]

    @property
    def total(self) -> float:
        return total(self.items)

    def to_json(self) -> dict[str, Any]:
        shared = total([i for i in self.items if i.scope == "shared"])
        return {"resources": self.resources,
                "cost": {"items": [i.to_json() for i in self.items], "total": round(self.total, 2),
                         "sharedTotal": round(shared, 2), "targetTotal": round(self.total - shared, 2)}}


@dataclass
class Comparison:
    stack: str
    region: str
    prices: PriceTable
    assumptions: Assumptions
    targets: dict[str, TargetResult]
    break_even: BreakEven
    as_of: datetime.date  # the pricing date (EKS standard vs extended support)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)  # target -> hours, rate, monthly
    tco_break_even: BreakEven | None = None  # the same scan with each target's operations added
    notes: list[str] = field(default_factory=list)
    plot: str | None = None
    sensitivity: dict[str, Any] = field(default_factory=dict)  # tco.sensitivity: where the TCO verdict flips
    horizon: Any = None  # horizon.Horizon: per-month figures over --months N
    upgrade_overlap: dict[str, dict[str, Any]] = field(default_factory=dict)  # target -> overlap.upgrade_overlap

    def redundancy(self) -> dict[str, Any]:
        """Like for like: schedulers and web/API servers each target runs at least, and which side is less redundant."""
        envs, replicas = self.targets["mwaa"].declared.mwaa, self.targets["eks"].declared.replicas
        if not envs or not replicas:
            return {}
        env = envs[0]
        out: dict[str, Any] = {}
        for key, mwaa, eks in (("schedulers", env.schedulers, replicas["scheduler"]),
                               ("webServers", env.min_webservers, replicas["apiServer"])):
            out[key] = {"mwaa": mwaa, "eks": eks,
                        "lessRedundant": None if mwaa == eks else ("eks" if eks < mwaa else "mwaa")}
        return out

    def prices_used(self) -> dict[str, dict[str, Any]]:
        """Every price this comparison looked up (bill and scan), with its source and date."""
        return {key: price.to_json() for (region, key), price in sorted(self.prices.used.items())
                if region == self.region}

    def tco(self, target: str) -> float:
        """Declared (idle) bill plus operations, a month."""
        return self.targets[target].total + self.operations[target]["monthly"]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "currency": self.prices.currency,
            "hoursPerMonth": self.prices.hours_per_month,
            "pricesFile": self.prices.display_path,
            "asOf": self.as_of.isoformat(),
            "targets": {name: result.to_json() for name, result in self.targets.items()},
            "commitment": self.prices.commitment,
            "breakEven": self.break_even.to_json(self.plot),
            "operations": self.operations,
            "tco": {"declared": {t: round(self.tco(t), 2) for t in self.targets},
                    "breakEven": self.tco_break_even.to_json(None) if self.tco_break_even else None,
                    "sensitivity": self.sensitivity},
            "horizon": self.horizon.to_json() if self.horizon else None,
            "upgradeOverlap": self.upgrade_overlap,
            "redundancy": self.redundancy(),
            "prices": self.prices_used(),
            "assumptions": self.assumptions.describe(),
            "notes": self.notes,
        }


def compare(stack: str, plans: Mapping[str, Plan], prices: PriceTable, assumptions: Assumptions, *,
            as_of: datetime.date, months: int = 1) -> Comparison:
    """`as_of` is the pricing date (the CLI's --as-of, today by default): it decides the EKS support rate."""
    regions = {p.config.get("aws:region", "us-east-1") for p in plans.values()}
    if len(regions) != 1:
        raise CompareError(f"the two plans use different regions: {', '.join(sorted(regions))}")
    region = regions.pop()
    prices.region(region)  # unknown region: one clear error before anything else
    targets: dict[str, TargetResult] = {}
    for target in TARGETS:
        decl = declared(plans[target], target)
        targets[target] = TargetResult(target=target, declared=decl,
                                       items=declared_cost(decl, prices, assumptions, as_of=as_of),
                                       resources=resource_summary(plans[target], target))
    mwaa, eks = targets["mwaa"], targets["eks"]
    workload = mwaa.declared.workload
    base = Profile(workload["averageConcurrentTasks"], workload["peakConcurrentTasks"], workload["peakHoursPerDay"],
                   prices.hours_per_month)
    mwaa_model = MwaaModel(mwaa.declared, mwaa.items, prices, assumptions)
    eks_model = EksModel(eks.declared, eks.items, prices, assumptions)
    result = break_even(mwaa_model, eks_model, base, assumptions["maxScale"])
    operations = {t: operations_of(t, assumptions) for t in TARGETS}
    tco = break_even(mwaa_model, eks_model, base, assumptions["maxScale"],
                     offsets=(operations["mwaa"]["monthly"], operations["eks"]["monthly"]))
    # each target's own notes once (a note both plans give is said once), then what both leave out
    notes = list(dict.fromkeys(unpriced_notes(mwaa.declared) + unpriced_notes(eks.declared) + [SHARED_UNPRICED_NOTE]))
    proxies = sorted({f"{i.price_key} ({i.proxy_of})" for t in targets.values() for i in t.items if i.proxy_of})
    if proxies:
        notes.insert(0, f"≈ priced with another region's sourced figure (none found for {region}): {', '.join(proxies)}")
    unverified = sorted({i.unverified for t in targets.values() for i in t.items if i.unverified})
    if unverified:
        notes.insert(0, "? unverified price (not a dated primary reading; see tools/pricing/SOURCES.md): "
                     + "; ".join(unverified))
    control_plane = next((i for i in eks.items if i.id == "target.eks.controlPlane"), None)
    if control_plane is not None:
        notes.append(f"EKS control plane priced at {control_plane.price_key}: {control_plane.note} (--as-of sets the "
                     f"pricing date; support dates in {SUPPORT_SOURCE})")
    if len(mwaa.declared.mwaa) == 0:
        notes.append("the MWAA plan declares no MWAA environment")
    if eks.declared.mwaa:
        notes.append("the EKS plan keeps the MWAA environment too (keepMwaa): its cost is in the EKS column")
    if prices.commitment == "1y":
        notes.append(f"--commitment 1y, per service as AWS offers it (facts.discounts.commitment1y, with sources): EC2 "
                     f"nodes through a Compute Savings Plan, RDS through a reserved DB instance, ElastiCache through a "
                     f"Database Savings Plan where it covers the engine and node family; sized to the baseline "
                     f"({eks_model.baseline} node(s) of {eks_model.scaling.name}: the scan's nodes above it are "
                     f"On-Demand); MWAA and the EKS control plane have no commitment offering and stay On-Demand")
        notes += [f"{i.label}: {i.note[i.note.index('On-Demand: '):]}" for i in eks.items if "On-Demand: " in i.note]
    notes.append("EKS cross-AZ traffic is priced per task-hour (eksCrossAzGbPerTaskHour); traffic of the idle platform "
                 "(scheduler heartbeats, PgBouncer to RDS in another AZ) is not")
    at = result.at_configured
    tco_sensitivity = sensitivity((mwaa.total, eks.total),
                                  (at["mwaa"]["monthly"] if at["mwaa"] else None, at["eks"]["monthly"]), operations)
    comparison = Comparison(stack=stack, region=region, prices=prices, assumptions=assumptions, targets=targets,
                            break_even=result, as_of=as_of, operations=operations, tco_break_even=tco, notes=notes,
                            sensitivity=tco_sensitivity)
    comparison.horizon = horizon(comparison, months)
    comparison.upgrade_overlap = {t: upgrade_overlap(targets[t].declared, prices, assumptions, as_of=as_of)
                                  for t in TARGETS}
    return comparison


def operations_of(target: str, assumptions: Assumptions) -> dict[str, Any]:
    """People's time to keep a target running: hours a month × the hourly rate, with the stated basis. An override
    says so in the basis, so the default breakdown is never shown as the reason for a figure it no longer gives."""
    key = f"{target}OpsHoursPerMonth"
    hours, rate = assumptions[key], assumptions["opsHourlyRate"]
    basis = DEFAULTS[key].description
    if key in assumptions.overrides:
        basis = (f"{hours:g} h set with --assume {key} (the default {DEFAULTS[key].value:g} h breaks down as: "
                 f"{basis})")
    if "opsHourlyRate" in assumptions.overrides:
        basis += (f"; rate ${rate:g}/h set with --assume opsHourlyRate (default "
                  f"${DEFAULTS['opsHourlyRate'].value:g}/h)")
    return {"hoursPerMonth": hours, "hourlyRate": rate, "monthly": round(hours * rate, 2), "basis": basis,
            "overridden": sorted(k for k in (key, "opsHourlyRate") if k in assumptions.overrides)}
