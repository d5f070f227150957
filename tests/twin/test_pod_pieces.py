"""The pieces the twins run the rendered chart and MWAA's start-up with, on small inputs (no Airflow started)."""

from __future__ import annotations

import json
import os
import time

import pytest

from tools.twin import mwaa_runtime
from tools.twin.endpoints import Endpoints, Service, rewrite_config, rewrite_env
from tools.twin.errors import TwinError
from tools.twin.manifests import Workload, workloads
from tools.twin.mwaa import run_startup_script
from tools.twin.podfs import PodFilesystem
from tools.twin.probes import ContainerProbes, Probe, ProbeRunner
from tools.twin.supervisor import Supervisor


def _deployment(env, volumes=(), mounts=(), command=None, args=None, probes=None):
    container = {"name": "scheduler", "image": "img:1", "env": list(env), "volumeMounts": list(mounts), **(probes or {})}
    if command:
        container["command"] = command
    if args:
        container["args"] = args
    return {"kind": "Deployment", "metadata": {"name": "airflow-scheduler"},
            "spec": {"template": {"metadata": {"labels": {"component": "scheduler"}},
                                  "spec": {"containers": [container], "volumes": list(volumes)}}}}


SECRETS = {"airflow-fernet-key": {"fernet-key": "k" * 44}, "airflow-metadata": {"connection": "postgresql://u:p@db:5432/x"}}


def test_env_resolves_secret_key_refs_and_expands_vars_in_args():
    manifest = _deployment([{"name": "A", "value": "1"},
                            {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "airflow-fernet-key", "key": "fernet-key"}}}],
                           args=["echo", "$(A)", "$(UNSET)", "$$(A)"])
    [workload] = workloads([manifest, {"kind": "Service", "metadata": {"name": "x"}}])
    container = workload.containers()[0]
    env = container.env(SECRETS.get)
    assert env == {"A": "1", "KEY": "k" * 44}
    assert container.argv(env) == ["echo", "1", "$(UNSET)", "$(A)"]


def test_a_renamed_secret_key_names_workload_container_env_and_the_keys_there_are():
    manifest = _deployment([{"name": "AIRFLOW__CORE__FERNET_KEY",
                             "valueFrom": {"secretKeyRef": {"name": "airflow-fernet-key", "key": "fernet-key"}}}])
    container = Workload("Deployment", "airflow-scheduler", manifest).containers()[0]
    with pytest.raises(TwinError) as raised:
        container.env({"airflow-fernet-key": {"fernet_key": "x"}}.get)
    assert str(raised.value) == ("Deployment/airflow-scheduler container scheduler: env AIRFLOW__CORE__FERNET_KEY: "
                                 "Secret airflow-fernet-key has no key 'fernet-key' (it has: fernet_key)")
    with pytest.raises(TwinError, match="Secret airflow-fernet-key is not declared by the program"):
        container.env({}.get)


def test_pod_filesystem_lays_volumes_and_rewrites_only_paths_under_its_mounts(tmp_path):
    cfg = "[core]\ndags_folder = /opt/airflow/dags\nexecutor = CeleryExecutor\n[kerberos]\nkeytab = /etc/airflow.keytab\n"
    manifests = [
        _deployment([], volumes=[{"name": "config", "configMap": {"name": "airflow-config"}},
                                 {"name": "logs", "emptyDir": {}},
                                 {"name": "dags", "persistentVolumeClaim": {"claimName": "airflow-dags"}}],
                    mounts=[{"name": "config", "mountPath": "/opt/airflow/airflow.cfg", "subPath": "airflow.cfg"},
                            {"name": "config", "mountPath": "/opt/airflow/pod_templates/pod_template_file.yaml",
                             "subPath": "pod_template_file.yaml"},
                            {"name": "logs", "mountPath": "/opt/airflow/logs"},
                            {"name": "dags", "mountPath": "/opt/airflow/dags"}]),
        {"kind": "ConfigMap", "metadata": {"name": "airflow-config"}, "data": {"airflow.cfg": cfg}},
    ]
    [workload] = workloads(manifests)
    dags = tmp_path / "dags-volume"
    dags.mkdir()
    fs = PodFilesystem(tmp_path / "pods" / "airflow-scheduler", workload, "/opt/airflow")
    fs.lay_out(manifests, SECRETS.get, {"airflow-dags": dags})
    root = fs.root
    laid = (root / "opt/airflow/airflow.cfg").read_text()
    assert f"dags_folder = {root}/opt/airflow/dags" in laid and "keytab = /etc/airflow.keytab" in laid
    assert (root / "opt/airflow/dags").resolve() == dags.resolve()
    assert (root / "opt/airflow/logs").is_dir() and (root / "opt/airflow/pod_templates/pod_template_file.yaml").is_dir()
    assert os.access(root / "entrypoint", os.X_OK)
    assert fs.rewrite_path("sh -c 'exec /entrypoint \\\nairflow jobs check'") == f"sh -c 'exec {root}/entrypoint \\\nairflow jobs check'"
    assert fs.rewrite_path("/opt/airflowx /usr/bin/env") == "/opt/airflowx /usr/bin/env"
    with pytest.raises(TwinError, match="PersistentVolumeClaim airflow-dags is not declared by the program"):
        PodFilesystem(tmp_path / "other", workload, "/opt/airflow").lay_out(manifests, SECRETS.get, {})


def test_config_endpoints_move_to_loopback_with_their_pairs_and_nothing_else(tmp_path):
    endpoints = Endpoints()
    endpoints.declare(Service("statsd", "airflow-statsd", 9125, namespace="airflow"), 40001)
    endpoints.declare(Service("api", "airflow-api-server", 8080, namespace="airflow"), 40002)
    cfg = ("[core]\nexecution_api_server_url = http://airflow-api-server:8080/execution/\n"
           "dag_bundle_config_list = [{\"classpath\": \"x\"}]\n[logging]\nremote_base_log_folder = s3://b/logs\n"
           "[metrics]\nstatsd_host = airflow-statsd\nstatsd_on = True\nstatsd_port = 9125\n")
    out = rewrite_config(cfg, endpoints, "ConfigMap airflow-config")
    assert "execution_api_server_url = http://127.0.0.1:40002/execution/" in out
    assert "statsd_host = 127.0.0.1" in out and "statsd_port = 40001" in out
    assert "remote_base_log_folder = s3://b/logs" in out and 'dag_bundle_config_list = [{"classpath": "x"}]' in out
    with pytest.raises(TwinError, match=r"\[metrics\] statsd_host/statsd_port: endpoint airflow-statsd:9999 is provided by no"):
        rewrite_config(cfg.replace("9125", "9999"), endpoints, "ConfigMap airflow-config")
    env = rewrite_env({"URL": "http://airflow-api-server.airflow:8080/x", "PLAIN": "hello"}, endpoints, "pod")
    assert env == {"URL": "http://127.0.0.1:40002/x", "PLAIN": "hello"}


def test_probes_follow_kubernetes_timing_and_fail_by_name():
    failing = Probe("Deployment/airflow-scheduler", "scheduler", "livenessProbe",
                    {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 2}, argv=["false"], env=dict(os.environ))
    runner = ProbeRunner()
    runner.watch("Deployment/airflow-scheduler", "scheduler", [failing])
    deadline = time.monotonic() + 10
    while runner.failure is None and time.monotonic() < deadline:
        time.sleep(0.1)
    runner.stop()
    with pytest.raises(TwinError) as raised:
        runner.check()
    assert str(raised.value).startswith("Deployment/airflow-scheduler container scheduler: livenessProbe (exec: false) "
                                        "failed 2 times in a row (failureThreshold 2); last: exit 1")
    # Liveness waits for the startup probe, and its initial delay counts from the container's start.
    startup = Probe("p", "c", "startupProbe", {"exec": {"command": ["true"]}})
    liveness = Probe("p", "c", "livenessProbe", {"exec": {"command": ["true"]}, "initialDelaySeconds": 15})
    watched = ContainerProbes(started=100.0, probes={"startupProbe": startup, "livenessProbe": liveness})
    assert watched.due(100.0) == [startup]
    startup.passed = True
    assert watched.due(110.0) == [] and watched.due(115.0) == [liveness]


def test_mwaa_precedence_drops_protected_essential_and_configured_exports():
    container = {"AIRFLOW_HOME": "/usr/local/airflow", "PATH": "/bin", "MWAA__X": "1"}
    startup = {**container, "AIRFLOW_HOME": "/tmp/h", "PATH": "/opt/bin:/bin", "DEPLOYMENT_TARGET": "mwaa",
               "AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "5",
               "AIRFLOW__CORE__EXECUTE_TASKS_NEW_PYTHON_INTERPRETER": "False"}
    options = {"AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "2"}
    essentials = mwaa_runtime.essential("worker", "3.3.1", "http://q/123/airflow-celery-x", "us-east-1", use_ssl=False)
    merged, dropped = mwaa_runtime.merge(container, startup, options, essentials, mwaa_runtime.IMAGES["3.3.1"])
    assert dropped == {"AIRFLOW_HOME": "a protected variable", "AIRFLOW__CORE__EXECUTOR": "MWAA's essential setting",
                       "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "an airflowConfigurationOptions entry"}
    assert merged["PATH"] == "/opt/bin:/bin" and merged["DEPLOYMENT_TARGET"] == "mwaa"
    assert merged["AIRFLOW__CORE__EXECUTE_TASKS_NEW_PYTHON_INTERPRETER"] == "False"  # opinionated: the script may change it
    transport = json.loads(merged["AIRFLOW__CELERY__EXTRA_CELERY_CONFIG"])["broker_transport_options"]
    assert transport["predefined_queues"] == {"airflow-celery-x": {"url": "http://q/123/airflow-celery-x"},
                                              "default": {"url": "http://q/123/airflow-celery-x"}}
    assert transport["visibility_timeout"] == 43200 and merged["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "airflow-celery-x"
    assert merged["MWAA_AIRFLOW_COMPONENT"] == "worker" and merged["AWS_EXECUTION_ENV"] == "Amazon_MWAA_331"


def test_startup_script_environment_is_read_back_even_when_it_calls_exit(tmp_path):
    supervisor = Supervisor(tmp_path)
    script = tmp_path / "startup.sh"
    script.write_text("export A=1\nB=2\nexport PATH=/opt/x:$PATH\nexit 3\nexport C=never\n")
    left = run_startup_script(supervisor, script, "scheduler", {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert left["A"] == "1" and "B" not in left and "C" not in left and left["PATH"].startswith("/opt/x:")
    script.write_text("set -e\nfalse\n")
    with pytest.raises(TwinError, match="startup.sh left no environment in the scheduler container"):
        run_startup_script(supervisor, script, "scheduler", {"PATH": "/usr/bin:/bin"})


def _job_or_pod(kind, name, inits, main, backoff=None):
    spec = {"template": {"metadata": {"labels": {}}, "spec": {
        "initContainers": [{"name": f"init-{i}", "image": "img", "command": ["sh", "-c", c]} for i, c in enumerate(inits)],
        "containers": [{"name": "main", "image": "img", "command": ["sh", "-c", main]}]}}}
    if backoff is not None:
        spec["backoffLimit"] = backoff
    return Workload(kind, name, {"kind": kind, "metadata": {"name": name}, "spec": spec})


def _kubelet(tmp_path):
    from tools.twin.kubelet import Kubelet, Started

    supervisor = Supervisor(tmp_path)

    def run(workload, container, attempt):
        return Started(supervisor.start(f"{workload.name}.{container.name}", container.argv({}),
                                        env={"PATH": os.environ["PATH"]}, cwd=tmp_path))

    return supervisor, Kubelet(supervisor, ProbeRunner(), run)


def test_init_containers_run_in_order_before_the_containers(tmp_path):
    supervisor, kubelet = _kubelet(tmp_path)
    trace = tmp_path / "trace"
    kubelet.add(_job_or_pod("Deployment", "web", [f"echo a >> {trace}", f"echo b >> {trace}"],
                            f"echo main >> {trace}; sleep 30"))
    try:
        kubelet.run_until(kubelet.all_running, 20, "running")
        deadline = time.monotonic() + 5
        while trace.read_text().split() != ["a", "b", "main"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert trace.read_text().split() == ["a", "b", "main"]
    finally:
        supervisor.stop_all()


def test_a_job_is_run_again_after_back_off_and_fails_past_its_backoff_limit(tmp_path, monkeypatch):
    from tools.twin import kubelet as kubelet_module

    monkeypatch.setattr(kubelet_module, "BACKOFF_START", 0.1)
    supervisor, kubelet = _kubelet(tmp_path)
    counter = tmp_path / "tries"
    kubelet.add(_job_or_pod("Job", "create-user", [], f"echo x >> {counter}; exit 2", backoff=2))
    with pytest.raises(TwinError) as raised:
        kubelet.run_until(lambda: kubelet.completed("Job/create-user"), 20, "job done")
    assert len(counter.read_text().split()) == 3
    assert str(raised.value).startswith("Job/create-user failed 3 times (backoffLimit 2), last exit code 2; read ")
    assert str(raised.value).endswith("create-user.main.log")
