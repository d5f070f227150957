"""`--markdown`: a GitHub-flavoured summary for a pull-request comment (both targets, bill and TCO, break-even) and,
with `--base REF`, each target's monthly change between the stack config at REF and the working tree."""

from __future__ import annotations

from typing import Any

from .core import Comparison
from .render import break_even_sentence, money, redundancy_sentence, sensitivity_lines
from .overlap import overlap_sentence

# The first line of every comment this tool writes: CI finds its own comment by it and edits it in place.
MARKER = "<!-- airflow-on-aws cost comparison -->"


def figures(c: Comparison) -> dict[str, dict[str, float | None]]:
    """The monthly figures a reader compares, per target: idle bill, bill at the workload, operations, TCO."""
    at, tco_at = c.break_even.at_configured, c.tco_break_even.at_configured
    out: dict[str, dict[str, float | None]] = {}
    for target in ("mwaa", "eks"):
        workload = at[target]["monthly"] if at[target] else None
        tco = tco_at[target]["monthly"] if tco_at[target] else None
        out[target] = {"idle": round(c.targets[target].total, 2), "workload": workload,
                       "operations": c.operations[target]["monthly"], "tco": tco}
    return out


ROWS = (("idle", "AWS bill, declared and idle"), ("workload", "AWS bill at the configured workload"),
        ("operations", "Operations (people's time)"), ("tco", "**TCO** at the configured workload"))


def diff(base: Comparison, head: Comparison) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per target and figure: before, after and the change (None where a side can't be priced)."""
    before, after = figures(base), figures(head)
    return {target: {key: {"before": before[target][key], "after": after[target][key],
                           "change": None if before[target][key] is None or after[target][key] is None
                           else round(after[target][key] - before[target][key], 2)}
                     for key, _ in ROWS} for target in before}


def _signed(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) < 0.005:
        return "±$0.00"
    return f"{'+' if value > 0 else '−'}${abs(value):,.2f}"


def render_markdown(c: Comparison, base: Comparison | None = None, base_ref: str | None = None) -> str:
    be = c.break_even.base
    ops = c.operations
    f = figures(c)
    pricing = "1-year commitment where offered" if c.prices.commitment == "1y" else "On-Demand"
    lines = [MARKER, f"### Airflow on AWS, monthly cost: stack `{c.stack}` ({c.region})", "",
             f"Workload: average {be.average:g} / peak {be.peak:g} concurrent tasks for {be.peak_hours_per_day:g} h/day. "
             f"Operations: MWAA {ops['mwaa']['hoursPerMonth']:g} h, EKS {ops['eks']['hoursPerMonth']:g} h a month × "
             f"{money(ops['eks']['hourlyRate'])}/h.", "",
             "| Monthly | MWAA | EKS |", "|---|---:|---:|"]
    for key, label in ROWS:
        m, e = money(f["mwaa"][key]), money(f["eks"][key])
        if key == "tco":
            m, e = f"**{m}**", f"**{e}**"
        lines.append(f"| {label} | {m} | {e} |")
    lines += ["", f"- **Break-even, AWS bill:** {break_even_sentence(c.break_even)}.",
              f"- **Break-even, TCO:** {break_even_sentence(c.tco_break_even)}."]
    lines += [f"- **{line.split(': ', 1)[0]}:** {line.split(': ', 1)[1]}" for line in sensitivity_lines(c)]
    if redundancy_sentence(c):
        lines.append(f"- {redundancy_sentence(c)}")
    if c.upgrade_overlap:
        label, text = overlap_sentence(c.upgrade_overlap).split(": ", 1)
        lines.append(f"- **{label}:** {text}.")
    if c.horizon and c.horizon.months > 1:
        h = c.horizon
        lines.append(f"- **Over {h.months} months from {h.start.isoformat()}** (bill at the configured workload + "
                     f"operations): MWAA {money(h.totals['mwaa'])} vs EKS {money(h.totals['eks'])}. "
                     + " ".join(f"{n[0].upper()}{n[1:]}." for n in h.notes))
    notes = comment_notes(c)
    if notes:
        lines += ["", "Notes behind these figures:", ""] + [f"- {note}" for note in notes]
    if base is not None:
        changes = diff(base, c)
        lines += ["", f"#### Change against `{base_ref}`", "",
                  "| Monthly | MWAA before → after | MWAA change | EKS before → after | EKS change |",
                  "|---|---:|---:|---:|---:|"]
        for key, label in ROWS:
            cells = []
            for target in ("mwaa", "eks"):
                d = changes[target][key]
                cells += [f"{money(d['before'])} → {money(d['after'])}", _signed(d["change"])]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"<sub>{pricing} list prices from `{c.prices.display_path}`, priced as of {c.as_of.isoformat()}; "
                  "assumptions, itemised costs and caveats: `make compare STACK=" + c.stack + "`.</sub>", ""]
    return "\n".join(lines)


def comment_notes(c: Comparison) -> list[str]:
    """What a reader must know to trust the figures: how the scan reconfigured a target (a larger class, a raised
    maxSize), where it stopped for a missing price, and which prices are unverified or another region's."""
    keep = ("priced as", "above its", "above maxWorkers", "above KEDA", "the scan stops", "no MWAA class holds")
    notes = [n for n in c.break_even.notes if any(k in n for k in keep)]
    notes += [f"TCO scan: {n}" for n in c.tco_break_even.notes if n.startswith("the scan stops")
              and n not in c.break_even.notes]
    notes += [n for n in c.notes if n.startswith(("? unverified", "≈ priced"))]
    return list(dict.fromkeys(notes))


def diff_json(base: Comparison, head: Comparison, ref: str) -> dict[str, Any]:
    return {"ref": ref, "changes": diff(base, head)}
