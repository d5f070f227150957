"""export -> import -> diff between two real Airflow 3 instances, checked in the target's database."""

from __future__ import annotations

import json
import os
import random
import stat
import string

import pytest
import requests

from tools.migrate.localairflow import bulk_create, free_port, set_paused
from tools.migrate.sensitive import SensitiveNames, secret_strings

RNG = random.Random(8)
LARGE = "".join(RNG.choice(string.ascii_letters + string.digits) for _ in range(100_000))

VARIABLES = (
    [{"key": f"plain_{i:03d}", "value": f"value {i}", "description": None} for i in range(150)]
    + [
        {"key": "json_obj", "value": '{"a": 1, "nested": {"list": [1, 2, 3]}, "s": "x"}', "description": "JSON"},
        {"key": "json_compact", "value": '{"a":1,"city":"Zürich"}', "description": None},
        {"key": "version_text", "value": "1.10", "description": None},
        {"key": "unicode_ключ", "value": "значение ✓ 東京 🚀", "description": "ユニコード"},
        {"key": "empty", "value": "", "description": None},
        {"key": "large", "value": LARGE, "description": "100 KB"},
        {"key": "db_password", "value": "pw-var-9f8e7d6c", "description": None},
        {"key": "slack_webhook_url", "value": "https://hooks.example.invalid/T0/B0/wh-5a4b3c2d1e", "description": None},
        {"key": "service_api_key", "value": "ak-77c1e2f3a4b5", "description": "sensitive"},
        {"key": "db_config", "value": '{"user": "u", "password": "nested-pw-3141"}', "description": None},
        {"key": "conflict_me", "value": "source-value", "description": None},
    ]
)

CONNECTIONS = (
    [{"connection_id": f"gen_{i:02d}", "conn_type": "generic", "host": f"h{i}.example", "port": 1000 + i,
      "login": None, "password": None, "schema": None, "description": None, "extra": None} for i in range(30)]
    + [
        {"connection_id": "warehouse", "conn_type": "postgres", "host": "db.internal", "login": "etl",
         "password": "pg-Pa55-word!", "schema": "dwh", "port": 5432, "description": "DWH", "extra": None},
        {"connection_id": "aws_etl", "conn_type": "aws", "host": None, "login": "AKIAEXAMPLE000",
         "password": "aws-secret-key-Zx9Yw8", "schema": None, "port": None, "description": None,
         "extra": json.dumps({"region_name": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/etl",
                              "aws_session_token": "sess-tok-55aa66bb"})},
        {"connection_id": "http_api", "conn_type": "http", "host": "api.example.com", "login": "svc",
         "password": "http-p@ss-443", "schema": "https", "port": 8443, "description": "REST API",
         "extra": json.dumps({"timeout": 10, "headers": {"Authorization": "Bearer hdr-tok-abcdef"}})},
        {"connection_id": "sftp_box", "conn_type": "sftp", "host": "sftp.example", "login": "u", "password": None,
         "schema": None, "port": 22, "description": None,
         "extra": json.dumps({"private_key": "-----BEGIN KEY-----\nkey-material-0123\n-----END KEY-----"})},
        {"connection_id": "unicode_conn", "conn_type": "http", "host": "例子.测试", "login": "usuário",
         "password": "пароль-секрет", "schema": None, "port": None, "description": "ünïcödé", "extra": "{}"},
    ]
)

POOLS = [{"name": f"pool_{i:02d}", "slots": i + 1, "description": f"pool number {i}", "include_deferred": i % 2 == 0}
         for i in range(12)] + [{"name": "unlimited", "slots": -1, "description": None, "include_deferred": False}]

PAUSED = {"migrate_test_alpha": False, "migrate_test_beta": True, "migrate_test_gamma": False}

SECRETS = secret_strings({"variables": VARIABLES, "connections": CONNECTIONS}, SensitiveNames())


def test_secret_list_is_meaningful():
    # The secrets-in-output checks below are only as good as this list.
    assert {"pg-Pa55-word!", "aws-secret-key-Zx9Yw8", "sess-tok-55aa66bb", "Bearer hdr-tok-abcdef", "pw-var-9f8e7d6c",
            "nested-pw-3141", "ak-77c1e2f3a4b5", "пароль-секрет"} <= SECRETS


@pytest.fixture(scope="session")
def filled(airflow_pair):
    source, _ = airflow_pair
    s = source.session()
    bulk_create(source, "variables", VARIABLES, session=s)
    bulk_create(source, "connections", CONNECTIONS, session=s)
    bulk_create(source, "pools", POOLS, session=s)
    set_paused(source, PAUSED, session=s)
    return source


@pytest.fixture(scope="session")
def migrated(cli, filled, tmp_path_factory, db_dump):
    """One export from the source and one import into the target, as the runbook does it."""
    path = tmp_path_factory.mktemp("export") / "airflow-export.json"
    before = db_dump(cli.target)
    export = cli("export", *cli.src(), "-o", str(path), "--json")
    assert export.returncode == 0, export.stderr
    dry = cli("import", str(path), *cli.dst(), "--dry-run", "--json")
    after_dry = db_dump(cli.target)
    imp = cli("import", str(path), *cli.dst(), "--json")
    assert imp.returncode == 0, imp.stdout + imp.stderr
    return {"path": path, "export": json.loads(export.stdout), "dry": dry, "import": json.loads(imp.stdout),
            "before": before, "after_dry": after_dry}


def json_equal_or_same(a, b):
    """Airflow 3's API re-serialises JSON-parsable variable values (json.dumps(json.loads(v))): those
    keep their meaning, not their spelling. Everything else must be identical."""
    if a == b:
        return True
    try:
        return json.loads(a) == json.loads(b)
    except (TypeError, ValueError):
        return False


def test_export_file_is_owner_only_and_complete(migrated):
    path = migrated["path"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == 1 and doc["airflow_version"] == "3.3.1" and doc["exported_at"]
    assert {v["key"] for v in doc["variables"]} == {v["key"] for v in VARIABLES}
    assert {c["connection_id"] for c in doc["connections"]} >= {c["connection_id"] for c in CONNECTIONS}
    assert {p["name"] for p in doc["pools"]} == {p["name"] for p in POOLS} | {"default_pool"}
    assert not [i for kind in ("variables", "connections") for i in doc[kind] if i.get("hidden")]
    assert {d["dag_id"]: d["is_paused"] for d in doc["dags"] if d["dag_id"] in PAUSED} == PAUSED
    counts = migrated["export"]["kinds"]
    assert counts["variables"]["exported"] == len(VARIABLES)
    assert counts["pools"]["exported"] == len(POOLS) + 1


def test_dry_run_wrote_nothing_and_announced_the_writes(migrated):
    dry = migrated["dry"]
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout)
    assert summary["dry_run"] is True
    assert len(summary["kinds"]["variables"]["would_create"]) == len(VARIABLES)
    assert len(summary["kinds"]["connections"]["would_create"]) == len(CONNECTIONS)
    assert summary["kinds"]["dags"]["would_set_paused"] == {"migrate_test_alpha": False, "migrate_test_gamma": False}
    assert migrated["after_dry"] == migrated["before"]


def test_import_moved_everything_field_by_field(cli, migrated, db_dump):
    summary = migrated["import"]["kinds"]
    assert len(summary["variables"]["created"]) == len(VARIABLES)
    assert len(summary["connections"]["created"]) == len(CONNECTIONS)
    assert sorted(summary["pools"]["created"]) == sorted(p["name"] for p in POOLS)
    assert summary["pools"]["unchanged"] == ["default_pool"]
    assert summary["dags"]["paused_state_set"] == {"migrate_test_alpha": False, "migrate_test_gamma": False}
    for kind in ("variables", "connections", "pools"):
        assert summary[kind]["errors"] == [] and summary[kind]["conflicts"] == []

    src, dst = db_dump(cli.source), db_dump(cli.target)
    assert set(dst["variables"]) == set(src["variables"])
    for key, var in src["variables"].items():
        assert dst["variables"][key]["description"] == var["description"], key
        assert json_equal_or_same(var["value"], dst["variables"][key]["value"]), key
    # What docs/migration.md says of JSON values from an Airflow 3 source: same JSON, Airflow's spelling.
    assert dst["variables"]["json_compact"]["value"] == '{"a": 1, "city": "Z\\u00fcrich"}'
    assert dst["variables"]["version_text"]["value"] == "1.1"
    assert dst["variables"]["large"]["value"] == LARGE
    assert dst["variables"]["unicode_ключ"]["value"] == "значение ✓ 東京 🚀"
    assert dst["variables"]["db_password"]["value"] == "pw-var-9f8e7d6c"
    assert dst["variables"]["empty"]["value"] == ""
    assert src["connections"] == dst["connections"]  # every field, passwords and extras included
    assert dst["connections"]["http_api"]["password"] == "http-p@ss-443"
    assert dst["connections"]["http_api"]["port"] == 8443
    assert json.loads(dst["connections"]["aws_etl"]["extra"])["aws_session_token"] == "sess-tok-55aa66bb"
    assert src["pools"] == dst["pools"]
    assert dst["pools"]["unlimited"]["slots"] == -1
    assert {d: dst["dags"][d] for d in PAUSED} == PAUSED


def test_diff_after_import_is_clean(cli, migrated):
    from_file = cli("diff", str(migrated["path"]), *cli.dst(), "--json")
    assert from_file.returncode == 0, from_file.stdout + from_file.stderr
    result = json.loads(from_file.stdout)
    assert result["clean"] is True
    for kind, r in result["kinds"].items():
        assert r["missing"] == [] and r["changed"] == [], kind
    # The target masks passwords in its API: those connections are equal in every field it shows.
    assert "warehouse" in result["kinds"]["connections"]["same_secret_unverified"]
    live = cli("diff", *cli.src(), *cli.dst())
    assert live.returncode == 0, live.stdout + live.stderr
    assert "No differences." in live.stdout


def test_second_import_changes_nothing(cli, migrated, db_dump):
    before = db_dump(cli.target)
    again = cli("import", str(migrated["path"]), *cli.dst(), "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    summary = json.loads(again.stdout)["kinds"]
    for kind in ("variables", "connections", "pools"):
        assert summary[kind]["created"] == [] and summary[kind]["overwritten"] == [], kind
        assert summary[kind]["conflicts"] == [] and summary[kind]["errors"] == [], kind
        assert len(summary[kind]["unchanged"]) + len(summary[kind]["unchanged_secret_unverified"]) == \
            summary[kind]["in_file"], kind
    assert summary["dags"]["paused_state_set"] == {}
    assert db_dump(cli.target) == before


def test_conflict_is_reported_and_kept_until_overwrite(cli, migrated, db_dump):
    _, target = cli.source, cli.target
    s = target.session()
    r = s.patch(f"{target.url}/api/v2/variables/conflict_me", json={"key": "conflict_me", "value": "target-value"})
    assert r.status_code == 200, r.text
    r = s.patch(f"{target.url}/api/v2/pools/pool_03",
                json={"name": "pool_03", "slots": 99, "description": "pool number 3", "include_deferred": False})
    assert r.status_code == 200, r.text
    res = cli("import", str(migrated["path"]), *cli.dst(), "--json")
    assert res.returncode == 3, res.stderr  # done, but needs a look
    summary = json.loads(res.stdout)["kinds"]
    assert summary["variables"]["conflicts"] == [{"key": "conflict_me", "fields": ["value"]}]
    assert summary["pools"]["conflicts"] == [{"key": "pool_03", "fields": ["slots"]}]
    dst = db_dump(target)
    assert dst["variables"]["conflict_me"]["value"] == "target-value"
    assert dst["pools"]["pool_03"]["slots"] == 99
    human = cli("import", str(migrated["path"]), *cli.dst())
    assert human.returncode == 3
    assert "conflict_me" in human.stdout and "use --overwrite to replace" in human.stdout
    diff = cli("diff", str(migrated["path"]), *cli.dst(), "--json")
    assert diff.returncode == 3
    assert json.loads(diff.stdout)["kinds"]["variables"]["changed"] == [{"key": "conflict_me", "fields": ["value"]}]

    res = cli("import", str(migrated["path"]), *cli.dst(), "--overwrite", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    summary = json.loads(res.stdout)["kinds"]
    assert summary["variables"]["overwritten"] == ["conflict_me"]
    assert summary["pools"]["overwritten"] == ["pool_03"]
    dst = db_dump(target)
    assert dst["variables"]["conflict_me"]["value"] == "source-value"
    assert dst["pools"]["pool_03"] == {"slots": 4, "description": "pool number 3", "include_deferred": False}


def test_dry_run_of_new_items_and_unparsed_dags_writes_nothing(cli, migrated, db_dump, tmp_path):
    doc = json.loads(migrated["path"].read_text())
    doc["variables"].append({"key": "only_in_file", "value": "x", "description": None})
    doc["connections"].append({"connection_id": "only_in_file", "conn_type": "http", "host": "h",
                               "password": "dry-run-secret-771", "extra": None})
    doc["pools"].append({"name": "only_in_file", "slots": 3, "description": None, "include_deferred": False})
    doc["dags"] = [{"dag_id": "migrate_test_beta", "is_paused": False},
                   {"dag_id": "dag_not_parsed_on_target", "is_paused": False}]
    path = tmp_path / "more.json"
    path.write_text(json.dumps(doc))
    before = db_dump(cli.target)
    res = cli("import", str(path), *cli.dst(), "--dry-run", "--json")
    assert res.returncode == 3, res.stderr  # a DAG the target has not parsed needs a look
    summary = json.loads(res.stdout)["kinds"]
    assert summary["variables"]["would_create"] == ["only_in_file"]
    assert summary["connections"]["would_create"] == ["only_in_file"]
    assert summary["pools"]["would_create"] == ["only_in_file"]
    assert summary["dags"]["would_set_paused"] == {"migrate_test_beta": False}
    assert summary["dags"]["missing_on_target"] == ["dag_not_parsed_on_target"]
    human = cli("import", str(path), *cli.dst(), "--dry-run")
    assert "Dry run: nothing written" in human.stdout and "dag_not_parsed_on_target" in human.stdout
    assert db_dump(cli.target) == before
    assert "dry-run-secret-771" not in res.stdout + res.stderr + human.stdout + human.stderr


def test_export_from_a_masking_airflow_marks_hidden_secrets(cli, migrated, tmp_path):
    """The target masks (Airflow's default): its export says which secrets it could not read, and an
    import of that file does not write "***" anywhere."""
    path = tmp_path / "masked.json"
    res = cli("export", "--source-url", cli.target.url, "--source-user", cli.target.user,
              "--source-password-env", "MIGRATE_DST_PW", "-o", str(path), "--json")
    assert res.returncode == 0, res.stderr
    hidden = json.loads(res.stdout)["kinds"]
    assert {"warehouse", "aws_etl", "http_api", "sftp_box", "unicode_conn"} <= set(hidden["connections"]["hidden_secrets"])
    assert {"db_password", "service_api_key", "slack_webhook_url", "db_config"} <= set(
        hidden["variables"]["hidden_secrets"])
    text = path.read_text()
    assert "***" not in text
    doc = json.loads(text)
    warehouse = next(c for c in doc["connections"] if c["connection_id"] == "warehouse")
    assert warehouse["hidden"] == ["password"] and warehouse["password"] is None and warehouse["host"] == "db.internal"
    # Importing it into the (complete) source: hidden items exist there with the same visible fields.
    into_source = ["--target-url", cli.source.url, "--target-user", cli.source.user,
                   "--target-password-env", "MIGRATE_SRC_PW"]
    back = cli("import", str(path), *into_source, "--dry-run", "--json")
    assert back.returncode == 0, back.stderr
    summary = json.loads(back.stdout)["kinds"]
    assert "warehouse" in summary["connections"]["unchanged_secret_unverified"]
    assert summary["connections"]["would_create"] == [] and summary["variables"]["would_create"] == []


def test_pause_command(cli, migrated, db_dump):
    res = cli("pause", *cli.dst(), "--dags", "migrate_test_alpha,no_such_dag", "--json")
    assert res.returncode == 3  # an unknown DAG id needs a look
    summary = json.loads(res.stdout)
    assert summary["paused"] == ["migrate_test_alpha"] and summary["unknown"] == ["no_such_dag"]
    assert db_dump(cli.target)["dags"]["migrate_test_alpha"] is True
    # Restoring the recorded state is an import of the DAGs only.
    res = cli("import", str(migrated["path"]), *cli.dst(), "--kinds", "dags", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["kinds"]["dags"]["paused_state_set"] == {"migrate_test_alpha": False}


def test_bad_inputs_fail_with_one_line_and_leave_the_target_alone(cli, migrated, db_dump, tmp_path):
    before = db_dump(cli.target)
    good = str(migrated["path"])

    def one_line_error(res, *expected):
        assert res.returncode == 1, res.stdout + res.stderr
        assert res.stdout == ""
        assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: "), res.stderr
        assert "Traceback" not in res.stderr
        for e in expected:
            assert e in res.stderr, res.stderr

    dead = f"http://127.0.0.1:{free_port()}"
    one_line_error(cli("import", good, "--target-url", dead, "--target-user", "admin",
                       "--target-password-env", "MIGRATE_DST_PW"), f"cannot reach the Airflow API at {dead}")
    wrong_pw = {**cli.env, "MIGRATE_DST_PW": "not-the-password"}
    one_line_error(cli("import", good, *cli.dst(), env=wrong_pw), "wrong credentials for user 'admin'")
    assert "not-the-password" not in cli.outputs[-1]
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"format": "airflow-metadata-export", "schema_version": 1, "variables": [')
    one_line_error(cli("import", str(malformed), *cli.dst()), "not valid JSON")
    wrong_schema = tmp_path / "v9.json"
    doc = json.loads(migrated["path"].read_text())
    wrong_schema.write_text(json.dumps({**doc, "schema_version": 9}))
    one_line_error(cli("import", str(wrong_schema), *cli.dst()), "unsupported schema_version 9")
    one_line_error(cli("diff", str(wrong_schema), *cli.dst()), "unsupported schema_version 9")
    not_airflow = cli("export", "--source-url", f"{cli.target.url}/nothing-here", "--source-user", "admin",
                      "--source-password-env", "MIGRATE_DST_PW", "-o", str(tmp_path / "x.json"))
    one_line_error(not_airflow, "does not look like an Airflow API server")
    assert not (tmp_path / "x.json").exists()
    assert db_dump(cli.target) == before


def test_no_secret_ever_reached_the_output(cli, migrated, tmp_path):
    """The human-readable and JSON forms of every command, a refused URL with a password in it, and
    (cli.outputs keeps the stdout and stderr of each command of this session) everything run before."""
    before = len(cli.outputs)
    assert before >= 3  # at least the export, dry run and import of the `migrated` fixture
    path = str(migrated["path"])
    for args in (["export", *cli.src(), "-o", str(tmp_path / "again.json")],
                 ["export", *cli.src(), "-o", str(tmp_path / "again-json.json"), "--json"],
                 ["import", path, *cli.dst(), "--dry-run"],
                 ["import", path, *cli.dst(), "--overwrite"],
                 ["import", path, *cli.dst(), "--dry-run", "--json"],
                 ["diff", path, *cli.dst()],
                 ["diff", *cli.src(), *cli.dst(), "--json"]):
        assert cli(*args).returncode == 0, cli.outputs[-1]
    host = cli.source.url.split("://", 1)[1]
    url_password = "url-Pa55-in-the-url-19"  # refused before it is sent, so it need not be the real one
    refused = cli("export", "--source-url", f"http://{cli.source.user}:{url_password}@{host}",
                  "-o", str(tmp_path / "refused.json"))
    assert refused.returncode == 1 and "credentials in the URL are not accepted" in refused.stderr
    own = cli.outputs[before:]
    assert len(own) == 8 and all(o.strip() for o in own)  # every command printed something to check
    everything = "\n".join(cli.outputs)
    # Not vacuous: the output talks about the items that carry the secrets.
    assert "warehouse" in everything and "db_password" in everything
    leaked = sorted(s for s in SECRETS | {url_password} if s in everything)
    assert leaked == []
    assert LARGE[:40] not in everything


def test_api_masks_secrets_on_the_default_target(cli, migrated):
    """Why the runbook turns masking off on the source for the export: Airflow 3 masks by default."""
    target = cli.target
    r = target.session().get(f"{target.url}/api/v2/connections/warehouse")
    assert r.status_code == 200 and r.json()["password"] == "***"
    r = requests.get(f"{target.url}/api/v2/version", timeout=10)
    assert r.json()["version"] == "3.3.1"
