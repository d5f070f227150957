"""Terminal output: resources, itemised cost and break-even of both targets side by side (rich tables)."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .core import Comparison
from .overlap import overlap_sentence
from .workload import BreakEven

UNIT_SHORT = {"hours": "h", "instance-hours": "h", "node-hours": "h", "worker-hours": "h", "IP-hours": "h",
              "AZ-hours": "AZ-h", "GB-months": "GB-mo", "key-months": "mo", "secret-months": "mo", "GB": "GB",
              "endpoints": "", "factor": "", "alarm-metric-months": "mo", "metric-months": "mo"}


def short_type(token: str) -> str:
    """'aws:s3/bucketObjectv2:BucketObjectv2' -> 'aws:s3/bucketObjectv2' (the class name repeats the module)."""
    parts = token.split(":")
    if len(parts) == 3 and "/" in parts[1] and parts[1].rsplit("/", 1)[1].lower() == parts[2].lower():
        return f"{parts[0]}:{parts[1]}"
    return token


def money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def _qty(quantity: float, unit: str) -> str:
    text = f"{quantity:,.0f}" if quantity >= 100 else f"{quantity:g}"
    return f"{text} {unit}".strip()


def resources_table(c: Comparison) -> Table:
    table = Table(title="Resources declared (offline plan, same stack config, only `target` differs)",
                  box=box.SIMPLE_HEAVY, title_justify="left", show_footer=False)
    table.add_column("Resource type")
    table.add_column("MWAA", justify="right")
    table.add_column("EKS", justify="right")
    mwaa, eks = c.targets["mwaa"].resources, c.targets["eks"].resources
    for scope, title in (("shared", "Shared platform (identical for both)"), ("target", "Target-specific"),
                         ("other", "Other")):
        m, e = mwaa.get(scope, {}).get("byType", {}), eks.get(scope, {}).get("byType", {})
        if not m and not e:
            continue
        table.add_row(Text(f"{title}: {mwaa.get(scope, {}).get('count', 0)} / {eks.get(scope, {}).get('count', 0)}",
                           style="bold"), "", "")
        for token in sorted(set(m) | set(e)):
            table.add_row(f"  {short_type(token)}", str(m.get(token, "–")), str(e.get(token, "–")))
    table.add_row(Text("Total", style="bold"), Text(str(mwaa["total"]), style="bold"), Text(str(eks["total"]), style="bold"))
    return table


def cost_table(c: Comparison) -> Table:
    currency = c.prices.currency
    pricing = "1-yr commitment where offered" if c.prices.commitment == "1y" else "On-Demand"
    table = Table(title=f"Monthly AWS bill as declared, idle (priced as of {c.as_of.isoformat()}; {currency}, {pricing}, "
                        f"{c.prices.hours_per_month:g} h/month; min workers / nodes the idle pods need)",
                  box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Item")
    table.add_column("Unit price", justify="right")
    table.add_column("MWAA qty", justify="right")
    table.add_column("MWAA", justify="right")
    table.add_column("EKS qty", justify="right")
    table.add_column("EKS", justify="right")
    by_target = {t: {i.id: i for i in r.items} for t, r in c.targets.items()}
    order: list[str] = []
    for scope in ("shared", "target"):
        for t in ("mwaa", "eks"):
            order += [i.id for i in c.targets[t].items if i.scope == scope and i.id not in order]
    section = None
    for item_id in order:
        m, e = by_target["mwaa"].get(item_id), by_target["eks"].get(item_id)
        item = m or e
        title = "Shared platform" if item.scope == "shared" else "Target-specific"
        if title != section:
            section = title
            table.add_row(Text(title, style="bold"), "", "", "", "", "")
        mark = ("*" if item.assumption else "") + ("≈" if item.proxy_of else "") + ("?" if item.unverified else "")
        unit = UNIT_SHORT.get(item.unit, item.unit)
        if item.price_key is None and item.unit_price == 0:
            price = "free" if item.quantity else "–"  # a free item, or nothing declared (a row kept to say so)
        else:
            price = f"{item.unit_price:g}/{unit}".rstrip("/")
        if m and e and m.unit_price != e.unit_price:
            price = "varies"
        table.add_row(f"  {item.label}{' ' + mark if mark else ''}", price,
                      _qty(m.quantity, unit) if m else "", money(m.monthly) if m else "",
                      _qty(e.quantity, unit) if e else "", money(e.monthly) if e else "")
    table.add_row(Text("Total", style="bold"), "", "", Text(money(c.targets["mwaa"].total), style="bold"), "",
                  Text(money(c.targets["eks"].total), style="bold"))
    return table


def break_even_table(c: Comparison) -> Table:
    be = c.break_even
    table = Table(title=f"AWS bill as the workload grows: peak {be.base.peak:g} concurrent tasks for "
                        f"{be.base.peak_hours_per_day:g} h/day, average {be.base.average:g} the rest of the day, both "
                        "scaled together (task logs, NAT and cross-AZ traffic grow with them)",
                  box=box.SIMPLE_HEAVY, title_justify="left")
    for name, justify in (("Scale", "right"), ("Tasks avg/peak", "right"), ("MWAA class, workers off/peak", "left"),
                          ("MWAA/month", "right"), ("EKS nodes off/peak", "right"), ("EKS/month", "right"),
                          ("Cheaper", "left")):
        table.add_column(name, justify=justify)
    for row in be.rows:
        m, e = row["mwaa"], row["eks"]
        style = "bold" if row["scale"] == 1 else None
        table.add_row(scale_text(row["scale"]), f"{row['averageConcurrentTasks']:g}/{row['peakConcurrentTasks']:g}",
                      f"{m['environmentClass']}, {m['workersOffPeak']}/{m['workersPeak']}" if m else
                      ("class not priced" if row["cheaper"] == "unknown" else "no class holds it"),
                      money(m["monthly"]) if m else "n/a", f"{e['nodesOffPeak']}/{e['nodesPeak']}", money(e["monthly"]),
                      row["cheaper"].upper(), style=style)
    return table


def scale_text(scale: float) -> str:
    """A workload multiple for people: 0.25×, 1.5×, 15.7× (3 significant digits)."""
    return f"{scale:.3g}×"


def break_even_sentence(be: BreakEven) -> str:
    top = be.curve[-1][0]
    if be.verdict == "eks-cheaper-from":
        f = be.eks_cheaper_from
        text = (f"EKS is cheaper from {f['peakConcurrentTasks']:g} peak concurrent tasks ({scale_text(f['scale'])} the "
                f"configured workload): MWAA {money(f['mwaa'])} vs EKS {money(f['eks'])}, and stays cheaper up to "
                f"{top:g} tasks")
    elif be.verdict == "eks-always-cheaper":
        text = f"none: EKS is cheaper across the whole range (1 to {top:g} peak tasks)"
    else:
        scale = top / be.base.peak if be.base.peak else be.max_scale
        text = f"never within the scan: EKS is not cheaper at {top:g} peak tasks ({scale_text(scale)} the configured workload)"
    if be.stopped_by:
        text += f" (the scan stopped there, short of {be.max_scale:g}×: {be.stopped_by})"
    if be.crossings and be.verdict != "eks-always-cheaper" and len(be.crossings) > 1:
        text += "; the cheaper target switches at " + ", ".join(
            f"{x['peakConcurrentTasks']:g} → {x['cheaper'].upper()}" for x in be.crossings)
    return text


def _cheaper(mwaa: float | None, eks: float) -> str:
    if mwaa is None or eks < mwaa - 0.005:
        return "EKS cheaper"
    return "MWAA cheaper" if mwaa < eks - 0.005 else "equal"


def headline(c: Comparison) -> list[str]:
    """What each figure compares, said in the line itself, so idle and workload figures never seem to contradict."""
    be, ops = c.break_even, c.operations
    at = be.at_configured
    m_idle, e_idle = c.targets["mwaa"].total, c.targets["eks"].total
    m_at = at["mwaa"]["monthly"] if at["mwaa"] else None
    e_at = at["eks"]["monthly"]
    w = f"average {be.base.average:g} / peak {be.base.peak:g} tasks for {be.base.peak_hours_per_day:g} h/day"
    lines = [
        f"AWS bill, declared and idle (no tasks; MWAA at minWorkers, EKS at the nodes the idle pods need): MWAA {money(m_idle)} vs "
        f"EKS {money(e_idle)} a month ({_cheaper(m_idle, e_idle)}).",
        f"AWS bill at the configured workload ({w}; classes and nodes sized for it): MWAA {money(m_at)} vs "
        f"EKS {money(e_at)} a month ({_cheaper(m_at, e_at)}).",
    ]
    if ops:
        m_ops, e_ops = ops["mwaa"]["monthly"], ops["eks"]["monthly"]
        tco_at = c.tco_break_even.at_configured
        lines.append(
            f"TCO = bill + operations (MWAA {ops['mwaa']['hoursPerMonth']:g} h, EKS {ops['eks']['hoursPerMonth']:g} h a "
            f"month × {money(ops['eks']['hourlyRate'])}/h = {money(m_ops)} / {money(e_ops)}) at the configured workload: "
            f"MWAA {money(tco_at['mwaa']['monthly'] if tco_at['mwaa'] else None)} vs EKS {money(tco_at['eks']['monthly'])} "
            f"a month ({_cheaper(tco_at['mwaa']['monthly'] if tco_at['mwaa'] else None, tco_at['eks']['monthly'])}).")
    redundancy = redundancy_sentence(c)
    if redundancy:
        lines.append(redundancy)
    lines.append(f"Break-even, AWS bill: {break_even_sentence(be)}.")
    if c.tco_break_even is not None:
        lines.append(f"Break-even, TCO: {break_even_sentence(c.tco_break_even)}.")
    lines += sensitivity_lines(c)
    return lines


def redundancy_sentence(c: Comparison) -> str:
    """Like for like: the headline says which side runs fewer schedulers or web/API servers, if either does."""
    r = c.redundancy()
    if not r:
        return ""
    names = {"schedulers": "schedulers", "webServers": "web/API servers"}
    unequal = {k: v for k, v in r.items() if v["lessRedundant"]}
    if not unequal:
        return (f"Like for like: both run {r['schedulers']['eks']} scheduler(s) and {r['webServers']['eks']} web/API "
                "server(s) at least.")
    return "Not like for like: " + "; ".join(
        f"{v['lessRedundant'].upper()} is less redundant in {names[k]} (MWAA {v['mwaa']}, EKS {v['eks']})"
        for k, v in unequal.items()) + " (eks.replicas sets EKS's)."


def sensitivity_lines(c: Comparison) -> list[str]:
    """Where the TCO verdict flips in each operations figure (tco.sensitivity), idle and at the workload."""
    s = c.sensitivity
    if not s:
        return []
    return [f"Sensitivity, TCO at the configured workload: {s['atConfiguredWorkload']['sentence']}.",
            f"Sensitivity, TCO idle: {s['idle']['sentence']}."]


def verdict_text(c: Comparison) -> str:
    return "\n".join(headline(c))


def operations_table(c: Comparison) -> Table:
    table = Table(title="Operations: people's time a month, apart from the AWS bill (change with --assume)",
                  box=box.SIMPLE, title_justify="left")
    table.add_column("Target")
    table.add_column("Hours", justify="right")
    table.add_column("Monthly", justify="right")
    table.add_column("TCO idle", justify="right")
    table.add_column("Basis")
    for target, ops in c.operations.items():
        table.add_row(target.upper(), f"{ops['hoursPerMonth']:g} × {money(ops['hourlyRate'])}", money(ops["monthly"]),
                      money(c.tco(target)), ops["basis"])
    return table


def assumptions_table(c: Comparison) -> Table:
    table = Table(title="Assumptions (change with --assume key=value)", box=box.SIMPLE, title_justify="left")
    table.add_column("Key")
    table.add_column("Value", justify="right")
    table.add_column("Meaning")
    for key, a in c.assumptions.describe().items():
        table.add_row(key + (" (set)" if a["overridden"] else ""), f"{a['value']:g} {a['unit']}", a["description"])
    return table


def horizon_table(c: Comparison) -> Table:
    """`--months N` (N > 1): bill + operations per month and in total, with the calendar behind each change."""
    h = c.horizon
    table = Table(title=f"Horizon: {h.months} months from {h.start.isoformat()} (bill at the configured workload + "
                        "operations; version support and stored logs move it)", box=box.SIMPLE, title_justify="left")
    for name in ("Month", "From", "MWAA", "EKS", "EKS Kubernetes", "Stored logs change MWAA/EKS"):
        table.add_column(name, justify="left" if name in ("From", "EKS Kubernetes") else "right")
    for row in h.rows:
        m, e = row["mwaa"], row["eks"]
        share = e.get("extendedSupportShare", 0)
        table.add_row(str(row["month"]), row["from"], money(m["total"]) if m else "n/a", money(e["total"]),
                      f"{e.get('kubernetes', '')}{' extended' if share >= 1 else f' ({share:.0%} extended)' if share else ''}",
                      f"{money(m['logsStorageChange']) if m else 'n/a'} / {money(e['logsStorageChange'])}")
    table.add_row(Text("Total", style="bold"), "", Text(money(h.totals["mwaa"]), style="bold"),
                  Text(money(h.totals["eks"]), style="bold"), "", "")
    return table


def prices_table(c: Comparison) -> Table:
    """`--verbose`: every price used, with its source and the date it was read."""
    table = Table(title=f"Prices used ({c.region}; source and date of each, from {c.prices.display_path})",
                  box=box.SIMPLE, title_justify="left")
    for name in ("Key", "Price", "As of"):
        table.add_column(name, justify="right" if name == "Price" else "left", no_wrap=True)
    table.add_column("Source", overflow="fold")  # a URL is the point of this table: never cut
    for key, p in c.prices_used().items():
        confidence = (p["confidence"] or "").split(":")[0]
        flags = [f"≈ {p['proxyOf']} price" if p["proxyOf"] else "",
                 f"unverified ({confidence} confidence, see SOURCES.md)" if p["confidence"] else ""]
        table.add_row(key, f"{p['price']:g}/{p['unit']}", p["asOf"],
                      "; ".join(filter(None, [p["source"], *flags])))
    return table


def render(c: Comparison, console: Console, verbose: bool = False) -> None:
    console.print(Text(f"Airflow on AWS — MWAA vs EKS · stack {c.stack} · region {c.region} · prices {c.prices.display_path}",
                       style="bold"))
    console.print(resources_table(c))
    console.print(cost_table(c))
    console.print("  * quantity is an assumption (see below)   ≈ another region's price, see notes   ? unverified price "
                  "(its confidence is under the caveats; sources and dates: --verbose)")
    console.print()
    console.print(break_even_table(c))
    console.print(operations_table(c))
    if c.upgrade_overlap:
        console.print(f"  {overlap_sentence(c.upgrade_overlap)}", markup=False, highlight=False)
    if c.horizon and c.horizon.months > 1:  # --months 1 (the default) prints what it always printed
        console.print(horizon_table(c))
        for note in c.horizon.notes:
            console.print(f"  - {note}")
    console.print(Text(verdict_text(c), style="bold"))
    for note in c.break_even.notes:
        console.print(f"  - {note}")
    if c.plot:
        console.print(f"  Plot: {c.plot}")
    console.print()
    console.print(assumptions_table(c))
    if c.notes:
        console.print(Text("Not in the totals / caveats", style="bold"))
        for note in c.notes:
            console.print(f"  - {note}")
    if verbose:
        console.print(prices_table(c))
