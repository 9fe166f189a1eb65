"""Rate limits shared by every worker of a process, so N threads (or tasks) together stay
under a service quota (AILicenseRec is billed and throttled per account, not per worker).

:class:`Pacer` is the strict one (AILicenseRec): one slot every ``1.1/rate`` seconds and nothing
saved up while idle, so no 1-second window holds more than ``rate`` calls. A
:class:`TokenBucket` allows bursts (its size on top of the rate in any window): what a
server's own cap does (the emulator's), and what plain COS requests may do.

A caller reserves a slot under a lock and sleeps outside it, which makes the same limiter
usable from threads (``acquire``) and from asyncio (``acquire_async``) at once.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

#: A caller that wakes up later than this after its slot gives it up and asks for another:
#: a late call would land next to the slots after it and crowd their 1-second windows (a
#: thread descheduled on a loaded machine must not turn into a burst).
LATE_AFTER = 0.01
#: Seconds by which calls may reach the service later than their slots, differently from one
#: call to the next (a thread descheduled between its slot and its send, network jitter),
#: without crowding a 1-second window: slots are ``(1 + SEND_JITTER) / rate`` apart, so
#: ``rate + 1`` calls span ``1 + SEND_JITTER`` seconds (the price: that much under ``rate``).
SEND_JITTER = 0.1


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


class Pacer:
    """At most ``rate`` calls in any 1-second window, strictly, as the service counts their
    arrivals: slots a little more than ``1/rate`` apart (:data:`SEND_JITTER`), none saved up
    while idle (a burst of one). A caller that wakes more than :data:`LATE_AFTER` after its
    slot takes a new one."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic, jitter: float = SEND_JITTER) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.interval = (1.0 + jitter) / rate
        self._clock = clock
        self._next = -math.inf
        self._lock = threading.Lock()

    def slot(self, lead: float = 0.0) -> float:
        """The next free slot, on this pacer's clock, no earlier than ``lead`` s from now
        (the time a remote caller needs to hear of it)."""
        with self._lock:
            at = max(self._clock() + lead, self._next)
            self._next = at + self.interval
            return at

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None:
        while True:
            at = self.slot()
            delay = at - self._clock()
            if delay > 0:
                sleep(delay)
            if self._clock() - at <= LATE_AFTER:
                return

    async def acquire_async(self) -> None:
        while True:
            at = self.slot()
            delay = at - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._clock() - at <= LATE_AFTER:
                return


_SHARED: dict[tuple[str, float], TokenBucket | Pacer] = {}
_SHARED_LOCK = threading.Lock()


def shared_bucket(name: str, rate: float | None, strict: bool = False) -> TokenBucket | Pacer | None:
    """The process-wide limiter for ``name`` at ``rate`` (None = unlimited): a
    :class:`Pacer` when ``strict``, else a :class:`TokenBucket` with a second's burst."""
    if rate is None:
        return None
    with _SHARED_LOCK:
        bucket = _SHARED.get((name, rate))
        if bucket is None:
            bucket = _SHARED[(name, rate)] = Pacer(rate) if strict else TokenBucket(rate)
        return bucket
