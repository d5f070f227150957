"""A StatsD listener on loopback standing in for the chart's statsd-exporter: it records what Airflow emits.

The chart sends Airflow's metrics to its `airflow-statsd` Service (UDP 9125, `[metrics] statsd_host/port` in the
rendered airflow.cfg). The exporter's image is not here, so this records every datagram instead: name, value,
type and tags, as StatsD's line protocol carries them (`name:value|type[|@rate][|#tags]`, one per line).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .ports import LOOPBACK

# A burst of datagrams (every scheduler loop sends dozens) must not overflow the socket while the twin's main thread
# is busy: a dropped one-shot counter (ti_failures) is a lost datapoint. The kernel caps SO_RCVBUF at rmem_max;
# SO_RCVBUFFORCE (root) goes past it.
RECEIVE_BUFFER = 16 * 1024 * 1024


@dataclass(frozen=True)
class Metric:
    at: float
    name: str
    value: float
    type: str


@dataclass
class StatsdListener:
    port: int
    metrics: list[Metric] = field(default_factory=list)

    def __post_init__(self):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            try:
                self._socket.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
                break
            except (OSError, TypeError):
                continue
        self._socket.bind((LOOPBACK, self.port))
        self._socket.settimeout(0.5)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="statsd", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.time()
            parsed = [m for line in data.decode("utf-8", "replace").splitlines() if (m := parse_line(line, now))]
            with self._lock:
                self.metrics.extend(parsed)

    def snapshot(self) -> list[Metric]:
        with self._lock:
            return list(self.metrics)

    def names(self) -> Counter:
        with self._lock:
            return Counter(m.name for m in self.metrics)

    def dropped(self) -> int:
        """Datagrams the kernel dropped for this socket (/proc/net/udp, last column): what the twin never saw."""
        try:
            rows = Path("/proc/net/udp").read_text().splitlines()[1:]
        except OSError:
            return 0
        wanted = f"{int(ipaddress.IPv4Address(LOOPBACK)).to_bytes(4, 'little').hex().upper()}:{self.port:04X}"
        return sum(int(row.split()[-1]) for row in rows if row.split()[1] == wanted)

    def stop(self) -> None:
        self._stop.set()
        self._socket.close()
        self._thread.join(timeout=5)


def parse_line(line: str, now: float) -> Metric | None:
    name, sep, rest = line.partition(":")
    fields = rest.split("|")
    if not sep or len(fields) < 2:
        return None
    try:
        return Metric(now, name, float(fields[0]), fields[1])
    except ValueError:
        return None
