"""Sync a folder to a bucket prefix as ONE Pulumi resource, whatever the number of files.

One S3 object resource per DAG file made every `pulumi preview` grow with the DAG count (thousands of DAG
files are normal for a data team). This resource carries a manifest {relative path: MD5} instead; on
`pulumi up` it uploads what is new or changed and deletes what left the folder, so the prefix mirrors the
folder exactly, like `aws s3 sync --delete`. The bucket's default encryption (SSE-KMS with the platform key)
applies to every object it writes.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

UPLOAD_THREADS = 16


def folder_manifest(root: Path, files: list[Path]) -> dict[str, str]:
    """{posix path relative to root: MD5 of the content} — what decides whether anything changed."""
    return {f.relative_to(root).as_posix(): hashlib.md5(f.read_bytes()).hexdigest() for f in files}  # noqa: S324 - change marker


def _pickled_by_value(cls: type) -> type:
    """Make Pulumi serialise the provider's code into the state, not a reference to this module.

    Pulumi pickles dynamic providers with dill, which stores classes from importable modules by reference;
    the provider host may not be able to import `components` (pulumi/pulumi#7453). dill stores `__main__`
    classes and functions by value.
    """
    cls.__module__ = "__main__"
    for member in vars(cls).values():
        function = getattr(member, "__func__", member)
        if inspect.isfunction(function):
            function.__module__ = "__main__"
    return cls


@_pickled_by_value
class _FolderSyncProvider(ResourceProvider):
    """Runs inside `pulumi up` (dynamic provider): AWS credentials and region are the deployment's own."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._sync(props, previous={})
        return CreateResult(id_=f"{props['bucket']}/{props['prefix']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in ("bucket", "prefix", "manifest") if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k in ("bucket", "prefix")],
                          delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._sync(news, previous=olds.get("manifest", {}))
        return UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._delete(props, list(props.get("manifest", {})))

    @staticmethod
    def _client(props: dict[str, Any]):
        import boto3  # imported where it runs: the plan itself never talks to AWS

        return boto3.client("s3", region_name=props["region"])

    def _sync(self, props: dict[str, Any], previous: dict[str, str]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        client, manifest, source = self._client(props), props["manifest"], Path(props["source"])
        changed = [path for path, digest in manifest.items() if previous.get(path) != digest]

        def upload(path: str) -> None:
            body = (source / path).read_bytes()
            if hashlib.md5(body).hexdigest() != manifest[path]:  # noqa: S324
                raise RuntimeError(f"{source / path} changed after the preview; run `pulumi up` again")
            client.put_object(Bucket=props["bucket"], Key=f"{props['prefix']}/{path}", Body=body)

        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            list(pool.map(upload, changed))
        self._delete(props, [path for path in previous if path not in manifest])

    def _delete(self, props: dict[str, Any], paths: list[str]) -> None:
        client = self._client(props)
        for start in range(0, len(paths), 1000):  # DeleteObjects takes up to 1,000 keys
            batch = paths[start:start + 1000]
            client.delete_objects(Bucket=props["bucket"], Delete={
                "Objects": [{"Key": f"{props['prefix']}/{p}"} for p in batch], "Quiet": True})


class FolderSync(pulumi.dynamic.Resource):
    """s3://<bucket>/<prefix>/ mirrors `source` (the files listed in `manifest`)."""

    manifest: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, *, bucket: pulumi.Input[str], prefix: str, region: pulumi.Input[str], source: Path,
                 project_root: Path, files: list[Path], opts: pulumi.ResourceOptions | None = None):
        # `source` is kept relative to the project: `pulumi up` runs there, on any machine.
        super().__init__(_FolderSyncProvider(), name, {
            "bucket": bucket, "prefix": prefix, "region": region, "source": source.relative_to(project_root).as_posix(),
            "manifest": folder_manifest(source, files),
        }, opts)
