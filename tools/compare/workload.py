"""Monthly cost of both targets as the workload grows, and where EKS becomes cheaper (if ever).

Workload profile (from the stack's `workload` config): `peakConcurrentTasks` run for `peakHoursPerDay` hours a
day, `averageConcurrentTasks` the rest of the day. The scan multiplies both by the same factor.

MWAA: workers = max(minWorkers, ceil(tasks / tasks-per-worker of the class)); the environment-hour includes one
worker, the others are billed per hour they run (off-peak and peak separately, i.e. autoscaling). Schedulers above
the class's included count are billed every hour; web servers above it at minWebservers off-peak and maxWebservers
during the peak hours (they autoscale with UI/API load, which the workload does not describe: an upper bound). A class that
can't hold the peak (tasks-per-worker x max workers) is replaced by the cheapest larger class that can.

EKS: the pods the plan declares, packed onto nodes. Worker pods (ceil(tasks / worker_concurrency), at least KEDA's
minReplicaCount) request what the chart values say and run on the node group their nodeSelector names; a node of that
group holds floor(room / pod) of them, room being the instance's vCPU/memory less eks.resources.nodeReserved. The
always-on pods (chart values and eks.resources.system) fill the other groups' nodes first, then what the worker nodes
have left, then extra nodes. Other node groups stay at their desired size. Node disks follow the node count.

Everything else (shared platform, control plane, data stores, logs...) is the declared cost and does not move.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from components.settings import MWAA_CLASSES, PodResources, nodes_needed

from .assumptions import Assumptions
from .costs import CostItem, mwaa_class_defaults, node_price, room_of, scaling_group, spill_of, total
from .declared import Declared, NodeGroup
from .prices import CompareError, PriceTable

TABLE_SCALES = (0.25, 0.5, 1, 2, 3, 5, 10, 20, 50, 100)
EPS = 1e-9


def _ceil(x: float) -> int:
    return max(0, math.ceil(x - EPS))


@dataclass(frozen=True)
class Profile:
    average: float
    peak: float
    peak_hours_per_day: float
    hours_per_month: float

    @property
    def peak_hours(self) -> float:
        return self.hours_per_month * self.peak_hours_per_day / 24

    @property
    def off_peak_hours(self) -> float:
        return self.hours_per_month - self.peak_hours

    def scaled(self, factor: float) -> "Profile":
        return Profile(self.average * factor, self.peak * factor, self.peak_hours_per_day, self.hours_per_month)


@dataclass(frozen=True)
class MwaaPoint:
    monthly: float
    environment_class: str
    workers_off_peak: int
    workers_peak: int
    growth: dict[str, float] = field(default_factory=dict)  # workload-driven items in `monthly` (label -> monthly)


@dataclass(frozen=True)
class EksPoint:
    monthly: float
    nodes_off_peak: int
    nodes_peak: int
    worker_pods_peak: int
    growth: dict[str, float] = field(default_factory=dict)


def task_hours(profile: Profile) -> float:
    """Task-hours a month: the average runs off-peak, the peak during the peak hours."""
    return profile.average * profile.off_peak_hours + profile.peak * profile.peak_hours


def growth_prices(target: str, prices, assume: Assumptions | None) -> dict[str, float]:
    """Price per task-hour of each usage that grows with the workload (an assumption of 0 leaves its item out)."""
    if assume is None:
        return {}
    wanted = {"mwaa": [("task logs to CloudWatch", "taskLogGbPerTaskHour", ("logs.ingestGb", "logs.storageGbMonth")),
                       ("NAT data", "natGbPerTaskHour", ("nat.gb",))],
              "eks": [("task logs to S3", "taskLogGbPerTaskHour", ("s3.standardGbMonth",)),
                      ("NAT data", "natGbPerTaskHour", ("nat.gb",)),
                      ("cross-AZ traffic", "eksCrossAzGbPerTaskHour", ("dataTransfer.crossAzGb",))]}[target]
    return {label: assume[key] * sum(prices(k) for k in keys) for label, key, keys in wanted if assume[key]}


def _growth(per_task_hour: dict[str, float], profile: Profile) -> dict[str, float]:
    hours = task_hours(profile)
    return {label: price * hours for label, price in per_task_hour.items()}


# ---------------------------------------------------------------------------------------------- MWAA


class MwaaModel:
    VARIABLE = ("target.mwaa.environment", "target.mwaa.workers", "target.mwaa.schedulers", "target.mwaa.webservers")

    def __init__(self, decl: Declared, items: list[CostItem], table: PriceTable, assume: Assumptions | None = None):
        if not decl.mwaa:
            raise CompareError("the MWAA plan declares no aws:mwaa/environment:Environment to model")
        self.env = decl.mwaa[0]
        self.table = table
        self.prices = table.region(decl.region)
        self.fixed = total([i for i in items if i.id not in self.VARIABLE])
        classes = list(MWAA_CLASSES)
        self.candidates = classes[classes.index(self.env.environment_class):]
        self.skipped: dict[str, str] = {}  # class -> why it could not be priced
        self.growth = growth_prices("mwaa", self.prices, assume)

    def _price(self, key: str, environment_class: str) -> float | None:
        if not self.prices.has(key):
            self.skipped.setdefault(environment_class, f"no {key} in the price table")
            return None
        return self.prices(key)

    def capacity(self, environment_class: str) -> int:
        return self.table.mwaa_tasks_per_worker(environment_class) * MWAA_CLASSES[environment_class].max_workers

    def holdable(self, peak: float) -> bool:
        """Some class (declared or larger) holds this peak, priced or not."""
        return any(peak <= self.capacity(c) + EPS for c in self.candidates)

    def point(self, profile: Profile) -> MwaaPoint | None:
        """Cheapest class (the declared one or larger) that holds the peak; None if none can."""
        best: MwaaPoint | None = None
        h = profile.hours_per_month
        growth = _growth(self.growth, profile)  # the same for every class: it follows the tasks, not the class
        for c in self.candidates:
            if profile.peak > self.capacity(c) + EPS:
                continue
            per_worker = self.table.mwaa_tasks_per_worker(c)
            max_workers = MWAA_CLASSES[c].max_workers
            min_workers = min(max(self.env.min_workers, 1), max_workers)
            off = max(min_workers, _ceil(profile.average / per_worker))
            peak = max(min_workers, _ceil(profile.peak / per_worker))
            included = self.table.mwaa_included_workers()
            extra_hours = max(0, off - included) * profile.off_peak_hours + max(0, peak - included) * profile.peak_hours
            default_schedulers, default_webservers = mwaa_class_defaults(c)
            extra_schedulers = max(0, min(self.env.schedulers, MWAA_CLASSES[c].schedulers[1]) - default_schedulers)
            # web servers autoscale between min and max with UI/API load: max during the peak hours (upper bound)
            top = MWAA_CLASSES[c].webservers[1]
            web_off = max(0, min(self.env.min_webservers, top) - default_webservers)
            web_peak = max(0, min(self.env.max_webservers, top) - default_webservers)
            web_hours = web_off * profile.off_peak_hours + web_peak * profile.peak_hours
            env_price = self._price(f"mwaa.environment.{c}", c)
            if env_price is None:
                continue
            cost = env_price * h
            for n, key in ((extra_hours, f"mwaa.worker.{c}"), (extra_schedulers * h, f"mwaa.scheduler.{c}"),
                           (web_hours, f"mwaa.webserver.{c}")):
                if n:
                    price = self._price(key, c)
                    if price is None:
                        cost = math.inf
                        break
                    cost += n * price
            if math.isinf(cost):
                continue
            monthly = cost + self.fixed + sum(growth.values())
            if best is None or monthly < best.monthly - EPS:
                best = MwaaPoint(monthly, c, off, peak, growth)
        return best


# ---------------------------------------------------------------------------------------------- EKS


class EksModel:
    """Nodes of the worker group for a number of running tasks, packing the pods the plan declares onto nodes."""

    def __init__(self, decl: Declared, items: list[CostItem], table: PriceTable, assume: Assumptions | None = None):
        if not decl.node_groups:
            raise CompareError("the EKS plan declares no node group (eks:index:ManagedNodeGroup) to model")
        self.decl = decl
        prices = table.region(decl.region)
        self.workers = decl.workers
        self.pods = decl.pods
        self.scaling: NodeGroup = scaling_group(decl)  # the group the workers run on scales with them
        self.fixed_groups = [g for g in decl.node_groups if g is not self.scaling]
        variable = {f"target.eks.nodes.{self.scaling.name}", f"target.eks.ebs.{self.scaling.name}"}
        self.fixed = total([i for i in items if i.id not in variable])
        self.instance = self.scaling.instance_type
        self.room = self._room(self.instance)
        pod = self.workers.pod
        self.pods_per_node = min(self.room.cpu_millis // max(pod.cpu_millis, 1),
                                 self.room.memory_mib // max(pod.memory_mib, 1))
        if self.pods_per_node < 1:
            raise CompareError(f"a worker pod ({pod.text()}) does not fit on a {self.instance} node "
                               f"({self.room.text()} for pods): the deployed workers could never be scheduled")
        self.growth = growth_prices("eks", prices, assume)
        # one node-hour of the scaling group, disk included: at the commitment rate up to the baseline (a 1-year
        # commitment is bought for what always runs), On-Demand above it
        disk_hour = self.scaling.disk_gb * prices(f"ebs.{self.scaling.disk_type}") / table.hours_per_month
        committed, _ = node_price(prices, self.scaling)
        listed = prices.get(f"ec2.{self.instance}")
        on_demand = committed if self.scaling.capacity_type == "SPOT" else listed.value / (1 - listed.discount)
        self.node_hour, self.node_hour_on_demand = committed + disk_hour, on_demand + disk_hour
        # the always-on pods go to the other groups' nodes first; what doesn't fit there lands on the worker group
        self.platform = sum(self.pods.platform.values(), PodResources(0, 0))
        self.spill = spill_of(decl, self.scaling)
        self.baseline = self.nodes(0)  # the nodes every hour has: what a commitment is sized to

    def _room(self, instance_type: str) -> PodResources:
        return room_of(self.decl, instance_type)

    def worker_pods(self, tasks: float) -> int:
        return max(self.workers.min_replicas, _ceil(tasks / self.workers.concurrency))

    def nodes(self, tasks: float) -> int:
        """Worker pods are whole; the always-on pods the other groups can't hold use what those nodes have left, and
        more nodes if that is not enough (components.settings.nodes_needed: the rule the idle bill uses too)."""
        return max(self.scaling.min_size, nodes_needed(self.workers.pod, self.worker_pods(tasks), self.room, self.spill))

    def point(self, profile: Profile) -> EksPoint:
        off, peak = self.nodes(profile.average), self.nodes(profile.peak)
        node_hours = off * profile.off_peak_hours + peak * profile.peak_hours
        base_hours = min(off, self.baseline) * profile.off_peak_hours + min(peak, self.baseline) * profile.peak_hours
        nodes = base_hours * self.node_hour + (node_hours - base_hours) * self.node_hour_on_demand
        growth = _growth(self.growth, profile)
        return EksPoint(self.fixed + nodes + sum(growth.values()), off, peak, self.worker_pods(profile.peak), growth)


# ---------------------------------------------------------------------------------------------- scan


@dataclass
class BreakEven:
    base: Profile
    max_scale: float
    scanned_to: float  # the largest peak scanned (below max_scale × peak when prices run out)
    rows: list[dict[str, Any]]
    curve: list[tuple[float, float | None, float]]  # (peak tasks, MWAA monthly or None, EKS monthly)
    verdict: str  # "eks-cheaper-from", "eks-always-cheaper", "never"
    eks_cheaper_from: dict[str, float] | None
    crossings: list[dict[str, Any]]
    at_configured: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    stopped_by: str | None = None  # why the scan ended short of max_scale (a missing price), or None

    def to_json(self, plot: str | None) -> dict[str, Any]:
        return {
            "axis": "peakConcurrentTasks (average scaled with it)",
            "workload": {"averageConcurrentTasks": self.base.average, "peakConcurrentTasks": self.base.peak,
                         "peakHoursPerDay": self.base.peak_hours_per_day},
            "maxScale": self.max_scale,
            "scannedUpToPeakConcurrentTasks": self.scanned_to,
            "atConfiguredWorkload": self.at_configured,
            "verdict": self.verdict,
            "eksCheaperFrom": self.eks_cheaper_from,
            "crossings": self.crossings,
            "points": self.rows,
            "plot": plot,
            "stoppedBy": self.stopped_by,
            "notes": self.notes,
        }


def _row(scale: float, profile: Profile, m: MwaaPoint | None, e: EksPoint, unpriced: bool = False) -> dict[str, Any]:
    if unpriced:
        cheaper = "unknown"  # an MWAA class would hold it, but the price table lacks its prices
    else:
        cheaper = "eks" if m is None or e.monthly < m.monthly - EPS else ("mwaa" if m.monthly < e.monthly - EPS else "equal")
    return {
        "scale": round(scale, 4),
        "averageConcurrentTasks": round(profile.average, 3),
        "peakConcurrentTasks": round(profile.peak, 3),
        "mwaa": None if m is None else {"monthly": round(m.monthly, 2), "environmentClass": m.environment_class,
                                        "workersOffPeak": m.workers_off_peak, "workersPeak": m.workers_peak,
                                        "workloadItems": {k: round(v, 2) for k, v in m.growth.items()}},
        "eks": {"monthly": round(e.monthly, 2), "nodesOffPeak": e.nodes_off_peak, "nodesPeak": e.nodes_peak,
                "workerPodsPeak": e.worker_pods_peak, "workloadItems": {k: round(v, 2) for k, v in e.growth.items()}},
        "cheaper": cheaper,
    }


def break_even(mwaa: MwaaModel, eks: EksModel, base: Profile, max_scale: float,
               offsets: tuple[float, float] = (0.0, 0.0)) -> BreakEven:
    """Where EKS becomes cheaper. `offsets` adds a fixed monthly amount to each target (operations, for the TCO)."""
    def mwaa_at(profile: Profile) -> MwaaPoint | None:
        m = mwaa.point(profile)
        return None if m is None else dataclasses.replace(m, monthly=m.monthly + offsets[0])

    def eks_at(profile: Profile) -> EksPoint:
        e = eks.point(profile)
        return dataclasses.replace(e, monthly=e.monthly + offsets[1])

    if base.peak <= 0 and base.average <= 0:
        raise CompareError("workload.peakConcurrentTasks and workload.averageConcurrentTasks are both 0: nothing to scale")
    peak0 = base.peak if base.peak > 0 else base.average
    ratio = base.average / peak0
    top = max(1, _ceil(peak0 * max_scale))

    def profile_at(peak: float) -> Profile:
        return Profile(peak * ratio, peak, base.peak_hours_per_day, base.hours_per_month)

    curve: list[tuple[float, float | None, float]] = []
    unpriced_from = None  # first peak a class could hold but the table can't price: the scan stops there
    for peak in range(1, top + 1):
        m, e = mwaa_at(profile_at(peak)), eks_at(profile_at(peak))
        if m is None and mwaa.holdable(peak):
            unpriced_from = peak
            break
        curve.append((float(peak), None if m is None else m.monthly, e.monthly))
    if not curve:
        raise CompareError(f"no MWAA class from {mwaa.env.environment_class} up can be priced for 1 task: "
                           + "; ".join(f"{c}: {why}" for c, why in mwaa.skipped.items()))

    def eks_cheaper(m: float | None, e: float) -> bool:
        return m is None or e < m - EPS

    crossings = []
    for (p0, m0, e0), (p1, m1, e1) in zip(curve, curve[1:]):
        if eks_cheaper(m0, e0) != eks_cheaper(m1, e1):
            crossings.append({"peakConcurrentTasks": p1, "scale": round(p1 / peak0, 4),
                              "cheaper": "eks" if eks_cheaper(m1, e1) else "mwaa",
                              "mwaa": None if m1 is None else round(m1, 2), "eks": round(e1, 2)})
    not_cheaper = [p for p, m, e in curve if not eks_cheaper(m, e)]
    if not not_cheaper:
        verdict, start = "eks-always-cheaper", curve[0][0]
    elif not_cheaper[-1] == curve[-1][0]:
        verdict, start = "never", None
    else:
        verdict, start = "eks-cheaper-from", not_cheaper[-1] + 1
    cheaper_from = None
    if start is not None:
        p = profile_at(start)
        m, e = mwaa_at(p), eks_at(p)
        cheaper_from = {"peakConcurrentTasks": start, "averageConcurrentTasks": round(p.average, 3),
                        "scale": round(start / peak0, 4), "mwaa": None if m is None else round(m.monthly, 2),
                        "eks": round(e.monthly, 2)}

    scales = {s for s in TABLE_SCALES if s <= max_scale} | {1.0, float(max_scale)}
    # both sides of the break-even, and of any crossing below the table's first scale, so the table shows where
    # each target is cheaper (without a row for every back-and-forth of two close step functions)
    for crossing in crossings:
        if crossing["peakConcurrentTasks"] / peak0 < TABLE_SCALES[0]:
            scales |= {crossing["peakConcurrentTasks"] / peak0, max(1.0, crossing["peakConcurrentTasks"] - 1) / peak0}
    if start is not None and start > 1:
        scales |= {start / peak0, (start - 1) / peak0}
    scales = sorted(scales)
    rows = []
    for scale in scales:
        p = profile_at(peak0 * scale)
        m = mwaa_at(p)
        rows.append(_row(scale, p, m, eks_at(p), unpriced=m is None and mwaa.holdable(p.peak)))
    configured = next(r for r in rows if r["scale"] == 1)

    notes = []
    declared_class = mwaa.env.environment_class
    if configured["mwaa"] and configured["mwaa"]["environmentClass"] != declared_class:
        notes.append(f"the declared {declared_class} holds at most {mwaa.capacity(declared_class)} concurrent tasks; "
                     f"the configured peak ({base.peak:g}) is priced as {configured['mwaa']['environmentClass']}")
    if configured["mwaa"] and configured["mwaa"]["workersPeak"] > mwaa.env.max_workers \
            and configured["mwaa"]["environmentClass"] == declared_class:
        notes.append(f"the configured peak needs {configured['mwaa']['workersPeak']} MWAA workers, above maxWorkers "
                     f"{mwaa.env.max_workers} (priced as if raised)")
    biggest = list(MWAA_CLASSES)[-1]
    stopped_by = None
    if unpriced_from is not None:
        why = "; ".join(f"{c}: {reason}" for c, reason in mwaa.skipped.items())
        stopped_by = (f"from {unpriced_from} peak tasks only MWAA classes the price table can't price hold the peak "
                      f"({why}); supply the price with --prices FILE")
        notes.append(f"the scan stops at {curve[-1][0]:g} peak tasks: {stopped_by}")
    unserved = [p for p, m, _ in curve if m is None]
    if unserved:
        notes.append(f"from {unserved[0]:g} peak tasks no MWAA class holds the peak ({biggest}: "
                     f"{mwaa.table.mwaa_tasks_per_worker(biggest)} tasks × {MWAA_CLASSES[biggest].max_workers} workers = "
                     f"{mwaa.capacity(biggest)}); MWAA is n/a there and EKS counts as cheaper")
    if configured["eks"]["nodesPeak"] > eks.scaling.max_size:
        notes.append(f"the configured peak needs {configured['eks']['nodesPeak']} nodes in node group {eks.scaling.name}, "
                     f"above its maxSize {eks.scaling.max_size} (priced as if raised)")
    if configured["eks"]["workerPodsPeak"] > eks.workers.max_replicas:
        notes.append(f"the configured peak needs {configured['eks']['workerPodsPeak']} Celery worker pods, above KEDA's "
                     f"maxReplicaCount {eks.workers.max_replicas} (priced as if raised)")
    w = eks.workers
    notes.append(f"EKS worker pods request {w.pod.text()} each for {w.concurrency} tasks (chart values); "
                 f"{eks.pods_per_node} fit on a {eks.instance} node ({eks.room.text()} for pods); the always-on pods "
                 f"request {eks.platform.text()}")
    notes.append(f"EKS scales node group {eks.scaling.name} ({eks.instance}); "
                 + (f"{', '.join(g.name for g in eks.fixed_groups)} {'stays' if len(eks.fixed_groups) == 1 else 'stay'} "
                    "at the desired size" if eks.fixed_groups else "no other node groups"))
    return BreakEven(base=base, max_scale=max_scale, scanned_to=curve[-1][0], rows=rows, curve=curve, verdict=verdict,
                     eks_cheaper_from=cheaper_from, crossings=crossings, at_configured=configured, notes=notes,
                     stopped_by=stopped_by)
