"""One image through the pipeline: decode, locate, plan, mask, second look, encode. Any
error on the way becomes a quarantine decision with a reason."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from redactor.core.fields import CardType, CardTypeHint
from redactor.core.imaging import DEFAULT_JPEG_QUALITY, DEFAULT_MAX_PIXELS, decode, encode
from redactor.core.masking import apply_ops
from redactor.core.plan import Plan, plan_redaction
from redactor.core.policy import Action, Policy
from redactor.core.portrait import complete_portraits
from redactor.core.results import AppliedField, Decision, Detection, StoredObject
from redactor.core.verification import Verdict
from redactor.errors import (
    ImageError,
    LocatorError,
    LocatorUnavailableError,
    RedactorError,
    ResponseParseError,
    StorageError,
)
from redactor.locators.base import LocateRequest, Locator
from redactor.verifiers.base import Verifier, VerifyRequest


@dataclass
class ImageOutcome:
    """The result for one image. ``data`` is set only when ``decision`` is REDACTED."""

    decision: Decision
    reasons: tuple[str, ...]
    data: bytes | None = None
    format: str | None = None
    card_type: CardType | None = None
    applied: tuple[AppliedField, ...] = ()
    size: tuple[int, int] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: The masked image passed the verifier (None: not verified, or never masked).
    verified: bool | None = None
    #: Paid service requests the location cost (AILicenseRec calls).
    service_calls: int = 0

    def fields_record(self) -> list[dict[str, Any]]:
        return [a.to_record() for a in self.applied]


def redact_image(
    data: bytes,
    *,
    policy: Policy,
    locator: Locator,
    card_type: CardTypeHint = CardTypeHint.AUTO,
    name: str = "<image>",
    companion: Callable[[str], bytes | None] | None = None,
    jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    image: Image.Image | None = None,
    stored: StoredObject | None = None,
    verifier: Verifier | None = None,
) -> ImageOutcome:
    """Redact one image. Never raises for bad input: errors become a quarantine outcome.

    With a ``verifier``, the masked image gets a second look before it is encoded: a failed
    look quarantines it (``verifier=None`` is verification off, by the caller's choice)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        decoded = decode(data, max_pixels=max_pixels)
    except ImageError as exc:
        return ImageOutcome(Decision.QUARANTINED, (f"unreadable image: {exc}",), timings_ms=timings)
    t1 = time.perf_counter()
    timings["decode"] = (t1 - t0) * 1000
    upright = decoded.image
    try:
        if stored is not None:
            # The stored bytes are the pixels we mask only when no EXIF rotation was applied.
            in_kind = decoded.format in ("JPEG", "PNG", "BMP", "WEBP", "GIF")
            stored = StoredObject(stored.bucket, stored.key, as_decoded=decoded.orientation == 1 and in_kind)
        detection = locate_fields(locator, LocateRequest(upright, card_type, name, companion, stored), policy)
    except LocatorUnavailableError as exc:
        reason = f"locator unavailable, retried on the next run: {exc}"
        return ImageOutcome(Decision.FAILED, (reason,), size=upright.size, timings_ms=timings)
    except (LocatorError, ResponseParseError, StorageError) as exc:
        return ImageOutcome(Decision.QUARANTINED, (f"locator error: {exc}",), size=upright.size, timings_ms=timings)
    except Exception as exc:  # a locator bug must not let the image through
        return ImageOutcome(
            Decision.QUARANTINED, (f"locator failed ({type(exc).__name__})",), size=upright.size, timings_ms=timings
        )
    t2 = time.perf_counter()
    timings["locate"] = (t2 - t1) * 1000
    plan = plan_redaction(detection, policy, upright.width, upright.height, card_type)
    outcome = ImageOutcome(plan.decision, plan.reasons, None, None, plan.card_type, plan.applied, upright.size, timings)
    outcome.service_calls = detection.service_calls
    if plan.decision is not Decision.REDACTED:
        return outcome
    try:
        masked_image = mask_image(decoded, plan)
    except (RedactorError, OSError, ValueError) as exc:
        outcome.decision = Decision.QUARANTINED
        outcome.reasons = (*plan.reasons, f"masking failed ({type(exc).__name__})")
        return outcome
    t3 = time.perf_counter()
    timings["mask"] = (t3 - t2) * 1000
    if verifier is not None and plan.applied:
        verdict = second_look(verifier, VerifyRequest(upright, masked_image, plan, detection, policy))
        timings["verify"] = (time.perf_counter() - t3) * 1000
        outcome.verified = verdict.passed
        if not verdict.passed:
            outcome.decision = Decision.QUARANTINED
            outcome.reasons = (*plan.reasons, *verdict.reasons)
            return outcome
    t4 = time.perf_counter()
    try:
        masked = bytes(encode(decoded, masked_image, jpeg_quality=jpeg_quality))
    except (RedactorError, OSError, ValueError) as exc:
        outcome.decision = Decision.QUARANTINED
        outcome.reasons = (*plan.reasons, f"encoding failed ({type(exc).__name__})")
        return outcome
    timings["encode"] = (time.perf_counter() - t4) * 1000
    outcome.data = masked
    outcome.format = decoded.output_format
    return outcome


def second_look(verifier: Verifier, request: VerifyRequest) -> Verdict:
    """The verifier's verdict; a verifier that cannot look (any error) has passed nothing."""
    try:
        return verifier.verify(request)
    except Exception as exc:
        return Verdict(False, (f"verification failed ({type(exc).__name__})",))


def locate_fields(locator: Locator, request: LocateRequest, policy: Policy) -> Detection:
    """The locator's answer, with the photo found from the pixels for every card that needs
    one and came without (AILicenseRec never returns it), whatever the engine."""
    detection = locator.locate(request)
    if not detection.found_anything:
        return detection
    kept = frozenset(
        f.canonical
        for f in detection.fields
        if f.canonical is not None
        and policy.rule_for(f.card_type or detection.card_type, f.canonical).action is Action.KEEP
    )
    return complete_portraits(detection, request.image, kept)


def mask_image(decoded: Any, plan: Plan) -> Image.Image:
    """The decoded image with the plan's masks applied (a copy: the original stays for the
    verifier to compare with)."""
    image: Image.Image = decoded.image.copy()
    apply_ops(image, list(plan.ops))
    return image


def mask_and_encode(decoded: Any, plan: Plan, jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    """Apply the plan's masks to the decoded image and encode it without metadata."""
    return bytes(encode(decoded, mask_image(decoded, plan), jpeg_quality=jpeg_quality))


# --------------------------------------------------------------------------- batches
