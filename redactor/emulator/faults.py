"""Injected faults, so retry and resume logic can be exercised against the emulator.

SPEC: ``op:name=value,name=value;op:...``, for example
``get:5xx=0.1,slowdown=0.05,reset=0.01,truncate=0.01;put:5xx=0.1;*:latency=50``.

- ``op`` is one of ``get`` (GET Object), ``head``, ``put`` (PUT Object, Upload Part, PUT Bucket),
  ``delete``, ``list`` (GET Bucket), ``post`` (multipart initiate/complete), ``ci`` (AILicenseRec),
  or ``*`` for all of them; an op's own values override ``*``'s.
- ``5xx``, ``slowdown``, ``reset``, ``truncate`` are probabilities (0-1) of, respectively, a
  500 ``InternalError``, a 503 ``SlowDown``, a connection closed without a response, and a
  response whose body ends before its ``Content-Length``. Their sum must not exceed 1.
- ``latency`` is a delay in milliseconds added to every request of that op.

One draw from a ``random.Random(seed)`` per request (under a lock) picks the fault, so a
given seed and request sequence always gives the same faults.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace
from enum import Enum

OPS = ("get", "head", "put", "delete", "list", "post", "ci")
_KINDS = {"5xx": "error", "slowdown": "slowdown", "reset": "reset", "truncate": "truncate"}


class InjectedFault(Exception):
    """Raised inside the ASGI app to make the server drop the connection (reset, truncated body)."""


class Fault(str, Enum):
    NONE = "none"
    ERROR = "error"
    SLOWDOWN = "slowdown"
    RESET = "reset"
    TRUNCATE = "truncate"


@dataclass(frozen=True)
class OpFaults:
    error: float = 0.0
    slowdown: float = 0.0
    reset: float = 0.0
    truncate: float = 0.0
    latency_ms: float = 0.0


def parse_faults(spec: str) -> dict[str, OpFaults]:
    """Parse a SPEC (see the module docstring); raises ValueError saying what is wrong."""
    raw: dict[str, dict[str, float]] = {}
    for section in filter(None, (s.strip() for s in spec.split(";"))):
        op, sep, body = section.partition(":")
        op = op.strip().lower()
        if not sep or (op != "*" and op not in OPS):
            choices = ", ".join(("*", *OPS))
            raise ValueError(f"fault section {section!r}: expected OP:name=value,... with OP one of {choices}")
        values = raw.setdefault(op, {})
        for item in filter(None, (i.strip() for i in body.split(","))):
            name, eq, text = item.partition("=")
            name = name.strip().lower()
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"fault {item!r}: the value is not a number") from None
            if not eq or (name not in _KINDS and name != "latency"):
                raise ValueError(f"fault {item!r}: expected one of 5xx, slowdown, reset, truncate, latency")
            if name == "latency":
                if value < 0:
                    raise ValueError(f"fault {item!r}: latency must be >= 0 ms")
                values["latency_ms"] = value
            else:
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"fault {item!r}: a probability must be within 0-1")
                values[_KINDS[name]] = value
    base = OpFaults(**raw.get("*", {}))
    plans = {op: replace(base, **raw.get(op, {})) for op in OPS}
    for op, plan in plans.items():
        if plan.error + plan.slowdown + plan.reset + plan.truncate > 1.0 + 1e-9:
            raise ValueError(f"faults for {op!r}: the probabilities add up to more than 1")
    return plans


class FaultPlan:
    """Decides, per request, which fault (if any) to inject; deterministic for a seed."""

    def __init__(self, spec: str = "", seed: int = 0) -> None:
        self.ops = parse_faults(spec)
        self._random = random.Random(seed)  # noqa: S311 (reproducible faults, not secrets)
        self._lock = threading.Lock()

    def latency_ms(self, op: str) -> float:
        return self.ops[op].latency_ms if op in self.ops else 0.0

    def draw(self, op: str) -> Fault:
        plan = self.ops.get(op)
        if plan is None or plan.error + plan.slowdown + plan.reset + plan.truncate == 0.0:
            return Fault.NONE
        with self._lock:
            x = self._random.random()
        for fault, p in (
            (Fault.ERROR, plan.error),
            (Fault.SLOWDOWN, plan.slowdown),
            (Fault.RESET, plan.reset),
            (Fault.TRUNCATE, plan.truncate),
        ):
            if x < p:
                return fault
            x -= p
        return Fault.NONE
