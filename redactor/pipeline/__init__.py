"""The one pipeline: read, decode, locate, plan, mask, encode, write; or quarantine.

Every entry point (CLI, library, cloud handler) goes through :func:`redact_image`
for one image and :class:`BatchRunner` for many. Any error on the way becomes a
quarantine decision with a reason: nothing unmasked is ever written to the output.
"""

from __future__ import annotations

from redactor.pipeline.batch import BatchRunner
from redactor.pipeline.image import (
    ImageOutcome,
    locate_fields,
    mask_and_encode,
    mask_image,
    redact_image,
    second_look,
)
from redactor.pipeline.keys import (
    COMPANION_SUFFIXES,
    MANIFEST_NAME,
    MAX_NAME_BYTES,
    REASON_SUFFIX,
    STATE_DIR,
    is_companion_key,
    is_image_key,
    matches,
    reason_key,
)
from redactor.pipeline.manifest import (
    Manifest,
)
from redactor.pipeline.options import RunOptions, RunSummary, default_workers
from redactor.pipeline.records import (
    REFUSED,
    ImageDetails,
    ReportRow,
)

__all__ = [
    "COMPANION_SUFFIXES",
    "MANIFEST_NAME",
    "MAX_NAME_BYTES",
    "REASON_SUFFIX",
    "REFUSED",
    "STATE_DIR",
    "BatchRunner",
    "ImageDetails",
    "ImageOutcome",
    "Manifest",
    "ReportRow",
    "RunOptions",
    "RunSummary",
    "default_workers",
    "is_companion_key",
    "is_image_key",
    "locate_fields",
    "mask_and_encode",
    "mask_image",
    "matches",
    "reason_key",
    "redact_image",
    "second_look",
]
