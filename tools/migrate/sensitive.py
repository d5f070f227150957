"""Which values are secret, how to tell that a source API masked them, and how to keep them out of output.

The name heuristic follows Airflow's own (``[core] sensitive_var_conn_names`` adds names to a built-in
list; a name is sensitive when its lower-cased, ``\\W+ -> _`` normalised form contains one of them).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from typing import Any

# Airflow's built-in list of sensitive names (airflow/_shared/secrets_masker, 3.x; 2.x has a subset).
DEFAULT_SENSITIVE_NAMES = frozenset(
    {
        "access_key",
        "access_token",
        "api_key",
        "apikey",
        "auth_header",
        "authorization",
        "bearer",
        "connection_string",
        "dsn",
        "passphrase",
        "passwd",
        "password",
        "private_key",
        "proxy",
        "proxy_password",
        "proxies",
        "secret",
        "service_account",
        "service_key",
        "token",
        "keyfile_dict",
        "webhook_url",
    }
)

#: What Airflow's API puts in place of a value it hides.
MASK = "***"

_NON_WORD = re.compile(r"\W+")


class SensitiveNames:
    def __init__(self, extra: Iterable[str] = ()):
        self.names = frozenset(DEFAULT_SENSITIVE_NAMES | {n.strip().lower() for n in extra if n.strip()})

    def __call__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        normalized = _NON_WORD.sub("_", name.strip().lower())
        return any(s in normalized for s in self.names)


def parse_json(text: Any) -> tuple[bool, Any]:
    """(True, value) when ``text`` is a JSON document, else (False, None)."""
    if not isinstance(text, str):
        return False, None
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def _has_mask_leaf(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_mask_leaf(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_mask_leaf(v) for v in value)
    return value == MASK


def looks_masked(value: Any) -> bool:
    """Whether a value the API returned is Airflow's mask: the text is exactly ``***``, or it is a JSON
    object or array (a connection's extra, a JSON variable) one of whose leaf values is exactly ``***``.

    Airflow masks by *name* (a sensitive variable key, a sensitive key inside a JSON value or a
    connection's extra, every connection password): the whole value or the whole leaf becomes ``***``.
    Text that merely contains ``***`` (``"a***b"``) is taken as it is: it may be a real value. (Airflow
    also masks by *value*, replacing a loaded secret wherever it appears; such a partial mask cannot be
    told from real text, which is why the runbook raises ``[logging] min_length_masked_secret`` on the
    source for the export. The export summary lists values that contain ``***``, see ``contains_mask``.)
    """
    if not isinstance(value, str):
        return False
    if value == MASK:
        return True
    if MASK not in value:
        return False
    ok, decoded = parse_json(value)
    return ok and isinstance(decoded, (dict, list)) and _has_mask_leaf(decoded)


def contains_mask(value: Any) -> bool:
    """Text that contains ``***`` without being masked (see :func:`looks_masked`): worth a look."""
    return isinstance(value, str) and MASK in value and not looks_masked(value)


def _secret_leaves(value: Any, name: str | None, is_sensitive: SensitiveNames, out: set[str], inside: bool):
    inside = inside or (name is not None and is_sensitive(name))
    if isinstance(value, dict):
        for k, v in value.items():
            _secret_leaves(v, k, is_sensitive, out, inside)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _secret_leaves(v, None, is_sensitive, out, inside)
    elif inside and value is not None and not isinstance(value, bool):
        out.add(str(value))


def secret_strings(dataset: dict[str, list[dict]], is_sensitive: SensitiveNames) -> set[str]:
    """Every secret string in an export-shaped dataset: passwords, sensitive variables, secret extras."""
    out: set[str] = set()
    for conn in dataset.get("connections", []):
        if conn.get("password"):
            out.add(conn["password"])
        ok, extra = parse_json(conn.get("extra"))
        if ok:
            _secret_leaves(extra, None, is_sensitive, out, False)
    for var in dataset.get("variables", []):
        value = var.get("value")
        if value is None:
            continue
        if is_sensitive(var.get("key")):
            out.add(value)
        ok, decoded = parse_json(value)
        if ok and isinstance(decoded, (dict, list)):
            _secret_leaves(decoded, var.get("key"), is_sensitive, out, False)
    return {s for s in out if s and s != MASK}


class Scrubber:
    """Replaces known secret strings in text that is about to be printed (error details from servers)."""

    def __init__(self) -> None:
        self._secrets: list[str] = []
        self._lock = threading.Lock()  # kinds are read (and their secrets added) in parallel

    def add(self, secrets: Iterable[str | None]) -> None:
        new = {s for s in secrets if isinstance(s, str) and s and s != MASK}
        with self._lock:
            if new <= set(self._secrets):
                return
            # Longest first, so that a secret containing another one is replaced whole.
            self._secrets = sorted(set(self._secrets) | new, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for s in self._secrets:
            for spelling in {s, json.dumps(s)[1:-1]}:
                if spelling not in text:
                    continue
                if len(spelling) >= 4:
                    text = text.replace(spelling, MASK)
                else:  # a very short secret: replace it where it stands alone, not inside every word
                    text = re.sub(rf"(?<!\w){re.escape(spelling)}(?!\w)", MASK, text)
        return text
