"""The pieces without a server: secret heuristics, comparison, the export file, the command line."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tools.migrate import cli, model
from tools.migrate.errors import MigrateError
from tools.migrate.ops import diff, plan_import
from tools.migrate.sensitive import (
    Scrubber,
    SensitiveNames,
    extra_is_masked,
    secret_strings,
    value_is_masked,
)

SENSITIVE = SensitiveNames()


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


def test_masked_values_are_detected_wherever_the_mask_appears():
    # By name (sensitive key, sensitive key inside JSON) and by value (a loaded password is replaced
    # wherever it appears): any "***" means the API did not return the stored text.
    assert value_is_masked("db_password", "***", SENSITIVE)
    assert value_is_masked("config", json.dumps({"host": "h", "password": "***"}), SENSITIVE)
    assert value_is_masked("dsn_text", "postgres://etl:***@db:5432/dwh", SENSITIVE)
    assert not value_is_masked("db_password", "real-value", SENSITIVE)
    assert not value_is_masked("config", json.dumps({"host": "h", "password": "pw"}), SENSITIVE)
    assert not value_is_masked("rating", "**", SENSITIVE)
    assert extra_is_masked(json.dumps({"token": "***", "region": "x"}), SENSITIVE)
    assert not extra_is_masked(json.dumps({"token": "abc", "region": "eu"}), SENSITIVE)
    assert not extra_is_masked(None, SENSITIVE)


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
         "unsupported schema_version 2 (this tool reads 1)"),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1"}), "holds none of"),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "pools": [{"name": "p", "slots": "4"}]}), 'pools[0] field "slots" has the wrong type'),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "variables": [{"value": "v"}]}), 'variables[0] lacks the field "key"'),
        (json.dumps({"format": model.FORMAT, "schema_version": 1, "airflow_version": "3.3.1",
                     "dags": [{"dag_id": "a", "is_paused": True}, {"dag_id": "a", "is_paused": False}]}),
         "dags has 'a' twice"),
    ],
)
def test_bad_files_are_refused_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    # The target is never contacted: the file is checked first (this URL would not answer anyway).
    rc = cli.main(["import", str(path), "--target-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith(f"error: invalid export file {path}: ") and message in err
    assert err.count("\n") == 1


def test_missing_file_and_missing_password_env(tmp_path, capsys, monkeypatch):
    assert cli.main(["diff", str(tmp_path / "nope.json"), "--target-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err == f"error: export file {tmp_path / 'nope.json'} does not exist\n"
    monkeypatch.delenv("NO_SUCH_PASSWORD_VAR", raising=False)
    rc = cli.main(["export", "--source-url", "http://127.0.0.1:9", "--source-user", "u",
                   "--source-password-env", "NO_SUCH_PASSWORD_VAR", "-o", str(tmp_path / "o.json")])
    assert rc == 1
    assert capsys.readouterr().err == (
        "error: environment variable NO_SUCH_PASSWORD_VAR (from --source-password-env) is not set\n")


def test_source_and_target_selection_errors(tmp_path, capsys):
    assert cli.main(["export", "-o", str(tmp_path / "o.json")]) == 1
    assert capsys.readouterr().err == "error: give exactly one of --source-url and --source-mwaa\n"
    assert cli.main(["export", "--kinds", "variables,users", "--source-url", "http://127.0.0.1:9",
                     "-o", str(tmp_path / "o.json")]) == 1
    assert "--kinds takes a comma-separated subset" in capsys.readouterr().err
    assert cli.main(["export", "--source-url", "ftp://host", "-o", str(tmp_path / "o.json")]) == 1
    assert capsys.readouterr().err == "error: --source-url 'ftp://host' is not an http(s) URL\n"
