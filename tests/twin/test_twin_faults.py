"""A break in the generated wiring, a taken port, a missing binary or a dying component: one line naming it,
and nothing left running."""

from __future__ import annotations

import socket

import pytest

import components.eks.chart_values as chart_values
import components.eks.side as eks_side
from tools.twin import cli, datastores
from tools.twin.errors import TwinError

from .conftest import group_alive, log_named_in, remove_workdir


def _fails(started_pids, target="eks", overrides=None) -> str:
    with pytest.raises(TwinError) as raised:
        cli.run_one(target, "dev", overrides or {}, keep=False, timeout=60)
    message = str(raised.value)
    assert "\n" not in message
    assert started_pids, "the twin started nothing before failing"
    assert not [pid for pid in started_pids if group_alive(pid)], "processes left running"
    return message


def test_wrong_broker_port_in_components_names_the_setting(monkeypatch, started_pids):
    monkeypatch.setattr(eks_side, "REDIS_PORT", 6380)  # the broker URL's port; ElastiCache still listens on 6379
    message = _fails(started_pids)
    # Named where the kubelet resolves it: the first Airflow container's env (from the airflow-broker-url Secret).
    assert message.startswith("Deployment/airflow-api-server initContainer wait-for-airflow-migrations: "
                              "env AIRFLOW__CELERY__BROKER_URL: endpoint ")
    assert ".cache.amazonaws.com:6380 is provided by no declared service" in message
    assert "@" not in message and "rediss://" not in message  # the URL (and its password) is not in the message


def test_bad_pgbouncer_ini_line_fails_pgbouncer_with_its_log(monkeypatch, started_pids):
    original = chart_values.pgbouncer_ini
    monkeypatch.setattr(chart_values, "pgbouncer_ini", lambda *a: original(*a).replace(
        "pool_mode = transaction", "pool_mode = transactoin"))
    message = _fails(started_pids)
    assert message.startswith("airflow-pgbouncer.pgbouncer exited with code ")
    log = log_named_in(message)
    assert log.name == "airflow-pgbouncer.pgbouncer.log" and "pool_mode" in log.read_text()
    remove_workdir(message)


def test_port_taken_names_component_and_port(monkeypatch, started_pids):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(datastores, "free_port", lambda: port)
        message = _fails(started_pids)
    assert message == f"postgresql: port 127.0.0.1:{port} is already in use"


def test_missing_debian_binary_names_the_package(monkeypatch, started_pids):
    monkeypatch.setattr(datastores, "PGBOUNCER", "/nonexistent/sbin/pgbouncer")
    message = _fails(started_pids)
    assert message.startswith("pgbouncer not found (/nonexistent/sbin/pgbouncer): install the Debian package pgbouncer")


def test_component_dying_at_start_names_its_log(monkeypatch, started_pids):
    monkeypatch.setattr(datastores, "REDIS_SERVER", "/bin/false")
    message = _fails(started_pids)
    assert message.startswith("redis exited with code 1; read ") and message.endswith("redis.log")
    remove_workdir(message)


def test_stack_airflow_version_must_be_the_pinned_environments(started_pids):
    with pytest.raises(TwinError) as raised:
        cli.run_one("mwaa", "dev", {"airflowVersion": "3.0.6"}, keep=False, timeout=60)
    assert str(raised.value).startswith("airflowVersion: the stack runs 3.0.6 but ")
    assert "make airflow-venv AIRFLOW_VERSION=3.0.6" in str(raised.value)
    assert "bash scripts/setup-twin-airflow-env 3.0.6" in str(raised.value)
    assert started_pids == []  # checked before anything starts


# ---------------------------------------------------------------------- faults in what the chart and MWAA run


def test_a_secret_key_renamed_in_components_names_the_secret_the_key_and_who_reads_it(monkeypatch, started_pids):
    original = eks_side.k8s.core.v1.Secret

    def renamed(name, *args, string_data=None, **kwargs):
        if string_data and "fernet-key" in string_data:
            string_data = {"fernet_key": string_data["fernet-key"]}
        return original(name, *args, string_data=string_data, **kwargs)

    monkeypatch.setattr(eks_side.k8s.core.v1, "Secret", renamed)
    message = _fails(started_pids)
    assert message == ("Deployment/airflow-api-server initContainer wait-for-airflow-migrations: env AIRFLOW__CORE__FERNET_KEY: "
                       "Secret airflow-fernet-key has no key 'fernet-key' (it has: fernet_key)")


def test_a_pgbouncer_auth_file_the_chart_does_not_mount_is_named(monkeypatch, started_pids):
    original = chart_values.pgbouncer_ini
    monkeypatch.setattr(chart_values, "pgbouncer_ini", lambda *a: original(*a).replace(
        "auth_file = /etc/pgbouncer/users.txt", "auth_file = /etc/pgbouncer/userlist.txt"))
    message = _fails(started_pids)
    assert message == ("Secret airflow-pgbouncer-config pgbouncer.ini: auth_file /etc/pgbouncer/userlist.txt is not where "
                       "the chart mounts users.txt (/etc/pgbouncer/users.txt) in Deployment/airflow-pgbouncer container pgbouncer")


def test_a_startup_script_export_mwaa_ignores_is_named(monkeypatch, tmp_path, started_pids):
    from components import airflow_config

    script = tmp_path / "startup.sh"
    script.write_text(airflow_config.STARTUP_SCRIPT.read_text() + "export AIRFLOW_HOME=/tmp/elsewhere\n")
    monkeypatch.setattr(airflow_config, "STARTUP_SCRIPT", script)
    message = _fails(started_pids, target="mwaa")
    assert message == "startup.sh: export AIRFLOW_HOME is ignored on MWAA (a protected variable)"


def test_a_probe_that_cannot_pass_names_the_pod_and_the_probe(monkeypatch, started_pids):
    original = chart_values.airflow_values

    def with_failing_probe(inputs):
        values = original(inputs)
        values["triggerer"]["livenessProbe"] = {"initialDelaySeconds": 0, "periodSeconds": 2, "failureThreshold": 2,
                                                "command": ["sh", "-c", "exit 3"]}
        return values

    monkeypatch.setattr(chart_values, "airflow_values", with_failing_probe)
    message = _fails(started_pids)
    assert message == ("Deployment/airflow-triggerer container triggerer: livenessProbe (exec: sh -c exit 3) failed 2 times "
                       "in a row (failureThreshold 2); last: exit 3: no output")


def test_a_missing_helm_is_one_line_before_anything_starts(monkeypatch, started_pids):
    from tools.chart import helm, render

    monkeypatch.setattr(helm, "HELM", helm.Path(".tools/bin/no-helm-here"))
    monkeypatch.setattr(render, "_CACHE", {})  # renders of earlier tests would not call helm again
    with pytest.raises(TwinError) as raised:
        cli.run_one("eks", "dev", {}, keep=False, timeout=60)
    assert str(raised.value) == "helm not found at .tools/bin/no-helm-here: run `make helm`"
    assert started_pids == []
