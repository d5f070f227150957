"""No generated secret reaches a ConfigMap or a plain env value of the rendered chart.

"Generated secrets" are what the program generates (every output of its random:* resources: passwords, the fernet
key's bytes, which also make the database password and the cache auth token) and every value it puts in a Kubernetes
Secret (connection URLs holding those passwords). Not every Pulumi secret is one: the bucket name stored as a Secrets
Manager variable is secret only in name, and rightly appears in airflow.cfg's remote log folder. Under the planner's
mocks generated values are recognisable strings, so a substring test finds them inside URLs and config files too.
"""

from __future__ import annotations

from typing import Any, Iterator

from tools.planner import Plan

from .references import containers, pods
from .render import SECRET_TYPE, Rendered

MIN_LENGTH = 8  # shorter values (a port, "0") would match by chance


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def generated_secrets(plan: Plan) -> dict[str, str]:
    """secret value -> where the plan holds it ('Secret airflow-metadata', 'random:...RandomPassword eks-jwt-secret')."""
    found: dict[str, str] = {}
    for resource in plan.of_type(SECRET_TYPE):
        for text in _strings({**(resource.inputs.get("stringData") or {}), **(resource.inputs.get("data") or {})}):
            found.setdefault(text, f"Secret {resource.inputs['metadata']['name']}")
    for resource in plan.resources:
        if resource.type.startswith("random:"):
            for key in ("result", "base64", "hex", "b64Std", "b64Url"):
                if isinstance(resource.outputs.get(key), str):
                    found.setdefault(resource.outputs[key], f"{resource.type} {resource.name}")
    return {value: where for value, where in found.items() if len(value) >= MIN_LENGTH}


def exposure_problems(rendered: Rendered, plan: Plan) -> list[str]:
    """Where a generated secret appears in a rendered ConfigMap's data or a container's plain `env[].value` (named by
    where the secret comes from, never by its value)."""
    secrets = generated_secrets(plan)
    problems = []

    def check(where: str, text: str) -> None:
        for value, source in secrets.items():
            if value in text:
                problems.append(f"{where}: holds the value of {source} in plain text")

    for config_map in rendered.of_kind("ConfigMap"):
        for key, text in (config_map.get("data") or {}).items():
            check(f"ConfigMap/{config_map['metadata']['name']}: data[{key}]", str(text))
    for obj, pod_path, spec in pods(rendered):
        for field, container in containers(spec):
            for env in container.get("env") or []:
                if "value" in env:
                    check(f"{obj}: {pod_path}.{field}.env[{env['name']}].value", str(env["value"]))
    return problems
