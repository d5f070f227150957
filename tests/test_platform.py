"""The shared platform both targets run on: network, KMS key, Airflow bucket and its objects."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
from pathlib import Path

import pytest

from components.settings import AIRFLOW_VERSIONS

ROOT = Path(__file__).resolve().parents[1]
SHARED = "airflow:platform:SharedPlatform"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT = "aws:ec2/natGateway:NatGateway"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"


def by_id(plan, type_):
    return {r.outputs["id"]: r for r in plan.of_type(type_)}


def default_route(route_table):
    routes = [r for r in route_table.inputs.get("routes", []) if r.get("cidrBlock") == "0.0.0.0/0"]
    assert len(routes) == 1, route_table.inputs
    return routes[0]


def subnets_by_role(plan):
    """Subnets split by what their route table does with 0.0.0.0/0: via the IGW (public) or a NAT (private)."""
    tables = by_id(plan, ROUTE_TABLE)
    igw_ids = set(by_id(plan, "aws:ec2/internetGateway:InternetGateway"))
    nat_ids = set(by_id(plan, NAT))
    public, private = [], []
    for subnet in plan.of_type(SUBNET):
        associations = [a for a in plan.of_type(ASSOCIATION) if a.inputs["subnetId"] == subnet.outputs["id"]]
        assert len(associations) == 1, f"{subnet.name} has {len(associations)} route table associations"
        table = tables[associations[0].inputs["routeTableId"]]
        route = default_route(table)
        if route.get("gatewayId") in igw_ids:
            public.append((subnet, table))
        elif route.get("natGatewayId") in nat_ids:
            private.append((subnet, table))
        else:
            raise AssertionError(f"{subnet.name}: default route goes nowhere known: {route}")
    return public, private


# ------------------------------------------------------------------------------------------------ network


def test_vpc_uses_the_configured_cidr_and_dns(dev_plan, prod_plan):
    for plan, cidr in ((dev_plan, "10.20.0.0/16"), (prod_plan, "10.30.0.0/16")):
        vpc = plan.one("aws:ec2/vpc:Vpc")
        assert vpc.inputs["cidrBlock"] == cidr
        assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True


def test_two_private_and_two_public_subnets_each_pair_in_distinct_azs(dev_plan):
    public, private = subnets_by_role(dev_plan)
    assert len(public) == 2 and len(private) == 2
    assert len(dev_plan.of_type(SUBNET)) == 4
    public_azs = {s.inputs["availabilityZone"] for s, _ in public}
    private_azs = {s.inputs["availabilityZone"] for s, _ in private}
    assert len(public_azs) == 2 and len(private_azs) == 2
    assert public_azs == private_azs  # every AZ with Airflow in it also has a way out
    vpc_id = dev_plan.one("aws:ec2/vpc:Vpc").outputs["id"]
    assert all(s.inputs["vpcId"] == vpc_id for s in dev_plan.of_type(SUBNET))
    assert all(s.inputs.get("mapPublicIpOnLaunch") is not True for s, _ in public)


@pytest.mark.parametrize("vpc_cidr", ["10.20.0.0/16", "172.16.0.0/20", "192.168.4.0/22"])
def test_subnet_cidrs_lie_inside_the_vpc_without_overlap(planned, vpc_cidr):
    plan = planned("dev", network={"vpcCidr": vpc_cidr, "natGateways": "single"})
    vpc = ipaddress.IPv4Network(vpc_cidr)
    nets = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in plan.of_type(SUBNET)]
    assert len(nets) == 4
    assert all(net.subnet_of(vpc) for net in nets)
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            assert not a.overlaps(b), (a, b)
    # Private subnets hold the Airflow workers (EKS pods take VPC addresses): at least as large as public ones.
    public, private = subnets_by_role(plan)
    assert min(ipaddress.IPv4Network(s.inputs["cidrBlock"]).num_addresses for s, _ in private) >= \
        max(ipaddress.IPv4Network(s.inputs["cidrBlock"]).num_addresses for s, _ in public)


def test_internet_gateway_on_the_vpc_serves_the_public_subnets(dev_plan):
    igw = dev_plan.one("aws:ec2/internetGateway:InternetGateway")
    assert igw.inputs["vpcId"] == dev_plan.one("aws:ec2/vpc:Vpc").outputs["id"]
    public, _ = subnets_by_role(dev_plan)
    assert all(default_route(table)["gatewayId"] == igw.outputs["id"] for _, table in public)


def test_single_nat_gateway_serves_both_private_subnets(dev_plan):
    nats = dev_plan.of_type(NAT)
    assert len(nats) == 1
    assert len(dev_plan.of_type("aws:ec2/eip:Eip")) == 1
    public, private = subnets_by_role(dev_plan)
    assert nats[0].inputs["subnetId"] in {s.outputs["id"] for s, _ in public}
    assert {default_route(table)["natGatewayId"] for _, table in private} == {nats[0].outputs["id"]}


def test_nat_gateway_per_az_keeps_each_private_subnet_in_its_own_az(planned):
    plan = planned("dev", network={"vpcCidr": "10.20.0.0/16", "natGateways": "perAz"})
    nats = by_id(plan, NAT)
    eips = by_id(plan, "aws:ec2/eip:Eip")
    assert len(nats) == 2 and len(eips) == 2
    assert {n.inputs["allocationId"] for n in nats.values()} == set(eips)
    assert all(e.inputs["domain"] == "vpc" for e in eips.values())
    public, private = subnets_by_role(plan)
    public_az = {s.outputs["id"]: s.inputs["availabilityZone"] for s, _ in public}
    assert {n.inputs["subnetId"] for n in nats.values()} == set(public_az)
    used = set()
    for subnet, table in private:
        nat = nats[default_route(table)["natGatewayId"]]
        assert public_az[nat.inputs["subnetId"]] == subnet.inputs["availabilityZone"], subnet.name
        used.add(nat.outputs["id"])
    assert used == set(nats)


def test_private_route_tables_default_to_nat_and_get_the_s3_gateway_endpoint(dev_plan):
    _, private = subnets_by_role(dev_plan)
    endpoint = dev_plan.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint.inputs["vpcId"] == dev_plan.one("aws:ec2/vpc:Vpc").outputs["id"]
    private_tables = {table.outputs["id"] for _, table in private}
    assert len(private_tables) == 2
    assert sorted(endpoint.inputs["routeTableIds"]) == sorted(private_tables)


def test_s3_endpoint_follows_the_region(planned):
    plan = planned("dev", **{"aws:region": "eu-west-1"})
    assert plan.one("aws:ec2/vpcEndpoint:VpcEndpoint").inputs["serviceName"] == "com.amazonaws.eu-west-1.s3"
    assert {s.inputs["availabilityZone"] for s in plan.of_type(SUBNET)} == {"eu-west-1a", "eu-west-1b"}


def test_default_security_group_is_emptied(dev_plan):
    default_sg = dev_plan.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.inputs["vpcId"] == dev_plan.one("aws:ec2/vpc:Vpc").outputs["id"]
    assert not default_sg.inputs.get("ingress") and not default_sg.inputs.get("egress")


# ------------------------------------------------------------------------------------------------ KMS key


def test_kms_key_rotates_and_only_the_account_cloudwatch_logs_and_alarms_may_use_it(dev_plan):
    key = dev_plan.one(KEY)
    assert key.inputs["enableKeyRotation"] is True
    policy = json.loads(key.inputs["policy"])
    principals = [s["Principal"] for s in policy["Statement"]]
    assert {"AWS": "arn:aws:iam::123456789012:root"} in principals
    assert all(p in ({"AWS": "arn:aws:iam::123456789012:root"}, {"Service": "logs.us-east-1.amazonaws.com"},
                     {"Service": "cloudwatch.amazonaws.com"}) for p in principals), principals  # tests/test_alarms.py
    logs = [s for s in policy["Statement"] if s["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}]
    assert all("kms:EncryptionContext:aws:logs:arn" in s["Condition"]["ArnLike"] for s in logs)
    # Only this environment's log groups, by name: MWAA's five and the EKS control plane's.
    [arns] = [s["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] for s in logs]
    group = "arn:aws:logs:us-east-1:123456789012:log-group:"
    assert sorted(arns) == sorted([*(f"{group}airflow-airflow-dev-{kind}" for kind in
                                     ("DAGProcessing", "Scheduler", "Task", "WebServer", "Worker")),
                                   f"{group}/aws/eks/airflow-dev/cluster"])


# ------------------------------------------------------------------------------------------------- bucket


def test_bucket_is_versioned_private_tls_only_owner_enforced_and_kms_encrypted(dev_plan):
    bucket = dev_plan.one(BUCKET)
    bucket_id, bucket_arn = bucket.outputs["id"], bucket.outputs["arn"]
    key_arn = dev_plan.one(KEY).outputs["arn"]
    assert bucket.inputs["bucketPrefix"].startswith("airflow-")  # MWAA only reads buckets named airflow-*
    assert bucket.inputs.get("forceDestroy") is not True

    versioning = dev_plan.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["bucket"] == bucket_id
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"

    block = dev_plan.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.inputs["bucket"] == bucket_id
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True, flag

    [rule] = dev_plan.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                          ).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}

    ownership = dev_plan.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["bucket"] == bucket_id
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"

    policy_resource = dev_plan.one("aws:s3/bucketPolicy:BucketPolicy")
    assert policy_resource.inputs["bucket"] == bucket_id
    statements = json.loads(policy_resource.inputs["policy"])["Statement"]
    deny_tls = [s for s in statements
                if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
    assert len(deny_tls) == 1
    assert deny_tls[0]["Principal"] == "*" and deny_tls[0]["Action"] == "s3:*"
    assert sorted(deny_tls[0]["Resource"]) == sorted([bucket_arn, f"{bucket_arn}/*"])
    assert not [s for s in statements if s["Effect"] == "Allow"]  # the policy only takes away


def _repo_dag_files() -> set[str]:
    found = set()
    for folder, dirs, files in os.walk(ROOT / "dags"):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith(".pyc"):
                found.add((Path(folder) / name).relative_to(ROOT / "dags").as_posix())
    return found


def test_every_file_in_dags_is_synced_once_under_the_dags_prefix(dev_plan):
    expected = _repo_dag_files()
    assert expected, "the repository ships example DAGs"
    # One sync resource for the whole folder (plan time must not grow with the DAG count), no per-file objects.
    assert not [o for o in dev_plan.of_type(OBJECT) if o.inputs["key"].startswith("dags/")]
    sync = dev_plan.one("pulumi-python:dynamic:Resource", "platform-bucket-dags").inputs
    assert sync["prefix"] == "dags" and sync["bucket"] == dev_plan.one("aws:s3/bucket:Bucket").outputs["bucket"]
    assert set(sync["manifest"]) == expected
    for relative, digest in sync["manifest"].items():
        # A changed DAG must change the manifest, or the upload would be skipped.
        assert digest == hashlib.md5((ROOT / "dags" / relative).read_bytes()).hexdigest()


def _requirements_object(plan):
    [obj] = [o for o in plan.of_type(OBJECT) if o.inputs["key"] == "requirements.txt"]
    return obj


def _expected_constraint_line(version: str) -> str:
    # airflow/constraints/SOURCE.md: Python 3.11 constraints for 2.9.2-2.10.3, Python 3.12 from 2.11.0 on.
    python = "3.11" if tuple(map(int, version.split("."))) < (2, 11) else "3.12"
    return f'--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-{version}/constraints-{python}.txt"'


@pytest.mark.parametrize("version", [None, "2.10.3", "2.11.2"])
def test_requirements_object_starts_with_the_constraint_of_the_configured_version(planned, version):
    plan = planned("dev") if version is None else planned("dev", airflowVersion=version)
    version = version or "3.3.1"
    content = _requirements_object(plan).inputs["content"]
    lines = content.splitlines()
    assert lines[0] == _expected_constraint_line(version)
    assert [line for line in lines if line.startswith(("--constraint", "-c "))] == [lines[0]]
    assert "apache-airflow-providers-amazon" in lines
    # The URL is the one the shipped constraints file says it was copied from.
    url = lines[0].split('"')[1]
    header = (ROOT / "airflow" / "constraints" / f"constraints-{version}.txt").read_text().splitlines()[:5]
    assert any(url in line for line in header)


@pytest.mark.parametrize("version", AIRFLOW_VERSIONS)
def test_rendered_requirements_for_every_supported_version(version):
    from components.airflow_config import render_requirements

    lines = render_requirements(version).splitlines()
    assert lines[0] == _expected_constraint_line(version)
    assert sum("constraints-" in line for line in lines) == 1  # the file's own 3.3.1 line was replaced


def test_startup_script_is_uploaded(dev_plan):
    [obj] = [o for o in dev_plan.of_type(OBJECT) if o.inputs["key"] == "startup.sh"]
    script = ROOT / "airflow" / "startup.sh"
    assert Path(obj.inputs["source"]["path"]).resolve() == script.resolve()
    assert obj.inputs["sourceHash"] == hashlib.md5(script.read_bytes()).hexdigest()


def test_every_object_is_in_the_airflow_bucket_and_encrypted_with_the_platform_key(dev_plan):
    bucket_id = dev_plan.one(BUCKET).outputs["id"]
    key_arn = dev_plan.one(KEY).outputs["arn"]
    objects = dev_plan.of_type(OBJECT)
    assert sorted(o.inputs["key"] for o in objects) == ["requirements.txt", "startup.sh"]  # DAGs: one sync resource
    for obj in objects:
        assert obj.inputs["bucket"] == bucket_id, obj.name
        assert obj.inputs["serverSideEncryption"] == "aws:kms", obj.name
        assert obj.inputs["kmsKeyId"] == key_arn, obj.name


def test_data_bucket_variable_is_a_kms_encrypted_secret_under_the_environment_prefix(dev_plan):
    secret = dev_plan.one("aws:secretsmanager/secret:Secret")
    assert secret.inputs["name"] == "airflow/airflow-dev/variables/data_bucket"
    assert secret.inputs["kmsKeyId"] == dev_plan.one(KEY).outputs["arn"]
    version = dev_plan.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretId"] == secret.outputs["id"]
    assert version.inputs["secretString"] == dev_plan.one(BUCKET).outputs["bucket"]


# ------------------------------------------------------------------------------------ protection (prod/dev)


def test_prod_protects_and_retains_bucket_and_key(prod_plan):
    for type_ in (BUCKET, KEY):
        resource = prod_plan.one(type_)
        assert resource.protect is True, f"{type_} not protected in prod"
        assert resource.retain_on_delete is True, f"{type_} not retained on delete in prod"


def test_dev_neither_protects_nor_retains_bucket_and_key(dev_plan):
    for type_ in (BUCKET, KEY):
        resource = dev_plan.one(type_)
        assert resource.protect is False and resource.retain_on_delete is False, type_


# ------------------------------------------------------------------------------------- stability of state


def shared_platform(plan) -> dict[str, dict]:
    resources = plan.under(SHARED)
    types = {r.type for r in resources}
    # The whole platform: network, key, bucket and its objects, secret.
    assert {"aws:ec2/vpc:Vpc", SUBNET, NAT, KEY, BUCKET, OBJECT, "aws:secretsmanager/secret:Secret"} <= types
    assert not any(t.startswith("aws:mwaa") for t in types)
    return {r.urn: r.inputs for r in resources}


def assert_same_shared_platform(before, after):
    a, b = shared_platform(before), shared_platform(after)
    assert sorted(a) == sorted(b), {"only before": sorted(set(a) - set(b)), "only after": sorted(set(b) - set(a))}
    changed = sorted(urn for urn in a if a[urn] != b[urn])
    assert not changed, changed


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_switching_target_to_eks_leaves_every_shared_resource_as_it_was(planned, stack):
    assert_same_shared_platform(planned(stack), planned(stack, target="eks"))


def test_non_structural_mwaa_settings_leave_the_platform_alone(planned, prod_plan, stack_value):
    mwaa = stack_value("prod", "mwaa")
    mwaa.update(maxWorkers=12, logLevel="DEBUG", weeklyMaintenanceWindowStart="WED:22:30")
    changed = planned("prod", mwaa=mwaa)
    assert changed.one(BUCKET).inputs == prod_plan.one(BUCKET).inputs
    assert_same_shared_platform(prod_plan, changed)
    # ... while the environment does see the change (so the comparison above is not vacuous).
    env = changed.one("aws:mwaa/environment:Environment").inputs
    assert env["maxWorkers"] == 12 and env["weeklyMaintenanceWindowStart"] == "WED:22:30"


def test_airflow_upgrade_rewrites_requirements_but_keeps_the_bucket(planned, dev_plan):
    upgraded = planned("dev", airflowVersion="3.2.1")
    assert upgraded.one(BUCKET).urn == dev_plan.one(BUCKET).urn
    assert upgraded.one(BUCKET).inputs == dev_plan.one(BUCKET).inputs
    before, after = _requirements_object(dev_plan), _requirements_object(upgraded)
    assert before.urn == after.urn  # updated in place: a new object version, not a new resource
    assert before.inputs["content"] != after.inputs["content"]
    assert "constraints-3.2.1/" in after.inputs["content"]
    dags = lambda plan: plan.one("pulumi-python:dynamic:Resource", "platform-bucket-dags")
    assert dags(upgraded).urn == dags(dev_plan).urn and dags(upgraded).inputs == dags(dev_plan).inputs
    env_before = dev_plan.one("aws:mwaa/environment:Environment").inputs
    env_after = upgraded.one("aws:mwaa/environment:Environment").inputs
    assert env_after["airflowVersion"] == "3.2.1"
    assert env_after["requirementsS3ObjectVersion"] == after.outputs["versionId"] != env_before["requirementsS3ObjectVersion"]
