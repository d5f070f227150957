"""Usage and capacity assumptions: everything the plan can't say. Printed with every result; `--assume key=value`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from .prices import CompareError


@dataclass(frozen=True)
class Assumption:
    value: float
    unit: str
    description: str


DEFAULTS: dict[str, Assumption] = {
    # usage that drives per-GB charges
    "natDataGbPerMonth": Assumption(20, "GB/month", "data processed by the NAT gateway(s): package installs, AWS APIs without a VPC endpoint, image pulls on EKS"),
    "s3StorageGb": Assumption(5, "GB", "stored in the Airflow bucket (DAGs, requirements, data; EKS task logs also go here)"),
    "mwaaLogsGbPerMonth": Assumption(5, "GB/month", "Airflow logs MWAA sends to CloudWatch Logs (5 log types at the configured level), ingested and kept a month"),
    "eksLogsGbPerMonth": Assumption(5, "GB/month", "EKS control-plane logs (api, audit, authenticator, controllerManager, scheduler) in CloudWatch Logs, ingested and kept a month"),
    "eksAgentCustomMetrics": Assumption(108, "metrics", "custom metrics the CloudWatch agent publishes from Airflow's StatsD on EKS (metric name x dimension set, as the agent maps them): 108 in the healthy run of this repository's 3 DAGs, measured 2026-12-06 by `make twin-alarms TARGET=eks`; per-DAG, per-task and per-pool metrics add more with each DAG"),
    "mwaaMetadbGb": Assumption(10, "GB", "MWAA metadata database storage (AWS's own pricing example uses 10 GB)"),
    # usage that grows with the workload (per task-hour: one task running for an hour), priced in the scan
    "taskLogGbPerTaskHour": Assumption(0.01, "GB/task-hour", "task logs written per task-hour: to CloudWatch Logs on MWAA (ingested and kept a month), to S3 on EKS (kept a month)"),
    "natGbPerTaskHour": Assumption(0.02, "GB/task-hour", "data a running task moves through the NAT gateway (internet APIs, AWS APIs without a VPC endpoint), on both targets"),
    "eksCrossAzGbPerTaskHour": Assumption(0.02, "GB/task-hour", "EKS traffic between AZs per task-hour (worker to PgBouncer/RDS/Redis/scheduler in the other AZ, both directions); MWAA bills none"),
    # operations: people's time, shown apart from the AWS bill and added in the TCO. The upgrade cadence is sourced:
    # three Kubernetes minor releases a year (KEP-2572, https://github.com/kubernetes/enhancements/issues/2572) and
    # one minor version per control-plane upgrade (https://docs.aws.amazon.com/eks/latest/eksctl/cluster-upgrade.html);
    # the hours per task are estimates, which is why tco.sensitivity states where the verdict flips.
    "opsHourlyRate": Assumption(100, "USD/h", "loaded cost of one platform-engineer hour (about $200k a year over 2,000 h); use your own"),
    "mwaaOpsHoursPerMonth": Assumption(4, "h/month", "MWAA upkeep: Airflow upgrades are one API call but DAGs and requirements must be tested (2 a year x 8 h = 1.3 h), requirements/plugins changes and alarms (1.5 h), support cases (1 h); AWS patches and runs the rest"),
    "eksOpsHoursPerMonth": Assumption(20, "h/month", "EKS upkeep: 3 Kubernetes minor upgrades a year to stay in standard support (Kubernetes ships 3 minor releases a year, KEP-2572; EKS upgrades one minor version at a time, eksctl docs; 12 h each, an estimate = 3 h), chart and Airflow upgrades (2 a year x 16 h = 2.7 h), monthly node AMI patching (2 h), KEDA/autoscaler/CSI add-on upgrades (1.5 h), RDS/ElastiCache maintenance (1 h), on-call for the self-run components (10 h)"),
    # blue/green upgrades (docs/upgrades.md): how long both sides run, from green's creation to removing blue
    "upgradeOverlapDays": Assumption(7, "days", "both sides of a blue/green upgrade run this long: green created, the runbook's move and checks, a week on green with blue kept to roll back to"),
    # the break-even scan (pod and node sizes are not assumptions: they come from the plan, see docs/comparison.md)
    "maxScale": Assumption(20, "x", "the break-even scan grows the configured workload (average and peak together) up to this multiple"),
}


MAX_SCALE_LIMIT = 1000  # the scan prices every peak task from 1 to maxScale × peak: keep it to seconds


def allowed(key: str) -> str:
    """What values an assumption accepts, as the error messages say it."""
    if key == "maxScale":
        return f"1 to {MAX_SCALE_LIMIT}"
    return "a finite number >= 0"


def check(key: str, value: float) -> None:
    """One clean CompareError line naming the key, the value and what is allowed."""
    if not math.isfinite(value):
        raise CompareError(f"assumption {key} = {value:g} is not a finite number; allowed: {allowed(key)}")
    if value < 0:
        raise CompareError(f"assumption {key} = {value:g} is negative; allowed: {allowed(key)}")
    if key == "maxScale" and not 1 <= value <= MAX_SCALE_LIMIT:
        raise CompareError(f"assumption {key} = {value:g} is out of range; allowed: {allowed(key)}")


class Assumptions(Mapping[str, float]):
    def __init__(self, overrides: Mapping[str, float] | None = None):
        unknown = sorted(set(overrides or {}) - set(DEFAULTS))
        if unknown:
            raise CompareError(f"unknown assumption {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
        self.overrides = {key: float(value) for key, value in (overrides or {}).items()}
        for key, value in self.overrides.items():
            check(key, value)

    def __getitem__(self, key: str) -> float:
        return float(self.overrides.get(key, DEFAULTS[key].value))

    def __iter__(self):
        return iter(DEFAULTS)

    def __len__(self) -> int:
        return len(DEFAULTS)

    def describe(self) -> dict[str, dict]:
        return {key: {"value": self[key], "unit": a.unit, "description": a.description,
                      "overridden": key in self.overrides} for key, a in DEFAULTS.items()}

    @staticmethod
    def parse(pairs: Iterable[str]) -> dict[str, float]:
        parsed: dict[str, float] = {}
        for pair in pairs:
            key, sep, text = pair.partition("=")
            if not sep:
                raise CompareError(f"--assume {pair!r} is not key=value; known keys: {', '.join(DEFAULTS)}")
            try:
                value = float(text)
            except ValueError:
                raise CompareError(f"--assume {key.strip()}={text!r}: not a number") from None
            if key.strip() in DEFAULTS:  # unknown keys: Assumptions() lists the known ones
                check(key.strip(), value)
            parsed[key.strip()] = value
        return parsed
