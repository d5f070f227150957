"""airflow/startup.sh, run the way MWAA runs it: sourced by a shell whose environment is read back afterwards.

Only needs bash and /bin/sh, not Airflow.
"""

from __future__ import annotations

import subprocess

import pytest

from dagtests_env import REPO

SCRIPT = REPO / "airflow" / "startup.sh"
EXPECTED = {"DEPLOYMENT_TARGET": "mwaa", "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "5"}


def source_and_dump(shell: str, component: str | None, strict: bool = False):
    """Source the script in `shell` (with `set -u` first when strict), then print the environment."""
    env = {"PATH": "/usr/bin:/bin"}
    if component is not None:
        env["MWAA_AIRFLOW_COMPONENT"] = component
    prologue = "set -u; " if strict else ""
    result = subprocess.run(
        [shell, "-c", f'{prologue}. "{SCRIPT}"; echo "sourced-ok"; env'],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return result, values


@pytest.mark.parametrize("component", ["scheduler", "worker", "webserver"])
def test_exports_the_variables_and_logs_the_component(component):
    result, values = source_and_dump("bash", component)
    assert result.returncode == 0, result.stderr
    assert "sourced-ok" in result.stdout  # the script did not end the shell that sourced it
    assert {k: values.get(k) for k in EXPECTED} == EXPECTED
    assert f"startup.sh: component={component} " in result.stdout
    assert result.stderr == ""


def test_works_without_mwaa_variables_under_set_u():
    result, values = source_and_dump("bash", None, strict=True)
    assert result.returncode == 0, result.stderr
    assert "startup.sh: component=unknown airflow=unknown" in result.stdout
    assert {k: values.get(k) for k in EXPECTED} == EXPECTED


def test_runs_under_plain_sh():
    """/bin/sh (dash on Debian/Ubuntu: no bash extensions) parses and sources it too."""
    syntax = subprocess.run(["sh", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    result, values = source_and_dump("sh", "worker", strict=True)
    assert result.returncode == 0, result.stderr
    assert {k: values.get(k) for k in EXPECTED} == EXPECTED


def test_does_not_change_shell_options_of_the_caller():
    """`set -e`/`-u` in a sourced script would stay on in MWAA's shell after it."""
    result = subprocess.run(
        ["bash", "-c", f'before=$-; . "{SCRIPT}" >/dev/null; [ "$before" = "$-" ] && echo same || echo "changed $before -> $-"'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.strip() == "same"
