"""One image measured: locate, plan, (second look,) and each field's coverage against the
truth; a *silent leak* is an image written as redacted while a sensitive field is not covered."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from redactor.core.fields import PORTRAIT, CardTypeHint
from redactor.core.imaging import EXTENSIONS, decode
from redactor.core.masking import apply_ops
from redactor.core.plan import Plan, plan_redaction
from redactor.core.policy import Action, Policy
from redactor.core.results import Decision, Detection, LocatedField
from redactor.core.verification import Verdict
from redactor.errors import RedactorError
from redactor.evaluation.pixels import (
    mask_union,
    masked_fraction,
    raster_iou,
    rasterize,
)
from redactor.evaluation.truth import Truth, TruthCard, TruthField, load_truth, read_truth, truth_file
from redactor.locators.base import LocateRequest, Locator
from redactor.pipeline import COMPANION_SUFFIXES, locate_fields, second_look
from redactor.verifiers.base import Verifier, VerifyRequest

#: A field counts as covered when at least this fraction of its ground-truth pixels is masked.
COVERED_FRACTION = 0.99
#: A kept field counts as intact when less than this fraction of its pixels is masked.
KEPT_MASKED_LIMIT = 0.05
#: The portrait counts as covered when at least this fraction of its photo tile is masked.
PORTRAIT_COVERED_FRACTION = 0.95


@dataclass(frozen=True)
class FieldResult:
    """How one ground-truth field fared. ``covered`` is about sensitive fields, ``masked_fraction`` about all."""

    card: int
    field: str
    sensitive: bool
    redactable: bool  # on a card meant to be redacted (there is a card)
    located: bool
    estimated: bool  # only found as the plan's layout estimate (the portrait)
    iou: float | None
    masked_fraction: float
    pixels: int

    @property
    def covered(self) -> bool:
        return self.masked_fraction >= COVERED_FRACTION

    @property
    def kept_intact(self) -> bool:
        return self.masked_fraction < KEPT_MASKED_LIMIT

    @property
    def counts_for_coverage(self) -> bool:
        return self.sensitive and self.redactable

    def failure(self) -> str | None:
        """Why this field is a problem (report-safe: no text), or ``None``."""
        pct = f"{100 * self.masked_fraction:.1f}% of its pixels masked"
        if self.counts_for_coverage and not self.covered:
            where = (
                "not located"
                if not (self.located or self.estimated)
                else (f"{'estimated from the layout' if self.estimated else 'located'}, IoU {self.iou or 0.0:.2f}")
            )
            return f"{pct}; {where}"
        if not self.sensitive and self.redactable and not self.kept_intact:
            return f"kept field over-masked: {pct}"
        return None

    def to_record(self) -> dict[str, Any]:
        return {
            "card": self.card,
            "field": self.field,
            "sensitive": self.sensitive,
            "located": self.located,
            "estimated": self.estimated,
            "iou": None if self.iou is None else round(self.iou, 4),
            "masked_fraction": round(self.masked_fraction, 4),
            "covered": self.covered,
            "pixels": self.pixels,
        }


@dataclass(frozen=True)
class ImageResult:
    """The measurement for one image; ``silent_leak`` is the figure that must stay at zero."""

    name: str
    group: str
    kind: str
    redactable: bool
    decision: Decision
    reasons: tuple[str, ...]
    fields: tuple[FieldResult, ...]
    latency_ms: float | None
    whole_image_masked: bool
    error: str | None = None
    variant: str = ""
    families: tuple[str | None, ...] = ()  #: layout family of each truth card, by card index
    #: The plan would have written the image; the second look quarantined it.
    verifier_caught: bool = False
    verify_ms: float | None = None

    @property
    def portrait_covered(self) -> bool | None:
        """Every portrait at least 95% masked; ``None`` when the image shows no portrait."""
        portraits = [f for f in self.fields if f.field == PORTRAIT]
        if not portraits:
            return None
        return all(f.masked_fraction >= PORTRAIT_COVERED_FRACTION for f in portraits)

    def card_results(self) -> list[tuple[str, ImageResult]]:
        """(family, this image seen as that one card) for each card with a family: one per family row.

        The decision, latency and whole-image mask stay the image's; fields are the card's.
        """
        out = []
        for index, family in enumerate(self.families):
            if family is not None:
                fields = tuple(f for f in self.fields if f.card == index)
                out.append((family, replace(self, group=f"{family}/{self.variant}", fields=fields)))
        return out

    @property
    def sensitive(self) -> tuple[FieldResult, ...]:
        return tuple(f for f in self.fields if f.counts_for_coverage)

    @property
    def kept(self) -> tuple[FieldResult, ...]:
        return tuple(f for f in self.fields if not f.sensitive and f.redactable)

    @property
    def all_sensitive_covered(self) -> bool:
        return all(f.covered for f in self.sensitive)

    @property
    def kept_intact(self) -> bool | None:
        """``None`` when the image has no kept field (nothing to over-mask)."""
        kept = self.kept
        return all(f.kept_intact for f in kept) if kept else None

    @property
    def silent_leak(self) -> bool:
        """Written as redacted while something sensitive shows.

        For a photo with no card, anything but a whole-image box counts: such an image must
        never pass as a redacted card.
        """
        if self.decision is not Decision.REDACTED:
            return False
        if not self.redactable:
            return not self.whole_image_masked
        return not self.all_sensitive_covered

    @property
    def quarantined_but_fine(self) -> bool:
        """Quarantined although the plan's masks would have covered every sensitive field and spared the kept ones."""
        return (
            self.decision is Decision.QUARANTINED
            and self.redactable
            and self.error is None
            and self.all_sensitive_covered
            and self.kept_intact is not False
        )

    def failures(self) -> list[str]:
        """Report-safe lines for ``--show-failures``."""
        multi = any(f.card for f in self.fields)
        lines = [f"{f.field}{f'[card {f.card}]' if multi else ''}: {why}" for f in self.fields if (why := f.failure())]
        if self.silent_leak and not self.redactable:
            lines.append(f"{self.kind}: written as redacted without masking the whole image")
        return lines

    def to_record(self) -> dict[str, Any]:
        return {
            "image": self.name,
            "group": self.group,
            "kind": self.kind,
            "decision": self.decision.value,
            "reasons": list(self.reasons),
            "error": self.error,
            "all_sensitive_covered": self.all_sensitive_covered,
            "silent_leak": self.silent_leak,
            "kept_intact": self.kept_intact,
            "quarantined_but_fine": self.quarantined_but_fine,
            "whole_image_masked": self.whole_image_masked,
            "portrait_covered": self.portrait_covered,
            "verifier_caught": self.verifier_caught,
            "verify_ms": None if self.verify_ms is None else round(self.verify_ms, 2),
            "families": list(self.families),
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 2),
            "fields": [f.to_record() for f in self.fields],
        }


def _candidates(detection: Detection, plan: Plan) -> list[LocatedField]:
    """The locator's fields plus the plan's layout estimates (the portrait)."""
    return [*detection.fields, *(a.located for a in plan.applied if a.located.estimated)]


def _measure_field(
    gt: TruthField,
    card: TruthCard,
    multi: bool,
    candidates: Sequence[LocatedField],
    union: np.ndarray,
    policy: Policy,
    size: tuple[int, int],
) -> FieldResult:
    width, height = size
    pixels = rasterize(gt.polygon, width, height)
    same = [c for c in candidates if c.canonical == gt.field]
    ious = [(raster_iou(gt.polygon, c.polygon.points, width, height), c) for c in same]
    best_iou, best = max(ious, key=lambda t: t[0], default=(None, None))
    seen = [c for iou, c in ious if not c.estimated and (iou > 0 or not multi)]
    # With several cards a field id appears once per card: only a polygon on this card counts.
    located = bool(seen)
    estimated = not located and best is not None and best.estimated and (best_iou or 0.0) > 0
    rule = policy.rule_for(card.card_type, gt.field)
    return FieldResult(
        card=gt.card,
        field=gt.field,
        sensitive=rule.action is not Action.KEEP,
        redactable=card.redactable,
        located=located,
        estimated=estimated,
        iou=best_iou,
        masked_fraction=masked_fraction(pixels, union),
        pixels=pixels.count,
    )


def evaluate_detection(
    name: str,
    truth: Truth,
    detection: Detection,
    policy: Policy,
    *,
    latency_ms: float | None = None,
    image: Image.Image | None = None,
    verifier: Verifier | None = None,
) -> ImageResult:
    """Plan the masks for a detection and measure them against the truth; with an ``image``
    and a ``verifier``, a plan that would write the image gets the pipeline's second look
    first (and may be quarantined by it)."""
    size = (truth.width, truth.height)
    plan = plan_redaction(detection, policy, *size)
    decision, reasons = plan.decision, plan.reasons
    caught, verify_ms = False, None
    if verifier is not None and image is not None and decision is Decision.REDACTED and plan.applied:
        verdict, verify_ms = verify_plan(verifier, image, plan, detection, policy)
        if not verdict.passed:
            decision, reasons, caught = Decision.QUARANTINED, (*reasons, *verdict.reasons), True
    union = mask_union(plan.ops, *size)
    candidates = _candidates(detection, plan)
    multi = len(truth.cards) > 1
    fields = tuple(
        _measure_field(gt, card, multi, candidates, union, policy, size) for card in truth.cards for gt in card.fields
    )
    return ImageResult(
        name=name,
        group=truth.group,
        kind=truth.kind,
        redactable=truth.redactable,
        decision=decision,
        reasons=reasons,
        fields=fields,
        latency_ms=latency_ms,
        whole_image_masked=bool(union.all()),
        variant=truth.variant,
        families=tuple(c.family for c in truth.cards),
        verifier_caught=caught,
        verify_ms=verify_ms,
    )


def verify_plan(
    verifier: Verifier, image: Image.Image, plan: Plan, detection: Detection, policy: Policy
) -> tuple[Verdict, float]:
    """The pipeline's second look at ``image`` masked by ``plan``, and how long it took (ms)."""
    masked = image.copy()
    apply_ops(masked, list(plan.ops))
    start = time.perf_counter()
    verdict = second_look(verifier, VerifyRequest(image, masked, plan, detection, policy))
    return verdict, (time.perf_counter() - start) * 1000


def _unmeasured(name: str, truth: Truth, policy: Policy, reason: str, latency_ms: float | None) -> ImageResult:
    """An image the pipeline would quarantine before planning (unreadable, locator error): nothing masked."""
    empty = np.zeros((truth.height, truth.width), dtype=bool)
    size = (truth.width, truth.height)
    fields = tuple(_measure_field(gt, c, False, (), empty, policy, size) for c in truth.cards for gt in c.fields)
    return ImageResult(
        name=name,
        group=truth.group,
        kind=truth.kind,
        redactable=truth.redactable,
        decision=Decision.QUARANTINED,
        reasons=(reason,),
        fields=fields,
        latency_ms=latency_ms,
        whole_image_masked=False,
        error=reason,
        variant=truth.variant,
        families=tuple(c.family for c in truth.cards),
    )


def _companion(path: Path) -> Callable[[str], bytes | None]:
    def read(suffix: str) -> bytes | None:
        side = path.with_name(path.name + suffix)
        return side.read_bytes() if side.is_file() else None

    return read


def evaluate_image(
    path: Path, locator: Locator, policy: Policy, name: str | None = None, verifier: Verifier | None = None
) -> ImageResult:
    """Decode (EXIF-upright), locate (timed), plan and measure one image against ``<image>.truth.json``."""
    label = name or path.name
    truth = load_truth(read_truth(path))
    try:
        image = decode(path.read_bytes()).image
    except (RedactorError, OSError) as exc:
        return _unmeasured(label, truth, policy, f"unreadable image ({type(exc).__name__})", None)
    if image.size != (truth.width, truth.height):
        return _unmeasured(label, truth, policy, f"image is {image.width}x{image.height}, truth says otherwise", None)
    start = time.perf_counter()
    try:
        detection = locate_fields(locator, LocateRequest(image, CardTypeHint.AUTO, path.name, _companion(path)), policy)
    except Exception as exc:  # the pipeline quarantines on any locator error; so does the measurement
        return _unmeasured(label, truth, policy, f"locator error ({type(exc).__name__})", None)
    latency = (time.perf_counter() - start) * 1000
    return evaluate_detection(label, truth, detection, policy, latency_ms=latency, image=image, verifier=verifier)


def find_images(root: Path, limit: int | None = None) -> list[Path]:
    """Images below ``root`` that have a truth file next to them, in path order."""
    found = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in EXTENSIONS and not p.name.endswith(COMPANION_SUFFIXES) and truth_file(p).is_file()
    )
    return found if limit is None else found[:limit]
