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


class ImportAborted(MigrateError):
    """An import stopped before it finished: ``progress`` says, per kind, which keys were written, which
    failed and which were not written (or not confirmed)."""

    def __init__(self, cause: BaseException, progress: dict[str, dict]):
        self.interrupted = isinstance(cause, KeyboardInterrupt)
        if self.interrupted:
            reason = "interrupted"
        elif isinstance(cause, MigrateError):
            reason = str(cause)
        else:
            reason = f"internal error {type(cause).__name__}: {str(cause)[:300]}"
        super().__init__(reason)
        self.progress = progress
