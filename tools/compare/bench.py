"""Benchmark of the offline plan (scripts/bench-plan): prints figures, asserts nothing. Goals, and why, are in the
README's benchmark section: this prints what was measured, never a verdict.

1. `make compare` warm (the virtualenv installed, one run before the timed ones) for every stack, the way a user and
   the pull-request cost comment run it: both targets planned, priced, the break-even scanned and the plot written.
2. One offline plan per target in a fresh process (imports included) against the bare import of pulumi_aws,
   pulumi_eks and pulumi_kubernetes in a fresh process.
3. Plan time with 10, 100 and 1000 DAG files (components.airflow_config.DAGS_DIR pointed at a temp dir, one warm-up
   plan first so imports don't count). Each measurement runs in its own process with a timeout, so a hang is
   reported as such instead of stalling the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.planner import available_stacks

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


def make_compare(stack: str, repeat: int, timeout: float) -> str:
    """Median wall time of `make compare STACK=<stack>` after one untimed run (which also sets up .venv if needed)."""
    command = ["make", "--no-print-directory", "compare", f"STACK={stack}"]
    times, cpu = [], []
    for attempt in range(repeat + 1):
        start, used = time.perf_counter(), _children_cpu()
        try:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout * 10)
        except subprocess.TimeoutExpired:
            return f"no result: still running after {timeout * 10:g} s"
        if done.returncode != 0:
            return f"failed: {(done.stderr.strip().splitlines() or ['(no output)'])[-1]}"
        if attempt:  # the first run is the warm-up
            times.append(time.perf_counter() - start)
            cpu.append(_children_cpu() - used)
    # On a shared machine wall time includes waiting for a CPU: the CPU time says what the run itself costs.
    return (f"{statistics.median(times):.2f} s wall, {statistics.median(cpu):.2f} s CPU "
            f"(wall per run: {', '.join(f'{t:.2f}' for t in times)}; load average {os.getloadavg()[0]:.1f})")


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench-plan", description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="fresh processes per measurement (median)")
    p.add_argument("--timeout", type=float, default=60, help="seconds before a plan counts as hung")
    p.add_argument("--dags", default="10,100,1000", help="DAG file counts to plan with")
    p.add_argument("--stacks", default=",".join(available_stacks()),
                   help="stacks whose warm `make compare` is timed (default: every Pulumi.<stack>.yaml)")
    p.add_argument("--only-compare", action="store_true", help="time `make compare` only")
    args = p.parse_args(argv)
    counts = [int(x) for x in args.dags.split(",")]

    print(f"Warm `make compare` (median of {args.repeat} runs after one warm-up run; {os.cpu_count()} CPUs)")
    for stack in [s for s in args.stacks.split(",") if s]:
        print(f"  make compare STACK={stack}: {make_compare(stack, args.repeat, args.timeout)}", flush=True)
    if args.only_compare:
        return 0

    print(f"Offline plan benchmark ({PYTHON}; median of {args.repeat} fresh processes)")
    imported = median(IMPORT_SNIPPET, args.repeat, args.timeout)
    print(f"  bare import pulumi_aws + pulumi_eks + pulumi_kubernetes: {fmt(imported, args.timeout)}")
    for target in ("mwaa", "eks"):
        r = median(FRESH_PLAN_SNIPPET.format(root=str(ROOT), target=target), args.repeat, args.timeout * 2)
        if r and "error" not in r and "error" not in imported:
            ratio = r["seconds"] / imported["seconds"]
            warm_ratio = r["warm"] / imported["seconds"]
            print(f"  plan target={target} (fresh process, imports included): {r['seconds']:.2f} s = {ratio:.2f}× the bare "
                  f"import; {r['resources']} resources")
            print(f"    the plan itself (second plan in that process, imports done): {r['warm']:.2f} s = {warm_ratio:.2f}× "
                  "the bare import")
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
                    line += f", {growth:.2f}× the {counts[0]}-file plan"
            print(line, flush=True)
            if r is None or "error" in r:
                break
    workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
