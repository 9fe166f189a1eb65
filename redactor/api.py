"""The library entry point: ``Redactor(policy=..., engine=...).redact(image)``.

A Redactor holds only immutable configuration (policy, locator, options), so one
instance can be shared by many threads; the async twin runs the same work in a
worker thread so an event loop is never blocked by image codecs.
"""

from __future__ import annotations

import asyncio
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from redactor.core.fields import CardType, CardTypeHint
from redactor.core.imaging import DEFAULT_JPEG_QUALITY, DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from redactor.core.policy import Policy, load_policy
from redactor.core.results import AppliedField, Decision
from redactor.errors import RedactorError, UnreadableImageError, UnsupportedImageError, UsageError
from redactor.locators import Locator, ReplayLocator, make_locator
from redactor.pipeline import ImageOutcome, redact_image
from redactor.policy_files import load_bundled_policy, load_policy_file, looks_like_path
from redactor.storage.files import companion_reader, read_regular_file
from redactor.verifiers import Verifier, default_verifier

ImageInput = bytes | bytearray | memoryview | Image.Image | str | os.PathLike[str]


class NotRedactedError(RedactorError):
    """Raised by :meth:`RedactionResult.raise_for_decision` when the image was not redacted."""


@dataclass(frozen=True)
class RedactionResult:
    """What :meth:`Redactor.redact` returns. ``data`` is None unless ``decision`` is REDACTED."""

    decision: Decision
    reasons: tuple[str, ...]
    #: The masked image's bytes (left out of ``repr``: printing a result prints no image).
    data: bytes | None = field(repr=False)
    format: str | None
    card_type: CardType | None
    fields: tuple[AppliedField, ...]
    #: The masked image passed the second look (None: verification off, or nothing masked).
    verified: bool | None = None

    @property
    def redacted(self) -> bool:
        return self.decision is Decision.REDACTED

    def raise_for_decision(self) -> RedactionResult:
        """Return self when redacted, raise :class:`NotRedactedError` (with the reasons) otherwise."""
        if not self.redacted:
            raise NotRedactedError(f"image was {self.decision.value}: " + "; ".join(self.reasons))
        return self

    def image(self) -> Image.Image:
        """The masked image, decoded (only for redacted results)."""
        self.raise_for_decision()
        assert self.data is not None
        return Image.open(io.BytesIO(self.data))

    def to_record(self) -> dict[str, Any]:
        """Report-safe summary (no DetectedText, no image bytes)."""
        return {
            "decision": self.decision.value,
            "reasons": list(self.reasons),
            "format": self.format,
            "card_type": self.card_type.value if self.card_type else None,
            "fields": [f.to_record() for f in self.fields],
            "verified": self.verified,
        }


def _resolve_policy(policy: Policy | str | os.PathLike[str] | None) -> Policy:
    if policy is None:
        return load_bundled_policy("default")
    if isinstance(policy, Policy):
        return policy
    text = os.fspath(policy)
    if "\n" in text or text.lstrip().startswith("version:"):
        return load_policy(text, "<policy text>")
    if not isinstance(policy, str) or looks_like_path(text):
        return load_policy_file(Path(text))
    return load_bundled_policy(text)


class Redactor:
    """Masks card images according to a policy.

    ``policy``: a :class:`Policy`, a path to a YAML file, a bundled policy name
    (``default``, ``strict``, ``minimal``) or YAML text; default: the bundled default.
    ``engine``: a :class:`Locator` or an engine name: ``local`` (offline OCR, the default)
    or ``replay`` (saved AILicenseRec responses).
    ``verify``: a second look at every masked image before it is returned (on by default;
    a failed look gives a ``quarantined`` result with the reason); or a :class:`Verifier`.
    """

    def __init__(
        self,
        policy: Policy | str | os.PathLike[str] | None = None,
        engine: Locator | str = "local",
        *,
        card_type: CardTypeHint | str = CardTypeHint.AUTO,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        verify: bool | Verifier = True,
    ) -> None:
        self.policy = _resolve_policy(policy)
        #: The second look at every masked image (``verify=False``: off, by the caller's choice).
        self.verifier: Verifier | None = (
            verify if not isinstance(verify, bool) else (default_verifier() if verify else None)
        )
        self.locator = make_locator(engine) if isinstance(engine, str) else engine
        try:
            self.card_type = CardTypeHint(card_type)
        except ValueError:
            raise UsageError(f"card_type must be one of auto, IDCard, DriverLicense, not {card_type!r}") from None
        if not 1 <= jpeg_quality <= 100:
            raise UsageError("jpeg_quality must be within 1-100")
        self.jpeg_quality = jpeg_quality
        self.max_pixels = max_pixels

    def redact(self, image: ImageInput, *, response: bytes | None = None) -> RedactionResult:
        """Redact one image given as bytes, a PIL image or a path.

        ``response`` is a saved AILicenseRec XML for the replay engine; for a path the
        sidecar ``<path>.ailicenserec.xml`` is used when no response is given.
        """
        data, companion, name = self._read(image)
        locator = self.locator
        if response is not None:
            locator = ReplayLocator(response)
        outcome = redact_image(
            data,
            policy=self.policy,
            locator=locator,
            card_type=self.card_type,
            name=name,
            companion=companion,
            jpeg_quality=self.jpeg_quality,
            max_pixels=self.max_pixels,
            verifier=self.verifier,
        )
        return _result(outcome)

    async def aredact(self, image: ImageInput, *, response: bytes | None = None) -> RedactionResult:
        """Async twin of :meth:`redact`."""
        return await asyncio.to_thread(self.redact, image, response=response)

    @staticmethod
    def _read(image: ImageInput) -> tuple[bytes, Any, str]:
        if isinstance(image, (bytes, bytearray, memoryview)):
            return bytes(image), None, "<bytes>"
        if isinstance(image, Image.Image):
            return _image_bytes(image), None, "<image>"
        path = Path(os.fspath(image))
        try:
            data = read_regular_file(path, DEFAULT_MAX_BYTES, follow_links=True)
        except RedactorError as exc:
            raise UsageError(f"cannot read {path}: {str(exc).removeprefix('cannot read: ')}") from None
        return data, companion_reader(path, DEFAULT_MAX_BYTES), path.name


#: Pillow modes a PIL image may come in: what PNG holds is written as PNG, CMYK as TIFF;
#: others (F, HSV, LAB, I;16B...) are refused with an UnsupportedImageError.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"})


def _image_bytes(image: Image.Image) -> bytes:
    """A PIL image as bytes for the pipeline: its own format when it can be written so,
    else PNG (TIFF for CMYK); a mode or a file that cannot be is a RedactorError."""
    if image.mode not in _PNG_MODES and image.mode != "CMYK":
        raise UnsupportedImageError(
            f"PIL image mode {image.mode} is not supported; convert it to RGB (image.convert('RGB')) first"
        )
    try:
        image.load()  # a lazily opened file may be truncated or broken
    except Exception as exc:
        raise UnreadableImageError(f"the PIL image cannot be read ({type(exc).__name__})") from None
    own = image.format if image.format in ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF") else None
    for fmt in dict.fromkeys((own, "TIFF" if image.mode == "CMYK" else "PNG")):
        if fmt is None:
            continue
        buffer = io.BytesIO()
        try:
            image.save(buffer, format=fmt)
        except (OSError, ValueError, KeyError):
            continue
        return buffer.getvalue()
    raise UnsupportedImageError(f"the PIL image (mode {image.mode}) cannot be encoded for redaction")


def _result(outcome: ImageOutcome) -> RedactionResult:
    return RedactionResult(
        outcome.decision,
        outcome.reasons,
        outcome.data if outcome.decision is Decision.REDACTED else None,
        outcome.format,
        outcome.card_type,
        outcome.applied,
        outcome.verified,
    )
