"""One image through the pipeline: decode, locate, plan, mask, second look, encode. Any
error on the way becomes a quarantine decision with a reason."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image

from redactor.core.fields import CardType, CardTypeHint
from redactor.core.imaging import DEFAULT_JPEG_QUALITY, DEFAULT_MAX_PIXELS, DecodedImage, decode, encode, peek
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


#: Formats AILicenseRec reads as they are stored (others are staged as decoded PNG).
SERVICE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF")


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
    cpu: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> ImageOutcome:
    """Redact one image. Never raises for bad input: errors become a quarantine outcome.

    With a ``verifier``, the masked image gets a second look before it is encoded: a failed
    look quarantines it (``verifier=None`` is verification off, by the caller's choice).
    ``cpu`` is held around the work that needs a core (decoding, local location, masks, the
    second look, encoding), and not while an I/O-bound locator waits on its service: a run
    keeps many objects in flight and as many decoded images in memory as it has cores. An
    object the service reads where it is stored is not even decoded before it answers."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    detection: Detection | None = None
    request = LocateRequest(Image.new("L", (1, 1)), card_type, name, companion, stored)
    try:
        if stored is not None and locator.io_bound:
            header = peek(data, max_pixels=max_pixels)
            if header.orientation == 1 and header.format in SERVICE_FORMATS:
                # The service reads the stored bytes, which are the pixels the masks go on.
                as_stored = StoredObject(stored.bucket, stored.key, as_decoded=True)
                sized = _SizeOnly(header.size)
                early = _located(locator, replace(request, image=sized, stored=as_stored), timings)
                if isinstance(early, ImageOutcome):
                    early.size = header.size
                    return early
                detection = early
    except ImageError as exc:
        return ImageOutcome(Decision.QUARANTINED, (f"unreadable image: {exc}",), timings_ms=timings)
    slot = _Slot(cpu())
    with slot:  # one core slot from decoding to encoding, left only while a service answers
        try:
            decoded = decode(data, max_pixels=max_pixels)
        except ImageError as exc:
            return ImageOutcome(Decision.QUARANTINED, (f"unreadable image: {exc}",), timings_ms=timings)
        t1 = time.perf_counter()
        timings["decode"] = (t1 - t0) * 1000 - timings.get("locate", 0.0)
        upright = decoded.image
        if detection is None:
            if stored is not None:
                # The stored bytes are the pixels we mask only when no EXIF rotation was applied.
                in_kind = decoded.format in SERVICE_FORMATS
                stored = StoredObject(stored.bucket, stored.key, as_decoded=decoded.orientation == 1 and in_kind)
            with slot.left() if locator.io_bound else nullcontext():
                located = _located(locator, replace(request, image=upright, stored=stored), timings)
            if isinstance(located, ImageOutcome):
                located.size = upright.size
                return located
            detection = located
        return _mask(decoded, detection, policy, locator, card_type, jpeg_quality, verifier, timings)


class _Slot:
    """A core slot held across one image's CPU work, that can be left for a while."""

    def __init__(self, manager: AbstractContextManager[object]) -> None:
        self._manager = manager

    def __enter__(self) -> _Slot:
        self._manager.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._manager.__exit__(None, None, None)

    @contextmanager
    def left(self) -> Iterator[None]:
        """Give the slot to another image while this one waits on I/O."""
        self._manager.__exit__(None, None, None)
        try:
            yield
        finally:
            self._manager.__enter__()


def _located(locator: Locator, request: LocateRequest, timings: dict[str, float]) -> Detection | ImageOutcome:
    """The locator's answer, or the outcome its failure leads to."""
    t = time.perf_counter()
    try:
        return locator.locate(request)
    except LocatorUnavailableError as exc:
        reason = f"locator unavailable, retried on the next run: {exc}"
        return ImageOutcome(Decision.FAILED, (reason,), timings_ms=timings)
    except (LocatorError, ResponseParseError, StorageError) as exc:
        return ImageOutcome(Decision.QUARANTINED, (f"locator error: {exc}",), timings_ms=timings)
    except Exception as exc:  # a locator bug must not let the image through
        return ImageOutcome(Decision.QUARANTINED, (f"locator failed ({type(exc).__name__})",), timings_ms=timings)
    finally:
        timings["locate"] = (time.perf_counter() - t) * 1000


def _mask(
    decoded: DecodedImage,
    detection: Detection,
    policy: Policy,
    locator: Locator,
    card_type: CardTypeHint,
    jpeg_quality: int,
    verifier: Verifier | None,
    timings: dict[str, float],
) -> ImageOutcome:
    """Plan, mask, look again and encode one located image."""
    upright = decoded.image
    t2 = time.perf_counter()
    try:
        detection = with_portraits(detection, upright, policy)
    except Exception as exc:
        reason = f"locator failed ({type(exc).__name__})"
        return ImageOutcome(Decision.QUARANTINED, (reason,), size=upright.size, timings_ms=timings)
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


class _SizeOnly(Image.Image):
    """An image of known size and no pixels, for a locator that reads the stored object
    itself (a cloud locator uses the size to check the answer's coordinates)."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self._size = size
        self._mode = "RGB"


def second_look(verifier: Verifier, request: VerifyRequest) -> Verdict:
    """The verifier's verdict; a verifier that cannot look (any error) has passed nothing."""
    try:
        return verifier.verify(request)
    except Exception as exc:
        return Verdict(False, (f"verification failed ({type(exc).__name__})",))


def locate_fields(locator: Locator, request: LocateRequest, policy: Policy) -> Detection:
    """The locator's answer, with the photo found from the pixels for every card that needs
    one and came without (AILicenseRec never returns it), whatever the engine."""
    return with_portraits(locator.locate(request), request.image, policy)


def with_portraits(detection: Detection, image: Image.Image, policy: Policy) -> Detection:
    """``detection`` with the photo of every card that needs one and came without, found
    from the pixels (the policy says which fields are kept, so never masked by the search)."""
    if not detection.found_anything:
        return detection
    kept = frozenset(
        f.canonical
        for f in detection.fields
        if f.canonical is not None
        and policy.rule_for(f.card_type or detection.card_type, f.canonical).action is Action.KEEP
    )
    return complete_portraits(detection, image, kept)


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
