"""How sure the TCO verdict is: the value of each operations figure a user can change (`--assume`) at which the
cheaper target flips, the others held. The bill itself needs no people's time; the TCO adds it, and its hours are the
least sourced figures of the comparison, so the verdict states how far they may move before it changes.

TCO(target) = bill(target) + hours(target) × rate. With D = bill(MWAA) − bill(EKS) (what EKS saves on the bill),
EKS is cheaper in TCO while hours(EKS) × rate − hours(MWAA) × rate < D, i.e. while
- eksOpsHoursPerMonth  < hours(MWAA) + D / rate,
- mwaaOpsHoursPerMonth > hours(EKS) − D / rate,
- opsHourlyRate        < D / (hours(EKS) − hours(MWAA))   (when EKS takes more hours; > when it takes fewer).
"""

from __future__ import annotations

from typing import Any

EPS = 1e-9


def _threshold(value: float | None, now: float, cheaper_if: str, unit: str, key: str) -> dict[str, Any]:
    """One figure's break-even; `value` None: EKS is cheaper (or not) whatever this figure is."""
    return {"key": key, "now": now, "breakEven": None if value is None else round(value, 2), "eksCheaperIf": cheaper_if,
            "unit": unit}


def tco_sensitivity(bill_mwaa: float | None, bill_eks: float, ops: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Break-even of each operations figure for one pair of bills (idle, or at the configured workload)."""
    h_m, h_e = ops["mwaa"]["hoursPerMonth"], ops["eks"]["hoursPerMonth"]
    rate = ops["eks"]["hourlyRate"]
    if bill_mwaa is None:  # no MWAA class holds the load: there is nothing to weigh the hours against
        return {"bill": {"mwaa": None, "eks": round(bill_eks, 2)}, "thresholds": [], "sentence": "MWAA is n/a here"}
    saving = bill_mwaa - bill_eks
    thresholds = []
    if rate > EPS:
        eks_hours = h_m + saving / rate
        mwaa_hours = h_e - saving / rate
        thresholds.append(_threshold(eks_hours if eks_hours >= 0 else None, h_e, "below", "h/month",
                                     "eksOpsHoursPerMonth"))
        thresholds.append(_threshold(mwaa_hours if mwaa_hours >= 0 else None, h_m, "above", "h/month",
                                     "mwaaOpsHoursPerMonth"))
    gap = h_e - h_m
    if abs(gap) > EPS:
        edge = saving / gap
        thresholds.append(_threshold(edge if edge >= 0 else None, rate, "below" if gap > 0 else "above", "USD/h",
                                     "opsHourlyRate"))
    return {"bill": {"mwaa": round(bill_mwaa, 2), "eks": round(bill_eks, 2)}, "saving": round(saving, 2),
            "thresholds": thresholds, "sentence": sentence(saving, thresholds, h_m, h_e, rate)}


def _figure(value: float, unit: str) -> str:
    return f"${value:,.2f}/h" if unit == "USD/h" else f"{value:.3g} h/month"


LABELS = {"eksOpsHoursPerMonth": "its upkeep", "mwaaOpsHoursPerMonth": "MWAA's upkeep",
          "opsHourlyRate": "the hourly rate"}


def sentence(saving: float, thresholds: list[dict[str, Any]], h_m: float, h_e: float, rate: float) -> str:
    """'EKS is cheaper in TCO if its upkeep is below 4.94 h/month (now 20 h/month), …': one line a reader can act on."""
    if not thresholds or (abs(h_e - h_m) < EPS and rate <= EPS):
        return "no operations cost separates the targets: the bill decides"
    ifs, always, nevers = [], [], []
    for t in thresholds:
        label = LABELS[t["key"]]
        if t["breakEven"] is None:  # the threshold would be negative: this figure alone can't flip the verdict
            (nevers if saving < 0 else always).append(label)
        else:
            ifs.append(f"{label} is {t['eksCheaperIf']} {_figure(t['breakEven'], t['unit'])} "
                       f"(now {_figure(t['now'], t['unit'])})")
    text = "EKS is cheaper in TCO if " + ", or if ".join(ifs) if ifs else ""
    if always:
        text += ("; " if text else "") + f"EKS is cheaper in TCO whatever {' or '.join(always)}"
    if nevers:
        text += ("; " if text else "") + f"no value of {' or '.join(nevers)} alone makes EKS cheaper"
    return text


def sensitivity(idle: tuple[float, float], configured: tuple[float | None, float],
                ops: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`tco.sensitivity` of the JSON: for the declared (idle) bill and for the bill at the configured workload."""
    return {"idle": tco_sensitivity(idle[0], idle[1], ops),
            "atConfiguredWorkload": tco_sensitivity(configured[0], configured[1], ops)}
