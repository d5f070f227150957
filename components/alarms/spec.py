"""The ONE alarm table both targets apply: each alarm's id, meaning and rule.

A rule is everything CloudWatch evaluates (PutMetricAlarm: statistic, ComparisonOperator, Threshold, Period,
EvaluationPeriods, DatapointsToAlarm, TreatMissingData). Only the metric a rule reads differs per target
(bindings.py); the rule itself is declared once here, so both targets page on the same condition.

Where an alarm overlaps the MWAA console's recommended alarms, it keeps AWS's rule: scheduler heartbeat Sum < 1 for
2 of 2 periods of 5 minutes, missing data breaching; oldest queued task older than 30 minutes
(https://docs.aws.amazon.com/mwaa/latest/userguide/monitoring-dashboard.html and the recommended alarms of the
CloudWatch console for AmazonMWAA / AWS/MWAA).
"""

from __future__ import annotations

from dataclasses import dataclass

FIVE_MINUTES = 300


@dataclass(frozen=True)
class Rule:
    statistic: str  # of every metric the alarm reads (CloudWatch Statistic)
    comparison: str  # ComparisonOperator
    threshold: float
    period: int = FIVE_MINUTES  # seconds
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    treat_missing_data: str = "notBreaching"
    unit: str | None = None  # the threshold's unit, for readers (Seconds, Percent, Bytes, Count)


@dataclass(frozen=True)
class AlarmSpec:
    id: str
    meaning: str
    rule: Rule
    not_on_twin: str | None = None  # why a twin cannot make it fire, and what covers it


ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec("scheduler-heartbeat", "the scheduler stopped heartbeating: nothing new gets scheduled",
              Rule("Sum", "LessThanThreshold", 1, evaluation_periods=2, datapoints_to_alarm=2,
                   treat_missing_data="breaching", unit="Count")),
    AlarmSpec("triggerer-heartbeat", "the triggerer stopped heartbeating: deferred tasks never resume",
              Rule("Sum", "LessThanThreshold", 1, evaluation_periods=2, datapoints_to_alarm=2,
                   treat_missing_data="breaching", unit="Count")),
    AlarmSpec("workers-stalled", "tasks are queued but none runs: the Celery workers are gone or stuck",
              Rule("Maximum", "GreaterThanOrEqualToThreshold", 1, evaluation_periods=2, datapoints_to_alarm=2)),
    AlarmSpec("pool-starving", "default_pool had no free slot for 10 minutes: tasks wait for slots (pool too small or "
                               "held by stuck tasks)",
              Rule("Maximum", "GreaterThanOrEqualToThreshold", 1, evaluation_periods=2, datapoints_to_alarm=2)),
    AlarmSpec("dag-import-errors", "a DAG file fails to import: its DAG is not scheduled",
              Rule("Maximum", "GreaterThanOrEqualToThreshold", 1, unit="Count")),
    AlarmSpec("task-failure-burst", "three or more task instances failed within five minutes",
              Rule("Sum", "GreaterThanOrEqualToThreshold", 3, unit="Count")),
    AlarmSpec("broker-oldest-task", "a task waited in the Celery broker for more than 30 minutes",
              Rule("Maximum", "GreaterThanThreshold", 1800, unit="Seconds"),
              not_on_twin="on MWAA it is SQS's ApproximateAgeOfOldestTask, published by AWS itself"),
    AlarmSpec("metadata-db-cpu", "the metadata database's CPU is saturated: the scheduler and API slow down",
              Rule("Average", "GreaterThanThreshold", 90, evaluation_periods=3, datapoints_to_alarm=3,
                   treat_missing_data="missing", unit="Percent"),
              not_on_twin="RDS (EKS) and MWAA's Aurora (AWS/MWAA) publish it"),
    AlarmSpec("metadata-db-freeable-memory", "the metadata database is short of memory (under 256 MiB free)",
              Rule("Minimum", "LessThanThreshold", 256 * 1024 * 1024, evaluation_periods=3, datapoints_to_alarm=3,
                   treat_missing_data="missing", unit="Bytes"),
              not_on_twin="RDS (EKS) and MWAA's Aurora (AWS/MWAA) publish it"),
)

BY_ID = {alarm.id: alarm for alarm in ALARMS}
