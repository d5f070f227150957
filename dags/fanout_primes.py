"""
Fan-out / fan-in with dynamic task mapping.

``plan_shards`` splits the range ``[0, shards * shard_size)`` into shards at run time; ``count_primes``
is mapped over them with ``.expand()`` (one task instance per shard, as many as the plan returns, at
most ``max_active_tis_per_dagrun`` at a time); ``combine`` gathers the mapped results.

The work is pure Python so the DAG runs on any target without credentials. The size of the plan comes
from the Airflow Variables ``fanout_shards`` (default 4) and ``fanout_shard_size`` (default 1000),
read when the planning task runs, never while the file is parsed.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

try:  # Airflow 3: the Task SDK is the public authoring interface
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x (MWAA supports 2.9.2-2.11.2)
    from airflow.decorators import dag, task

MAX_SHARDS = 64


@dag(
    dag_id="fanout_primes",
    description="Counts primes shard by shard with dynamic task mapping, then adds them up",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(minutes=5),
    },
    tags=["example", "dynamic-task-mapping"],
    doc_md=__doc__,
)
def fanout_primes():
    @task
    def plan_shards() -> list[dict]:
        try:
            from airflow.sdk import Variable
        except ImportError:  # Airflow 2.x
            from airflow.models import Variable

        shards = int(Variable.get("fanout_shards", 4))
        size = int(Variable.get("fanout_shard_size", 1000))
        if not 1 <= shards <= MAX_SHARDS or size < 1:
            raise ValueError(f"need 1 <= fanout_shards <= {MAX_SHARDS} and fanout_shard_size >= 1")
        return [{"start": i * size, "stop": (i + 1) * size} for i in range(shards)]

    @task(max_active_tis_per_dagrun=4)
    def count_primes(shard: dict) -> dict:
        """Primes in [start, stop), by trial division over odd numbers."""

        def is_prime(n: int) -> bool:
            if n < 2:
                return False
            if n % 2 == 0:
                return n == 2
            factor = 3
            while factor * factor <= n:
                if n % factor == 0:
                    return False
                factor += 2
            return True

        count = sum(1 for n in range(shard["start"], shard["stop"]) if is_prime(n))
        return {**shard, "primes": count}

    @task
    def combine(results: list[dict]) -> dict:
        # `results` is a lazy sequence of the mapped tasks' XComs. Index it: Airflow 2.9 has no slicing,
        # and iterating it on Airflow 3 asks for one item past the end (an XCom-not-found error in the log).
        results = sorted((results[i] for i in range(len(results))), key=lambda r: r["start"])
        return {
            "shards": len(results),
            "stop": results[-1]["stop"],
            "primes": sum(r["primes"] for r in results),
        }

    combine(count_primes.expand(shard=plan_shards()))


fanout_primes()
