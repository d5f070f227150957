"""The queued-age exporter (components/alarms/queued_age.py) and its sidecar in the scheduler pod's chart values."""

from __future__ import annotations

import datetime
import os
import socket
import sqlite3
import subprocess

import pytest

from components.alarms import queued_age
from components.alarms.agent import statsd_host
from components.eks.queued_age_sidecar import NAME, SOURCE
from tests.conftest import ROOT, planned, stack_value

NOW = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.timezone.utc)
TASK_INSTANCE = "CREATE TABLE task_instance (task_id TEXT, state TEXT, queued_dttm TEXT)"


def database(rows: list[tuple[str, str, str | None]], path: str = ":memory:") -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    connection.execute(TASK_INSTANCE)
    connection.executemany("INSERT INTO task_instance VALUES (?, ?, ?)", rows)
    connection.commit()
    return connection


def measure(connection: sqlite3.Connection) -> tuple[int | None, list[bytes]]:
    sent: list[bytes] = []
    age = queued_age.tick(lambda: connection.execute(queued_age.QUERY).fetchone()[0], sent.append, "airflow", NOW)
    return age, sent


def test_the_oldest_queued_task_only_is_measured_in_milliseconds():
    connection = database([("old_but_running", "running", "2026-12-06 10:00:00"),
                           ("queued_31_min", "queued", "2026-12-06 11:29:00"),
                           ("queued_5_s", "queued", "2026-12-06 11:59:55"),
                           ("queued_no_time", "queued", None),
                           ("done", "success", "2026-12-06 09:00:00")])
    age, sent = measure(connection)
    assert age == 31 * 60 * 1000
    assert sent == [b"airflow.task.oldest_queued_age:1860000|ms"]  # a StatsD timing, as Airflow's own durations


def test_nothing_is_sent_while_no_task_is_queued():
    assert measure(database([("t", "running", "2026-12-06 11:00:00"), ("u", "scheduled", None)])) == (None, [])


def test_postgres_aware_timestamps_and_a_clock_behind_the_scheduler_give_a_non_negative_age():
    aware = datetime.datetime(2026, 12, 6, 11, 59, 30, tzinfo=datetime.timezone.utc)
    assert queued_age.age_ms(aware, NOW) == 30_000
    assert queued_age.age_ms(NOW + datetime.timedelta(seconds=2), NOW) == 0


def test_the_inline_source_survives_helm_tpl_and_the_kubelet():
    # The chart renders extraContainers through `tpl`, and the kubelet expands $(VAR) in command and args.
    assert "{{" not in SOURCE and "$(" not in SOURCE
    assert SOURCE == (ROOT / "components/alarms/queued_age.py").read_text()


@pytest.mark.parametrize("venv", [".venv-airflow", ".venv-airflow-2.10.3"])  # SQLAlchemy 2.0 (3.3.1) and 1.4 (2.10.3)
def test_the_sidecar_command_sends_the_age_from_a_database_to_statsd(venv, tmp_path):
    """The exact `python -c <source>` of the sidecar, with the Airflow image's Python packages, against a database."""
    python = ROOT / venv / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{venv} is not set up (scripts/setup-twin-airflow-env)")
    queued = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    database([("stuck", "queued", queued)], str(tmp_path / "airflow.db")).close()
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(60)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), queued_age.CONN_ENV: f"sqlite:///{tmp_path / 'airflow.db'}",
           queued_age.STATSD_ENV: f"udp://127.0.0.1:{listener.getsockname()[1]}", queued_age.PREFIX_ENV: "airflow_green",
           queued_age.INTERVAL_ENV: "0.5"}
    process = subprocess.Popen([str(python), "-c", SOURCE], env=env, stderr=subprocess.PIPE, text=True)
    try:
        first, second = listener.recv(512).decode(), listener.recv(512).decode()
    finally:
        process.kill()
        _, errors = process.communicate(timeout=30)
        listener.close()
    for datagram in (first, second):
        name, _, rest = datagram.partition(":")
        assert name == "airflow_green.task.oldest_queued_age" and rest.endswith("|ms"), (datagram, errors)
        assert 5 * 60 * 1000 <= int(rest[:-3]) < 6 * 60 * 1000
    assert errors == ""


def sidecar(values: dict) -> dict:
    [container] = [c for c in values["scheduler"]["extraContainers"] if c["name"] == NAME]
    return container


@pytest.mark.parametrize("airflow_version", ["2.10.3", "3.3.1"])  # charts 1.19.0 and 1.21.0
def test_the_scheduler_pod_carries_the_exporter_with_the_schedulers_connection(airflow_version):
    values = planned("dev", target="eks", airflowVersion=airflow_version).one(
        "kubernetes:helm.sh/v3:Release", "eks-airflow").inputs["values"]
    container = sidecar(values)
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    # The chart's own templates: the scheduler's image, and its metadata Secret's `connection` key.
    assert container["image"] == '{{ template "airflow_image" . }}'
    assert env[queued_age.CONN_ENV] == {"secretKeyRef": {"name": '{{ template "airflow_metadata_secret" . }}',
                                                         "key": "connection"}}
    assert values["data"]["metadataSecretName"] == "airflow-metadata"
    assert env[queued_age.STATSD_ENV] == f"udp://{statsd_host()}:8125"
    assert env[queued_age.PREFIX_ENV] == values["config"]["metrics"]["statsd_prefix"] == "airflow"
    assert container["command"] == ["python", "-c", SOURCE]
    assert container["resources"] == {"requests": {"cpu": "10m", "memory": "64Mi"},
                                      "limits": {"cpu": "20m", "memory": "64Mi"}}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                            "readOnlyRootFilesystem": True}


def test_a_green_release_exports_under_its_own_prefix_and_requests_come_from_settings():
    plan = planned("dev", target="eks", airflowVersion="3.2.1", upgrade={"airflowVersion": "3.3.1"},
                   eks={**stack_value("dev", "eks"), "resources": {"queuedAgeExporter": {"cpuMillis": 30, "memoryMiB": 96}}})
    releases = {r.name: r.inputs["values"] for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.name.endswith("-airflow")}
    prefixes = {name: {e["name"]: e.get("value") for e in sidecar(v)["env"]}[queued_age.PREFIX_ENV]
                for name, v in releases.items()}
    assert prefixes == {"eks-airflow": "airflow", "eks-green-airflow": "airflow_green"}
    assert sidecar(releases["eks-green-airflow"])["resources"]["requests"] == {"cpu": "30m", "memory": "96Mi"}


@pytest.mark.parametrize("airflow_version", ["2.10.3", "3.3.1"])
def test_eks_waits_for_a_queued_task_as_mwaa_does_unless_the_stack_says_otherwise(airflow_version):
    def timeout(**overrides) -> str:
        values = planned("dev", target="eks", airflowVersion=airflow_version, **overrides).one(
            "kubernetes:helm.sh/v3:Release", "eks-airflow").inputs["values"]
        return values["config"]["scheduler"]["task_queued_timeout"]

    assert timeout() == "1800.0"  # MWAA's image default, not Airflow's 600
    mwaa = stack_value("dev", "mwaa")  # the stack's options, shared by both targets
    mwaa["airflowConfigurationOptions"]["scheduler.task_queued_timeout"] = "900"
    assert timeout(mwaa=mwaa) == "900"


@pytest.mark.parametrize("airflow_version, expected", [("2.10.3", "False"), ("3.3.1", None)])
def test_eks_runs_no_mini_scheduler_on_airflow_2_as_mwaa_does(airflow_version, expected):
    """MWAA's images set schedule_after_task_execution False; the option exists on Airflow 2 only (3.x removed it)."""
    values = planned("dev", target="eks", airflowVersion=airflow_version).one(
        "kubernetes:helm.sh/v3:Release", "eks-airflow").inputs["values"]
    assert values["config"]["scheduler"].get("schedule_after_task_execution") == expected
