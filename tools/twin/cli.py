"""`python -m tools.twin eks|mwaa|migrate|alarms`: run a live twin of a target (see README, "Twins"); `alarms --target
eks|mwaa` proves every alarm of the plan on it (tools/twin/alarm_run.py, README "Alarms")."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from components.settings.allowed import AIRFLOW_VERSIONS
from tools.planner import PROJECT, available_stacks, stack_config

from .eks import start_eks
from .errors import TwinError
from .session import Report, StopOnSignal, cleanup, exercise, keep_running, new_supervisor, start_twin, stop_kept

BROKERS = ("elasticache", "in-cluster")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.twin", description=__doc__)
    parser.add_argument("target", choices=["eks", "mwaa", "migrate", "upgrade", "alarms"])
    parser.add_argument("--target", dest="alarms_target", choices=["eks", "mwaa"],
                        help="alarms only: the target whose alarms to prove")
    parser.add_argument("--stack", default="dev", help="stack config Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--broker", choices=BROKERS, help="EKS only: override eks.broker for this run")
    parser.add_argument("--airflow-version", metavar="X.Y.Z",
                        help="eks/mwaa only: override airflowVersion for this run (e.g. 2.10.3: chart 1.19.0 on EKS); "
                             "its Airflow runs from .venv-airflow-X.Y.Z (bash scripts/setup-twin-airflow-env X.Y.Z)")
    parser.add_argument("--keep", action="store_true", help="leave the twin running; prints the UI URL and admin login")
    parser.add_argument("--stop", action="store_true", help="stop a twin left running by --keep")
    parser.add_argument("--timeout", type=int, default=900, help="seconds to wait for the DAG runs (default 900)")
    upgrade = parser.add_argument_group("upgrade (a blue/green upgrade rehearsed, docs/upgrades.md)")
    upgrade.add_argument("--on", choices=["eks", "mwaa"], default="eks", help="the target upgraded (default eks)")
    upgrade.add_argument("--from", dest="from_version", metavar="A", help="blue's airflowVersion")
    upgrade.add_argument("--to", dest="to_version", metavar="B", help="green's airflowVersion")
    return parser.parse_args(argv)


def overrides_for(stack: str, broker: str | None) -> dict[str, Any]:
    if stack not in available_stacks():
        raise TwinError(f"--stack: {stack!r} has no Pulumi.{stack}.yaml; allowed: {', '.join(available_stacks())}")
    if broker is None:
        return {}
    eks = json.loads(stack_config(stack).get(f"{PROJECT}:eks", "{}"))
    return {"eks": {**eks, "broker": broker}}


def starter(target: str):
    if target == "eks":
        return start_eks
    from .mwaa import start_mwaa

    return start_mwaa


def run_one(target: str, stack: str, overrides: dict[str, Any], keep: bool, timeout: int) -> Report:
    began = time.monotonic()
    supervisor = new_supervisor(target)  # its processes are recorded from the first one on
    failed, running = True, False
    try:
        with StopOnSignal():
            twin = start_twin(target, stack, overrides, supervisor, starter(target))
            report = exercise(twin, began, timeout=timeout)
            for line in report.lines():
                print(line, flush=True)
            failed, running = not report.ok, True
            if keep:  # kept even when a check failed: that is when a look at the UI helps most
                keep_running(target, supervisor, twin.home)
                print(f"stop: python -m tools.twin {target} --stop")
            return report
    finally:
        if not (keep and running):
            supervisor.stop_all()
            cleanup(supervisor.workdir, keep_logs=failed)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.stop:
            names = ["eks", "mwaa"] if args.target == "migrate" else [args.target]
            for name in names:
                print(stop_kept(name))
            return 0
        if args.broker and args.target != "eks" and args.alarms_target != "eks":
            raise TwinError("--broker: only with the eks target")
        if (args.target == "alarms") != (args.alarms_target is not None):
            raise TwinError("--target: eks or mwaa, with (and only with) `alarms`")
        overrides = overrides_for(args.stack, args.broker)
        if args.airflow_version:
            if args.target not in ("eks", "mwaa"):
                raise TwinError("--airflow-version: only with eks or mwaa (upgrade takes --from and --to)")
            if args.airflow_version not in AIRFLOW_VERSIONS:  # the program's list, checked before anything plans
                raise TwinError(f"--airflow-version: {args.airflow_version!r} is not allowed; allowed: "
                                f"{', '.join(AIRFLOW_VERSIONS)}")
            overrides["airflowVersion"] = args.airflow_version
        if args.target == "upgrade":
            from .upgrade import run_upgrade

            if not (args.from_version and args.to_version):
                raise TwinError("upgrade: --from A and --to B are both needed (make twin-upgrade TARGET=eks FROM=A TO=B)")
            return 0 if run_upgrade(args.stack, args.on, args.from_version, args.to_version, overrides,
                                    args.timeout).ok else 1
        if args.target == "alarms":
            from .alarm_run import run_alarms

            report = run_alarms(args.alarms_target, args.stack, overrides, timeout=args.timeout)
            print(f"{args.alarms_target} twin-alarms: {report.seconds:.0f} s from start to everything stopped")
            return 0 if report.ok else 1
        if args.target == "migrate":
            from .migrate import run_migrate

            return 0 if run_migrate(args.stack, overrides, keep=args.keep, timeout=args.timeout).ok else 1
        report = run_one(args.target, args.stack, overrides, args.keep, args.timeout)
        return 0 if report.ok else 1
    except TwinError as exc:
        print(f"twin: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("twin: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
