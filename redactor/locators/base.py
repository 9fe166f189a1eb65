"""The locator interface: an upright image in, located fields out.

Locators are adapters around the core: the cloud API, a saved response (replay), a
local OCR model, or an in-memory twin for tests. Each has a sync and an async entry;
the default async one runs the sync one in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image

from redactor.core.companions import SIDECAR_SUFFIX as SIDECAR_SUFFIX  # the pipeline names it from here
from redactor.core.fields import CardTypeHint
from redactor.core.results import Detection, StoredObject


@dataclass(frozen=True)
class LocateRequest:
    """What a locator gets. ``companion(suffix)`` reads a file stored next to the image
    (``<name><suffix>``) and returns ``None`` when there is none."""

    image: Image.Image
    card_type: CardTypeHint = CardTypeHint.AUTO
    name: str = "<image>"
    companion: Callable[[str], bytes | None] | None = None
    stored: StoredObject | None = None


@runtime_checkable
class Locator(Protocol):
    name: str
    #: Companion files (suffixes) the locator reads next to an image: part of what the
    #: image's output depends on, so a changed companion redoes the image.
    companions: tuple[str, ...]
    #: Its ``locate`` waits on a remote service rather than using a core: a run calls it
    #: outside its CPU slots (and, for a stored object, before decoding the image).
    io_bound: bool

    def locate(self, request: LocateRequest) -> Detection: ...

    async def alocate(self, request: LocateRequest) -> Detection: ...

    def open(self) -> None:
        """Before a run: clear what an earlier, killed run may have left behind."""
        ...

    def close(self) -> None:
        """After a run, whatever happened: remove everything the locator put anywhere."""
        ...


class BaseLocator:
    """Gives subclasses an async twin for free."""

    name = "base"
    companions: tuple[str, ...] = ()
    io_bound = False

    def locate(self, request: LocateRequest) -> Detection:
        raise NotImplementedError

    async def alocate(self, request: LocateRequest) -> Detection:
        return await asyncio.to_thread(self.locate, request)

    def open(self) -> None:
        """Nothing to clear for a locator that leaves nothing behind."""

    def close(self) -> None:
        """Nothing to remove for a locator that leaves nothing behind."""
