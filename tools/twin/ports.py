"""Loopback ports: picked free at run time (other servers run on this machine), checked before use."""

from __future__ import annotations

import socket

from .errors import TwinError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def ensure_free(port: int, component: str) -> None:
    """A port taken between picking and starting would make the server die with a vaguer message."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            raise TwinError(f"{component}: port {LOOPBACK}:{port} is already in use") from None


def is_listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((LOOPBACK, port)) == 0
