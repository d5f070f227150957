"""The price table (tools/pricing/prices.json): one place for every price and capacity fact, each with a source.

A lookup that the table can't answer raises PriceError with one line naming the region, the key and what the
table does have, so a gap is never priced as zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PRICES = ROOT / "tools" / "pricing" / "prices.json"


class CompareError(Exception):
    """A problem the user can fix (unknown region, missing price, bad option): printed as one clean line."""


class PriceError(CompareError):
    pass


@dataclass(frozen=True)
class Price:
    key: str
    region: str
    value: float
    unit: str
    source: str
    as_of: str
    proxy_of: str | None = None  # the region whose sourced price stands in for this one
    discount: float = 0.0  # share off the list price (--commitment 1y); `value` is already discounted
    commitment: str = ""  # the offer behind `discount`, e.g. "Compute Savings Plan, 1 year, no upfront −27%"
    confidence: str | None = None  # set when the figure is not a dated primary reading (said beside it)

    @property
    def unverified(self) -> bool:
        """Not a dated primary reading: a proxy, or an entry whose `confidence` says it is less than high."""
        return bool(self.proxy_of) or bool(self.confidence and not self.confidence.startswith("high"))

    def to_json(self) -> dict[str, Any]:
        """Where the figure comes from, as the JSON and `--verbose` show it."""
        return {"price": self.value, "unit": self.unit, "source": self.source, "asOf": self.as_of,
                "proxyOf": self.proxy_of, "confidence": self.confidence, "discount": self.discount or None}

    @property
    def marker(self) -> str:
        return f"≈ {self.proxy_of} price" if self.proxy_of else ""


class PriceTable:
    def __init__(self, data: Mapping[str, Any], path: Path | str = DEFAULT_PRICES):
        self.path = Path(path)
        self.data = data
        self.currency = data.get("currency", "USD")
        self.hours_per_month = float(data.get("hoursPerMonth", 730))
        self.facts = data.get("facts", {})
        self.commitment = "none"  # or "1y": 1-year Savings Plan / reserved rates for EC2, RDS, ElastiCache
        self.used: dict[tuple[str, str], Price] = {}  # (region, key) -> every price looked up: the JSON's sources

    @classmethod
    def load(cls, extra: Path | str | None = None) -> "PriceTable":
        """The shipped table, with the entries of `extra` (--prices FILE) added or replacing its own."""
        data = _read(DEFAULT_PRICES)
        if extra is None:
            return cls(data, DEFAULT_PRICES)
        overlay = _read(Path(extra))
        for region, entries in overlay["prices"].items():
            for key, entry in entries.items():
                if not isinstance(entry, dict) or not isinstance(entry.get("price"), (int, float)):
                    raise PriceError(f"price file {extra}: prices.{region}.{key} has no numeric \"price\"; allowed: "
                                     f"{{\"price\": 0.168, \"unit\": \"hour\", \"source\": \"<url>\", \"asOf\": \"YYYY-MM-DD\"}}")
                if not entry.get("source"):
                    raise PriceError(f"price file {extra}: prices.{region}.{key} has no \"source\"; every price says "
                                     "where it comes from")
            data["prices"].setdefault(region, {}).update({k: {**v, "suppliedBy": str(extra)} for k, v in entries.items()})
        data["facts"].update(overlay.get("facts", {}))
        return cls(data, DEFAULT_PRICES)

    @property
    def display_path(self) -> str:
        try:
            return str(self.path.resolve().relative_to(ROOT))
        except ValueError:
            return str(self.path)

    def regions(self) -> list[str]:
        return sorted(self.data["prices"])

    def region(self, region: str) -> "RegionPrices":
        if region not in self.data["prices"]:
            raise PriceError(f"no prices for region {region!r} in {self.display_path}; "
                             f"regions with prices: {', '.join(self.regions())}")
        return RegionPrices(self, region, self.data["prices"][region])

    # ------------------------------------------------------------------ capacity facts

    def fact(self, name: str) -> Mapping[str, Any]:
        if name not in self.facts:
            raise PriceError(f"no fact {name!r} in {self.display_path}; facts: {', '.join(sorted(k for k in self.facts if not k.startswith('_')))}")
        return self.facts[name]

    def mwaa_tasks_per_worker(self, environment_class: str) -> int:
        classes = self.fact("mwaa.classes")["classes"]
        if environment_class not in classes:
            raise PriceError(f"no task concurrency for MWAA class {environment_class!r} in {self.display_path} "
                             f"(facts.mwaa.classes); known: {', '.join(classes)}")
        return int(classes[environment_class]["tasksPerWorker"])

    def discount(self, kind: str, service: str) -> float:
        """Share off On-Demand: kind 'commitment1y' or 'spot', service 'ec2', 'rds' or 'elasticache'."""
        entry = self.fact("discounts").get(kind, {}).get(service)
        if entry is None:
            raise PriceError(f"no {kind} discount for {service} in {self.display_path} (facts.discounts.{kind}.{service})")
        return float(entry["discount"])

    def commitment_for(self, service: str, engine: str | None = None, node_type: str | None = None) -> tuple[float, str]:
        """(share off On-Demand, what it is) of the 1-year offer AWS makes for this service, engine and node family
        under `--commitment 1y`; (0, why not) where none covers it, so the item stays On-Demand and says so.
        An offer may restrict `engines` and `families` (facts.discounts.commitment1y.<service>)."""
        if self.commitment != "1y":
            return 0.0, ""
        entry = self.fact("discounts").get("commitment1y", {}).get(service)
        if entry is None:
            raise PriceError(f"no commitment1y offer for {service} in {self.display_path} "
                             f"(facts.discounts.commitment1y.{service})")
        offer = entry.get("offer", "1-yr commitment")
        engines, families = entry.get("engines"), entry.get("families")
        if engines is not None and engine not in engines:
            return 0.0, f"On-Demand: {offer} covers engines {', '.join(engines)}, not {engine}; {entry.get('otherwise', '')}".rstrip("; ")
        if families is not None and not any((node_type or "").startswith(f + ".") for f in families):
            family = (node_type or "").rsplit(".", 1)[0]
            return 0.0, (f"On-Demand: {offer} covers families {', '.join(families)}, not {family}; "
                         f"{entry.get('otherwise', '')}").rstrip("; ")
        return float(entry["discount"]), f"{offer} −{float(entry['discount']):.0%}"

    def with_commitment(self, commitment: str) -> "PriceTable":
        if commitment not in COMMITMENTS:
            raise PriceError(f"--commitment {commitment!r} is not allowed; allowed: {', '.join(COMMITMENTS)}")
        table = PriceTable(self.data, self.path)
        table.commitment = commitment
        table.used = self.used
        return table

    def mwaa_included_workers(self) -> int:
        return int(self.fact("mwaa.included")["workers"])


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise PriceError(f"price file {path} not found") from None
    except json.JSONDecodeError as exc:
        raise PriceError(f"price file {path} is not valid JSON ({exc})") from None
    if not isinstance(data.get("prices"), dict):
        raise PriceError(f"price file {path} has no \"prices\" object keyed by region")
    data.setdefault("facts", {})
    return data


class RegionPrices:
    def __init__(self, table: PriceTable, region: str, entries: Mapping[str, Any]):
        self.table = table
        self.region = region
        self.entries = entries

    def has(self, key: str) -> bool:
        return key in self.entries

    def get(self, key: str) -> Price:
        if key not in self.entries:
            raise PriceError(self._missing(key))
        entry = self.entries[key]
        discount, commitment = 0.0, ""
        if self.table.commitment == "1y":
            service = next((s for prefix, s in COMMITTABLE.items() if key.startswith(prefix)), None)
            if service is not None:
                discount, commitment = self.table.commitment_for(service)
        price = Price(key=key, region=self.region, value=float(entry["price"]) * (1 - discount), unit=entry.get("unit", ""),
                      source=entry.get("source", ""), as_of=entry.get("asOf", ""), proxy_of=entry.get("proxyOf"),
                      discount=discount, commitment=commitment, confidence=entry.get("confidence"))
        self.table.used[(self.region, key)] = price
        return price

    def __call__(self, key: str) -> float:
        return self.get(key).value

    def _missing(self, key: str) -> str:
        family = key.rsplit(".", 1)[0] if key.count(".") >= 2 else key.split(".")[0]
        # 'mwaa.environment.mw1.micro' -> family 'mwaa.environment' (class names contain a dot themselves)
        for prefix in _FAMILIES:
            if key.startswith(prefix):
                family = prefix.rstrip(".")
                break
        siblings = sorted(k[len(family) + 1:] for k in self.entries if k.startswith(family + "."))
        have = f"available {family}.*: {', '.join(siblings)}" if siblings else f"no {family}.* prices there at all"
        return (f"no price {key!r} for region {self.region} in {self.table.display_path}; {have}; supply it with "
                f"--prices FILE holding {{\"prices\": {{\"{self.region}\": {{\"{key}\": {{\"price\": ..., \"unit\": ..., "
                f"\"source\": ..., \"asOf\": ...}}}}}}}}")


COMMITMENTS = ("none", "1y")
# Price keys a 1-year commitment discounts whatever the family (facts.discounts.commitment1y): EC2 through a Compute
# Savings Plan, RDS through a reserved DB instance. ElastiCache is not here: its offer depends on the engine and node
# family (costs.cache_node_price asks commitment_for with both).
COMMITTABLE = {"ec2.": "ec2", "rds.postgres.": "rds"}

# Key families whose last part contains a dot (instance types), so 'rsplit' alone would cut them wrongly.
_FAMILIES = ("mwaa.environment.", "mwaa.worker.", "mwaa.scheduler.", "mwaa.webserver.", "ec2.", "rds.postgres.",
             "elasticache.redis.", "elasticache.valkey.")
