"""Files that hold secrets (passwords, keys, rendered configs): created 0600, never readable for a moment."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, content: str | bytes) -> Path:
    """Write `content` to a file only its owner can read; an existing file is truncated and made 0600 first."""
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode applies to new files only
        os.write(fd, data)
    finally:
        os.close(fd)
    return path
