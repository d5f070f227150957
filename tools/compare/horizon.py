"""`--months N`: each target's monthly cost for N months from the pricing date, and the total.

Month 1 is the monthly figure the rest of the comparison shows (the bill at the configured workload plus operations),
so `--months 1` changes nothing. Later months move with three calendars the plan and the price table define:
- the EKS control plane's support (tools/compare/eks_support.py): standard support until the version's end, then the
  next minor version (the upgrade's hours are in eksOpsHoursPerMonth's basis: 3 a year) or, where the calendar dates
  no successor, extended support (eks.clusterExtended); the cost of skipping the upgrades is stated beside it;
- MWAA's Airflow version support (the same module): a dated end is said in the notes;
- stored logs under the declared retention: a fresh deployment keeps one month of logs in month 1, m months in month m,
  at most the retention (forever where none is declared: the stored amount grows every month).
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field
from typing import Any

from .eks_support import EXTENDED_MONTHS, MWAA_SUPPORT_END, STANDARD_SUPPORT_END, successor
from .workload import task_hours

DAYS_PER_MONTH = 365 / 12
UPGRADE_HOURS = 12  # per Kubernetes minor upgrade, as eksOpsHoursPerMonth's default basis states it
MAX_MONTHS = 120


def add_months(day: datetime.date, months: int) -> datetime.date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def kept(month: int, days: int | None) -> float:
    """Months of logs stored in month `month` of a fresh deployment: m, capped by the retention."""
    return float(month) if days is None else min(float(month), days / DAYS_PER_MONTH)


@dataclass
class Horizon:
    months: int
    start: datetime.date
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, float | None] = field(default_factory=dict)
    upgrades: list[dict[str, Any]] = field(default_factory=list)
    if_not_upgraded: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"months": self.months, "from": self.start.isoformat(), "perMonth": self.rows, "total": self.totals,
                "eksUpgrades": self.upgrades, "eksIfNotUpgraded": self.if_not_upgraded, "notes": self.notes}


def _extended_share(version: str, start: datetime.date, end: datetime.date, upgrade: bool) -> tuple[float, str]:
    """Share of [start, end) the control plane runs in extended support, and the version it runs at the end."""
    while upgrade and STANDARD_SUPPORT_END[version] < start and successor(version):
        version = successor(version)
    ends = STANDARD_SUPPORT_END[version]
    if upgrade and ends < end and successor(version):
        return 0.0, successor(version)
    days = (end - start).days
    extended_from = max(start, ends + datetime.timedelta(days=1))
    extended_until = min(end, add_months(ends, EXTENDED_MONTHS))
    return max(0, (extended_until - extended_from).days) / days, version


def horizon(c, months: int) -> Horizon:
    """The per-month figures of Comparison `c` for `months` months from its pricing date."""
    start = c.as_of
    result = Horizon(months=months, start=start)
    at = c.break_even.at_configured
    prices = c.prices.region(c.region)
    base = c.break_even.base
    hours = task_hours(base)
    log_gb = c.assumptions["taskLogGbPerTaskHour"]
    eks_decl, mwaa_decl = c.targets["eks"].declared, c.targets["mwaa"].declared
    items = {t: {i.id: i for i in r.items} for t, r in c.targets.items()}

    def item(target: str, id_: str) -> float:
        return items[target][id_].monthly if id_ in items[target] else 0.0

    # what month 1 stores (one month of logs), per retention: (target, retention key, monthly amount)
    storage = [("mwaa", "mwaa", item("mwaa", "target.mwaa.logs.storage")
                + hours * log_gb * prices("logs.storageGbMonth")),
               ("eks", "eksControlPlane", item("eks", "target.eks.logs.storage")),
               ("eks", "eksTaskLogs", hours * log_gb * prices("s3.standardGbMonth"))]
    retention = {**mwaa_decl.retention, **eks_decl.retention}
    version = eks_decl.kubernetes_version
    # a version already past standard support on the pricing date is priced as deployed (extended), never upgraded
    # behind the user's back: month 1 must equal the bill the rest of the comparison shows
    upgrades = bool(version) and STANDARD_SUPPORT_END[version] >= start
    clusters = eks_decl.eks_clusters
    standard, extended = prices("eks.cluster"), prices("eks.clusterExtended")
    control_now = item("eks", "target.eks.controlPlane")
    no_upgrade_extra = 0.0
    totals = {"mwaa": 0.0 if at["mwaa"] else None, "eks": 0.0}
    for m in range(1, months + 1):
        begin, end = add_months(start, m - 1), add_months(start, m)
        row: dict[str, Any] = {"month": m, "from": begin.isoformat()}
        for target in ("mwaa", "eks"):
            bill = at[target]["monthly"] if at[target] else None
            if bill is None:
                row[target] = None
                continue
            growth = sum((kept(m, retention.get(key)) - 1) * amount
                         for t, key, amount in storage if t == target)
            figure: dict[str, Any] = {"logsStorageChange": round(growth, 2)}
            if target == "eks" and version:
                share, running = _extended_share(version, begin, end, upgrade=upgrades)
                control = clusters * c.prices.hours_per_month * (standard + share * (extended - standard))
                bill += control - control_now
                figure["kubernetes"] = running
                figure["extendedSupportShare"] = round(share, 3)
                skipped, _ = _extended_share(version, begin, end, upgrade=False)
                no_upgrade_extra += clusters * c.prices.hours_per_month * (skipped - share) * (extended - standard)
            bill += growth
            ops = c.operations[target]["monthly"]
            figure.update({"bill": round(bill, 2), "operations": ops, "total": round(bill + ops, 2)})
            row[target] = figure
            totals[target] += bill + ops
        result.rows.append(row)
    result.totals = {t: None if v is None else round(v, 2) for t, v in totals.items()}
    _calendar_notes(result, c, version if upgrades else None, retention, start, add_months(start, months),
                    no_upgrade_extra)
    return result


def _calendar_notes(result: Horizon, c, version: str | None, retention: dict[str, int | None],
                    start: datetime.date, end: datetime.date, no_upgrade_extra: float) -> None:
    if version:
        v = version
        while STANDARD_SUPPORT_END[v] < end and successor(v):
            result.upgrades.append({"by": STANDARD_SUPPORT_END[v].isoformat(), "from": v, "to": successor(v),
                                    "hours": UPGRADE_HOURS})
            v = successor(v)
        if STANDARD_SUPPORT_END[v] < end:
            result.notes.append(f"EKS: no Kubernetes version after {v} is dated in the support calendar "
                                f"(tools/compare/eks_support.py): from {STANDARD_SUPPORT_END[v]:%Y-%m-%d} the control "
                                "plane is priced at extended support (eks.clusterExtended)")
        if result.upgrades:
            rate = c.operations["eks"]["hourlyRate"]
            cost = len(result.upgrades) * UPGRADE_HOURS * rate
            result.if_not_upgraded = {"extraBill": round(no_upgrade_extra, 2), "upgradeHoursCost": round(cost, 2)}
            steps = ", ".join(f"{u['from']} → {u['to']} by {u['by']}" for u in result.upgrades)
            result.notes.append(
                f"EKS stays in standard support by upgrading {steps} ({UPGRADE_HOURS} h each, part of "
                f"eksOpsHoursPerMonth's basis); skipping them costs {_money(no_upgrade_extra)} of extended support over "
                f"the horizon instead of {len(result.upgrades) * UPGRADE_HOURS} h × {_money(rate)}/h = {_money(cost)}")
    mwaa_version = next((e.airflow_version for e in c.targets["mwaa"].declared.mwaa), None)
    if mwaa_version:
        ends = MWAA_SUPPORT_END.get(mwaa_version)
        result.notes.append(
            f"MWAA: Airflow {mwaa_version} has no published end of support (tools/compare/eks_support.py, "
            "MWAA_SUPPORT_END): priced as supported throughout" if ends is None else
            f"MWAA: Airflow {mwaa_version} support ends {ends:%Y-%m-%d}: an upgrade is due within the horizon"
            if ends < end else f"MWAA: Airflow {mwaa_version} is supported until {ends:%Y-%m-%d}")
    names = {"mwaa": "MWAA's log groups", "eksControlPlane": "the EKS control-plane log group",
             "eksTaskLogs": "EKS task logs (s3://<bucket>/logs/)"}
    forever = [names[k] for k, v in retention.items() if v is None]
    kept_for = [f"{names[k]} {v} days" for k, v in retention.items() if v is not None]
    if forever:
        result.notes.append(f"no retention declared for {', '.join(forever)}: stored logs grow every month")
    if kept_for:
        result.notes.append(f"logs kept as declared: {', '.join(kept_for)}")


def _money(value: float) -> str:
    return f"${value:,.2f}"


def check_months(months: int) -> int:
    from .prices import CompareError

    if not 1 <= months <= MAX_MONTHS:
        raise CompareError(f"--months {months} is out of range; allowed: 1 to {MAX_MONTHS}")
    return months
