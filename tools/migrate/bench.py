"""Benchmark: move N variables, connections and pools between two local Airflow 3 instances.

Prints the time of each phase (startup, fill, export, import, diff) and the total of export+import+diff.
Run through ``scripts/bench-migrate``; the figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .localairflow import DEFAULT_VENV, REPO, bulk_create, start_pair

def dataset(n_vars: int, n_conns: int, n_pools: int) -> dict[str, list[dict]]:
    variables = []
    for i in range(n_vars):
        if i % 10 == 0:
            value = json.dumps({"id": i, "tags": ["a", "b"], "limits": {"cpu": 2, "mem": "4Gi"}})
        elif i % 10 == 1:
            variables.append({"key": f"bench_secret_{i:05d}", "value": f"s3cret-{i:05d}-{'x' * 24}",
                              "description": "sensitive by name"})
            continue
        else:
            value = f"value-{i:05d}-" + "v" * 80
        variables.append({"key": f"bench_var_{i:05d}", "value": value, "description": None})
    connections = []
    for i in range(n_conns):
        kind = ("postgres", "http", "aws")[i % 3]
        extra = json.dumps({"region_name": "eu-west-1"}) if kind == "aws" else None
        connections.append({"connection_id": f"bench_conn_{i:04d}", "conn_type": kind, "host": f"host{i}.internal",
                            "login": f"user{i}", "password": f"pw-{i:04d}-secret", "schema": "db",
                            "port": 5000 + (i % 1000), "description": f"connection {i}", "extra": extra})
    pools = [{"name": f"bench_pool_{i:03d}", "slots": 1 + i % 32, "description": f"pool {i}",
              "include_deferred": i % 2 == 0} for i in range(n_pools)]
    return {"variables": variables, "connections": connections, "pools": pools}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench-migrate", description=__doc__)
    p.add_argument("--variables", type=int, default=10_000)
    p.add_argument("--connections", type=int, default=1_000)
    p.add_argument("--pools", type=int, default=100)
    p.add_argument("--api-workers", type=int, default=1, help="uvicorn workers per API server (default 1)")
    p.add_argument("--workers", type=int, default=8, help="parallel requests of the migrate command")
    p.add_argument("--write-workers", type=int, default=None, help="bulk writes in flight (migrate's default if unset)")
    p.add_argument("--page-limit", type=int, default=None,
                   help="[api] maximum_page_limit of both instances (Airflow's default 100 if unset)")
    p.add_argument("--target-masks", choices=("yes", "no"), default="no",
                   help="whether the target API server masks secrets (Airflow default: yes; the runbook turns it off for the migration window, and so does this benchmark by default)")
    p.add_argument("--venv", default=os.environ.get("MIGRATE_AIRFLOW_VENV", str(DEFAULT_VENV)),
                   help="virtualenv with Airflow 3 (default .venv-airflow)")
    args = p.parse_args(argv)
    venv = Path(args.venv)
    if not (venv / "bin" / "airflow").exists():
        print(f"bench-migrate: no Airflow in {venv} (run `make airflow-venv`)", file=sys.stderr)
        return 1

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as tmp:
        t0 = time.monotonic()
        extra_env = {"AIRFLOW__API__MAXIMUM_PAGE_LIMIT": str(args.page_limit)} if args.page_limit else {}
        source, target = start_pair(Path(tmp), venv=venv, workers=args.api_workers, extra_env=extra_env,
                                    target_hides_secrets=args.target_masks == "yes")
        times["startup (2 instances)"] = time.monotonic() - t0
        try:
            data = dataset(args.variables, args.connections, args.pools)
            t0 = time.monotonic()
            s = source.session()
            for kind in ("variables", "connections", "pools"):
                bulk_create(source, kind, data[kind], session=s)
            times["fill"] = time.monotonic() - t0

            env = {**os.environ, "BENCH_SRC_PW": source.password, "BENCH_DST_PW": target.password}
            src = ["--source-url", source.url, "--source-user", source.user, "--source-password-env", "BENCH_SRC_PW"]
            dst = ["--target-url", target.url, "--target-user", target.user, "--target-password-env", "BENCH_DST_PW"]
            export_file = Path(tmp) / "export.json"
            common = ["--json", "--workers", str(args.workers)]
            if args.write_workers:
                common += ["--write-workers", str(args.write_workers)]
            summaries = {}
            for phase, cmd in (
                ("export", ["export", *src, "-o", str(export_file), *common]),
                ("import", ["import", str(export_file), *dst, *common]),
                ("diff", ["diff", str(export_file), *dst, *common]),
            ):
                if phase == "diff" and args.target_masks == "yes":
                    # As the runbook's step 6: masking was just turned back on, so the API server restarted and
                    # learns every secret again while the diff reads them.
                    t0 = time.monotonic()
                    target.stop()
                    target.start()
                    target.wait_ready()
                    times["target restart"] = time.monotonic() - t0
                    cmd = [*cmd[:2], "--target-url", target.url, *cmd[4:]]
                t0 = time.monotonic()
                proc = subprocess.run([sys.executable, "-m", "tools.migrate", *cmd], cwd=REPO, env=env,
                                      capture_output=True, text=True)
                times[phase] = time.monotonic() - t0
                if proc.returncode not in (0, 3):
                    print(f"bench-migrate: {phase} failed ({proc.returncode}): {proc.stderr.strip()}", file=sys.stderr)
                    return 1
                summaries[phase] = json.loads(proc.stdout)
        finally:
            source.stop()
            target.stop()

    imp = summaries["import"]["kinds"]
    dif = summaries["diff"]["kinds"]
    print(f"bench-migrate: {args.variables} variables, {args.connections} connections, {args.pools} pools "
          f"(Airflow {summaries['export']['airflow_version']}, SQLite, {args.api_workers} API worker(s), "
          f"{args.workers} client workers, page limit {args.page_limit or 'default (100)'}, "
          f"target {'masks' if args.target_masks == 'yes' else 'does not mask'} secrets)")
    for phase, secs in times.items():
        detail = summaries.get(phase, {}).get("timings", {})
        if phase == "diff":
            detail = detail.get("target", {})
        inner = ", ".join(f"{k} {v:.1f}" for k, v in detail.items() if v >= 0.05)
        print(f"  {phase:<22} {secs:8.2f} s" + (f"   ({inner})" if inner else ""))
    total = times["export"] + times["import"] + times["diff"]
    print(f"  {'export+import+diff':<22} {total:8.2f} s")  # the goal and its reason are in README (Benchmarks)
    print("  created on target: " + ", ".join(f"{k} {len(v['created'])}" for k, v in imp.items() if "created" in v))
    print("  diff: " + ", ".join(f"{k} missing {len(v['missing'])} changed {len(v['changed'])}"
                                 for k, v in dif.items()) + f" -> {'clean' if summaries['diff']['clean'] else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
