"""The Airflow 2.x path over HTTP (/api/v1, basic auth, one request per item), against a small stand-in
server on loopback that answers like Airflow 2.10's connexion API (shapes from its v1.yaml): list
endpoints with limit/offset capped at a maximum page size, write-only passwords, 409 on duplicates."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tools.migrate import cli


class FakeAirflow2:
    def __init__(self, version="2.10.3", api="v1", max_page=2, user="admin", password="pw-admin-2x"):
        self.version, self.api, self.max_page = version, api, max_page
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.variables = {"env": {"key": "env", "value": "prod", "description": None}}
        self.connections = {}
        self.pools = {"default_pool": {"name": "default_pool", "slots": 128, "description": "Default pool",
                                       "include_deferred": False}}
        self.dags = {"etl": {"dag_id": "etl", "is_paused": True, "is_active": True}}
        self.requests: list[tuple[str, str]] = []
        self.fail_next: list[tuple[int, dict]] = []  # (status, headers) to answer the next API calls with
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=None, headers=None):
                data = json.dumps(body if body is not None else {}).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                parts = urlsplit(self.path)
                fake.requests.append((method, parts.path))
                prefix = f"/api/{fake.api}"
                if not parts.path.startswith(prefix):
                    return self._send(404, {"title": "Not Found", "status": 404})
                path = parts.path[len(prefix):]
                if path == "/version":
                    return self._send(200, {"version": fake.version, "git_version": None})
                if fake.fail_next:
                    status, headers = fake.fail_next.pop(0)
                    return self._send(status, {"title": "Service Unavailable", "status": status}, headers)
                if self.headers.get("Authorization") != fake.auth:
                    return self._send(401, {"title": "Unauthorized", "status": 401})
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                coll, _, key = path[1:].partition("/")
                key = unquote(key)
                store = {"variables": fake.variables, "connections": fake.connections, "pools": fake.pools,
                         "dags": fake.dags}.get(coll)
                if store is None:
                    return self._send(404, {"title": "Not Found", "status": 404})
                idf = {"variables": "key", "connections": "connection_id", "pools": "name", "dags": "dag_id"}[coll]
                if method == "GET" and not key:
                    limit = min(int(q.get("limit", 100)), fake.max_page)
                    offset = int(q.get("offset", 0))
                    rows = [dict(v) for _, v in sorted(store.items())][offset:offset + limit]
                    if coll == "connections":  # the collection schema has neither password nor extra
                        rows = [{k: v for k, v in r.items() if k not in ("password", "extra")} for r in rows]
                    return self._send(200, {coll: rows, "total_entries": len(store)})
                if method == "GET":
                    if key not in store:
                        return self._send(404, {"title": "Not found", "status": 404})
                    row = dict(store[key])
                    row.pop("password", None)  # load_only in Airflow 2: never returned
                    return self._send(200, row)
                if method == "POST":
                    if body[idf] in store:
                        return self._send(409, {"title": "Conflict", "detail": "already exists", "status": 409})
                    store[body[idf]] = dict(body)
                    return self._send(200, body)
                if method == "PATCH":
                    if key not in store:
                        return self._send(404, {"title": "Not found", "status": 404})
                    store[key].update(body)
                    return self._send(200, store[key])
                return self._send(405, {"title": "Method not allowed", "status": 405})

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PATCH(self):
                self._handle("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake2():
    server = FakeAirflow2()
    yield server
    server.close()


def run(capsys, *argv):
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def target(server, env="FAKE2_PW"):
    return ["--target-url", server.url, "--target-user", "admin", "--target-password-env", env]


def write_file(tmp_path, **kinds):
    doc = {"format": "airflow-metadata-export", "schema_version": 1, "airflow_version": "3.3.1",
           "exported_at": "2026-01-01T00:00:00+00:00", "source": {"kind": "url", "url": "http://x"}, **kinds}
    path = tmp_path / "f.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_import_into_airflow2_over_http(fake2, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FAKE2_PW", "pw-admin-2x")
    path = write_file(
        tmp_path,
        variables=[{"key": f"v{i}", "value": f"value {i}", "description": None} for i in range(5)]
        + [{"key": "env", "value": "staging", "description": None}],
        connections=[{"connection_id": "pg", "conn_type": "postgres", "host": "db", "login": "u",
                      "password": "pg-secret-2x", "schema": "s", "port": 5432, "description": None, "extra": None}],
        pools=[{"name": "etl", "slots": 3, "description": "e", "include_deferred": True}],
        dags=[{"dag_id": "etl", "is_paused": False}],
    )
    rc, out, err = run(capsys, "import", path, *target(fake2), "--json")
    assert rc == 3, err  # "env" differs: a conflict
    summary = json.loads(out)["kinds"]
    assert summary["variables"]["created"] == [f"v{i}" for i in range(5)]
    assert summary["variables"]["conflicts"] == [{"key": "env", "fields": ["value"]}]
    assert summary["connections"]["created"] == ["pg"] and summary["pools"]["created"] == ["etl"]
    assert summary["dags"]["paused_state_set"] == {"etl": False}
    assert fake2.variables["env"]["value"] == "prod"  # not overwritten
    assert fake2.connections["pg"]["password"] == "pg-secret-2x"
    assert fake2.dags["etl"]["is_paused"] is False
    assert "pg-secret-2x" not in out + err

    rc, out, _ = run(capsys, "import", path, *target(fake2), "--json", "--overwrite")
    assert rc == 0
    assert json.loads(out)["kinds"]["variables"]["overwritten"] == ["env"]
    assert fake2.variables["env"]["value"] == "staging"
    # The connection exists now; Airflow 2 does not reveal its password, so it counts as unchanged.
    assert json.loads(out)["kinds"]["connections"]["unchanged_secret_unverified"] == ["pg"]


def test_export_from_airflow2_pages_and_hides_passwords(fake2, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FAKE2_SRC", "pw-admin-2x")
    for i in range(7):
        fake2.variables[f"k{i}"] = {"key": f"k{i}", "value": str(i), "description": None}
    fake2.connections["pg"] = {"connection_id": "pg", "conn_type": "postgres", "host": "db", "login": "u",
                               "password": "never-returned", "schema": None, "port": 5432, "description": None,
                               "extra": '{"sslmode": "require"}'}
    out_file = tmp_path / "e.json"
    rc, out, err = run(capsys, "export", "--source-url", fake2.url, "--source-user", "admin",
                       "--source-password-env", "FAKE2_SRC", "-o", str(out_file), "--json")
    assert rc == 0, err
    doc = json.loads(out_file.read_text())
    assert len(doc["variables"]) == 8  # pages of 2 (the server's cap), all read
    pages = [p for m, p in fake2.requests if (m, p) == ("GET", "/api/v1/variables")]
    assert len(pages) == 4
    [pg] = doc["connections"]
    assert pg["extra"] == '{"sslmode": "require"}' and pg["hidden"] == ["password"] and pg["password"] is None
    assert json.loads(out)["kinds"]["connections"]["hidden_secrets"] == ["pg"]


def test_wrong_password_for_airflow2(fake2, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FAKE2_PW", "wrong")
    path = write_file(tmp_path, pools=[{"name": "p", "slots": 1, "description": None, "include_deferred": False}])
    rc, out, err = run(capsys, "import", path, *target(fake2))
    assert rc == 1 and out == ""
    assert err == f"error: wrong credentials for user 'admin' at {fake2.url} (status 401)\n"
    assert "p" not in fake2.pools


def test_version_and_api_mismatch_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FAKE2_PW", "pw-admin-2x")
    path = write_file(tmp_path, pools=[{"name": "p", "slots": 1, "description": None, "include_deferred": False}])
    mismatched = FakeAirflow2(version="2.10.3", api="v2")  # claims 2.x on Airflow 3's API
    old = FakeAirflow2(version="2.7.3")
    try:
        rc, _, err = run(capsys, "import", path, *target(mismatched))
        assert rc == 1
        assert err == (f"error: {mismatched.url} answers on /api/v2 but reports Airflow 2.10.3, which serves "
                       "/api/v1: refusing a mismatched API\n")
        rc, _, err = run(capsys, "import", path, *target(old))
        assert rc == 1
        assert err == f"error: {old.url} runs Airflow 2.7.3, which this tool does not support (it handles 2.9 to 3.x)\n"
        assert "p" not in old.pools
    finally:
        mismatched.close()
        old.close()
