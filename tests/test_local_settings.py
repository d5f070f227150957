"""airflow/config/airflow_local_settings.py (issue 20, item 9): the EKS chart mounts it in every Airflow pod, and with
it an API server learns thousands of secrets in seconds, not minutes, while masking exactly as before."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from components import airflow_config as af
from tests.conftest import planned

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"

# Learns 1,000 sensitive variables and 1,000 connection passwords the way an API server does (mask_secret on each
# load), redacting now and then as responses go out; then checks what redaction does.
LEARN = """
import json, time
import airflow  # imports airflow_local_settings from PYTHONPATH, as Airflow does at start
from airflow._shared.secrets_masker import mask_secret, redact
began = time.monotonic()
for i in range(1000):
    mask_secret(f"s3cret-{i:05d}-" + "x" * 24, f"bench_secret_{i}")
    if i % 100 == 0:
        redact("warm", "k")
for i in range(1000):
    mask_secret(f"pw-{i:04d}-secret")
    if i % 100 == 0:
        redact("warm", "k")
seconds = time.monotonic() - began
print(json.dumps({"seconds": seconds, "text": redact("dsn pw-0042-secret, s3cret-00007-" + "x" * 24 + " end", "note"),
                  "sensitive": redact("anything", "api_key"), "plain": redact("value-1", "k")}))
"""


def test_the_chart_mounts_the_local_settings_and_its_template_renders_them_unchanged(planned):
    values = planned("dev", target="eks").one("kubernetes:helm.sh/v3:Release", "eks-airflow").inputs["values"]
    text = af.LOCAL_SETTINGS.read_text()
    assert values["airflowLocalSettings"] == text
    assert "{{" not in text and "}}" not in text  # the chart renders the value through `tpl`


def test_learning_two_thousand_secrets_takes_seconds_and_masking_is_unchanged():
    assert AIRFLOW_PYTHON.exists(), "no .venv-airflow: run `make airflow-venv` (make test does)"
    done = subprocess.run([str(AIRFLOW_PYTHON), "-c", LEARN], capture_output=True, text=True, timeout=300, cwd="/",
                          env={"PYTHONPATH": str(af.LOCAL_SETTINGS.parent), "PATH": "/usr/bin:/bin",
                               "AIRFLOW_HOME": "/tmp/airflow-local-settings-test"})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["text"] == "dsn ***, *** end"
    assert result["sensitive"] == "***" and result["plain"] == "value-1"
    assert result["seconds"] < 10, result  # Airflow 3.3.1 without the file: about 130 s on the 2-core dev machine
