"""Which Airflow version changes each target makes in place, and the path to take when it can't.

The table (docs/upgrades.md shows it) follows the targets' own documentation:

MWAA, "Changing the Apache Airflow version" (https://docs.aws.amazon.com/mwaa/latest/userguide/upgrading-environment.html,
read through its current translations, e.g. .../ja_jp/mwaa/latest/userguide/upgrading-environment.md, which carry the
2.x/3.x text; the English page in the stored copy is older): minor versions go up and down in place (x.4.z <-> x.5.z);
2.y.z -> 3.y.z in place only from the latest 2.11.x (first a minor step to it); from 2.10.3 or older a 3.x upgrade is a
new environment plus a migration; 3.y.z goes back down only to 2.11.x. During a version change MWAA snapshots the
metadata and restores it on failure.

EKS (the official chart, components/eks/chart_versions.json): chart 1.20.0 dropped Airflow < 2.11, so 2.9.2-2.10.3 run
on chart 1.19.0 and the rest on 1.21.0; the chart's migrate Job runs `airflow db migrate` only
(charts/airflow-*/templates/jobs/migrate-database-job.yaml), which moves a schema forward, never back, so a downgrade
is refused. Airflow's "Upgrading to Airflow 3" needs 2.7+ and recommends the latest 2.x first
(https://airflow.apache.org/docs/apache-airflow/3.0.2/installation/upgrading_to_airflow3.html): this project makes that
a rule, which also keeps a chart step (1.19.0 -> 1.21.0) and a major step apart: each runs and can be rolled back alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from .settings.allowed import AIRFLOW_VERSIONS

BLUE_GREEN = "blue/green: set upgrade.airflowVersion to {new} beside {old}, move with docs/upgrades.md, then cut over"


def parse(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def latest(prefix: str) -> str:
    """The newest allowed version starting with `prefix` (e.g. '2.11' -> '2.11.2')."""
    return max((v for v in AIRFLOW_VERSIONS if v.startswith(prefix + ".")), key=parse)


@dataclass(frozen=True)
class Rule:
    """One row of the table: a kind of version change on a target, whether it runs in place, and the source."""

    target: str
    change: str
    in_place: bool
    path: str
    source: str


MWAA_DOC = "AWS MWAA User Guide, Changing the Apache Airflow version"
EKS_DOC = "components/eks/chart_versions.json (chart support), the chart's migrate Job, Airflow's Upgrading to Airflow 3"

RULES: tuple[Rule, ...] = (
    Rule("mwaa", "minor or patch step within 2.x or 3.x, up or down", True, "in place: change airflowVersion", MWAA_DOC),
    Rule("mwaa", f"latest 2.11.x ({latest('2.11')}) -> 3.x", True, "in place: change airflowVersion", MWAA_DOC),
    Rule("mwaa", "2.11.x older than the latest -> 3.x", False, f"in place to {latest('2.11')} first, or blue/green",
         MWAA_DOC),
    Rule("mwaa", "2.10.3 or older -> 3.x", False, "blue/green (a new environment plus a migration)", MWAA_DOC),
    Rule("mwaa", "3.x -> 2.11.x", True, "in place: change airflowVersion", MWAA_DOC),
    Rule("mwaa", "3.x -> 2.10.3 or older", False, "refused by MWAA; keep or restore the 2.x side", MWAA_DOC),
    Rule("eks", "any upgrade within a major (chart pin may move, e.g. 2.10.3 on 1.19.0 -> 2.11.2 on 1.21.0)", True,
         "in place: change airflowVersion", EKS_DOC),
    Rule("eks", "2.11.x -> 3.x (both on chart 1.21.0)", True, "in place: change airflowVersion", EKS_DOC),
    Rule("eks", "2.10.3 or older -> 3.x (chart step and major step at once)", False,
         f"in place to {latest('2.11')} first, or blue/green", EKS_DOC),
    Rule("eks", "any downgrade", False, "refused: the migrate Job only moves the schema forward; blue/green keeps the "
         "old side to return to", EKS_DOC),
)


def in_place_problem(target: str, old: str, new: str) -> str | None:
    """None when `target` changes Airflow from `old` to `new` in place; otherwise why not and which path to take."""
    if old == new:
        return None
    if new not in AIRFLOW_VERSIONS:
        return f"{new} is not a version MWAA offers (nor one the chart pins here); allowed: {', '.join(AIRFLOW_VERSIONS)}"
    o, n = parse(old), parse(new)
    green = BLUE_GREEN.format(old=old, new=new)
    newest_2 = latest("2.11")
    if target == "mwaa":
        if o[0] == n[0]:
            return None
        if n < o:
            return None if n[:2] == (2, 11) else (
                f"MWAA downgrades 3.x only to 2.11.x, not to {new}; path: keep the {old} environment, or {green}")
        if old == newest_2:
            return None
        if o[:2] == (2, 11):
            return (f"MWAA upgrades to 3.x in place only from the latest 2.11.x ({newest_2}); path: in place to "
                    f"{newest_2} first, or {green}")
        return f"MWAA can't upgrade {old} to 3.x in place (from 2.10.3 or older AWS says: new environment + migration); path: {green}"
    if n < o:
        return (f"the chart's migrate Job only runs `airflow db migrate`, which never moves a schema back; path: keep "
                f"the {old} side ({green.split(':')[0]} before an upgrade), or restore the metadata DB snapshot")
    if o[0] == 2 and n[0] == 3 and o[:2] < (2, 11):
        return (f"{old} -> {new} changes the chart pin and Airflow's major at once (Airflow 3 wants the latest 2.x "
                f"first); path: in place to {newest_2} first, or {green}")
    return None
