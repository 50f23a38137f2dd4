"""Per-key request rate limits: a token bucket per API key, in this process.

A key with a limit of R requests per minute holds up to R tokens and gains
R/60 a second; a request takes one. An empty bucket answers with the seconds
until the next token, which the service sends as ``Retry-After``.

The buckets live in the service's memory: one process (which Qdrant local
mode imposes anyway) enforces the limit exactly; several replicas behind a
load balancer would each allow R, and need a shared store (e.g. Redis).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable


class RateLimiter:
    """Token buckets by key id, safe to call from many threads.

    Args:
        clock: Monotonic seconds, for tests.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float, int]] = {}  # key id -> (tokens, at, limit)

    def take(self, key_id: str, per_minute: int) -> int | None:
        """Take one request from ``key_id``'s bucket.

        Args:
            key_id: The API key's id.
            per_minute: Its limit; a changed limit takes effect at once, keeping the tokens left (capped).

        Returns:
            None when the request may go ahead, else the whole seconds to wait (at least 1).
        """
        if per_minute < 1:
            raise ValueError(f"a rate limit must be at least 1 request per minute, not {per_minute}")
        rate = per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, at, _ = self._buckets.get(key_id, (float(per_minute), now, per_minute))
            tokens = min(float(per_minute), tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now, per_minute)
                return None
            self._buckets[key_id] = (tokens, now, per_minute)
            return max(1, math.ceil((1.0 - tokens) / rate))
