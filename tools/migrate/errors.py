"""Errors the command turns into one line on stderr and a non-zero exit code (no traceback)."""

from __future__ import annotations


class MigrateError(Exception):
    """A problem the operator can act on: bad input, unreachable API, wrong credentials, bad file.

    The message is printed as is, on one line, so it must never contain a secret value.
    """


class ApiError(MigrateError):
    """The Airflow API answered with an unexpected HTTP status."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class PathTooLong(MigrateError):
    """MWAA's InvokeRestApi takes paths of at most 64 characters; a per-item path was longer."""
