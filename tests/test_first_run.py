"""A new user's first runs: a virtualenv of the wrong Python and a tool started the wrong way each end in one
line that says what to do (issue 14, points 1 and 3), never in a pip resolver error or a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _other_python() -> str | None:
    """An interpreter on this machine that is not Python 3.12 (what `pulumi` or PYTHON312=python3.11 would use)."""
    for name in ("python3.11", "python3.13", "python3.10", "python3"):
        path = shutil.which(name)
        if path:
            done = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True)
            if done.returncode == 0 and done.stdout.strip() != "3.12":
                return path
    return None


OTHER_PYTHON = _other_python()
needs_other_python = pytest.mark.skipif(OTHER_PYTHON is None, reason="no Python other than 3.12 on this machine")


def _version_of(python: str) -> str:
    return subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def _bare_venv(python: str, where: Path) -> Path:
    subprocess.run([python, "-m", "venv", "--without-pip", str(where)], check=True)
    return where


@pytest.fixture
def make_project(tmp_path):
    """The files the Makefile's set-up rules read, in a scratch folder (the real venvs stay untouched)."""
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "requirements-lock.txt",
                 "scripts/check-venv-python", "scripts/setup-airflow-env", "airflow/requirements.txt",
                 "tests/requirements-airflow.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    return tmp_path


def _make(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(project), *args],
                          capture_output=True, text=True, timeout=60)


# --- point 1: a virtualenv of another Python is refused with one line -----------------------------------

@needs_other_python
@pytest.mark.parametrize("target, venv", [("venv", ".venv"), ("airflow-venv", ".venv-airflow")])
@pytest.mark.parametrize("stamped", [False, True], ids=["unstamped", "stamp-up-to-date"])
def test_make_refuses_a_venv_of_another_python(make_project, target, venv, stamped):
    _bare_venv(OTHER_PYTHON, make_project / venv)
    if stamped:  # e.g. a venv made by hand or by `pulumi`: the stamp alone must not let it through
        (make_project / venv / ".installed").touch()
    done = _make(make_project, target)
    assert done.returncode != 0
    assert f"{venv} is Python {_version_of(OTHER_PYTHON)}; this project needs 3.12: rm -rf {venv}" in done.stderr
    assert "==>" not in done.stdout  # nothing was installed into it


@pytest.mark.parametrize("target, venv", [("venv", ".venv"), ("airflow-venv", ".venv-airflow")])
def test_make_refuses_a_venv_without_a_working_python(make_project, target, venv):
    (make_project / venv / "bin").mkdir(parents=True)
    done = _make(make_project, target)
    assert done.returncode != 0
    assert f"{venv} has no working bin/python; this project needs a Python 3.12 virtualenv there: rm -rf {venv}" \
        in done.stderr


@needs_other_python
def test_make_refuses_python312_set_to_another_python(make_project):
    done = _make(make_project, "venv", f"PYTHON312={OTHER_PYTHON}")
    assert done.returncode != 0
    assert done.stdout.splitlines() == [
        f"No Python 3.12 (PYTHON312={OTHER_PYTHON}): install it (pyenv install 3.12) or set "
        "PYTHON312=/path/to/python3.12"]
    assert not (make_project / ".venv").exists()  # no 3.11 venv left behind to trip the next run


def test_check_accepts_a_312_venv_and_a_missing_one(tmp_path):
    venv = _bare_venv(sys._base_executable, tmp_path / "venv")
    for folder in (venv, tmp_path / "absent"):
        done = subprocess.run(["bash", str(ROOT / "scripts/check-venv-python"), str(folder), "3.12"],
                              capture_output=True, text=True)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


# --- point 3: a tool started with the wrong Python or as a file says how to run it -----------------------

TOOLS = [("tools.compare", "make compare, or .venv/bin/python -m tools.compare ..."),
         ("tools.compare.bench", ".venv/bin/python -m tools.compare.bench ..."),
         ("tools.migrate", ".venv/bin/python -m tools.migrate ...")]


def _one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    return lines[0]


@pytest.mark.parametrize("module, how", TOOLS)
def test_tool_run_by_a_python_without_the_packages_says_how_to_run_it(tmp_path, module, how):
    bare = _bare_venv(sys._base_executable, tmp_path / "bare")  # Python 3.12, but none of the project's packages
    line = _one_line(subprocess.run([str(bare / "bin/python"), "-m", module, "--help"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=60))
    assert line.startswith(f"{module}: {bare / 'bin/python'} lacks the project's packages (pulumi, ")
    assert how in line


@needs_other_python
@pytest.mark.parametrize("module, how", TOOLS)
def test_tool_run_by_another_python_version_says_how_to_run_it(module, how):
    line = _one_line(subprocess.run([OTHER_PYTHON, "-m", module, "--help"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=60))
    assert f"is Python {_version_of(OTHER_PYTHON)}, the tools need 3.12" in line
    assert how in line


@pytest.mark.parametrize("tool, how", [("compare", TOOLS[0][1]), ("migrate", TOOLS[2][1])])
@pytest.mark.parametrize("form", ["folder", "file"])
def test_tool_started_as_a_file_from_another_folder_says_how_to_run_it(tmp_path, tool, how, form):
    path = ROOT / "tools" / tool / ("__main__.py" if form == "file" else "")
    line = _one_line(subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True,
                                    timeout=60))
    assert line == f"tools.{tool}: run it from the repository root with the project's virtualenv: {how}"


def test_the_projects_venv_passes_the_check():
    done = subprocess.run([sys.executable, "-m", "tools.migrate", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m tools.migrate")
