"""Each alarm's own rule, read from the plan's MetricAlarm inputs, evaluated over the twin's datapoints as CloudWatch
evaluates it (Amazon CloudWatch User Guide, "Evaluating an alarm", "Configuring how CloudWatch alarms treat missing
data", "Using math expressions with CloudWatch metrics"):

- a datapoint per period, the alarm's statistic over the datapoints of that period whose namespace, name and full
  dimension set match the metric (a metric-math alarm: each query's statistic, then the expression);
- periods are aligned to the clock; only complete periods count;
- ALARM when at least `datapointsToAlarm` of the last `evaluationPeriods` periods breach; a period with no datapoint
  breaches only with `treatMissingData: breaching` (`missing`, `ignore` and `notBreaching` never make it ALARM).

Time scale: CloudWatch's 5-minute periods cannot be waited for here, so every period (and the EKS agent's collection
interval, metric_map.py) runs TIME_SCALE times faster: 300 s -> 15 s. A duration Airflow measures is scaled as a
period is (metric_map.twin_value: 90 s on the twin is 1800 s). Thresholds, statistics and counts are unchanged.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .errors import TwinError
from .metric_map import Datapoint
from .wiring import StackWiring

TIME_SCALE = 20.0  # CloudWatch seconds per twin second: a 300 s period is 15 s here
ALARM_TYPE = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": operator.ge, "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt, "LessThanOrEqualToThreshold": operator.le,
}
STATISTICS = {
    "Sum": sum, "Maximum": max, "Minimum": min, "SampleCount": len,
    "Average": lambda values: sum(values) / len(values),
}


@dataclass(frozen=True)
class Query:
    id: str
    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]
    statistic: str
    period: int


@dataclass
class PlannedAlarm:
    id: str
    name: str
    queries: list[Query]
    expression: str | None
    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing: str

    @property
    def period(self) -> float:
        """Seconds on the twin's clock."""
        return self.queries[0].period / TIME_SCALE

    def describe(self) -> str:
        what = self.expression or f"{self.queries[0].statistic}({self.queries[0].namespace}/{self.queries[0].name})"
        return (f"{what} {self.comparison} {self.threshold:g} for {self.datapoints_to_alarm} of "
                f"{self.evaluation_periods} x {self.queries[0].period} s, missing {self.treat_missing}")


def planned_alarms(stack: StackWiring) -> list[PlannedAlarm]:
    """The MetricAlarms the plan declares for the twin's target, each with its rule exactly as declared."""
    found = []
    for resource in stack.plan.of_type(ALARM_TYPE):
        inputs = resource.inputs
        if f"-{stack.target}-" not in inputs["name"]:
            continue
        found.append(_alarm(inputs))
    if not found:
        raise TwinError(f"the plan declares no {ALARM_TYPE} for target {stack.target}")
    return found


def _alarm(inputs: dict[str, Any]) -> PlannedAlarm:
    def dims(d: dict | None) -> frozenset:
        return frozenset((d or {}).items())

    if "metricQueries" in inputs:
        queries = [Query(q["id"], q["metric"]["namespace"], q["metric"]["metricName"], dims(q["metric"].get("dimensions")),
                         q["metric"]["stat"], int(q["metric"]["period"]))
                   for q in inputs["metricQueries"] if "metric" in q]
        [expression] = [q["expression"] for q in inputs["metricQueries"] if q.get("returnData")]
    else:
        queries = [Query("m", inputs["namespace"], inputs["metricName"], dims(inputs.get("dimensions")),
                         inputs["statistic"], int(inputs["period"]))]
        expression = None
    if inputs["comparisonOperator"] not in COMPARISONS:
        raise TwinError(f"{inputs['name']}: comparisonOperator {inputs['comparisonOperator']} is not evaluated here "
                        f"(allowed: {', '.join(COMPARISONS)})")
    return PlannedAlarm(inputs["tags"]["alarm"], inputs["name"], queries, expression, inputs["comparisonOperator"],
                        float(inputs["threshold"]), int(inputs["evaluationPeriods"]),
                        int(inputs.get("datapointsToAlarm") or inputs["evaluationPeriods"]),
                        inputs.get("treatMissingData", "missing"))


# ------------------------------------------------------------------------------------------------ metric math


def _math(expression: str, values: dict[str, float]) -> float | None:
    """CloudWatch's IF/AND/OR/comparison/arithmetic subset, over one period's values (None: no datapoint)."""
    text = re.sub(r"\bAND\b", " and ", re.sub(r"\bOR\b", " or ", expression))
    tree = ast.parse(text, mode="eval")

    def ev(node: ast.AST) -> float | None:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values.get(node.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "IF":
            condition, then, otherwise = (ev(a) for a in node.args)
            return None if condition is None else (then if condition else otherwise)
        if isinstance(node, ast.BoolOp):
            parts = [ev(v) for v in node.values]
            if any(p is None for p in parts):
                return None
            return float(all(parts) if isinstance(node.op, ast.And) else any(parts))
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = ev(node.left), ev(node.comparators[0])
            ops = {ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
                   ast.Eq: operator.eq, ast.NotEq: operator.ne}
            return None if left is None or right is None else float(ops[type(node.ops[0])](left, right))
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
            return None if left is None or right is None else ops[type(node.op)](left, right)
        raise TwinError(f"metric math {expression!r}: {ast.dump(node)[:60]} is not evaluated here")

    return ev(tree)


# ------------------------------------------------------------------------------------------------ evaluation


@dataclass
class Evaluation:
    alarmed_at: float | None  # end of the period whose evaluation first went to ALARM
    values: list[float | None] = field(default_factory=list)  # the last periods evaluated


def period_value(alarm: PlannedAlarm, points: list[Datapoint], start: float, end: float) -> float | None:
    values: dict[str, float] = {}
    for q in alarm.queries:
        mine = [p.value for p in points if start <= p.at < end and p.namespace == q.namespace and p.name == q.name
                and p.dimensions == q.dimensions]
        if mine:
            values[q.id] = float(STATISTICS[q.statistic](mine))
    if alarm.expression is None:
        return values.get(alarm.queries[0].id)
    return _math(alarm.expression, values)


def first_alarm(alarm: PlannedAlarm, points: Iterable[Datapoint], since: float, until: float,
                period_of_since: bool = False) -> Evaluation:
    """The first evaluation in [since, until] that puts the alarm in ALARM. The periods looked at start at or after
    `since` (the healthy run: nothing before it counts), or, with `period_of_since`, from the period `since` falls in
    (a fault: its effect can land in the period it started in, as CloudWatch would see it)."""
    points = list(points)
    p = alarm.period
    first = math.floor(since / p) if period_of_since else math.ceil(since / p)
    last = math.floor(until / p)  # periods [first, last) are complete
    breaches: list[bool] = []
    values: list[float | None] = []
    for index in range(first, last):
        value = period_value(alarm, points, index * p, (index + 1) * p)
        values.append(value)
        if value is None:
            breaches.append(alarm.treat_missing == "breaching")
        else:
            breaches.append(COMPARISONS[alarm.comparison](value, alarm.threshold))
        recent = breaches[-alarm.evaluation_periods:]
        if len(recent) == alarm.evaluation_periods and sum(recent) >= alarm.datapoints_to_alarm:
            return Evaluation((index + 1) * p, values[-alarm.evaluation_periods:])
    return Evaluation(None, values[-alarm.evaluation_periods:])
