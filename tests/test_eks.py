"""target=eks under mocks: cluster, data stores, roles, secrets and the chart release, as declared."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import ROOT, planned, stack_value

EKS = {"target": "eks"}
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
RDS = "aws:rds/instance:Instance"
RELEASE = "kubernetes:helm.sh/v3:Release"


def airflow_release(plan):
    return plan.one(RELEASE, "eks-airflow")


def statements(policy_json: str) -> list[dict]:
    return json.loads(policy_json)["Statement"]


def test_cluster_is_private_encrypted_logged_with_oidc():
    cluster = planned("dev", **EKS).one("eks:index:Cluster").inputs
    assert cluster["version"] == "1.35"
    assert cluster["endpointPrivateAccess"] is True
    assert cluster["endpointPublicAccess"] is False and "publicAccessCidrs" not in cluster
    assert cluster["encryptionConfigKeyArn"] == planned("dev", **EKS).one("aws:kms/key:Key").outputs["arn"]
    assert set(cluster["enabledClusterLogTypes"]) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert cluster["createOidcProvider"] is True
    assert cluster["skipDefaultNodeGroup"] is True
    private = [s.outputs["id"] for s in planned("dev", **EKS).of_type("aws:ec2/subnet:Subnet") if "private" in s.name]
    assert sorted(cluster["privateSubnetIds"]) == sorted(private)


def test_public_endpoint_only_for_named_cidrs():
    eks = stack_value("dev", "eks")
    eks["endpointPublicAccessCidrs"] = ["203.0.113.0/24"]
    cluster = planned("dev", target="eks", eks=eks).one("eks:index:Cluster").inputs
    assert cluster["endpointPublicAccess"] is True
    assert cluster["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_open_endpoint_needs_the_explicit_flag():
    from components.settings import ConfigError, parse_settings

    eks = {"endpointPublicAccessCidrs": ["0.0.0.0/0"]}
    with pytest.raises(ConfigError) as error:
        parse_settings({"target": "eks", "eks": eks}, "dev")
    assert error.value.problems == [
        'eks.endpointPublicAccessCidrs: ["0.0.0.0/0"] cover 100% of IPv4 addresses and open the Kubernetes API to the '
        "internet; allowed: CIDRs narrower than a /8 together, or set eks.allowOpenApiEndpoint true to accept it"]
    allowed = parse_settings({"target": "eks", "eks": {**eks, "allowOpenApiEndpoint": True}}, "dev")
    assert allowed.eks.endpoint_public_access_cidrs == ("0.0.0.0/0",)


def test_managed_node_groups_follow_config():
    prod = planned("prod", **EKS)
    groups = {g.name: g.inputs for g in prod.of_type("eks:index:ManagedNodeGroup")}
    assert set(groups) == {"eks-cluster-system", "eks-cluster-workers"}
    workers = groups["eks-cluster-workers"]
    assert workers["instanceTypes"] == ["m6i.xlarge"]
    assert workers["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 10}
    # The node role has AWS's worker-node policy only: the CNI's policy goes to the aws-node service account (IRSA),
    # and ECR read is its own narrow policy (tests/test_node_image_pull.py), not AmazonEC2ContainerRegistryReadOnly.
    attached = {}
    for a in prod.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        attached.setdefault(a.name.rsplit("-node-", 1)[0] if "-node-" in a.name else a.name, set()).add(
            a.inputs["policyArn"].rsplit("/", 1)[1])
    assert attached == {"eks-cluster": {"AmazonEKSWorkerNodePolicy"},
                        "eks-cluster-vpc-cni": {"AmazonEKS_CNI_Policy"}}, attached


def test_the_vpc_cni_uses_its_own_role_through_irsa_and_nodes_wait_for_it():
    plan = planned("dev", **EKS)
    addon = plan.one("aws:eks/addon:Addon", "eks-cluster-vpc-cni")
    assert addon.inputs["addonName"] == "vpc-cni"
    role = plan.one("aws:iam/role:Role", "eks-cluster-vpc-cni")
    assert addon.inputs["serviceAccountRoleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/C0FFEE:sub"] == \
        "system:serviceaccount:kube-system:aws-node"
    [attachment] = [a for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                    if a.inputs["role"] == role.outputs["name"]]
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"


def test_elasticache_broker_is_private_encrypted_with_auth():
    plan = planned("dev", **EKS)
    group = plan.one(REPLICATION_GROUP)
    inputs = group.inputs
    assert inputs["engine"] == "valkey" and inputs["nodeType"] == "cache.t4g.micro"
    assert inputs["atRestEncryptionEnabled"] is True and inputs["transitEncryptionEnabled"] is True
    assert inputs["kmsKeyId"] == plan.one("aws:kms/key:Key").outputs["arn"]
    assert "authToken" in group.secret_inputs
    assert inputs["numCacheClusters"] == 1 and inputs["automaticFailoverEnabled"] is False
    sg = next(s for s in plan.of_type("aws:ec2/securityGroup:SecurityGroup") if s.name == "eks-broker-sg").inputs
    assert sg["ingress"] == [{"protocol": "tcp", "fromPort": 6379, "toPort": 6379, "securityGroups": ["sg-eks-cluster"],
                              "description": "EKS nodes"}]
    assert sg["egress"] == []


def test_two_cache_nodes_fail_over_across_azs():
    inputs = planned("prod", **EKS).one(REPLICATION_GROUP).inputs
    assert inputs["numCacheClusters"] == 2
    assert inputs["automaticFailoverEnabled"] is True and inputs["multiAzEnabled"] is True


def test_in_cluster_broker_uses_chart_redis_with_secret_password():
    eks = stack_value("dev", "eks")
    eks["broker"] = "in-cluster"
    plan = planned("dev", target="eks", eks=eks)
    assert plan.of_type(REPLICATION_GROUP) == []
    values = airflow_release(plan).inputs["values"]
    assert {k: v for k, v in values["redis"].items() if k not in ("resources", "securityContexts", "serviceAccount")} == {
        "enabled": True, "passwordSecretName": "airflow-redis-password"}
    assert values["redis"]["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}  # eks.resources.redis
    secret_names = {s.inputs["metadata"]["name"] for s in plan.of_type("kubernetes:core/v1:Secret")}
    assert {"airflow-redis-password", "airflow-broker-url"} <= secret_names


def test_metadata_database_is_private_encrypted_backed_up():
    plan = planned("dev", **EKS)
    db = plan.one(RDS)
    inputs = db.inputs
    assert inputs["engine"] == "postgres" and inputs["engineVersion"] == "17"
    assert inputs["storageEncrypted"] is True and inputs["kmsKeyId"] == plan.one("aws:kms/key:Key").outputs["arn"]
    assert inputs["publiclyAccessible"] is False
    assert inputs["backupRetentionPeriod"] >= 7
    assert "password" in db.secret_inputs
    # dev: deletable without a snapshot; nothing protected
    assert inputs["deletionProtection"] is False and inputs["skipFinalSnapshot"] is True
    assert not db.protect and not db.retain_on_delete


def test_prod_metadata_database_is_protected_and_snapshotted():
    db = planned("prod", **EKS).one(RDS)
    assert db.inputs["deletionProtection"] is True and db.inputs["skipFinalSnapshot"] is False
    assert db.inputs["finalSnapshotIdentifier"] == "airflow-prod-metadata-final"
    assert db.inputs["multiAz"] is True and db.inputs["backupRetentionPeriod"] == 14
    assert db.protect and db.retain_on_delete


def test_chart_release_is_pinned_and_runs_hooks():
    from components.eks.chart_values import chart_version

    release = airflow_release(planned("dev", **EKS)).inputs
    # The vendored chart folder, not a repository: the bytes tests/test_rendered_chart.py renders are the ones installed.
    assert release["chart"] == "./components/eks/charts/airflow-1.21.0"
    assert "repositoryOpts" not in release
    assert release["version"] == chart_version("3.3.1") == "1.21.0"
    chart_yaml = yaml.safe_load((ROOT / release["chart"] / "Chart.yaml").read_text())
    assert (chart_yaml["name"], chart_yaml["version"]) == ("airflow", release["version"])
    assert release.get("skipAwait") in (None, False)  # hooks and jobs are awaited
    values = release["values"]
    assert values["executor"] == "CeleryExecutor"
    assert values["airflowVersion"] == "3.3.1"
    assert values["useStandardNaming"] is True
    assert values["postgresql"] == {"enabled": False}
    assert values["redis"] == {"enabled": False}
    assert values["pgbouncer"]["enabled"] is True
    assert values["migrateDatabaseJob"]["useHelmHooks"] is False and values["createUserJob"]["useHelmHooks"] is False
    assert values["workers"]["celery"]["keda"]["enabled"] is True


def test_secrets_are_referenced_by_name_and_exist():
    plan = planned("dev", **EKS)
    values = airflow_release(plan).inputs["values"]
    secrets = {s.inputs["metadata"]["name"]: s for s in plan.of_type("kubernetes:core/v1:Secret")}
    referenced = {
        values["fernetKeySecretName"]: "fernet-key",
        values["apiSecretKeySecretName"]: "api-secret-key",
        values["jwtSecretName"]: "jwt-secret",
        values["data"]["metadataSecretName"]: "connection",
        values["data"]["resultBackendSecretName"]: "connection",
        values["data"]["brokerUrlSecretName"]: "connection",
        values["pgbouncer"]["configSecretName"]: "pgbouncer.ini",
        values["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"]: "connection",
    }
    for name, key in referenced.items():
        assert name in secrets, name
        assert key in secrets[name].inputs["stringData"], (name, key)
        assert "stringData" in secrets[name].secret_inputs, name


def secret_data(plan, name: str) -> dict:
    return next(s for s in plan.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["name"] == name).inputs["stringData"]


def test_pgbouncer_stats_connection_disables_ssl_like_the_chart():
    # The exporter (lib/pq) reads a missing sslmode as `require`; PgBouncer has no client TLS, so its health check,
    # which is PgBouncer's readiness probe, would fail for ever.
    plan = planned("dev", **EKS)
    password = plan.one("random:index/randomPassword:RandomPassword", "eks-metadata-db-password").outputs["result"]
    values = airflow_release(plan).inputs["values"]
    sidecar = values["pgbouncer"]["metricsExporterSidecar"]
    stats = secret_data(plan, sidecar["statsSecretName"])["connection"]
    assert stats == f"postgresql://airflow:{password}@127.0.0.1:6543/pgbouncer?sslmode=disable"
    assert sidecar["sslmode"] == "disable"


def test_metadata_connections_name_pgbouncer_with_its_namespace():
    # KEDA's operator runs in namespace keda and opens the metadata connection itself (usePgbouncer).
    from urllib.parse import parse_qs, urlsplit

    plan = planned("dev", **EKS)
    release = airflow_release(plan).inputs
    password = plan.one("random:index/randomPassword:RandomPassword", "eks-metadata-db-password").outputs["result"]
    ini = secret_data(plan, release["values"]["pgbouncer"]["configSecretName"])["pgbouncer.ini"]
    databases = {line.split(" = ")[0] for line in ini.split("[pgbouncer]")[0].splitlines()[1:] if line}
    for secret_name, scheme in ((release["values"]["data"]["metadataSecretName"], "postgresql"),
                                (release["values"]["data"]["resultBackendSecretName"], "db+postgresql")):
        url = urlsplit(secret_data(plan, secret_name)["connection"])
        assert url.scheme == scheme
        assert url.hostname == f"airflow-pgbouncer.{release['namespace']}" and url.port == 6543
        assert (url.username, url.password) == ("airflow", password)
        assert url.path.lstrip("/") in databases
        assert parse_qs(url.query) == {"sslmode": ["disable"]}


def test_connection_builders_quote_credentials():
    from urllib.parse import unquote, urlsplit

    from components.eks import chart_values as chart

    url = urlsplit(chart.metadata_url("air flow", "p@ss:w/rd?#%"))
    assert (unquote(url.username), unquote(url.password)) == ("air flow", "p@ss:w/rd?#%")
    assert url.hostname == "airflow-pgbouncer.airflow" and url.path == "/airflow-metadata"
    assert chart.result_backend_url("u", "p") == "db+postgresql://u:p@airflow-pgbouncer.airflow:6543/airflow-result-backend?sslmode=disable"
    assert chart.pgbouncer_stats_url("u", "p") == "postgresql://u:p@127.0.0.1:6543/pgbouncer?sslmode=disable"


def test_broker_url_is_tls_with_auth_token_and_only_in_a_secret():
    plan = planned("dev", **EKS)
    token = plan.one("random:index/randomPassword:RandomPassword", "eks-broker-auth-token").outputs["result"]
    broker = next(s for s in plan.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["name"] == "airflow-broker-url")
    endpoint = plan.one(REPLICATION_GROUP).outputs["primaryEndpointAddress"]
    assert broker.inputs["stringData"]["connection"] == f"rediss://:{token}@{endpoint}:6379/0?ssl_cert_reqs=required"


def test_no_plaintext_secret_anywhere():
    for stack, overrides in (("dev", EKS), ("prod", EKS), ("dev", {"target": "mwaa"})):
        plan = planned(stack, **overrides)
        generated = [r.outputs[k] for r in plan.resources if r.type.startswith("random:")
                     for k in ("result", "base64", "hex") if k in r.outputs]
        if overrides["target"] == "eks":
            assert len(generated) >= 6
        for resource in plan.resources:
            if resource.type.startswith("random:"):
                continue
            for key, value in resource.inputs.items():
                if key in resource.secret_inputs:
                    continue
                text = json.dumps(value)
                leaked = [g for g in generated if g[:20] in text]
                assert not leaked, f"{resource.type} {resource.name}.{key} carries a generated secret in plaintext"
        for name, value in plan.outputs.items():
            if name in plan.secret_outputs:
                continue
            assert not any(g[:20] in json.dumps(value) for g in generated), name


def test_kubeconfig_output_is_secret():
    plan = planned("dev", **EKS)
    assert "kubeconfig" in plan.secret_outputs
    assert plan.outputs["eksClusterName"] == "airflow-dev"


def test_shared_outputs_exist_for_eks():
    outputs = planned("dev", **EKS).outputs
    assert outputs["target"] == "eks" and outputs["airflowVersion"] == "3.3.1"
    assert outputs["dagsBucket"].startswith("airflow-dev-")
    assert "port-forward svc/airflow-api-server" in outputs["airflowUiUrl"]


def test_each_airflow_component_has_its_own_least_privilege_role():
    plan = planned("dev", **EKS)
    values = airflow_release(plan).inputs["values"]
    roles = {r.name: r for r in plan.of_type("aws:iam/role:Role")}
    accounts = {
        "scheduler": values["scheduler"]["serviceAccount"],
        "dag-processor": values["dagProcessor"]["serviceAccount"],
        "triggerer": values["triggerer"]["serviceAccount"],
        "worker": values["workers"]["serviceAccount"],
        "api-server": values["apiServer"]["serviceAccount"],
    }
    for component, account in accounts.items():
        role = roles[f"eks-roles-{component}"]
        assert account["annotations"]["eks.amazonaws.com/role-arn"] == role.outputs["arn"]
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/C0FFEE:sub"] == \
            f"system:serviceaccount:airflow:{account['name']}"
    policies = {p.name: statements(p.inputs["policy"]) for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")}
    bucket_arn = plan.one("aws:s3/bucket:Bucket").outputs["arn"]
    worker_resources = json.dumps(policies["eks-roles-worker"])
    assert f"{bucket_arn}/logs/*" in worker_resources and f"{bucket_arn}/data/*" in worker_resources
    api = policies["eks-roles-api-server"]
    assert {a for s in api for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} >= {"s3:GetObject"}
    assert "s3:PutObject" not in json.dumps(api)  # the UI only reads logs
    for name, stmts in policies.items():
        if name.startswith("eks-roles-"):
            for statement in stmts:
                assert statement["Resource"] != "*", (name, statement)


def test_only_roles_that_write_may_encrypt_with_the_key():
    plan = planned("dev", **EKS)
    policies = {p.name: statements(p.inputs["policy"]) for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")}

    def kms_actions(name):
        return {a for s in policies[name] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
                if a.startswith("kms:")}

    for writer in ("scheduler", "dag-processor", "triggerer", "worker"):  # task logs, DAG data
        assert kms_actions(f"eks-roles-{writer}") == {"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"}
    for reader in ("eks-roles-api-server", "eks-s3-csi"):  # the UI reads logs; Mountpoint reads dags/
        assert kms_actions(reader) == {"kms:Decrypt", "kms:DescribeKey"}, reader


def test_airflow2_uses_webserver_and_its_secret_key():
    plan = planned("dev", target="eks", airflowVersion="2.10.3")
    values = airflow_release(plan).inputs["values"]
    assert values["webserverSecretKeySecretName"] == "airflow-webserver-secret-key"
    assert "apiServer" not in values and "jwtSecretName" not in values
    assert values["airflowVersion"] == "2.10.3"
    from components.eks.chart_values import chart_version
    assert airflow_release(plan).inputs["version"] == chart_version("2.10.3")


def test_dags_come_from_the_shared_bucket_through_mountpoint():
    plan = planned("dev", **EKS)
    volume = plan.one("kubernetes:core/v1:PersistentVolume").inputs["spec"]
    assert volume["csi"]["driver"] == "s3.csi.aws.com"
    assert volume["csi"]["volumeAttributes"]["bucketName"] == plan.outputs["dagsBucket"]
    assert "prefix dags/" in volume["mountOptions"] and "read-only" in volume["mountOptions"]
    addon = plan.one("aws:eks/addon:Addon", "eks-s3-csi").inputs
    assert addon["addonName"] == "aws-mountpoint-s3-csi-driver"
    values = airflow_release(plan).inputs["values"]
    assert values["dags"]["persistence"] == {"enabled": True, "existingClaim": "airflow-dags"}
    assert values["config"]["logging"]["remote_base_log_folder"] == f"s3://{plan.outputs['dagsBucket']}/logs"


def test_image_carries_the_mwaa_requirements():
    from components import airflow_config as af
    from components.eks.image import build_inputs, image_tag

    plan = planned("dev", **EKS)
    values = airflow_release(plan).inputs["values"]
    assert values["images"]["airflow"]["tag"] == image_tag("3.3.1")
    assert values["images"]["airflow"]["repository"].endswith("/airflow-dev/airflow")
    inputs = build_inputs("3.3.1")
    assert inputs["requirements.txt"].decode() == af.render_requirements("3.3.1")
    assert inputs["constraints.txt"] == af.constraints_file("3.3.1").read_bytes()
    assert image_tag("3.3.1") != image_tag("3.2.1")


def test_no_default_admin_password():
    plan = planned("dev", **EKS)
    values = airflow_release(plan).inputs["values"]
    assert "admin" not in json.dumps(values.get("webserver", {}).get("defaultUser", {}).get("password", ""))
    env = values["createUserJob"]["env"]
    assert env == [{"name": "AIRFLOW_ADMIN_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": "airflow-admin-password", "key": "password"}}}]
    assert "${AIRFLOW_ADMIN_PASSWORD}" in " ".join(values["createUserJob"]["args"])


def test_nodes_use_imdsv2_and_encrypted_volumes():
    plan = planned("prod", **EKS)
    templates = {t.name: t for t in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")}
    assert set(templates) == {"eks-cluster-system", "eks-cluster-workers"}
    for group in plan.of_type("eks:index:ManagedNodeGroup"):
        template = templates[group.name]
        assert group.inputs["launchTemplate"] == {"id": template.outputs["id"], "version": "1"}
        assert "diskSize" not in group.inputs  # the size lives in the template
        metadata = template.inputs["metadataOptions"]
        assert metadata["httpTokens"] == "required" and metadata["httpPutResponseHopLimit"] == 1
        ebs = template.inputs["blockDeviceMappings"][0]["ebs"]
        assert ebs["encrypted"] == "true" and ebs["volumeSize"] == 50 and ebs["volumeType"] == "gp3"


def test_stack_airflow_options_apply_on_both_targets():
    both = planned("dev", target="eks", keepMwaa=True)
    mwaa_options = both.one("aws:mwaa/environment:Environment").inputs["airflowConfigurationOptions"]
    chart_config = both.one(RELEASE, "eks-airflow").inputs["values"]["config"]
    assert mwaa_options["core.default_task_retries"] == chart_config["core"]["default_task_retries"] == "2"


def test_task_environment_matches_the_mwaa_startup_script():
    import re

    from components import airflow_config as af

    values = airflow_release(planned("dev", **EKS)).inputs["values"]
    startup = dict(re.findall(r"^export (\w+)=(\S+)$", af.STARTUP_SCRIPT.read_text(), flags=re.MULTILINE))
    assert startup["DEPLOYMENT_TARGET"] == "mwaa" and len(startup) >= 3
    assert {e["name"]: e["value"] for e in values["env"]} == {**startup, "DEPLOYMENT_TARGET": "eks"}


def test_cluster_autoscaler_scales_only_this_clusters_node_groups():
    plan = planned("dev", **EKS)
    release = plan.one(RELEASE, "eks-addons-cluster-autoscaler").inputs
    assert release["values"]["autoDiscovery"] == {"clusterName": "airflow-dev"}
    assert release["values"]["image"]["tag"].startswith("v1.35.")  # matches eks.kubernetesVersion
    role = plan.one("aws:iam/role:Role", "eks-addons-cluster-autoscaler")
    assert release["values"]["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == role.outputs["arn"]
    policy = {s["Sid"]: s for s in statements(plan.one("aws:iam/rolePolicy:RolePolicy", "eks-addons-cluster-autoscaler").inputs["policy"])}
    assert policy["ScaleOwnNodeGroups"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/airflow-dev": "owned"}}
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in policy["DiscoverNodeGroups"]["Action"])
    assert policy["DescribeOwnNodeGroups"]["Resource"] == "arn:aws:eks:us-east-1:123456789012:nodegroup/airflow-dev/*/*"
    keda = plan.one(RELEASE, "eks-addons-keda").inputs
    assert keda["chart"] == "keda" and keda["version"] == "2.20.2"


def test_image_carries_the_same_plugins_as_mwaa(tmp_path, monkeypatch):
    from components import airflow_config as af
    from components.eks import image

    plugins = tmp_path / "plugins"
    monkeypatch.setattr(af, "PLUGINS_DIR", plugins)
    empty_tag = image.image_tag("3.3.1")
    context = tmp_path / "context-empty"
    image.write_build_context("3.3.1", context)
    assert (context / "plugins").is_dir() and not any((context / "plugins").iterdir())  # COPY needs the folder

    (plugins / "operators").mkdir(parents=True)
    (plugins / "operators" / "custom.py").write_text("VALUE = 1\n")
    assert image.build_inputs("3.3.1")["plugins/operators/custom.py"] == b"VALUE = 1\n"
    assert image.image_tag("3.3.1") != empty_tag  # a plugin change is a new image
    image.write_build_context("3.3.1", tmp_path / "context")
    assert (tmp_path / "context" / "plugins" / "operators" / "custom.py").read_text() == "VALUE = 1\n"
    assert "COPY --chown=airflow:root plugins/ /opt/airflow/plugins/" in image.DOCKERFILE.read_text()
