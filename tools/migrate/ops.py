"""export / import / diff / pause: what each does, independent of how the result is printed."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .api import AirflowApi, ItemResult
from .errors import ImportAborted
from .model import KINDS, compare, hidden_of, key_of, new_document
from .sensitive import contains_mask


def read_state(api: AirflowApi, kinds: list[str]) -> dict[str, list[dict]]:
    """All selected kinds, read side by side (each kind's pages are themselves read in parallel)."""
    if api.t.max_workers <= 1:  # strictly one request at a time (and in a predictable order)
        return {k: api.read(k) for k in kinds}
    with ThreadPoolExecutor(max_workers=len(kinds) or 1) as ex:
        futures = {k: ex.submit(api.read, k) for k in kinds}
        return {k: f.result() for k, f in futures.items()}


def export(api: AirflowApi, kinds: list[str], source_desc: dict) -> tuple[dict, dict]:
    started = time.monotonic()
    data = read_state(api, kinds)
    doc = new_document(source_desc, api.version, data)
    summary = {
        "command": "export",
        "source": api.label,
        "airflow_version": api.version,
        "kinds": {},
        "seconds": round(time.monotonic() - started, 2),
    }
    for kind in kinds:
        hidden = sorted(key_of(kind, it) for it in data[kind] if hidden_of(it))
        # Not masked as a whole, yet "***" inside: real text, or a secret Airflow masked by value.
        partial = sorted(key_of(kind, it) for it in data[kind]
                         if any(contains_mask(v) for f, v in it.items() if f != "hidden"))
        summary["kinds"][kind] = {"exported": len(data[kind]), "hidden_secrets": hidden, "contains_mask": partial}
    summary["timings"] = dict(api.timings)
    return doc, summary


@dataclass
class KindPlan:
    create: list[dict] = field(default_factory=list)
    overwrite: list[dict] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)  # unchanged as far as visible; a secret was hidden
    conflicts: list[dict] = field(default_factory=list)  # {"key", "fields"}
    skipped_hidden: list[str] = field(default_factory=list)
    missing_on_target: list[str] = field(default_factory=list)  # DAGs the target has not parsed
    pause_changes: dict[str, bool] = field(default_factory=dict)


def plan_import(source: dict[str, list[dict]], target: dict[str, list[dict]], kinds: list[str],
                overwrite: bool, allow_incomplete: bool) -> dict[str, KindPlan]:
    plans = {}
    for kind in kinds:
        p = KindPlan()
        have = {key_of(kind, it): it for it in target.get(kind, [])}
        for item in source.get(kind, []):
            key = key_of(kind, item)
            existing = have.get(key)
            if kind == "dags":
                if existing is None:
                    p.missing_on_target.append(key)
                elif existing["is_paused"] != item["is_paused"]:
                    p.pause_changes[key] = item["is_paused"]
                else:
                    p.unchanged.append(key)
                continue
            incomplete = bool(hidden_of(item))
            if existing is None:
                if incomplete and not allow_incomplete:
                    p.skipped_hidden.append(key)
                else:
                    p.create.append(item)
                continue
            changed, unverified = compare(kind, item, existing)
            if not changed:
                (p.unverified if unverified else p.unchanged).append(key)
            elif overwrite and (not incomplete or allow_incomplete):
                p.overwrite.append(item)
            else:
                p.conflicts.append({"key": key, "fields": changed})
        plans[kind] = p
    return plans


def run_import(api: AirflowApi, doc: dict, kinds: list[str], overwrite: bool, allow_incomplete: bool,
               dry_run: bool) -> dict:
    started = time.monotonic()
    target = read_state(api, kinds)
    plans = plan_import(doc, target, kinds, overwrite, allow_incomplete)
    summary: dict = {
        "command": "import",
        "target": api.label,
        "airflow_version": api.version,
        "file_airflow_version": doc.get("airflow_version"),
        "dry_run": dry_run,
        "kinds": {},
    }
    results: dict[str, list[ItemResult]] = {kind: [] for kind in kinds}
    if not dry_run:
        write_plans(api, plans, kinds, results)
    for kind in kinds:
        p = plans[kind]
        created = [key_of(kind, it) for it in p.create]
        overwritten = [key_of(kind, it) for it in p.overwrite]
        paused_set = sorted(p.pause_changes)
        errors = [{"key": r.key, "error": r.error} for r in results[kind] if not r.ok]
        if not dry_run:
            ok = {r.key for r in results[kind] if r.ok}
            created, overwritten = [k for k in created if k in ok], [k for k in overwritten if k in ok]
            paused_set = [k for k in paused_set if k in ok]
        entry = {
            "in_file": len(doc.get(kind, [])),
            ("would_create" if dry_run else "created"): sorted(created),
            ("would_overwrite" if dry_run else "overwritten"): sorted(overwritten),
            "unchanged": sorted(p.unchanged),
            "unchanged_secret_unverified": sorted(p.unverified),
            "conflicts": sorted(p.conflicts, key=lambda c: c["key"]),
            "skipped_hidden_secrets": sorted(p.skipped_hidden),
            "errors": sorted(errors, key=lambda e: e["key"]),
        }
        if kind == "dags":
            for k in ("would_create", "created", "would_overwrite", "overwritten", "conflicts",
                      "skipped_hidden_secrets", "unchanged_secret_unverified"):
                entry.pop(k, None)
            entry["would_set_paused" if dry_run else "paused_state_set"] = {
                k: p.pause_changes[k] for k in sorted(paused_set)
            }
            entry["missing_on_target"] = sorted(p.missing_on_target)
        summary["kinds"][kind] = entry
    summary["seconds"] = round(time.monotonic() - started, 2)
    summary["timings"] = dict(api.timings)
    return summary


def _planned_keys(kind: str, plan: KindPlan) -> list[str]:
    if kind == "dags":
        return sorted(plan.pause_changes)
    return [key_of(kind, it) for it in plan.create + plan.overwrite]


def write_plans(api: AirflowApi, plans: dict[str, KindPlan], kinds: list[str],
                results: dict[str, list[ItemResult]]) -> None:
    """Carry out the writes, appending each answered item to ``results[kind]``. Whatever stops them (a timeout,
    a server still failing after the retries, Ctrl-C) becomes ImportAborted with what was and was not written."""
    try:
        for kind in kinds:
            p = plans[kind]
            if kind == "dags":
                api.set_paused(p.pause_changes, record=results[kind])
            else:
                api.write(kind, p.create, overwrite=False, record=results[kind])
                api.write(kind, p.overwrite, overwrite=True, record=results[kind])
    except (Exception, KeyboardInterrupt) as exc:
        progress = {}
        for kind in kinds:
            answered = {r.key: r for r in results[kind]}
            progress[kind] = {
                "written": sorted(k for k, r in answered.items() if r.ok),
                "failed": sorted(({"key": k, "error": r.error} for k, r in answered.items() if not r.ok),
                                 key=lambda e: e["key"]),
                # Not answered: never sent, or sent by the request that was cut short.
                "not_written": sorted(k for k in _planned_keys(kind, plans[kind]) if k not in answered),
            }
        raise ImportAborted(exc, progress) from None


def import_needs_attention(summary: dict) -> bool:
    for entry in summary["kinds"].values():
        if entry.get("conflicts") or entry.get("errors") or entry.get("skipped_hidden_secrets"):
            return True
        if entry.get("missing_on_target"):
            return True
    return False


def diff(source: dict[str, list[dict]], target: dict[str, list[dict]], kinds: list[str]) -> dict:
    out = {}
    for kind in kinds:
        src = {key_of(kind, it): it for it in source.get(kind, [])}
        dst = {key_of(kind, it): it for it in target.get(kind, [])}
        missing = sorted(set(src) - set(dst))
        added = sorted(set(dst) - set(src))
        changed, same, unverified = [], [], []
        for key in sorted(set(src) & set(dst)):
            fields, hidden = compare(kind, src[key], dst[key])
            if fields:
                changed.append({"key": key, "fields": fields})
            elif hidden:
                unverified.append(key)
            else:
                same.append(key)
        out[kind] = {
            "missing": missing,  # in the source, not on the target
            "added": added,  # on the target only
            "changed": changed,
            "same": len(same),
            "same_secret_unverified": unverified,
        }
    return out


def diff_is_clean(result: dict) -> bool:
    return all(not r["missing"] and not r["changed"] for r in result.values())


def pause_all(api: AirflowApi, dag_ids: list[str] | None, dry_run: bool) -> dict:
    dags = {d["dag_id"]: d["is_paused"] for d in api.read_dags()}
    wanted = dag_ids if dag_ids is not None else sorted(dags)
    unknown = sorted(d for d in wanted if d not in dags)
    todo = {d: True for d in wanted if d in dags and not dags[d]}
    errors = []
    done = sorted(todo)
    if not dry_run and todo:
        results = api.set_paused(todo)
        done = [r.key for r in results if r.ok]
        errors = [{"key": r.key, "error": r.error} for r in results if not r.ok]
    return {
        "command": "pause",
        "target": api.label,
        "dry_run": dry_run,
        ("would_pause" if dry_run else "paused"): done,
        "already_paused": sorted(d for d in wanted if d in dags and dags[d]),
        "unknown": unknown,
        "errors": errors,
    }


__all__ = ["KINDS", "export", "run_import", "diff", "pause_all", "read_state"]
