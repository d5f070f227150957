"""Alarms: one table (spec.py), each target's metrics (bindings.py), the EKS agent (agent.py), resources (component.py)."""

from .bindings import Binding, Metric, eks_bindings, mwaa_bindings
from .component import AlarmTopic, AlarmTopicArgs, Subscription, TargetAlarms, TargetAlarmsArgs
from .spec import ALARMS, BY_ID, AlarmSpec, Rule

__all__ = ["ALARMS", "BY_ID", "AlarmSpec", "AlarmTopic", "AlarmTopicArgs", "Binding", "Metric", "Rule", "Subscription",
           "TargetAlarms", "TargetAlarmsArgs", "eks_bindings", "mwaa_bindings"]
