"""The MWAA path: export from and import into an environment through ``mwaa:InvokeRestApi``.

boto3's real ``mwaa`` client is wired to botocore's Stubber, so each call is checked against the service
model (request parameters) and answered with the model's response shape (``RestApiStatusCode``,
``RestApiResponse``; errors as ``RestApiClientException`` with the same members).
"""

from __future__ import annotations

import json
import os
import stat

import boto3
import pytest
from botocore.stub import Stubber

from tools.migrate import cli, transport

ENV = "prod-airflow"


@pytest.fixture
def mwaa(monkeypatch):
    client = boto3.client(
        "mwaa", region_name="eu-west-1", aws_access_key_id="AKIATEST", aws_secret_access_key="test-secret"
    )
    stubber = Stubber(client)
    seen = {}

    def factory(region, profile, workers, label, role):
        seen["region"] = region
        return client

    monkeypatch.setattr(transport, "mwaa_client_factory", factory)
    with stubber:
        yield stubber, seen
    stubber.assert_no_pending_responses()


def ok(stubber, path, response, method="GET", params=None, body=None, status=200):
    expected = {"Name": ENV, "Path": path, "Method": method}
    if params is not None:
        expected["QueryParameters"] = params
    if body is not None:
        expected["Body"] = body
    stubber.add_response(
        "invoke_rest_api", {"RestApiStatusCode": status, "RestApiResponse": response}, expected
    )


def page(limit=1000, offset=0):
    return {"limit": limit, "offset": offset}


def run(capsys, *argv):
    rc = cli.main(list(argv))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


# --- Airflow 2.x environment (MWAA 2.10.3): /api/v1 semantics, one request per item ----------------

V1_VARIABLES = [
    {"key": "env", "value": "prod", "description": None},
    {"key": "db_password", "value": "s3cr3t-var-value", "description": "sensitive by name"},
    {"key": "settings", "value": '{"retries": 3, "owner": "data"}', "description": None},
]
V1_CONNECTIONS_LIST = [
    {"connection_id": "aws_default", "conn_type": "aws", "description": None, "host": None, "login": None,
     "schema": None, "port": None},
    {"connection_id": "warehouse", "conn_type": "postgres", "description": "dwh", "host": "db.internal",
     "login": "etl", "schema": "dwh", "port": 5432},
]
V1_CONNECTIONS_FULL = {
    "aws_default": {**V1_CONNECTIONS_LIST[0], "extra": '{"region_name": "eu-west-1"}'},
    "warehouse": {**V1_CONNECTIONS_LIST[1], "extra": None},
}
V1_POOLS = [
    {"name": "default_pool", "slots": 128, "description": "Default pool", "include_deferred": False,
     "occupied_slots": 0, "running_slots": 0, "queued_slots": 0, "open_slots": 128, "scheduled_slots": 0,
     "deferred_slots": 0},
    {"name": "etl", "slots": 4, "description": "ETL jobs", "include_deferred": True, "occupied_slots": 1,
     "running_slots": 1, "queued_slots": 0, "open_slots": 3, "scheduled_slots": 0, "deferred_slots": 0},
]
V1_DAGS = [
    {"dag_id": "daily_load", "is_paused": False, "is_active": True, "fileloc": "/usr/local/airflow/dags/a.py"},
    {"dag_id": "weekly_report", "is_paused": True, "is_active": True, "fileloc": "/usr/local/airflow/dags/b.py"},
]


def stub_v1_source(stubber):
    ok(stubber, "/version", {"version": "2.10.3", "git_version": None})
    ok(stubber, "/variables", {"variables": V1_VARIABLES, "total_entries": 3}, params=page())
    ok(stubber, "/connections", {"connections": V1_CONNECTIONS_LIST, "total_entries": 2}, params=page())
    for cid in ("aws_default", "warehouse"):
        ok(stubber, f"/connections/{cid}", V1_CONNECTIONS_FULL[cid])
    ok(stubber, "/pools", {"pools": V1_POOLS, "total_entries": 2}, params=page())
    ok(stubber, "/dags", {"dags": V1_DAGS, "total_entries": 2}, params=page())


def test_export_from_mwaa_airflow2(mwaa, tmp_path, capsys):
    stubber, seen = mwaa
    stub_v1_source(stubber)
    out = tmp_path / "mwaa.json"
    rc, stdout, stderr = run(capsys, "export", "--source-mwaa", ENV, "--region", "eu-west-1", "--workers", "1",
                             "-o", str(out), "--json")
    assert rc == 0, stderr
    assert seen["region"] == "eu-west-1"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 1 and doc["airflow_version"] == "2.10.3"
    assert doc["source"] == {"kind": "mwaa", "name": ENV, "region": "eu-west-1"}
    assert {v["key"]: v["value"] for v in doc["variables"]} == {
        "env": "prod", "db_password": "s3cr3t-var-value", "settings": '{"retries": 3, "owner": "data"}'}
    conns = {c["connection_id"]: c for c in doc["connections"]}
    assert conns["aws_default"]["extra"] == '{"region_name": "eu-west-1"}'
    assert conns["warehouse"]["host"] == "db.internal" and conns["warehouse"]["port"] == 5432
    # Airflow 2's API never returns passwords: recorded as hidden, not as an empty password.
    assert conns["warehouse"]["hidden"] == ["password"] and conns["warehouse"]["password"] is None
    assert {p["name"]: (p["slots"], p["description"], p["include_deferred"]) for p in doc["pools"]} == {
        "default_pool": (128, "Default pool", False), "etl": (4, "ETL jobs", True)}
    assert {d["dag_id"]: d["is_paused"] for d in doc["dags"]} == {"daily_load": False, "weekly_report": True}
    summary = json.loads(stdout)
    assert summary["kinds"]["connections"] == {"exported": 2, "hidden_secrets": ["aws_default", "warehouse"],
                                                  "contains_mask": []}
    assert "s3cr3t-var-value" not in stdout + stderr


def test_export_reads_every_page_the_server_caps(mwaa, tmp_path, capsys):
    """MWAA's Airflow caps pages at [api] maximum_page_limit: the client follows the real page size."""
    stubber, _ = mwaa
    variables = [{"key": f"k{i:03d}", "value": str(i), "description": None} for i in range(7)]
    ok(stubber, "/version", {"version": "2.10.3", "git_version": None})
    ok(stubber, "/variables", {"variables": variables[:3], "total_entries": 7}, params=page(1000, 0))
    ok(stubber, "/variables", {"variables": variables[3:6], "total_entries": 7}, params=page(3, 3))
    ok(stubber, "/variables", {"variables": variables[6:], "total_entries": 7}, params=page(3, 6))
    out = tmp_path / "vars.json"
    rc, _, stderr = run(capsys, "export", "--source-mwaa", ENV, "--region", "eu-west-1", "--workers", "1",
                        "--kinds", "variables", "-o", str(out))
    assert rc == 0, stderr
    assert [v["key"] for v in json.loads(out.read_text())["variables"]] == [f"k{i:03d}" for i in range(7)]


# --- Airflow 3 environment (MWAA 3.0.6): /api/v2 semantics, bulk writes ---------------------------


def export_file(tmp_path, **kinds):
    doc = {"format": "airflow-metadata-export", "schema_version": 1, "airflow_version": "2.10.3",
           "exported_at": "2026-01-01T00:00:00+00:00", "source": {"kind": "mwaa", "name": "old"}, **kinds}
    path = tmp_path / "in.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh)
    return str(path)


FILE_VARIABLES = [
    {"key": "env", "value": "prod", "description": None},
    {"key": "api_token", "value": "tok-123456789", "description": None},
    {"key": "same", "value": "1", "description": None},
]
FILE_CONNECTIONS = [
    {"connection_id": "http_api", "conn_type": "http", "description": None, "host": "api.example.com",
     "login": "svc", "schema": "https", "port": 443, "password": "http-pa55word", "extra": '{"timeout": 10}'},
]
FILE_POOLS = [{"name": "etl", "slots": 4, "description": "ETL jobs", "include_deferred": True}]
FILE_DAGS = [{"dag_id": "daily_load", "is_paused": False}, {"dag_id": "not_parsed_yet", "is_paused": False}]


def stub_v2_target(stubber):
    ok(stubber, "/version", {"version": "3.0.6", "git_version": None})
    ok(stubber, "/variables", {"variables": [
        {"key": "env", "value": "staging", "description": None, "is_encrypted": True},  # conflict
        {"key": "same", "value": "1", "description": None, "is_encrypted": True},
    ], "total_entries": 2}, params=page())
    ok(stubber, "/connections", {"connections": [], "total_entries": 0}, params=page())
    ok(stubber, "/pools", {"pools": [
        {"name": "default_pool", "slots": 128, "description": "Default pool", "include_deferred": False,
         "occupied_slots": 0, "running_slots": 0, "queued_slots": 0, "scheduled_slots": 0, "open_slots": 128,
         "deferred_slots": 0}], "total_entries": 1}, params=page())
    ok(stubber, "/dags", {"dags": [{"dag_id": "daily_load", "is_paused": True, "is_stale": False}],
                          "total_entries": 1}, params=page())


def test_import_into_mwaa_airflow3_reports_conflict_and_does_not_overwrite(mwaa, tmp_path, capsys):
    stubber, _ = mwaa
    path = export_file(tmp_path, variables=FILE_VARIABLES, connections=FILE_CONNECTIONS, pools=FILE_POOLS,
                       dags=FILE_DAGS)
    stub_v2_target(stubber)
    # Only the missing variable is sent; "env" (different value on the target) and "same" are not.
    ok(stubber, "/variables", {"create": {"success": ["api_token"], "errors": []}}, method="PATCH", body={
        "actions": [{"action": "create", "action_on_existence": "skip",
                     "entities": [{"key": "api_token", "value": "tok-123456789", "description": None}]}]})
    ok(stubber, "/connections", {"create": {"success": ["http_api"], "errors": []}}, method="PATCH", body={
        "actions": [{"action": "create", "action_on_existence": "skip", "entities": [FILE_CONNECTIONS[0]]}]})
    ok(stubber, "/pools", {"create": {"success": ["etl"], "errors": []}}, method="PATCH", body={
        "actions": [{"action": "create", "action_on_existence": "skip", "entities": [FILE_POOLS[0]]}]})
    ok(stubber, "/dags/daily_load", {"dag_id": "daily_load", "is_paused": False}, method="PATCH",
       params={"update_mask": "is_paused"}, body={"is_paused": False})
    rc, stdout, stderr = run(capsys, "import", path, "--target-mwaa", ENV, "--target-region", "eu-west-1",
                             "--workers", "1", "--json")
    assert rc == 3, stderr  # finished, but a conflict and an unparsed DAG need a look
    summary = json.loads(stdout)
    v = summary["kinds"]["variables"]
    assert v["created"] == ["api_token"] and v["unchanged"] == ["same"]
    assert v["conflicts"] == [{"key": "env", "fields": ["value"]}]
    assert summary["kinds"]["connections"]["created"] == ["http_api"]
    assert summary["kinds"]["pools"]["created"] == ["etl"]
    assert summary["kinds"]["dags"]["paused_state_set"] == {"daily_load": False}
    assert summary["kinds"]["dags"]["missing_on_target"] == ["not_parsed_yet"]
    for secret in ("tok-123456789", "http-pa55word"):
        assert secret not in stdout + stderr


def test_import_into_mwaa_with_overwrite_replaces_the_conflict(mwaa, tmp_path, capsys):
    stubber, _ = mwaa
    path = export_file(tmp_path, variables=FILE_VARIABLES[:1])
    ok(stubber, "/version", {"version": "3.0.6", "git_version": None})
    ok(stubber, "/variables", {"variables": [
        {"key": "env", "value": "staging", "description": None, "is_encrypted": True}], "total_entries": 1},
        params=page())
    ok(stubber, "/variables", {"create": {"success": ["env"], "errors": []}}, method="PATCH", body={
        "actions": [{"action": "create", "action_on_existence": "overwrite",
                     "entities": [{"key": "env", "value": "prod", "description": None}]}]})
    rc, stdout, stderr = run(capsys, "import", path, "--target-mwaa", ENV, "--region", "eu-west-1",
                             "--workers", "1", "--overwrite", "--json")
    assert rc == 0, stderr
    assert json.loads(stdout)["kinds"]["variables"]["overwritten"] == ["env"]


def test_dry_run_into_mwaa_sends_no_write(mwaa, tmp_path, capsys):
    stubber, _ = mwaa
    path = export_file(tmp_path, variables=FILE_VARIABLES, connections=FILE_CONNECTIONS, pools=FILE_POOLS,
                       dags=FILE_DAGS)
    stub_v2_target(stubber)  # reads only: the Stubber fails on any call not queued here
    rc, stdout, stderr = run(capsys, "import", path, "--target-mwaa", ENV, "--region", "eu-west-1",
                             "--workers", "1", "--dry-run", "--json")
    assert rc == 3, stderr
    summary = json.loads(stdout)
    assert summary["dry_run"] is True
    assert summary["kinds"]["variables"]["would_create"] == ["api_token"]
    assert summary["kinds"]["dags"]["would_set_paused"] == {"daily_load": False}


def test_import_into_mwaa_airflow2_posts_each_item(mwaa, tmp_path, capsys):
    stubber, _ = mwaa
    path = export_file(tmp_path, variables=FILE_VARIABLES[:2], pools=FILE_POOLS)
    ok(stubber, "/version", {"version": "2.9.2", "git_version": None})
    ok(stubber, "/variables", {"variables": [], "total_entries": 0}, params=page())
    ok(stubber, "/pools", {"pools": [], "total_entries": 0}, params=page())
    ok(stubber, "/variables", {"key": "env", "value": "prod"}, method="POST", body=FILE_VARIABLES[0])
    ok(stubber, "/variables", {"key": "api_token", "value": "***"}, method="POST", body=FILE_VARIABLES[1])
    ok(stubber, "/pools", {"name": "etl", "slots": 4}, method="POST", body=FILE_POOLS[0])
    rc, stdout, stderr = run(capsys, "import", path, "--target-mwaa", ENV, "--region", "eu-west-1",
                             "--workers", "1", "--json")
    assert rc == 0, stderr
    summary = json.loads(stdout)
    assert summary["kinds"]["variables"]["created"] == ["api_token", "env"]
    assert summary["kinds"]["pools"]["created"] == ["etl"]


def test_item_rejected_by_mwaa_airflow_is_reported_without_its_value(mwaa, tmp_path, capsys):
    stubber, _ = mwaa
    path = export_file(tmp_path, variables=FILE_VARIABLES[1:2])
    ok(stubber, "/version", {"version": "2.9.2", "git_version": None})
    ok(stubber, "/variables", {"variables": [], "total_entries": 0}, params=page())
    stubber.add_client_error(
        "invoke_rest_api", service_error_code="RestApiClientException", http_status_code=400,
        modeled_fields={"RestApiStatusCode": 400, "RestApiResponse": {
            "title": "Invalid Variable schema", "detail": "bad value tok-123456789", "status": 400}},
        expected_params={"Name": ENV, "Path": "/variables", "Method": "POST", "Body": FILE_VARIABLES[1]})
    rc, stdout, stderr = run(capsys, "import", path, "--target-mwaa", ENV, "--region", "eu-west-1",
                             "--workers", "1", "--json")
    assert rc == 3
    errors = json.loads(stdout)["kinds"]["variables"]["errors"]
    assert errors == [{"key": "api_token", "error": "400 bad value ***"}]
    assert "tok-123456789" not in stdout + stderr


def test_unknown_mwaa_environment_is_one_line_error(mwaa, tmp_path, capsys):
    stubber, _ = mwaa
    stubber.add_client_error("invoke_rest_api", service_error_code="ResourceNotFoundException",
                             service_message="Environment not found", http_status_code=404)
    rc, stdout, stderr = run(capsys, "export", "--source-mwaa", ENV, "--region", "eu-west-1",
                             "-o", str(tmp_path / "x.json"))
    assert rc == 1
    assert stderr == f"error: MWAA environment {ENV} not found (check the name and the region)\n"
    assert not (tmp_path / "x.json").exists()


def test_mwaa_access_denied_is_one_line_error(mwaa, tmp_path, capsys):
    stubber, _ = mwaa
    stubber.add_client_error("invoke_rest_api", service_error_code="AccessDeniedException",
                             service_message="not allowed", http_status_code=403)
    rc, _, stderr = run(capsys, "diff", export_file(tmp_path, pools=FILE_POOLS), "--target-mwaa", ENV,
                        "--region", "eu-west-1")
    assert rc == 1
    assert stderr.count("\n") == 1 and "access to MWAA environment prod-airflow denied" in stderr


def test_mwaa_unsupported_airflow_version_is_refused(mwaa, tmp_path, capsys):
    stubber, _ = mwaa
    ok(stubber, "/version", {"version": "2.8.1", "git_version": None})
    rc, _, stderr = run(capsys, "import", export_file(tmp_path, pools=FILE_POOLS), "--target-mwaa", ENV,
                        "--region", "eu-west-1")
    assert rc == 1
    assert stderr == (f"error: MWAA environment {ENV} runs Airflow 2.8.1, which this tool does not support "
                      "(it handles 2.9 to 3.x)\n")


def test_long_dag_id_is_reported_not_sent(mwaa, tmp_path, capsys):
    """InvokeRestApi takes paths of at most 64 characters."""
    stubber, _ = mwaa
    long_id = "d" * 70
    path = export_file(tmp_path, dags=[{"dag_id": long_id, "is_paused": False}])
    ok(stubber, "/version", {"version": "3.0.6", "git_version": None})
    ok(stubber, "/dags", {"dags": [{"dag_id": long_id, "is_paused": True}], "total_entries": 1}, params=page())
    rc, stdout, _ = run(capsys, "import", path, "--target-mwaa", ENV, "--region", "eu-west-1", "--workers", "1",
                        "--json")
    assert rc == 3
    [err] = json.loads(stdout)["kinds"]["dags"]["errors"]
    assert err["key"] == long_id and "64 characters" in err["error"]


def test_import_into_mwaa_sends_small_bulk_requests(mwaa, tmp_path, capsys):
    """InvokeRestApi stops waiting after 10 s: bulk writes through MWAA go 50 items at a time."""
    stubber, _ = mwaa
    variables = [{"key": f"v{i:03d}", "value": f"value {i}", "description": None} for i in range(120)]
    path = export_file(tmp_path, variables=variables)
    ok(stubber, "/version", {"version": "3.0.6", "git_version": None})
    ok(stubber, "/variables", {"variables": [], "total_entries": 0}, params=page())
    for chunk in (variables[:50], variables[50:100], variables[100:]):
        ok(stubber, "/variables", {"create": {"success": [v["key"] for v in chunk], "errors": []}}, method="PATCH",
           body={"actions": [{"action": "create", "action_on_existence": "skip", "entities": chunk}]})
    rc, stdout, stderr = run(capsys, "import", path, "--target-mwaa", ENV, "--region", "eu-west-1", "--workers", "1",
                             "--json")
    assert rc == 0, stderr
    assert len(json.loads(stdout)["kinds"]["variables"]["created"]) == 120


def test_export_from_masking_mwaa_airflow3_marks_hidden(mwaa, tmp_path, capsys):
    stubber, _ = mwaa
    ok(stubber, "/version", {"version": "3.0.6", "git_version": None})
    ok(stubber, "/connections", {"connections": [
        {"connection_id": "pg", "conn_type": "postgres", "description": None, "host": "db", "login": "u",
         "schema": None, "port": 5432, "password": "***", "extra": None, "team_name": None},
        {"connection_id": "api", "conn_type": "http", "description": None, "host": "h", "login": None,
         "schema": None, "port": None, "password": None, "extra": '{"token": "***", "timeout": 5}', "team_name": None},
        {"connection_id": "plain", "conn_type": "http", "description": None, "host": "h", "login": None,
         "schema": None, "port": None, "password": "visible-pass", "extra": None, "team_name": None},
    ], "total_entries": 3}, params=page())
    out = tmp_path / "m.json"
    rc, stdout, stderr = run(capsys, "export", "--source-mwaa", ENV, "--region", "eu-west-1", "--workers", "1",
                             "--kinds", "connections", "-o", str(out), "--json")
    assert rc == 0, stderr
    conns = {c["connection_id"]: c for c in json.loads(out.read_text())["connections"]}
    assert conns["pg"]["hidden"] == ["password"] and conns["pg"]["password"] is None
    assert conns["api"]["hidden"] == ["extra"] and conns["api"]["extra"] is None
    assert "hidden" not in conns["plain"] and conns["plain"]["password"] == "visible-pass"
    assert json.loads(stdout)["kinds"]["connections"]["hidden_secrets"] == ["api", "pg"]
    assert "***" not in out.read_text()


def test_page_too_big_for_mwaa_is_halved(mwaa, tmp_path, capsys, retry_waits):
    """A response over InvokeRestApi's 6 MB: ask for half as many. A server error: the same page again, later."""
    stubber, _ = mwaa
    big = [{"key": f"big{i}", "value": "x" * 10, "description": None} for i in range(4)]
    ok(stubber, "/version", {"version": "3.0.6", "git_version": None})
    stubber.add_client_error("invoke_rest_api", service_error_code="ValidationException", http_status_code=400,
                             service_message="Response payload size exceeded the limit",
                             expected_params={"Name": ENV, "Path": "/variables", "Method": "GET",
                                              "QueryParameters": page(1000, 0)})
    stubber.add_client_error("invoke_rest_api", service_error_code="RestApiServerException", http_status_code=400,
                             modeled_fields={"RestApiStatusCode": 503, "RestApiResponse": {"detail": "busy"}},
                             expected_params={"Name": ENV, "Path": "/variables", "Method": "GET",
                                              "QueryParameters": page(500, 0)})
    ok(stubber, "/variables", {"variables": big, "total_entries": 4}, params=page(500, 0))
    ok(stubber, "/variables", {"variables": [], "total_entries": 4}, params=page(500, 500))
    out = tmp_path / "big.json"
    rc, _, stderr = run(capsys, "export", "--source-mwaa", ENV, "--region", "eu-west-1", "--workers", "1",
                        "--kinds", "variables", "-o", str(out))
    assert rc == 0, stderr
    assert [v["key"] for v in json.loads(out.read_text())["variables"]] == ["big0", "big1", "big2", "big3"]
    assert retry_waits == [0.5]  # one retry, after the first backoff step
