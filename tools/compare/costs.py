"""Itemised monthly cost of what a plan declares (idle baseline: min workers, desired nodes, no workload)."""

from __future__ import annotations

import datetime
import dataclasses
from dataclasses import dataclass

from components.settings import MWAA_CLASSES, PodResources, nodes_needed, pod_room

from .assumptions import Assumptions
from .declared import Declared, Platform
from .eks_support import support
from .prices import CompareError, Price, PriceTable, RegionPrices


@dataclass(frozen=True)
class CostItem:
    id: str  # stable identifier, equal for the same item on both targets (e.g. "shared.nat.hours")
    scope: str  # "shared" or "target"
    label: str
    quantity: float
    unit: str
    unit_price: float
    price_key: str | None  # entry in prices.json (None: no charge)
    monthly: float
    note: str = ""
    assumption: str | None = None  # the assumption key the quantity comes from, if any
    proxy_of: str | None = None  # the price is another region's (see prices.json notes._proxy)
    sources: tuple[Price, ...] = ()  # every table entry the unit price comes from, with its source and date

    @property
    def unverified(self) -> str | None:
        """Why a price behind this item is not a dated primary reading (said beside the figure), or None."""
        doubts = [f"{s.key}: {s.confidence}" for s in self.sources if s.confidence and not s.confidence.startswith("high")]
        return "; ".join(doubts) or None

    def to_json(self) -> dict:
        return {"id": self.id, "scope": self.scope, "label": self.label, "quantity": round(self.quantity, 4),
                "unit": self.unit, "unitPrice": self.unit_price, "priceKey": self.price_key,
                "monthly": round(self.monthly, 2), "note": self.note, "assumption": self.assumption,
                "proxyOf": self.proxy_of, "unverified": self.unverified,
                "sources": [{"key": s.key, "source": s.source, "asOf": s.as_of} for s in self.sources]}


class Pricer:
    """Builds CostItems; every price comes from the table (a missing one raises PriceError)."""

    def __init__(self, table: PriceTable, region: str):
        self.table = table
        self.prices: RegionPrices = table.region(region)
        self.hours = table.hours_per_month
        self.items: list[CostItem] = []

    def add(self, id: str, scope: str, label: str, quantity: float, unit: str, key: str | Price | None,
            note: str = "", assumption: str | None = None, unit_price: float | None = None,
            price_key: str | None = None, proxy_of: str | None = None, also: tuple[str, ...] = ()) -> CostItem:
        """`also`: further table keys the unit price is computed from (their sources are listed with the item)."""
        price = self.prices.get(key) if isinstance(key, str) else key
        value = price.value if price is not None else (unit_price or 0.0)
        keys = [price.key] if price is not None else ([price_key] if price_key else [])
        sources = tuple(self.prices.get(k) for k in dict.fromkeys(keys + list(also)))
        proxy = price.proxy_of if price is not None else proxy_of
        if proxy:
            note = f"{note}; " if note else ""
            note += f"≈ {proxy} price (no {self.prices.region} figure found)"
        if price is not None and price.discount:
            note = (f"{note}; " if note else "") + price.commitment
        item = CostItem(id=id, scope=scope, label=label, quantity=quantity, unit=unit, unit_price=value,
                        price_key=price.key if price is not None else price_key, monthly=quantity * value, note=note,
                        assumption=assumption, proxy_of=proxy, sources=sources)
        if item.unverified:
            item = dataclasses.replace(item, note=(f"{item.note}; " if item.note else "") + "unverified price (see sources)")
        self.items.append(item)
        return item


def node_price(prices: RegionPrices, group) -> tuple[float, str]:
    """Hourly price of one node of a group, and what was applied: Spot groups at the sourced average Spot discount
    off the On-Demand list price (Savings Plans don't cover Spot), others at On-Demand or the commitment rate."""
    price = prices.get(f"ec2.{group.instance_type}")
    if group.capacity_type == "SPOT":
        discount = prices.table.discount("spot", "ec2")
        return price.value / (1 - price.discount) * (1 - discount), f"SPOT at On-Demand −{discount:.0%} (a sourced average, not a quote)"
    if price.discount:
        return price.value, price.commitment
    return price.value, ""


def cache_node_price(prices: RegionPrices, engine: str, node_type: str) -> tuple[float, str, str | None, str]:
    """(hourly price, how it was found, proxy region, commitment note) of one ElastiCache node. The 1-year offer
    depends on engine and family (Database Savings Plans cover Valkey on their families only): an uncovered node
    stays On-Demand and the note says why."""
    if engine == "valkey" and not prices.has(f"elasticache.valkey.{node_type}"):
        redis = prices.get(f"elasticache.redis.{node_type}")
        factor = prices.get("elasticache.valkeyFactor")
        value, how, proxy = redis.value * factor.value, f"elasticache.redis.{node_type} × elasticache.valkeyFactor", redis.proxy_of
    else:
        price = prices.get(f"elasticache.{engine}.{node_type}")
        value, how, proxy = price.value, price.key, price.proxy_of
    discount, note = prices.table.commitment_for("elasticache", engine, node_type)
    return value * (1 - discount), how, proxy, note


def _platform_items(p: Pricer, scope: str, plat: Platform, target: str, assume: Assumptions) -> None:
    h = p.hours
    prefix = f"{scope}."
    if plat.nat_gateways:
        p.add(prefix + "nat.hours", scope, f"NAT gateways ({plat.nat_gateways})", plat.nat_gateways * h, "hours", "nat.hour")
        p.add(prefix + "nat.data", scope, "NAT data processed", assume["natDataGbPerMonth"], "GB", "nat.gb",
              note="assumption", assumption="natDataGbPerMonth")
    if plat.public_ips:
        p.add(prefix + "publicIpv4", scope, f"Public IPv4 addresses ({plat.public_ips}, NAT EIPs)", plat.public_ips * h,
              "IP-hours", "publicIpv4.hour")
    gateways = [e for e in plat.endpoints if e.kind == "Gateway"]
    interfaces = [e for e in plat.endpoints if e.kind == "Interface"]
    if gateways:
        p.add(prefix + "vpce.gateway", scope, f"VPC gateway endpoints ({len(gateways)}, S3)", len(gateways), "endpoints",
              None, note="gateway endpoints have no charge")
    if interfaces:
        azs = sum(max(e.azs, 1) for e in interfaces)
        p.add(prefix + "vpce.interface", scope, f"VPC interface endpoints ({len(interfaces)})", azs * h, "AZ-hours",
              "vpce.interfaceAzHour")
    if plat.kms_keys:
        p.add(prefix + "kms", scope, f"KMS keys ({plat.kms_keys})", plat.kms_keys, "key-months", "kms.keyMonth",
              note="rotation on: each retained key version is billed, up to 3x after two rotations")
    if plat.secrets:
        p.add(prefix + "secrets", scope, f"Secrets Manager secrets ({plat.secrets})", plat.secrets, "secret-months",
              "secretsmanager.secretMonth", note="declared secrets only; connections/variables you add cost the same each")
    if plat.buckets:
        p.add(prefix + "s3", scope, f"S3 storage ({plat.buckets} bucket)", assume["s3StorageGb"], "GB-months",
              "s3.standardGbMonth", note="assumption; requests not priced", assumption="s3StorageGb")
    if plat.load_balancers:
        p.add(prefix + "lb", scope, f"Load balancers ({plat.load_balancers})", plat.load_balancers * h, "hours", "alb.hour",
              note="priced as ALB hours; LCUs not priced")
    elif scope == "target":
        why = ("MWAA's web server endpoint is included in the environment price" if target == "mwaa"
               else "none declared: the UI is reached through kubectl port-forward")
        p.add(prefix + "lb", scope, "Load balancers: none declared", 0, "hours", None, note=why)


def _logs(p: Pricer, prefix: str, key: str, label: str, assume: Assumptions, days: int | None) -> None:
    """A month of logs ingested and what month 1 of a fresh deployment stores: the month's logs, or fewer days if the
    declared retention is shorter. Later months store more, up to the retention (--months shows it)."""
    gb = assume[key]
    p.add(f"{prefix}.logs.ingest", "target", f"{label} ingestion", gb, "GB", "logs.ingestGb", note="assumption",
          assumption=key)
    kept = "no retention declared: kept forever" if days is None else f"kept {days} days as declared"
    stored = gb * min(1.0, days / (365 / 12)) if days is not None else gb
    p.add(f"{prefix}.logs.storage", "target", f"{label} storage (month 1; {kept})", stored, "GB-months",
          "logs.storageGbMonth", note="assumption; grows each month up to the retention (--months)", assumption=key)


def mwaa_class_defaults(environment_class: str) -> tuple[int, int]:
    """(schedulers, web servers) included in the environment price: the class's defaults."""
    klass = MWAA_CLASSES[environment_class]
    return klass.schedulers[0], klass.webservers[0]


def scaling_group(decl: Declared):
    """The node group the Celery workers are pinned to (it scales with them); without a pin, the largest maxSize."""
    by_name = {g.name: g for g in decl.node_groups}
    if decl.workers.node_group is not None and decl.workers.node_group not in by_name:
        raise CompareError(f"the Celery workers are pinned to node group {decl.workers.node_group!r}, which the "
                           f"plan does not declare (declared: {', '.join(by_name)})")
    return (by_name[decl.workers.node_group] if decl.workers.node_group
            else max(reversed(decl.node_groups), key=lambda g: g.max_size))


def room_of(decl: Declared, instance_type: str) -> PodResources:
    room = pod_room(instance_type, decl.pods.node_reserved)
    if room is None:
        raise CompareError(f"no vCPU/memory known for instance type {instance_type!r} (components/instance_types.py)")
    return room


def spill_of(decl: Declared, scaling) -> PodResources:
    """The always-on requests the other groups (at their desired size) can't hold: they land on the worker group."""
    fixed = PodResources(0, 0)
    for g in decl.node_groups:
        if g is not scaling:
            room = room_of(decl, g.instance_type)
            fixed = fixed + PodResources(g.desired_size * room.cpu_millis, g.desired_size * room.memory_mib)
    platform = sum(decl.pods.platform.values(), PodResources(0, 0))
    return PodResources(max(0, platform.cpu_millis - fixed.cpu_millis), max(0, platform.memory_mib - fixed.memory_mib))


def idle_nodes(decl: Declared) -> dict[str, tuple[int, str]]:
    """Nodes each group runs idle, and why: the worker group holds the minimum worker pods and the always-on spill
    (components.settings.nodes_needed, the rule the program checks desiredSize with), at least minSize; with a node
    autoscaler that is what runs (it removes nodes above it), without one the group stays at desiredSize."""
    scaling = scaling_group(decl)
    counts = {g.name: (g.desired_size, "desired size, always on") for g in decl.node_groups}
    need = max(scaling.min_size, nodes_needed(decl.workers.pod, decl.workers.min_replicas,
                                              room_of(decl, scaling.instance_type), spill_of(decl, scaling)))
    if decl.node_autoscaler and need != scaling.desired_size:
        counts[scaling.name] = (need, f"what the idle pods need (desiredSize {scaling.desired_size}; the cluster "
                                      f"autoscaler keeps minSize {scaling.min_size} up to what pods request)")
    elif decl.node_autoscaler:
        counts[scaling.name] = (need, "what the idle pods need (= desiredSize), always on")
    return counts


def declared_cost(decl: Declared, table: PriceTable, assume: Assumptions, *, as_of: datetime.date) -> list[CostItem]:
    """The items of one plan, priced on `as_of` (decides the EKS control plane's standard or extended support rate)."""
    p = Pricer(table, decl.region)
    h = p.hours
    _platform_items(p, "shared", decl.platform["shared"], decl.target, assume)
    _platform_items(p, "target", decl.platform["target"], decl.target, assume)

    for env in decl.mwaa:
        c = env.environment_class
        scope = "target"
        p.add("target.mwaa.environment", scope, f"MWAA environment {c}", h, "hours", f"mwaa.environment.{c}",
              note="includes 1 worker and the class's default schedulers and web servers")
        extra_workers = max(0, env.min_workers - table.mwaa_included_workers())
        if extra_workers:
            p.add("target.mwaa.workers", scope, f"MWAA workers above the included one ({extra_workers}, min workers)",
                  extra_workers * h, "worker-hours", f"mwaa.worker.{c}", note="always on (minWorkers)")
        included_schedulers, included_webservers = mwaa_class_defaults(c)
        if env.schedulers > included_schedulers:
            n = env.schedulers - included_schedulers
            p.add("target.mwaa.schedulers", scope, f"MWAA extra schedulers ({n})", n * h, "hours", f"mwaa.scheduler.{c}")
        if env.min_webservers > included_webservers:
            n = env.min_webservers - included_webservers
            p.add("target.mwaa.webservers", scope, f"MWAA extra web servers ({n}, min web servers)", n * h, "hours",
                  f"mwaa.webserver.{c}")
        p.add("target.mwaa.metadb", scope, "MWAA metadata database storage", assume["mwaaMetadbGb"], "GB-months",
              "mwaa.metadbStorage", note="assumption", assumption="mwaaMetadbGb")
    if decl.mwaa:
        _logs(p, "target.mwaa", "mwaaLogsGbPerMonth", "CloudWatch Logs (MWAA)", assume, decl.retention.get("mwaa"))

    if decl.eks_clusters:
        status = support(decl.kubernetes_version, as_of)
        clusters = f" × {decl.eks_clusters}" if decl.eks_clusters > 1 else ""
        p.add("target.eks.controlPlane", "target", f"EKS control plane{clusters}: {status.text}",
              decl.eks_clusters * h, "hours", status.price_key,
              note=f"Kubernetes {decl.kubernetes_version} on {as_of.isoformat()}: {status.text}")
    idle = idle_nodes(decl) if decl.node_groups else {}
    for group in decl.node_groups:
        instance = group.instance_type
        count, note = idle[group.name]
        if len(group.instance_types) > 1:
            note += f"; first of {', '.join(group.instance_types)} priced"
        hourly, how = node_price(p.prices, group)
        if how:
            note += f"; {how}"
        p.add(f"target.eks.nodes.{group.name}", "target", f"EKS nodes {group.name}: {count} × {instance}",
              count * h, "instance-hours", None, note=note, unit_price=hourly, price_key=f"ec2.{instance}",
              proxy_of=p.prices.get(f"ec2.{instance}").proxy_of)
        p.add(f"target.eks.ebs.{group.name}", "target",
              f"Node disks {group.name}: {count} × {group.disk_gb} GB {group.disk_type}",
              count * group.disk_gb, "GB-months", f"ebs.{group.disk_type}", note=f"size from {group.disk_from}")
    for cache in decl.caches:
        value, how, proxy, commitment = cache_node_price(p.prices, cache.engine, cache.node_type)
        p.add(f"target.eks.cache.{cache.name}", "target", f"ElastiCache {cache.engine} {cache.nodes} × {cache.node_type}",
              cache.nodes * h, "node-hours", None, unit_price=value, price_key=how.split(" × ")[0], proxy_of=proxy,
              also=tuple(k for k in how.split(" × ")[1:]),
              note="; ".join(filter(None, [how if "×" in how else "", commitment])))
    for db in decl.databases:
        multiplier = p.prices("rds.multiAzMultiplier") if db.multi_az else 1.0
        az = "Multi-AZ" if db.multi_az else "single-AZ"
        instance = p.prices.get(f"rds.{db.engine}.{db.instance_class}")
        p.add(f"target.eks.rds.{db.name}", "target", f"RDS {db.engine} {db.instance_class} ({az})", multiplier * h,
              "instance-hours", instance, note="× rds.multiAzMultiplier (standby)" if db.multi_az else "")
        p.add(f"target.eks.rdsStorage.{db.name}", "target", f"RDS gp3 storage {db.storage_gb} GB ({az})",
              db.storage_gb * multiplier, "GB-months", "rds.gp3Storage",
              note="backups free up to the provisioned size" + ("; storage doubled for the standby" if db.multi_az else ""))
    if decl.eks_clusters:
        _logs(p, "target.eks", "eksLogsGbPerMonth", "CloudWatch Logs (EKS control plane)", assume,
              decl.retention.get("eksControlPlane"))
    _alarms(p, decl, assume)
    return p.items


def _alarms(p: Pricer, decl: Declared, assume: Assumptions) -> None:
    """The alarms per alarm metric and resolution, as CloudWatch bills them; on EKS the custom metrics the CloudWatch
    agent publishes from Airflow's StatsD (MWAA's own metrics are published by the service)."""
    for resolution, key, alarms in (
            ("standard resolution", "cloudwatch.alarmStandardMetricMonth", [a for a in decl.alarms if a.period >= 60]),
            ("high resolution", "cloudwatch.alarmHighResolutionMetricMonth", [a for a in decl.alarms if a.period < 60])):
        if alarms:
            math = [a for a in alarms if a.math]
            p.add(f"target.alarms.{key.split('.')[1]}", "target",
                  f"CloudWatch alarms, {resolution} ({len(alarms)})", sum(a.metrics for a in alarms),
                  "alarm-metric-months", key, note=f"{len(math)} with metric math, billed for each metric it reads; "
                                                   "free tier not applied")
    if decl.eks_clusters and decl.alarms:
        sides = max(decl.statsd_prefixes, 1)
        p.add("target.eks.agentMetrics", "target", "CloudWatch agent's custom metrics (StatsD)",
              assume["eksAgentCustomMetrics"] * sides, "metric-months", "cloudwatch.customMetricMonth",
              note="assumption: metric name x dimension set, as the agent maps them; grows with DAGs and tasks"
                   + (f"; x{sides}: each blue/green release sends under its own StatsD prefix" if sides > 1 else ""),
              assumption="eksAgentCustomMetrics")


# Left out of both targets alike: core.compare adds it once, after the targets' own notes.
SHARED_UNPRICED_NOTE = ("data transfer out to the internet, CloudWatch API requests (the EKS agent's PutMetricData), SNS "
                        "notifications and S3 requests are not included")


def unpriced_notes(decl: Declared) -> list[str]:
    """What this plan declares (or implies) that the table can't price: said, never counted as zero.

    Target notes only; SHARED_UNPRICED_NOTE holds what is left out of both targets."""
    notes = []
    if decl.ecr_repositories:
        notes.append(f"ECR image storage ({decl.ecr_repositories} repository): no ECR price in the table, not included")
    if decl.mwaa:
        notes.append("MWAA's service-managed VPC interface endpoints (web server, metadata DB) are created by the service, "
                     "not declared here; not included")
    if decl.eks_clusters:
        notes.append("pulumi-eks creates the cluster's IAM roles, security groups, OIDC provider and node launch templates "
                     "inside its components: free items, not visible offline")
        if not decl.node_autoscaler:
            notes.append("no cluster autoscaler (cluster-autoscaler or Karpenter) is declared: node groups stay at their "
                         "desired size unless one is added (the break-even assumes nodes follow the workload)")
    if decl.mwaa:
        notes.append("MWAA's web server endpoint is part of the environment price: no load balancer to add")
    if decl.eks_clusters:
        notes.append("EKS declares no load balancer: the UI is reached through kubectl port-forward (an ALB would add "
                     "alb.hour + LCUs)")
    return notes


def total(items: list[CostItem]) -> float:
    return sum(item.monthly for item in items)
