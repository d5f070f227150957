"""What the rendered chart refers to, checked against what the plan declares.

Each check returns a list of problems, one line each, naming the rendered object, the field and what is missing,
e.g. `Deployment/airflow-worker: spec.template.spec.containers[worker].env[AIRFLOW__CORE__FERNET_KEY]
.valueFrom.secretKeyRef: Secret airflow-fernet-key has no key 'fernet' (keys: fernet-key)`. An empty list means
every reference resolves.
"""

from __future__ import annotations

import configparser
import json
import re
from typing import Any, Iterator

from tools.planner import Plan

from .render import Rendered, declared_secrets

POD_PATHS = {  # workload kind -> where its pod spec is
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
NODE_GROUP_TYPE = "eks:index:ManagedNodeGroup"
ROLE_TYPE = "aws:iam/role:Role"


def pods(rendered: Rendered) -> Iterator[tuple[str, str, dict]]:
    """(object 'Kind/name', field path of the pod spec, pod spec) of every rendered workload."""
    for manifest in rendered.manifests:
        path = POD_PATHS.get(manifest.get("kind", ""))
        if path is None:
            continue
        spec: Any = manifest
        for key in path:
            spec = spec.get(key) or {}
        yield f"{manifest['kind']}/{manifest['metadata']['name']}", ".".join(path), spec


def containers(spec: dict) -> Iterator[tuple[str, dict]]:
    """(field 'initContainers[name]' / 'containers[name]', container) of a pod spec, init containers first."""
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            yield f"{group}[{container['name']}]", container


def _keys(obj: dict) -> set[str]:
    return set(obj.get("data") or {}) | set(obj.get("stringData") or {}) | set(obj.get("binaryData") or {})


def _available(rendered: Rendered, plan: Plan, kind: str) -> dict[str, set[str]]:
    """Objects of a kind in the release's namespace, name -> keys: those the plan declares and those the chart renders."""
    found = {}
    for resource in plan.of_type(f"kubernetes:core/v1:{kind}"):
        metadata = resource.inputs.get("metadata") or {}
        if metadata.get("namespace", "default") == rendered.namespace:
            found[metadata["name"]] = _keys(resource.inputs)
    for obj in rendered.of_kind(kind):
        found[obj["metadata"]["name"]] = _keys(obj)
    return found


def _missing(kind: str, name: str, key: str | None, objects: dict[str, set[str]]) -> str | None:
    if name not in objects:
        return f"{kind} {name} is neither declared by the program nor rendered by the chart"
    if key is not None and key not in objects[name]:
        return f"{kind} {name} has no key {key!r} (keys: {', '.join(sorted(objects[name])) or 'none'})"
    return None


def _pod_template_file_unused(rendered: Rendered, key: str) -> bool:
    """The scheduler (and the Airflow 2 webserver) mount `pod_template_file.yaml` from the airflow ConfigMap with a
    subPath on every executor, but the chart writes that key only for the Kubernetes executors
    (templates/configmaps/configmap.yaml). With CeleryExecutor nothing reads the file: Airflow reads
    [kubernetes_executor] pod_template_file only in the Kubernetes executors, and the kubelet starts the container
    with an empty directory at a subPath the volume lacks. So the missing key is harmless here, and only here."""
    return key == "pod_template_file.yaml" and "KubernetesExecutor" not in str(rendered.values.get("executor", ""))


def object_references(spec: dict, kind: str) -> Iterator[tuple[str, str, str | None, bool]]:
    """(field, object name, key or None, optional) of every reference to a Secret or ConfigMap in a pod spec."""
    ref_key, env_from_key = ("secretKeyRef", "secretRef") if kind == "Secret" else ("configMapKeyRef", "configMapRef")
    volume_key, name_field = ("secret", "secretName") if kind == "Secret" else ("configMap", "name")
    volumes: dict[str, dict] = {}
    for volume in spec.get("volumes") or []:
        field = f"volumes[{volume['name']}]"
        # A Secret volume names its object in secretName; ConfigMap volumes and projected sources in name.
        sources = [(f"{field}.{volume_key}", volume.get(volume_key), name_field)]
        projected = (volume.get("projected") or {}).get("sources") or []
        sources += [(f"{field}.projected.sources[{i}].{volume_key}", s.get(volume_key), "name") for i, s in enumerate(projected)]
        for where, source, name_key in sources:
            if not source:
                continue
            name, optional = source.get(name_key), bool(source.get("optional"))
            for item in source.get("items") or []:
                yield f"{where}.items[{item['key']}]", name, item["key"], optional
            if not source.get("items"):
                yield where, name, None, optional
                if name_key == name_field:
                    volumes[volume["name"]] = {"name": name, "optional": optional}
    for field, container in containers(spec):
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get(ref_key)
            if ref:
                yield f"{field}.env[{env['name']}].valueFrom.{ref_key}", ref["name"], ref["key"], bool(ref.get("optional"))
        for index, env_from in enumerate(container.get("envFrom") or []):
            ref = env_from.get(env_from_key)
            if ref:
                yield f"{field}.envFrom[{index}].{env_from_key}", ref["name"], None, bool(ref.get("optional"))
        for mount in container.get("volumeMounts") or []:
            # A subPath into a whole-object volume names one of its keys.
            source = volumes.get(mount["name"])
            if source and mount.get("subPath"):
                yield (f"{field}.volumeMounts[{mount['mountPath']}].subPath", source["name"], mount["subPath"],
                       source["optional"])


def _object_problems(rendered: Rendered, kind: str, objects: dict[str, set[str]]) -> list[str]:
    problems = []
    for obj, pod_path, spec in pods(rendered):
        for field, name, key, optional in object_references(spec, kind):
            if kind == "ConfigMap" and key is not None and _pod_template_file_unused(rendered, key):
                continue
            missing = _missing(kind, name, key, objects)
            if missing and not optional:
                problems.append(f"{obj}: {pod_path}.{field}: {missing}")
    return problems


def secret_problems(rendered: Rendered, plan: Plan) -> list[str]:
    """Every Secret and key a pod reads (env, envFrom, volumes, subPaths) is one the plan declares or the chart renders."""
    objects = {**_available(rendered, plan, "Secret"), **declared_secrets(plan)}
    return _object_problems(rendered, "Secret", objects)


def configmap_problems(rendered: Rendered, plan: Plan) -> list[str]:
    """Every ConfigMap and key a pod reads exists (the chart renders its own; the plan may declare others)."""
    return _object_problems(rendered, "ConfigMap", _available(rendered, plan, "ConfigMap"))


def pvc_problems(rendered: Rendered, plan: Plan) -> list[str]:
    """Every PersistentVolumeClaim a pod mounts is declared by the plan (in the release's namespace) or rendered."""
    claims = set(_available(rendered, plan, "PersistentVolumeClaim"))
    problems = []
    for obj, pod_path, spec in pods(rendered):
        for volume in spec.get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and claim not in claims:
                problems.append(f"{obj}: {pod_path}.volumes[{volume['name']}].persistentVolumeClaim.claimName: "
                                f"PersistentVolumeClaim {claim} is not declared in namespace {rendered.namespace} "
                                f"(declared: {', '.join(sorted(claims)) or 'none'})")
    return problems


def _trust_subjects(role_policy: str) -> set[str]:
    """The `:sub` values a role's trust policy allows (IRSA: system:serviceaccount:<namespace>:<name>)."""
    subjects = set()
    for statement in json.loads(role_policy).get("Statement", []):
        for test in (statement.get("Condition") or {}).values():
            for key, value in test.items():
                if key.endswith(":sub"):
                    subjects |= set(value if isinstance(value, list) else [value])
    return subjects


def service_account_problems(rendered: Rendered, plan: Plan) -> list[str]:
    """Each pod's ServiceAccount is rendered; each IRSA annotation names a role the plan declares whose trust policy
    lets exactly that ServiceAccount assume it; and every IRSA role for this namespace is used by a running pod."""
    roles = {r.outputs.get("arn"): r for r in plan.of_type(ROLE_TYPE)}
    accounts = {a["metadata"]["name"]: a for a in rendered.of_kind("ServiceAccount")}
    problems, used = [], set()
    for obj, pod_path, spec in pods(rendered):
        name = spec.get("serviceAccountName") or "default"
        if name not in accounts:
            problems.append(f"{obj}: {pod_path}.serviceAccountName: ServiceAccount {name} is not rendered")
        else:
            used.add(name)
    for name, account in accounts.items():
        arn = (account["metadata"].get("annotations") or {}).get(IRSA_ANNOTATION)
        if not arn:
            continue
        where = f"ServiceAccount/{name}: metadata.annotations[{IRSA_ANNOTATION}]"
        subject = f"system:serviceaccount:{rendered.namespace}:{name}"
        role = roles.get(arn)
        if role is None:
            problems.append(f"{where}: role {arn} is not declared by the program")
        elif subject not in _trust_subjects(role.inputs.get("assumeRolePolicy", "{}")):
            problems.append(f"{where}: role {role.name} trusts {sorted(_trust_subjects(role.inputs['assumeRolePolicy']))}, "
                            f"not {subject}")
    prefix = f"system:serviceaccount:{rendered.namespace}:"
    for role in roles.values():
        for subject in _trust_subjects(role.inputs.get("assumeRolePolicy", "{}")):
            if subject.startswith(prefix) and subject[len(prefix):] not in used:
                problems.append(f"IAM role {role.name}: trusts {subject}, which no rendered pod runs as "
                                f"(pods run as: {', '.join(sorted(used))})")
    return problems


def node_group_labels(plan: Plan) -> dict[str, dict[str, str]]:
    """Managed node group (resource name) -> the labels its nodes carry, as the plan declares them."""
    return {g.name: dict(g.inputs.get("labels") or {}) for g in plan.of_type(NODE_GROUP_TYPE)}


def node_selector_problems(rendered: Rendered, plan: Plan) -> list[str]:
    """Every nodeSelector matches the labels of at least one declared node group (else the pod stays Pending)."""
    groups = node_group_labels(plan)
    problems = []
    for obj, pod_path, spec in pods(rendered):
        selector = spec.get("nodeSelector") or {}
        if selector and not any(selector.items() <= labels.items() for labels in groups.values()):
            offered = "; ".join(f"{name}: {labels}" for name, labels in sorted(groups.items()))
            problems.append(f"{obj}: {pod_path}.nodeSelector: {selector} matches no node group ({offered})")
    return problems


_DIVISOR = re.compile(r"::decimal\s*/\s*(\d+)\s*\)")


def airflow_cfg(rendered: Rendered, config_map: str) -> configparser.ConfigParser:
    """The airflow.cfg a rendered ConfigMap carries, parsed (no interpolation: values are kept as written)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(rendered.get("ConfigMap", config_map)["data"]["airflow.cfg"])
    return parser


def keda_problems(rendered: Rendered) -> list[str]:
    """Each ScaledObject targets a rendered Deployment and container, reads a connection that container has, and its
    query divides queued+running tasks by the worker concurrency that Deployment's airflow.cfg sets."""
    problems = []
    for scaled in rendered.of_kind("ScaledObject"):
        obj = f"ScaledObject/{scaled['metadata']['name']}"
        target = scaled["spec"]["scaleTargetRef"]
        try:
            deployment = rendered.get(target.get("kind", "Deployment"), target["name"])
        except LookupError as error:
            problems.append(f"{obj}: spec.scaleTargetRef: {error}")
            continue
        spec = deployment["spec"]["template"]["spec"]
        container = next((c for c in spec["containers"] if c["name"] == target.get("envSourceContainerName")), None)
        if container is None:
            problems.append(f"{obj}: spec.scaleTargetRef.envSourceContainerName: {target['name']} has no container "
                            f"{target.get('envSourceContainerName')!r}")
            continue
        env = {e["name"] for e in container.get("env") or []}
        config_map = next((v["configMap"]["name"] for v in spec.get("volumes") or [] if v.get("configMap")), None)
        for index, trigger in enumerate(scaled["spec"].get("triggers") or []):
            where = f"{obj}: spec.triggers[{index}].metadata"
            meta = trigger.get("metadata") or {}
            if meta.get("connectionFromEnv") and meta["connectionFromEnv"] not in env:
                problems.append(f"{where}.connectionFromEnv: container {container['name']} has no env "
                                f"{meta['connectionFromEnv']}")
            if trigger.get("type") != "postgresql":
                continue
            divisor = _DIVISOR.search(meta.get("query", ""))
            concurrency = (airflow_cfg(rendered, config_map).get("celery", "worker_concurrency", fallback=None)
                           if config_map else None)
            if divisor is None or concurrency is None or int(divisor[1]) != int(concurrency):
                problems.append(f"{where}.query: divides by {divisor[1] if divisor else 'nothing'} but "
                                f"{target['name']}'s airflow.cfg sets [celery] worker_concurrency = {concurrency}")
    return problems
