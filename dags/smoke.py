"""
Smoke DAG: proves that the scheduler, a worker and the metadata database of a deployment work.

Two tiny tasks: the first reports where it ran (hostname, Python and Airflow versions, and the
deployment target named by the environment variable DEPLOYMENT_TARGET, which the MWAA startup script
and the EKS deployment set) and the second checks what it got through XCom. Nothing here depends on
the target: trigger it after a deploy, or let it run every six hours as a heartbeat.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

try:  # Airflow 3: the Task SDK is the public authoring interface
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x (MWAA supports 2.9.2-2.11.2)
    from airflow.decorators import dag, task


@dag(
    dag_id="smoke",
    description="Heartbeat: one task reports where it ran, a second one checks the report",
    schedule="0 */6 * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=10),
    default_args={
        "owner": "platform-team",
        "retries": 1,
        "retry_delay": timedelta(seconds=30),
        "execution_timeout": timedelta(minutes=2),
    },
    tags=["example", "smoke"],
    doc_md=__doc__,
)
def smoke():
    @task
    def report() -> dict:
        import os
        import platform
        import socket

        import airflow

        return {
            "target": os.environ.get("DEPLOYMENT_TARGET", "unknown"),
            "hostname": socket.gethostname(),
            "python": platform.python_version(),
            "airflow": airflow.__version__,
        }

    @task
    def check(info: dict) -> str:
        missing = [key for key in ("hostname", "python", "airflow") if not info.get(key)]
        if missing:
            raise ValueError(f"report is missing {missing}: {info}")
        return f"Airflow {info['airflow']} on Python {info['python']} at {info['hostname']} ({info['target']})"

    check(report())


smoke()
