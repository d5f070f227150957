"""The pieces without a server: secret heuristics, comparison, the export file, the command line."""

from __future__ import annotations

import argparse
import json
import os
import re
import stat

import pytest

from tools.migrate import cli, model
from tools.migrate.api import AirflowApi
from tools.migrate.errors import MigrateError
from tools.migrate.ops import diff, plan_import
from tools.migrate.sensitive import (
    Scrubber,
    SensitiveNames,
    contains_mask,
    looks_masked,
    secret_strings,
)
from tools.migrate.transport import Transport

SENSITIVE = SensitiveNames()
TOKEN = ["--target-token-env", "UNUSED_TOKEN"]  # how the target logs in, where the test never gets that far


@pytest.mark.parametrize(
    "name, expected",
    [
        ("db_password", True),
        ("MY-API-KEY", True),  # normalised like Airflow: lower case, non-word runs become "_"
        ("slack.webhook_url", True),
        ("aws_secret_access_key", True),
        ("github token", True),
        ("environment", False),
        ("retries", False),
        ("", False),
    ],
)
def test_sensitive_names_follow_airflow_heuristic(name, expected):
    assert SENSITIVE(name) is expected


def test_extra_sensitive_names():
    assert not SENSITIVE("customer_pin")
    assert SensitiveNames(["pin"])("customer_pin")


def test_masked_values_are_the_mask_itself_or_a_json_leaf_that_is_the_mask():
    # The whole value, or (a JSON variable, a connection's extra) a whole leaf, is "***".
    assert looks_masked("***")
    assert looks_masked(json.dumps({"host": "h", "password": "***"}))
    assert looks_masked(json.dumps({"token": "***", "region": "x"}))
    assert looks_masked(json.dumps({"nested": {"list": ["a", "***"]}}))
    assert looks_masked(json.dumps(["***"]))
    assert not looks_masked("real-value")
    assert not looks_masked(json.dumps({"host": "h", "password": "pw"}))
    assert not looks_masked(json.dumps({"token": "abc", "region": "eu"}))
    assert not looks_masked("**")
    assert not looks_masked(None)
    assert not looks_masked(json.dumps("***"))  # the JSON string '"***"' is text with quotes, not the mask


@pytest.mark.parametrize("value", [
    "a***b",
    "***a",
    " ***",
    "****",
    "postgres://etl:***@db:5432/dwh",
    json.dumps({"pattern": "a***b", "stars": "****"}),
    json.dumps({"note": "x ***"}),
])
def test_values_that_merely_contain_the_mask_are_real_values(value):
    # Legitimate text with "***" in it is not hidden (with --allow-incomplete it would be lost);
    # the export summary lists such values instead (contains_mask) so that a partial mask is noticed.
    assert not looks_masked(value)
    assert contains_mask(value)


def test_masking_applies_to_what_the_api_reads():
    class FakeV2(Transport):
        api, airflow_version = "v2", "3.3.1"
        ROWS = {
            "/variables": [{"key": "masked", "value": "***"}, {"key": "stars", "value": "a***b"},
                           {"key": "cfg", "value": json.dumps({"password": "***", "user": "u"})},
                           {"key": "cfg_text", "value": json.dumps({"pattern": "x***y"})}],
            "/connections": [
                {"connection_id": "masked", "conn_type": "http", "password": "***", "extra": '{"token": "***"}'},
                {"connection_id": "stars", "conn_type": "http", "password": "p***w", "extra": '{"glob": "a***"}'}],
        }

        def request(self, method, path, params=None, body=None):
            rows = self.ROWS[path]
            return 200, {path.strip("/"): rows, "total_entries": len(rows)}

    api = AirflowApi(FakeV2(), SENSITIVE, Scrubber())
    try:
        variables = {v["key"]: v for v in api.read("variables")}
        connections = {c["connection_id"]: c for c in api.read("connections")}
    finally:
        api.close()
    assert variables["masked"]["hidden"] == ["value"] and variables["masked"]["value"] is None
    assert variables["cfg"]["hidden"] == ["value"]
    assert "hidden" not in variables["stars"] and variables["stars"]["value"] == "a***b"
    assert "hidden" not in variables["cfg_text"]
    assert connections["masked"]["hidden"] == ["extra", "password"]
    assert "hidden" not in connections["stars"]
    assert connections["stars"]["password"] == "p***w" and connections["stars"]["extra"] == '{"glob": "a***"}'


def test_secret_strings_cover_passwords_sensitive_variables_and_extras():
    data = {
        "connections": [{"connection_id": "c", "password": "pw-1", "extra": json.dumps(
            {"region": "eu", "aws_secret_access_key": "sk-2", "nested": {"token": "tk-3"}})}],
        "variables": [
            {"key": "plain", "value": "visible"},
            {"key": "api_key", "value": "ak-4"},
            {"key": "cfg", "value": json.dumps({"password": "pw-5", "port": 1})},
        ],
    }
    assert secret_strings(data, SENSITIVE) == {"pw-1", "sk-2", "tk-3", "ak-4", "pw-5"}


def test_scrubber_replaces_secrets_and_their_json_spelling():
    s = Scrubber()
    s.add({'pa"ss', "longsecret", "ab"})
    assert s("x longsecret y") == "x *** y"
    assert s('body {"v": "pa\\"ss"}') == 'body {"v": "***"}'
    assert s("ab cab ab.") == "*** cab ***."  # short secrets only where they stand alone


def test_compare_canonicalises_like_airflow3_api():
    a = model.make_item("variables", {"key": "k", "value": '{"a":1,"b":[1,2]}'})
    b = model.make_item("variables", {"key": "k", "value": '{"a": 1, "b": [1, 2]}'})
    c = model.make_item("variables", {"key": "k", "value": '{"a": 1.0, "b": [1, 2]}'})
    assert model.compare("variables", a, b) == ([], [])
    assert model.compare("variables", a, c) == (["value"], [])
    x = model.make_item("connections", {"connection_id": "c", "conn_type": "http", "extra": ""})
    y = model.make_item("connections", {"connection_id": "c", "conn_type": "http", "extra": "{}", "host": ""})
    assert model.compare("connections", x, y) == ([], [])
    z = model.make_item("connections", {"connection_id": "c", "conn_type": "http", "password": "p"})
    hidden = model.make_item("connections", {"connection_id": "c", "conn_type": "http"}, ["password"])
    assert model.compare("connections", z, hidden) == ([], ["password"])


def test_plan_import_is_idempotent_and_gates_conflicts():
    src = {
        "variables": [model.make_item("variables", {"key": k, "value": v}) for k, v in
                      [("new", "1"), ("same", "2"), ("diff", "3")]]
        + [model.make_item("variables", {"key": "hid"}, ["value"])],
        "dags": [model.make_item("dags", {"dag_id": d, "is_paused": p}) for d, p in
                 [("a", False), ("b", True), ("gone", False)]],
    }
    dst = {
        "variables": [model.make_item("variables", {"key": k, "value": v}) for k, v in [("same", "2"), ("diff", "x")]],
        "dags": [model.make_item("dags", {"dag_id": d, "is_paused": True}) for d in ("a", "b")],
    }
    plans = plan_import(src, dst, ["variables", "dags"], overwrite=False, allow_incomplete=False)
    v = plans["variables"]
    assert [model.key_of("variables", i) for i in v.create] == ["new"]
    assert v.unchanged == ["same"] and v.overwrite == []
    assert v.conflicts == [{"key": "diff", "fields": ["value"]}]
    assert v.skipped_hidden == ["hid"]
    d = plans["dags"]
    assert d.pause_changes == {"a": False} and d.unchanged == ["b"] and d.missing_on_target == ["gone"]
    plans = plan_import(src, dst, ["variables"], overwrite=True, allow_incomplete=True)
    assert [model.key_of("variables", i) for i in plans["variables"].overwrite] == ["diff"]
    assert sorted(model.key_of("variables", i) for i in plans["variables"].create) == ["hid", "new"]


def test_diff_reports_missing_changed_and_added():
    src = {"pools": [model.make_item("pools", {"name": n, "slots": s}) for n, s in [("a", 1), ("b", 2), ("c", 3)]]}
    dst = {"pools": [model.make_item("pools", {"name": n, "slots": s}) for n, s in [("a", 1), ("b", 5), ("d", 4)]]}
    assert diff(src, dst, ["pools"]) == {"pools": {
        "missing": ["c"], "added": ["d"], "changed": [{"key": "b", "fields": ["slots"]}], "same": 1,
        "same_secret_unverified": []}}


# --- the export file --------------------------------------------------------------------------


def _file(**fields) -> str:
    """An export file's text: a valid header (as export writes it) with `fields` added or replaced."""
    header = {"format": model.FORMAT, "schema_version": 1, "exported_at": "2026-12-06T12:00:00+00:00",
              "airflow_version": "3.3.1", "source": {"kind": "url", "url": "http://127.0.0.1:8080"}}
    if not any(kind in fields for kind in model.KINDS):
        fields["pools"] = []
    return json.dumps({**header, **fields})


def doc(**kinds):
    return model.new_document({"kind": "url", "url": "http://x"}, "3.3.1", kinds)


def test_export_file_is_created_owner_only_and_not_replaced_without_force(tmp_path):
    path = tmp_path / "out.json"
    old_umask = os.umask(0)  # even with a permissive umask the file must not be readable by others
    try:
        model.write_document(str(path), doc(pools=[model.make_item("pools", {"name": "p", "slots": 1})]))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(MigrateError, match="already exists; pass --force"):
        model.write_document(str(path), doc(pools=[]))
    model.write_document(str(path), doc(pools=[]), force=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text())["pools"] == []
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left behind


def test_round_trip_keeps_unicode_and_hidden_marks(tmp_path):
    items = [model.make_item("variables", {"key": "ключ", "value": "zürich ✓ 東京"}),
             model.make_item("variables", {"key": "db_password"}, ["value"])]
    path = tmp_path / "f.json"
    model.write_document(str(path), doc(variables=items))
    back = model.read_document(str(path))
    assert back["variables"] == sorted(items, key=lambda i: i["key"])
    assert back["schema_version"] == 1 and back["airflow_version"] == "3.3.1"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON (line 1"),
        ("[]", "top level is not a JSON object"),
        (json.dumps({"format": "other"}), "\"format\" is 'other'"),
        (json.dumps({"format": model.FORMAT, "schema_version": 2, "airflow_version": "3.3.1", "pools": []}),
         "unsupported schema_version 2 (this tool reads the integer 1)"),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1"}), "holds none of"),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "pools": [{"name": "p", "slots": "4"}]}), 'pools[0] field "slots" has the wrong type'),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "variables": [{"value": "v"}]}), 'variables[0] lacks the field "key"'),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "dags": [{"dag_id": "a", "is_paused": True}, {"dag_id": "a", "is_paused": False}]}),
         "dags has 'a' twice"),
         # Issue 12, item 18: what json.loads and a lenient reader would silently drop.
        ('{"format": "airflow-metadata-export", "schema_version": 1, "airflow_version": "3.3.1", '
         '"variables": [{"key": "a", "value": "1"}], "variables": []}',
         "the key 'variables' appears twice in one JSON object"),
        ('{"format": "airflow-metadata-export", "schema_version": 1, "airflow_version": "3.3.1", '
         '"variables": [{"key": "a", "value": "1", "value": "2"}]}', "the key 'value' appears twice in one JSON object"),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "variables": [{"key": "a", "valeu": "1"}]}),
         'variables[0] has the unknown field "valeu" (allowed: key, value, description, hidden)'),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "connections": [{"connection_id": "c", "conn_type": "http", "pasword": "x"}]}),
         'connections[0] has the unknown field "pasword"'),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1", "variabels": [],
                     "pools": []}), "unknown top-level field 'variabels'"),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "variables": [{"key": "", "value": "1"}]}), 'variables[0] has an empty "key"'),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "pools": [{"name": "  ", "slots": 1, "include_deferred": False}]}), 'pools[0] has an empty "name"'),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "connections": [{"connection_id": "", "conn_type": "http"}]}),
         'connections[0] has an empty "connection_id"'),
        # Issue 20, item 7: keys the tool would print raw or send as another path; numbers out of Airflow's range;
        # the header exactly as export writes it; nesting that broke the JSON reader.
        (_file(variables=[{"key": "a\x1b[31mred", "value": "1"}]),
         'variables[0] "key" "a\\u001b[31mred" holds a control or format character'),
        (_file(variables=[{"key": "a\u202eb", "value": "1"}]), 'variables[0] "key" "a\\u202eb" holds a control'),
        (_file(connections=[{"connection_id": "c\n", "conn_type": "http"}]), 'connections[0] "connection_id" "c\\n" holds'),
        (_file(variables=[{"key": ".", "value": "1"}]), 'variables[0] "key" "." is a path step, not a name'),
        (_file(pools=[{"name": "..", "slots": 1, "include_deferred": False}]), 'pools[0] "name" ".." is a path step, not a name'),
        (_file(variables=[{"key": " a", "value": "1"}]), 'variables[0] "key" " a" starts or ends with a space'),
        (_file(dags=[{"dag_id": "etl ", "is_paused": True}]), 'dags[0] "dag_id" "etl " starts or ends with a space'),
        (_file(connections=[{"connection_id": "c", "conn_type": "http", "port": 65536}]),
         'connections[0] field "port" is 65536; allowed: 1 to 65535'),
        (_file(connections=[{"connection_id": "c", "conn_type": "http", "port": 0}]),
         'connections[0] field "port" is 0; allowed: 1 to 65535'),
        (_file(pools=[{"name": "p", "slots": -2, "include_deferred": False}]), 'pools[0] field "slots" is -2; allowed: -1 to 2147483647'),
        (_file(pools=[{"name": "p", "slots": 2**31, "include_deferred": False}]), 'pools[0] field "slots" is 2147483648; allowed: -1 to 2147483647'),
        (_file(schema_version=True), "unsupported schema_version true (this tool reads the integer 1)"),
        (_file(schema_version=1.0), "unsupported schema_version 1.0 (this tool reads the integer 1)"),
        (_file(exported_at="yesterday"), '"exported_at" "yesterday" is not an ISO 8601 time with a time zone'),
        (_file(exported_at="2026-01-31T12:00:00"), '"exported_at" "2026-01-31T12:00:00" is not an ISO 8601 time with a'),
        (_file(source="evil\x1b[2J"), '"source" is not an object'),
        (_file(source={"kind": "url", "url": "http://x\x1b[2J"}), '"source" of kind "url" needs exactly "url"'),
        (_file(source={"kind": "mwaa", "name": "bad name"}), '"source" of kind "mwaa" needs "name"'),
        (_file(source={"kind": "ftp"}), '"source" has the kind "ftp"; allowed: "url" or "mwaa"'),
        (_file(airflow_version="3.3.1\x1b[2J"), '"airflow_version" "3.3.1\\u001b[2J" is not a version'),
        ('{"format": "airflow-metadata-export", "schema_version": 1, "airflow_version": "3.3.1", "pools": '
         + "[" * 100_000 + "]" * 100_000 + "}", "JSON nested too deeply"),
    ],
)
def test_bad_files_are_refused_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    # The target is never contacted: the file is checked first (this URL would not answer anyway).
    rc = cli.main(["import", str(path), "--target-url", "http://127.0.0.1:9", *TOKEN])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith(f"error: invalid export file {path}: ") and message in err
    assert err.count("\n") == 1


def test_missing_file_and_missing_password_env(tmp_path, capsys, monkeypatch):
    assert cli.main(["diff", str(tmp_path / "nope.json"), "--target-url", "http://127.0.0.1:9", *TOKEN]) == 1
    assert capsys.readouterr().err == f"error: export file {tmp_path / 'nope.json'} does not exist\n"
    monkeypatch.delenv("NO_SUCH_PASSWORD_VAR", raising=False)
    rc = cli.main(["export", "--source-url", "http://127.0.0.1:9", "--source-user", "u",
                   "--source-password-env", "NO_SUCH_PASSWORD_VAR", "-o", str(tmp_path / "o.json")])
    assert rc == 1
    assert capsys.readouterr().err == "error: the environment variable named by --source-password-env is not set\n"


def test_source_and_target_selection_errors(tmp_path, capsys):
    assert cli.main(["export", "-o", str(tmp_path / "o.json")]) == 1
    assert capsys.readouterr().err == "error: give exactly one of --source-url and --source-mwaa\n"
    assert cli.main(["export", "--kinds", "variables,users", "--source-url", "http://127.0.0.1:9",
                     "--source-token-env", "UNUSED_TOKEN", "-o", str(tmp_path / "o.json")]) == 1
    assert "--kinds takes a comma-separated subset" in capsys.readouterr().err
    assert cli.main(["export", "--source-url", "ftp://host", "-o", str(tmp_path / "o.json")]) == 1
    assert capsys.readouterr().err == "error: --source-url 'ftp://host' is not an http(s) URL\n"


# --- bulk writes ------------------------------------------------------------------------------


class BulkAnswer(Transport):
    """A v2 target whose bulk PATCH answers 200 with a given ``create`` result."""

    api, airflow_version = "v2", "3.3.1"

    def __init__(self, create: dict):
        self.create = create

    def request(self, method, path, params=None, body=None):
        assert method == "PATCH" and path == "/variables"
        return 200, {"create": self.create}


def bulk_write(create: dict, keys: list[str], secrets: tuple[str, ...] = ()) -> dict[str, tuple[bool, str | None]]:
    scrub = Scrubber()
    scrub.add(secrets)
    api = AirflowApi(BulkAnswer(create), SENSITIVE, scrub)
    try:
        results = api.write("variables", [model.make_item("variables", {"key": k, "value": "v"}) for k in keys],
                            overwrite=False)
    finally:
        api.close()
    return {r.key: (r.ok, r.error) for r in results}


def test_bulk_errors_are_attributed_to_the_keys_they_name():
    # Airflow names keys as a Python set ({'a', 'b'}) or in backticks; each key gets its own error.
    res = bulk_write({"success": ["ok"], "errors": [
        {"error": "The variables with these keys: {'dup'} already exist.", "status_code": 409},
        {"error": "The Variable with key: `bad` was not valid", "status_code": 422},
    ]}, ["ok", "dup", "bad"])
    assert res["ok"] == (True, None)
    assert res["dup"] == (False, "The variables with these keys: {'dup'} already exist.")
    assert res["bad"] == (False, "The Variable with key: `bad` was not valid")


def test_bulk_errors_that_name_no_key_are_not_pinned_on_every_item():
    res = bulk_write({"success": ["ok"], "errors": [{"error": "database is locked s3cret-1", "status_code": 500},
                                                     {"error": "something else"}]},
                     ["ok", "a", "b"], secrets=("s3cret-1",))
    assert res["ok"] == (True, None)
    expected = "not written (the batch had errors: database is locked ***)"
    assert res["a"] == (False, expected) and res["b"] == (False, expected)


def test_bulk_without_errors_reports_items_created_meanwhile():
    res = bulk_write({"success": ["a"], "errors": []}, ["a", "b"])
    assert res == {"a": (True, None), "b": (False, "already exists on the target (created meanwhile)")}


# --- command line -----------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--page-size", "--workers", "--write-workers", "--batch-size"])
@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_counts_must_be_positive_integers(tmp_path, capsys, option, value):
    path = tmp_path / "in.json"
    model.write_document(str(path), doc(pools=[]))
    with pytest.raises(SystemExit) as exc:
        cli.main(["import", str(path), "--target-url", "http://127.0.0.1:9", *TOKEN, option, value])
    assert exc.value.code == 2  # a bad command line, refused before anything is contacted
    err = capsys.readouterr().err
    assert f"argument {option}: " in err
    assert cli.build_parser().parse_args(["import", str(path), option, "1"]) is not None


@pytest.mark.parametrize("role, argv", [
    ("source", ["export", "--source-url", "http://admin:s3cretPW@127.0.0.1:9", "-o", "{tmp}/o.json"]),
    ("source", ["export", "--source-url", "https://admin:s3cretPW@airflow.example:8443/base", "-o", "{tmp}/o.json",
                "--json"]),
    ("source", ["export", "--source-url", "http://:s3cretPW@127.0.0.1:9", "-o", "{tmp}/o.json"]),
    ("target", ["diff", "--source-url", "http://127.0.0.1:9", "--target-url", "http://admin:s3cretPW@127.0.0.1:9"]),
    ("target", ["import", "{tmp}/missing.json", "--target-url", "http://admin:s3cretPW@127.0.0.1:9"]),
    ("target", ["pause", "--target-url", "http://admin:s3cretPW@127.0.0.1:9", "--dry-run"]),
])
def test_credentials_in_a_url_are_refused_without_echoing_them(tmp_path, capsys, monkeypatch, role, argv):
    sent = []
    monkeypatch.setattr("requests.Session.request", lambda *a, **kw: sent.append(a) or pytest.fail("request sent"))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    assert rc == 1
    assert err == (f"error: --{role}-url: credentials in the URL are not accepted; "
                   f"use --{role}-user and --{role}-password-env\n")
    assert "s3cretPW" not in out + err and "admin" not in out + err
    assert sent == []
    assert not (tmp_path / "o.json").exists()


def test_credentials_in_a_url_are_refused_by_the_transport_too():
    from tools.migrate.transport import HttpTransport

    with pytest.raises(MigrateError) as exc:
        HttpTransport("http://admin:s3cretPW@127.0.0.1:9", role="target")
    assert "s3cretPW" not in str(exc.value) and "--target-url: credentials in the URL" in str(exc.value)


def test_debug_traceback_is_scrubbed(tmp_path, capsys, monkeypatch):
    # An unexpected error (a bug) whose message, and so its traceback, carries a secret from the file.
    monkeypatch.setenv("MIGRATE_DEBUG", "1")
    path = tmp_path / "in.json"
    model.write_document(str(path), doc(connections=[model.make_item(
        "connections", {"connection_id": "c", "conn_type": "http", "password": "tb-s3cret-pw"})]))

    def boom(*a, **kw):
        raise RuntimeError("bug near tb-s3cret-pw")

    monkeypatch.setattr(cli, "HttpTransport", boom)
    monkeypatch.setenv("UNUSED_TOKEN", "tok")
    rc = cli.main(["import", str(path), "--target-url", "http://127.0.0.1:9", *TOKEN])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "Traceback" in err and "RuntimeError: bug near ***" in err
    assert "error: internal error RuntimeError: bug near *** (set MIGRATE_DEBUG=1" in err
    assert "tb-s3cret-pw" not in out + err


def test_export_registers_what_the_source_revealed_with_the_scrubber(tmp_path, capsys, monkeypatch):
    # Secrets read from the source stay out of later messages (here: a failure after the read).
    class Source(Transport):
        api, airflow_version, label = "v2", "3.3.1", "http://src"

        def request(self, method, path, params=None, body=None):
            rows = {"/variables": [{"key": "db_password", "value": "var-s3cret-77"}],
                    "/connections": [{"connection_id": "c", "conn_type": "http", "password": "conn-s3cret-88"}],
                    "/pools": [], "/dags": []}[path]
            return 200, {path.strip("/"): rows, "total_entries": len(rows)}

    def fail_write(path, doc, force=False):
        raise MigrateError("cannot write: var-s3cret-77 conn-s3cret-88")

    monkeypatch.setattr(cli, "HttpTransport", lambda *a, **kw: Source())
    monkeypatch.setattr(cli, "write_document", fail_write)
    monkeypatch.setenv("SOURCE_TOKEN", "tok")
    rc = cli.main(["export", "--source-url", "http://127.0.0.1:9", "--source-token-env", "SOURCE_TOKEN",
                   "-o", str(tmp_path / "o.json")])
    out, err = capsys.readouterr()
    assert rc == 1 and err == "error: cannot write: *** ***\n"


# --- issue 12, items 19 and 20: the command line ------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["export", "--source-url", "http://127.0.0.1:9", "--source-user", "admin", "--source-password", "hunter2-Pw",
     "-o", "o.json"],
    ["import", "f.json", "--target-url", "http://127.0.0.1:9", "--target-user", "admin", "--target-pass", "hunter2-Pw"],
    ["diff", "f.json", "--target-url", "http://127.0.0.1:9", "--target-token", "hunter2-Pw"],
    ["pause", "--target-url", "http://127.0.0.1:9", "--target-token-env", "T", "--dry", "hunter2-Pw"],
])
def test_abbreviated_options_are_refused_without_echoing_their_value(capsys, monkeypatch, argv):
    monkeypatch.setattr("requests.Session.request", lambda *a, **kw: pytest.fail("request sent"))
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "unrecognized arguments: --" in err and "(values not shown)" in err
    assert "hunter2" not in err


def test_every_parser_refuses_abbreviations():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert parser.allow_abbrev is False
    assert sorted(subparsers) == ["diff", "export", "import", "pause"]
    assert all(p.allow_abbrev is False for p in subparsers.values())


def test_the_value_of_an_env_option_is_never_printed(tmp_path, capsys, monkeypatch):
    # The password typed where the variable's name belongs.
    monkeypatch.delenv("hunter2-Pw", raising=False)
    rc = cli.main(["export", "--source-url", "http://127.0.0.1:9", "--source-user", "admin",
                   "--source-password-env", "hunter2-Pw", "-o", str(tmp_path / "o.json")])
    out, err = capsys.readouterr()
    assert rc == 1 and err == "error: the environment variable named by --source-password-env is not set\n"
    rc = cli.main(["export", "--source-url", "http://127.0.0.1:9", "--source-token-env", "hunter2-Pw", "-o",
                   str(tmp_path / "o.json"), "--json"])
    out2, err2 = capsys.readouterr()
    assert rc == 1 and err2 == "error: the environment variable named by --source-token-env is not set\n"
    assert "hunter2" not in out + err + out2 + err2


@pytest.mark.parametrize("argv, message", [
    (["export", "--source-url", "http://127.0.0.1:9", "--source-password-env", "PW", "-o", "o.json"],
     "--source-url needs --source-user (with --source-password-env) or --source-token-env"),
    (["export", "--source-url", "http://127.0.0.1:9", "-o", "o.json"],
     "--source-url needs --source-user (with --source-password-env) or --source-token-env"),
    (["import", "f.json", "--target-url", "http://127.0.0.1:9", "--target-user", "admin"],
     "--target-user needs --target-password-env (the password is never a command-line argument)"),
    (["diff", "--source-url", "http://127.0.0.1:9", "--source-token-env", "T", "--target-url", "http://127.0.0.1:9"],
     "--target-url needs --target-user (with --target-password-env) or --target-token-env"),
    (["pause", "--target-url", "http://127.0.0.1:9", "--target-token-env", "T", "--target-user", "admin",
      "--target-password-env", "PW"],
     "--target-token-env replaces --target-user/--target-password-env: give one or the other"),
])
def test_how_to_log_in_is_a_usage_error_naming_the_flag(capsys, monkeypatch, argv, message):
    monkeypatch.setattr("requests.Session.request", lambda *a, **kw: pytest.fail("request sent"))
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.splitlines()[-1] == f"python -m tools.migrate {argv[0]}: error: {message}"


def _help_options(command: str, capsys) -> set[str]:
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    # Every option the help names, in the option list or in a description.
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", capsys.readouterr().out))


ENDPOINT = {"url", "user", "password-env", "token-env", "mwaa", "region", "profile"}


@pytest.mark.parametrize("command, expected", [
    ("export", {"--json", "--kinds", "--region", "--workers", "--page-size", "--timeout", "--sensitive-names",
                "--output", "--force", *(f"--source-{o}" for o in ENDPOINT)}),
    ("import", {"--json", "--kinds", "--region", "--workers", "--page-size", "--batch-size", "--write-workers",
                "--timeout", "--sensitive-names", "--dry-run", "--overwrite", "--allow-incomplete",
                *(f"--target-{o}" for o in ENDPOINT)}),
    ("diff", {"--json", "--kinds", "--region", "--workers", "--page-size", "--timeout", "--sensitive-names",
              *(f"--source-{o}" for o in ENDPOINT), *(f"--target-{o}" for o in ENDPOINT)}),
    ("pause", {"--json", "--region", "--workers", "--page-size", "--timeout", "--dags", "--dry-run",
               *(f"--target-{o}" for o in ENDPOINT)}),
])
def test_each_subcommand_lists_only_its_own_options(capsys, command, expected):
    assert _help_options(command, capsys) - {"--help"} == expected


# --- issue 20, item 7: flags checked as usage errors, export -o before the source is read ------------------


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "-inf", "3601", "soon"])
def test_timeout_must_be_finite_seconds(tmp_path, capsys, value):
    path = tmp_path / "in.json"
    model.write_document(str(path), doc(pools=[]))
    with pytest.raises(SystemExit) as exc:
        cli.main(["diff", str(path), "--target-url", "http://127.0.0.1:9", *TOKEN, "--timeout", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --timeout: " in err and "internal error" not in err
    assert cli.build_parser().parse_args(["diff", str(path), "--timeout", "0.5"]).timeout == 0.5


@pytest.mark.parametrize("name", ["bad name", "1env", "env\x1b[2J", "e" * 81, "", "env/../other"])
def test_mwaa_environment_names_are_checked_before_aws_is_asked(capsys, monkeypatch, name):
    monkeypatch.setattr("boto3.session.Session", lambda *a, **kw: pytest.fail("AWS contacted"))
    with pytest.raises(SystemExit) as exc:
        cli.main(["pause", "--target-mwaa", name, "--target-region", "us-east-1", "--dry-run"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --target-mwaa: " in err and "is not an MWAA environment name" in err and "\x1b" not in err
    assert cli.build_parser().parse_args(["pause", "--target-mwaa", "airflow-prod_2"]).target_mwaa == "airflow-prod_2"


@pytest.mark.parametrize("case", ["missing-directory", "existing-file", "a-directory", "under-a-file"])
def test_export_checks_its_output_before_reading_the_source(tmp_path, capsys, monkeypatch, case):
    monkeypatch.setattr("requests.Session.request", lambda *a, **kw: pytest.fail("the source was read"))
    monkeypatch.setenv("UNUSED_TOKEN", "t")
    output = {"missing-directory": tmp_path / "no" / "o.json", "existing-file": tmp_path / "o.json",
              "a-directory": tmp_path, "under-a-file": tmp_path / "o.json" / "x.json"}[case]
    (tmp_path / "o.json").write_text("{}")
    rc = cli.main(["export", "--source-url", "http://127.0.0.1:9", "--source-token-env", "UNUSED_TOKEN",
                   "-o", str(output)])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(output) in err
