"""vCPU and memory of an EC2 instance type, from its name: what a node can give pods (settings check that pods fit;
tools/compare packs pods onto nodes with the same figures).

Source: Amazon EC2 instance type specifications (docs.aws.amazon.com/ec2/latest/instancetypes/gp.html, co.html,
mo.html). In the general-purpose (m), compute (c) and memory (r) families every size has a fixed memory per vCPU
(4, 2 and 8 GiB) and `large` = 2 vCPU, `xlarge` = 4, `Nxlarge` = 4N; burstable t3/t3a/t4g sizes are listed.
Other families (GPU, storage, ...) are not sized here: the settings check names them as not allowed.
"""

from __future__ import annotations

import re

BURSTABLE = {  # size -> (vCPU, GiB), the same for t3, t3a and t4g
    "nano": (2, 0.5), "micro": (2, 1), "small": (2, 2), "medium": (2, 4), "large": (2, 8), "xlarge": (4, 16),
    "2xlarge": (8, 32),
}
BURSTABLE_FAMILIES = ("t3", "t3a", "t4g")
GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}
ALLOWED = "t3, t3a or t4g types, or an m, c or r family type such as m6i.large (sizes medium to 48xlarge)"

_NAME = re.compile(r"^(?P<family>(?P<letter>[a-z])\d+[a-z-]*)\.(?P<size>medium|large|xlarge|(?P<n>\d+)xlarge)$")


def spec(instance_type: str) -> tuple[float, float] | None:
    """(vCPU, memory GiB), or None for a type this module can't size."""
    family, _, size = instance_type.partition(".")
    if family in BURSTABLE_FAMILIES:
        return BURSTABLE.get(size)
    match = _NAME.match(instance_type)
    if not match or match["letter"] not in GIB_PER_VCPU:
        return None
    vcpu = {"medium": 1, "large": 2, "xlarge": 4}.get(size) or 4 * int(match["n"])
    if vcpu > 192:
        return None
    return float(vcpu), float(vcpu * GIB_PER_VCPU[match["letter"]])
