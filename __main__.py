"""Airflow on AWS: config -> shared platform -> the target component -> outputs."""

import pulumi

from components import airflow_config as af
from components.aws_context import AwsContext
from components.dag_sync import list_folder_or_stop
from components.platform import SharedPlatform, SharedPlatformArgs
from components.settings import from_stack_config
from components.targets import deploy_targets

settings = from_stack_config()  # every config problem is reported here, before anything is declared
aws_context = AwsContext.lookup(eks=settings.deploys_eks)  # so are bad aws:* session keys (and regions EKS lacks)
dags = list_folder_or_stop(af.DAGS_DIR)  # and DAG-folder links that leave it
platform = SharedPlatform("platform", SharedPlatformArgs(settings=settings, aws=aws_context, dags=dags))
outputs = deploy_targets(platform)

for name, value in outputs.items():
    pulumi.export(name, value)
