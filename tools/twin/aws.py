"""S3, Secrets Manager and SQS from a moto server on loopback, filled with what the program declares."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import boto3

from tools.planner import ROOT

from .endpoints import Endpoints, Service
from .ports import LOOPBACK, free_port
from .supervisor import Process, Supervisor
from .wiring import StackWiring

# moto accepts any credentials; these stand in for IRSA (EKS) and the execution role (MWAA).
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "twin", "AWS_SECRET_ACCESS_KEY": "twin-secret"}
# endpoint prefix -> boto3's service id in AWS_ENDPOINT_URL_<ID>
AWS_SERVICES = {"s3": "S3", "secretsmanager": "SECRETS_MANAGER", "sqs": "SQS", "sts": "STS", "logs": "CLOUDWATCH_LOGS"}


def start_moto(supervisor: Supervisor) -> tuple[Process, int]:
    port = free_port()
    process = supervisor.start("moto", [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)], ports=(port,))
    supervisor.wait_port(process, port, timeout=60)
    return process, port


def declare_aws_endpoints(endpoints: Endpoints, region: str, moto_port: int) -> None:
    """The regional AWS API endpoints the program's settings would reach, all served by moto (plain HTTP)."""
    for service in AWS_SERVICES:
        endpoints.declare(Service(f"AWS {service}", f"{service}.{region}.amazonaws.com", 443, loopback_scheme="http"), moto_port)


def aws_environment(endpoints: Endpoints, region: str) -> dict[str, str]:
    """Environment that points boto3 (Airflow's hooks, secrets backend, kombu's SQS) at the declared endpoints."""
    env = {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    for service, service_id in AWS_SERVICES.items():
        env[f"AWS_ENDPOINT_URL_{service_id}"] = endpoints.url(f"https://{service}.{region}.amazonaws.com",
                                                                   f"AWS {service} endpoint")
    return env


@contextmanager
def _environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _working_directory(path: Path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def fill_platform(stack: StackWiring, aws_env: dict[str, str]) -> None:
    """Create the bucket with the program's objects and dags/ prefix, and the declared Secrets Manager secrets."""
    with _environment(aws_env):
        s3 = boto3.client("s3", region_name=stack.region)
        s3.create_bucket(Bucket=stack.bucket)
        for key, body in stack.bucket_objects().items():
            s3.put_object(Bucket=stack.bucket, Key=key, Body=body)
        # components/dag_sync.py's own provider code, as `pulumi up` runs it: from the project root.
        provider, props = stack.dag_sync()
        with _working_directory(ROOT):
            provider.create(props)
        secrets = boto3.client("secretsmanager", region_name=stack.region)
        for name, value in stack.declared_secrets().items():
            secrets.create_secret(Name=name, SecretString=value)


def download_prefix(stack: StackWiring, aws_env: dict[str, str], prefix: str, folder: Path) -> list[str]:
    """Copy s3://bucket/prefix/ to folder (stands in for the S3 CSI mount on EKS and MWAA's own sync)."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = []
    with _environment(aws_env):
        s3 = boto3.client("s3", region_name=stack.region)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=f"{prefix}/"):
            for item in page.get("Contents", []):
                relative = item["Key"][len(prefix) + 1:]
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=stack.bucket, Key=item["Key"])["Body"].read())
                keys.append(relative)
    return keys


def read_object(stack: StackWiring, aws_env: dict[str, str], key: str) -> bytes:
    with _environment(aws_env):
        return boto3.client("s3", region_name=stack.region).get_object(Bucket=stack.bucket, Key=key)["Body"].read()


def list_keys(stack: StackWiring, aws_env: dict[str, str], prefix: str) -> list[str]:
    with _environment(aws_env):
        s3 = boto3.client("s3", region_name=stack.region)
        return [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix)
                for item in page.get("Contents", [])]


def sqs_queue_names(stack: StackWiring, aws_env: dict[str, str], prefix: str) -> list[str]:
    with _environment(aws_env):
        urls = boto3.client("sqs", region_name=stack.region).list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    return sorted(url.rsplit("/", 1)[-1] for url in urls)


def create_queue(stack: StackWiring, aws_env: dict[str, str], name: str) -> str:
    """An SQS queue on moto, as MWAA's service creates the environment's Celery queue; returns its URL."""
    with _environment(aws_env):
        return boto3.client("sqs", region_name=stack.region).create_queue(QueueName=name)["QueueUrl"]
