"""The project's tools: planner.py (the program under mocks), compare/ (cost comparison), migrate/ (MWAA -> EKS).

They run in the project's virtualenv from the repository root: `make compare`, or `.venv/bin/python -m tools.…`.
Run any other way (the system Python, another virtualenv), the first third-party import would end in a raw
ModuleNotFoundError; so when a tool is started with `python -m tools.…`, this package (stdlib only, imported
before the tool's own modules) checks the interpreter first and, if it is the wrong one, exits with one line.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

REQUIRED_PYTHON = (3, 12)
_ROOT = Path(__file__).resolve().parent.parent
# What the tools import: the program's requirements (they plan it) and the tools' own.
_REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt")


def _required_distributions() -> list[str]:
    names = []
    for file in _REQUIREMENT_FILES:
        for line in (_ROOT / file).read_text().splitlines():
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
            if match and not line.lstrip().startswith(("#", "-")):
                names.append(match.group(1))
    return names


def _missing_distributions() -> list[str]:
    missing = []
    for name in _required_distributions():
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def interpreter_problem() -> str | None:
    """Why this interpreter cannot run the tools, or None when it can."""
    if sys.version_info[:2] != REQUIRED_PYTHON:
        return f"{sys.executable} is Python %d.%d, the tools need %d.%d" % (*sys.version_info[:2], *REQUIRED_PYTHON)
    missing = _missing_distributions()
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        return f"{sys.executable} lacks the project's packages ({', '.join(missing[:3])}{more})"
    return None


def run_hint(module: str) -> str:
    """The one line that says how to run `module` instead."""
    make = "make compare, or " if module == "tools.compare" else ""
    return (f"run it from the repository root with the project's virtualenv: {make}.venv/bin/python -m {module} ..."
            " (`make venv` sets .venv up)")


def _module_being_run() -> str:
    argv = getattr(sys, "orig_argv", [])
    return argv[argv.index("-m") + 1] if "-m" in argv[:-1] else "tools"


# While `python -m tools.x` locates tools.x, sys.argv[0] is "-m": this is that moment, before tools.x's imports.
# Imported as a library (tests, other tools), the package checks nothing.
if sys.argv[:1] == ["-m"]:
    _problem = interpreter_problem()
    if _problem:
        _module = _module_being_run()
        sys.exit(f"{_module}: {_problem}; {run_hint(_module)}")
