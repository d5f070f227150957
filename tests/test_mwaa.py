"""Amazon MWAA on the shared platform: network isolation, least-privilege role, environment wiring, outputs."""

from __future__ import annotations

import fnmatch
import json

import pytest

ENV = "aws:mwaa/environment:Environment"
ROLE = "aws:iam/role:Role"
SG = "aws:ec2/securityGroup:SecurityGroup"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
LOG_TYPES = ("dagProcessingLogs", "schedulerLogs", "taskLogs", "webserverLogs", "workerLogs")
# The only actions allowed on Resource "*": read-only or account-level calls that have no resource ARN.
WILDCARD_RESOURCE_ACTIONS = {"logs:DescribeLogGroups", "cloudwatch:PutMetricData", "s3:GetAccountPublicAccessBlock"}


def as_list(value):
    return value if isinstance(value, list) else [value]


def mwaa_role(plan):
    [role] = [r for r in plan.of_type(ROLE) if r.parent.endswith("::mwaa")]
    return role


def execution_policy(plan) -> list[dict]:
    role = mwaa_role(plan)
    [attached] = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.outputs["id"]]
    document = json.loads(attached.inputs["policy"])
    assert document["Version"] == "2012-10-17"
    return document["Statement"]


def statements_with(statements, prefix: str) -> list[dict]:
    return [s for s in statements if any(a.startswith(prefix) for a in as_list(s["Action"]))]


def private_subnet_ids(plan) -> set[str]:
    """Subnets whose route table sends 0.0.0.0/0 to a NAT gateway."""
    nat_ids = {n.outputs["id"] for n in plan.of_type("aws:ec2/natGateway:NatGateway")}
    tables = {t.outputs["id"] for t in plan.of_type("aws:ec2/routeTable:RouteTable")
              if any(r.get("natGatewayId") in nat_ids for r in t.inputs["routes"])}
    return {a.inputs["subnetId"] for a in plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
            if a.inputs["routeTableId"] in tables}


def object_with_key(plan, key):
    [obj] = [o for o in plan.of_type(OBJECT) if o.inputs["key"] == key]
    return obj


# --------------------------------------------------------------------------------------- security group


def test_security_group_admits_only_its_own_members(dev_plan):
    [sg] = [s for s in dev_plan.of_type(SG) if s.parent.endswith("::mwaa")]
    assert sg.inputs["vpcId"] == dev_plan.one("aws:ec2/vpc:Vpc").outputs["id"]
    ingress = sg.inputs["ingress"]
    assert ingress
    for rule in ingress:
        assert rule["self"] is True
        for source in ("cidrBlocks", "ipv6CidrBlocks", "securityGroups", "prefixListIds"):
            assert not rule.get(source), (source, rule)
    # No separate ingress rule resources open it up behind the group's back.
    assert not dev_plan.of_type("aws:ec2/securityGroupRule:SecurityGroupRule")
    assert not dev_plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    env = dev_plan.one(ENV)
    assert env.inputs["networkConfiguration"]["securityGroupIds"] == [sg.outputs["id"]]


# ---------------------------------------------------------------------------------------- execution role


def test_execution_role_is_trusted_by_exactly_the_two_mwaa_services(dev_plan):
    trust = json.loads(mwaa_role(dev_plan).inputs["assumeRolePolicy"])
    [statement] = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert set(statement["Principal"]) == {"Service"}
    assert sorted(as_list(statement["Principal"]["Service"])) == ["airflow-env.amazonaws.com", "airflow.amazonaws.com"]



def test_execution_role_trust_is_limited_to_this_accounts_environment(dev_plan):
    # Confused-deputy guard: MWAA may assume the role only on behalf of this environment in this account.
    [statement] = json.loads(mwaa_role(dev_plan).inputs["assumeRolePolicy"])["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": dev_plan.one(ENV).outputs["arn"]},
    }
    assert dev_plan.one(ENV).outputs["arn"] == "arn:aws:airflow:us-east-1:123456789012:environment/airflow-dev"


def test_environment_runs_as_the_execution_role(dev_plan):
    assert dev_plan.one(ENV).inputs["executionRoleArn"] == mwaa_role(dev_plan).outputs["arn"]


def test_policy_has_no_action_wildcard_and_resource_wildcard_only_for_read_only_calls(dev_plan):
    statements = execution_policy(dev_plan)
    for s in statements:
        assert "NotAction" not in s and "NotResource" not in s and "Principal" not in s, s
        for action in as_list(s["Action"]):
            assert action != "*" and not action.endswith(":*"), s
    on_everything = [s for s in statements if "*" in as_list(s["Resource"])]
    assert all(s["Effect"] == "Allow" for s in on_everything)
    assert {a for s in on_everything for a in as_list(s["Action"])} == WILDCARD_RESOURCE_ACTIONS
    assert all(set(as_list(s["Resource"])) == {"*"} for s in on_everything)


def test_publish_metrics_is_limited_to_this_environment(dev_plan):
    [statement] = statements_with(execution_policy(dev_plan), "airflow:")
    assert as_list(statement["Action"]) == ["airflow:PublishMetrics"]
    assert as_list(statement["Resource"]) == [dev_plan.one(ENV).outputs["arn"]]


def test_s3_access_is_limited_to_what_mwaa_reads_and_the_data_prefix(dev_plan):
    bucket_arn = dev_plan.one("aws:s3/bucket:Bucket").outputs["arn"]
    s3_statements = statements_with(execution_policy(dev_plan), "s3:")
    allowed = [s for s in s3_statements if s["Effect"] == "Allow" and s["Resource"] != "*"]
    assert allowed
    for statement in allowed:
        for resource in as_list(statement["Resource"]):
            assert resource == bucket_arn or resource.startswith(f"{bucket_arn}/"), statement
    # Objects: dags/, the requirements and the startup script MWAA is given, and data/ (DAGs' own files). Not logs/.
    readable = {r for s in allowed if any(a.startswith("s3:GetObject") for a in as_list(s["Action"]))
                for r in as_list(s["Resource"])}
    assert readable == {f"{bucket_arn}/dags/*", f"{bucket_arn}/requirements.txt", f"{bucket_arn}/startup.sh",
                        f"{bucket_arn}/data/*"}
    assert not any(fnmatch.fnmatchcase(f"{bucket_arn}/logs/x", r) for r in readable)
    actions = {a for s in allowed for a in as_list(s["Action"])}
    assert not {"s3:GetObject*", "s3:List*"} & actions
    # Listing only under the prefixes it reads or writes.
    for statement in (s for s in allowed if any(a.startswith("s3:List") for a in as_list(s["Action"]))):
        prefixes = statement["Condition"]["StringLike"]["s3:prefix"]
        assert not any(p.startswith("logs") for p in prefixes) and "dags/*" in prefixes + ["dags/*"], statement


def test_cloudwatch_metrics_only_in_mwaas_namespace(dev_plan):
    [statement] = statements_with(execution_policy(dev_plan), "cloudwatch:")
    assert statement["Action"] == "cloudwatch:PutMetricData"
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "AmazonMWAA"}}


def log_resources(env_name: str) -> set[str]:
    groups = [f"arn:aws:logs:us-east-1:123456789012:log-group:airflow-{env_name}-{suffix}"
              for suffix in ("DAGProcessing", "Scheduler", "Task", "WebServer", "Worker")]
    return {*groups, *(f"{group}:*" for group in groups)}


def test_logs_are_limited_to_this_environments_log_groups(dev_plan):
    writes = [s for s in statements_with(execution_policy(dev_plan), "logs:")
              if as_list(s["Action"]) != ["logs:DescribeLogGroups"]]
    assert writes
    assert "logs:PutLogEvents" in [a for s in writes for a in as_list(s["Action"])]
    assert all(set(as_list(s["Resource"])) == log_resources("airflow-dev") for s in writes)
    # MWAA names its log groups airflow-<environment name>-<Type>: each of them and its streams is covered, and no
    # group of an environment named airflow-dev-2 (whose groups start with airflow-airflow-dev-) is.
    resources = [r for s in writes for r in as_list(s["Resource"])]
    mine = "arn:aws:logs:us-east-1:123456789012:log-group:airflow-airflow-dev-Task"
    assert any(fnmatch.fnmatchcase(mine, r) for r in resources)
    assert any(fnmatch.fnmatchcase(f"{mine}:log-stream:dag_id=x/run_id=y", r) for r in resources)
    for neighbour in ("airflow-airflow-dev-2-Task", "airflow-airflow-dev-2-Worker", "airflow-airflow-prod-Task"):
        arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{neighbour}"
        assert not any(fnmatch.fnmatchcase(arn, r) or fnmatch.fnmatchcase(f"{arn}:log-stream:s", r) for r in resources), neighbour


def test_sqs_is_limited_to_mwaa_celery_queues(dev_plan):
    [statement] = statements_with(execution_policy(dev_plan), "sqs:")
    assert as_list(statement["Resource"]) == ["arn:aws:sqs:us-east-1:*:airflow-celery-*"]
    assert {"sqs:ReceiveMessage", "sqs:SendMessage", "sqs:DeleteMessage"} <= set(as_list(statement["Action"]))


def test_kms_use_is_limited_to_the_platform_key_through_aws_services(dev_plan):
    key_arn = dev_plan.one("aws:kms/key:Key").outputs["arn"]
    [statement] = statements_with(execution_policy(dev_plan), "kms:")
    assert as_list(statement["Resource"]) == [key_arn]
    via = as_list(statement["Condition"]["StringLike"]["kms:ViaService"])
    assert {"sqs.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"} <= set(via)
    assert all(v.endswith(".us-east-1.amazonaws.com") for v in via)
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(statement["Action"]))


def test_secrets_access_is_limited_to_this_environments_prefixes(dev_plan):
    [statement] = statements_with(execution_policy(dev_plan), "secretsmanager:")
    assert set(as_list(statement["Action"])) <= {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
    assert sorted(as_list(statement["Resource"])) == [f"{arn}airflow/airflow-dev/connections/*",
                                                        f"{arn}airflow/airflow-dev/variables/*"]
    # The platform's data_bucket variable is one the role may read.
    secret_name = dev_plan.one("aws:secretsmanager/secret:Secret").inputs["name"]
    assert any(fnmatch.fnmatchcase(f"{arn}{secret_name}-AbCdEf", r) for r in as_list(statement["Resource"]))


def test_every_allowed_action_belongs_to_a_service_mwaa_needs(dev_plan):
    services = {a.split(":")[0] for s in execution_policy(dev_plan) if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert services <= {"airflow", "s3", "logs", "cloudwatch", "sqs", "kms", "secretsmanager"}


# ------------------------------------------------------------------------------------------ environment


def _expect_environment_matches(plan, mwaa_config: dict, log_level: str):
    env = plan.one(ENV).inputs
    for key in ("environmentClass", "minWorkers", "maxWorkers", "schedulers", "minWebservers", "maxWebservers",
                "webserverAccessMode", "weeklyMaintenanceWindowStart"):
        assert env[key] == mwaa_config[key], key
    logging = env["loggingConfiguration"]
    assert sorted(logging) == sorted(LOG_TYPES)
    assert all(logging[t] == {"enabled": True, "logLevel": log_level} for t in LOG_TYPES), logging


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_environment_carries_the_stack_files_settings(planned, stack_value, stack):
    mwaa = stack_value(stack, "mwaa")
    plan = planned(stack)
    _expect_environment_matches(plan, mwaa, mwaa["logLevel"])
    env = plan.one(ENV).inputs
    assert env["name"] == stack_value(stack, "environmentName")
    assert env["airflowVersion"] == stack_value(stack, "airflowVersion")


DISTINCT = {  # every number different, so a setting wired to the wrong input shows up
    "environmentClass": "mw1.large", "minWorkers": 3, "maxWorkers": 17, "schedulers": 4, "minWebservers": 2,
    "maxWebservers": 5, "webserverAccessMode": "PUBLIC_ONLY", "weeklyMaintenanceWindowStart": "WED:22:30",
    "logLevel": "DEBUG",
    "airflowConfigurationOptions": {"core.default_task_retries": 3, "webserver.expose_config": False,
                                    "celery.worker_autoscale": "5,5"},
}


@pytest.fixture(scope="module")
def custom_plan(planned):
    return planned("dev", environmentName="airflow-blue", airflowVersion="3.2.1", mwaa=DISTINCT)


def test_every_mwaa_setting_reaches_its_own_environment_input(custom_plan):
    _expect_environment_matches(custom_plan, DISTINCT, "DEBUG")
    env = custom_plan.one(ENV).inputs
    assert env["name"] == "airflow-blue"
    assert env["airflowVersion"] == "3.2.1"


def test_configuration_options_are_text_and_merged_with_the_portable_secrets_backend(custom_plan):
    options = custom_plan.one(ENV).inputs["airflowConfigurationOptions"]
    assert options["core.default_task_retries"] == "3"
    assert options["webserver.expose_config"] == "false"
    assert options["celery.worker_autoscale"] == "5,5"
    assert options["secrets.backend"] == "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    assert json.loads(options["secrets.backend_kwargs"]) == {
        "connections_prefix": "airflow/airflow-blue/connections", "variables_prefix": "airflow/airflow-blue/variables"}
    assert set(options) == {"core.default_task_retries", "webserver.expose_config", "celery.worker_autoscale",
                            "secrets.backend", "secrets.backend_kwargs"}
    assert all(isinstance(v, str) for v in options.values())


def test_dev_options_keep_the_stack_file_option_next_to_the_secrets_backend(dev_plan):
    options = dev_plan.one(ENV).inputs["airflowConfigurationOptions"]
    assert options["core.default_task_retries"] == "2"
    kwargs = json.loads(options["secrets.backend_kwargs"])
    # The platform writes the data_bucket variable exactly where the backend will look for variables.
    assert dev_plan.one("aws:secretsmanager/secret:Secret").inputs["name"] == f"{kwargs['variables_prefix']}/data_bucket"


def test_policy_follows_the_environment_name(custom_plan):
    statements = execution_policy(custom_plan)
    [metrics] = statements_with(statements, "airflow:")
    assert as_list(metrics["Resource"]) == ["arn:aws:airflow:us-east-1:123456789012:environment/airflow-blue"]
    logs = {r for s in statements_with(statements, "logs:") for r in as_list(s["Resource"])} - {"*"}
    assert logs == log_resources("airflow-blue")
    [trust] = json.loads(mwaa_role(custom_plan).inputs["assumeRolePolicy"])["Statement"]
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:airflow:us-east-1:123456789012:environment/airflow-blue"}


def test_webserver_access_defaults_to_private_only(planned, stack_value):
    mwaa = stack_value("dev", "mwaa")
    del mwaa["webserverAccessMode"]
    assert planned("dev", mwaa=mwaa).one(ENV).inputs["webserverAccessMode"] == "PRIVATE_ONLY"


def test_environment_uses_the_uploaded_artifacts_by_version(dev_plan):
    env = dev_plan.one(ENV).inputs
    bucket = dev_plan.one("aws:s3/bucket:Bucket")
    requirements = object_with_key(dev_plan, env["requirementsS3Path"])
    startup = object_with_key(dev_plan, env["startupScriptS3Path"])
    assert requirements.inputs["key"] == "requirements.txt" and startup.inputs["key"] == "startup.sh"
    assert env["requirementsS3ObjectVersion"] == requirements.outputs["versionId"]
    assert env["startupScriptS3ObjectVersion"] == startup.outputs["versionId"]
    assert env["sourceBucketArn"] == bucket.outputs["arn"]
    dags = dev_plan.one("pulumi-python:dynamic:Resource", "platform-bucket-dags").inputs
    assert dags["prefix"] == env["dagS3Path"] and dags["bucket"] == bucket.outputs["bucket"] and dags["manifest"]
    assert env["kmsKey"] == dev_plan.one("aws:kms/key:Key").outputs["arn"]


def test_environment_runs_in_the_two_private_subnets(dev_plan):
    subnets = dev_plan.one(ENV).inputs["networkConfiguration"]["subnetIds"]
    assert len(subnets) == 2
    assert set(subnets) == private_subnet_ids(dev_plan)
    zones = {s.inputs["availabilityZone"] for s in dev_plan.of_type("aws:ec2/subnet:Subnet") if s.outputs["id"] in subnets}
    assert len(zones) == 2


# ---------------------------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_outputs_point_at_the_planned_resources(planned, stack):
    plan = planned(stack)
    env, role = plan.one(ENV), mwaa_role(plan)
    outputs = plan.outputs
    assert outputs["target"] == "mwaa"
    assert outputs["airflowVersion"] == env.inputs["airflowVersion"] == "3.3.1"
    assert outputs["airflowUiUrl"] == f"https://{env.outputs['webserverUrl']}"
    assert outputs["dagsBucket"] == plan.one("aws:s3/bucket:Bucket").outputs["bucket"]
    assert outputs["mwaaEnvironmentArn"] == env.outputs["arn"]
    assert outputs["mwaaExecutionRoleArn"] == role.outputs["arn"]
    assert outputs["environmentName"] == env.inputs["name"]


# ------------------------------------------------------------------------------------- moving to EKS


def test_target_eks_without_keep_mwaa_declares_no_mwaa(planned):
    plan = planned("dev", target="eks")
    assert not [r for r in plan.resources if r.type.startswith("aws:mwaa") or r.type.startswith("airflow:mwaa")]
    assert "mwaaEnvironmentArn" not in plan.outputs
    assert plan.outputs["target"] == "eks"


def test_keep_mwaa_keeps_the_mwaa_environment_exactly_as_it_was(planned, dev_plan):
    both = planned("dev", target="eks", keepMwaa=True)
    before = {r.urn: r.inputs for r in dev_plan.under("airflow:mwaa:MwaaAirflow")}
    after = {r.urn: r.inputs for r in both.under("airflow:mwaa:MwaaAirflow")}
    assert {urn.split("::")[2].split("$")[-1] for urn in before} >= {ENV, ROLE, SG, "aws:iam/rolePolicy:RolePolicy"}
    assert sorted(after) == sorted(before)
    assert [urn for urn in before if before[urn] != after[urn]] == []
    assert both.outputs["mwaaEnvironmentArn"] == dev_plan.outputs["mwaaEnvironmentArn"]


def test_plugins_are_zipped_uploaded_and_pinned_only_when_present(dev_plan, tmp_path, monkeypatch):
    from components import airflow_config as af
    from tools.planner import plan

    env = dev_plan.one(ENV).inputs
    assert "pluginsS3Path" not in env and "pluginsS3ObjectVersion" not in env  # the repo ships no plugins
    (tmp_path / "operators").mkdir()
    (tmp_path / "operators" / "greeting.py").write_text("GREETING = 'hello'\n")
    monkeypatch.setattr(af, "PLUGINS_DIR", tmp_path)
    with_plugins = plan("dev")
    plugins = object_with_key(with_plugins, "plugins.zip")
    assert plugins.inputs["source"]["path"] == str(tmp_path)  # a FileArchive of the folder: uploaded as a zip
    assert plugins.inputs["serverSideEncryption"] == "aws:kms"
    env = with_plugins.one(ENV).inputs
    assert env["pluginsS3Path"] == "plugins.zip"
    assert env["pluginsS3ObjectVersion"] == plugins.outputs["versionId"]
