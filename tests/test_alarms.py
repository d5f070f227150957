"""The alarm table (components/alarms): the same ids and rules on both targets, valid for CloudWatch's API."""

from __future__ import annotations

import json
import re

import botocore.session
import pytest

from components.alarms import ALARMS
from components.alarms.agent import agent_namespace
from components.settings import ConfigError, parse_settings
from tests.conftest import planned

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
RULE_KEYS = ("comparisonOperator", "threshold", "evaluationPeriods", "datapointsToAlarm", "treatMissingData")
# pulumi-aws input names -> PutMetricAlarm members
MEMBERS = {"name": "AlarmName", "alarmDescription": "AlarmDescription", "comparisonOperator": "ComparisonOperator",
           "threshold": "Threshold", "evaluationPeriods": "EvaluationPeriods", "datapointsToAlarm": "DatapointsToAlarm",
           "treatMissingData": "TreatMissingData", "namespace": "Namespace", "metricName": "MetricName",
           "statistic": "Statistic", "period": "Period", "alarmActions": "AlarmActions", "okActions": "OKActions"}


def alarms(target: str, stack: str = "dev", **overrides) -> dict[str, dict]:
    plan = planned(stack, target=target, **overrides)
    return {a.inputs["tags"]["alarm"]: a.inputs for a in plan.of_type(ALARM) if f"-{target}-" in a.inputs["name"]}


def rule_of(inputs: dict) -> tuple:
    stats = [inputs["statistic"]] if "statistic" in inputs else [
        q["metric"]["stat"] for q in inputs["metricQueries"] if "metric" in q]
    periods = [inputs["period"]] if "period" in inputs else [
        q["metric"]["period"] for q in inputs["metricQueries"] if "metric" in q]
    return (*(inputs[k] for k in RULE_KEYS), tuple(sorted(set(stats))), tuple(sorted(set(periods))))


def test_both_targets_declare_the_same_alarm_ids_with_identical_rules():
    mwaa, eks = alarms("mwaa"), alarms("eks")
    assert sorted(mwaa) == sorted(eks) == sorted(a.id for a in ALARMS)
    for alarm_id in mwaa:
        assert rule_of(mwaa[alarm_id]) == rule_of(eks[alarm_id]), alarm_id


def test_rules_follow_the_table_and_aws_recommendation_for_the_scheduler_heartbeat():
    heartbeat = alarms("mwaa")["scheduler-heartbeat"]
    assert rule_of(heartbeat) == ("LessThanThreshold", 1, 2, 2, "breaching", ("Sum",), (300,))
    assert heartbeat["namespace"] == "AmazonMWAA" and heartbeat["metricName"] == "SchedulerHeartbeat"
    assert heartbeat["dimensions"] == {"Function": "Scheduler", "Environment": "airflow-dev"}
    assert alarms("mwaa")["broker-oldest-task"]["threshold"] == 1800  # 30 minutes, in seconds


def _model():
    return botocore.session.get_session().get_service_model("cloudwatch")


def _check(shape, value, where: str) -> list[str]:
    """The value against a botocore shape: types, enums, lengths and ranges (what PutMetricAlarm would refuse)."""
    problems = []
    meta = shape.metadata
    if shape.type_name == "structure":
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{where}: {name} is required")
        for name, member in value.items():
            if name not in shape.members:
                problems.append(f"{where}: {name} is not a member of {shape.name}")
            else:
                problems += _check(shape.members[name], member, f"{where}.{name}")
    elif shape.type_name == "list":
        if len(value) > meta.get("max", len(value)) or len(value) < meta.get("min", 0):
            problems.append(f"{where}: {len(value)} items, allowed {meta.get('min', 0)}-{meta.get('max')}")
        for i, item in enumerate(value):
            problems += _check(shape.member, item, f"{where}[{i}]")
    elif shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{where}: {value!r} not in {shape.enum}")
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            problems.append(f"{where}: length {len(value)}, allowed {meta.get('min', 0)}-{meta.get('max')}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            problems.append(f"{where}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name in ("integer", "double"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{where}: {value!r} is not a number")
        elif not meta.get("min", value) <= value <= meta.get("max", value):
            problems.append(f"{where}: {value} out of {meta.get('min')}-{meta.get('max')}")
    elif shape.type_name == "boolean" and not isinstance(value, bool):
        problems.append(f"{where}: {value!r} is not a boolean")
    return problems


def put_metric_alarm_request(inputs: dict) -> dict:
    """The PutMetricAlarm request pulumi-aws makes from a MetricAlarm's inputs."""
    request = {MEMBERS[k]: v for k, v in inputs.items() if k in MEMBERS}
    if "dimensions" in inputs:
        request["Dimensions"] = [{"Name": k, "Value": v} for k, v in inputs["dimensions"].items()]
    request["Tags"] = [{"Key": k, "Value": v} for k, v in inputs["tags"].items()]
    if "metricQueries" in inputs:
        request["Metrics"] = []
        for q in inputs["metricQueries"]:
            query = {"Id": q["id"], "ReturnData": q["returnData"]}
            if "expression" in q:
                query.update(Expression=q["expression"], Label=q["label"])
            else:
                m = q["metric"]
                query["MetricStat"] = {"Metric": {"Namespace": m["namespace"], "MetricName": m["metricName"],
                                                  "Dimensions": [{"Name": k, "Value": v} for k, v in m["dimensions"].items()]},
                                       "Period": m["period"], "Stat": m["stat"]}
            request["Metrics"].append(query)
    return request


@pytest.mark.parametrize("target", ["mwaa", "eks"])
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_alarm_is_valid_against_cloudwatch_put_metric_alarm(stack, target):
    shape = _model().operation_model("PutMetricAlarm").input_shape
    for alarm_id, inputs in alarms(target, stack).items():
        request = put_metric_alarm_request(inputs)
        assert _check(shape, request, alarm_id) == []
        # A metric-math alarm returns exactly one series; a plain one names its metric.
        if "Metrics" in request:
            assert sum(q["ReturnData"] for q in request["Metrics"]) == 1, alarm_id
            assert "Statistic" not in request and "MetricName" not in request, alarm_id
        else:
            assert {"MetricName", "Namespace", "Statistic", "Period"} <= set(request), alarm_id


def test_the_checker_catches_what_cloudwatch_refuses():
    shape = _model().operation_model("PutMetricAlarm").input_shape
    inputs = dict(alarms("mwaa")["scheduler-heartbeat"], comparisonOperator="Below", evaluationPeriods=0)
    problems = _check(shape, put_metric_alarm_request(inputs), "x")
    assert any("ComparisonOperator" in p for p in problems) and any("EvaluationPeriods" in p for p in problems)


@pytest.mark.parametrize("target", ["mwaa", "eks"])
def test_one_encrypted_topic_is_the_alarm_and_ok_action_of_every_alarm(target):
    plan = planned("dev", target=target)
    [topic] = plan.of_type(TOPIC)
    assert topic.inputs["kmsMasterKeyId"] == plan.one("aws:kms/key:Key").outputs["arn"]
    for inputs in alarms(target).values():
        assert inputs["alarmActions"] == inputs["okActions"] == [topic.outputs["arn"]]
        assert inputs["tags"]["alarm"] in inputs["name"]
    assert plan.of_type(SUBSCRIPTION) == []  # none by default


def test_keep_mwaa_runs_both_sets_of_alarms_on_one_topic():
    plan = planned("dev", target="eks", keepMwaa=True)
    names = [a.inputs["name"] for a in plan.of_type(ALARM)]
    assert len(names) == len(set(names)) == 2 * len(ALARMS)
    assert len(plan.of_type(TOPIC)) == 1


def test_the_key_lets_only_this_accounts_cloudwatch_alarms_use_it_for_the_topic():
    plan = planned("dev", target="mwaa")
    policy = json.loads(plan.one("aws:kms/key:Key").inputs["policy"])
    [statement] = [s for s in policy["Statement"] if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"


def test_subscriptions_come_from_config():
    subs = [{"protocol": "email", "endpoint": "oncall@example.com"},
            {"protocol": "https", "endpoint": "https://hooks.example.com/airflow"}]
    plan = planned("dev", target="mwaa", alarms={"subscriptions": subs})
    declared = sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in plan.of_type(SUBSCRIPTION))
    assert declared == sorted((s["protocol"], s["endpoint"]) for s in subs)


@pytest.mark.parametrize("sub, expected", [
    ({"protocol": "email", "endpoint": "oncall"},
     'alarms.subscriptions[0].endpoint: "oncall" is not valid for protocol email; allowed: an email address'),
    ({"protocol": "https", "endpoint": "http://hooks.example.com"},
     'alarms.subscriptions[0].endpoint: "http://hooks.example.com" is not valid for protocol https; allowed: an https:// URL'),
    ({"protocol": "pager", "endpoint": "x"},
     'alarms.subscriptions[0].protocol: "pager" is not allowed; allowed: email, email-json, https, sms, sqs, lambda'),
    ({"protocol": "sqs", "endpoint": "arn:aws:sqs:us-east-1:123:q"},
     'alarms.subscriptions[0].endpoint: "arn:aws:sqs:us-east-1:123:q" is not valid for protocol sqs; allowed: an SQS queue ARN'),
])
def test_a_bad_subscription_is_one_line_naming_the_key(sub, expected):
    with pytest.raises(ConfigError) as error:
        parse_settings({"target": "mwaa", "alarms": {"subscriptions": [sub]}}, "dev")
    assert error.value.problems == [expected]


def test_eks_alarms_read_the_agents_namespace_and_the_rds_instance():
    eks = alarms("eks")
    assert eks["scheduler-heartbeat"]["namespace"] == agent_namespace("airflow-dev")
    assert eks["scheduler-heartbeat"]["metricName"] == "airflow_scheduler_heartbeat"
    assert eks["metadata-db-cpu"]["namespace"] == "AWS/RDS"
    db = planned("dev", target="eks").one("aws:rds/instance:Instance")
    assert eks["metadata-db-cpu"]["dimensions"] == {"DBInstanceIdentifier": db.outputs["identifier"]}
