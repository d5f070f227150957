"""The one endpoint rewrite: declared services only, Kubernetes names parsed, secrets never in messages."""

from __future__ import annotations

import pytest

from tools.twin.datastores import rewrite_pgbouncer_ini
from tools.twin.endpoints import Endpoints, Service
from tools.twin.errors import TwinError


@pytest.fixture
def endpoints():
    e = Endpoints()
    e.declare(Service("RDS", "db.example.rds.amazonaws.com", 5432), 40001)
    e.declare(Service("PgBouncer", "airflow-pgbouncer", 6543, namespace="airflow", pod="pgbouncer"), 40002)
    return e


@pytest.mark.parametrize("host", ["airflow-pgbouncer", "airflow-pgbouncer.airflow", "airflow-pgbouncer.airflow.svc",
                                  "airflow-pgbouncer.airflow.svc.cluster.local"])
def test_kubernetes_service_names_map_to_the_service(endpoints, host):
    url = endpoints.url(f"postgresql://airflow:pw@{host}:6543/airflow-metadata?sslmode=disable", "metadata")
    assert url == "postgresql://airflow:pw@127.0.0.1:40002/airflow-metadata?sslmode=disable"


@pytest.mark.parametrize("host", ["airflow-pgbouncer.other", "airflow-pgbouncer.airflow.svc.cluster", "pgbouncer"])
def test_other_names_are_not_guessed(endpoints, host):
    with pytest.raises(TwinError, match=rf"^metadata: endpoint {host}:6543 is provided by no declared service"):
        endpoints.url(f"postgresql://airflow:secret-pw@{host}:6543/x", "metadata")


def test_wrong_port_is_an_error_without_the_password(endpoints):
    with pytest.raises(TwinError) as raised:
        endpoints.url("postgresql://airflow:secret-pw@airflow-pgbouncer:6544/x", "airflow-metadata connection")
    assert "secret-pw" not in str(raised.value) and "airflow-pgbouncer:6544" in str(raised.value)


def test_loopback_means_the_callers_own_pod(endpoints):
    assert endpoints.address("127.0.0.1", 6543, "stats", from_pod="pgbouncer")[:2] == ("127.0.0.1", 40002)
    with pytest.raises(TwinError):
        endpoints.address("127.0.0.1", 6543, "stats", from_pod="worker")


def test_pgbouncer_ini_keeps_every_setting_but_listener_paths_and_hosts(endpoints, tmp_path):
    ini = ("[databases]\nairflow-metadata = host=db.example.rds.amazonaws.com port=5432 dbname=airflow\n\n"
           "[pgbouncer]\nlisten_port = 6543\nlisten_addr = *\nauth_file = /etc/pgbouncer/users.txt\n"
           "server_tls_sslmode = require\npool_mode = transaction\n")
    out = rewrite_pgbouncer_ini(ini, endpoints, 40002, tmp_path / "users.txt")
    assert "airflow-metadata = host=127.0.0.1 port=40001 dbname=airflow" in out
    assert "listen_addr = 127.0.0.1" in out and "listen_port = 40002" in out and "listen_addr = *" not in out
    assert f"auth_file = {tmp_path / 'users.txt'}" in out and "/etc/pgbouncer" not in out
    assert "server_tls_sslmode = require" in out and "pool_mode = transaction" in out
