"""
Environment of the DAG tests, set when this module is first imported (by conftest.py, before any
test module): Airflow reads its configuration when it is itself first imported.

* a throw-away AIRFLOW_HOME (sqlite metadata DB, logs) in a temp dir, removed at the end;
* every AIRFLOW_* / AWS_* variable of the caller's shell dropped, so a developer's local Airflow or
  AWS set-up can't leak in (or be written to), then only what the tests need is set;
* dags_folder = the repo's dags/, examples off.

`[core] unit_test_mode` is deliberately not used: it loads Airflow's own test config
(config_templates/unit_tests.cfg: load_examples on, Airflow's tests folder as dags_folder,
LocalExecutor), which is made for Airflow's test suite, not for testing a project's DAGs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

assert "airflow" not in sys.modules, "Airflow was imported before tests/dags/dagtests_env.py could configure it"

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "dags"
DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))

for _name in list(os.environ):
    if _name.startswith(("AIRFLOW_", "AIRFLOW__", "AWS_", "_AIRFLOW")):
        del os.environ[_name]
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(AIRFLOW_HOME / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(AIRFLOW_HOME / "logs"),
        # Fake AWS identity: nothing may reach real AWS, whatever the developer's ~/.aws says.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(AIRFLOW_HOME / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(AIRFLOW_HOME / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)
