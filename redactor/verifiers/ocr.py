"""The OCR verifier: its own text detection on the masked pixels, read where no mask is.

It shares the local engine's model files (one set of sessions per process) but none of
its reasoning: no labels are matched to rows, nothing is inferred. It detects lines on
the masked card, reads what lies outside the masks, and lets :mod:`redactor.core.
verification` judge: printed wording and kept values may show, nothing else may.
"""

from __future__ import annotations

import statistics
import threading

import numpy as np

from redactor.core.fields import FIELDS_BY_CARD, PORTRAIT, CardType, infer_card_type
from redactor.core.geometry import text_height
from redactor.core.policy import Action
from redactor.core.portrait import Box, CardFrame, frame_from_quads, pictures_left
from redactor.core.results import Polygon
from redactor.core.verification import (
    KeptValue,
    SeenText,
    Verdict,
    judge_cut_text,
    judge_on_text,
    judge_text,
    mask_raster,
    part_of,
    visible_parts,
)
from redactor.locators.local.ocr import OcrModels, crop_line, shared_models
from redactor.locators.local.reading import LineReader, red_dropout
from redactor.verifiers.base import VerifyRequest

#: The verifier's detector sees text about this tall (pixels): large enough for a digit
#: left beside a mask, small enough to stay cheap.
DET_TEXT_HEIGHT = 18.0
#: ... and at most this many pixels along the longer side.
DET_LIMIT = 960
#: The checked region is the located fields' extent grown by this share of its size (a
#: location made for another image may sit beside the card's real text).
REGION_MARGIN = 0.12
#: Where a photo's remnant is looked for around a card's fields (text heights).
PICTURE_REACH = 3.0
#: A blob at least this many times as long (along the lines) as it is tall may be text the
#: detector missed (a bold title): it is read, and judged as text when it reads as text...
TEXT_LIKE = 2.0
#: ... with at least this mean confidence.
TEXT_CONFIDENCE = 0.8


class OcrVerifier:
    """Second look with the PP-OCR detection and recognition models; safe to share across threads."""

    name = "ocr"

    def __init__(self, models: OcrModels | None = None) -> None:
        self._models = models
        self._lock = threading.Lock()
        self._inference = threading.Lock()

    @property
    def models(self) -> OcrModels:
        with self._lock:
            if self._models is None:
                self._models = shared_models()
            return self._models

    def verify(self, request: VerifyRequest) -> Verdict:
        plan = request.plan
        width, height = request.masked.size
        applied = list(plan.applied)
        if not applied:
            return Verdict(True)  # nothing located: the plan boxed the whole image or passed nothing
        masked_rgb = np.asarray(request.masked.convert("RGB"))
        original_gray = np.asarray(request.original.convert("L"))
        masked_gray = np.asarray(request.masked.convert("L"))
        painted = mask_raster(plan.ops, width, height)

        kept = [
            KeptValue(a.located.canonical or "", a.located.polygon.clamped(width, height))
            for a in applied
            if a.action == Action.KEEP.value and a.located.canonical is not None
        ]
        masked_text = [
            (a.located.canonical or "unknown text", a.located.polygon.clamped(width, height))
            for a in applied
            if a.action != Action.KEEP.value and not a.located.is_portrait
        ]
        near = [(a.located.canonical or "unknown text", a.located.polygon.clamped(width, height)) for a in applied]
        heights = [
            text_height(a.located.polygon.clamped(width, height))
            for a in applied
            if not a.located.is_portrait and a.located.polygon.clamped(width, height).area() > 0
        ]
        line_height = statistics.median(heights) if heights else 20.0

        reasons: list[str] = []
        box = _region([p for _, p in near], request.detection.card_quad, width, height)
        erased = _erase_masks(np.ascontiguousarray(masked_rgb[:, :, ::-1]), painted, box)
        with self._inference:
            seen, lines = self._read_outside(erased, painted, box, line_height)
            pictures, more = self._pictures(request, erased, painted, lines, line_height)
        reasons += judge_text([*seen, *more], kept, near)
        reasons += pictures
        reasons += judge_on_text(original_gray, masked_text)
        reasons += judge_cut_text(masked_gray, painted, masked_text)
        return Verdict.failed(reasons) if reasons else Verdict(True)

    def _read_outside(
        self, bgr: np.ndarray, painted: np.ndarray, box: tuple[int, int, int, int], line_height: float
    ) -> tuple[list[SeenText], list[np.ndarray]]:
        """The stretches of text lines outside the masks inside ``box``, read; and every
        detected line's frame (text, for the picture check). ``bgr``: masks erased."""
        reader = LineReader(self.models)
        scale = min(1.0, DET_TEXT_HEIGHT / max(line_height, 1.0))
        lines = reader.detect(bgr, DET_LIMIT, box, scale)
        parts: list[np.ndarray] = []
        heights: list[float] = []
        for line in lines:
            for t0, t1 in visible_parts(line.frame, painted):
                parts.append(part_of(line.frame, t0, t1))
                heights.append(line.height)
        crops = [red_dropout(crop_line(bgr, _breathing(q).astype(np.float32))) for q in parts]
        readings = self.models.read(crops)
        seen = [
            SeenText(Polygon.of(q.tolist()), r.text, r.confidences if len(r.confidences) == len(r.text) else (), h)
            for q, r, h in zip(parts, readings, heights, strict=True)
        ]
        return seen, [ln.frame for ln in lines]

    def _pictures(
        self,
        request: VerifyRequest,
        bgr: np.ndarray,
        painted: np.ndarray,
        lines: list[np.ndarray],
        line_height: float,
    ) -> tuple[list[str], list[SeenText]]:
        """A picture left on a card whose photo the policy masks (the photo missed or half-masked).
        A "picture" shaped like a line of text is read instead (a title the detector missed):
        it comes back as text to judge."""
        plan = request.plan
        card_type = plan.card_type or infer_card_type(a.located.canonical for a in plan.applied if a.located.canonical)
        groups: dict[CardType, list[Polygon]] = {}
        masks_photo: set[CardType] = set()
        for a in plan.applied:
            kind = a.located.card_type or card_type
            if kind is None or PORTRAIT not in FIELDS_BY_CARD[kind]:
                continue
            if a.located.is_portrait:
                if a.action != Action.KEEP.value:
                    masks_photo.add(kind)
                continue
            groups.setdefault(kind, []).append(a.located.polygon)
        reasons: list[str] = []
        texts: list[SeenText] = []
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        for kind, polygons in groups.items():
            if kind not in masks_photo or not polygons:
                continue
            found = frame_from_quads([p.points for p in polygons])
            if found is None:
                continue
            frame = CardFrame(found.origin, found.axis, line_height)
            hull = Box.around(frame.to_card(np.vstack([np.asarray(p.points) for p in polygons])))
            reach = PICTURE_REACH * line_height
            region = Box(hull.u0 - reach, hull.v0 - reach, hull.u1 + 2 * reach, hull.v1 + reach)
            for blob in pictures_left(rgb, frame, region, lines, painted):
                seen = self._as_text(bgr, frame, blob) if blob.width >= TEXT_LIKE * blob.height else None
                if seen is None:
                    reasons.append("verification: a picture area is left unmasked on the card (the photo?)")
                    break
                texts.append(seen)
        return reasons, texts

    def _as_text(self, bgr: np.ndarray, frame: CardFrame, blob: Box) -> SeenText | None:
        """What a line-shaped blob reads as, when it reads as text at all."""
        quad = frame.to_image(blob.corners())
        reading = self.models.read([red_dropout(crop_line(bgr, quad.astype(np.float32)))])[0]
        if len(reading.text) < 2 or reading.confidence < TEXT_CONFIDENCE:
            return None
        confidences = reading.confidences if len(reading.confidences) == len(reading.text) else ()
        return SeenText(Polygon.of(quad.tolist()), reading.text, confidences, blob.height)


def _erase_masks(bgr: np.ndarray, painted: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The image with its masks painted in the card's colour (the median of what is not
    masked in ``box``): a black box next to a label makes the detector see one dark blob
    and lose the label; only text outside the masks matters here."""
    x0, y0, x1, y1 = box
    region = bgr[y0:y1, x0:x1]
    open_ = ~painted[y0:y1, x0:x1]
    if not open_.any():
        return bgr
    colour = np.median(region[open_], axis=0).astype(np.uint8)
    out = bgr.copy()
    out[painted] = colour
    return out


def _breathing(quad: np.ndarray) -> np.ndarray:
    """A little room at both ends of a stretch: a clipped stroke reads as another character."""
    f = np.asarray(quad, dtype=np.float64)
    axis = f[1] - f[0]
    length = float(np.linalg.norm(axis)) or 1.0
    tall = float(np.linalg.norm(f[3] - f[0]))
    pad = axis / length * 0.1 * tall
    return np.array([f[0] - pad, f[1] + pad, f[2] + pad, f[3] - pad])


def _region(polygons: list[Polygon], card_quad: Polygon | None, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box around everything located (and the card's outline), grown by a margin."""
    points = [pt for p in polygons for pt in p.points]
    if card_quad is not None:
        points.extend(card_quad.points)
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    mx = REGION_MARGIN * (x1 - x0)
    my = REGION_MARGIN * (y1 - y0)
    return (
        max(0, int(x0 - mx)),
        max(0, int(y0 - my)),
        min(width, int(x1 + mx) + 1),
        min(height, int(y1 + my) + 1),
    )
