"""What the emulator answered, counted, so a benchmark can measure a run from the outside.

``GET /_emulator/stats``, path style (an emulator extension: no bucket can be named
``_emulator``), returns these counters as JSON, unauthenticated and without added latency
or faults. Counts only: no key, header or body is kept. AILicenseRec arrivals are also kept as
timestamps, so that the busiest 1-second window of a run (``?since=<monotonic>``: only the
calls after a moment an earlier answer gave) can be read from the outside: a rate cap is
judged by what the service saw, not by what the client believes it sent."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from redactor.emulator.protocol import Request

#: The path of the counters (not a valid bucket name, so never an object's path).
STATS_PATH = "/_emulator/stats"
#: AILicenseRec arrival times kept (the last ones; a 10,000-object soak makes ~15,000 calls).
CI_TIMES_KEPT = 1_000_000


@dataclass(frozen=True)
class Windows:
    """The busiest 1-second windows of AILicenseRec arrivals: ``sliding`` over every window
    ``[t, t + 1 s)``, ``fixed`` over whole seconds counted from ``since`` (or the first call)."""

    calls: int
    sliding: int
    fixed: int
    since: float | None

    def to_record(self) -> dict[str, float | int | None]:
        return {"calls": self.calls, "max_1s_sliding": self.sliding, "max_1s_fixed": self.fixed, "since": self.since}


def busiest(times: list[float], since: float | None = None) -> Windows:
    """The busiest 1-second windows of sorted arrival ``times`` (see :class:`Windows`)."""
    times = [t for t in times if since is None or t >= since]
    sliding = first = 0
    for last, t in enumerate(times):
        while t - times[first] >= 1.0:
            first += 1
        sliding = max(sliding, last - first + 1)
    origin = since if since is not None else (times[0] if times else 0.0)
    bins = Counter(int((t - origin) // 1.0) for t in times)
    return Windows(len(times), sliding, max(bins.values(), default=0), since)


@dataclass
class Counters:
    """Requests by ``"<op> <status>"``; objects written (PUT or completed multipart, 200) by
    their top-level prefix (``"out/"``); AILicenseRec calls by ``"<CardType> <status>"``."""

    requests: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    ci: Counter[str] = field(default_factory=Counter)
    #: Monotonic arrival time of each AILicenseRec request (before any latency or fault).
    ci_times: deque[float] = field(default_factory=lambda: deque(maxlen=CI_TIMES_KEPT))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, request: Request, op: str, status: int | str) -> None:
        written = status == 200 and (
            (request.method == "PUT" and not request.has("uploadId"))
            or (request.method == "POST" and request.has("uploadId"))
        )
        with self._lock:
            self.requests[f"{op} {status}"] += 1
            if written and request.key:
                head, slash, _ = request.key.partition("/")
                self.writes[head + slash if slash else ""] += 1
            if op == "ci":
                self.ci[f"{request.param('CardType') or '-'} {status}"] += 1

    def arrived(self, op: str) -> None:
        """A request has arrived (counted before latency, faults and the service's own cap)."""
        if op == "ci":
            now = time.monotonic()
            with self._lock:
                self.ci_times.append(now)

    def ci_windows(self, since: float | None = None) -> Windows:
        with self._lock:
            times = list(self.ci_times)
        return busiest(times, since)

    def to_json(self, ci_tokens: float | None, since: float | None = None) -> bytes:
        """The counters, the AILicenseRec bucket's tokens now (``None``: no cap), the busiest
        1-second windows of AILicenseRec arrivals (after ``since``) and a monotonic timestamp
        of this process."""
        windows = self.ci_windows(since).to_record()
        with self._lock:
            doc = {
                "requests": dict(self.requests),
                "writes": dict(self.writes),
                "ci": dict(self.ci),
                "ci_tokens": ci_tokens,
                "ci_windows": windows,
                "monotonic": time.monotonic(),
            }
        return json.dumps(doc, sort_keys=True).encode()
