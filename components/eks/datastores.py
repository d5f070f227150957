"""Airflow's data stores on EKS: RDS PostgreSQL (metadata) and ElastiCache (Celery broker).

Both live in the private subnets, accept connections only from the cluster's nodes, encrypt at rest with the
platform key and in transit, and get generated passwords that exist only as Pulumi secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from ..settings import CacheSettings, DatabaseSettings

POSTGRES_PORT = 5432
REDIS_PORT = 6379
# Engine versions that ElastiCache currently offers for new replication groups.
CACHE_ENGINE_VERSIONS = {"valkey": "8.0", "redis": "7.1"}


@dataclass
class DataStoreArgs:
    environment_name: str
    vpc_id: pulumi.Input[str]
    subnet_ids: list[pulumi.Input[str]]
    client_security_group_id: pulumi.Input[str]  # the EKS nodes' security group
    kms_key_arn: pulumi.Input[str]
    protect: bool
    tags: dict[str, str]


def _private_security_group(name: str, args: DataStoreArgs, port: int, what: str, parent: pulumi.Resource) -> aws.ec2.SecurityGroup:
    return aws.ec2.SecurityGroup(
        name, vpc_id=args.vpc_id, description=f"{what} for Airflow {args.environment_name}: EKS nodes only",
        ingress=[{"protocol": "tcp", "from_port": port, "to_port": port,
                  "security_groups": [args.client_security_group_id], "description": "EKS nodes"}],
        egress=[], tags=args.tags, opts=pulumi.ResourceOptions(parent=parent))


class MetadataDatabase(pulumi.ComponentResource):
    """RDS PostgreSQL for Airflow's metadata. Stateful: protected and snapshotted in prod."""

    def __init__(self, name: str, args: DataStoreArgs, db: DatabaseSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:eks:MetadataDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=child).result
        security_group = _private_security_group(f"{name}-sg", args, POSTGRES_PORT, "PostgreSQL", self)
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids, tags=args.tags, opts=child)
        self.username, self.database_name = "airflow", "airflow"
        self.instance = aws.rds.Instance(
            name,
            identifier_prefix=f"{args.environment_name}-",
            engine="postgres",
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            allocated_storage=db.allocated_storage_gb,
            max_allocated_storage=db.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=self.database_name,
            username=self.username,
            password=self.password,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            multi_az=db.multi_az,
            backup_retention_period=db.backup_retention_days,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            deletion_protection=args.protect,
            skip_final_snapshot=not args.protect,
            final_snapshot_identifier=f"{args.environment_name}-metadata-final" if args.protect else None,
            # Storage autoscaling changes allocated_storage behind Pulumi's back; never shrink or replace for it.
            apply_immediately=False,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect,
                                        ignore_changes=["allocatedStorage"]),
        )
        self.host = self.instance.address
        self.port = self.instance.port
        self.register_outputs({"endpoint": self.instance.address})


class CeleryBroker(pulumi.ComponentResource):
    """ElastiCache (Valkey or Redis OSS) as Celery's broker: TLS, AUTH token, failover with 2+ nodes."""

    def __init__(self, name: str, args: DataStoreArgs, cache: CacheSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:eks:CeleryBroker", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # ElastiCache AUTH tokens: 16-128 printable characters, no '@', '"' or '/'; alphanumeric keeps URLs simple.
        self.auth_token = random.RandomPassword(f"{name}-auth-token", length=48, special=False, opts=child).result
        security_group = _private_security_group(f"{name}-sg", args, REDIS_PORT, "Celery broker", self)
        subnets = aws.elasticache.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids, tags=args.tags, opts=child)
        redundant = cache.nodes >= 2
        self.group = aws.elasticache.ReplicationGroup(
            name,
            description=f"Celery broker for Airflow {args.environment_name}",
            engine=cache.engine,
            engine_version=CACHE_ENGINE_VERSIONS[cache.engine],
            node_type=cache.node_type,
            num_cache_clusters=cache.nodes,
            automatic_failover_enabled=redundant,
            multi_az_enabled=redundant,
            port=REDIS_PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[security_group.id],
            at_rest_encryption_enabled=True,
            kms_key_id=args.kms_key_arn,
            transit_encryption_enabled=True,
            auth_token=self.auth_token,
            auto_minor_version_upgrade=True,
            # Queued task messages are state too: in prod a delete leaves a snapshot and `pulumi destroy` stops here.
            final_snapshot_identifier=f"{args.environment_name}-broker-final" if args.protect else None,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        self.host = self.group.primary_endpoint_address
        self.register_outputs({"endpoint": self.group.primary_endpoint_address})
