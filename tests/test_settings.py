"""Stack config validation: every bad value is reported on one line naming the key, the value and what's allowed."""

from __future__ import annotations

import hashlib
import re

import pytest

from components import airflow_config
from components.settings import CONFIG_SCHEMA, EKS_KUBERNETES_VERSIONS, ConfigError, parse_settings

VERSIONS = "2.9.2, 2.10.1, 2.10.3, 2.11.0, 2.11.2, 3.0.6, 3.2.1, 3.3.1"
CLASSES = "mw1.micro, mw1.small, mw1.medium, mw1.large, mw1.xlarge, mw1.2xlarge"
TOP_KEYS = "airflowVersion, eks, environmentName, keepMwaa, mwaa, network, protectData, tags, target, workload"
MWAA_KEYS = ("airflowConfigurationOptions, environmentClass, logLevel, maxWebservers, maxWorkers, minWebservers, "
             "minWorkers, schedulers, webserverAccessMode, weeklyMaintenanceWindowStart")
CIDR_ALLOWED = "allowed: an IPv4 CIDR from /16 to /22 with no host bits, e.g. 10.20.0.0/16"


def problems_of(raw: dict, stack: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, stack)
    return caught.value.problems


# (case id, config, the one problem it must produce). Each config is valid except for the one mistake.
BAD_VALUES = [
    ("unknown-target", {"target": "gke"},
     'target: "gke" is not allowed; allowed: mwaa, eks'),
    ("missing-target", {"airflowVersion": "3.3.1"},
     "target: not set; allowed: mwaa, eks"),
    ("unsupported-airflow-version", {"target": "mwaa", "airflowVersion": "2.8.1"},
     f'airflowVersion: "2.8.1" is not allowed; allowed: {VERSIONS}'),
    ("bad-environment-class", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.huge"}},
     f'mwaa.environmentClass: "mw1.huge" is not allowed; allowed: {CLASSES}'),
    ("min-workers-above-max", {"target": "mwaa", "mwaa": {"minWorkers": 5, "maxWorkers": 3}},
     "mwaa.minWorkers: 5 is greater than mwaa.maxWorkers (3); allowed: <= 3"),
    ("micro-max-workers-2", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.micro", "maxWorkers": 2}},
     "mwaa.maxWorkers: 2 is out of range for mw1.micro; allowed: 1 to 1"),
    ("small-max-workers-26", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.small", "maxWorkers": 26}},
     "mwaa.maxWorkers: 26 is out of range for mw1.small; allowed: 1 to 25"),
    ("schedulers-above-class", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.large", "schedulers": 6}},
     "mwaa.schedulers: 6 is out of range for mw1.large; allowed: 2 to 5"),
    ("micro-two-schedulers", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.micro", "schedulers": 2}},
     "mwaa.schedulers: 2 is out of range for mw1.micro; allowed: 1 to 1"),
    ("webservers-above-class", {"target": "mwaa", "mwaa": {"maxWebservers": 6}},
     "mwaa.maxWebservers: 6 is out of range for mw1.small; allowed: 2 to 5"),
    ("webservers-below-class", {"target": "mwaa", "mwaa": {"environmentClass": "mw1.medium", "minWebservers": 1}},
     "mwaa.minWebservers: 1 is out of range for mw1.medium; allowed: 2 to 5"),
    ("cidr-host-bits", {"target": "mwaa", "network": {"vpcCidr": "10.20.0.1/16"}},
     f'network.vpcCidr: "10.20.0.1/16" is not a valid network (10.20.0.1/16 has host bits set); {CIDR_ALLOWED}'),
    ("cidr-not-a-cidr", {"target": "mwaa", "network": {"vpcCidr": "not-a-cidr"}},
     'network.vpcCidr: "not-a-cidr" is not valid; allowed: an IPv4 CIDR from /16 to /22, e.g. 10.20.0.0/16'),
    ("cidr-bad-octet", {"target": "mwaa", "network": {"vpcCidr": "300.1.0.0/16"}},
     f"network.vpcCidr: \"300.1.0.0/16\" is not a valid network (Octet 300 (> 255) not permitted in '300.1.0.0'); {CIDR_ALLOWED}"),
    ("cidr-public-range", {"target": "mwaa", "network": {"vpcCidr": "8.8.0.0/16"}},
     'network.vpcCidr: "8.8.0.0/16" is not a private range; allowed: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16'),
    ("cidr-too-large", {"target": "mwaa", "network": {"vpcCidr": "10.0.0.0/8"}},
     'network.vpcCidr: "10.0.0.0/8" has prefix /8; allowed: /16 to /22'),
    ("cidr-too-small", {"target": "mwaa", "network": {"vpcCidr": "10.20.0.0/24"}},
     'network.vpcCidr: "10.20.0.0/24" has prefix /24; allowed: /16 to /22'),
    ("nat-mode", {"target": "mwaa", "network": {"natGateways": "none"}},
     'network.natGateways: "none" is not allowed; allowed: single, perAz'),
    ("maintenance-window-minutes", {"target": "mwaa", "mwaa": {"weeklyMaintenanceWindowStart": "SUN:03:15"}},
     'mwaa.weeklyMaintenanceWindowStart: "SUN:03:15" is not valid; allowed: DAY:HH:MM in UTC with DAY in MON..SUN '
     'and MM 00 or 30, e.g. SUN:03:00'),
    ("maintenance-window-format", {"target": "mwaa", "mwaa": {"weeklyMaintenanceWindowStart": "Sunday 03:00"}},
     'mwaa.weeklyMaintenanceWindowStart: "Sunday 03:00" is not valid; allowed: DAY:HH:MM in UTC with DAY in MON..SUN '
     'and MM 00 or 30, e.g. SUN:03:00'),
    ("unknown-log-level", {"target": "mwaa", "mwaa": {"logLevel": "VERBOSE"}},
     'mwaa.logLevel: "VERBOSE" is not allowed; allowed: CRITICAL, ERROR, WARNING, INFO, DEBUG'),
    ("access-mode", {"target": "mwaa", "mwaa": {"webserverAccessMode": "PUBLIC"}},
     'mwaa.webserverAccessMode: "PUBLIC" is not allowed; allowed: PRIVATE_ONLY, PUBLIC_ONLY'),
    ("option-name-without-section", {"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {"retries": "2"}}},
     'mwaa.airflowConfigurationOptions: "retries" is not a valid option name; allowed: section.key, e.g. core.default_task_retries'),
    ("typo-top-level-key", {"target": "mwaa", "environmentNmae": "airflow-x"},
     f"environmentNmae: unknown config key; allowed keys: {TOP_KEYS}"),
    ("typo-nested-key", {"target": "mwaa", "mwaa": {"minWorker": 1}},
     f"mwaa.minWorker: unknown config key; allowed keys: {MWAA_KEYS}"),
    ("type-string-for-integer", {"target": "mwaa", "mwaa": {"maxWorkers": "ten"}},
     'mwaa.maxWorkers: "ten" has the wrong type; allowed: integer'),
    ("type-bool-for-integer", {"target": "mwaa", "mwaa": {"maxWorkers": True}},
     "mwaa.maxWorkers: true has the wrong type; allowed: integer"),
    ("type-fraction-for-integer", {"target": "mwaa", "mwaa": {"maxWorkers": 2.5}},
     "mwaa.maxWorkers: 2.5 has the wrong type; allowed: integer"),
    ("type-string-for-boolean", {"target": "mwaa", "protectData": "yes"},
     'protectData: "yes" has the wrong type; allowed: boolean'),
    ("type-string-for-section", {"target": "mwaa", "mwaa": "big"},
     'mwaa: "big" has the wrong type; allowed: object'),
    ("type-tag-value", {"target": "mwaa", "tags": {"team": 1}},
     "tags.team: 1 has the wrong type; allowed: string"),
    ("environment-name", {"target": "mwaa", "environmentName": "Airflow_Prod"},
     'environmentName: "Airflow_Prod" is not valid; allowed: 3-24 lowercase letters, digits or \'-\', starting with a letter'),
    ("keep-mwaa-without-eks", {"target": "mwaa", "keepMwaa": True},
     'keepMwaa: true is only meaningful with target eks (target is "mwaa"); allowed: false, or set target to eks'),
    ("eks-node-group-min-above-max",
     {"target": "eks", "eks": {"nodeGroups": [{"name": "airflow", "minSize": 5, "desiredSize": 2, "maxSize": 3}]}},
     "eks.nodeGroups[0]: minSize 5, desiredSize 2, maxSize 3 are not ordered; allowed: minSize <= desiredSize <= maxSize"),
    ("eks-second-node-group-desired-above-max",
     {"target": "eks", "eks": {"nodeGroups": [{"name": "system"}, {"name": "workers", "minSize": 1, "desiredSize": 9, "maxSize": 4}]}},
     "eks.nodeGroups[1]: minSize 1, desiredSize 9, maxSize 4 are not ordered; allowed: minSize <= desiredSize <= maxSize"),
    ("eks-node-group-name-twice", {"target": "eks", "eks": {"nodeGroups": [{"name": "a1"}, {"name": "a1"}]}},
     'eks.nodeGroups: name "a1" is used twice; allowed: unique names'),
    ("eks-node-group-without-name", {"target": "eks", "eks": {"nodeGroups": [{"minSize": 1}]}},
     "eks.nodeGroups[0].name: not set; allowed: a value"),
    ("eks-open-api-endpoint", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]}},
     'eks.endpointPublicAccessCidrs: "0.0.0.0/0" opens the Kubernetes API to the internet; allowed: specific CIDRs, '
     'or set eks.allowOpenApiEndpoint true to accept it'),
    ("eks-endpoint-cidr-host-bits", {"target": "eks", "eks": {"endpointPublicAccessCidrs": ["203.0.113.1/24"]}},
     'eks.endpointPublicAccessCidrs[0]: "203.0.113.1/24" is not a valid network (203.0.113.1/24 has host bits set); '
     'allowed: an IPv4 CIDR with no host bits'),
    ("eks-unknown-cache-family", {"target": "eks", "eks": {"cache": {"nodeType": "cache.x9.large"}}},
     'eks.cache.nodeType: "cache.x9.large" is not a known cache node family; allowed families: t3, t4g, m5, m6g, m7g, r5, r6g, r7g'),
    ("eks-unknown-broker", {"target": "eks", "eks": {"broker": "rabbitmq"}},
     'eks.broker: "rabbitmq" is not allowed; allowed: elasticache, in-cluster'),
    ("eks-kubernetes-version", {"target": "eks", "eks": {"kubernetesVersion": "1.29"}},
     f'eks.kubernetesVersion: "1.29" is not allowed; allowed: {", ".join(EKS_KUBERNETES_VERSIONS)}'),
    ("eks-unknown-db-family", {"target": "eks", "eks": {"database": {"instanceClass": "db.x1.large"}}},
     'eks.database.instanceClass: "db.x1.large" is not a known RDS instance family; allowed families: '
     't3, t4g, m5, m6g, m6i, m7g, m7i, r5, r6g, r6i, r7g, r7i'),
    ("eks-db-max-storage-below-allocated",
     {"target": "eks", "eks": {"database": {"allocatedStorageGb": 200, "maxAllocatedStorageGb": 100}}},
     "eks.database.maxAllocatedStorageGb: 100 is less than eks.database.allocatedStorageGb (200); allowed: >= 200"),
    ("eks-worker-replicas", {"target": "eks", "eks": {"workers": {"minReplicas": 5, "maxReplicas": 2}}},
     "eks.workers.minReplicas: 5 is greater than eks.workers.maxReplicas (2); allowed: <= 2"),
    ("eks-empty-node-groups", {"target": "eks", "eks": {"nodeGroups": []}},
     "eks.nodeGroups: [] is empty; allowed: at least 1 item(s)"),
    ("workload-average-above-peak", {"target": "mwaa", "workload": {"averageConcurrentTasks": 30, "peakConcurrentTasks": 3}},
     "workload.averageConcurrentTasks: 30 is greater than workload.peakConcurrentTasks (3); allowed: <= 3"),
]


@pytest.mark.parametrize(("raw", "expected"), [case[1:] for case in BAD_VALUES], ids=[case[0] for case in BAD_VALUES])
def test_one_bad_value_gives_exactly_its_one_line_problem(raw, expected):
    assert problems_of(raw) == [expected]


def test_bad_value_cases_are_distinct_and_numerous():
    # The table above is the contract: at least 15 different mistakes, each with its own message.
    assert len({case[0] for case in BAD_VALUES}) == len(BAD_VALUES) >= 15
    assert len({case[2] for case in BAD_VALUES}) == len(BAD_VALUES)


@pytest.mark.parametrize(("raw", "expected"), [case[1:] for case in BAD_VALUES], ids=[case[0] for case in BAD_VALUES])
def test_every_problem_names_its_key_and_what_is_allowed_on_one_line(raw, expected):
    [problem] = problems_of(raw)
    assert "\n" not in problem and "\r" not in problem
    key = problem.split(":", 1)[0]
    # The key named is a real path into the config that was given (or the required key that is missing).
    top = re.split(r"[.\[]", key, maxsplit=1)[0]
    assert top in raw or top in CONFIG_SCHEMA["required"]
    assert "allowed" in problem


def test_all_problems_are_reported_at_once():
    raw = {
        "target": "kubernetes",  # schema: enum
        "airflowVersion": "1.10.15",  # schema: enum
        "network": {"vpcCidr": "8.8.0.0/16"},  # rule: not private
        "mwaa": {"environmentClass": "mw1.small", "maxWorkers": 30},  # rule: class range
        "eks": {"broker": "sqs"},  # schema: enum
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, "dev")
    problems = caught.value.problems
    assert len(problems) == 5
    assert sorted(p.split(":", 1)[0] for p in problems) == [
        "airflowVersion", "eks.broker", "mwaa.maxWorkers", "network.vpcCidr", "target"]
    # The exception's text is those problems, one per line.
    assert str(caught.value).splitlines() == problems


def test_problems_in_several_keys_of_one_section_are_all_reported():
    raw = {"target": "mwaa", "mwaa": {"logLevel": "LOUD", "webserverAccessMode": "OPEN", "minWorkerz": 1}}
    assert sorted(problems_of(raw)) == sorted([
        f"mwaa.minWorkerz: unknown config key; allowed keys: {MWAA_KEYS}",
        'mwaa.logLevel: "LOUD" is not allowed; allowed: CRITICAL, ERROR, WARNING, INFO, DEBUG',
        'mwaa.webserverAccessMode: "OPEN" is not allowed; allowed: PRIVATE_ONLY, PUBLIC_ONLY',
    ])


def test_open_api_endpoint_is_accepted_when_explicitly_allowed():
    settings = parse_settings({"target": "eks", "eks": {"endpointPublicAccessCidrs": ["0.0.0.0/0"],
                                                         "allowOpenApiEndpoint": True}}, "dev")
    assert settings.eks.endpoint_public_access_cidrs == ("0.0.0.0/0",)
    assert settings.eks.allow_open_api_endpoint is True


def test_keep_mwaa_is_valid_with_target_eks():
    settings = parse_settings({"target": "eks", "keepMwaa": True}, "dev")
    assert settings.deploys_eks and settings.deploys_mwaa


# ------------------------------------------------------------------------------------ requirements pinning


def _requirements(tmp_path, monkeypatch, *lines: str) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(airflow_config, "REQUIREMENTS", path)


def test_requirement_not_pinned_by_the_versions_constraints_is_a_problem(tmp_path, monkeypatch):
    _requirements(tmp_path, monkeypatch, "--constraint https://example.invalid/c.txt", "apache-airflow-providers-amazon",
                  "surely-not-a-real-package-xyz")
    assert problems_of({"target": "mwaa", "airflowVersion": "3.3.1"}) == [
        "airflowVersion: \"3.3.1\" does not pin 'surely-not-a-real-package-xyz' listed in airflow/requirements.txt; "
        "allowed: packages pinned by airflow/constraints/constraints-3.3.1.txt, or another airflowVersion"]


def test_requirement_pinned_only_by_newer_airflow_is_a_problem_for_the_older_version(tmp_path, monkeypatch):
    # The standard provider exists from Airflow 3 on: fine for 3.3.1, unpinned (so unresolvable on MWAA) for 2.9.2.
    _requirements(tmp_path, monkeypatch, "apache-airflow-providers-standard")
    assert parse_settings({"target": "mwaa", "airflowVersion": "3.3.1"}, "dev").airflow_version == "3.3.1"
    assert problems_of({"target": "mwaa", "airflowVersion": "2.9.2"}) == [
        "airflowVersion: \"2.9.2\" does not pin 'apache-airflow-providers-standard' listed in airflow/requirements.txt; "
        "allowed: packages pinned by airflow/constraints/constraints-2.9.2.txt, or another airflowVersion"]


def test_requirement_names_match_constraints_whatever_their_spelling(tmp_path, monkeypatch):
    # pip normalises names (case, '_' and '.' equal '-'); extras, markers and comments don't change the name.
    _requirements(tmp_path, monkeypatch, "# comment line", "Apache_Airflow.Providers-AMAZON[s3fs]  # inline comment",
                  "boto3 ; python_version >= '3.9'", "-r other.txt")
    assert parse_settings({"target": "mwaa"}, "dev").airflow_version == "3.3.1"


def test_unpinned_requirements_are_listed_with_other_problems(tmp_path, monkeypatch):
    _requirements(tmp_path, monkeypatch, "no-such-package-one", "no-such-package-two")
    problems = problems_of({"target": "mwaa", "mwaa": {"logLevel": "LOUD"}})
    assert len(problems) == 3
    assert sum("no-such-package-one" in p for p in problems) == 1
    assert sum("no-such-package-two" in p for p in problems) == 1
    assert sum(p.startswith("mwaa.logLevel:") for p in problems) == 1


def test_allowed_airflow_versions_are_exactly_those_with_shipped_constraints():
    # A version is only deployable if its constraints file ships (requirements are resolved against it).
    shipped = sorted(p.name[len("constraints-"):-len(".txt")] for p in airflow_config.CONSTRAINTS_DIR.glob("constraints-*.txt"))
    assert sorted(VERSIONS.split(", ")) == shipped
    assert "1.29" not in EKS_KUBERNETES_VERSIONS  # the kubernetesVersion case above stays a bad value


def test_shipped_requirements_are_pinned_for_every_supported_version():
    from components.settings import AIRFLOW_VERSIONS

    for version in AIRFLOW_VERSIONS:
        assert parse_settings({"target": "mwaa", "airflowVersion": version}, "dev").airflow_version == version


# ------------------------------------------------------------------------------------------- valid configs


def test_dev_stack_file_parses(stack_raw_config):
    settings = parse_settings(stack_raw_config("dev"), "dev")
    assert settings.target == "mwaa" and settings.stack == "dev"
    assert settings.airflow_version == "3.3.1"
    assert settings.environment_name == "airflow-dev"
    assert settings.protect_data is False
    assert settings.network.vpc_cidr == "10.20.0.0/16" and settings.network.nat_gateways == "single"
    assert settings.mwaa.environment_class == "mw1.micro"
    assert (settings.mwaa.min_workers, settings.mwaa.max_workers, settings.mwaa.schedulers) == (1, 1, 1)
    assert settings.mwaa.airflow_configuration_options == {"core.default_task_retries": "2"}
    assert [g.name for g in settings.eks.node_groups] == ["airflow"]
    assert settings.eks.node_groups[0].instance_types == ("t3.large",)


def test_prod_stack_file_parses(stack_raw_config):
    settings = parse_settings(stack_raw_config("prod"), "prod")
    assert settings.protect_data is True
    assert settings.network.nat_gateways == "perAz"
    assert settings.mwaa.environment_class == "mw1.medium"
    assert (settings.mwaa.min_workers, settings.mwaa.max_workers) == (2, 10)
    assert (settings.mwaa.schedulers, settings.mwaa.min_webservers, settings.mwaa.max_webservers) == (2, 2, 3)
    assert settings.mwaa.log_level == "WARNING"
    assert [(g.name, g.min_size, g.desired_size, g.max_size) for g in settings.eks.node_groups] == [
        ("system", 2, 2, 3), ("workers", 1, 2, 10)]
    assert settings.eks.database.multi_az is True
    assert settings.eks.database.max_allocated_storage_gb == 500


def test_minimal_config_takes_documented_defaults():
    settings = parse_settings({"target": "mwaa"}, "staging")
    assert settings.airflow_version == "3.3.1"
    assert settings.environment_name == "airflow-staging"
    assert settings.mwaa.environment_class == "mw1.small"
    assert settings.mwaa.webserver_access_mode == "PRIVATE_ONLY"
    assert settings.network.nat_gateways == "single"


def test_micro_class_alone_is_valid_and_sizes_follow_the_class():
    mwaa = parse_settings({"target": "mwaa", "mwaa": {"environmentClass": "mw1.micro"}}, "dev").mwaa
    assert (mwaa.min_workers, mwaa.max_workers) == (1, 1)
    assert mwaa.schedulers == 1
    assert (mwaa.min_webservers, mwaa.max_webservers) == (1, 1)


def test_larger_class_alone_gets_its_own_minimums():
    mwaa = parse_settings({"target": "mwaa", "mwaa": {"environmentClass": "mw1.large"}}, "dev").mwaa
    assert mwaa.schedulers == 2
    assert (mwaa.min_webservers, mwaa.max_webservers) == (2, 2)
    assert mwaa.max_workers == 10


def test_class_upper_bounds_are_accepted():
    mwaa = parse_settings({"target": "mwaa", "mwaa": {"environmentClass": "mw1.xlarge", "maxWorkers": 25,
                                                      "schedulers": 5, "minWebservers": 5, "maxWebservers": 5}}, "dev").mwaa
    assert (mwaa.max_workers, mwaa.schedulers, mwaa.max_webservers) == (25, 5, 5)


def test_boolean_configuration_options_become_airflow_text():
    options = parse_settings({"target": "mwaa", "mwaa": {"airflowConfigurationOptions": {
        "core.load_examples": False, "webserver.warn_deployment_exposure": True, "core.parallelism": 64}}},
        "dev").mwaa.airflow_configuration_options
    assert options == {"core.load_examples": "false", "webserver.warn_deployment_exposure": "true", "core.parallelism": "64"}


@pytest.mark.parametrize("stack,expected", [
    ("dev", "airflow-dev"),
    ("prod-eu", "airflow-prod-eu"),
    ("Prod", "airflow-prod-" + hashlib.sha256(b"Prod").hexdigest()[:4]),
    ("team.dev", "airflow-team-dev-" + hashlib.sha256(b"team.dev").hexdigest()[:4]),
    ("us-east-1-stage-2", "airflow-us-east-1-s-" + hashlib.sha256(b"us-east-1-stage-2").hexdigest()[:4]),
])
def test_environment_name_derived_from_any_stack_name_is_valid(stack, expected):
    """Pulumi stack names may hold capitals, '.', '_' and be long. The default environmentName derived from one
    feeds the MWAA name and the S3 bucket prefix, so it must obey the environmentName rule."""
    pattern = CONFIG_SCHEMA["properties"]["environmentName"]["pattern"]
    name = parse_settings({"target": "mwaa"}, stack).environment_name
    assert name == expected
    assert re.match(pattern, name), name


def test_changed_stack_names_never_share_an_environment_name():
    stacks = ["team.dev", "team_dev", "team-dev", "us-east-1-stage-2", "us-east-1-stage-3", "Prod", "prod"]
    names = [parse_settings({"target": "mwaa"}, stack).environment_name for stack in stacks]
    assert len(set(names)) == len(stacks), dict(zip(stacks, names))