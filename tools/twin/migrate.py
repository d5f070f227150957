"""`make twin-migrate`: both twins from the same stack config, then docs/migration.md's commands in order.

The runbook's own tool (`python -m tools.migrate`) talks to the twins' REST APIs where the runbook uses
`--source-mwaa`/`--target-mwaa` (MWAA's InvokeRestApi) and a `kubectl port-forward`ed URL. The config of
step 3 (the migration window: secrets revealed, pages of 1,000) is applied when the twins start, instead of
`pulumi config set` + `pulumi up`; step 5's `pulumi up` that restores masking is not replayed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.planner import PROJECT, ROOT, stack_config

from .airflow_procs import ADMIN_USER
from .eks import start_eks
from .errors import TwinError
from .mwaa import start_mwaa
from .runs import dag_ids_in
from .session import Report, StopOnSignal, Twin, cleanup, exercise, keep_running, new_supervisor, start_twin

# docs/migration.md step 3: what `pulumi config set --path mwaa.airflowConfigurationOptions[...]` sets for the window.
MIGRATION_WINDOW_OPTIONS = {"core.hide_sensitive_var_conn_fields": "False", "logging.min_length_masked_secret": "1000000",
                            "api.maximum_page_limit": "1000"}
# What the MWAA side holds before the move (the runbook moves whatever is there; these make it observable:
# fanout_shards changes what the fan-out DAG does on EKS after the move).
SOURCE_METADATA = {
    "variables": [{"key": "fanout_shards", "value": "6", "description": "set on MWAA, moved to EKS"},
                  {"key": "etl_api_token", "value": "token-moved-by-the-runbook", "description": "sensitive by name"}],
    "connections": [{"connection_id": "warehouse", "conn_type": "postgres", "host": "warehouse.internal", "port": 5432,
                     "login": "etl", "password": "warehouse-password", "schema": "analytics"}],
    "pools": [{"name": "warehouse_pool", "slots": 3, "description": "moved by the runbook", "include_deferred": False}],
}


def window_overrides(stack: str, overrides: dict[str, Any]) -> dict[str, Any]:
    mwaa = overrides.get("mwaa") or json.loads(stack_config(stack).get(f"{PROJECT}:mwaa", "{}"))
    options = {**mwaa.get("airflowConfigurationOptions", {}), **MIGRATION_WINDOW_OPTIONS}
    return {**overrides, "mwaa": {**mwaa, "airflowConfigurationOptions": options}}


def _seed(twin: Twin) -> None:
    api = twin.api()
    for kind, items in SOURCE_METADATA.items():
        api.create(kind, items)


def login_args(role: str, twin: Twin, password_env: str) -> list[str]:
    """tools.migrate's `--source-*` or `--target-*` flags for a twin's API as its admin (the password in `password_env`)."""
    return [f"--{role}-url", twin.home.url, f"--{role}-user", ADMIN_USER, f"--{role}-password-env", password_env]


def _migrate(step: str, args: list[str], env: dict[str, str], workdir: Path, expect: tuple[int, ...] = (0,)) -> str:
    argv = [sys.executable, "-m", "tools.migrate", *args]
    done = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    print(f"$ python -m tools.migrate {' '.join(args)}", flush=True)
    print(done.stdout.rstrip(), flush=True)
    if done.returncode not in expect:
        raise TwinError(f"runbook {step}: python -m tools.migrate {args[0]} exited {done.returncode}: "
                        f"{(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return done.stdout


@dataclass
class MigrateResult:
    source: Report  # the MWAA twin running the DAGs before the move
    moved: Report  # the EKS twin running them after it
    clean: bool  # step 4 and step 6 diffs: "No differences."
    uses_variable: bool  # the fan-out DAG on EKS used the fanout_shards variable moved from MWAA
    seconds: float

    @property
    def ok(self) -> bool:
        return self.source.ok and self.moved.ok and self.clean and self.uses_variable


def run_migrate(stack: str, overrides: dict[str, Any], keep: bool, timeout: int) -> MigrateResult:
    began = time.monotonic()
    overrides = window_overrides(stack, overrides)
    mwaa_sup, eks_sup = new_supervisor("mwaa"), new_supervisor("eks")
    failed, kept = True, False
    try:
        with StopOnSignal():
            mwaa = start_twin("mwaa", stack, overrides, mwaa_sup, start_mwaa)
            _seed(mwaa)
            source_report = exercise(mwaa, began, timeout=timeout)  # MWAA has been running the DAGs
            for line in source_report.lines():
                print(line, flush=True)
            eks = start_twin("eks", stack, overrides, eks_sup, start_eks)  # step 1: EKS beside MWAA
            env = {**os.environ, "MWAA_PW": mwaa.home.admin_password, "EKS_PW": eks.home.admin_password,
                   "PYTHONPATH": str(ROOT)}
            mwaa_side = login_args("source", mwaa, "MWAA_PW")
            mwaa_target = login_args("target", mwaa, "MWAA_PW")
            eks_side = login_args("target", eks, "EKS_PW")
            work = mwaa_sup.workdir
            # Step 2: record the paused state, pause on MWAA. Step 3: export.
            _migrate("step 2", ["export", *mwaa_side, "--kinds", "dags", "-o", "dag-state-before.json"], env, work)
            _migrate("step 2", ["pause", *mwaa_target], env, work)
            _migrate("step 3", ["export", *mwaa_side, "-o", "mwaa-export.json"], env, work)
            # Step 4: dry run, import, diff. EKS must have parsed the DAGs for the paused state (the runbook waits too).
            eks.api().wait_parsed(dag_ids_in(eks.home.dags), timeout=300, alive=eks.alive)
            _migrate("step 4", ["import", "mwaa-export.json", *eks_side, "--dry-run"], env, work)
            _migrate("step 4", ["import", "mwaa-export.json", *eks_side], env, work)
            first_diff = _migrate("step 4", ["diff", "mwaa-export.json", *eks_side], env, work)
            # Step 5: unpause on EKS as the DAGs were on MWAA. Step 6: verify.
            _migrate("step 5", ["import", "dag-state-before.json", *eks_side, "--kinds", "dags"], env, work)
            diff = _migrate("step 6", ["diff", "mwaa-export.json", *eks_side, "--kinds", "variables,connections,pools"],
                            env, work)
            moved = exercise(eks, began, timeout=timeout)
            for line in moved.lines():
                print(line, flush=True)
            fanout = next((r for r in moved.results if r.dag_id == "fanout_primes"), None)
            shards = SOURCE_METADATA["variables"][0]["value"]
            uses_variable = fanout is not None and fanout.ok and f"{shards} mapped tasks" in fanout.checks[0]
            clean = "No differences." in first_diff and "No differences." in diff
            result = MigrateResult(source_report, moved, clean, uses_variable, time.monotonic() - began)
            failed = not result.ok
            print(f"twin-migrate: diff {'0 differences' if clean else 'FOUND DIFFERENCES'}; "
                  f"{sum(r.ok for r in moved.results)}/{len(moved.results)} DAGs succeeded on the EKS twin; fan-out DAG "
                  f"{'used' if uses_variable else 'DID NOT USE'} the migrated fanout_shards={shards}; "
                  f"{result.seconds:.1f}s in all", flush=True)
            if keep:  # kept even when a check failed, as `tools.twin eks|mwaa --keep` does
                for name, twin, sup in (("mwaa", mwaa, mwaa_sup), ("eks", eks, eks_sup)):
                    keep_running(name, sup, twin.home)
                print("stop both: python -m tools.twin migrate --stop")
                kept = True
            return result
    finally:
        if not kept:
            for sup in (eks_sup, mwaa_sup):
                sup.stop_all()
                cleanup(sup.workdir, keep_logs=failed)
