"""The alarms as resources: one SNS topic per stack (AlarmTopic) and each target's MetricAlarms (TargetAlarms)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from .bindings import Binding
from .spec import ALARMS, AlarmSpec


@dataclass(frozen=True)
class Subscription:
    protocol: str
    endpoint: str


@dataclass
class AlarmTopicArgs:
    environment_name: str
    kms_key_arn: pulumi.Input[str]
    subscriptions: Sequence[Subscription]
    tags: Mapping[str, str]


class AlarmTopic(pulumi.ComponentResource):
    """The stack's one alarm topic, encrypted with the platform key; the ALARM and OK action of every alarm."""

    arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:alarms:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(name, name=f"{args.environment_name}-alarms", kms_master_key_id=args.kms_key_arn,
                              tags=dict(args.tags), opts=child)
        for index, sub in enumerate(args.subscriptions):
            aws.sns.TopicSubscription(f"{name}-{index}", topic=topic.arn, protocol=sub.protocol, endpoint=sub.endpoint,
                                      opts=child)
        self.arn = topic.arn
        self.register_outputs({"arn": topic.arn})


@dataclass
class TargetAlarmsArgs:
    target: str  # mwaa or eks: part of each alarm's name, as keepMwaa runs both in one account
    environment_name: str
    bindings: Mapping[str, Binding]
    topic_arn: pulumi.Input[str]
    tags: Mapping[str, str]


class TargetAlarms(pulumi.ComponentResource):
    """spec.ALARMS applied to one target: every alarm of the table, each reading that target's binding."""

    def __init__(self, name: str, args: TargetAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:alarms:TargetAlarms", name, None, opts)
        missing = sorted({a.id for a in ALARMS} - set(args.bindings))
        if missing:
            raise ValueError(f"{args.target}: no metric bound for alarm(s) {', '.join(missing)}")
        self.alarms = {spec.id: self._alarm(name, spec, args) for spec in ALARMS}
        self.register_outputs({"alarmNames": [a.name for a in self.alarms.values()]})

    def _alarm(self, name: str, spec: AlarmSpec, args: TargetAlarmsArgs) -> aws.cloudwatch.MetricAlarm:
        rule, binding = spec.rule, args.bindings[spec.id]
        common = dict(
            name=f"{args.environment_name}-{args.target}-{spec.id}", alarm_description=spec.meaning,
            comparison_operator=rule.comparison, threshold=rule.threshold, evaluation_periods=rule.evaluation_periods,
            datapoints_to_alarm=rule.datapoints_to_alarm, treat_missing_data=rule.treat_missing_data,
            alarm_actions=[args.topic_arn], ok_actions=[args.topic_arn], tags={**args.tags, "alarm": spec.id})
        opts = pulumi.ResourceOptions(parent=self)
        if binding.expression is None:
            [metric] = binding.metrics.values()
            return aws.cloudwatch.MetricAlarm(f"{name}-{spec.id}", namespace=metric.namespace, metric_name=metric.name,
                                              dimensions=dict(metric.dimensions), statistic=rule.statistic,
                                              period=rule.period, **common, opts=opts)
        queries = [{"id": key, "return_data": False,
                    "metric": {"namespace": m.namespace, "metric_name": m.name, "dimensions": dict(m.dimensions),
                               "period": rule.period, "stat": rule.statistic}}
                   for key, m in binding.metrics.items()]
        queries.append({"id": "result", "expression": binding.expression, "label": spec.id, "return_data": True})
        return aws.cloudwatch.MetricAlarm(f"{name}-{spec.id}", metric_queries=queries, **common, opts=opts)
