"""Per-kiosk request rate limit: a token bucket per kiosk id, in this process.

Each kiosk may make ``limit`` requests at once and then ``limit`` per ``window_seconds`` on average:
its bucket holds up to ``limit`` tokens, refilled continuously at ``limit / window`` per second, and a
request takes one. An empty bucket answers with the whole seconds until the next token (``Retry-After``).
The defaults (600 per 60 s) are far above a kiosk's needs — syncing every 10 s (config, taps, heartbeat) is
18 requests a minute, and draining 10 000 queued taps in 50-tap batches (after 413s) about 200 — so only a
runaway or hostile client is slowed down.

Why in memory and not in the database: the limit protects the server, it is not part of correctness
(no tap is ever lost or doubled by a 429; the kiosk keeps it and retries). A shared counter would cost a
write per request on the hot path of 20 000 kiosks. The price is that with N server instances behind a
load balancer a kiosk may get up to N times the limit, which is still a bound.

Memory is bounded: buckets untouched for a whole window are full again, so dropping them changes
nothing; they are evicted as requests come in. Beyond ``max_keys`` active kiosks the least recently seen
bucket is dropped as well (that kiosk gets a fresh allowance, which errs on its side).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """Token buckets keyed by a string (a kiosk id). Thread-safe; ``clock`` is injectable for tests.

    Raises ValueError for a limit below 1 or a window that is not positive.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 200_000,
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError(f"need limit >= 1 and window > 0, got {limit} per {window_seconds} s")
        self.limit = limit
        self.window = window_seconds
        self.rate = limit / window_seconds  # tokens per second
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at), LRU first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def hit(self, key: str) -> int | None:
        """Count one request for ``key``: None when allowed, else whole seconds (>= 1) until one would be."""
        with self._lock:
            now = self.clock()
            self._evict(now)
            tokens, at = self._buckets.pop(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + max(0.0, now - at) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            if allowed:
                return None
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _evict(self, now: float) -> None:
        """Drop buckets idle for a full window (they are full again), and the oldest beyond ``max_keys``."""
        while self._buckets:
            key, (_tokens, at) = next(iter(self._buckets.items()))
            if now - at < self.window and len(self._buckets) < self.max_keys:
                return
            del self._buckets[key]
