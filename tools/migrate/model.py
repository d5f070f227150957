"""The data that moves, the export file, and how two items are compared.

Items are plain dicts with the fields listed in ``FIELDS`` and, when the source API did not reveal a
secret field (a masked password, a masked variable value, Airflow 2.x never returning passwords), a
``hidden`` list naming those fields; a hidden field's value is ``None`` and is never compared.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from typing import Any

from .errors import MigrateError
from .filechecks import check_header, check_ranges, key_problem
from .sensitive import parse_json

FORMAT = "airflow-metadata-export"
SCHEMA_VERSION = 1

KINDS = ("variables", "connections", "pools", "dags")

KEY = {"variables": "key", "connections": "connection_id", "pools": "name", "dags": "dag_id"}

FIELDS = {
    "variables": ("key", "value", "description"),
    "connections": (
        "connection_id",
        "conn_type",
        "description",
        "host",
        "login",
        "schema",
        "port",
        "password",
        "extra",
    ),
    "pools": ("name", "slots", "description", "include_deferred"),
    "dags": ("dag_id", "is_paused"),
}

#: Fields that may hold secrets (and can come back hidden from an API).
SECRET_FIELDS = {"variables": ("value",), "connections": ("password", "extra")}

_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "variables": {"key": (str,), "value": (str, type(None)), "description": (str, type(None))},
    "connections": {
        "connection_id": (str,),
        "conn_type": (str,),
        "description": (str, type(None)),
        "host": (str, type(None)),
        "login": (str, type(None)),
        "schema": (str, type(None)),
        "port": (int, type(None)),
        "password": (str, type(None)),
        "extra": (str, type(None)),
    },
    "pools": {
        "name": (str,),
        "slots": (int,),
        "description": (str, type(None)),
        "include_deferred": (bool,),
    },
    "dags": {"dag_id": (str,), "is_paused": (bool,)},
}


def singular(kind: str) -> str:
    return {"variables": "variable", "connections": "connection", "pools": "pool", "dags": "DAG"}[kind]


def key_of(kind: str, item: dict) -> str:
    return item[KEY[kind]]


def hidden_of(item: dict) -> list[str]:
    return list(item.get("hidden") or ())


def make_item(kind: str, values: dict, hidden: list[str] | tuple[str, ...] = ()) -> dict:
    item = {f: values.get(f) for f in FIELDS[kind]}
    if kind == "pools":
        item["include_deferred"] = bool(item.get("include_deferred") or False)
    if hidden:
        for f in hidden:
            item[f] = None
        item["hidden"] = sorted(set(hidden))
    return item


# --- comparison -------------------------------------------------------------------------------


def _canonical_json_text(text: str | None) -> Any:
    """The form Airflow 3's API shows a JSON value in (``json.dumps(json.loads(v))``); other text as is."""
    ok, decoded = parse_json(text)
    if ok:
        return ("json", json.dumps(decoded))
    return ("text", text)


def canonical(kind: str, field: str, value: Any) -> Any:
    if kind == "variables" and field == "value":
        return _canonical_json_text(value)
    if kind == "connections" and field == "extra":
        if value is None or value == "" or value == "{}":
            return ("empty",)  # Airflow 3 stores "" as "{}"; none of them carries anything
        return _canonical_json_text(value)
    if isinstance(value, str) and value == "":
        return None  # optional text fields: empty and unset are the same thing
    return value


def compare(kind: str, source: dict, target: dict) -> tuple[list[str], list[str]]:
    """(fields that differ, fields that could not be compared because one side hid them)."""
    hidden = set(hidden_of(source)) | set(hidden_of(target))
    changed, unverified = [], []
    for f in FIELDS[kind]:
        if f in hidden:
            unverified.append(f)
            continue
        if canonical(kind, f, source.get(f)) != canonical(kind, f, target.get(f)):
            changed.append(f)
    return changed, unverified


# --- the export file --------------------------------------------------------------------------


def new_document(source: dict, airflow_version: str, data: dict[str, list[dict]]) -> dict:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "exported_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "airflow_version": airflow_version,
        "source": source,
    }
    for kind in KINDS:
        if kind in data:
            doc[kind] = sorted(data[kind], key=lambda it: key_of(kind, it))
    return doc


def check_output(path: str, force: bool = False) -> str:
    """Where the export goes, checked before anything is read: not an existing file without --force, not a
    directory, in a directory that exists and that we may write to."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise MigrateError(f"cannot write {path}: it is a directory")
    if os.path.exists(path) and not force:
        raise MigrateError(f"{path} already exists; pass --force to replace it")
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise MigrateError(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise MigrateError(f"cannot write {path}: permission denied in {directory}")
    return path


def write_document(path: str, doc: dict, force: bool = False) -> None:
    """Write the export with owner-only permissions: the file is created 0600 and then renamed in place."""
    path = check_output(path, force)
    directory = os.path.dirname(path)
    # mkstemp creates the file with mode 0600 (O_CREAT|O_EXCL), so the secrets are never readable by others,
    # not even for a moment; os.replace keeps that inode and its mode.
    try:
        fd, tmp = tempfile.mkstemp(prefix=".migrate-export-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise MigrateError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=1, sort_keys=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _fail(path: str, why: str) -> MigrateError:
    return MigrateError(f"invalid export file {path}: {why}")


#: Top-level fields of the export file besides the kinds (what ``new_document`` writes).
HEADER_FIELDS = ("format", "schema_version", "exported_at", "airflow_version", "source")


class DuplicateKey(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    """json.loads keeps the last of two equal keys: a second "variables" list would silently replace the first."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen[key] = value
    return seen


def validate_document(doc: Any, path: str) -> dict:
    if not isinstance(doc, dict):
        raise _fail(path, "top level is not a JSON object")
    unknown = sorted(k for k in doc if k not in HEADER_FIELDS and k not in KINDS)
    if unknown:
        raise _fail(path, f"unknown top-level field {unknown[0]!r} (allowed: {', '.join(HEADER_FIELDS + KINDS)})")
    if doc.get("format") != FORMAT:
        raise _fail(path, f'"format" is {doc.get("format")!r}, expected {FORMAT!r}')
    version = doc.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:  # true == 1 and 1.0 == 1 in Python: not here
        raise _fail(path, f"unsupported schema_version {json.dumps(version)} (this tool reads the integer {SCHEMA_VERSION})")
    if not isinstance(doc.get("airflow_version"), str):
        raise _fail(path, '"airflow_version" is missing')
    check_header(doc, path)
    present = [k for k in KINDS if k in doc]
    if not present:
        raise _fail(path, "it holds none of " + ", ".join(KINDS))
    for kind in present:
        items = doc[kind]
        if not isinstance(items, list):
            raise _fail(path, f'"{kind}" is not a list')
        seen: set[str] = set()
        for i, item in enumerate(items):
            where = f"{kind}[{i}]"
            if not isinstance(item, dict):
                raise _fail(path, f"{where} is not an object")
            extra = sorted(f for f in item if f not in FIELDS[kind] and f != "hidden")
            if extra:  # a typo ("valeu") would otherwise be dropped, and the item imported without it
                raise _fail(path, f'{where} has the unknown field "{extra[0]}" (allowed: '
                                  f'{", ".join(FIELDS[kind] + ("hidden",))})')
            hidden = item.get("hidden", [])
            if not isinstance(hidden, list) or not all(h in SECRET_FIELDS.get(kind, ()) for h in hidden):
                raise _fail(path, f'{where} has an invalid "hidden" list')
            for field, types in _TYPES[kind].items():
                optional = type(None) in types or field in hidden
                if field not in item or item[field] is None:
                    if optional:
                        continue
                    raise _fail(path, f'{where} lacks the field "{field}"')
                value = item[field]
                if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
                    raise _fail(path, f'{where} field "{field}" has the wrong type')
            key = item[KEY[kind]]
            if not key.strip():
                raise _fail(path, f'{where} has an empty "{KEY[kind]}"')
            problem = key_problem(key)
            if problem:
                raise _fail(path, f'{where} "{KEY[kind]}" {json.dumps(key)} {problem}')
            check_ranges(kind, item, where, path)
            if key in seen:
                raise _fail(path, f"{kind} has {key!r} twice")
            seen.add(key)
    return doc


def read_document(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise MigrateError(f"export file {path} does not exist") from None
    except IsADirectoryError:
        raise MigrateError(f"export file {path} is a directory") from None
    except PermissionError:
        raise MigrateError(f"cannot read export file {path}: permission denied") from None
    except UnicodeDecodeError:
        raise _fail(path, "not UTF-8 text") from None
    try:
        doc = json.loads(text, object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise _fail(path, "JSON nested too deeply (an export is at most 4 levels deep)") from None
    except DuplicateKey as exc:
        raise _fail(path, f"the key {str(exc)!r} appears twice in one JSON object") from None
    doc = validate_document(doc, path)
    return {
        **{k: v for k, v in doc.items() if k not in KINDS},
        **{kind: [make_item(kind, it, hidden_of(it)) for it in doc[kind]] for kind in KINDS if kind in doc},
    }
