"""The Airflow image EKS runs: the official image of the configured version plus airflow/requirements.txt,
installed with the same constraints file MWAA uses. Built by scripts/build-image, tagged by content.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .. import airflow_config as af

DOCKERFILE = af.ROOT / "images" / "airflow" / "Dockerfile"


def build_inputs(airflow_version: str) -> dict[str, bytes]:
    """Every file that goes into the image build context, by name."""
    return {
        "Dockerfile": DOCKERFILE.read_bytes(),
        "requirements.txt": af.render_requirements(airflow_version).encode(),
        "constraints.txt": af.constraints_file(airflow_version).read_bytes(),
    }


def image_tag(airflow_version: str) -> str:
    """<airflowVersion>-<hash of the build context>: a new tag whenever requirements or the version change."""
    digest = hashlib.sha256()
    for name, content in sorted(build_inputs(airflow_version).items()):
        digest.update(name.encode() + b"\0" + content + b"\0")
    return f"{airflow_version}-{digest.hexdigest()[:12]}"


def write_build_context(airflow_version: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in build_inputs(airflow_version).items():
        (directory / name).write_bytes(content)
