"""airflow/requirements.txt (MWAA format) against the shipped constraints files.

MWAA installs requirements.txt with the constraints file named on its --constraint line; a package the
constraints do not pin would be installed at whatever version is newest that day, on MWAA and in the
EKS image alike. Standard library only: these tests need the files, not Airflow.
"""

from __future__ import annotations

import re
from importlib import metadata

import pytest

from dagtests_env import REPO

REQUIREMENTS = REPO / "airflow" / "requirements.txt"
CONSTRAINTS_DIR = REPO / "airflow" / "constraints"
CONSTRAINT_URL = re.compile(
    r"https://raw\.githubusercontent\.com/apache/airflow/constraints-(?P<version>\d+\.\d+\.\d+)/constraints-3\.\d+\.txt"
)
DEFAULT_AIRFLOW_VERSION = "3.3.1"


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirements(text: str):
    """(constraint URLs, {normalized name: requirement line}) of an MWAA requirements.txt."""
    urls, packages = [], {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        option = re.match(r"(?:-c|--constraint)[\s=]+\"?([^\"\s]+)\"?$", line)
        if option:
            urls.append(option.group(1))
        elif line.startswith("-"):
            raise AssertionError(f"unexpected pip option in requirements.txt: {line}")
        else:
            packages[norm(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0])] = line
    return urls, packages


def parse_constraints(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            pins[norm(name)] = version.split(";")[0].strip()
    return pins


def unpinned(packages, pins):
    return sorted(name for name in packages if name not in pins)


def shipped_versions():
    return sorted(p.name[len("constraints-") : -len(".txt")] for p in CONSTRAINTS_DIR.glob("constraints-*.txt"))


def test_first_line_is_the_constraint_of_the_default_version():
    first = REQUIREMENTS.read_text().splitlines()[0]
    match = re.fullmatch(rf'--constraint "({CONSTRAINT_URL.pattern})"', first)
    assert match, f"first line must be --constraint \"<upstream constraints URL>\", got: {first}"
    assert match.group("version") == DEFAULT_AIRFLOW_VERSION


def test_constraint_line_matches_a_shipped_file():
    urls, _ = parse_requirements(REQUIREMENTS.read_text())
    assert len(urls) == 1
    version = CONSTRAINT_URL.fullmatch(urls[0]).group("version")
    shipped = CONSTRAINTS_DIR / f"constraints-{version}.txt"
    assert shipped.is_file(), f"no shipped constraints file for Airflow {version}"
    # The shipped copy says where it was copied from (line 2 of its header): the very same URL.
    assert shipped.read_text().splitlines()[1] == f"# {urls[0]}"


def test_every_requirement_is_pinned_by_the_constraints_of_its_version():
    urls, packages = parse_requirements(REQUIREMENTS.read_text())
    version = CONSTRAINT_URL.fullmatch(urls[0]).group("version")
    pins = parse_constraints((CONSTRAINTS_DIR / f"constraints-{version}.txt").read_text())
    assert packages, "airflow/requirements.txt lists no package"
    assert unpinned(packages, pins) == []
    for name, line in packages.items():
        assert re.fullmatch(r"[A-Za-z0-9._-]+(\[[A-Za-z0-9_,.-]+\])?", line), (
            f"{line!r}: leave requirements unpinned, the constraints file pins them"
        )


@pytest.mark.parametrize("version", shipped_versions())
def test_requirements_are_pinned_for_every_supported_version(version):
    """The infrastructure rewrites the constraint line for the configured airflowVersion: every shipped
    version must pin every requirement too."""
    _, packages = parse_requirements(REQUIREMENTS.read_text())
    pins = parse_constraints((CONSTRAINTS_DIR / f"constraints-{version}.txt").read_text())
    assert unpinned(packages, pins) == []


def test_the_check_catches_an_unpinned_package():
    text = REQUIREMENTS.read_text() + "\nsome-package-no-constraints-file-pins\napache_airflow_providers_AMAZON[s3fs]\n"
    urls, packages = parse_requirements(text)
    pins = parse_constraints((CONSTRAINTS_DIR / "constraints-3.3.1.txt").read_text())
    assert unpinned(packages, pins) == ["some-package-no-constraints-file-pins"]


def test_installed_requirements_are_at_the_pinned_versions():
    """In the Airflow test venv (needs Airflow installed), each requirement is at its constraints pin."""
    _, packages = parse_requirements(REQUIREMENTS.read_text())
    installed_airflow = metadata.version("apache-airflow")
    pins = parse_constraints((CONSTRAINTS_DIR / f"constraints-{installed_airflow}.txt").read_text())
    assert {name: metadata.version(name) for name in packages} == {name: pins[name] for name in packages}
