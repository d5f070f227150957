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
import pytest
from moto.server import ThreadedMotoServer
from pulumi.dynamic.dynamic import serialize_provider

from components import airflow_config as af
from components.dag_sync import _FolderSyncProvider, folder_manifest
from tests.conftest import planned

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
