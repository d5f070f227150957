"""The twin's time scale applies to durations Airflow measures, as it does to periods (tools/twin/metric_map.py,
twin_value): offline, over the plan's own EKS alarm for the broker wait (no twin started here)."""

from __future__ import annotations

import pytest

from tools.twin.alarm_eval import TIME_SCALE, first_alarm, planned_alarms
from tools.twin.alarm_run import points_for
from tools.twin.metric_map import mapping_for, twin_value
from tools.twin.statsd import Metric
from tools.twin.wiring import wiring

PERIOD = 300 / TIME_SCALE


@pytest.fixture(scope="module")
def eks():
    stack = wiring("dev", "eks", {})
    [broker] = [a for a in planned_alarms(stack) if a.id == "broker-oldest-task"]
    return mapping_for("eks", stack), broker


def waited(seconds_on_the_twin: float, at: float) -> Metric:
    return Metric(at, "airflow.task.oldest_queued_age", seconds_on_the_twin * 1000, "ms")  # the exporter sends ms, as Airflow its timings


def test_a_timing_stands_for_scale_times_as_long_and_nothing_else_is_scaled():
    assert twin_value(Metric(0, "airflow.task.oldest_queued_age", 4_500, "ms"), TIME_SCALE) == 4_500 * TIME_SCALE
    for kind in ("c", "g", "h", "s"):  # counts, gauges, a histogram of any quantity: as sent
        assert twin_value(Metric(0, "airflow.x", 7, kind), TIME_SCALE) == 7


def test_eks_agent_publishes_a_twin_wait_as_its_production_length(eks):
    mapping, _ = eks
    [point] = mapping.map([waited(91, 1_000_000 * PERIOD)], TIME_SCALE)
    assert (point.name, dict(point.dimensions), point.value) == (
        "airflow_task_oldest_queued_age", {"metric_type": "timing"}, 91 * 1000 * TIME_SCALE)


def test_a_wait_of_1800_s_divided_by_the_scale_fires_the_broker_alarm_and_seconds_do_not(eks):
    mapping, broker = eks
    t0 = 1_000_000 * PERIOD
    assert (broker.threshold, broker.comparison, broker.expression) == (1800, "GreaterThanThreshold", "wait / 1000")

    def fired(seconds_on_the_twin: float):
        points = mapping.map([waited(seconds_on_the_twin, t0 + 3)], TIME_SCALE)
        return first_alarm(broker, points_for(broker, points), since=t0, until=t0 + 2 * PERIOD).alarmed_at

    assert fired(1800 / TIME_SCALE + 5) == t0 + PERIOD  # 95 s here: a 1900 s wait in production
    assert fired(1800 / TIME_SCALE - 5) is None  # 85 s: 1700 s, under the threshold
    assert fired(6) is None  # a healthy queue of seconds stays far below
