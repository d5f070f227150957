"""Airflow local settings of the EKS deployment: the chart mounts this file into every Airflow pod
(components/eks/chart_values.py). The chart renders it as a template, so it must hold no double braces.

Why: Airflow 3's SecretsMasker learns each secret it sees (a connection password when a connection is loaded, the
value of a variable with a sensitive name) and, for each new one, recompiles a single regular expression made of
*every* secret it knows. Learning N secrets so costs O(N²): an API server that lists 1,000 connections and 1,000
sensitive variables for the first time spends about two minutes compiling (docs/migration.md, "Limits worth
knowing"). Here the compile waits until the pattern is used: the same pattern and the same redaction, compiled once
per use instead of once per secret learned.
"""

from __future__ import annotations

import re as _re


class _DeferredPattern:
    """What `re.compile` returns to the masker: the real pattern, compiled on first use (re caches it)."""

    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, source, flags=0):
        self._source, self._flags, self._compiled = source, flags, None

    def __getattr__(self, name):
        if self._compiled is None:
            self._compiled = _re.compile(self._source, self._flags)
        return getattr(self._compiled, name)

    def __bool__(self):
        return True  # the masker tests `if self.replacer:` before using it


class _DeferringRe:
    """The `re` module as the masker module sees it: compile() defers; everything else is re's own."""

    def __getattr__(self, name):
        return getattr(_re, name)

    @staticmethod
    def compile(source, flags=0):
        return _DeferredPattern(source, flags)


def defer_secret_mask_compiles() -> list[str]:
    """Point the masker modules (the API server's and the task SDK's copy) at the deferring `re`; Airflow 2, which
    keeps its masker elsewhere, is left as it is. Returns the modules changed."""
    import importlib

    changed = []
    for name in ("airflow._shared.secrets_masker.secrets_masker", "airflow.sdk._shared.secrets_masker.secrets_masker"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "re", None) is _re:
            module.re = _DeferringRe()
            changed.append(name)
    return changed


defer_secret_mask_compiles()
