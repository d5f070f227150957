"""Which upstream files the vendored charts are, and how to prove it offline.

components/eks/charts/airflow-<version>/ holds a subset of apache/airflow's `chart/` at one commit, every file
byte-identical. components/eks/charts/SOURCE.md lists, per version, each file's git blob id (what
`git hash-object FILE` prints and `git ls-tree -r <commit> chart/` lists), between generated markers that
scripts/vendor-chart writes and tests/test_chart_provenance.py reads back.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

CHARTS_DIR = Path(__file__).resolve().parents[2] / "components" / "eks" / "charts"
SOURCE_MD = CHARTS_DIR / "SOURCE.md"
UPSTREAM = {  # chart version -> apache/airflow commit whose chart/ it is (how they were found: SOURCE.md)
    "1.19.0": "f17d6ffb05cc0ffda638b7c0ef5b5d6d12f1c314",
    "1.21.0": "2ff2513665855395f0387967e548b86c54c0e52b",
}
# What helm reads to render and install the chart, plus its licence and notice. Everything else under chart/
# (docs/, newsfragments/, dockerfiles/, README.md, INSTALL, RELEASE_NOTES.rst, pyproject.toml, the pre-commit
# and reproducible-build configs, the values meta-schema values_schema.schema.json, .gitignore) is
# documentation or upstream tooling that no template reads: left out.
KEPT_FILES = (".helmignore", "Chart.yaml", "Chart.lock", "LICENSE", "NOTICE", "values.yaml", "values.schema.json")
KEPT_FOLDERS = ("templates/", "files/", "charts/")

_BLOCK = re.compile(r"<!-- blobs airflow-(?P<version>[\d.]+) begin -->\n```text\n(?P<body>.*?)```\n"
                    r"<!-- blobs airflow-(?P=version) end -->", re.DOTALL)


def kept(path: str) -> bool:
    """Whether a path relative to upstream chart/ is vendored."""
    return path in KEPT_FILES or path.startswith(KEPT_FOLDERS)


def chart_dir(version: str) -> Path:
    return CHARTS_DIR / f"airflow-{version}"


def git_blob_id(data: bytes) -> str:
    """The id `git hash-object` gives these bytes (SHA-1 of git's blob header and the content)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def files(version: str) -> list[str]:
    """Every file of a vendored chart, relative to its folder, in byte order (as `LC_ALL=C sort` orders them)."""
    root = chart_dir(version)
    return sorted((p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()), key=str.encode)


def tree_sha256(version: str) -> str:
    """sha256 of the chart folder as `find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum` prints it
    (run in the folder; no file name here holds a space)."""
    root = chart_dir(version)
    listing = "".join(f"{hashlib.sha256((root / f).read_bytes()).hexdigest()}  ./{f}\n"
                      for f in sorted(files(version), key=lambda f: f"./{f}".encode()))
    return hashlib.sha256(listing.encode()).hexdigest()


def blob_lines(version: str) -> list[str]:
    """`<mode> blob <id>\t<path>` per vendored file, as `git ls-tree -r <commit> chart/` lists it (path without chart/)."""
    root = chart_dir(version)
    lines = []
    for f in files(version):
        path = root / f
        mode = "100755" if path.stat().st_mode & 0o111 else "100644"
        lines.append(f"{mode} blob {git_blob_id(path.read_bytes())}\t{f}")
    return lines


def recorded_blobs(text: str | None = None) -> dict[str, dict[str, str]]:
    """SOURCE.md's generated lists: version -> {path: blob id}."""
    text = SOURCE_MD.read_text() if text is None else text
    found = {}
    for block in _BLOCK.finditer(text):
        entries = {}
        for line in block["body"].splitlines():
            meta, path = line.split("\t")
            entries[path] = meta.split()[2]
        found[block["version"]] = entries
    return found


def blob_block(version: str) -> str:
    body = "".join(f"{line}\n" for line in blob_lines(version))
    return (f"<!-- blobs airflow-{version} begin -->\n```text\n{body}```\n<!-- blobs airflow-{version} end -->")
