"""Airflow on AWS: config -> shared platform -> the target component -> outputs."""

import pulumi

from components.aws_context import AwsContext
from components.platform import SharedPlatform, SharedPlatformArgs
from components.settings import from_stack_config
from components.targets import deploy_targets

settings = from_stack_config()  # every config problem is reported here, before anything is declared
platform = SharedPlatform("platform", SharedPlatformArgs(settings=settings, aws=AwsContext.lookup()))
outputs = deploy_targets(platform)

for name, value in outputs.items():
    pulumi.export(name, value)
