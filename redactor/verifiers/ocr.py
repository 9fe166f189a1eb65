"""The OCR verifier: its own text detection on the masked pixels, read where no mask is.

It shares the local engine's model files (one set of sessions per process) but none of
its reasoning: no labels are matched to rows, nothing is inferred. It detects lines on
the masked card, reads what lies outside the masks, and lets :mod:`redactor.core.
verification` judge: printed wording and kept values may show, nothing else may.
"""

from __future__ import annotations

import statistics

import numpy as np

from redactor.core.fields import FIELDS_BY_CARD, PORTRAIT, CardType, infer_card_type
from redactor.core.frame import Box, CardFrame, frame_from_quads
from redactor.core.geometry import text_height
from redactor.core.policy import Action
from redactor.core.remnants import pictures_left, red_left
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
    printed_wording,
    visible_parts,
)
from redactor.locators.local.ocr import OcrModels, crop_line, shared_models
from redactor.locators.local.reading import Line, LineReader, red_dropout
from redactor.verifiers.base import VerifyRequest

#: The verifier's detector sees text about this tall (pixels): large enough for a digit
#: left beside a mask, small enough to stay cheap (in the eval --perturb study 10 px missed
#: a few half-covered lines that 12 and 14 px caught; 12 px costs 0.73x of 14 px).
DET_TEXT_HEIGHT = 12.0
#: ... and at most this many pixels along the longer side.
DET_LIMIT = 960
#: A look that sees fewer lines than this on a masked card (its labels and titles stay
#: visible) saw text smaller than the plan's bands said, and looks again...
MIN_LINES_SEEN = 3
#: ... at this many times the resolution (a band grown to its row is far taller than the
#: printed characters of a small card in a large photo).
FINER_LOOK = 2.5
#: Detected "lines" this many times taller than the text are shapes.
GIANT_LINE = 2.6
#: A detected "line" none of whose visible characters was read with at least this confidence
#: is no text for the picture check (the detector also boxes a strip of hair, an ear or a
#: shoulder beside a mask that missed the photo): its cells are not left out of it.
TEXT_SURE = 0.6
#: ... nor is a short "line" this many times taller than the text (a strip of hair and ear
#: boxed across the rows), unless it is long (a title in larger print).
TALL_LINE = 1.8
#: A detected line this far off the card's text direction (cosine) holds stacked rows.
ACROSS_COS = 0.87
#: A stretch longer than this many of its heights is read in pieces this long, each
#: overlapping the next by half: a line the detector merged (a label, its English
#: sub-label and the value behind them) holds its value at its end, not in its first
#: characters; the overlap keeps a date or a number whole in one piece at least.
READ_RATIO = 8.0
#: Tiles of a large page overlap by this many text heights (a line cut by a tile's edge is
#: seen whole in the next one as long as it is short).
TILE_OVERLAP = 4.0
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

    @property
    def models(self) -> OcrModels:
        """The injected models, else the process's shared ones (those of the local engine)."""
        return self._models if self._models is not None else shared_models()

    def verify(self, request: VerifyRequest) -> Verdict:
        plan = request.plan
        width, height = request.masked.size
        applied = list(plan.applied)
        if not applied:
            return Verdict(True)  # nothing located: the plan boxed the whole image or passed nothing
        import cv2

        # one working copy of the masked pixels (BGR, masks erased in place): pages are large
        masked_bgr = cv2.cvtColor(np.asarray(request.masked.convert("RGB")), cv2.COLOR_RGB2BGR)
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
        erased = _erase_masks(masked_bgr, painted, in_place=True)
        found = frame_from_quads(
            [a.located.polygon.points for a in applied if not a.located.is_portrait and a.located.polygon.area() > 0]
        )
        axis = None if found is None else np.asarray(found.axis)
        with self.models.inference:
            seen, lines, blank = self._read_outside(erased, painted, line_height, axis)
            # a "line" many times the text's height is a shape (the outline of a masked
            # photo), not text: the card is not grown to it
            text_lines = [f for f in lines if np.linalg.norm(f[3] - f[0]) <= GIANT_LINE * line_height]
            # the text's height as this look saw it (a locator's bands may be taller than the text)
            seen_height = float(np.median([np.linalg.norm(f[3] - f[0]) for f in text_lines])) if text_lines else 0.0
            if not 0.3 * line_height <= seen_height <= 0.75 * line_height:
                seen_height = line_height  # only bands clearly taller than the text are not trusted
            picture_text = text_for_pictures(lines, blank, line_height)
            pictures, more = self._pictures(request, erased, painted, picture_text, seen_height)
        reasons += judge_text([*seen, *more], kept, near)
        reasons += pictures
        reasons += judge_on_text(original_gray, masked_text)
        # printed wording, and the kept values (whole characters beside a mask, not cut ones)
        beside = [part.quad for part in seen if printed_wording(part)] + [k.polygon for k in kept]
        printed = _filled(beside, width, height)
        reasons += judge_cut_text(masked_gray, painted, masked_text, printed)
        return Verdict.failed(reasons) if reasons else Verdict(True)

    def _read_outside(
        self, bgr: np.ndarray, painted: np.ndarray, line_height: float, axis: np.ndarray | None = None
    ) -> tuple[list[SeenText], list[np.ndarray], list[bool]]:
        """The stretches of text lines outside the masks, anywhere in the image, read; every
        detected line's frame (text, for the picture check); and for each frame whether what
        is visible of it read no character surely (:data:`TEXT_SURE`). ``bgr``: masks erased.

        The whole image is looked at, not only where the fields were located: a response
        made for one card of a page leaves the other card's fields elsewhere. A "line" across
        the card's text direction (rows stacked close, merged by the detector) is split into
        the rows it holds, each read along the card's ``axis``."""
        reader = LineReader(self.models)
        scale = min(1.0, DET_TEXT_HEIGHT / max(line_height, 1.0))
        lines = self._detect(reader, bgr, scale, line_height)
        if len(lines) < MIN_LINES_SEEN and scale < 1.0:
            lines = self._detect(reader, bgr, min(1.0, FINER_LOOK * scale), line_height)
        frames: list[np.ndarray] = []
        across: list[np.ndarray] = []
        for line in lines:
            if axis is not None and abs(float(line.axis @ axis)) < ACROSS_COS:
                across.extend(_rows_of(bgr, line.frame, axis, line_height))
            else:
                frames.append(line.frame)
        if across:
            flips = self.models.upside_down([crop_line(bgr, f.astype(np.float32), 4.0) for f in across])
            frames.extend(np.asarray(f[[2, 3, 0, 1]]) if p > 0.5 else f for f, p in zip(across, flips, strict=True))
        pieces: list[np.ndarray] = []
        piece_heights: list[float] = []
        owners: list[int] = []
        for index, frame in enumerate(frames):
            tall = float(np.linalg.norm(frame[3] - frame[0]))
            for t0, t1 in visible_parts(frame, painted):
                for piece in _pieces(part_of(frame, t0, t1)):
                    pieces.append(piece)
                    piece_heights.append(tall)
                    owners.append(index)
        crops = [red_dropout(crop_line(bgr, _breathing(q).astype(np.float32))) for q in pieces]
        readings = self.models.read(crops)
        seen = [
            SeenText(Polygon.of(q.tolist()), r.text, r.confidences if len(r.confidences) == len(r.text) else (), h)
            for q, r, h in zip(pieces, readings, piece_heights, strict=True)
        ]
        # a frame with nothing visible is no remnant either way: it stays text
        sure = {owner for owner, r in zip(owners, readings, strict=True) if any(c >= TEXT_SURE for c in r.confidences)}
        unsure = set(owners) - sure
        blank = [index in unsure for index in range(len(frames))]
        return seen, frames, blank

    @staticmethod
    def _detect(reader: LineReader, bgr: np.ndarray, scale: float, line_height: float) -> list[Line]:
        """Every line on the image detected at ``scale``, tile by tile."""
        lines: list[Line] = []
        for box in _tiles(bgr.shape[1], bgr.shape[0], DET_LIMIT / scale, TILE_OVERLAP * line_height):
            # a line seen whole in an earlier tile's overlap is not read twice
            lines.extend(ln for ln in reader.detect(bgr, DET_LIMIT, box, scale) if not _seen_before(ln, lines))
        return lines

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
        policy = request.policy
        groups: dict[CardType, list[Polygon]] = {}
        for a in plan.applied:
            kind = a.located.card_type or card_type
            if kind is None or PORTRAIT not in FIELDS_BY_CARD[kind] or a.located.is_portrait:
                continue
            groups.setdefault(kind, []).append(a.located.polygon)
        reasons: list[str] = []
        texts: list[SeenText] = []
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        original = np.asarray(request.original.convert("RGB"))
        # the photo's own masks (the plan makes one operation per masked field, in order)
        masked_fields = [a for a in plan.applied if a.action != Action.KEEP.value]
        photo_ops = [op for a, op in zip(masked_fields, plan.ops, strict=False) if a.located.is_portrait]
        photo = mask_raster(photo_ops, rgb.shape[1], rgb.shape[0]) if photo_ops else None
        for kind, polygons in groups.items():
            masks_photo = policy.rule_for(kind, PORTRAIT).action is not Action.KEEP
            masks_seal = policy.rule_for(kind, "issuing_authority").action is not Action.KEEP
            found = frame_from_quads([p.points for p in polygons])
            if found is None:
                continue
            frame = CardFrame(found.origin, found.axis, line_height)
            hull = Box.around(frame.to_card(np.vstack([np.asarray(p.points) for p in polygons])))
            # the photo may stand well beside the values (AILicenseRec locates values only):
            # as far again as half their extent, on either side; the card's area bounds it
            reach = PICTURE_REACH * line_height
            side = max(2 * reach, 0.5 * hull.width + reach)
            region = Box(hull.u0 - side, hull.v0 - reach, hull.u1 + side, hull.v1 + reach)
            if kind is CardType.DRIVER_LICENSE and masks_seal:
                # the seal is printed over the labels left of the values, or beside them;
                # only a seal within the card's rows counts (a red shape off the card is none)
                h = line_height
                rows = Box(hull.u0 - 4 * h, hull.v0 - h, hull.u1 + 8 * h, hull.v1 + h)
                if red_left(rgb, frame, rows, lines, painted):
                    reasons.append("verification: a red seal is left unmasked on the card (the issuing authority?)")
            for blob in pictures_left(rgb, frame, region, lines, painted, original, photo) if masks_photo else []:
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


def text_for_pictures(frames: list[np.ndarray], blank: list[bool], line_height: float) -> list[np.ndarray]:
    """The detected lines whose cells the picture check leaves out as text. Not: a shape many
    times the text's height (:data:`GIANT_LINE`), a "line" of which nothing visible was read
    surely (``blank``, :data:`TEXT_SURE`), a short box much taller than the text
    (:data:`TALL_LINE`): the detector boxes strips of hair, an ear or a shoulder beside a mask
    too, and leaving them out hid what was left of a photo."""
    out = []
    for frame, unread in zip(frames, blank, strict=True):
        tall = float(np.linalg.norm(frame[3] - frame[0]))
        long = float(np.linalg.norm(frame[1] - frame[0]))
        if unread or tall > GIANT_LINE * line_height:
            continue
        if tall > TALL_LINE * line_height and long < 2.0 * tall:
            continue
        out.append(frame)
    return out


def _seen_before(line: Line, lines: list[Line]) -> bool:
    """Whether ``line`` lies within a line already found (same direction, its centre inside)."""
    import cv2

    centre = tuple(float(v) for v in line.centre)
    for other in lines:
        if abs(float(line.axis @ other.axis)) < ACROSS_COS:
            continue
        if cv2.pointPolygonTest(other.frame.reshape(-1, 1, 2).astype(np.float32), centre, False) >= 0:
            return True
    return False


def _rows_of(bgr: np.ndarray, corners: np.ndarray, axis: np.ndarray, line_height: float) -> list[np.ndarray]:
    """The rows of text inside a detected box that lies across the card's ``axis``: frames
    (start-top, end-top, end-bottom, start-bottom) along the axis, one per band of ink."""
    import cv2

    normal = np.array([-axis[1], axis[0]])
    c = np.asarray(corners, dtype=np.float64)
    u, v = c @ axis, c @ normal
    pad = 0.15 * line_height
    u0, u1, v0, v1 = u.min() - pad, u.max() + pad, v.min() - pad, v.max() + pad

    def at(uu: float, vv: float) -> np.ndarray:
        return np.asarray(uu * axis + vv * normal)

    width, height = max(2, int(round(u1 - u0))), max(2, int(round(v1 - v0)))
    src = np.array([at(u0, v0), at(u1, v0), at(u1, v1)], dtype=np.float32)
    dst = np.array([[0, 0], [width, 0], [width, height]], dtype=np.float32)
    patch = cv2.warpAffine(bgr, cv2.getAffineTransform(src, dst), (width, height), borderMode=cv2.BORDER_REPLICATE)
    gray = patch.mean(axis=2)
    ink = gray < np.percentile(gray, 90) - 40
    profile = ink.mean(axis=1) > 0.02
    rows: list[np.ndarray] = []
    start: int | None = None
    for y, inked in enumerate([*profile.tolist(), False]):
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            if y - start >= 0.35 * line_height:
                a, b = v0 + start - pad, v0 + y + pad
                rows.append(np.array([at(u0, a), at(u1, a), at(u1, b), at(u0, b)], dtype=np.float32))
            start = None
    if not rows:
        rows.append(np.array([at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)], dtype=np.float32))
    return rows


def _pieces(quad: np.ndarray) -> list[np.ndarray]:
    """A stretch cut into pieces of ``READ_RATIO`` of its heights, each overlapping the next
    by half (the stretch itself when it is short)."""
    length = float(np.linalg.norm(quad[1] - quad[0]))
    height = float(np.linalg.norm(quad[3] - quad[0]))
    if length <= READ_RATIO * height:
        return [quad]
    share = READ_RATIO * height / length
    starts = np.arange(0.0, 1.0 - share, share / 2).tolist() + [1.0 - share]
    return [part_of(quad, t0, t0 + share) for t0 in starts]


def _filled(quads: list[Polygon], width: int, height: int) -> np.ndarray:
    """Boolean (height, width) array: True inside any of the polygons."""
    import cv2

    out = np.zeros((height, width), dtype=np.uint8)
    for quad in quads:
        cv2.fillPoly(out, [np.round(np.asarray(quad.points)).astype(np.int32).reshape(-1, 1, 2)], 1)
    return out.view(bool)  # 0/1 bytes read as booleans: no second copy of a page-sized mask


def _erase_masks(bgr: np.ndarray, painted: np.ndarray, in_place: bool = False) -> np.ndarray:
    """The image with its masks painted in the colour around them (the median of the unmasked
    pixels next to the masks): a black box next to a label makes the detector see one dark
    blob and lose the label; only text outside the masks matters here."""
    import cv2

    if not painted.any():
        return bgr
    ring = cv2.dilate(painted.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~painted
    around = bgr[ring] if ring.any() else bgr[~painted]
    if around.size == 0:
        return bgr
    out = bgr if in_place else bgr.copy()
    out[painted] = np.median(around, axis=0).astype(np.uint8)
    return out


def _tiles(width: int, height: int, size: float, overlap: float) -> list[tuple[int, int, int, int]]:
    """Boxes covering the image, each at most ``size`` pixels a side, overlapping by ``overlap``."""

    def starts(extent: int) -> list[int]:
        if extent <= size:
            return [0]
        count = int(np.ceil((extent - overlap) / max(1.0, size - overlap)))
        step = (extent - size) / max(1, count - 1)
        return [int(round(k * step)) for k in range(count)]

    side = int(np.ceil(size))
    return [(x, y, min(width, x + side), min(height, y + side)) for y in starts(height) for x in starts(width)]


def _breathing(quad: np.ndarray) -> np.ndarray:
    """A little room at both ends of a stretch: a clipped stroke reads as another character."""
    f = np.asarray(quad, dtype=np.float64)
    axis = f[1] - f[0]
    length = float(np.linalg.norm(axis)) or 1.0
    tall = float(np.linalg.norm(f[3] - f[0]))
    pad = axis / length * 0.1 * tall
    return np.array([f[0] - pad, f[1] + pad, f[2] + pad, f[3] - pad])
