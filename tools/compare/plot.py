"""The break-even chart: both targets' monthly cost against the peak concurrent tasks, written as a PNG."""

from __future__ import annotations

from pathlib import Path

from .prices import CompareError
from .workload import BreakEven


def write_plot(result: BreakEven, path: Path, stack: str, region: str, currency: str = "USD") -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    peaks = [p for p, _, _ in result.curve]
    mwaa = [m if m is not None else float("nan") for _, m, _ in result.curve]
    eks = [e for _, _, e in result.curve]
    fig, ax = plt.subplots(figsize=(9, 5.2), dpi=110)
    try:
        ax.step(peaks, mwaa, where="post", label="MWAA", color="#d97706", linewidth=2)
        ax.step(peaks, eks, where="post", label="EKS", color="#2563eb", linewidth=2)
        base = result.base.peak
        ax.axvline(base, color="#6b7280", linestyle="--", linewidth=1)
        ax.text(base, 0.97, f" configured peak {base:g}", transform=ax.get_xaxis_transform(), fontsize=8,
                color="#374151", va="top")
        if result.eks_cheaper_from:
            x = result.eks_cheaper_from["peakConcurrentTasks"]
            ax.axvline(x, color="#16a34a", linestyle=":", linewidth=1.5)
            ax.text(x, 0.03, f" EKS cheaper from {x:g} tasks ({result.eks_cheaper_from['scale']:g}×)",
                    transform=ax.get_xaxis_transform(), fontsize=8, color="#166534", va="bottom")
        verdict = {"eks-always-cheaper": "EKS cheaper across the whole range",
                   "never": "EKS never cheaper in this range"}.get(result.verdict, "")
        ax.set_title(f"Monthly cost vs workload — stack {stack}, {region}" + (f"\n{verdict}" if verdict else ""), fontsize=11)
        ax.set_xlabel(f"peak concurrent tasks ({result.base.peak_hours_per_day:g} h/day; average = peak × "
                      f"{(result.base.average / result.base.peak) if result.base.peak else 1:.2g})")
        ax.set_ylabel(f"{currency} per month (On-Demand)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.tight_layout()
            fig.savefig(path, format="png")
        except OSError as exc:
            raise CompareError(f"cannot write the plot to {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path
