"""Reading and writing variables, connections, pools and paused flags through an Airflow API.

Airflow 3 (``/api/v2``): paged reads, bulk writes (``PATCH /variables|/connections|/pools`` with
``actions: [{action: create, entities, action_on_existence}]``), per-DAG ``PATCH /dags/{id}``.
Airflow 2 (``/api/v1``): paged reads, one request per written item, run on a thread pool; the 2.x API
never returns connection passwords, so they come back hidden.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import quote

from .errors import ApiError, MigrateError, PathTooLong
from .model import KEY, key_of, make_item
from .sensitive import SensitiveNames, looks_masked, secret_strings
from .retry import RETRYABLE
from .transport import Transport, _short

COLLECTION = {"variables": "/variables", "connections": "/connections", "pools": "/pools", "dags": "/dags"}
ITEM_PATH = {"variables": "/variables/", "connections": "/connections/", "pools": "/pools/", "dags": "/dags/"}


def _q(key: str) -> str:
    return quote(key, safe="")


def _error_text(error: dict) -> str:
    return str(error.get("error", "")).strip()[:300] or "no detail"


def _names_key(error: dict, key: str) -> bool:
    """Whether a bulk error names ``key``: in a key field, or quoted in its message (Airflow writes
    ``... these keys: {'a', 'b'} already exist`` and ``... `name` was not found``)."""
    for field in ("key", "keys", "entity", "entities"):
        named = error.get(field)
        if named == key or (isinstance(named, list) and key in named):
            return True
    text = str(error.get("error", ""))
    return any(q in text for q in (repr(key), f"'{key}'", f'"{key}"', f"`{key}`"))


class ItemResult:
    __slots__ = ("key", "ok", "error")

    def __init__(self, key: str, ok: bool, error: str | None = None):
        self.key, self.ok, self.error = key, ok, error


class AirflowApi:
    def __init__(self, transport: Transport, is_sensitive: SensitiveNames, scrub: Callable[[str], str],
                 page_size: int | None = None, batch_size: int = 500, write_workers: int = 1):
        self.t = transport
        self.is_sensitive = is_sensitive
        self.scrub = scrub
        self.page_size = min(page_size or transport.max_page, transport.max_page)
        self.batch_size = max(1, min(batch_size, transport.max_batch))
        self.write_workers = max(1, min(write_workers, transport.max_workers))
        self.pool = ThreadPoolExecutor(max_workers=transport.max_workers, thread_name_prefix="migrate")
        self.timings: dict[str, float] = {}  # seconds per phase ("read variables", "write pools", ...)
        self._timing_lock = threading.Lock()

    def _timed(self, phase: str, started: float) -> None:
        with self._timing_lock:
            self.timings[phase] = round(self.timings.get(phase, 0.0) + time.monotonic() - started, 3)

    @property
    def label(self) -> str:
        return self.t.label

    @property
    def version(self) -> str:
        return self.t.airflow_version

    @property
    def v2(self) -> bool:
        return self.t.api == "v2"

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.t.close()

    # -- generic -------------------------------------------------------------------------------

    def _fail(self, method: str, path: str, status: int, data: Any) -> ApiError:
        retried = f" (after {self.t.retry.attempts} tries)" if status in RETRYABLE else ""
        return ApiError(
            self.scrub(f"{self.label}: {method} {path} answered {status}{retried} {_short(data)}").rstrip(), status
        )

    def _stop_if_failing(self, method: str, path: str, status: int, data: Any) -> None:
        """A server still failing after the retries: stop, rather than send it every remaining item."""
        if status in RETRYABLE or status >= 500:
            raise self._fail(method, path, status, data)

    def _get_page(self, path: str, field: str, offset: int, limit: int, params: dict) -> tuple[list, int]:
        status, data = self.t.request("GET", path, params={**params, "limit": limit, "offset": offset})
        if status == 413 and limit > 1:
            # MWAA caps a response at 6 MB: halve the page. (A 5xx was already retried with backoff; more,
            # smaller requests would only add load to a failing server.)
            half = limit // 2
            a, total = self._get_page(path, field, offset, half, params)
            b, _ = self._get_page(path, field, offset + half, limit - half, params)
            return a + b, total
        if status != 200 or not isinstance(data, dict) or not isinstance(data.get(field), list):
            if status == 200:
                raise MigrateError(f"{self.label}: GET {path} returned an unexpected body")
            raise self._fail("GET", path, status, data)
        return data[field], int(data.get("total_entries", len(data[field])))

    def list_all(self, kind: str, params: dict | None = None) -> list[dict]:
        """Every row of a collection. The server may cap the page size (``[api] maximum_page_limit``):
        the first page tells the real size, the other pages are then fetched in parallel."""
        path, field, params = COLLECTION[kind], kind, dict(params or {})
        key = KEY[kind]
        first, total = self._get_page(path, field, 0, self.page_size, params)
        rows = list(first)
        step = len(first)
        if step and total > step:
            offsets = list(range(step, total, step))
            for page, _ in self.pool.map(lambda o: self._get_page(path, field, o, step, params), offsets):
                rows.extend(page)
        unique = {r.get(key): r for r in rows if isinstance(r, dict)}
        if len(unique) < total:
            # Rows moved between pages while we read (a concurrent write): read once more, in order.
            unique, offset = {}, 0
            while True:
                page, total = self._get_page(path, field, offset, step or self.page_size, params)
                if not page:
                    break
                for r in page:
                    unique[r.get(key)] = r
                offset += len(page)
                if offset >= total:
                    break
        return list(unique.values())

    # -- reading -------------------------------------------------------------------------------

    def read(self, kind: str) -> list[dict]:
        started = time.monotonic()
        try:
            items = getattr(self, f"read_{kind}")()
        finally:
            self._timed(f"read {kind}", started)
        # What this side revealed is kept out of every later message (server errors, tracebacks).
        if hasattr(self.scrub, "add"):
            self.scrub.add(secret_strings({kind: items}, self.is_sensitive))
        return items

    def read_variables(self) -> list[dict]:
        out = []
        for r in self.list_all("variables"):
            value = r.get("value")
            hidden = ["value"] if looks_masked(value) else []
            out.append(make_item("variables", {**r, "value": value}, hidden))
        return out

    def read_connections(self) -> list[dict]:
        rows = self.list_all("connections")
        if not self.v2:
            # 2.x lists connections without extra: read each one (the password is write-only in 2.x).
            def one(r):
                cid = r["connection_id"]
                try:
                    status, data = self.t.request("GET", ITEM_PATH["connections"] + _q(cid))
                except PathTooLong:
                    return {**r, "extra": None, "_extra_hidden": True}
                if status != 200 or not isinstance(data, dict):
                    raise self._fail("GET", f"/connections/{cid}", status, data)
                return {**r, **data}

            rows = list(self.pool.map(one, rows))
        out = []
        for r in rows:
            hidden = []
            if not self.v2:
                hidden.append("password")
            elif looks_masked(r.get("password")):
                hidden.append("password")
            if r.get("_extra_hidden") or looks_masked(r.get("extra")):
                hidden.append("extra")
            out.append(make_item("connections", r, hidden))
        return out

    def read_pools(self) -> list[dict]:
        return [make_item("pools", r) for r in self.list_all("pools")]

    def read_dags(self) -> list[dict]:
        return [make_item("dags", r) for r in self.list_all("dags")]

    # -- writing -------------------------------------------------------------------------------

    @staticmethod
    def body(kind: str, item: dict) -> dict:
        """The request body for an item; fields the source hid are left out (the target keeps its own)."""
        hidden = set(item.get("hidden") or ())
        body = {f: v for f, v in item.items() if f != "hidden" and f not in hidden}
        if kind == "variables" and "value" not in body:
            body["value"] = ""  # required by the API; only reached with --allow-incomplete on a new item
        return body

    def write(self, kind: str, items: list[dict], overwrite: bool,
              record: list[ItemResult] | None = None) -> list[ItemResult]:
        """Create ``items`` (or replace them, with ``overwrite``); one result per item.

        Results are appended to ``record`` as each request is answered, so the caller knows what was written
        even when a later request stops the run (a timeout, a server that keeps failing).
        """
        record = [] if record is None else record
        if not items:
            return record
        started = time.monotonic()
        try:
            if self.v2:
                # The metadata DB serialises much of the work (SQLite entirely): a few bulk requests in flight
                # is plenty. On Airflow 3 each variable write also asks the secrets backends for the key
                # (Airflow's write-conflict check), which is where more parallel requests help on a real database.
                self._each(lambda b: self._bulk_once(kind, b, overwrite, record), list(self._batches(kind, items)),
                           self.write_workers)
            else:
                self._each(lambda it: record.append(self._write_one(kind, it, overwrite)), items, self.t.max_workers)
        finally:
            self._timed(f"write {kind}", started)
        return record

    @staticmethod
    def _each(work: Callable[[Any], None], things: list, workers: int) -> None:
        """``work`` on every thing, ``workers`` at a time. The first failure cancels what has not started and is
        raised once the requests in flight have been answered (and recorded)."""
        if workers <= 1 or len(things) <= 1:
            for thing in things:  # strictly one request at a time, in order
                work(thing)
            return
        with ThreadPoolExecutor(max_workers=workers) as ex:
            futures = [ex.submit(work, thing) for thing in things]
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                future.cancel()
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                raise future.exception()

    def _batches(self, kind: str, items: list[dict]) -> Iterable[list[dict]]:
        batch, size = [], 0
        for it in items:
            n = len(json.dumps(self.body(kind, it), ensure_ascii=False).encode("utf-8")) + 2
            if batch and (len(batch) >= self.batch_size or size + n > self.t.max_body_bytes):
                yield batch
                batch, size = [], 0
            batch.append(it)
            size += n
        if batch:
            yield batch

    def _bulk_once(self, kind: str, batch: list[dict], overwrite: bool, record: list[ItemResult]) -> None:
        body = {
            "actions": [
                {
                    "action": "create",
                    "entities": [self.body(kind, it) for it in batch],
                    "action_on_existence": "overwrite" if overwrite else "skip",
                }
            ]
        }
        keys = [key_of(kind, it) for it in batch]
        status, data = self.t.request("PATCH", COLLECTION[kind], body=body)
        self._stop_if_failing("PATCH", COLLECTION[kind], status, data)
        if status in (400, 404, 409, 413, 422):
            if len(batch) > 1:
                # One bad entity fails the whole request: split to find it and save the rest.
                mid = len(batch) // 2
                self._bulk_once(kind, batch[:mid], overwrite, record)
                self._bulk_once(kind, batch[mid:], overwrite, record)
            else:
                record.append(ItemResult(keys[0], False, self.scrub(f"{status} {_short(data)}".strip())))
            return
        if status != 200 or not isinstance(data, dict):
            raise self._fail("PATCH", COLLECTION[kind], status, data)
        create = data.get("create") or {}
        success = set(map(str, create.get("success") or []))
        errors = [e if isinstance(e, dict) else {"error": e} for e in (create.get("errors") or [])]
        results = []
        for k in keys:
            if k in success:
                results.append(ItemResult(k, True))
            elif errors:
                named = [e for e in errors if _names_key(e, k)]
                if named:
                    msg = "; ".join(_error_text(e) for e in named)
                else:  # the batch failed in part, and no error says which item: do not guess
                    msg = f"not written (the batch had errors: {_error_text(errors[0])})"
                results.append(ItemResult(k, False, self.scrub(msg[:300])))
            else:
                # "skip" leaves an item that appeared on the target meanwhile: not written by us.
                results.append(ItemResult(k, False, "already exists on the target (created meanwhile)"))
        record.extend(results)

    def _write_one(self, kind: str, item: dict, overwrite: bool) -> ItemResult:
        key = key_of(kind, item)
        body = self.body(kind, item)
        try:
            if overwrite:
                status, data = self.t.request("PATCH", ITEM_PATH[kind] + _q(key), body=body)
                if status == 404:
                    status, data = self.t.request("POST", COLLECTION[kind], body=body)
            else:
                status, data = self.t.request("POST", COLLECTION[kind], body=body)
        except PathTooLong as exc:
            return ItemResult(key, False, str(exc))
        self._stop_if_failing("POST/PATCH", ITEM_PATH[kind] + "...", status, data)
        if status in (200, 201):
            return ItemResult(key, True)
        if status == 409:
            return ItemResult(key, False, "already exists on the target (created meanwhile)")
        return ItemResult(key, False, self.scrub(f"{status} {_short(data)}".strip()))

    def set_paused(self, states: dict[str, bool], record: list[ItemResult] | None = None) -> list[ItemResult]:
        """Set each DAG's paused flag; results are appended to ``record`` as they come (see ``write``)."""
        record = [] if record is None else record

        def one(item):
            dag_id, paused = item
            try:
                status, data = self.t.request(
                    "PATCH", ITEM_PATH["dags"] + _q(dag_id), params={"update_mask": "is_paused"},
                    body={"is_paused": paused},
                )
            except PathTooLong as exc:
                return ItemResult(dag_id, False, str(exc))
            self._stop_if_failing("PATCH", "/dags/...", status, data)
            if status == 200:
                return ItemResult(dag_id, True)
            return ItemResult(dag_id, False, self.scrub(f"{status} {_short(data)}".strip()))

        started = time.monotonic()
        try:
            self._each(lambda item: record.append(one(item)), sorted(states.items()), self.t.max_workers)
        finally:
            self._timed("write dags", started)
        return record
