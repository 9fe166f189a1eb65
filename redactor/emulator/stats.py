"""What the emulator answered, counted, so a benchmark can measure a run from the outside.

``GET /_emulator/stats``, path style (an emulator extension: no bucket can be named
``_emulator``), returns these counters as JSON, unauthenticated and without added latency
or faults. Counts only: no key, header or body is kept."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from redactor.emulator.protocol import Request

#: The path of the counters (not a valid bucket name, so never an object's path).
STATS_PATH = "/_emulator/stats"


@dataclass
class Counters:
    """Requests by ``"<op> <status>"``; objects written (PUT or completed multipart, 200) by
    their top-level prefix (``"out/"``); AILicenseRec calls by ``"<CardType> <status>"``."""

    requests: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    ci: Counter[str] = field(default_factory=Counter)
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

    def to_json(self, ci_tokens: float | None) -> bytes:
        """The counters, the AILicenseRec bucket's tokens now (``None``: no cap) and a
        monotonic timestamp of this process."""
        with self._lock:
            doc = {
                "requests": dict(self.requests),
                "writes": dict(self.writes),
                "ci": dict(self.ci),
                "ci_tokens": ci_tokens,
                "monotonic": time.monotonic(),
            }
        return json.dumps(doc, sort_keys=True).encode()
