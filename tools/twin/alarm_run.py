"""`python -m tools.twin alarms --target eks|mwaa` (`make twin-alarms`): every alarm of the plan proven on a live twin.

1. Start the twin (session.py), run every DAG healthy; over at least HEALTHY_PERIODS periods, no alarm may fire.
2. Inject one fault per provable alarm (faults.py), phase by phase, and evaluate each alarm's rule from the plan
   (alarm_eval.py) over what Airflow emitted, mapped as the target's agent publishes it (metric_map.py), until ALARM.
3. One line per alarm: `<id> ALARM after N s`, or why not; alarms only AWS can produce are listed with what covers them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from components.alarms import BY_ID

from . import faults
from .alarm_eval import TIME_SCALE, PlannedAlarm, first_alarm, planned_alarms
from .errors import TwinError
from .metric_map import Datapoint, Mapping, mapping_for, published
from .session import Report, StopOnSignal, Twin, cleanup, exercise, new_supervisor, start_twin

HEALTHY_PERIODS = 3  # the longest provable rule looks at 2 periods; one more for the clock's alignment
PHASE_TIMEOUT = 240.0  # seconds for every alarm of a phase to reach ALARM
EVALUATE_EVERY = 2.0


@dataclass
class AlarmReport:
    target: str
    healthy: Report | None = None
    fired: dict[str, float] = field(default_factory=dict)  # id -> seconds from its fault to ALARM
    fired_healthy: dict[str, str] = field(default_factory=dict)
    not_fired: dict[str, str] = field(default_factory=dict)
    not_provable: dict[str, str] = field(default_factory=dict)
    healthy_seconds: float = 0.0
    published_metrics: int = 0  # metric name x dimension set the agent published during the healthy run
    dropped: int = 0  # datagrams the kernel dropped before the listener read them
    seconds: float = 0.0
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.healthy is not None and self.healthy.ok and bool(self.fired) and not self.fired_healthy
                and not self.not_fired)

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


def classify(alarms: list[PlannedAlarm], mapping: Mapping) -> tuple[list[PlannedAlarm], dict[str, str]]:
    """Provable alarms (every metric from Airflow's StatsD, and a fault for it), and why each other one is not."""
    provable, not_provable = [], {}
    for alarm in alarms:
        aws = [q for q in alarm.queries if q.namespace != mapping.namespace]
        if aws:
            why = BY_ID[alarm.id].not_on_twin or "published by AWS itself"
            not_provable[alarm.id] = (f"{aws[0].namespace}/{aws[0].name} has no StatsD source ({why}); covered by "
                                      "tests/test_alarms.py (its rule and metric against CloudWatch's PutMetricAlarm model)")
        elif alarm.id in faults.NOT_INJECTED:
            not_provable[alarm.id] = faults.NOT_INJECTED[alarm.id]
        else:
            provable.append(alarm)
    return provable, not_provable


def awaiting_emission(alarms: list[PlannedAlarm], mapping: Mapping) -> list[PlannedAlarm]:
    """Alarms read from Airflow's StatsD that no fault injects (faults.NOT_INJECTED): their metric must stay absent."""
    return [a for a in alarms if a.id in faults.NOT_INJECTED and all(q.namespace == mapping.namespace for q in a.queries)]


def check_still_absent(alarms: list[PlannedAlarm], points: list[Datapoint], report: "AlarmReport") -> None:
    """A metric Airflow does not emit today proves nothing by its absence alone: the healthy run ran every DAG, so its
    absence there confirms the reason; its arrival (a newer Airflow) means the alarm now needs its fault."""
    for alarm in alarms:
        seen = len(points_for(alarm, points))
        if seen:
            del report.not_provable[alarm.id]
            report.not_fired[alarm.id] = (f"{seen} datapoints of its metric while healthy: Airflow emits it now, so "
                                          "add its fault to tools/twin/faults.py (NOT_INJECTED no longer holds)")
            report.say(f"{alarm.id} NOT FIRED: {report.not_fired[alarm.id]}")
        else:
            report.not_provable[alarm.id] += ("; confirmed on this twin: every DAG's tasks ran while healthy and no "
                                              "datapoint of its metric arrived")


def points_for(alarm: PlannedAlarm, points: list[Datapoint]) -> list[Datapoint]:
    wanted = {(q.namespace, q.name, q.dimensions) for q in alarm.queries}
    return [p for p in points if (p.namespace, p.name, p.dimensions) in wanted]


def run_alarms(target: str, stack: str, overrides: dict[str, Any], timeout: int = 900) -> AlarmReport:
    began = time.monotonic()
    report = AlarmReport(target)
    supervisor = new_supervisor(target)
    failed = True
    try:
        with StopOnSignal():
            twin = start_twin(target, stack, overrides, supervisor, _starter(target))
            failed = not _prove(twin, report, began, timeout)
            return report
    finally:
        supervisor.stop_all()
        cleanup(supervisor.workdir, keep_logs=failed)
        report.seconds = time.monotonic() - began


def _starter(target: str):
    from .cli import starter

    return starter(target)


def _prove(twin: Twin, report: AlarmReport, began: float, timeout: int) -> bool:
    statsd = twin.context.statsd
    if statsd is None:
        raise TwinError(f"{twin.target}: the twin records no StatsD (no agent listener)")
    mapping = mapping_for(twin.target, twin.stack)
    planned = planned_alarms(twin.stack)
    provable, report.not_provable = classify(planned, mapping)
    period = provable[0].period
    report.say(f"{twin.target} twin-alarms: time scale {TIME_SCALE:g}x (every alarm period of 300 s is "
               f"{300 / TIME_SCALE:g} s here, a duration Airflow measures counts {TIME_SCALE:g} times; thresholds unchanged); {len(provable)} alarms provable here")

    ready = time.time()
    report.healthy = exercise(twin, began, timeout=timeout)
    for line in report.healthy.lines():
        report.say(line)
    if not report.healthy.ok:
        return False
    time.sleep(max(0.0, ready + HEALTHY_PERIODS * period - time.time()))  # long enough for every rule's periods
    healthy_end = time.time()
    report.healthy_seconds = healthy_end - ready
    points = mapping.map(statsd.snapshot(), TIME_SCALE)
    report.published_metrics = len(published(points))
    report.say(f"{twin.target} healthy run: the agent published {report.published_metrics} metrics "
               f"(metric name x dimension set in {mapping.namespace}) from {len(statsd.names())} StatsD names")
    for alarm in provable:
        if not points_for(alarm, points) and alarm.treat_missing != "breaching":
            report.say(f"{twin.target} note: no datapoint of {alarm.id}'s metrics while healthy (missing: not breaching)")
        evaluation = first_alarm(alarm, points_for(alarm, points), since=ready, until=healthy_end)
        if evaluation.alarmed_at is not None:
            report.fired_healthy[alarm.id] = (f"fired {evaluation.alarmed_at - ready:.0f} s into the healthy run "
                                              f"(last periods {evaluation.values})")
    check_still_absent(awaiting_emission(planned, mapping), points, report)
    report.say(f"{twin.target} healthy run: {healthy_end - ready:.0f} s, "
               f"{'no alarm fired' if not report.fired_healthy else 'FIRED: ' + ', '.join(report.fired_healthy)}")

    api = twin.api()
    by_id = {alarm.id: alarm for alarm in provable}
    for phase in sorted({f.phase for f in faults.FAULTS}):
        _phase(twin, api, report, mapping, [by_id[f.alarm] for f in faults.FAULTS if f.phase == phase and f.alarm in by_id])
    for alarm in provable:
        if alarm.id not in faults.BY_ALARM:
            report.not_fired[alarm.id] = "no fault injects it (tools/twin/faults.py)"
    report.dropped = statsd.dropped()
    _summary(twin.target, report, [a.id for a in planned])
    return report.ok


def _phase(twin: Twin, api, report: AlarmReport, mapping: Mapping, alarms: list[PlannedAlarm]) -> None:
    started: dict[str, float] = {}
    for alarm in alarms:
        fault = faults.BY_ALARM[alarm.id]
        started[alarm.id] = time.time()
        fault.inject(twin, api)
        report.say(f"{twin.target} fault for {alarm.id}: {fault.what}")
    pending = {alarm.id: alarm for alarm in alarms}
    deadline = time.monotonic() + PHASE_TIMEOUT
    last: dict[str, list] = {}
    while pending and time.monotonic() < deadline:
        twin.alive()  # every component not stopped on purpose still runs, and its probes pass
        since = min(started.values()) - 2 * max(a.period for a in alarms)
        points = mapping.map([m for m in twin.context.statsd.snapshot() if m.at >= since], TIME_SCALE)
        now = time.time()
        for alarm_id, alarm in list(pending.items()):
            evaluation = first_alarm(alarm, points_for(alarm, points), since=started[alarm_id], until=now,
                                     period_of_since=True)
            last[alarm_id] = evaluation.values
            if evaluation.alarmed_at is not None:
                report.fired[alarm_id] = evaluation.alarmed_at - started[alarm_id]
                report.say(f"{alarm_id} ALARM after {report.fired[alarm_id]:.0f} s  ({alarm.describe()})")
                del pending[alarm_id]
        time.sleep(EVALUATE_EVERY)
    everything = mapping.map(twin.context.statsd.snapshot(), TIME_SCALE) if pending else []
    for alarm_id, alarm in pending.items():
        report.not_fired[alarm_id] = (f"did not reach ALARM within {PHASE_TIMEOUT:.0f} s of its fault "
                                      f"({faults.BY_ALARM[alarm_id].what}); last periods {last.get(alarm_id)}; "
                                      f"{len(points_for(alarm, everything))} datapoints of its metrics in the whole run; "
                                      f"rule {alarm.describe()}")
        report.say(f"{alarm_id} NOT FIRED: {report.not_fired[alarm_id]}")


def _summary(target: str, report: AlarmReport, ids: list[str]) -> None:
    for alarm_id in ids:
        if alarm_id in report.not_provable:
            report.say(f"{alarm_id} not provable here: {report.not_provable[alarm_id]}")
        elif alarm_id in report.fired_healthy:
            report.say(f"{alarm_id} FIRED WHILE HEALTHY: {report.fired_healthy[alarm_id]}")
    if report.dropped:
        report.say(f"{target} note: the kernel dropped {report.dropped} StatsD datagrams before the twin read them")
    verdict = "every provable alarm fired, none while healthy" if report.ok else "FAILED"
    report.say(f"{target} twin-alarms: {len(report.fired)} fired, {len(report.not_fired)} did not, "
               f"{len(report.fired_healthy)} fired while healthy, {len(report.not_provable)} not provable here: {verdict}")
