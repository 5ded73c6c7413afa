"""Token-bucket request rate limiting, one bucket per key."""

import math
import threading
import time
from typing import Callable

DEFAULT_RATE = 1000.0
DEFAULT_BURST = 2000
_MAX_KEYS = 10000


class TokenBucket:
    """rate tokens per second refill up to burst; each request takes one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        if not rate > 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.clock = float(rate), int(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: str = "global") -> tuple[bool, int]:
        """(allowed, retry_after_seconds); retry_after is 0 when allowed, else an integer >= 1."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
            if tokens >= 1.0:
                self._store(key, tokens - 1.0, now)
                return True, 0
            self._store(key, tokens, now)
            return False, max(1, math.ceil((1.0 - tokens) / self.rate))

    def _store(self, key: str, tokens: float, now: float):
        if key not in self._buckets and len(self._buckets) >= _MAX_KEYS:
            self._prune(now)
        self._buckets[key] = (tokens, now)

    def _prune(self, now: float):
        # Keys whose bucket has refilled completely carry no state worth keeping.
        full = [k for k, (t, last) in self._buckets.items()
                if t + (now - last) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
