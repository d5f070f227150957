"""Plan the real program offline: run __main__.py under Pulumi's mocks and record every resource.

No Pulumi CLI, plugins or AWS credentials are needed. The program runs exactly as under `pulumi up`; only the
resource monitor is replaced by one that records each registration (type, name, parent, inputs, options) and
answers with plausible outputs (ARNs, endpoints, S3 version ids) so the rest of the program can use them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import hashlib
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pulumi
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2

ROOT = Path(__file__).resolve().parents[1]
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
ACCOUNT_ID = "123456789012"
SECRET_MARK = {rpc._special_sig_key: rpc._special_secret_sig}  # how a secret value travels on the wire


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    secret_inputs: set[str]  # top-level input names that were sent as secrets
    protect: bool
    retain_on_delete: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_paths: set[str] = field(default_factory=set)  # every input sent as a secret, at any depth ('values.a.b')


@dataclass
class Plan:
    stack: str
    config: dict[str, Any]
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> PlannedResource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_} {name or ''}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def under(self, component_type: str) -> list[PlannedResource]:
        """Resources declared (at any depth) inside a component of this type, e.g. 'airflow:platform:SharedPlatform'."""
        by_urn = self.by_urn()

        def inside(resource: PlannedResource) -> bool:
            parent = by_urn.get(resource.parent)
            while parent is not None:
                if parent.type == component_type:
                    return True
                parent = by_urn.get(parent.parent)
            return False

        return [r for r in self.resources if inside(r)]


# ---------------------------------------------------------------------------------------------- config


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None, text: str | None = None) -> dict[str, str]:
    """Pulumi.<stack>.yaml as the engine hands it to the program: 'project:key' -> string (JSON for objects).

    `text`: the stack file's content from elsewhere (e.g. `git show REF:Pulumi.<stack>.yaml`) instead of the file."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    if text is None:
        if not path.exists():
            raise FileNotFoundError(f"no stack file {path.name}; stacks here: {', '.join(available_stacks())}")
        text = path.read_text()
    raw = yaml.safe_load(text).get("config", {}) or {}
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = value
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in raw.items()}


def available_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))


# ---------------------------------------------------------------------------------------------- mocks


def _asset_identity(value: Any) -> str:
    """Assets by what they hold (path and content), like S3 would see them; never by object address."""
    path = getattr(value, "path", None)
    if path is not None:
        target = Path(path)
        content = target.read_bytes() if target.is_file() else b"".join(p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file())
        return f"{path}:{hashlib.sha256(content).hexdigest()}"
    return str(getattr(value, "text", type(value).__name__))


def _fake_version_id(name: str, inputs: Mapping[str, Any]) -> str:
    # A new object version exactly when the object's inputs change, as S3 versioning does.
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=_asset_identity).encode()).hexdigest()
    return f"v{digest[:24]}"


class AwsMocks(pulumi.runtime.Mocks):
    """Answers like AWS would, enough for the program to wire resources together."""

    def __init__(self, region: str):
        self.region = region
        self.extra_outputs: dict[str, Callable[[str, dict], dict]] = {}

    def register(self, type_: str, outputs: Callable[[str, dict], dict]) -> None:
        self.extra_outputs[type_] = outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        name, inputs = args.name, dict(args.inputs)
        resource_id = f"{name}-id"
        service = args.typ.split(":")[1].split("/")[0] if args.typ.startswith("aws:") else "mock"
        outputs = {"arn": f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{name}", "id": resource_id, **inputs}
        outputs.update(self.extra_outputs.get(args.typ, _DEFAULT_OUTPUTS.get(args.typ, lambda n, i: {}))(name, inputs))
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/planner", "userId": "AIDPLANNER"}
        if token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{self.region}a", f"{self.region}b", f"{self.region}c"],
                    "zoneIds": ["use1-az1", "use1-az2", "use1-az4"], "id": self.region}
        return {}


_DEFAULT_OUTPUTS: dict[str, Callable[[str, dict], dict]] = {
    "aws:s3/bucket:Bucket": lambda n, i: {"bucket": f"{i.get('bucketPrefix', n)}0a1b2c3d",
                                          "arn": f"arn:aws:s3:::{i.get('bucketPrefix', n)}0a1b2c3d"},
    "aws:s3/bucketObjectv2:BucketObjectv2": lambda n, i: {"versionId": _fake_version_id(n, i)},
    "aws:kms/key:Key": lambda n, i: {"keyId": f"{n}-key-id", "arn": f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{n}-key-id"},
    "aws:iam/role:Role": lambda n, i: {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{n}", "name": n},
    "aws:mwaa/environment:Environment": lambda n, i: {
        "webserverUrl": f"{i.get('name', n)}.private.c0.airflow.amazonaws.com",
        "arn": f"arn:aws:airflow:us-east-1:{ACCOUNT_ID}:environment/{i.get('name', n)}"},
    "aws:ec2/vpc:Vpc": lambda n, i: {"cidrBlock": i.get("cidrBlock")},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda n, i: {"latestVersion": 1},
    "aws:rds/instance:Instance": lambda n, i: {"address": f"{n}.c0ffee.us-east-1.rds.amazonaws.com", "port": 5432,
                                               "endpoint": f"{n}.c0ffee.us-east-1.rds.amazonaws.com:5432",
                                               "identifier": f"{i.get('identifierPrefix', n)}0a1b2c3d"},
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda n, i: {
        "primaryEndpointAddress": f"master.{n}.c0ffee.use1.cache.amazonaws.com"},
    "aws:ecr/repository:Repository": lambda n, i: {
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/{i.get('name', n)}"},
    # Generated secrets: recognisable values so tests can prove they never leak in plaintext.
    "random:index/randomPassword:RandomPassword": lambda n, i: {"result": f"generated-secret-{n}"},
    "random:index/randomBytes:RandomBytes": lambda n, i: {"base64": f"Z2VuZXJhdGVkLXNlY3JldC0{n}+/==", "hex": f"6765{n}"},
    # pulumi-eks's Cluster is a remote component: its outputs come from the mock too.
    "eks:index:Cluster": lambda n, i: {
        "kubeconfigJson": json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [{"name": n}]}),
        "kubeconfig": {"apiVersion": "v1", "kind": "Config"},
        "oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/C0FFEE",
        "oidcIssuer": "oidc.eks.us-east-1.amazonaws.com/id/C0FFEE",
        "oidcProviderUrl": "https://oidc.eks.us-east-1.amazonaws.com/id/C0FFEE",
        "clusterSecurityGroupId": "sg-eks-cluster", "nodeSecurityGroupId": "sg-eks-nodes"},
}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps every registration with its options, and marks secret outputs as secret.

    Unlike the SDK's MockMonitor it never awaits inside a registration: the SDK's version serialises the
    outputs by pumping the (already running) event loop, which nests once per in-flight registration and
    hangs or overflows the stack with a few hundred resources. Inputs are echoed in their wire form; the
    outputs a mock adds are plain JSON values.
    """

    def __init__(self, mocks: AwsMocks):
        super().__init__(mocks)
        self.planned: list[PlannedResource] = []

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        pulumi_mocks._ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        args = pulumi.runtime.MockResourceArgs(typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
                                               resource_id=request.importId, custom=request.custom or False)
        resource_id, state = self.mocks.new_resource(args)
        secret_outputs = set(request.additionalSecretOutputs)
        wire = struct_pb2.Struct()
        for key, value in state.items():
            if key in request.object.fields and key in inputs and value is inputs[key]:
                wire.fields[key].CopyFrom(request.object.fields[key])  # an input echoed back as it came
            else:
                # The engine returns these as secrets (e.g. RandomPassword.result); a bare mock wouldn't.
                plain = {**SECRET_MARK, "value": value} if key in secret_outputs else value
                wire.fields[key].CopyFrom(json_format.ParseDict({key: plain}, struct_pb2.Struct()).fields[key])
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        raw = json.loads(json_format.MessageToJson(request.object))
        self.planned.append(PlannedResource(
            urn=urn, type=request.type, name=request.name, parent=request.parent, custom=request.custom,
            inputs=_unwrap(raw), secret_inputs={key for key, value in raw.items() if _is_secret(value)},
            protect=bool(request.protect), retain_on_delete=bool(request.retainOnDelete), outputs=dict(state),
            secret_paths=set(_secret_paths(raw))))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=wire)


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def _secret_paths(value: Any, path: str = "") -> Iterable[str]:
    if _is_secret(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_paths(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _secret_paths(item, f"{path}[{index}]")


def _unwrap(value: Any) -> Any:
    if _is_secret(value):
        return _unwrap(value.get("value"))
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles; the program sent ints
    return value


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs the SDK's monitor calls on the event loop's own thread (works around pulumi/pulumi#6561).

    asyncio accepts only a ThreadPoolExecutor as default executor; this one never starts a thread.
    """

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed back to the awaiting coroutine, like a thread pool would
            future.set_exception(exc)
        return future


# ---------------------------------------------------------------------------------------------- plan


def plan(stack: str = "dev", overrides: Mapping[str, Any] | None = None,
         customize: Callable[[AwsMocks], None] | None = None, config_text: str | None = None) -> Plan:
    """Run the program for `stack` (with config overrides) under mocks and return what it declares.
    `config_text`: plan this stack-file content instead of Pulumi.<stack>.yaml (see stack_config)."""
    config = stack_config(stack, overrides, config_text)
    region = config.get("aws:region", "us-east-1")
    # A fresh context and event loop per plan: Pulumi keeps its root stack and config in context variables.
    return contextvars.Context().run(_plan_in_context, stack, config, region, customize)


def _plan_in_context(stack: str, config: dict[str, str], region: str, customize) -> Plan:
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_InlineExecutor())
    asyncio.set_event_loop(loop)
    try:
        mocks = AwsMocks(region)
        if customize:
            customize(mocks)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
        pulumi.runtime.set_all_config(config, [])
        captured: dict[str, Any] = {}

        @pulumi.runtime.test
        def run_program():
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
            stack_resource = pulumi.runtime.get_root_resource()
            outputs = dict(stack_resource.outputs)
            secrets = {name: pulumi.Output.from_input(value).is_secret() for name, value in outputs.items()}
            return pulumi.Output.all(pulumi.Output.all(**outputs), pulumi.Output.all(**secrets)).apply(
                lambda both: captured.update(values=both[0], secret=both[1]))

        run_program()
        return Plan(stack=stack, config=config, resources=monitor.planned, outputs=captured.get("values", {}),
                    secret_outputs={k for k, v in captured.get("secret", {}).items() if v})
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def resource_counts(resources: Iterable[PlannedResource]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in resources:
        counts[r.type] = counts.get(r.type, 0) + 1
    return dict(sorted(counts.items()))
