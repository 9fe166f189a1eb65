"""Locators: adapters that find card fields (local OCR, replay, in-memory; cloud later)."""

from __future__ import annotations

from redactor.core.companions import SIDECAR_SUFFIX
from redactor.errors import UsageError
from redactor.locators.base import BaseLocator, LocateRequest, Locator
from redactor.locators.memory import StaticLocator
from redactor.locators.replay import ReplayLocator

ENGINES = ("local", "replay", "cos")


def make_locator(engine: str) -> Locator:
    """The locator for an ``--engine`` name."""
    if engine == "replay":
        return ReplayLocator()
    if engine == "local":
        from redactor.locators.local import LocalLocator  # heavy imports only when asked for

        return LocalLocator()
    if engine == "cos":
        from redactor.locators.cloud import build_cloud_locator

        return build_cloud_locator(staging=None)
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
