"""What the program declares for a stack, read from the offline plan: the twin's only source of settings.

Generated secrets get real random values here (the planner's mocks answer with recognisable fakes; a
twin needs values of the right shape, e.g. a valid Fernet key). They stay in memory and are never printed.
"""

from __future__ import annotations

import base64
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dill

from components.eks.chart_values import is_airflow_chart
from tools.planner import AwsMocks, Plan, plan

from .airflow_procs import AIRFLOW_VENV

ALPHANUMERIC = string.ascii_letters + string.digits


def _random_password(_name: str, inputs: dict) -> dict:
    # special=False everywhere in components/; length as declared.
    return {"result": "".join(secrets.choice(ALPHANUMERIC) for _ in range(int(inputs.get("length", 32))))}


def _random_bytes(_name: str, inputs: dict) -> dict:
    raw = secrets.token_bytes(int(inputs.get("length", 32)))
    return {"base64": base64.b64encode(raw).decode(), "hex": raw.hex()}


def _with_real_secrets(mocks: AwsMocks) -> None:
    mocks.register("random:index/randomPassword:RandomPassword", _random_password)
    mocks.register("random:index/randomBytes:RandomBytes", _random_bytes)


@dataclass
class StackWiring:
    plan: Plan
    target: str
    airflow_version: str
    environment_name: str
    region: str
    bucket: str
    # The Airflow the twin runs this stack with (session.start_twin sets it: airflow_procs.venv_for).
    airflow_venv: Path = AIRFLOW_VENV

    # -- EKS ---------------------------------------------------------------------------------------------
    def k8s_secret(self, name: str) -> dict[str, str] | None:
        """stringData of the Kubernetes Secret called `name` (as the chart reads it by name); None if undeclared."""
        found = [r for r in self.plan.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == name]
        return found[0].inputs["stringData"] if len(found) == 1 else None

    def k8s_claims(self) -> list[str]:
        """Names of the PersistentVolumeClaims the program declares."""
        return [r.inputs["metadata"]["name"] for r in self.plan.of_type("kubernetes:core/v1:PersistentVolumeClaim")]

    def airflow_release(self) -> dict[str, Any]:
        """Inputs of the Helm release of the Airflow chart (the vendored chart folder)."""
        return next(r.inputs for r in self.plan.of_type("kubernetes:helm.sh/v3:Release")
                    if is_airflow_chart(r.inputs.get("chart", "")))

    def rds(self) -> tuple[str, int]:
        db = self.plan.one("aws:rds/instance:Instance")
        return db.outputs["address"], int(db.outputs["port"])

    def elasticache(self) -> tuple[str, int] | None:
        groups = self.plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
        if not groups:
            return None
        return groups[0].outputs["primaryEndpointAddress"], int(groups[0].inputs["port"])

    # -- MWAA --------------------------------------------------------------------------------------------
    def mwaa_environment(self) -> dict[str, Any]:
        return self.plan.one("aws:mwaa/environment:Environment").inputs

    # -- shared platform ---------------------------------------------------------------------------------
    def bucket_objects(self) -> dict[str, bytes]:
        """Objects the program uploads to the bucket (key -> body), as `pulumi up` would upload them."""
        objects = {}
        for r in self.plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2"):
            source = r.inputs.get("source")
            if "content" in r.inputs:
                objects[r.inputs["key"]] = r.inputs["content"].encode()
            elif isinstance(source, dict) and "path" in source:
                objects[r.inputs["key"]] = open(source["path"], "rb").read()
            elif source is not None:
                raise ValueError(f"bucket object {r.inputs['key']}: unsupported source {sorted(source)}")
        return objects

    def dag_sync(self) -> tuple[Any, dict[str, Any]]:
        """The dags/ sync resource's provider, unpickled as `pulumi up` runs it (components/dag_sync.py's code), and its props."""
        resource = next(r for r in self.plan.of_type("pulumi-python:dynamic:Resource") if r.inputs.get("prefix") == "dags")
        provider = dill.loads(base64.b64decode(resource.inputs["__provider"]))
        return provider, {k: v for k, v in resource.inputs.items() if k != "__provider"}

    def declared_secrets(self) -> dict[str, str]:
        """Secrets Manager secrets the program declares (name -> value of its version)."""
        by_id = {r.outputs["id"]: r.inputs["name"] for r in self.plan.of_type("aws:secretsmanager/secret:Secret")}
        return {by_id[v.inputs["secretId"]]: v.inputs["secretString"]
                for v in self.plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")}


def wiring(stack: str, target: str, overrides: dict[str, Any] | None = None) -> StackWiring:
    planned = plan(stack, {**(overrides or {}), "target": target}, customize=_with_real_secrets)
    outputs = planned.outputs
    return StackWiring(plan=planned, target=target, airflow_version=outputs["airflowVersion"],
                       environment_name=outputs["environmentName"], region=planned.config.get("aws:region", "us-east-1"),
                       bucket=outputs["dagsBucket"])
