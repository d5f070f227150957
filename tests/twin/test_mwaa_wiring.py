"""How the MWAA twin applies what the program uploads and configures (no processes started)."""

from __future__ import annotations

import pytest

from components import airflow_config as af
from tools.twin.errors import TwinError
from tools.twin.mwaa import configuration_environment, local_constraints


def test_configuration_options_become_airflow_environment_variables(planned):
    options = planned("dev", target="mwaa").one("aws:mwaa/environment:Environment").inputs["airflowConfigurationOptions"]
    env = configuration_environment(options)
    assert env["AIRFLOW__SECRETS__BACKEND"] == af.SECRETS_BACKEND
    assert env["AIRFLOW__CORE__DEFAULT_TASK_RETRIES"] == options["core.default_task_retries"]
    assert len(env) == len(options)


def test_option_without_section_is_an_error():
    with pytest.raises(TwinError, match="'retries' is not section.key"):
        configuration_environment({"retries": "2"})


def test_requirements_constraint_points_at_the_shipped_copy():
    rendered = af.render_requirements("3.3.1")
    local = local_constraints(rendered, "3.3.1")
    assert af.constraints_url("3.3.1") not in local
    assert f'--constraint "{af.constraints_file("3.3.1")}"' in local
    assert local.splitlines()[1:] == rendered.splitlines()[1:]
