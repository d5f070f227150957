"""Checks of an export file's contents beyond types: keys the tool prints and sends as URL path parts, numbers
in Airflow's ranges, and the header fields. Each failure names the item and shows the value escaped, so a key
carrying terminal escapes never reaches the terminal raw."""

from __future__ import annotations

import datetime as _dt
import json
import re
import unicodedata

from .errors import MigrateError

PORTS = (1, 65535)
# Pool slots: -1 is "unlimited" (Airflow's Pool model); the column is a 32-bit integer in its metadata DB.
SLOTS = (-1, 2**31 - 1)
_VERSION = re.compile(r"[0-9A-Za-z.+_-]{1,64}", re.ASCII)
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}", re.ASCII)
_MWAA_NAME = re.compile(r"[a-zA-Z][0-9a-zA-Z_-]{0,79}", re.ASCII)  # as tools/migrate/argtypes.py


def _fail(path: str, why: str) -> MigrateError:
    return MigrateError(f"invalid export file {path}: {why}")


def _unprintable(text: str) -> bool:
    # Cc: C0/C1 controls, ESC among them; Cf: format characters such as the bidi overrides that reorder a line.
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


def key_problem(key: str) -> str | None:
    """Why a variable key, connection id, pool name or DAG id can't be moved, or None."""
    if _unprintable(key):
        return "holds a control or format character"
    if key != key.strip():
        return "starts or ends with a space"
    if key in (".", ".."):
        return "is a path step, not a name (it would address another API path)"
    return None


def check_ranges(kind: str, item: dict, where: str, path: str) -> None:
    checks = {"connections": ("port", PORTS), "pools": ("slots", SLOTS)}
    if kind not in checks:
        return
    field, (low, high) = checks[kind]
    value = item.get(field)
    if value is not None and not low <= value <= high:
        raise _fail(path, f'{where} field "{field}" is {value}; allowed: {low} to {high}')


def check_header(doc: dict, path: str) -> None:
    """airflow_version, exported_at and source, as `export` writes them (the last two may be absent)."""
    version = doc["airflow_version"]
    if not _VERSION.fullmatch(version):
        raise _fail(path, f'"airflow_version" {json.dumps(version)} is not a version such as 3.3.1')
    if "exported_at" in doc:
        stamp = doc["exported_at"]
        try:
            parsed = _dt.datetime.fromisoformat(stamp) if isinstance(stamp, str) and len(stamp) <= 40 else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise _fail(path, f'"exported_at" {json.dumps(stamp)[:80]} is not an ISO 8601 time with a time zone, '
                              f'e.g. 2026-01-31T12:00:00+00:00')
    if "source" in doc:
        problem = _source_problem(doc["source"])
        if problem:
            raise _fail(path, f'"source" {problem}')


def _source_problem(source) -> str | None:
    if not isinstance(source, dict):
        return "is not an object"
    kind = source.get("kind")
    if kind == "url":
        url = source.get("url")
        if set(source) != {"kind", "url"} or not isinstance(url, str) or _unprintable(url) or len(url) > 2048 \
                or not url.startswith(("http://", "https://")):
            return 'of kind "url" needs exactly "url", an http(s) URL of printable characters'
        return None
    if kind == "mwaa":
        name, region = source.get("name"), source.get("region")
        if not set(source) <= {"kind", "name", "region"} or not isinstance(name, str) or not _MWAA_NAME.fullmatch(name) \
                or not (region is None or (isinstance(region, str) and _REGION.fullmatch(region))):
            return 'of kind "mwaa" needs "name" (an MWAA environment name) and "region" (an AWS region or null)'
        return None
    return f'has the kind {json.dumps(kind)[:40]}; allowed: "url" or "mwaa"'
