"""The verifier interface: a masked image (and what made it) in, a verdict out.

A verifier is the second, independent look before anything is written. It gets the
original and the masked pixels, the plan's masks and what each field's action was, and
must not trust the locator's reasoning: it looks at the masked image itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image

from redactor.core.plan import Plan
from redactor.core.policy import Policy
from redactor.core.results import Detection
from redactor.core.verification import Verdict


@dataclass(frozen=True)
class VerifyRequest:
    """What a verifier gets: ``original`` and ``masked`` are the same size, upright; the
    ``policy`` says what must not be readable (whatever the plan did)."""

    original: Image.Image
    masked: Image.Image
    plan: Plan
    detection: Detection
    policy: Policy


@runtime_checkable
class Verifier(Protocol):
    name: str

    def verify(self, request: VerifyRequest) -> Verdict: ...
