"""The MWAA twin follows the image of the stack's Airflow major (tools/twin/mwaa_runtime.py): 3.x images/airflow/3.3.1,
2.x images/airflow/2.10.3 of aws/amazon-mwaa-docker-images (no processes started, except one import in the 2.10.3
environment)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tools.planner import ROOT
from tools.twin import mwaa_runtime
from tools.twin.airflow_procs import BASIC_AUTH_BACKENDS, SIMPLE_AUTH_MANAGER, new_home, service_settings, twin_sizing
from tools.twin.errors import TwinError
from tools.twin.mwaa import MWAA_SITE

QUEUE = "http://sqs.local/123/airflow-celery-x"


def test_each_major_follows_the_image_read_for_it():
    assert mwaa_runtime.image_for("2.10.3").version == "2.10.3"
    assert mwaa_runtime.image_for("3.2.1").version == mwaa_runtime.image_for("3.3.1").version == "3.3.1"
    with pytest.raises(TwinError) as raised:
        mwaa_runtime.image_for("1.10.15")
    assert str(raised.value) == ("airflowVersion: 1.10.15 is not Airflow 2 or 3; the MWAA twin follows MWAA's images "
                                 "3.3.1, 2.10.3")


def test_2_10_3_containers_run_the_webserver_and_a_standalone_dag_processor():
    image = mwaa_runtime.image_for("2.10.3")
    assert image.containers == {
        "scheduler": {"scheduler": ["scheduler"], "dag-processor": ["dag-processor"], "triggerer": ["triggerer"]},
        "worker": {"worker": ["celery", "worker"]},
        "webserver": {"webserver": ["webserver"]},
    }
    assert mwaa_runtime.image_for("3.3.1").containers["webserver"] == {"api-server": ["api-server"]}


def test_2_10_3_essentials_celery_through_a_config_module_and_no_airflow_3_keys():
    essential = mwaa_runtime.essential("worker", "2.10.3", QUEUE, "us-east-1", use_ssl=False)
    assert essential["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == "twin_mwaa_celery.MWAA_CELERY_CONFIG"
    assert essential["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"] == "43200"
    assert essential["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "airflow-celery-x"
    assert essential["AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR"] == "True"
    assert essential["AIRFLOW__WEBSERVER__COOKIE_SECURE"] == "true"
    assert essential["AWS_EXECUTION_ENV"] == "Amazon_MWAA_2103"
    for airflow_3_only in ("AIRFLOW__CELERY__EXTRA_CELERY_CONFIG", "AIRFLOW__API_AUTH__JWT_ALGORITHM",
                           "AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME", "AIRFLOW__TRIGGERER__QUEUES_ENABLED",
                           "AIRFLOW__CORE__MULTI_TEAM", "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG"):
        assert airflow_3_only not in essential
    three = mwaa_runtime.essential("worker", "3.3.1", QUEUE, "us-east-1", use_ssl=False)
    assert "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS" not in three and "AIRFLOW__WEBSERVER__COOKIE_SECURE" not in three


def test_2_10_3_does_not_protect_the_api_base_url():
    container = {"AIRFLOW__API__BASE_URL": "http://a", "AIRFLOW__WEBSERVER__BASE_URL": "http://w"}
    startup = {"AIRFLOW__API__BASE_URL": "http://b", "AIRFLOW__WEBSERVER__BASE_URL": "http://x"}
    for version, dropped in (("2.10.3", {"AIRFLOW__WEBSERVER__BASE_URL": "a protected variable"}),
                             ("3.3.1", {"AIRFLOW__WEBSERVER__BASE_URL": "a protected variable",
                                        "AIRFLOW__API__BASE_URL": "a protected variable"})):
        image = mwaa_runtime.image_for(version)
        essentials = mwaa_runtime.essential("worker", version, QUEUE, "us-east-1", use_ssl=False)
        assert mwaa_runtime.merge(container, startup, {}, essentials, image)[1] == dropped


def test_the_admin_login_per_major(tmp_path):
    home = new_home(tmp_path, admin_password="pw")
    two, three = service_settings(home, "2.10.3"), service_settings(home, "3.3.1")
    assert two["AIRFLOW__API__AUTH_BACKENDS"] == BASIC_AUTH_BACKENDS
    assert (two["AIRFLOW__WEBSERVER__WEB_SERVER_HOST"], two["AIRFLOW__WEBSERVER__WEB_SERVER_PORT"]) == (
        "127.0.0.1", str(home.api_port))
    assert "AIRFLOW__CORE__AUTH_MANAGER" not in two and "AIRFLOW__API__PORT" not in two
    assert three["AIRFLOW__CORE__AUTH_MANAGER"] == SIMPLE_AUTH_MANAGER and "AIRFLOW__API__AUTH_BACKENDS" not in three
    assert json.loads(home.passwords_file.read_text()) == {"admin": "pw"}
    assert oct(home.passwords_file.stat().st_mode & 0o777) == "0o600"
    assert twin_sizing("2.10.3") == {"AIRFLOW__WEBSERVER__WORKERS": "1"}
    assert twin_sizing("3.3.1") == {"AIRFLOW__API__WORKERS": "1"}


VENV_2 = ROOT / ".venv-airflow-2.10.3"


@pytest.mark.skipif(not (VENV_2 / "bin" / "python").exists(), reason="needs .venv-airflow-2.10.3 "
                    "(bash scripts/setup-twin-airflow-env 2.10.3)")
def test_the_2_10_3_celery_config_module_has_the_predefined_queue(tmp_path):
    # The first `airflow` command (migrate-db) writes airflow.cfg with this section; 2.x reads its
    # AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__* variables only once the section exists.
    (tmp_path / "airflow.cfg").write_text("[celery_broker_transport_options]\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AIRFLOW_HOME": str(tmp_path), "PYTHONPATH": str(MWAA_SITE),
           "MWAA__SQS__QUEUE_URL": QUEUE, "MWAA__SQS__USE_SSL": "false", "AWS_REGION": "eu-west-1",
           "AIRFLOW__CELERY__BROKER_URL": "sqs://127.0.0.1:1",
           "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "43200"}
    out = subprocess.run([str(VENV_2 / "bin" / "python"), "-c", "import json, twin_mwaa_celery as m; "
                          "print(json.dumps(m.MWAA_CELERY_CONFIG['broker_transport_options']))"],
                         env=env, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "visibility_timeout": 43200, "predefined_queues": {"airflow-celery-x": {"url": QUEUE}},
        "is_secure": False, "region": "eu-west-1"}
