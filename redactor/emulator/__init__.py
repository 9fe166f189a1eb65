"""A local COS + AILicenseRec emulator, so the COS client and COS-to-COS runs can be tested offline.

It speaks the XML API closely enough that the official SDK cannot tell the difference
(signatures, errors, listing, multipart, ``ci-process=AILicenseRec``), and it can inject
faults (errors, throttling, resets, truncated bodies) deterministically from a seed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redactor.emulator.app import EmulatorApp, EmulatorConfig
    from redactor.emulator.faults import FaultPlan, parse_faults
    from redactor.emulator.server import EmulatorServer
    from redactor.emulator.store import Store, crc64

__all__ = ["EmulatorApp", "EmulatorConfig", "EmulatorServer", "FaultPlan", "Store", "crc64", "parse_faults"]

#: Where each public name lives: loaded on first use, so a command that only names the
#: emulator (redactor --help) does not load uvicorn.
_HOMES = {
    "EmulatorApp": "app",
    "EmulatorConfig": "app",
    "EmulatorServer": "server",
    "FaultPlan": "faults",
    "parse_faults": "faults",
    "Store": "store",
    "crc64": "store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'redactor.emulator' has no attribute {name!r}")
    return getattr(importlib.import_module(f"redactor.emulator.{home}"), name)
