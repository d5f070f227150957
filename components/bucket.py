"""The Airflow bucket: DAGs, requirements, plugins and startup script (MWAA reads them; EKS reads dags/).

Stateful: versioned, encrypted with the platform key, never public, TLS only, and protected in prod.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import airflow_config as af
from .aws_context import AwsContext
from .dag_sync import FolderListing, FolderSync, folder_manifest
from .log_retention import task_logs_rule


@dataclass
class AirflowBucketArgs:
    environment_name: str
    airflow_version: str
    kms_key_arn: pulumi.Input[str]
    aws: AwsContext
    dags: FolderListing
    protect: bool
    tags: dict[str, str]
    log_retention_days: int = 90  # EKS task logs under logs/ expire after this many days (logRetentionDays)
    green_airflow_version: str | None = None  # a green side (upgrade): its own objects under green/


@dataclass(frozen=True)
class SideObjects:
    """What one MWAA environment reads besides the DAGs: object keys and the version ids it pins."""

    requirements_key: str
    requirements_version: pulumi.Output[str]
    startup_key: str
    startup_version: pulumi.Output[str]
    plugins_key: str
    plugins_version: pulumi.Output[str] | None


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # S3's own change marker; not used for security


class AirflowBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    requirements_version: pulumi.Output[str]
    startup_script_version: pulumi.Output[str]
    plugins_version: pulumi.Output[str] | None

    def __init__(self, name: str, args: AirflowBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:platform:AirflowBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # protect + retain: a `pulumi destroy` or a replacement can never take the DAGs and logs with it.
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)

        # MWAA requires the bucket name to start with "airflow-".
        prefix = args.environment_name if args.environment_name.startswith("airflow-") else f"airflow-{args.environment_name}"
        bucket = aws.s3.Bucket(name, bucket_prefix=f"{prefix}-", force_destroy=False,
                               tags=args.tags, opts=stateful)
        ownership = aws.s3.BucketOwnershipControls(name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        public_block = aws.s3.BucketPublicAccessBlock(name, bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                                                      ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        versioning = aws.s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child)
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": args.kms_key_arn},
                    "bucket_key_enabled": True}],
            opts=child)
        aws.s3.BucketLifecycleConfiguration(
            name, bucket=bucket.id,
            rules=[{"id": "expire-old-versions", "status": "Enabled", "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": 90},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7}},
                   task_logs_rule(f"{af.LOGS_PREFIX}/", args.log_retention_days)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]))
        aws.s3.BucketPolicy(name, bucket=bucket.id, policy=pulumi.Output.json_dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                           "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
        }), opts=pulumi.ResourceOptions(parent=self, depends_on=[public_block]))

        # Objects go in only once the bucket is locked down and versioned: MWAA pins their version ids.
        ready = [ownership, public_block, versioning, encryption]

        def upload(logical: str, key: str, **source) -> aws.s3.BucketObjectv2:
            return aws.s3.BucketObjectv2(
                f"{name}-{logical}", bucket=bucket.id, key=key, server_side_encryption="aws:kms",
                kms_key_id=args.kms_key_arn, tags=args.tags, opts=pulumi.ResourceOptions(parent=self, depends_on=ready), **source)

        # dags/ as one resource (see dag_sync.py): plan time doesn't grow with the number of DAG files.
        self.dags = FolderSync(f"{name}-dags", bucket=bucket.bucket, prefix=af.DAGS_PREFIX, region=args.aws.region,
                               account_id=args.aws.account_id, session=args.aws.session, source=af.DAGS_DIR,
                               project_root=af.ROOT, listing=args.dags,
                               opts=pulumi.ResourceOptions(parent=self, depends_on=ready))
        # Blue's objects keep their keys and names; a green side gets the same files for its own version under green/
        # (requirements carry that version's constraints), so the two environments never share a pinned object.
        self.sides = {"blue": self._side_objects(upload, "", "", args.airflow_version)}
        if args.green_airflow_version is not None:
            self.sides["green"] = self._side_objects(upload, "green-", "green/", args.green_airflow_version)
        blue = self.sides["blue"]
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.requirements_version = blue.requirements_version
        self.startup_script_version = blue.startup_version
        self.plugins_version = blue.plugins_version
        self.register_outputs({"bucketName": bucket.bucket, "bucketArn": bucket.arn,
                               "requirementsVersion": blue.requirements_version})

    @staticmethod
    def _side_objects(upload, logical: str, key: str, airflow_version: str) -> SideObjects:
        requirements = upload(f"{logical}requirements", f"{key}{af.REQUIREMENTS_KEY}",
                              content=af.render_requirements(airflow_version), content_type="text/plain")
        startup = upload(f"{logical}startup-script", f"{key}{af.STARTUP_SCRIPT_KEY}", source=pulumi.FileAsset(str(af.STARTUP_SCRIPT)),
                         source_hash=_md5(af.STARTUP_SCRIPT.read_bytes()), content_type="text/x-sh")
        plugins = None
        plugin_files = af.plugin_files()
        if plugin_files:
            # Names and contents: renaming a plugin file changes the zip too.
            digest = _md5(json.dumps(folder_manifest(af.PLUGINS_DIR, plugin_files), sort_keys=True).encode())
            plugins = upload(f"{logical}plugins", f"{key}{af.PLUGINS_KEY}", source=pulumi.FileArchive(str(af.PLUGINS_DIR)),
                             source_hash=digest)
        return SideObjects(f"{key}{af.REQUIREMENTS_KEY}", requirements.version_id, f"{key}{af.STARTUP_SCRIPT_KEY}",
                           startup.version_id, f"{key}{af.PLUGINS_KEY}", plugins.version_id if plugins else None)
