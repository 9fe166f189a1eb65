"""In-memory twin of a verifier for unit tests: a fixed verdict, and the requests it saw."""

from __future__ import annotations

from redactor.core.verification import Verdict
from redactor.verifiers.base import VerifyRequest


class StaticVerifier:
    """Answers every request with ``verdict`` (default: passed) and keeps the requests."""

    name = "static"

    def __init__(self, verdict: Verdict | None = None) -> None:
        self.verdict = verdict or Verdict(True)
        self.requests: list[VerifyRequest] = []

    def verify(self, request: VerifyRequest) -> Verdict:
        self.requests.append(request)
        return self.verdict
