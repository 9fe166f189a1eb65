"""Synthetic specimen cards with exact ground truth, for testing locators and the redaction pipeline.

Everything is made up: identities come from small pools (``identities``), portraits are
drawn shapes (``drawings``), photos and photocopies are procedural (``photo``). Every card is
drawn in one of its kind's layout families (:data:`FAMILIES`; the :data:`HELD_OUT_FAMILIES`
are for measuring only) with per-card variation. Each image is written with a
``.truth.json`` (every field polygon in image pixels) and a ``.ailicenserec.xml`` sidecar
(what the cloud OCR would answer), so the pipeline can run offline against known answers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from redactor.generator.families import ALL_KINDS, FAMILIES, HELD_OUT_FAMILIES, KINDS, MULTI, PHOTOCOPY

if TYPE_CHECKING:
    from redactor.generator.sets import generate_samples, generate_set, render_sample, sample_plan, write_specimen
    from redactor.generator.specimens import (
        CardOptions,
        Specimen,
        render_multi,
        render_one,
        render_photocopy,
        render_specimen,
    )

__all__ = [
    "ALL_KINDS",
    "FAMILIES",
    "HELD_OUT_FAMILIES",
    "KINDS",
    "MULTI",
    "PHOTOCOPY",
    "CardOptions",
    "Specimen",
    "generate_samples",
    "generate_set",
    "render_multi",
    "render_one",
    "render_photocopy",
    "render_sample",
    "render_specimen",
    "sample_plan",
    "write_specimen",
]

#: Submodules reachable as attributes (``from redactor.generator import heldout``).
_SUBMODULES = frozenset(
    {
        "cli",
        "drawings",
        "families",
        "heldout",
        "idcard",
        "identities",
        "licence",
        "painter",
        "photo",
        "sets",
        "specimens",
        "text",
        "truth",
        "tuned",
    }
)
#: The modules the lazy names come from (in this order).
_LAZY = ("specimens", "sets")


def __getattr__(name: str) -> Any:
    """Drawing code (Pillow, numpy, fonts) loads on first use: naming the kinds and families,
    as ``redactor --help`` and the evaluation do, stays light."""
    if name in _SUBMODULES:
        return importlib.import_module(f"redactor.generator.{name}")
    for module in _LAZY:
        found = importlib.import_module(f"redactor.generator.{module}")
        if hasattr(found, name):
            return getattr(found, name)
    raise AttributeError(f"module 'redactor.generator' has no attribute {name!r}")
