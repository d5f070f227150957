"""The DAG folder sync: one resource in the plan, and a provider that really mirrors a folder into S3.

The provider runs here against a local S3 emulator (moto server on loopback), after a round trip through
Pulumi's own provider serialisation, loaded in a process that cannot import this project.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path

import boto3
import dill
import pulumi
import pytest
from moto.server import ThreadedMotoServer
from pulumi.dynamic.dynamic import serialize_provider

from components import airflow_config as af
from components.dag_sync import FolderError, _FolderSyncProvider, folder_manifest, list_folder
from tests.conftest import planned
from tests.test_program import monitors  # noqa: F401 - the fixture: what a failing plan registered
from tools import planner

BUCKET = "airflow-test-dags"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def s3(s3_endpoint, monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_ENDPOINT_URL": s3_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


def contents(client) -> dict[str, bytes]:
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: client.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def props(root: Path) -> dict:
    files = sorted(p for p in (root / "dags").rglob("*") if p.is_file())
    return {"bucket": BUCKET, "prefix": "dags", "region": "us-east-1", "source": "dags",
            "manifest": folder_manifest(root / "dags", files)}


def test_plan_declares_one_sync_resource_with_every_dag_file():
    plan = planned("dev")
    sync = plan.one("pulumi-python:dynamic:Resource", "platform-bucket-dags").inputs
    expected = {p.relative_to(af.DAGS_DIR).as_posix(): hashlib.md5(p.read_bytes()).hexdigest() for p in af.dag_files()}
    assert sync["manifest"] == expected and len(expected) >= 3
    assert sync["bucket"] == plan.outputs["dagsBucket"] and sync["prefix"] == "dags" and sync["source"] == "dags"
    assert not [r for r in plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if r.inputs["key"].startswith("dags/")]


def test_provider_mirrors_the_folder(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # `source` is relative to the project, where `pulumi up` runs
    (tmp_path / "dags" / "lib").mkdir(parents=True)
    (tmp_path / "dags" / "a.py").write_text("a = 1\n")
    (tmp_path / "dags" / "lib" / "b.py").write_text("b = 2\n")
    provider = _FolderSyncProvider()
    first = props(tmp_path)
    created = provider.create(first)
    assert created.id == f"{BUCKET}/dags"
    assert contents(s3) == {"dags/a.py": b"a = 1\n", "dags/lib/b.py": b"b = 2\n"}

    (tmp_path / "dags" / "a.py").write_text("a = 3\n")
    (tmp_path / "dags" / "lib" / "b.py").unlink()
    (tmp_path / "dags" / "c.py").write_text("c = 4\n")
    second = props(tmp_path)
    assert provider.diff(created.id, first, second).changes is True
    assert provider.diff(created.id, second, second).changes is False
    provider.update(created.id, first, second)
    assert contents(s3) == {"dags/a.py": b"a = 3\n", "dags/c.py": b"c = 4\n"}

    provider.delete(created.id, second)
    assert contents(s3) == {}


def test_a_file_changed_after_the_preview_is_refused(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "a.py").write_text("a = 1\n")
    planned_props = props(tmp_path)
    (tmp_path / "dags" / "a.py").write_text("a = 2\n")
    with pytest.raises(RuntimeError, match="changed after the preview"):
        _FolderSyncProvider().create(planned_props)


def test_provider_survives_pulumis_serialisation_without_this_project(s3, tmp_path):
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "x.py").write_text("x = 1\n")
    payload = serialize_provider(_FolderSyncProvider())
    assert dill.loads(base64.b64decode(payload))  # loads here too
    script = ("import base64, json, sys, dill\n"
              "provider = dill.loads(base64.b64decode(sys.argv[1]))\n"
              "provider.create(json.loads(sys.argv[2]))\n")
    import json

    done = subprocess.run([sys.executable, "-c", script, payload, json.dumps(props(tmp_path))], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert contents(s3) == {"dags/x.py": b"x = 1\n"}


# --- a mirror: whatever else is under the prefix goes (issue 12, item 9) --------------------------------------


def test_objects_the_manifest_does_not_list_are_deleted_on_create_and_update(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "a.py").write_text("a = 1\n")
    # Hand uploads and leftovers of a failed create, before the resource exists.
    for key in ("dags/hand.py", "dags/old/leftover.py"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    # Neighbours that only share the first letters of the prefix are not the sync's business.
    for key in ("dags-archive/keep.py", "logs/keep.log"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"keep")
    provider, first = _FolderSyncProvider(), props(tmp_path)
    created = provider.create(first)
    assert contents(s3) == {"dags/a.py": b"a = 1\n", "dags-archive/keep.py": b"keep", "logs/keep.log": b"keep"}

    # Between two runs someone uploads a file by hand and deletes a synced one.
    s3.put_object(Bucket=BUCKET, Key="dags/later.py", Body=b"y")
    s3.delete_object(Bucket=BUCKET, Key="dags/a.py")
    (tmp_path / "dags" / "b.py").write_text("b = 2\n")
    provider.update(created.id, first, props(tmp_path))
    assert contents(s3) == {"dags/a.py": b"a = 1\n", "dags/b.py": b"b = 2\n",
                            "dags-archive/keep.py": b"keep", "logs/keep.log": b"keep"}

    provider.delete(created.id, props(tmp_path))
    assert contents(s3) == {"dags-archive/keep.py": b"keep", "logs/keep.log": b"keep"}


# --- per-key delete failures are failures (item 8) ------------------------------------------------------------


class RefusesToDelete:
    """The real (moto) S3 client, except that DeleteObjects reports `refused` keys as failed, as S3 does in
    Quiet mode (HTTP 200, the key under Errors) when a policy or an object lock stops it."""

    def __init__(self, client, refused: set[str]):
        self._client, self.refused = client, refused

    def __getattr__(self, name):
        return getattr(self._client, name)

    def delete_objects(self, Bucket, Delete):
        keep = [o for o in Delete["Objects"] if o["Key"] not in self.refused]
        answer = self._client.delete_objects(Bucket=Bucket, Delete={**Delete, "Objects": keep}) if keep else {}
        errors = [{"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"}
                  for o in Delete["Objects"] if o["Key"] in self.refused]
        return {**answer, "Errors": errors}


def test_a_delete_that_s3_refuses_fails_the_update(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "a.py").write_text("a = 1\n")
    (tmp_path / "dags" / "gone.py").write_text("g = 1\n")
    provider, first = _FolderSyncProvider(), props(tmp_path)
    created = provider.create(first)
    (tmp_path / "dags" / "gone.py").unlink()

    real_client = _FolderSyncProvider._client
    monkeypatch.setattr(_FolderSyncProvider, "_client",
                        staticmethod(lambda p: RefusesToDelete(real_client(p), {"dags/gone.py"})))
    with pytest.raises(RuntimeError, match=r"could not delete 1 object\(s\) from s3://airflow-test-dags: "
                                           r"dags/gone.py \(AccessDenied\)"):
        provider.update(created.id, first, props(tmp_path))
    assert "dags/gone.py" in contents(s3)  # still there, and Pulumi keeps the old state: the next run retries

    monkeypatch.setattr(_FolderSyncProvider, "_client", staticmethod(real_client))
    provider.update(created.id, first, props(tmp_path))
    assert contents(s3) == {"dags/a.py": b"a = 1\n"}


# --- symbolic links (item 10) ---------------------------------------------------------------------------------


def test_links_inside_the_folder_are_synced_and_links_to_folders_are_named(tmp_path):
    dags = tmp_path / "dags"
    (dags / "lib").mkdir(parents=True)
    (dags / "lib" / "shared.py").write_text("s = 1\n")
    (dags / "alias.py").symlink_to(dags / "lib" / "shared.py")
    (dags / "lib_again").symlink_to(dags / "lib", target_is_directory=True)
    (dags / "dangling.py").symlink_to(dags / "nowhere.py")
    (dags / "__pycache__").mkdir()
    (dags / "__pycache__" / "x.pyc").write_bytes(b"\0")
    listing = list_folder(dags)
    assert [p.relative_to(dags).as_posix() for p in listing.files] == ["alias.py", "lib/shared.py"]
    assert sorted(listing.skipped) == ["dangling.py (broken link)", "lib_again (link to a folder)"]


@pytest.mark.parametrize("link, target_is_dir", [("creds.py", False), ("lib/deep/escape.py", False),
                                                 ("outside_dir", True)])
def test_a_link_that_leaves_the_folder_is_refused(tmp_path, link, target_is_dir):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "credentials").write_text("aws_secret_access_key = do-not-upload\n")
    dags = tmp_path / "dags"
    (dags / "lib" / "deep").mkdir(parents=True)
    (dags / link).symlink_to(secret if target_is_dir else secret / "credentials", target_is_directory=target_is_dir)
    with pytest.raises(FolderError) as caught:
        list_folder(dags)
    assert str(caught.value) == (f"dags/{link}: a symbolic link to {(secret if target_is_dir else secret / 'credentials')}"
                                 ", outside dags/, is not allowed; allowed: files inside dags/ and links that stay "
                                 "inside it")


def test_the_program_stops_on_such_a_link_before_declaring_anything(tmp_path, monkeypatch, monitors):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "ok.py").write_text("x = 1\n")
    (dags / "creds.py").symlink_to(tmp_path / "credentials")
    (tmp_path / "credentials").write_text("secret\n")
    monkeypatch.setattr(af, "DAGS_DIR", dags)
    with pytest.raises(pulumi.RunError) as caught:
        planner.plan("dev", {})
    assert str(caught.value).splitlines() == [
        "invalid DAG folder:",
        f"  dags/creds.py: a symbolic link to {tmp_path / 'credentials'}, outside dags/, is not allowed; "
        "allowed: files inside dags/ and links that stay inside it"]
    assert [m.planned for m in monitors] == [[]]


def test_a_link_repointed_outside_after_the_preview_is_not_uploaded(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "real.py").write_text("x = 1\n")
    (tmp_path / "dags" / "link.py").symlink_to(tmp_path / "dags" / "real.py")
    planned_props = props(tmp_path)
    (tmp_path / "outside.py").write_text("x = 1\n")  # same content: the MD5 check alone would let it through
    (tmp_path / "dags" / "link.py").unlink()
    (tmp_path / "dags" / "link.py").symlink_to(tmp_path / "outside.py")
    with pytest.raises(RuntimeError, match="now leads outside dags; refusing to upload it"):
        _FolderSyncProvider().create(planned_props)
    assert "dags/link.py" not in contents(s3)


# --- the stack's own AWS session (item 11) --------------------------------------------------------------------


def test_the_sync_gets_the_stacks_account_region_profile_and_role_chain_as_plain_inputs():
    plain = planned("dev").one("pulumi-python:dynamic:Resource", "platform-bucket-dags")
    assert plain.inputs["accountId"] == planner.ACCOUNT_ID and plain.inputs["region"] == "us-east-1"
    assert "profile" not in plain.inputs and "assumeRoles" not in plain.inputs

    chain = [{"roleArn": "arn:aws:iam::123456789012:role/deployer", "sessionName": "ci-deploy", "externalId": "ext-7",
              "duration": "1h30m", "tags": {"team": "data"}},
             {"roleArn": "arn:aws:iam::123456789012:role/dags-writer", "policyArns": ["arn:aws:iam::aws:policy/X"]}]
    plan = planned("dev", **{"aws:region": "eu-west-1", "aws:profile": "platform", "aws:assumeRoles": chain})
    sync = plan.one("pulumi-python:dynamic:Resource", "platform-bucket-dags")
    assert sync.inputs["region"] == "eu-west-1" and sync.inputs["profile"] == "platform"
    assert sync.inputs["assumeRoles"] == [
        {"RoleArn": "arn:aws:iam::123456789012:role/deployer", "RoleSessionName": "ci-deploy", "ExternalId": "ext-7",
         "DurationSeconds": 5400, "Tags": [{"Key": "team", "Value": "data"}]},
        {"RoleArn": "arn:aws:iam::123456789012:role/dags-writer", "RoleSessionName": "pulumi-airflow-dag-sync",
         "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/X"}]}]
    assert sync.secret_inputs == {"__provider"}  # Pulumi always marks the pickled provider secret; nothing else is


@pytest.mark.parametrize("key, value, problem", [
    ("aws:assumeRole", {"roleArn": "arn:aws:iam::123456789012:role/r"},
     'aws:assumeRole: {"roleArn": "arn:aws:iam::123456789012:role/r"} is not allowed; allowed: aws:assumeRoles, '
     "a list (pulumi-aws 7 no longer reads aws:assumeRole)"),
    ("aws:assumeRoles", {"roleArn": "arn:aws:iam::123456789012:role/r"},
     'aws:assumeRoles: {"roleArn": "arn:aws:iam::123456789012:role/r"} is not allowed; allowed: a list of objects '
     "with roleArn (role chaining, in order)"),
    ("aws:assumeRoles", [{"roleArn": "deployer"}],
     'aws:assumeRoles[0].roleArn: "deployer" is not allowed; allowed: an IAM role ARN, e.g. '
     "arn:aws:iam::123456789012:role/deployer"),
    ("aws:assumeRoles", [{"roleArn": "arn:aws:iam::123456789012:role/r", "rolearn": "x"}],
     "aws:assumeRoles[0].rolearn: unknown field; allowed: roleArn, sessionName, externalId, duration, policy, "
     "policyArns, sourceIdentity, tags, transitiveTagKeys"),
    ("aws:assumeRoles", [{"roleArn": "arn:aws:iam::123456789012:role/r", "duration": "5m"}],
     'aws:assumeRoles[0].duration: "5m" is not allowed; allowed: a duration from 15m to 12h, e.g. 1h or 30m'),
    ("aws:accessKey", "AKIAEXAMPLEKEY000000",
     "aws:accessKey: (set) is not allowed; allowed: aws:profile, aws:assumeRoles or the environment's credentials "
     "(static keys in stack config would be stored in the DAG sync's state)"),
])
def test_bad_aws_session_config_stops_the_program_before_anything_is_declared(monitors, key, value, problem):
    with pytest.raises(pulumi.RunError) as caught:
        planner.plan("dev", {key: value})
    assert str(caught.value).splitlines() == ["invalid stack config (1 problem(s)):", f"  {problem}"]
    assert [m.planned for m in monitors] == [[]]
    assert "AKIAEXAMPLE" not in str(caught.value)


def one_file_props(tmp_path, **session) -> dict:
    (tmp_path / "dags").mkdir(exist_ok=True)
    (tmp_path / "dags" / "a.py").write_text("a = 1\n")
    return {**props(tmp_path), **session}


def test_a_session_in_another_account_is_refused(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match="the AWS session is in account 123456789012, but the stack deploys into "
                                           "111111111111; check aws:profile, aws:assumeRoles"):
        _FolderSyncProvider().create(one_file_props(tmp_path, accountId="111111111111"))
    assert contents(s3) == {}


def test_the_role_chain_is_assumed_and_its_account_checked(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = [{"RoleArn": "arn:aws:iam::222222222222:role/deployer", "RoleSessionName": "ci-deploy"}]
    with pytest.raises(RuntimeError, match="the AWS session is in account 222222222222, but the stack deploys into "
                                           "123456789012"):
        _FolderSyncProvider().create(one_file_props(tmp_path, accountId="123456789012", assumeRoles=other))
    assert contents(s3) == {}
    same = [{"RoleArn": "arn:aws:iam::123456789012:role/deployer", "RoleSessionName": "ci-deploy"},
            {"RoleArn": "arn:aws:iam::123456789012:role/dags-writer", "RoleSessionName": "ci-deploy"}]
    _FolderSyncProvider().create(one_file_props(tmp_path, accountId="123456789012", assumeRoles=same))
    assert contents(s3) == {"dags/a.py": b"a = 1\n"}


def test_a_bucket_in_another_region_is_refused(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match=r"bucket airflow-test-dags is in us-east-1, but the stack's region "
                                           r"\(aws:region\) is eu-west-1"):
        _FolderSyncProvider().create(one_file_props(tmp_path, region="eu-west-1", accountId="123456789012"))
    assert contents(s3) == {}


def test_the_stacks_profile_is_used(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "aws-config"
    # A profile that assumes a role in another account: the account check proves the profile was used.
    config.write_text("[profile elsewhere]\nrole_arn = arn:aws:iam::333333333333:role/x\nsource_profile = base\n"
                      "[profile base]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with pytest.raises(RuntimeError, match="the AWS session is in account 333333333333"):
        _FolderSyncProvider().create(one_file_props(tmp_path, accountId="123456789012", profile="elsewhere"))
    with pytest.raises(RuntimeError, match="aws:profile 'missing' is not in the AWS config files"):
        _FolderSyncProvider().create(one_file_props(tmp_path, accountId="123456789012", profile="missing"))
    assert contents(s3) == {}


def test_what_is_not_synced_is_named_in_a_warning(tmp_path, monkeypatch):
    dags = tmp_path / "dags"
    (dags / "lib").mkdir(parents=True)
    (dags / "lib" / "x.py").write_text("x = 1\n")
    (dags / "lib_link").symlink_to(dags / "lib", target_is_directory=True)
    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **kw: warnings.append(message))
    monkeypatch.setattr(af, "DAGS_DIR", dags)
    monkeypatch.setattr(af, "ROOT", tmp_path)  # `source` is recorded relative to the project
    plan = planner.plan("dev", {})
    assert set(plan.one("pulumi-python:dynamic:Resource", "platform-bucket-dags").inputs["manifest"]) == {"lib/x.py"}
    assert [w for w in warnings if "not synced" in w] == ["dags/lib_link (link to a folder) is not synced to s3://.../dags/"]


def test_the_bucket_must_belong_to_the_stacks_account(s3, tmp_path, monkeypatch):
    # S3 itself refuses (403) when ExpectedBucketOwner is another account; moto does not model that, so the
    # request is checked instead.
    import botocore.client

    calls, real = [], botocore.client.BaseClient._make_api_call
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call",
                        lambda self, operation, params: calls.append((operation, params)) or real(self, operation, params))
    monkeypatch.chdir(tmp_path)
    _FolderSyncProvider().create(one_file_props(tmp_path, accountId="123456789012"))
    assert ("HeadBucket", {"Bucket": BUCKET, "ExpectedBucketOwner": "123456789012"}) in calls
    assert [op for op, _ in calls].index("HeadBucket") < [op for op, _ in calls].index("PutObject")


def test_a_new_session_setting_updates_in_place_and_a_new_bucket_replaces(tmp_path):
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "a.py").write_text("a = 1\n")
    old = {**props(tmp_path), "accountId": "123456789012"}
    provider = _FolderSyncProvider()
    for change in ({"profile": "platform"}, {"assumeRoles": [{"RoleArn": "arn:aws:iam::123456789012:role/r",
                                                              "RoleSessionName": "s"}]}, {"region": "eu-west-1"}):
        diff = provider.diff("id", old, {**old, **change})
        assert diff.changes is True and diff.replaces == [], change
    diff = provider.diff("id", old, {**old, "bucket": "airflow-other"})
    assert diff.changes is True and diff.replaces == ["bucket"]
    assert provider.diff("id", old, {**old, "source": "elsewhere/dags"}).changes is False
