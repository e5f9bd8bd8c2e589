"""Token buckets for requests and tokens (or any other unit) per period, shared within a process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """Holds up to `capacity` units, refilled at `capacity` per `period` seconds."""

    capacity: float
    period: float = 60.0
    clock: Callable[[], float] = time.monotonic
    level: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.level = self.capacity
        self.updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.capacity / self.period)
        self.updated = now

    def wait_time(self, amount: float) -> float:
        """Seconds until `amount` units are available (0 if they are now)."""
        self._refill()
        missing = min(amount, self.capacity) - self.level
        return max(0.0, missing * self.period / self.capacity)

    def take(self, amount: float) -> None:
        self._refill()
        self.level -= min(amount, self.capacity)


class RateLimiter:
    """Paces calls under both a request and a token budget per `period` seconds (a minute unless
    said); returns seconds waited."""

    def __init__(
        self,
        requests: int,
        tokens: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        period: float = 60.0,
    ):
        self.requests = TokenBucket(requests, period, clock=clock)
        self.tokens = TokenBucket(tokens, period, clock=clock)
        self.sleep = sleep
        self.lock = threading.Lock()

    def acquire(self, tokens: int) -> float:
        """Block until one request of `tokens` tokens fits both budgets, then spend them."""
        waited = 0.0
        with self.lock:
            while True:
                delay = max(self.requests.wait_time(1), self.tokens.wait_time(tokens))
                if delay <= 0:
                    break
                self.sleep(delay)
                waited += delay
            self.requests.take(1)
            self.tokens.take(tokens)
        return waited


_limiters: dict[tuple, RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(key: tuple, requests: int, tokens: int, period: float = 60.0) -> RateLimiter:
    """The process's limiter for `key` (an account and model, an index), made on first use."""
    with _limiters_lock:
        limiter = _limiters.get((key, requests, tokens, period))
        if limiter is None:
            limiter = _limiters[(key, requests, tokens, period)] = RateLimiter(requests, tokens, period=period)
        return limiter
