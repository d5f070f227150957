"""Benchmark of the offline plan (scripts/bench-plan): prints figures, asserts nothing.

1. One offline plan per target in a fresh process (imports included) against the bare import of pulumi_aws,
   pulumi_eks and pulumi_kubernetes in a fresh process. Goal: plan <= 1.5x import.
2. Plan time with 10, 100 and 1000 DAG files (components.airflow_config.DAGS_DIR pointed at a temp dir, one warm-up
   plan first so imports don't count). Goal: 1000 files <= 2x 10 files. Each measurement runs in its own process
   with a timeout, so a hang is reported as such instead of stalling the benchmark.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

IMPORT_SNIPPET = """
import time, json
t = time.perf_counter()
import pulumi_aws, pulumi_eks, pulumi_kubernetes
print(json.dumps({"seconds": time.perf_counter() - t}))
"""

FRESH_PLAN_SNIPPET = """
import time, json, sys
t = time.perf_counter()
sys.path.insert(0, {root!r})
from tools.planner import plan
p = plan("dev", {{"target": {target!r}}})
first = time.perf_counter() - t
t = time.perf_counter()
plan("dev", {{"target": {target!r}}})
warm = time.perf_counter() - t
modules = sorted(m for m in sys.modules if m.split(".")[0] in ("pulumi", "pulumi_aws", "pulumi_eks", "pulumi_kubernetes", "pulumi_random"))
print(json.dumps({{"seconds": first, "warm": warm, "resources": len(p.resources), "modules": modules}}))
"""

LOADED_IMPORT_SNIPPET = """
import time, json, importlib
t = time.perf_counter()
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps({{"seconds": time.perf_counter() - t}}))
"""

DAGS_SNIPPET = """
import time, json, sys, tempfile, pathlib
sys.path.insert(0, {root!r})
import components.airflow_config as af
from tools.planner import plan
plan("dev", {{"target": {target!r}}})  # warm-up: imports and first-run caches don't count
d = pathlib.Path(tempfile.mkdtemp(prefix="dags-", dir={workdir!r}))
for i in range({count}):
    (d / f"dag_{{i:04d}}.py").write_text(
        "from airflow.sdk import dag, task\\n\\n@dag(schedule=None)\\ndef dag_%d():\\n    @task\\n    def t():\\n"
        "        return %d\\n    t()\\n\\ndag_%d()\\n" % (i, i, i))
af.DAGS_DIR = d
times = []
for _ in range({repeat}):
    t = time.perf_counter()
    p = plan("dev", {{"target": {target!r}}})
    times.append(time.perf_counter() - t)
import hashlib
t = time.perf_counter()
digest = hashlib.md5(b"".join(f.read_bytes() for f in af.dag_files())).hexdigest()  # what one archive object costs
hashing = time.perf_counter() - t
print(json.dumps({{"seconds": min(times), "resources": len(p.resources), "hashing": hashing}}))
"""


def run(snippet: str, timeout: float) -> dict | None:
    """Run a snippet in a fresh interpreter; None if it did not finish in time."""
    try:
        done = subprocess.run([PYTHON, "-c", snippet], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": tail}
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(snippet: str, repeat: int, timeout: float) -> dict:
    results = [run(snippet, timeout) for _ in range(repeat)]
    ok = [r for r in results if r and "error" not in r]
    if not ok:
        return results[0] or {"error": f"timed out after {timeout:g} s"}
    middle = sorted(ok, key=lambda r: r["seconds"])[len(ok) // 2]
    return {**middle, "seconds": statistics.median(r["seconds"] for r in ok)}


def fmt(result: dict | None, timeout: float) -> str:
    if result is None:
        return f"no result: still running after {timeout:g} s (hang)"
    if "error" in result:
        return f"failed: {result['error']}"
    return f"{result['seconds']:.2f} s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench-plan", description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="fresh processes per measurement (median)")
    p.add_argument("--timeout", type=float, default=60, help="seconds before a plan counts as hung")
    p.add_argument("--dags", default="10,100,1000", help="DAG file counts to plan with")
    args = p.parse_args(argv)
    counts = [int(x) for x in args.dags.split(",")]

    print(f"Offline plan benchmark ({PYTHON}; median of {args.repeat} fresh processes)")
    imported = median(IMPORT_SNIPPET, args.repeat, args.timeout)
    print(f"  bare import pulumi_aws + pulumi_eks + pulumi_kubernetes: {fmt(imported, args.timeout)}")
    for target in ("mwaa", "eks"):
        r = median(FRESH_PLAN_SNIPPET.format(root=str(ROOT), target=target), args.repeat, args.timeout * 2)
        if r and "error" not in r and "error" not in imported:
            ratio = r["seconds"] / imported["seconds"]
            verdict = "meets" if ratio <= 1.5 else "misses"
            warm_ratio = r["warm"] / imported["seconds"]
            print(f"  plan target={target} (fresh process, imports included): {r['seconds']:.2f} s = {ratio:.2f}× the bare "
                  f"import ({verdict} the 1.5× goal); {r['resources']} resources")
            print(f"    the plan itself (second plan in that process, imports done): {r['warm']:.2f} s = {warm_ratio:.2f}× "
                  f"the bare import ({'meets' if warm_ratio <= 1.5 else 'misses'} the 1.5× goal)")
            loaded = median(LOADED_IMPORT_SNIPPET.format(modules=r["modules"]), args.repeat, args.timeout)
            if "error" not in loaded:
                print(f"    the {len(r['modules'])} SDK modules this plan loads take {loaded['seconds']:.2f} s to import "
                      f"(pulumi_aws loads its submodules lazily); the plan is {r['seconds'] / loaded['seconds']:.2f}× that")
        else:
            print(f"  plan target={target}: {fmt(r, args.timeout * 2)}")

    (ROOT / "out").mkdir(exist_ok=True)  # inside the project: the DAG sync keeps its source project-relative
    workdir = tempfile.TemporaryDirectory(prefix="bench-plan-", dir=ROOT / "out")  # removed at exit
    print(f"\nPlan time against DAG files (warm, best of {args.repeat} plans, {args.timeout:g} s timeout)")
    for target in ("mwaa", "eks"):
        base = None
        for count in counts:
            snippet = DAGS_SNIPPET.format(root=str(ROOT), target=target, count=count, repeat=args.repeat,
                                          workdir=workdir.name)
            r = run(snippet, args.timeout)
            line = f"  target={target} {count:>5} DAG files: {fmt(r, args.timeout)}"
            if r and "error" not in r:
                line += f" ({r['resources']} resources; hashing the files {r['hashing'] * 1000:.0f} ms)"
                if base is None:
                    base = r["seconds"]
                else:
                    growth = r["seconds"] / base
                    line += f", {growth:.2f}× the {counts[0]}-file plan ({'meets' if growth <= 2 else 'misses'} the 2× goal)"
            print(line, flush=True)
            if r is None or "error" in r:
                break
    workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
