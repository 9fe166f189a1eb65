"""Locators: adapters that find card fields (replay, in-memory; local OCR and cloud later)."""

from __future__ import annotations

from redactor.errors import UsageError
from redactor.locators.base import SIDECAR_SUFFIX, BaseLocator, LocateRequest, Locator
from redactor.locators.memory import StaticLocator
from redactor.locators.replay import ReplayLocator

ENGINES = ("replay",)


def make_locator(engine: str) -> Locator:
    """The locator for an ``--engine`` name."""
    if engine == "replay":
        return ReplayLocator()
    raise UsageError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")


__all__ = [
    "ENGINES",
    "SIDECAR_SUFFIX",
    "BaseLocator",
    "LocateRequest",
    "Locator",
    "ReplayLocator",
    "StaticLocator",
    "make_locator",
]
