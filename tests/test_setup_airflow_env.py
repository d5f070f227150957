"""scripts/setup-airflow-env's constraints for pip: the shipped file minus the lines of the test tools that
tests/requirements-airflow.txt pins to ANOTHER version. A test pin equal to the shipped one is no override: its line
stays (setup-twin-airflow-env re-pins to the shipped file, e.g. apache-airflow-providers-fab, which Airflow 2 needs at
run time; dropping it failed the runtime check of .venv-airflow-2.10.3). pip is replaced by a recorder: no install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tools.planner import ROOT

RECORDER = """#!/bin/sh
# pip install: keep the constraints file handed in, install nothing; anything else: the real interpreter.
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = "--constraint" ]; then cp "$2" "$RECORDED"; fi
    shift
  done
  exit 0
fi
exec "$REAL_PYTHON" "$@"
"""


def test_only_a_test_pin_that_differs_from_the_shipped_one_drops_its_line(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text(RECORDER)
    (venv / "bin" / "python").chmod(0o755)
    tests = tmp_path / "requirements-airflow.txt"
    tests.write_text("pytest==0.0.1\napache-airflow-providers-fab==1.5.0\n")  # fab: the 2.10.3 file's own pin
    recorded = tmp_path / "constraints.txt"
    env = {**os.environ, "PYTHON312": sys.executable, "REAL_PYTHON": sys.executable, "RECORDED": str(recorded),
           "AIRFLOW_TEST_REQUIREMENTS": str(tests)}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "setup-airflow-env"), "2.10.3", str(venv)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0  # nothing was installed, so the runtime check that follows fails
    lines = recorded.read_text().splitlines()
    assert "apache-airflow-providers-fab==1.5.0" in lines
    assert not any(line.startswith("pytest==") for line in lines)
    assert "#   dropped: pytest==" in "\n".join(lines)
    assert not any("dropped: apache-airflow-providers-fab" in line for line in lines)
    shipped = Path(ROOT / "airflow" / "constraints" / "constraints-2.10.3.txt").read_text()
    assert "apache-airflow-providers-fab==1.5.0" in shipped.splitlines()
