"""The vendored charts are byte-identical to upstream: every file's git blob id is the one SOURCE.md lists."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from components.eks.chart_values import CHART_VERSIONS_FILE, chart_path
from tests.conftest import ROOT
from tools.chart import provenance

VERSIONS = sorted(provenance.UPSTREAM)


def test_git_blob_id_is_what_git_hash_object_prints():
    # `printf 'hello\n' | git hash-object --stdin`
    assert provenance.git_blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_vendored_file_has_its_recorded_blob_id(version):
    recorded = provenance.recorded_blobs()[version]
    actual = {line.split("\t")[1]: line.split()[2] for line in provenance.blob_lines(version)}
    assert sorted(set(actual) - set(recorded)) == [], "vendored but not in SOURCE.md"
    assert sorted(set(recorded) - set(actual)) == [], "in SOURCE.md but not vendored"
    changed = {path: (recorded[path], blob) for path, blob in actual.items() if recorded[path] != blob}
    assert changed == {}, "files whose bytes differ from upstream (recorded, actual)"


@pytest.mark.parametrize("version", VERSIONS)
def test_tree_sha256_in_source_md_is_the_folders(version):
    row = re.search(rf"^\| `airflow-{re.escape(version)}/` \|.*\| `([0-9a-f]{{64}})` \|$",
                    provenance.SOURCE_MD.read_text(), flags=re.MULTILINE)
    assert row, f"no table row for airflow-{version}/ in SOURCE.md"
    assert row[1] == provenance.tree_sha256(version)


@pytest.mark.parametrize("version", VERSIONS)
def test_vendored_chart_is_what_helm_needs_plus_licence_and_notice(version):
    files = provenance.files(version)
    assert {"LICENSE", "NOTICE", "Chart.yaml", "Chart.lock", "values.yaml", "values.schema.json"} <= set(files)
    assert "charts/postgresql-13.2.24.tgz" in files  # export-ignored upstream: taken with git cat-file
    assert all(provenance.kept(f) for f in files), [f for f in files if not provenance.kept(f)]
    assert not any(f.startswith(("docs/", "newsfragments/", "dockerfiles/")) for f in files)
    assert "Apache License" in (provenance.chart_dir(version) / "LICENSE").read_text()


def test_every_pin_deploys_a_vendored_chart_of_its_version():
    pins = json.loads(CHART_VERSIONS_FILE.read_text())["charts"]
    assert {entry["chart"] for entry in pins.values()} == set(VERSIONS)
    for airflow_version, entry in pins.items():
        chart = yaml.safe_load((ROOT / chart_path(airflow_version) / "Chart.yaml").read_text())
        assert (chart["name"], chart["version"]) == ("airflow", entry["chart"]), airflow_version


@pytest.mark.parametrize("version", VERSIONS)
def test_the_schema_copies_are_the_vendored_schemas(version):
    # tests/test_chart_values.py checks values against chart-schema/; it must be the schema helm validates with.
    copy = ROOT / "components/eks/chart-schema" / f"values.schema-{version}.json"
    assert copy.read_bytes() == (provenance.chart_dir(version) / "values.schema.json").read_bytes()
