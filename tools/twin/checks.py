"""What each DAG in dags/ must have produced on a twin, read back through the API, S3 and Secrets Manager."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable

from . import aws
from .runs import AirflowApi, DagResult
from .statsd import StatsdListener
from .wiring import StackWiring


LOG_UPLOAD_WAIT = 60.0  # seconds


@dataclass
class WiringCheck:
    """A check of the generated wiring outside the DAGs (e.g. the PgBouncer exporter's stats connection)."""

    component: str
    detail: str
    problem: str = ""


@dataclass
class CheckContext:
    stack: StackWiring
    aws_env: dict[str, str]
    deployment_target: str  # what DEPLOYMENT_TARGET must say inside tasks ("eks" from the chart env, "mwaa" from startup.sh)
    remote_logs: bool  # task logs must be in the bucket's logs/ prefix (EKS remote logging)
    after_runs: Callable[[], WiringCheck] | None = None  # a wiring check that needs the runs done (e.g. the broker)
    statsd: StatsdListener | None = None  # what Airflow emitted to the target's metrics agent (twin-alarms reads it)


def _primes_below(stop: int) -> int:
    sieve = bytearray([1]) * stop
    sieve[:2] = b"\x00\x00"
    for n in range(2, int(stop ** 0.5) + 1):
        if sieve[n]:
            sieve[n * n::n] = bytearray(len(range(n * n, stop, n)))
    return sum(sieve)


def _smoke(api: AirflowApi, r: DagResult, ctx: CheckContext) -> str:
    text = api.xcom(r.dag_id, r.run_id, "check")
    if f"({ctx.deployment_target})" not in str(text):
        raise AssertionError(f"task reported {text!r}, expected DEPLOYMENT_TARGET={ctx.deployment_target}")
    return f"DEPLOYMENT_TARGET={ctx.deployment_target}"


def _sales(api: AirflowApi, r: DagResult, ctx: CheckContext) -> str:
    # The bucket comes from the Variable data_bucket, which only Secrets Manager holds (declared by the program).
    declared = {name.rsplit("/", 1)[-1]: value for name, value in ctx.stack.declared_secrets().items()}
    bucket = declared["data_bucket"]
    summary_ref = api.xcom(r.dag_id, r.run_id, "summarize_by_region")
    stored = json.loads(aws.read_object(ctx.stack, ctx.aws_env, summary_ref["key"]))
    if not stored["source"].startswith(f"s3://{bucket}/") or stored["total_orders"] != summary_ref["total_orders"]:
        raise AssertionError(f"summary in S3 does not match the run: {stored['source']}, {stored['total_orders']}")
    return f"s3://{bucket}/{summary_ref['key']} ({stored['total_orders']} orders; bucket from Secrets Manager)"


def _fanout(api: AirflowApi, r: DagResult, ctx: CheckContext) -> str:
    total = api.xcom(r.dag_id, r.run_id, "combine")
    expected = _primes_below(total["stop"])
    if total["primes"] != expected:
        raise AssertionError(f"{total['primes']} primes below {total['stop']}, expected {expected}")
    return f"{total['shards']} mapped tasks, {total['primes']} primes below {total['stop']}"


OUTPUT_CHECKS: dict[str, Callable[[AirflowApi, DagResult, CheckContext], str]] = {
    "smoke": _smoke, "s3_sales_rollup": _sales, "fanout_primes": _fanout,
}


def served_version(api: AirflowApi, expected: str) -> WiringCheck:
    """The API reports the stack's airflowVersion: the twin runs what the stack says, through that version's API."""
    served = api.call("GET", "/version")["version"]
    if served != expected:
        return WiringCheck("airflow-version", "", problem=f"{api.dialect.prefix}/version reports {served}, the stack "
                                                          f"says {expected}")
    return WiringCheck("airflow-version", f"Airflow {served} ({api.dialect.server}, {api.dialect.prefix})")


def check_logs(api: AirflowApi, r: DagResult, ctx: CheckContext) -> str:
    tis = api.task_instances(r.dag_id, r.run_id)
    text = api.log_text(r.dag_id, r.run_id, tis[0])
    if not text.strip():
        raise AssertionError(f"empty log for task {tis[0]['task_id']} through the API")
    if ctx.remote_logs:
        # A worker uploads a task's log when the task process ends, which can be just after the run is marked done.
        deadline = time.monotonic() + LOG_UPLOAD_WAIT
        while True:
            keys = aws.list_keys(ctx.stack, ctx.aws_env, "logs/")
            mine = [k for k in keys if f"dag_id={r.dag_id}/" in k and f"run_id={r.run_id}/" in k]
            if len(mine) >= len(tis) or time.monotonic() > deadline:
                break
            time.sleep(1)
        if len(mine) < len(tis):
            raise AssertionError(f"{len(mine)} log objects in s3://{ctx.stack.bucket}/logs/ for {len(tis)} task instances")
        return f"logs: {len(mine)} in s3://{ctx.stack.bucket}/logs/, read via API"
    return "logs: read via API"


def check_outputs(api: AirflowApi, results: list[DagResult], ctx: CheckContext) -> None:
    for r in results:
        if not r.ok:
            continue
        for check in (OUTPUT_CHECKS.get(r.dag_id), check_logs):
            if check is None:
                continue
            try:
                r.checks.append(check(api, r, ctx))
            except Exception as exc:  # one line per DAG, the reason in it
                r.problem = f"{getattr(check, '__name__', 'check').lstrip('_')}: {exc}"
                break
