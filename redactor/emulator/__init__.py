"""A local COS + AILicenseRec emulator, so the COS client and COS-to-COS runs can be tested offline.

It speaks the XML API closely enough that the official SDK cannot tell the difference
(signatures, errors, listing, multipart, ``ci-process=AILicenseRec``), and it can inject
faults (errors, throttling, resets, truncated bodies) deterministically from a seed.
"""

from redactor.emulator.app import EmulatorApp, EmulatorConfig
from redactor.emulator.faults import FaultPlan, parse_faults
from redactor.emulator.server import EmulatorServer
from redactor.emulator.store import Store, crc64

__all__ = ["EmulatorApp", "EmulatorConfig", "EmulatorServer", "FaultPlan", "Store", "crc64", "parse_faults"]
