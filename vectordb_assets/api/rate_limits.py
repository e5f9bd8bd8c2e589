"""Per-key request budgets: a token bucket per key, refilled each minute, in this process."""

from __future__ import annotations

import threading

from resources.rate_limit import TokenBucket
from vectordb_assets.api.keys import ApiKey


class KeyRateLimits:
    """`default` requests per minute per key, or the key's own `requests_per_minute`."""

    def __init__(self, default: int):
        self.default = default
        self._buckets: dict[tuple[str, int], TokenBucket] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: ApiKey) -> float:
        """0 and one request spent if the key may make one now, else the seconds until it may."""
        budget = key.requests_per_minute or self.default
        with self._lock:
            bucket = self._buckets.setdefault((key.key_id, budget), TokenBucket(budget))
            wait = bucket.wait_time(1)
            if wait <= 0:
                bucket.take(1)
            return wait
