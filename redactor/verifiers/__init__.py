"""Verifiers: the second look at every masked image before it is written."""

from __future__ import annotations

from redactor.core.verification import Verdict
from redactor.verifiers.base import Verifier, VerifyRequest
from redactor.verifiers.memory import StaticVerifier


def default_verifier() -> Verifier:
    """The OCR verifier on the local engine's models (shared with the local locator)."""
    from redactor.verifiers.ocr import OcrVerifier  # heavy imports only when asked for

    return OcrVerifier()


__all__ = ["StaticVerifier", "Verdict", "Verifier", "VerifyRequest", "default_verifier"]
