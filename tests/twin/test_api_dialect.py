"""The twins' API client speaks the API of the stack's Airflow: /api/v1 with basic auth on 2.x, /api/v2 with a JWT
on 3.x (tools/twin/runs.py). Against a local HTTP server that records what it is asked and answers as that API."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tools.twin import airflow_procs
from tools.twin.airflow_procs import AirflowHome
from tools.twin.errors import TwinError
from tools.twin.runs import V1, V2, AirflowApi, dialect_for


class FakeAirflow(BaseHTTPRequestHandler):
    seen: list[dict]
    answers: dict[tuple[str, str], tuple[int, str, str]]  # (method, path) -> status, content type, body

    def _answer(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.seen.append({"method": self.command, "path": url.path, "query": parse_qs(url.query),
                          "auth": self.headers.get("Authorization"), "accept": self.headers.get("Accept"),
                          "body": json.loads(self.rfile.read(length)) if length else None})
        status, kind, body = self.answers.get((self.command, url.path), (404, "application/json", "{}"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    handler = type("Handler", (FakeAirflow,), {"seen": [], "answers": {}})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


JSON = "application/json"


@pytest.mark.parametrize(("version", "dialect"), [("2.10.3", V1), ("2.11.2", V1), ("3.0.6", V2), ("3.3.1", V2)])
def test_the_stack_major_picks_the_api(version, dialect):
    assert dialect_for(version) is dialect


def test_a_version_that_is_not_x_y_z_is_one_line():
    with pytest.raises(TwinError, match=r"^airflowVersion: 'latest' is not X\.Y\.Z$"):
        dialect_for("latest")


def test_airflow_2_basic_auth_on_api_v1(server):
    handler, url = server
    handler.answers = {
        ("GET", "/api/v1/dags"): (200, JSON, json.dumps({"dags": [], "total_entries": 0})),
        ("PATCH", "/api/v1/dags/smoke"): (200, JSON, json.dumps({"dag_id": "smoke", "is_paused": False})),
        ("POST", "/api/v1/dags/smoke/dagRuns"): (200, JSON, json.dumps({"dag_run_id": "manual__1"})),
        ("GET", "/api/v1/dags/smoke/dagRuns/manual__1/taskInstances/check/xcomEntries/return_value"):
            (200, JSON, json.dumps({"value": {"key": "k"}})),
        ("GET", "/api/v1/dags/smoke/dagRuns/manual__1/taskInstances/check/logs/1"): (200, "text/plain", "line one\n"),
        ("POST", "/api/v1/pools"): (200, JSON, "{}"),
    }
    api = AirflowApi(url, "admin", "pw", "2.10.3")
    api.login()
    assert api.trigger("smoke") == "manual__1"
    assert api.xcom("smoke", "manual__1", "check") == {"key": "k"}
    assert api.log_text("smoke", "manual__1", {"task_id": "check", "try_number": 1}) == "line one\n"
    api.create("pools", [{"name": "a", "slots": 1}, {"name": "b", "slots": 2}])

    basic = "Basic " + base64.b64encode(b"admin:pw").decode()
    assert {r["auth"] for r in handler.seen} == {basic}
    assert [(r["method"], r["path"]) for r in handler.seen][:3] == [
        ("GET", "/api/v1/dags"), ("PATCH", "/api/v1/dags/smoke"), ("POST", "/api/v1/dags/smoke/dagRuns")]
    assert handler.seen[1]["query"] == {"update_mask": ["is_paused"]} and handler.seen[1]["body"] == {"is_paused": False}
    assert handler.seen[2]["body"] == {"conf": {}}  # 2.x fills the logical date itself
    assert handler.seen[3]["query"] == {"stringify": ["false"]}
    assert handler.seen[4]["accept"] == "text/plain"
    assert [r["body"] for r in handler.seen[5:]] == [{"name": "a", "slots": 1}, {"name": "b", "slots": 2}]


def test_airflow_2_refused_login_names_the_auth_backend(server):
    handler, url = server
    handler.answers = {("GET", "/api/v1/dags"): (401, JSON, json.dumps({"title": "Unauthorized"}))}
    with pytest.raises(TwinError) as raised:
        AirflowApi(url, "admin", "wrong", "2.10.3").login()
    assert str(raised.value) == ("webserver: /api/v1 refused the admin's basic auth (401); [api] auth_backends must "
                                 "list airflow.api.auth.backend.basic_auth")


def test_airflow_3_jwt_on_api_v2(server):
    handler, url = server
    handler.answers = {
        ("POST", "/auth/token"): (201, JSON, json.dumps({"access_token": "jwt"})),
        ("PATCH", "/api/v2/dags/smoke"): (200, JSON, "{}"),
        ("POST", "/api/v2/dags/smoke/dagRuns"): (200, JSON, json.dumps({"dag_run_id": "manual__2"})),
        ("PATCH", "/api/v2/pools"): (200, JSON, "{}"),
    }
    api = AirflowApi(url, "admin", "pw", "3.3.1")
    api.login()
    assert api.trigger("smoke") == "manual__2"
    api.create("pools", [{"name": "a", "slots": 1}])
    assert handler.seen[0]["body"] == {"username": "admin", "password": "pw"}
    assert {r["auth"] for r in handler.seen[1:]} == {"Bearer jwt"}
    assert handler.seen[2]["body"] == {"logical_date": None, "conf": {}}
    assert handler.seen[3]["body"] == {"actions": [{"action": "create", "entities": [{"name": "a", "slots": 1}],
                                                    "action_on_existence": "overwrite"}]}


class _Supervisor:
    """Supervisor.wait's contract: poll `ready` while the process runs."""

    def __init__(self, names):
        self.processes = [type("P", (), {"name": n})() for n in names]
        self.waited: list[tuple[str, bool, str]] = []

    def wait(self, process, ready, what, timeout):
        self.waited.append((process.name, ready(), what))


@pytest.mark.parametrize(("version", "process", "path"), [
    ("2.10.3", "webserver.webserver", "/health"), ("3.3.1", "webserver.api-server", "/api/v2/monitor/health")])
def test_health_wait_asks_the_server_of_that_version(server, tmp_path, version, process, path):
    handler, url = server
    handler.answers = {("GET", path): (200, JSON, "{}")}
    port = int(url.rsplit(":", 1)[1])
    home = AirflowHome(home=tmp_path, dags=tmp_path, api_port=port, admin_password="x", passwords_file=tmp_path / "p")
    supervisor = _Supervisor(["scheduler.scheduler", process])
    airflow_procs.wait_healthy(supervisor, home, version)
    assert supervisor.waited == [(process, True, f"{url}{path}")]
