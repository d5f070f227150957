"""Copy the official chart out of an apache/airflow git history into components/eks/charts/, byte for byte, and
rewrite the generated blob lists in components/eks/charts/SOURCE.md (scripts/vendor-chart runs this).

Every file is read with `git cat-file blob`, never `git archive`: the chart's dependency tarball
(charts/postgresql-*.tgz) is export-ignored upstream, and archive attributes could rewrite content.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from . import provenance


def _git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, timeout=120).stdout


def vendor(git_dir: str, version: str) -> int:
    commit = provenance.UPSTREAM[version]
    target = provenance.chart_dir(version)
    shutil.rmtree(target, ignore_errors=True)
    count = 0
    for line in _git(git_dir, "ls-tree", "-r", "-z", commit, "chart/").split(b"\0"):
        if not line:
            continue
        meta, path = line.decode().split("\t", 1)
        mode, kind, blob = meta.split()
        relative = path.removeprefix("chart/")
        if kind != "blob" or not provenance.kept(relative):
            continue
        if mode not in ("100644", "100755"):
            raise SystemExit(f"vendor-chart: chart/{relative} at {commit} has mode {mode}; only plain files are vendored")
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(_git(git_dir, "cat-file", "blob", blob))
        out.chmod(0o755 if mode == "100755" else 0o644)
        count += 1
    return count


def rewrite_blob_lists() -> None:
    text = provenance.SOURCE_MD.read_text()
    for version in provenance.UPSTREAM:
        block = provenance.blob_block(version)
        marker = f"<!-- blobs airflow-{version} begin -->"
        if marker not in text:
            raise SystemExit(f"vendor-chart: {provenance.SOURCE_MD.name} has no '{marker}' section to fill")
        start = text.index(marker)
        end_marker = f"<!-- blobs airflow-{version} end -->"
        end = text.index(end_marker, start) + len(end_marker)
        text = text[:start] + block + text[end:]
    provenance.SOURCE_MD.write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/vendor-chart", description=__doc__.splitlines()[0])
    parser.add_argument("git_dir", help="a git dir holding apache/airflow's commits (a bare clone or a fork's snapshot)")
    args = parser.parse_args(argv)
    for version in provenance.UPSTREAM:
        print(f"airflow-{version}: {vendor(args.git_dir, version)} files from {provenance.UPSTREAM[version]}")
        print(f"  tree sha256 {provenance.tree_sha256(version)}")
    rewrite_blob_lists()


if __name__ == "__main__":
    main(sys.argv[1:])
