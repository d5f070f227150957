"""twin-alarms' pieces, offline: the rule evaluation, each target's metric mapping against the plan's alarms, and
stopping a process on purpose (no twin started here)."""

from __future__ import annotations

import sys
import time

import pytest

from components.alarms import eks_bindings, mwaa_bindings
from tools.twin.alarm_eval import TIME_SCALE, PlannedAlarm, Query, first_alarm, planned_alarms
from tools.twin.alarm_run import AlarmReport, awaiting_emission, check_still_absent, classify
from tools.twin.errors import TwinError
from tools.twin.metric_map import Datapoint, mapping_for
from tools.twin.probes import Probe, ProbeRunner
from tools.twin.statsd import Metric
from tools.twin.supervisor import Supervisor
from tools.twin.wiring import wiring

PERIOD = 300 / TIME_SCALE
DIMS = frozenset({("Function", "Scheduler")})


def heartbeat_rule(**overrides) -> PlannedAlarm:
    rule = dict(id="scheduler-heartbeat", name="x", queries=[Query("m", "NS", "HB", DIMS, "Sum", 300)], expression=None,
                comparison="LessThanThreshold", threshold=1, evaluation_periods=2, datapoints_to_alarm=2,
                treat_missing="breaching")
    return PlannedAlarm(**{**rule, **overrides})


def beats(start: float, end: float, every: float = 5.0) -> list[Datapoint]:
    return [Datapoint(start + i * every, "NS", "HB", DIMS, 1.0) for i in range(int((end - start) / every))]


def test_time_scale_turns_five_minutes_into_fifteen_seconds():
    assert PERIOD == 15.0 and heartbeat_rule().period == 15.0


def test_heartbeat_alarms_after_two_empty_periods_when_missing_breaches():
    t0 = 1_000_000 * PERIOD  # aligned to a period
    points = beats(t0, t0 + 60)  # heartbeats for 4 periods, then none
    assert first_alarm(heartbeat_rule(), points, since=t0, until=t0 + 60).alarmed_at is None
    fired = first_alarm(heartbeat_rule(), points, since=t0, until=t0 + 120)
    assert fired.alarmed_at == t0 + 90  # periods 60-75 and 75-90 are empty
    # The same silence with missing data not breaching never alarms.
    assert first_alarm(heartbeat_rule(treat_missing="notBreaching"), points, since=t0, until=t0 + 120).alarmed_at is None


def test_only_complete_periods_after_the_window_start_count():
    t0 = 1_000_000 * PERIOD
    points = beats(t0, t0 + 200)
    # The window opens mid-period: the half period before the first boundary is not evaluated (no false ALARM).
    assert first_alarm(heartbeat_rule(), points, since=t0 + 7, until=t0 + 45).alarmed_at is None


def test_a_fault_counts_from_the_period_it_started_in():
    t0 = 1_000_000 * PERIOD
    failures = [Datapoint(t0 + 12 + i * 0.5, "NS", "F", frozenset(), 1.0) for i in range(4)]  # 4 failures at +12..+13.5 s
    burst = heartbeat_rule(queries=[Query("m", "NS", "F", frozenset(), "Sum", 300)], comparison="GreaterThanOrEqualToThreshold",
                           threshold=3, evaluation_periods=1, datapoints_to_alarm=1, treat_missing="notBreaching")
    # Injected at +10 s: the burst lands in the period that started before the fault, which CloudWatch evaluates too.
    assert first_alarm(burst, failures, since=t0 + 10, until=t0 + 30, period_of_since=True).alarmed_at == t0 + 15
    assert first_alarm(burst, failures, since=t0 + 10, until=t0 + 30).alarmed_at is None  # healthy-run rule: whole periods


def test_metric_math_alarm_reads_each_query_then_the_expression():
    t0 = 1_000_000 * PERIOD
    queued = Query("queued", "NS", "Q", frozenset(), "Maximum", 300)
    running = Query("running", "NS", "R", frozenset(), "Maximum", 300)
    alarm = heartbeat_rule(queries=[queued, running], expression="IF(queued > 0 AND running == 0, 1, 0)",
                           comparison="GreaterThanOrEqualToThreshold", treat_missing="notBreaching")
    stalled = [Datapoint(t0 + i, "NS", "Q", frozenset(), 2.0) for i in range(0, 40, 5)]
    stalled += [Datapoint(t0 + i, "NS", "R", frozenset(), 0.0) for i in range(0, 40, 5)]
    assert first_alarm(alarm, stalled, since=t0, until=t0 + 40).alarmed_at == t0 + 30
    working = stalled + [Datapoint(t0 + 20, "NS", "R", frozenset(), 1.0)]  # a task ran in the second period
    assert first_alarm(alarm, working, since=t0, until=t0 + 40).alarmed_at is None


def test_a_datapoint_with_other_dimensions_is_another_metric():
    t0 = 1_000_000 * PERIOD
    other = [Datapoint(p.at, p.namespace, p.name, frozenset({("Function", "Triggerer")}), 1.0) for p in beats(t0, t0 + 60)]
    assert first_alarm(heartbeat_rule(), other, since=t0, until=t0 + 60).alarmed_at == t0 + 30


@pytest.mark.parametrize("target", ["mwaa", "eks"])
def test_each_statsd_alarm_reads_what_the_targets_agent_publishes(target):
    """A datagram of each binding's StatsD metric, mapped as the target's agent publishes it, is exactly the metric
    the plan's alarm reads (before this check, MWAA's pool and failure alarms read names MWAA does not publish)."""
    stack = wiring("dev", target, {})
    mapping = mapping_for(target, stack)
    bindings = (mwaa_bindings(stack.environment_name) if target == "mwaa"
                else eks_bindings(stack.environment_name, "db"))
    provable, not_provable = classify(planned_alarms(stack), mapping)
    # MWAA's broker age is SQS's (AWS/MWAA); EKS's comes from the scheduler pod's queued-age exporter over StatsD.
    aws_only = {"metadata-db-cpu", "metadata-db-freeable-memory"} | ({"broker-oldest-task"} if target == "mwaa" else set())
    assert aws_only == set(not_provable)
    assert len(provable) == 9 - len(aws_only)
    for alarm in provable:
        for query in alarm.queries:
            source = bindings[alarm.id].metrics[query.id].statsd
            name = source if source.startswith("airflow.") else f"airflow.{source}"
            kind = {"scheduler-heartbeat": "c", "triggerer-heartbeat": "c", "task-failure-burst": "c",
                    "broker-oldest-task": "ms"}.get(alarm.id, "g")
            [point] = mapping.map([Metric(time.time(), name, 1.0, kind)], TIME_SCALE)
            assert (point.namespace, point.name, point.dimensions) == (query.namespace, query.name, query.dimensions), alarm.id


def test_every_statsd_alarm_has_its_fault_on_eks_now():
    """broker-oldest-task was the one uninjected StatsD alarm on EKS (Airflow 3.0 to 3.3.1 never send
    task.queued_duration); the queued-age exporter gives it a metric a fault drives."""
    from tools.twin import faults

    stack = wiring("dev", "eks", {})
    assert faults.NOT_INJECTED == {}
    assert awaiting_emission(planned_alarms(stack), mapping_for("eks", stack)) == []
    assert faults.BY_ALARM["broker-oldest-task"].phase == faults.BY_ALARM["workers-stalled"].phase


def test_an_uninjected_statsd_alarm_is_confirmed_absent_while_healthy_or_fails_the_run_once_emitted(monkeypatch):
    """An alarm in faults.NOT_INJECTED (none today; broker-oldest-task stands in): a healthy run without its metric
    confirms the reason; a datapoint of it means the alarm needs its fault now."""
    from tools.twin import faults

    monkeypatch.setitem(faults.NOT_INJECTED, "broker-oldest-task", "its metric is not sent by this Airflow")
    stack = wiring("dev", "eks", {})
    mapping = mapping_for("eks", stack)
    planned = planned_alarms(stack)
    [broker] = awaiting_emission(planned, mapping)
    assert broker.id == "broker-oldest-task"
    assert awaiting_emission(planned_alarms(wiring("dev", "mwaa", {})), mapping_for("mwaa", wiring("dev", "mwaa", {}))) == []
    heartbeat = mapping.map([Metric(time.time(), "airflow.scheduler_heartbeat", 1, "c")], TIME_SCALE)

    absent = AlarmReport("eks")
    absent.not_provable = classify(planned, mapping)[1]
    check_still_absent([broker], heartbeat, absent)
    assert absent.not_provable["broker-oldest-task"].startswith("its metric is not sent by this Airflow")
    assert absent.not_provable["broker-oldest-task"].endswith("no datapoint of its metric arrived")
    assert not absent.not_fired

    emitted = AlarmReport("eks")
    emitted.not_provable = classify(planned, mapping)[1]
    wait = mapping.map([Metric(time.time(), "airflow.task.oldest_queued_age", 3000, "ms")], TIME_SCALE)
    check_still_absent([broker], heartbeat + wait, emitted)
    assert "broker-oldest-task" not in emitted.not_provable
    assert emitted.not_fired["broker-oldest-task"].startswith("1 datapoints of its metric while healthy: Airflow emits it")
    assert not emitted.ok


def test_mwaa_mapping_publishes_only_what_mwaa_lists():
    stack = wiring("dev", "mwaa", {})
    mapped = mapping_for("mwaa", stack).map([Metric(0, "airflow.not_a_published_metric", 1, "c"),
                                             Metric(0, "airflow.ti_failures", 1, "c")], TIME_SCALE)
    assert [(p.name, dict(p.dimensions)) for p in mapped] == [
        ("TaskInstanceFailures", {"DAG": "All", "Task": "All", "Environment": stack.environment_name})]


def test_eks_agent_sums_counters_and_keeps_the_last_gauge_per_interval():
    stack = wiring("dev", "eks", {})
    flush = 10 / TIME_SCALE
    t = 1_000_000 * flush
    mapped = mapping_for("eks", stack).map([Metric(t, "airflow.ti_failures", 1, "c"), Metric(t + 0.1, "airflow.ti_failures", 1, "c"),
                                            Metric(t, "airflow.pool.queued_slots.default_pool", 3, "g"),
                                            Metric(t + 0.2, "airflow.pool.queued_slots.default_pool", 1, "g")], TIME_SCALE)
    assert sorted((p.name, dict(p.dimensions)["metric_type"], p.value) for p in mapped) == [
        ("airflow_pool_queued_slots_default_pool", "gauge", 1.0), ("airflow_ti_failures", "counter", 2.0)]


def test_stop_one_takes_a_process_out_of_the_watched_set(tmp_path):
    supervisor = Supervisor(tmp_path)
    told = []
    supervisor.on_stopped.append(lambda p: told.append(p.name))
    try:
        supervisor.start("scheduler.scheduler", [sys.executable, "-c", "import time; time.sleep(60)"])
        keep = supervisor.start("worker.worker", [sys.executable, "-c", "import time; time.sleep(60)"])
        stopped = supervisor.stop_one("scheduler.scheduler")
        assert stopped.exited() is not None and told == ["scheduler.scheduler"]
        supervisor.check()  # a process stopped on purpose is not a death
        assert [p.name for p in supervisor.processes] == ["worker.worker"]
        assert supervisor.stopped_on_purpose == ["scheduler.scheduler"]
        keep.popen.kill()
        keep.popen.wait()
        with pytest.raises(TwinError, match="worker.worker exited"):  # every other process stays watched
            supervisor.check()
        with pytest.raises(TwinError, match="0 processes of that name"):
            supervisor.stop_one("triggerer")
    finally:
        supervisor.stop_all()


def test_unwatched_probes_stop_and_never_fail_the_twin():
    runner = ProbeRunner()
    probe = Probe("Deployment/airflow-scheduler", "scheduler", "livenessProbe",
                  {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}, argv=["false"])
    runner.watch("Deployment/airflow-scheduler", "scheduler", [probe])
    runner.unwatch("Deployment/airflow-scheduler", "scheduler")
    time.sleep(1.5)
    runner.check()
    runner.stop()
    assert probe.failures == 0


def test_mwaa_statsd_essentials_go_to_the_twins_listener_by_one_visible_rewrite():
    from tools.twin import mwaa_runtime
    from tools.twin.agent import MWAA_CONTAINER
    from tools.twin.endpoints import Endpoints, Service, rewrite_host_port

    essential = mwaa_runtime.essential("scheduler", "3.3.1", "https://sqs/q/airflow-celery-x", "us-east-1", use_ssl=False)
    assert {k: essential[k] for k in ("AIRFLOW__METRICS__STATSD_ON", "AIRFLOW__METRICS__STATSD_HOST",
                                      "AIRFLOW__METRICS__STATSD_PORT", "AIRFLOW__METRICS__STATSD_PREFIX")} == {
        "AIRFLOW__METRICS__STATSD_ON": "True", "AIRFLOW__METRICS__STATSD_HOST": "localhost",
        "AIRFLOW__METRICS__STATSD_PORT": "8125", "AIRFLOW__METRICS__STATSD_PREFIX": "airflow"}
    endpoints = Endpoints()
    endpoints.declare(Service("MWAA's CloudWatch metrics agent (StatsD)", "localhost", 8125, pod=MWAA_CONTAINER), 40001)
    moved = rewrite_host_port(essential, "AIRFLOW__METRICS__STATSD_HOST", "AIRFLOW__METRICS__STATSD_PORT", endpoints,
                              "MWAA essential setting", from_pod=MWAA_CONTAINER)
    assert (moved["AIRFLOW__METRICS__STATSD_HOST"], moved["AIRFLOW__METRICS__STATSD_PORT"]) == ("127.0.0.1", "40001")
    with pytest.raises(TwinError, match="AIRFLOW__METRICS__STATSD_HOST/AIRFLOW__METRICS__STATSD_PORT: endpoint localhost:9125"):
        rewrite_host_port({**essential, "AIRFLOW__METRICS__STATSD_PORT": "9125"}, "AIRFLOW__METRICS__STATSD_HOST",
                          "AIRFLOW__METRICS__STATSD_PORT", endpoints, "MWAA essential setting", from_pod=MWAA_CONTAINER)


@pytest.mark.parametrize("argv", [["alarms"], ["eks", "--target", "eks"]])
def test_alarms_needs_its_target_and_only_alarms_takes_one(argv, capsys):
    from tools.twin import cli

    assert cli.main(argv) == 1
    assert capsys.readouterr().err.strip() == "twin: --target: eks or mwaa, with (and only with) `alarms`"
