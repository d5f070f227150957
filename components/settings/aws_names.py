"""Names AWS accepts, read from the service models of the pinned botocore (a dependency of the program already):
regions, EC2 instance types, RDS instance classes and ElastiCache node types. Reading them, rather than keeping a
list here, means a new botocore pin brings new names with it.
"""

from __future__ import annotations

import re
from functools import cache

from .allowed import CACHE_NODE_FAMILIES, DB_INSTANCE_FAMILIES


@cache
def _loader():
    from botocore.loaders import Loader  # imported here: only the checks that name AWS types need it

    return Loader()


@cache
def regions() -> frozenset[str]:
    """Every region of every partition in botocore's partitions.json (the `*-global` pseudo-regions left out)."""
    partitions = _loader().load_data("partitions")["partitions"]
    return frozenset(r for p in partitions for r in p["regions"] if not r.endswith("-global"))


@cache
def ec2_instance_types() -> frozenset[str]:
    """The InstanceType enum of the EC2 API model: what RunInstances (and so a managed node group) accepts."""
    return frozenset(_loader().load_service_model("ec2", "service-2")["shapes"]["InstanceType"]["enum"])


@cache
def db_instance_classes() -> frozenset[str]:
    """db.<EC2 type> for the RDS families this program allows. RDS offers the burstable families from micro (no
    nano) and the others from large, without metal ("DB instance class types", Amazon RDS User Guide); the RDS
    model has no enum of its own."""
    classes = set()
    for name in ec2_instance_types():
        family, _, size = name.partition(".")
        burstable = family.startswith("t")
        if family in DB_INSTANCE_FAMILIES and size != "nano" and "metal" not in size and (burstable or size != "medium"):
            classes.add(f"db.{name}")
    return frozenset(classes)


@cache
def cache_node_types() -> frozenset[str]:
    """The node types the ElastiCache API model lists as supported (its CacheNode documentation), in the families
    this program allows."""
    text = _loader().load_service_model("elasticache", "service-2")["shapes"]["CacheNode"]["documentation"]
    return frozenset(t for t in re.findall(r"cache\.[a-z0-9]+\.[a-z0-9]+", text)
                     if t.split(".")[1] in CACHE_NODE_FAMILIES)


def sizes(names: frozenset[str], family: str) -> str:
    """'micro, small, medium' — the sizes of one family, smallest first, for a message."""
    found = [n.rsplit(".", 1)[1] for n in names if n.rsplit(".", 2)[-2] == family]
    order = ["nano", "micro", "small", "medium", "large", "xlarge"]
    return ", ".join(sorted(found, key=lambda s: (order.index(s) if s in order else 6, int(s[:-6] or 0) if s[:-6].isdigit() else 0)))
