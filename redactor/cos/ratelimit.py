"""A token bucket shared by every worker of a process, so N threads (or tasks) together stay
under a service quota (AILicenseRec is billed and throttled per account, not per worker).

A caller reserves a slot under a lock and sleeps outside it, which makes the same bucket
usable from threads (``acquire``) and from asyncio (``acquire_async``) at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Protocol


class Limiter(Protocol):
    """What a client asks before each request of a kind: a :class:`TokenBucket` here, or a
    cluster-wide one elsewhere (:mod:`redactor.executors.ray`)."""

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None: ...

    async def acquire_async(self) -> None: ...


class TokenBucket:
    """``rate`` requests per second with bursts of up to ``burst`` (default: one second's worth)."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        """Credit the tokens earned since the last call (under the lock)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def reserve(self) -> float:
        """Take one token now (possibly going into debt); return how long to wait before using it."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def try_take(self) -> bool:
        """Take one token if one is there now (a server refusing what is over its rate)."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def available(self) -> float:
        """Tokens there now (negative: in debt), e.g. to see whether a burst is spent."""
        with self._lock:
            self._refill()
            return self._tokens

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None:
        wait = self.reserve()
        if wait > 0:
            sleep(wait)

    async def acquire_async(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)


_SHARED: dict[tuple[str, float], TokenBucket] = {}
_SHARED_LOCK = threading.Lock()


def shared_bucket(name: str, rate: float | None) -> TokenBucket | None:
    """The process-wide bucket for ``name`` at ``rate`` (None = unlimited)."""
    if rate is None:
        return None
    with _SHARED_LOCK:
        bucket = _SHARED.get((name, rate))
        if bucket is None:
            bucket = _SHARED[(name, rate)] = TokenBucket(rate)
        return bucket
