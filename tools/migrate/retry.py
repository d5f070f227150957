"""When and how long to wait before asking a busy or failing server again.

Bounded: at most ``attempts`` tries per request. Exponential backoff with full jitter (a random wait between 0
and base * 2**n, capped), so parallel workers don't retry in lockstep. A ``Retry-After`` header (seconds or an
HTTP-date) is honoured instead, up to ``max_wait``; a server asking for longer is not retried. The sleep, the
clock and the random source are injected, so tests never wait for real.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Statuses worth asking again: rate limited, or the server (or a proxy before it) failing for now.
RETRYABLE = frozenset({429, 500, 502, 503, 504})


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or HTTP-date); None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110: an HTTP-date is GMT
        return None
    return max(0.0, when.timestamp() - now)


@dataclass
class RetryPolicy:
    attempts: int = 5  # tries per request, the first included
    base: float = 0.5  # seconds; the n-th retry waits up to base * 2**(n-1)
    cap: float = 30.0  # longest backoff wait
    max_wait: float = 120.0  # longest Retry-After honoured
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    uniform: Callable[[float, float], float] = field(default=random.uniform)

    def wait_before(self, retry: int, retry_after: str | None) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based), or None: give up."""
        if retry >= self.attempts:
            return None
        asked = retry_after_seconds(retry_after, self.clock())
        if asked is not None:
            return asked if asked <= self.max_wait else None
        return self.uniform(0.0, min(self.cap, self.base * 2 ** (retry - 1)))
