"""The Airflow image EKS runs: the official image of the configured version plus airflow/requirements.txt,
installed with the same constraints file MWAA uses, and airflow/plugins/ (MWAA gets them as plugins.zip).
Built by scripts/build-image, tagged by content.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .. import airflow_config as af

DOCKERFILE = af.ROOT / "images" / "airflow" / "Dockerfile"
PLUGINS_CONTEXT = "plugins"  # always present in the context (maybe empty): the Dockerfile copies it


def build_inputs(airflow_version: str) -> dict[str, bytes]:
    """Every file that goes into the image build context, by name (plugins under plugins/)."""
    return {
        "Dockerfile": DOCKERFILE.read_bytes(),
        "requirements.txt": af.render_requirements(airflow_version).encode(),
        "constraints.txt": af.constraints_file(airflow_version).read_bytes(),
        **{f"{PLUGINS_CONTEXT}/{p.relative_to(af.PLUGINS_DIR).as_posix()}": p.read_bytes() for p in af.plugin_files()},
    }


def image_tag(airflow_version: str) -> str:
    """<airflowVersion>-<hash of the build context>: a new tag whenever requirements or the version change."""
    digest = hashlib.sha256()
    for name, content in sorted(build_inputs(airflow_version).items()):
        digest.update(name.encode() + b"\0" + content + b"\0")
    return f"{airflow_version}-{digest.hexdigest()[:12]}"


def write_build_context(airflow_version: str, directory: Path) -> None:
    (directory / PLUGINS_CONTEXT).mkdir(parents=True, exist_ok=True)
    for name, content in build_inputs(airflow_version).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
