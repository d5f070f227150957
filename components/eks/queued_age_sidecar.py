"""The scheduler pod's sidecar measuring the oldest queued task's age (components/alarms/queued_age.py), as chart values.

`scheduler.extraContainers` exists in both pinned charts' values.schema.json (1.19.0 and 1.21.0: an array of
core/v1 Containers); both render it into the scheduler Deployment's containers through `tpl`, so the image and the
metadata Secret are named with the chart's own templates (`airflow_image`, `airflow_metadata_secret`) and always
match the scheduler's. The connection is the scheduler's AIRFLOW__DATABASE__SQL_ALCHEMY_CONN secretKeyRef (the
chart's `standard_airflow_environment`: key `connection` of the metadata Secret); nothing secret is in the values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..alarms import agent, queued_age

NAME = "queued-age-exporter"
SOURCE = Path(queued_age.__file__).read_text()
INTERVAL_SECONDS = 10  # the agent flushes every COLLECTION_INTERVAL (10 s): one sample per flush


def queued_age_container(side_slot: str, resources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The container for `scheduler.extraContainers`. Pod-level settings (non-root uid, seccomp RuntimeDefault) come
    from the scheduler pod's securityContext (chart_values._set_pod_security); the container drops what the chart's
    own sidecars drop, and writes nothing, so its root filesystem is read-only."""
    return {
        "name": NAME,
        "image": '{{ template "airflow_image" . }}',
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-c", SOURCE],
        "env": [
            {"name": queued_age.CONN_ENV,
             "valueFrom": {"secretKeyRef": {"name": '{{ template "airflow_metadata_secret" . }}', "key": "connection"}}},
            {"name": queued_age.STATSD_ENV, "value": f"udp://{agent.statsd_host()}:{agent.STATSD_PORT}"},
            {"name": queued_age.PREFIX_ENV, "value": agent.statsd_prefix(side_slot)},
            {"name": queued_age.INTERVAL_ENV, "value": str(INTERVAL_SECONDS)},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        ],
        "resources": resources,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True},
    }
