"""Measure a locator against generated ground truth: does the policy's mask really cover each field?

A locator can look fine by its own scores and still leave pixels of a value unmasked, so
coverage is measured on pixels: the ground-truth value polygon (from ``<image>.truth.json``,
written by :mod:`redactor.generator`) against the union of the masks the plan would draw,
after the policy's padding. The number that must stay at zero is *silent leaks*: images
the pipeline would write as redacted while a sensitive field is not covered.

Truth values are never read into the results: records carry field ids, never text.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from redactor.core.fields import PORTRAIT, CardType, CardTypeHint
from redactor.core.imaging import EXTENSIONS, decode
from redactor.core.masking import MaskOp, apply_ops
from redactor.core.plan import Plan, plan_redaction
from redactor.core.policy import Action, Policy
from redactor.core.results import Decision, Detection, LocatedField, Point
from redactor.core.verification import Verdict, mask_raster
from redactor.errors import RedactorError
from redactor.generator.families import FAMILIES, HELD_OUT_FAMILIES, LEGACY_FAMILIES
from redactor.locators.base import LocateRequest, Locator
from redactor.pipeline import COMPANION_SUFFIXES, locate_fields, second_look
from redactor.verifiers.base import Verifier, VerifyRequest

TRUTH_SUFFIX = ".truth.json"
#: A field counts as covered when at least this fraction of its ground-truth pixels is masked.
COVERED_FRACTION = 0.99
#: A kept field counts as intact when less than this fraction of its pixels is masked.
KEPT_MASKED_LIMIT = 0.05
#: The portrait counts as covered when at least this fraction of its photo tile is masked.
PORTRAIT_COVERED_FRACTION = 0.95
#: Kinds that are never meant to be redacted, only quarantined (or boxed whole): no card at all.
NOT_REDACTABLE = frozenset({"none"})
#: Group order in tables; other groups follow in name order.
GROUP_ORDER = (
    "IDCard/scan",
    "IDCard/photo",
    "IDCardBack/scan",
    "IDCardBack/photo",
    "DriverLicense/scan",
    "DriverLicense/photo",
    "photocopy",
    "none",
    "multi",
)
ALL = "all"
#: Rows of the family table that pool every card of a held-out family, and every other card.
ALL_HELD_OUT = "all held-out"
ALL_TUNED = "all tuned"
#: Card type of each card kind (truth written before ``IDCardBack`` existed says ``IDCard`` for backs).
KIND_CARD_TYPES = {"id_front": CardType.ID_CARD, "id_back": CardType.ID_CARD_BACK, "dl_main": CardType.DRIVER_LICENSE}

# --------------------------------------------------------------------------- truth


@dataclass(frozen=True)
class TruthField:
    """One ground-truth region: a field id and its polygon (the value text is deliberately dropped)."""

    card: int
    field: str
    polygon: tuple[Point, ...]


@dataclass(frozen=True)
class TruthCard:
    kind: str
    card_type: CardType | None
    fields: tuple[TruthField, ...]  # the portrait, when the card has one, is the field ``portrait``
    family: str | None = None  #: layout family (``idf-a``...); ``None`` for no card

    @property
    def redactable(self) -> bool:
        return self.kind not in NOT_REDACTABLE


@dataclass(frozen=True)
class Truth:
    kind: str
    variant: str
    width: int
    height: int
    cards: tuple[TruthCard, ...]

    @property
    def group(self) -> str:
        """Card type x variant for single cards; ``photocopy``, ``none`` and ``multi`` on their own."""
        if self.kind == "photocopy":
            return "photocopy"
        if len(self.cards) > 1 or self.kind == "multi":
            return "multi"
        if self.kind in NOT_REDACTABLE or not self.cards or self.cards[0].card_type is None:
            return self.kind
        return f"{self.cards[0].card_type.value}/{self.variant}"

    @property
    def redactable(self) -> bool:
        return any(card.redactable for card in self.cards)


def _points(raw: Any) -> tuple[Point, ...]:
    return tuple((float(p[0]), float(p[1])) for p in raw)


def _card(index: int, raw: dict[str, Any], default_kind: str) -> TruthCard:
    kind = str(raw.get("kind") or default_kind)
    card_type = KIND_CARD_TYPES.get(kind) or (CardType(raw["card_type"]) if raw.get("card_type") else None)
    fields = [TruthField(index, str(f["field"]), _points(f["polygon"])) for f in raw.get("fields") or ()]
    if raw.get("portrait"):
        fields.append(TruthField(index, PORTRAIT, _points(raw["portrait"])))
    family = raw.get("family") or LEGACY_FAMILIES.get(kind)  # truth from before families: the base layout
    return TruthCard(kind, card_type, tuple(fields), None if family is None else str(family))


def load_truth(data: dict[str, Any]) -> Truth:
    """Read a truth dict, single-card (top-level ``fields``) or multi-card (``cards`` list)."""
    kind = str(data.get("kind") or "none")
    raw_cards = data.get("cards")
    if isinstance(raw_cards, list):
        cards = tuple(_card(i, c, kind) for i, c in enumerate(raw_cards))
    elif kind == "none" and not data.get("fields"):
        cards = ()
    else:
        cards = (_card(0, data, kind),)
    return Truth(kind, str(data.get("variant") or "photo"), int(data["width"]), int(data["height"]), cards)


# --------------------------------------------------------------------------- pixels


@dataclass(frozen=True)
class PixelMask:
    """A boolean mask over the box ``(x0, y0)`` .. ``(x0 + w, y0 + h)`` of the image."""

    x0: int
    y0: int
    mask: np.ndarray

    @property
    def count(self) -> int:
        return int(self.mask.sum())

    def within(self, full: np.ndarray) -> np.ndarray:
        """The values of a full-image array under this mask's box."""
        h, w = self.mask.shape
        return full[self.y0 : self.y0 + h, self.x0 : self.x0 + w]


def rasterize(points: Sequence[Point], width: int, height: int) -> PixelMask:
    """Pixels whose centre lies inside the polygon (even-odd rule), on the polygon's bbox in the image.

    Pixel centres rather than "touches" on purpose: a truth polygon hugs the glyphs, so its
    boundary pixels are mostly background, and a mask need not cover them to hide the text.
    """
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    x1, y1 = min(width, math.ceil(max(xs))), min(height, math.ceil(max(ys)))
    if x1 <= x0 or y1 <= y0:
        return PixelMask(0, 0, np.zeros((0, 0), dtype=bool))
    cx = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5
    cy = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
    inside = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for i, (ax, ay) in enumerate(points):
        bx, by = points[i - 1]
        if ay == by:
            continue  # a horizontal edge never crosses a horizontal ray
        crosses = (ay > cy) != (by > cy)  # (rows, 1)
        x_at = ax + (cy - ay) * (bx - ax) / (by - ay)  # (rows, 1)
        inside ^= crosses & (cx < x_at)
    return PixelMask(x0, y0, inside)


def mask_union(ops: Iterable[MaskOp], width: int, height: int) -> np.ndarray:
    """Every pixel some mask operation of the plan touches (what the masking stage would change)."""
    return mask_raster(list(ops), width, height)


def masked_fraction(truth: PixelMask, union: np.ndarray) -> float:
    """Fraction of the truth pixels inside the mask union (1.0 for a polygon with no pixel centre)."""
    total = truth.count
    if total == 0:
        return 1.0
    return float((truth.within(union) & truth.mask).sum()) / total


def raster_iou(a: Sequence[Point], b: Sequence[Point], width: int, height: int) -> float:
    """Intersection over union of two polygons, counted in pixel centres."""
    ma, mb = rasterize(a, width, height), rasterize(b, width, height)
    if ma.count == 0 or mb.count == 0:
        return 0.0
    x0, y0 = min(ma.x0, mb.x0), min(ma.y0, mb.y0)
    x1 = max(ma.x0 + ma.mask.shape[1], mb.x0 + mb.mask.shape[1])
    y1 = max(ma.y0 + ma.mask.shape[0], mb.y0 + mb.mask.shape[0])
    canvas = np.zeros((2, y1 - y0, x1 - x0), dtype=bool)
    for layer, m in enumerate((ma, mb)):
        h, w = m.mask.shape
        canvas[layer, m.y0 - y0 : m.y0 - y0 + h, m.x0 - x0 : m.x0 - x0 + w] = m.mask
    inter = int((canvas[0] & canvas[1]).sum())
    return inter / int((canvas[0] | canvas[1]).sum())


# --------------------------------------------------------------------------- per image


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
    truth = load_truth(json.loads(path.with_name(path.name + TRUTH_SUFFIX).read_text("utf-8")))
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
        if p.suffix.lower() in EXTENSIONS
        and not p.name.endswith(COMPANION_SUFFIXES)
        and p.with_name(p.name + TRUTH_SUFFIX).is_file()
    )
    return found if limit is None else found[:limit]


# --------------------------------------------------------------------------- aggregates


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 2)


def _quantile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile (no interpolation: a reported p90 is a latency that happened)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class FieldStats:
    n: int = 0
    located: int = 0
    estimated: int = 0
    sensitive: int = 0
    covered: int = 0
    kept: int = 0
    kept_masked: int = 0
    ious: list[float] = field(default_factory=list)

    def add(self, f: FieldResult) -> None:
        self.n += 1
        self.located += f.located
        self.estimated += f.estimated
        if f.iou is not None:
            self.ious.append(f.iou)
        if f.counts_for_coverage:
            self.sensitive += 1
            self.covered += f.covered
        elif not f.sensitive and f.redactable:
            self.kept += 1
            self.kept_masked += not f.kept_intact

    def to_record(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "located_pct": _pct(self.located, self.n),
            "estimated_pct": _pct(self.estimated, self.n),
            "coverage_pct": _pct(self.covered, self.sensitive),
            "kept_masked": self.kept_masked if self.kept else None,
            "mean_iou": round(statistics.fmean(self.ious), 4) if self.ious else None,
        }


@dataclass
class GroupSummary:
    """Aggregates over a group of images (card type x variant, or all)."""

    images: int = 0
    sensitive_fields: int = 0
    sensitive_covered: int = 0
    redactable_images: int = 0
    all_covered_images: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: {d.value: 0 for d in Decision if d.value != "skipped"})
    silent_leaks: int = 0
    quarantined_but_fine: int = 0
    kept_images: int = 0
    kept_intact_images: int = 0
    portrait_images: int = 0  #: written as redacted and showing a portrait
    portrait_covered_images: int = 0
    latencies: list[float] = field(default_factory=list)
    per_field: dict[str, FieldStats] = field(default_factory=dict)
    #: quarantined by the second look: outputs that would have leaked / that were fine
    verifier_saves: int = 0
    verifier_false_alarms: int = 0
    verify_latencies: list[float] = field(default_factory=list)

    def add(self, r: ImageResult) -> None:
        self.images += 1
        self.decisions[r.decision.value] = self.decisions.get(r.decision.value, 0) + 1
        self.silent_leaks += r.silent_leak
        self.quarantined_but_fine += r.quarantined_but_fine
        if r.redactable:
            self.redactable_images += 1
            self.all_covered_images += r.all_sensitive_covered
        sensitive = r.sensitive
        self.sensitive_fields += len(sensitive)
        self.sensitive_covered += sum(f.covered for f in sensitive)
        if r.kept_intact is not None:
            self.kept_images += 1
            self.kept_intact_images += r.kept_intact
        if r.decision is Decision.REDACTED and r.portrait_covered is not None:
            self.portrait_images += 1
            self.portrait_covered_images += r.portrait_covered
        if r.latency_ms is not None:
            self.latencies.append(r.latency_ms)
        if r.verifier_caught:
            fine = r.all_sensitive_covered if r.redactable else r.whole_image_masked
            self.verifier_false_alarms += fine
            self.verifier_saves += not fine
        if r.verify_ms is not None:
            self.verify_latencies.append(r.verify_ms)
        for f in r.fields:
            if f.redactable:
                self.per_field.setdefault(f.field, FieldStats()).add(f)

    @property
    def coverage_pct(self) -> float | None:
        return _pct(self.sensitive_covered, self.sensitive_fields)

    @property
    def all_covered_pct(self) -> float | None:
        return _pct(self.all_covered_images, self.redactable_images)

    @property
    def kept_intact_pct(self) -> float | None:
        return _pct(self.kept_intact_images, self.kept_images)

    @property
    def portrait_covered_pct(self) -> float | None:
        """Share of written (redacted) images whose portrait is at least 95% masked."""
        return _pct(self.portrait_covered_images, self.portrait_images)

    def to_record(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "sensitive_fields": self.sensitive_fields,
            "sensitive_coverage_pct": self.coverage_pct,
            "images_all_sensitive_covered_pct": self.all_covered_pct,
            "decisions": dict(self.decisions),
            "silent_leaks": self.silent_leaks,
            "quarantined_but_fine": self.quarantined_but_fine,
            "kept_intact_pct": self.kept_intact_pct,
            "portrait_covered_pct": self.portrait_covered_pct,
            "verifier_saves": self.verifier_saves,
            "verifier_false_alarms": self.verifier_false_alarms,
            "verify_ms_median": None
            if not self.verify_latencies
            else round(statistics.median(self.verify_latencies), 2),
            "latency_ms": {
                "median": None if not self.latencies else round(statistics.median(self.latencies), 2),
                "p90": None if not self.latencies else round(_quantile(self.latencies, 0.9) or 0.0, 2),
            },
            "fields": {name: stats.to_record() for name, stats in self.per_field.items()},
        }


def _group_key(name: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(name) if name in GROUP_ORDER else len(GROUP_ORDER), name)


def summarise(results: Iterable[ImageResult]) -> dict[str, GroupSummary]:
    """Per group (in :data:`GROUP_ORDER`), then ``all``."""
    groups: dict[str, GroupSummary] = {}
    overall = GroupSummary()
    for r in results:
        groups.setdefault(r.group, GroupSummary()).add(r)
        overall.add(r)
    ordered = {k: groups[k] for k in sorted(groups, key=_group_key)}
    ordered[ALL] = overall
    return ordered


def _family_key(name: str) -> tuple[bool, int, str, int, str]:
    """Family rows in :data:`FAMILIES` order, each family's variants scan, photo, photocopy; pooled rows last."""
    family, _, variant = name.partition("/")
    known = [f for names in FAMILIES.values() for f in names]
    variants = ("scan", "photo", "photocopy")
    return (
        name in (ALL_TUNED, ALL_HELD_OUT),
        known.index(family) if family in known else len(known),
        family,
        variants.index(variant) if variant in variants else len(variants),
        variant,
    )


def summarise_families(results: Iterable[ImageResult]) -> dict[str, GroupSummary]:
    """Per layout family x variant (a card of a multi-card image counts in its family's row),
    then ``all tuned`` and ``all held-out`` over the cards of each side."""
    rows: dict[str, GroupSummary] = {}
    pooled = {ALL_TUNED: GroupSummary(), ALL_HELD_OUT: GroupSummary()}
    for r in results:
        for family, card in r.card_results():
            rows.setdefault(card.group, GroupSummary()).add(card)
            pooled[ALL_HELD_OUT if family in HELD_OUT_FAMILIES else ALL_TUNED].add(card)
    ordered = {k: rows[k] for k in sorted(rows, key=_family_key)}
    ordered.update((k, g) for k, g in pooled.items() if g.images)
    return ordered


def is_held_out(row: str) -> bool:
    """Whether a family-table row is about held-out layouts."""
    return row == ALL_HELD_OUT or row.partition("/")[0] in HELD_OUT_FAMILIES


def peak_rss_mb() -> float | None:
    """Peak resident memory of this whole process (not just the locator), in MB."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


@dataclass
class Evaluation:
    """Everything one ``redactor eval`` run measured."""

    engine: str
    policy_source: str
    policy_sha256: str
    results: list[ImageResult]
    summary: dict[str, GroupSummary]
    peak_rss_mb: float | None
    seconds: float
    families: dict[str, GroupSummary] = field(default_factory=dict)  #: see :func:`summarise_families`
    verify: str = "off"

    def to_record(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "verify": self.verify,
            "policy": self.policy_source,
            "policy_sha256": self.policy_sha256,
            "peak_rss_mb": None if self.peak_rss_mb is None else round(self.peak_rss_mb, 1),
            "seconds": round(self.seconds, 3),
            "summary": {name: g.to_record() for name, g in self.summary.items()},
            "families": {name: {**g.to_record(), "held_out": is_held_out(name)} for name, g in self.families.items()},
            "images": [r.to_record() for r in self.results],
        }


def run_evaluation(
    root: Path,
    locator: Locator,
    policy: Policy,
    *,
    limit: int | None = None,
    on_progress: Callable[[ImageResult], None] | None = None,
    verifier: Verifier | None = None,
) -> Evaluation:
    """Evaluate every image with a truth file below ``root`` (one at a time, so latencies are not contended)."""
    start = time.perf_counter()
    results: list[ImageResult] = []
    for path in find_images(root, limit):
        result = evaluate_image(path, locator, policy, name=path.relative_to(root).as_posix(), verifier=verifier)
        results.append(result)
        if on_progress is not None:
            on_progress(result)
    return Evaluation(
        engine=locator.name,
        policy_source=policy.source,
        policy_sha256=policy.sha256,
        results=results,
        summary=summarise(results),
        peak_rss_mb=peak_rss_mb(),
        seconds=time.perf_counter() - start,
        families=summarise_families(results),
        verify="on" if verifier is not None else "off",
    )


# --------------------------------------------------------------------------- text report


def _fmt(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{suffix}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table: first column left-aligned, figures right-aligned."""
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


#: Columns of the group and family tables.
TABLE_COLUMNS = (
    "images",
    "coverage",
    "all covered",
    "red/quar/fail",
    "silent leaks",
    "quar. but fine",
    "kept intact",
    "portrait covered",
    "locate ms p50/p90",
)


def _summary_row(name: str, g: GroupSummary) -> list[str]:
    lat = g.to_record()["latency_ms"]
    return [
        name,
        str(g.images),
        _fmt(g.coverage_pct, "%"),
        _fmt(g.all_covered_pct, "%"),
        f"{g.decisions.get('redacted', 0)}/{g.decisions.get('quarantined', 0)}/{g.decisions.get('failed', 0)}",
        str(g.silent_leaks),
        str(g.quarantined_but_fine),
        _fmt(g.kept_intact_pct, "%"),
        _fmt(g.portrait_covered_pct, "%"),
        f"{_fmt(lat['median'])}/{_fmt(lat['p90'])}",
    ]


def format_report(evaluation: Evaluation, *, show_failures: bool = False) -> str:
    """Plain-text tables: groups, layout families (held-out ones marked), then fields; field ids only, never text."""
    rows = [_summary_row(name, g) for name, g in evaluation.summary.items()]
    lines = [
        f"engine {evaluation.engine}, policy {evaluation.policy_source} "
        f"({evaluation.policy_sha256[:12]}), verify {evaluation.verify}, "
        f"{len(evaluation.results)} images in {evaluation.seconds:.1f} s",
        "",
        *_table(["group", *TABLE_COLUMNS], rows),
        "",
    ]
    if evaluation.families:
        family_rows = [
            _summary_row(f"{name}{' *' if is_held_out(name) else ''}", g) for name, g in evaluation.families.items()
        ]
        lines += _table(["family/variant", *TABLE_COLUMNS], family_rows)
        lines += [
            "* held out: layouts no locator is tuned on (redactor.generator.heldout). A card counts in its family row.",
            "",
        ]
    overall = evaluation.summary[ALL]
    field_rows = []
    for name, stats in overall.per_field.items():
        rec = stats.to_record()
        kept = "-" if rec["kept_masked"] is None else f"{rec['kept_masked']} masked"
        iou = "-" if rec["mean_iou"] is None else f"{rec['mean_iou']:.3f}"
        located, estimated = _fmt(rec["located_pct"], "%"), _fmt(rec["estimated_pct"], "%")
        field_rows.append([name, str(stats.n), located, estimated, _fmt(rec["coverage_pct"], "%"), iou, kept])
    lines += _table(["field", "n", "located", "estimated", "covered", "mean IoU", "kept"], field_rows)
    lines += ["", f"peak RSS (whole process): {_fmt(evaluation.peak_rss_mb, ' MB')}"]
    if evaluation.verify == "on":
        rec = overall.to_record()
        lines.append(
            f"second look: quarantined {overall.verifier_saves} outputs that would have leaked and "
            f"{overall.verifier_false_alarms} that were fine; verify ms p50 {_fmt(rec['verify_ms_median'])}"
        )
    lines.append(
        "coverage: >= 99% of a sensitive value's pixels masked (after padding); non-cards excluded. "
        "portrait covered: redacted images whose photo is >= 95% masked. "
        "estimated: not located, placed by the plan from the card layout (the portrait)."
    )
    if show_failures:
        lines += ["", "failures:"]
        bad = [r for r in evaluation.results if r.silent_leak or r.failures() or r.error]
        for r in bad:
            flag = " SILENT LEAK" if r.silent_leak else ""
            lines.append(f"  {r.name} [{r.decision.value}{flag}]")
            for why in r.failures():
                lines.append(f"    {why}")
            if r.decision is not Decision.REDACTED and r.redactable:
                lines.extend(f"    decision: {why}" for why in r.reasons)
        if not bad:
            lines.append("  none")
    return "\n".join(lines)
