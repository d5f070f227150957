"""End of EKS standard support per Kubernetes minor version: the one place these dates live.

After its end of standard support a version runs in extended support (on by default, 12 more months), billed at
`eks.clusterExtended` instead of `eks.cluster` (tools/pricing/prices.json). EKS gives each minor version 14 months of
standard support from its EKS release.

Source: docs/research/chart-notes.md, "EKS Kubernetes versions" (compiled 2026-11-26):
- 1.33, 1.34, 1.35: endoflife.date/amazon-eks (copy from about Feb 2026) and the aws-samples "eks-operation-review"
  cluster-lifecycle calendar (verified 2026-04-24);
- 1.36: a blog post (devopsdreams, 2026-08-16), not AWS; it equals the 14-month rule from 1.36's EKS release on
  2026-06-02 (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html).
Refresh from the EKS Kubernetes release calendar on that AWS page; add a row for every version
components/settings allows (EKS_KUBERNETES_VERSIONS), or the comparison stops with an error naming it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .prices import CompareError

STANDARD_SUPPORT_END: dict[str, datetime.date] = {
    "1.33": datetime.date(2026, 7, 29),
    "1.34": datetime.date(2026, 12, 2),
    "1.35": datetime.date(2027, 3, 27),
    "1.36": datetime.date(2027, 8, 2),  # blog figure, see above
}
SOURCE = "tools/compare/eks_support.py"
# Extended support lasts 12 months after standard support ends (AWS: "EKS Kubernetes versions", the same page); after
# it EKS upgrades the cluster itself.
EXTENDED_MONTHS = 12


def successor(version: str) -> str | None:
    """The next minor version in the calendar (EKS upgrades one minor version at a time), or None if none is dated."""
    versions = sorted(STANDARD_SUPPORT_END, key=lambda v: tuple(int(x) for x in v.split(".")))
    index = versions.index(version)
    return versions[index + 1] if index + 1 < len(versions) else None


# MWAA: end of support per Airflow version on MWAA. The MWAA user guide (docs.aws.amazon.com/mwaa/latest/userguide/
# airflow-versions.html, "Apache Airflow version support and FAQ") publishes a date only when a version is deprecated;
# none of the versions components/settings.py allows had one in the material read on 2026-12-06 (SOURCES.md source 22).
# The horizon treats a version without a row as supported throughout and says so.
MWAA_SUPPORT_END: dict[str, datetime.date] = {}


@dataclass(frozen=True)
class Support:
    version: str
    as_of: datetime.date
    standard_ends: datetime.date  # last day of standard support

    @property
    def extended(self) -> bool:
        """Priced at the extended-support rate: the pricing date is after the end of standard support."""
        return self.as_of > self.standard_ends

    @property
    def price_key(self) -> str:
        return "eks.clusterExtended" if self.extended else "eks.cluster"

    @property
    def text(self) -> str:
        if self.extended:
            return f"extended support (standard ended {self.standard_ends.isoformat()})"
        return f"standard support (until {self.standard_ends.isoformat()})"


def support(version: str | None, as_of: datetime.date) -> Support:
    """Support status of a Kubernetes minor version on the pricing date; CompareError if the date isn't known."""
    if not version:
        raise CompareError("the EKS cluster declares no Kubernetes version: can't tell standard from extended support "
                           "(eks.cluster vs eks.clusterExtended)")
    if version not in STANDARD_SUPPORT_END:
        raise CompareError(f"no end-of-standard-support date for Kubernetes {version} in {SOURCE}; "
                           f"known: {', '.join(STANDARD_SUPPORT_END)}")
    return Support(version=version, as_of=as_of, standard_ends=STANDARD_SUPPORT_END[version])
