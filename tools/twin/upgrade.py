"""`make twin-upgrade TARGET=mwaa|eks FROM=A TO=B`: a blue/green upgrade rehearsed on twins, docs/upgrades.md's steps in order.

Blue runs the stack config at A and green at B, each as the twins run a stack (tools/twin/eks.py, mwaa.py), green
with what the program gives a green side (`upgrade`, components/eks/side.py and components/mwaa.py): DAGs paused at
creation. Each side runs its own Airflow: the default .venv-airflow, or .venv-airflow-<version> for the other one
(scripts/setup-twin-airflow-env). Both read the same dags/ prefix of the bucket: every DAG must succeed on blue before
the move and on green after it, which is the check that the DAGs run unchanged on both versions.

A blue at Airflow 2 (MWAA 2.10.3 -> 3.3.1, the new-environment path) is read through /api/v1, which never returns
connection passwords: step 3 then imports with --allow-incomplete and sets each listed password on green, as
docs/migration.md ("Hidden secrets", option 3) tells the operator to.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components import airflow_config as af
from components.settings import ConfigError, decode_config_values, parse_settings
from tools.planner import PROJECT, ROOT, stack_config

from . import mwaa_runtime
from .eks import AIRFLOW_MAJORS as EKS_MAJORS
from .errors import TwinError
from .migrate import SOURCE_METADATA, _migrate, _seed, login_args, window_overrides
from .runs import dag_ids_in, dialect_for
from .session import Report, StopOnSignal, Twin, cleanup, exercise, new_workdir, start_twin
from .supervisor import Supervisor


@dataclass
class UpgradeResult:
    blue: Report  # the DAGs on blue before the move
    green: Report  # the DAGs on green after it
    clean: bool  # every diff: "No differences."
    paused_at_creation: bool  # green's DAGs were paused from creation until the runbook unpaused them
    unpaused_as_blue: bool  # after the cut-over green's paused state is blue's before it
    uses_variable: bool  # the fan-out DAG on green used the variable moved from blue
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.blue.ok and self.green.ok and self.clean and self.paused_at_creation and self.unpaused_as_blue
                and self.uses_variable)


def check_versions(stack: str, target: str, old: str, new: str) -> None:
    """The step is one the program's `upgrade` key accepts (same rules, same one-line message), and both run here."""
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix):]: v for k, v in stack_config(stack).items() if k.startswith(prefix)}
    try:
        parse_settings({**decode_config_values(raw), "target": target, "airflowVersion": old,
                        "upgrade": {"airflowVersion": new}}, stack)
    except ConfigError as error:
        raise TwinError("; ".join(error.problems)) from None
    majors = TWIN_MAJORS[target]
    for version in (old, new):
        if version.split(".", 1)[0] not in majors:
            raise TwinError(f"FROM/TO: the {target} twin runs Airflow {' and '.join(f'{m}.x' for m in majors)}; "
                            f"{version} is not; allowed: versions of those majors")


# The Airflow majors each twin runs: MWAA's per the images it follows, EKS's per the chart paths it runs.
TWIN_MAJORS = {"mwaa": tuple(mwaa_runtime.IMAGES_BY_MAJOR), "eks": EKS_MAJORS}


def _set_hidden_passwords(green: Twin, export: Path) -> None:
    """The runbook's hand step after an import from 2.x: each connection password the export lists as hidden is set
    on green (here from what _seed put on blue; by the operator in AWS)."""
    known = {c["connection_id"]: c["password"] for c in SOURCE_METADATA["connections"]}
    api = green.api()
    for item in json.loads(export.read_text())["connections"]:
        if "password" in item.get("hidden", []):
            path = f"/connections/{item['connection_id']}"
            api.call("PATCH", path, params={"update_mask": "password"},
                     json={"connection_id": item["connection_id"], "conn_type": item["conn_type"],
                           "password": known[item["connection_id"]]})
            # The diff cannot compare a secret the source hid: read it back (the migration window unmasks it).
            if api.call("GET", path).get("password") != known[item["connection_id"]]:
                raise TwinError(f"runbook step 3: {item['connection_id']}'s password did not read back from green")


def _paused(twin: Twin) -> dict[str, bool]:
    dags = twin.api().call("GET", "/dags", params={"limit": 1000})["dags"]
    return {d["dag_id"]: d["is_paused"] for d in dags}


def run_upgrade(stack: str, target: str, old: str, new: str, overrides: dict[str, Any], timeout: int) -> UpgradeResult:
    from .cli import starter  # noqa: PLC0415 - cli imports this module when `upgrade` is asked for

    check_versions(stack, target, old, new)
    timings: dict[str, float] = {}
    began = last = time.monotonic()

    def lap(step: str) -> None:
        nonlocal last
        now = time.monotonic()
        timings[step] = now - last
        last = now

    blue_overrides = window_overrides(stack, {**overrides, "airflowVersion": old})
    mwaa = blue_overrides["mwaa"]
    green_overrides = {**blue_overrides, "airflowVersion": new,
                       "mwaa": {**mwaa, "airflowConfigurationOptions": {**mwaa["airflowConfigurationOptions"],
                                                                        **af.PAUSED_AT_CREATION}}}
    blue_sup, green_sup = Supervisor(new_workdir(f"{target}-blue")), Supervisor(new_workdir(f"{target}-green"))
    failed = True
    try:
        with StopOnSignal():
            blue = start_twin(target, stack, blue_overrides, blue_sup, starter(target))
            _seed(blue)
            lap(f"blue at {old} up and seeded")
            blue_report = exercise(blue, began, timeout=timeout)
            for line in blue_report.lines():
                print(f"blue  {line}", flush=True)
            lap("every DAG on blue")
            green = start_twin(target, stack, green_overrides, green_sup, starter(target))
            green.api().wait_parsed(dag_ids_in(green.home.dags), timeout=300, alive=green.alive)
            paused_at_creation = all(_paused(green).values())
            lap(f"green at {new} up, DAGs parsed")
            env = {**os.environ, "BLUE_PW": blue.home.admin_password, "GREEN_PW": green.home.admin_password,
                   "PYTHONPATH": str(ROOT)}
            source = login_args("source", blue, "BLUE_PW")
            blue_side = login_args("target", blue, "BLUE_PW")
            green_side = login_args("target", green, "GREEN_PW")
            work = blue_sup.workdir
            # Step 2: record blue's paused state, pause blue, export (the export carries blue's DAGs paused).
            _migrate("step 2", ["export", *source, "--kinds", "dags", "-o", "dag-state-before.json"], env, work)
            _migrate("step 2", ["pause", *blue_side], env, work)
            blue_paused = all(_paused(blue).values())
            _migrate("step 2", ["export", *source, "-o", "blue-export.json"], env, work)
            lap("pause blue, export from blue")
            # Step 3: dry run, import, diff; green's DAGs stay paused (as blue's are now).
            incomplete = ["--allow-incomplete"] if dialect_for(old).hides_passwords else []
            _migrate("step 3", ["import", "blue-export.json", *green_side, "--dry-run", *incomplete], env, work)
            _migrate("step 3", ["import", "blue-export.json", *green_side, *incomplete], env, work)
            _set_hidden_passwords(green, work / "blue-export.json")
            first_diff = _migrate("step 3", ["diff", "blue-export.json", *green_side], env, work)
            paused_at_creation = paused_at_creation and all(_paused(green).values())
            lap("import into green, diff")
            # Step 4: unpause green as blue was before step 2.
            _migrate("step 4", ["import", "dag-state-before.json", *green_side, "--kinds", "dags"], env, work)
            unpaused_as_blue = blue_paused and not any(_paused(green).values())
            lap("unpause green")
            green_report = exercise(green, time.monotonic(), timeout=timeout)
            for line in green_report.lines():
                print(f"green {line}", flush=True)
            lap("every DAG on green")
            diff = _migrate("step 5", ["diff", "blue-export.json", *green_side, "--kinds", "variables,connections,pools"],
                            env, work)
            lap("final diff")
            fanout = next((r for r in green_report.results if r.dag_id == "fanout_primes"), None)
            shards = SOURCE_METADATA["variables"][0]["value"]
            result = UpgradeResult(
                blue_report, green_report, clean="No differences." in first_diff and "No differences." in diff,
                paused_at_creation=paused_at_creation, unpaused_as_blue=unpaused_as_blue,
                uses_variable=fanout is not None and fanout.ok and f"{shards} mapped tasks" in fanout.checks[0],
                timings=timings)
            failed = not result.ok
            _summary(target, old, new, result, time.monotonic() - began)
            return result
    finally:
        for sup in (green_sup, blue_sup):
            sup.stop_all()
            cleanup(sup.workdir, keep_logs=failed)


def _summary(target: str, old: str, new: str, r: UpgradeResult, seconds: float) -> None:
    for step, spent in r.timings.items():
        print(f"twin-upgrade timing  {step:<32} {spent:7.1f}s", flush=True)
    print(f"twin-upgrade {target} {old} -> {new}: diff {'0 differences' if r.clean else 'FOUND DIFFERENCES'}; "
          f"green's DAGs {'paused' if r.paused_at_creation else 'NOT PAUSED'} at creation, "
          f"{'unpaused as blue was' if r.unpaused_as_blue else 'NOT UNPAUSED AS BLUE WAS'} after blue was paused; "
          f"{sum(x.ok for x in r.blue.results)}/{len(r.blue.results)} DAGs on blue, "
          f"{sum(x.ok for x in r.green.results)}/{len(r.green.results)} on green; fan-out "
          f"{'used' if r.uses_variable else 'DID NOT USE'} the moved variable; {seconds:.1f}s in all", flush=True)
