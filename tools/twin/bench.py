"""Figures of the twins (scripts/bench-twin): start-to-every-DAG-succeeded per target, twin-migrate, and tasks per
minute through the EKS twin's Celery worker with the fan-out DAG. Prints figures; asserts nothing."""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import datetime

from . import cli
from .eks import start_eks
from .migrate import run_migrate
from .runs import run_all
from .session import cleanup, new_workdir, start_twin
from .supervisor import Supervisor


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def fanout_throughput(stack: str, shards: int, shard_size: int) -> tuple[int, float, int]:
    """(task instances, seconds from the first task's start to the last one's end, worker concurrency)."""
    supervisor = Supervisor(new_workdir("bench"))
    try:
        twin = start_twin("eks", stack, {}, supervisor, start_eks)
        api = twin.api()
        api.wait_parsed(["fanout_primes"], timeout=300, alive=twin.alive)
        for key, value in (("fanout_shards", shards), ("fanout_shard_size", shard_size)):
            api.call("POST", "/variables", json={"key": key, "value": str(value)})
        [result] = run_all(api, ["fanout_primes"], timeout=1800, alive=twin.alive)
        if not result.ok:
            raise SystemExit(f"bench-twin: fanout_primes {result.state}: {result.problem}")
        tis = api.task_instances("fanout_primes", result.run_id)
        began = min(_parse(ti["start_date"]) for ti in tis)
        ended = max(_parse(ti["end_date"]) for ti in tis)
        concurrency = int(twin.stack.airflow_release()["values"]["config"]["celery"]["worker_concurrency"])
        return len(tis), (ended - began).total_seconds(), concurrency
    finally:
        supervisor.stop_all()
        cleanup(supervisor.workdir, keep_logs=False)


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench-twin", description=__doc__)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--shards", type=int, default=64, help="fanout_shards for the throughput run (max 64)")
    parser.add_argument("--shard-size", type=int, default=2000, help="fanout_shard_size for the throughput run")
    args = parser.parse_args()
    print(f"bench-twin on {platform.node()}: {os.cpu_count()} cores, stack {args.stack}", flush=True)
    for target in ("eks", "mwaa"):
        began = time.monotonic()
        report = cli.run_one(target, args.stack, {}, keep=False, timeout=900)
        print(f"FIGURE {target} twin: start -> every DAG succeeded: {report.seconds_to_all_succeeded:.1f}s "
              f"({'all checks passed' if report.ok else 'with failed checks, see above'}; "
              f"{time.monotonic() - began:.1f}s including stop)", flush=True)
    result = run_migrate(args.stack, {}, keep=False, timeout=900)
    print(f"FIGURE twin-migrate: {result.seconds:.1f}s (both twins, runbook steps 2-6, DAGs on EKS; "
          f"{'ok' if result.clean and result.uses_variable else 'FAILED'})", flush=True)
    tasks, seconds, concurrency = fanout_throughput(args.stack, args.shards, args.shard_size)
    print(f"FIGURE eks twin Celery worker: {tasks} task instances of fanout_primes ({args.shards} shards of "
          f"{args.shard_size}) in {seconds:.1f}s = {tasks / seconds * 60:.0f} tasks/minute "
          f"(worker_concurrency {concurrency}; count_primes runs at most 4 at a time: max_active_tis_per_dagrun)",
          flush=True)


if __name__ == "__main__":
    main()
