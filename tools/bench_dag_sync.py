"""Benchmark (scripts/bench-dag-sync): plan time of the DAG folder as ONE sync resource (components/dag_sync.py)
against one S3 object resource per file (what `pulumi-synced-folder` declares with its default managed objects).
Prints figures, asserts nothing.

Each figure is the median of fresh processes, each planning a minimal program (a bucket plus the DAG folder) under
Pulumi's mocks after one warm-up plan, so imports don't count; only the DAG part differs between the two.
"""

from __future__ import annotations

import argparse
import sys

from tools.compare.bench import ROOT, fmt, median  # fresh-process runs, median and hang/failure wording

SNIPPET = """
import json, sys, tempfile, time, pathlib
sys.path.insert(0, {root!r})
import pulumi, pulumi_aws as aws
from components.aws_context import AwsSessionConfig
from components.dag_sync import FolderSync, list_folder


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{{args.name}}-id", {{**args.inputs, "bucket": "airflow-bench"}}

    def call(self, args):
        return {{}}


project = pathlib.Path(tempfile.mkdtemp(prefix="bench-dag-sync-"))
dags = project / "dags"
dags.mkdir()
for i in range({count}):
    (dags / f"dag_{{i:04d}}.py").write_text(f"# DAG {{i}}\\nfrom airflow.sdk import dag\\n\\n@dag(schedule=None)\\ndef d{{i}}(): ...\\n\\nd{{i}}()\\n")


def plan(style):
    pulumi.runtime.set_mocks(Mocks(), project="bench", stack="bench", preview=False)

    @pulumi.runtime.test
    def program():
        bucket = aws.s3.Bucket("dags-bucket")
        if style == "one-resource":
            FolderSync("dags", bucket=bucket.bucket, prefix="dags", region="us-east-1", account_id="123456789012",
                       session=AwsSessionConfig(), source=dags, project_root=project, listing=list_folder(dags))
        else:
            for f in list_folder(dags).files:
                key = f.relative_to(dags).as_posix()
                aws.s3.BucketObjectv2(f"dags-{{key}}", bucket=bucket.id, key=f"dags/{{key}}", source=pulumi.FileAsset(str(f)))
        return bucket.id

    started = time.perf_counter()
    program()
    return time.perf_counter() - started


plan({style!r})  # warm-up
print(json.dumps({{"seconds": plan({style!r})}}))
"""


def measure(style: str, count: int, repeat: int, timeout: float) -> str:
    snippet = SNIPPET.format(root=str(ROOT), style=style, count=count)
    return fmt(median(snippet, repeat, timeout), timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-dag-sync", description=__doc__.splitlines()[0],
                                     allow_abbrev=False)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per figure (median); default 3")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a plan counts as hung")
    parser.add_argument("--dags", default="10,100,1000", help="DAG file counts; default 10,100,1000")
    args = parser.parse_args(argv)
    print(f"DAG folder plan time, median of {args.repeat} fresh processes ({sys.executable})")
    for count in [int(n) for n in args.dags.split(",")]:
        one = measure("one-resource", count, args.repeat, args.timeout)
        per_file = measure("per-file", count, args.repeat, args.timeout)
        print(f"  {count:>5} files: one sync resource {one}; one object resource per file {per_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
