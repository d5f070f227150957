"""Strict Kubernetes schema validation of the rendered objects (kubernetes-validate, which carries the OpenAPI schemas
of Kubernetes 1.25 to 1.37: every version EKS offers here, 1.33 to 1.36, has its own)."""

from __future__ import annotations

import kubernetes_validate
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

from .render import Rendered


def schema_problems(rendered: Rendered) -> tuple[list[str], set[str]]:
    """(one line per object that fails strict validation for the render's Kubernetes version, the 'apiVersion/kind'
    of objects that have no schema in the package: custom resources such as KEDA's ScaledObject)."""
    problems, unchecked = [], set()
    for manifest in rendered.manifests:
        obj = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(manifest, rendered.kube_version, strict=True)
        except SchemaNotFoundError:
            unchecked.add(f"{manifest.get('apiVersion')}/{manifest.get('kind')}")
        except ValidationError as error:
            path = ".".join(str(p) for p in error.path) or "(object)"
            problems.append(f"{obj}: {path}: {error.message} (Kubernetes {error.version} schema, strict)")
    return problems, unchecked
