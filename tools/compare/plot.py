"""The break-even chart: both targets' monthly cost against the peak concurrent tasks, written as a PNG.

Labels never sit on a curve or behind the legend: the marker lines' labels go above the plot area and the legend
below it, outside the axes, and every number is rounded for people (15.7×, not 15.6875×).
"""

from __future__ import annotations

from pathlib import Path

from .prices import CompareError
from .render import scale_text
from .workload import BreakEven

MWAA_COLOR, EKS_COLOR = "#d97706", "#2563eb"


def write_plot(result: BreakEven, path: Path, stack: str, region: str, currency: str = "USD",
               tco: BreakEven | None = None, sensitivity: str | None = None) -> Path:
    """`sensitivity`: where the TCO verdict flips (tco.sensitivity), written under the legend."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    try:
        curves = [(result, "AWS bill", "-")] + ([(tco, "TCO (bill + operations)", "--")] if tco else [])
        for be, what, style in curves:
            peaks = [p for p, _, _ in be.curve]
            ax.step(peaks, [m if m is not None else float("nan") for _, m, _ in be.curve], where="post",
                    label=f"MWAA {what}", color=MWAA_COLOR, linewidth=2, linestyle=style)
            ax.step(peaks, [e for _, _, e in be.curve], where="post", label=f"EKS {what}", color=EKS_COLOR,
                    linewidth=2, linestyle=style)
        base = result.base.peak
        marks = [(base, f"configured peak {base:g}", "#6b7280", "--")]
        for be, what in ((result, "bill"), (tco, "TCO")):
            if be is not None and be.eks_cheaper_from and be.verdict == "eks-cheaper-from":
                x = be.eks_cheaper_from["peakConcurrentTasks"]
                marks.append((x, f"EKS {what} cheaper from {x:g} ({scale_text(be.eks_cheaper_from['scale'])})", "#16a34a", ":"))
        # labels above the plot area, one row each, so none overlaps a curve, the legend or another label
        for row, (x, text, color, style) in enumerate(marks):
            ax.axvline(x, color=color, linestyle=style, linewidth=1.2)
            ax.annotate(text, xy=(x, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 4 + 12 * row),
                        textcoords="offset points", fontsize=8, color=color, ha="center", va="bottom",
                        annotation_clip=False)
        verdict = {"eks-always-cheaper": "EKS cheaper across the whole range",
                   "never": "EKS never cheaper in this range"}.get(result.verdict, "")
        ax.set_title(f"Monthly cost vs workload — stack {stack}, {region}" + (f" — bill: {verdict}" if verdict else ""),
                     fontsize=11, pad=14 + 12 * len(marks))
        ratio = (result.base.average / result.base.peak) if result.base.peak else 1
        ax.set_xlabel(f"peak concurrent tasks ({result.base.peak_hours_per_day:g} h/day; average = peak × {ratio:.2g})")
        ax.set_ylabel(f"{currency} per month")
        ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
        if sensitivity:  # below the legend, outside the axes like every other label
            import textwrap

            fig.text(0.5, 0.01, textwrap.fill(f"TCO at the configured workload: {sensitivity}", 130).replace("$", r"\$"), ha="center",
                     va="bottom", fontsize=7, color="#374151")
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.tight_layout(rect=(0, 0.06 if sensitivity else 0, 1, 1))
            fig.savefig(path, format="png")
        except OSError as exc:
            raise CompareError(f"cannot write the plot to {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path
