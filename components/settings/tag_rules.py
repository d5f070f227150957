"""Rules for `tags`: AWS's tag limits and the keys the program sets itself."""

from __future__ import annotations

import json
import re
from typing import Mapping

from .allowed import MAX_TAGS_PER_RESOURCE, PROGRAM_TAG_KEYS, PROGRAM_TAGS_PER_RESOURCE

# Prefixes EKS tooling reads as instructions: kubernetes.io/cluster/<name> marks what a cluster owns (the AWS load
# balancer controller and cloud provider act on it) and k8s.io/cluster-autoscaler/* is how the Cluster Autoscaler
# finds and sizes node groups. A stack tag with either would hand resources to a cluster or its autoscaler.
EKS_TAG_PREFIXES = ("kubernetes.io/cluster/", "k8s.io/cluster-autoscaler/")
_TAG_TEXT = re.compile(r"[\w .:/=+\-@]*")


def tag_problems(tags: Mapping[str, str]) -> list[str]:
    problems = []
    allowed_text = "letters, digits, spaces and _ . : / = + - @"
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not _TAG_TEXT.fullmatch(key):
            problems.append(f"tags: key {json.dumps(key)} is not a valid AWS tag key; allowed: 1-128 characters, {allowed_text}")
        elif key.lower().startswith("aws:"):
            problems.append(f"tags: key {json.dumps(key)} uses the prefix reserved for AWS; allowed: keys not starting with aws:")
        elif key.lower().startswith(EKS_TAG_PREFIXES):
            problems.append(f"tags: key {json.dumps(key)} is read by EKS tooling (cluster ownership or the Cluster "
                            f"Autoscaler); allowed: keys not starting with {' or '.join(EKS_TAG_PREFIXES)}")
        elif key in PROGRAM_TAG_KEYS:
            problems.append(f"tags: key {json.dumps(key)} is set by the program; allowed: keys other than {', '.join(PROGRAM_TAG_KEYS)}")
        elif len(value) > 256 or not _TAG_TEXT.fullmatch(value):
            problems.append(f"tags.{key}: {json.dumps(value)} is not a valid AWS tag value; allowed: up to 256 characters, {allowed_text}")
    most = MAX_TAGS_PER_RESOURCE - PROGRAM_TAGS_PER_RESOURCE
    if len(tags) > most:
        problems.append(f"tags: {len(tags)} tags plus the program's own ({PROGRAM_TAGS_PER_RESOURCE}) exceed AWS's "
                        f"{MAX_TAGS_PER_RESOURCE} per resource; allowed: at most {most} tags")
    return problems
