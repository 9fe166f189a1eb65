"""The local locator: AILicenseRec-shaped results from an offline OCR model.

Steps for one image:
1. detect text lines (one pass of the DB detector on the whole image);
2. read the reading direction of the lines (their axis, and 0/180 from the angle
   classifier), then recognise only the *leading* characters of each line, which is
   where the labels are (cheap: short crops);
3. pick the card template whose labels were read (ID front, ID back, licence) and
   register it: a similarity from the labels, then a homography from every matched
   label and value start (and fixed-width ends), refined twice;
4. report each field as its template zone mapped into the image, the portrait zone,
   the card quad, and any text on the card that the template does not explain (as an
   unknown field, which the policy masks). Scores come from how well the card fits.
Several cards in one image are found one after another.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from redactor.core.fields import PORTRAIT, CardTypeHint
from redactor.core.results import Detection, LocatedField, Polygon
from redactor.locators.base import BaseLocator, LocateRequest
from redactor.locators.local.edges import refine_with_edges
from redactor.locators.local.ocr import OcrModels, TextBox, crop_line, line_frame, shared_models
from redactor.locators.local.templates import TEMPLATES, CardTemplate

#: How much of each line is read: about two characters, enough for every label key.
LEADING_RATIO = 2.0
#: Lines much lower than the typical line (English sub-labels, dust) are not read.
MIN_HEIGHT_FRACTION = 0.78
DET_LIMIT = 736
FINE_DET_LIMIT = 1024
ZOOM_LIMIT = 1024
#: Detector boxes lower than this (image pixels; glyphs are about half) are too small to
#: read well: zoom in on them, enlarging to about ZOOM_TARGET.
SMALL_TEXT = 28.0
ZOOM_TARGET = 44.0
MAX_LINES_READ = 48
MAX_CARDS = 4
#: Anchors must span this fraction of the card (both ways) before shear, and twice it
#: before perspective, is fitted.
MIN_SPREAD = 0.15
#: Without confirmation by the card's edges, a text-only fit is trusted only with this
#: many matched lines and at most this residual (card pixels); otherwise the image is
#: quarantined: a template zone in the wrong place would mask the wrong pixels.
MIN_TEXT_ANCHORS = 8
MAX_TEXT_RMS = 6.0
#: A line belongs to a field when at least this share of its glyphs lies in the field's zone.
ATTRIBUTION_SHARE = 0.5
#: ... or when this share of it lies in zones and on printed labels together.
FIXED_TEXT_SHARE = 0.75
#: Text anchors may disagree with the edge fit by this much (card pixels) before it is refused.
EDGE_AGREEMENT = 10.0


@dataclass
class Line:
    """A detected line in reading order with what was read at its start."""

    box: TextBox
    frame: np.ndarray  # start-top, end-top, end-bottom, start-bottom
    image: np.ndarray = field(repr=False)  # the BGR image it was found in
    text: str = ""
    confidence: float = 0.0
    read: bool = False
    readable: bool = True
    role: str | None = None  # the template text this line was matched to (set by registration)
    height: float = field(init=False, default=0.0)
    length: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.height = float(np.linalg.norm(self.frame[3] - self.frame[0]))
        self.length = float(np.linalg.norm(self.frame[1] - self.frame[0]))

    @property
    def key(self) -> str:
        return self.text[:2]


@dataclass
class Fit:
    template: CardTemplate
    matrix: np.ndarray  # 3x3, card pixels -> image pixels
    rms: float  # card pixels
    anchors: int  # matched lines
    labels: set[str] = field(default_factory=set)
    lines: list[Line] = field(default_factory=list)
    edges: bool = False  # the card's physical edges confirmed (and refined) the fit
    spread: float = 0.0  # how much of the card the anchors span (the smaller of width and height share)
    pool: list[Line] = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        """Edges confirmed the fit, or text anchors spread over the card fit it tightly."""
        if self.edges:
            return True
        return self.anchors >= MIN_TEXT_ANCHORS and self.spread >= 0.45 and self.rms <= MAX_TEXT_RMS


def _normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _to_card(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    inverse = np.linalg.inv(matrix)
    return _project(inverse, points)


def _project(matrix: np.ndarray, points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    homogeneous = np.hstack([pts, np.ones((len(pts), 1))]) @ matrix.T
    return np.asarray(homogeneous[:, :2] / homogeneous[:, 2:3])


class LocalLocator(BaseLocator):
    """Offline locator on the PP-OCR models of the ``rapidocr`` wheel; safe to share across threads."""

    name = "local"

    def __init__(self, models: OcrModels | None = None) -> None:
        self._models = models
        self._lock = threading.Lock()
        # The models already use every core; one image at a time in them keeps memory to
        # one set of activations while other workers decode, mask and write in parallel.
        self._inference = threading.Lock()

    @property
    def models(self) -> OcrModels:
        with self._lock:
            if self._models is None:
                self._models = shared_models()
            return self._models

    # ------------------------------------------------------------------ entry

    def locate(self, request: LocateRequest) -> Detection:
        bgr = _bgr(request.image)
        with self._inference:
            return self._locate(request, bgr)

    def _locate(self, request: LocateRequest, bgr: np.ndarray) -> Detection:
        image = request.image
        allowed = [t for t in TEMPLATES if _allowed(t, request.card_type)]
        gray = _gray(bgr)
        lines = self._read_lines(bgr, DET_LIMIT)
        fits, leftover = self._register_all(lines, allowed, gray)
        if not fits and len(lines) < 3 and max(image.size) > DET_LIMIT * 1.4:
            # Almost nothing at the first scale: the text may be too small for it.
            lines = self._read_lines(bgr, FINE_DET_LIMIT)
            fits, leftover = self._register_all(lines, allowed, gray)
        if not fits:
            # Text too small to read (a card far from the camera): zoom in where it is.
            region = _small_text_region(lines, image.size)
            if region is not None:
                box, scale = region
                lines = self._read_lines(bgr, ZOOM_LIMIT, box, scale)
                fits, leftover = self._register_all(lines, allowed, gray)
        return self._detection(fits, lines, image.size, leftover)

    def _register_all(
        self, lines: list[Line], templates: list[CardTemplate], gray: np.ndarray
    ) -> tuple[list[Fit], list[Line]]:
        """Cards one after another: each found card's lines are removed before the next search.

        Reading is lazy: first only the lines that lead a row (labels do), then every line,
        then, once a card is found, the rest re-oriented on their own (a second card may lie
        the other way up).
        """
        fits: list[Fit] = []
        remaining = list(lines)
        stage = 0
        while len(fits) < MAX_CARDS:
            fit = self._register(remaining, templates, gray)
            if fit is not None:
                fit.pool = remaining  # the lines (as oriented then) this card was found among
                fits.append(fit)
                outline = _project(fit.matrix, fit.template.outline)
                remaining = [ln for ln in remaining if not _inside(outline, ln.frame.mean(axis=0))]
                continue
            unread = [ln for ln in remaining if ln.readable and not ln.read]
            if stage == 0 and unread:
                self._recognise(unread)
                stage = 1
                continue
            if stage <= 1 and fits and len(remaining) >= 3:
                remaining = self._reorient(remaining)
                stage = 2
                continue
            break
        return fits, remaining

    def _reorient(self, lines: list[Line]) -> list[Line]:
        """The same lines with their reading direction decided afresh, all read."""
        out: list[Line] = []
        bgr = lines[0].image
        for group in _orientation_groups([ln.box for ln in lines]):
            out.extend(self._orient(bgr, group))
        typical = float(np.median([ln.height for ln in out]))
        for ln in out:
            ln.readable = ln.height >= MIN_HEIGHT_FRACTION * typical
        self._recognise(out)
        return out

    # ------------------------------------------------------------------ reading

    def _read_lines(
        self, bgr: np.ndarray, limit: int, box: tuple[int, int, int, int] | None = None, scale: float | None = None
    ) -> list[Line]:
        """Detect lines (in ``box`` only, enlarged by ``scale``, when given), orient them, and
        read the start of each row's first line (labels lead rows)."""
        if box is None:
            boxes = self.models.detect(bgr, limit=limit)
        else:
            x0, y0, x1, y1 = box
            found = self.models.detect(bgr[y0:y1, x0:x1], limit=limit, scale=scale)
            offset = np.array([x0, y0], dtype=np.float32)
            boxes = [TextBox(b.corners + offset, b.score) for b in found]
        if not boxes:
            return []
        lines: list[Line] = []
        for group in _orientation_groups(boxes):
            oriented = self._orient(bgr, group)
            lines.extend(oriented)
        heights = np.array([ln.height for ln in lines])
        typical = float(np.median(heights))
        for ln in lines:
            ln.readable = ln.height >= MIN_HEIGHT_FRACTION * typical
        self._bgr = bgr
        self._recognise([ln for ln in _row_leaders(lines) if ln.readable])
        return lines

    def _recognise(self, lines: list[Line]) -> None:
        todo = [ln for ln in lines if ln.readable and not ln.read][:MAX_LINES_READ]
        crops = [crop_line(ln.image, ln.frame, LEADING_RATIO) for ln in todo]
        for ln, (text, conf) in zip(todo, self.models.recognize(crops), strict=True):
            ln.text = _normalise(text)
            ln.confidence = conf
            ln.read = True

    def _orient(self, bgr: np.ndarray, boxes: list[TextBox]) -> list[Line]:
        """Frames in one shared reading direction, flipped when the text reads upside down."""
        axis = _dominant_axis(boxes)
        frames = [line_frame(b.corners, _own_axis(b, axis)) for b in boxes]
        longest = sorted(range(len(boxes)), key=lambda i: -boxes[i].size[0])[:8]
        votes = self.models.upside_down([crop_line(bgr, frames[i], 4.0) for i in longest])
        flip = sum(1 for p in votes if p > 0.5) > len(votes) / 2
        if flip:
            frames = [np.asarray(f[[2, 3, 0, 1]]) for f in frames]
        return [Line(b, f, bgr) for b, f in zip(boxes, frames, strict=True)]

    # -------------------------------------------------------------- registration

    def _register(self, lines: list[Line], templates: list[CardTemplate], gray: np.ndarray) -> Fit | None:
        best: tuple[int, CardTemplate] | None = None
        for template in templates:
            keys = {ln.key for ln in lines if ln.key in template.keys}
            unique = keys & template.unique
            if len(keys) < 2 or not unique:
                continue
            score = len(keys) + 2 * len(unique)
            if best is None or score > best[0]:
                best = (score, template)
        if best is None:
            return None
        template = best[1]
        label_lines = _first_per_key([ln for ln in lines if ln.key in template.keys])
        pairs: list[tuple[np.ndarray, np.ndarray, Line]] = []
        for ln in label_lines:
            start = template.starts.get(template.keys[ln.key])
            if start is not None:
                pairs.append((np.asarray(start), ln.frame[[0, 3]], ln))  # top and bottom: scale from heights
        if len(pairs) < 2:
            return None
        matrix = _similarity(pairs)
        if matrix is None:
            return None
        fit: Fit | None = None
        matched: list[tuple[np.ndarray, np.ndarray, Line]] = []
        # Coarse to fine: generous matching under the similarity, tighter as the fit improves.
        for tolerance in (0.9, 0.6, 0.45):
            matched = _match_all(template, matrix, lines, tolerance)
            refined = _homography(matched, template.size)
            if refined is None:
                break
            matrix, rms, inliers = refined
            fit = Fit(template, matrix, rms, len({id(m[2]) for m in inliers}), set(), [m[2] for m in inliers])
            fit.spread = _spread(inliers, template.size)
        if fit is None:
            return None
        for reach in (0.05, 0.15, 0.25):
            edged = refine_with_edges(gray, fit.matrix, template.size, reach)
            if edged is None or not _plausible(edged, template.size):
                continue
            rms_edges = _residual(matched, edged)
            # A text fit that is sound on its own only accepts edges that agree with it
            # closely; a weak one (few anchors, one column) cannot veto them as firmly.
            allowed = max(2.0 * fit.rms, 5.0) if fit.reliable else max(1.5 * fit.rms, EDGE_AGREEMENT)
            if rms_edges <= allowed:
                fit.matrix, fit.rms, fit.edges = edged, rms_edges, True
                _match_all(template, edged, lines, 0.45)  # roles as seen through the final fit
                break
        fit.labels = {ln.key for ln in fit.lines if ln.key in template.keys}
        return fit

    # ------------------------------------------------------------------ output

    def _detection(self, fits: list[Fit], lines: list[Line], size: tuple[int, int], leftover: list[Line]) -> Detection:
        supported = [f for f in fits if f.template.card_type is not None]
        if not supported:
            return Detection(0, (), None, None, ("the back of the ID card is not supported",) if fits else ())
        fields: list[LocatedField] = []
        problems: list[str] = []
        if len(supported) < len(fits):
            problems.append("an ID card back is in the image too, and its side is not supported")
        stray = {ln.key for ln in leftover if any(ln.key in t.keys for t in TEMPLATES)}
        if stray:
            problems.append(
                f"card labels found outside every registered card ({len(stray)}): another card may be there"
            )
        for fit in supported:
            fields.extend(_fields_of(fit, fit.pool))
            if not fit.reliable:
                problems.append(
                    f"card registration uncertain ({fit.anchors} text anchors, residual {fit.rms:.1f} px, "
                    "card edges not confirmed)"
                )
        card_types = {f.template.card_type for f in supported}
        card_type = card_types.pop() if len(card_types) == 1 else None
        quad = Polygon.of(_project(supported[0].matrix, supported[0].template.outline).tolist())
        return Detection(1, tuple(fields), card_type, quad, tuple(problems))


def _gray(bgr: np.ndarray) -> np.ndarray:
    import cv2

    return np.asarray(cv2.GaussianBlur(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (3, 3), 0))


def _residual(matched: list[tuple[np.ndarray, np.ndarray, Line]], matrix: np.ndarray) -> float:
    """Typical distance (card pixels) between template anchors and the matched lines seen
    through ``matrix``: the median, so one mismatched line does not veto a good fit."""
    if not matched:
        return float("inf")
    src = np.vstack([m[0] for m in matched])
    dst = _project(np.linalg.inv(matrix), np.vstack([m[1] for m in matched]))
    return float(np.median(np.sqrt(((src - dst) ** 2).sum(axis=1))))


def _bgr(image: Image.Image) -> np.ndarray:
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])


def _allowed(template: CardTemplate, hint: CardTypeHint) -> bool:
    wanted = hint.card_type()
    return wanted is None or template.card_type in (None, wanted)


def _inside(polygon: np.ndarray, point: np.ndarray) -> bool:
    import cv2

    return bool(
        cv2.pointPolygonTest(polygon.astype(np.float32).reshape(-1, 1, 2), (float(point[0]), float(point[1])), False)
        >= 0
    )


def _axis_angle(box: TextBox) -> float:
    c = box.corners
    e0, e1 = c[1] - c[0], c[2] - c[1]
    e = e0 if np.linalg.norm(e0) >= np.linalg.norm(e1) else e1
    return math.atan2(float(e[1]), float(e[0])) % math.pi


def _dominant_axis(boxes: list[TextBox]) -> np.ndarray:
    """Mean direction (mod 180 degrees) of the elongated lines, weighted by length."""
    sx = sy = 0.0
    for b in boxes:
        long, short = b.size
        if long < 1.8 * short:
            continue
        a = 2 * _axis_angle(b)
        sx += long * math.cos(a)
        sy += long * math.sin(a)
    angle = 0.0 if sx == sy == 0.0 else math.atan2(sy, sx) / 2
    axis = np.array([math.cos(angle), math.sin(angle)])
    if axis[0] < -1e-9 or (abs(axis[0]) <= 1e-9 and axis[1] < 0):
        axis = -axis
    return axis


def _own_axis(box: TextBox, shared: np.ndarray) -> np.ndarray:
    """The box's own long axis when it is clearly a line near the shared one, else the shared axis."""
    long, short = box.size
    if long >= 1.5 * short:
        a = _axis_angle(box)
        own = np.array([math.cos(a), math.sin(a)])
        if abs(float(own @ shared)) > math.cos(math.radians(30)):
            return own if own @ shared > 0 else -own
    return shared


def _orientation_groups(boxes: list[TextBox]) -> list[list[TextBox]]:
    """Split lines whose axes differ by more than 30 degrees (cards at different angles)."""
    groups: list[tuple[float, list[TextBox]]] = []
    for b in sorted(boxes, key=lambda b: -b.size[0]):
        a = _axis_angle(b) if b.size[0] >= 1.8 * b.size[1] else None
        for ga, members in groups:
            if a is None or abs(math.sin(a - ga)) < math.sin(math.radians(30)):
                members.append(b)
                break
        else:
            groups.append((a if a is not None else 0.0, [b]))
    return [members for _, members in groups]


def _small_text_region(lines: list[Line], size: tuple[int, int]) -> tuple[tuple[int, int, int, int], float] | None:
    """Where small text is, and how much to enlarge it, or ``None`` when there is none."""
    if len(lines) < 3:
        return None
    heights = np.array([ln.height for ln in lines])
    typical = float(np.median(heights))
    if typical >= SMALL_TEXT:
        return None
    points = np.vstack([ln.frame for ln in lines])
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    pad = 0.25 * max(x1 - x0, y1 - y0)
    box = (
        max(0, int(x0 - pad)),
        max(0, int(y0 - pad)),
        min(size[0], int(x1 + pad)),
        min(size[1], int(y1 + pad)),
    )
    return box, min(3.0, ZOOM_TARGET / max(typical, 1.0))


def _row_leaders(lines: list[Line]) -> list[Line]:
    """The first line of every row, in reading order: where a card's labels are."""
    if not lines:
        return []
    frames = np.stack([ln.frame for ln in lines]).astype(np.float64)
    heights = np.array([ln.height for ln in lines])
    starts = (frames[:, 0] + frames[:, 3]) / 2
    mids = frames.mean(axis=1)
    axes = frames[:, 1] - frames[:, 0]
    axes /= np.maximum(np.linalg.norm(axes, axis=1, keepdims=True), 1e-9)
    normals = np.stack([-axes[:, 1], axes[:, 0]], axis=1)
    leaders = []
    for k, ln in enumerate(lines):
        across = np.abs((mids - mids[k]) @ normals[k])
        along = (starts - starts[k]) @ axes[k]
        same_row = across < 0.5 * np.maximum(heights, heights[k])
        # an earlier line in the same row, close enough to belong to the same card
        earlier = same_row & (along < -0.5 * heights[k]) & (-along < 25 * heights[k])
        earlier[k] = False
        if not earlier.any():
            leaders.append(ln)
    return leaders


def _same_label(read: str, label: str) -> bool:
    """The text read at a label's position is that label, allowing one misread character
    (the position already matched; blur turns 性别 into 性刻 now and then)."""
    return len(read) >= 2 and sum(a == b for a, b in zip(read, label, strict=False)) >= 1


def _first_per_key(lines: list[Line]) -> list[Line]:
    seen: dict[str, Line] = {}
    for ln in lines:
        if ln.key not in seen or ln.confidence > seen[ln.key].confidence:
            seen[ln.key] = ln
    return list(seen.values())


def _similarity(pairs: list[tuple[np.ndarray, np.ndarray, Line]]) -> np.ndarray | None:
    """A first card->image map from the labels alone.

    Labels mostly sit in one column, which fixes rotation and scale but not shear. The
    lines themselves show where the card's x axis points in the image (under skew and
    perspective it is not square to the column), so each label also contributes a
    point a little way along its own text direction, at the column's scale.
    """
    import cv2

    src = np.vstack([p[0] for p in pairs]).astype(np.float32)
    dst = np.vstack([p[1] for p in pairs]).astype(np.float32)
    similar, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if similar is None:
        return None
    scale = float(np.sqrt(abs(np.linalg.det(similar[:, :2]))))
    step = 100.0
    extra_src: list[np.ndarray] = []
    extra_dst: list[np.ndarray] = []
    flags = np.asarray(inliers if inliers is not None else np.ones(2 * len(pairs)), dtype=bool).ravel()
    keep = [True] * len(pairs)
    if flags.size == 2 * len(pairs):  # two points (top, bottom) per label
        keep = [bool(flags[2 * k] and flags[2 * k + 1]) for k in range(len(pairs))]
    for (start, _, line), ok in zip(pairs, keep, strict=True):
        if not ok:
            continue
        axis = line.frame[1] - line.frame[0]
        axis = axis / (np.linalg.norm(axis) or 1.0)
        mid_card = np.asarray(start).mean(axis=0)
        mid_img = (line.frame[0] + line.frame[3]) / 2
        extra_src += [mid_card, mid_card + [step, 0.0]]
        extra_dst += [mid_img, mid_img + axis * step * scale]
    if len(extra_src) >= 6:
        affine, _ = cv2.estimateAffine2D(
            np.array(extra_src, np.float32), np.array(extra_dst, np.float32), method=cv2.LMEDS
        )
        if affine is not None:
            return np.vstack([affine, [0.0, 0.0, 1.0]])
    return np.vstack([similar, [0.0, 0.0, 1.0]])


def _match_all(
    template: CardTemplate, matrix: np.ndarray, lines: list[Line], tolerance: float = 0.45
) -> list[tuple[np.ndarray, np.ndarray, Line]]:
    """Every line whose start (or end) lands on a template start (or end), as point pairs.

    Each pair is the midpoint of a box edge. The detector's margin around glyphs grows
    with blur, which makes a box taller and its ends further out than on the clean
    cards the template was measured on; the excess height is taken back from the ends
    (half of it each), so only where the glyphs start and end is compared.
    """
    for ln in lines:
        ln.role = None
    starts = template.starts
    ends = template.ends
    out: list[tuple[np.ndarray, np.ndarray, Line]] = []
    if not lines:
        return out
    roles = list(starts)
    start_edges = np.array([starts[r] for r in roles], dtype=np.float64)  # (R, 2, 2)
    cards = _to_card(matrix, np.vstack([ln.frame for ln in lines])).reshape(len(lines), 4, 2)
    heights = np.linalg.norm(cards[:, 3] - cards[:, 0], axis=1)
    # mean distance of (top, bottom) start corners, every line against every role
    d = np.linalg.norm(cards[:, None, [0, 3], :] - start_edges[None, :, :, :], axis=3).mean(axis=2)
    d[d >= (tolerance * np.maximum(heights, 10.0))[:, None]] = np.inf
    taken: set[str] = set()
    for index in np.argsort(d.min(axis=1)):
        ln = lines[int(index)]
        card = cards[index]
        height = float(heights[index])
        order = np.argsort(d[index])
        role = next((roles[int(r)] for r in order if np.isfinite(d[index, r]) and roles[int(r)] not in taken), None)
        if role is None:
            continue
        label_key = next((k for k, r in template.keys.items() if r == role), None)
        if label_key is not None and ln.text and not _same_label(ln.key, label_key):
            continue  # a label position, but the text read there is not that label
        taken.add(role)
        ln.role = role
        start = np.asarray(starts[role])
        excess = (height - float(np.linalg.norm(start[1] - start[0]))) / 2  # card pixels
        axis = ln.frame[1] - ln.frame[0]
        axis = axis / (np.linalg.norm(axis) or 1.0)
        shift = axis * excess * ln.height / max(height, 1e-6)  # back to image pixels
        out.append((start.mean(axis=0)[None], ((ln.frame[0] + ln.frame[3]) / 2 + shift)[None], ln))
        end_edge = ends.get(role)
        if end_edge is not None:
            end = np.asarray(end_edge)
            d_end = float(np.linalg.norm(card[[1, 2]] - end, axis=1).mean())
            if d_end < 0.7 * tolerance * max(height, 10.0):
                out.append((end.mean(axis=0)[None], ((ln.frame[1] + ln.frame[2]) / 2 - shift)[None], ln))
    return out


def _homography(
    matched: list[tuple[np.ndarray, np.ndarray, Line]],
    size: tuple[float, float],
) -> tuple[np.ndarray, float, list[tuple[np.ndarray, np.ndarray, Line]]] | None:
    import cv2

    if len({id(m[2]) for m in matched}) < 2:
        return None
    src = np.vstack([m[0] for m in matched]).astype(np.float64)
    dst = np.vstack([m[1] for m in matched]).astype(np.float64)
    heights = [m[2].height for m in matched]
    threshold = max(2.0, 0.35 * float(np.median(heights)))
    distinct = len({id(m[2]) for m in matched})
    spread = float(np.ptp(src[:, 0])) / size[0], float(np.ptp(src[:, 1])) / size[1]
    if min(spread) < MIN_SPREAD:
        # Anchors on one column (or one row) pin rotation and scale, not shear: stay similar.
        affine, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold)
    else:
        affine, mask = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold)
    matrix = None if affine is None else np.vstack([affine, [0.0, 0.0, 1.0]])
    if matrix is not None and distinct >= 5 and min(spread) >= 2 * MIN_SPREAD:
        # Perspective only when it clearly explains the anchors better than an affine map.
        homography, h_mask = cv2.findHomography(src, dst, cv2.RANSAC, threshold)
        if homography is not None and h_mask is not None:
            better = _truncated_loss(homography, src, dst, threshold) < 0.8 * _truncated_loss(
                matrix, src, dst, threshold
            )
            if better and _plausible(homography, size):
                matrix, mask = homography, h_mask
    if matrix is None or mask is None or abs(np.linalg.det(matrix)) < 1e-9 or not _plausible(matrix, size):
        return None
    inlier_rows = mask.ravel().astype(bool)
    kept = [m for m, ok in zip(_per_point(matched), inlier_rows, strict=True) if ok]
    if not kept:
        return None
    projected = _project(np.linalg.inv(matrix), np.vstack([k[1] for k in kept]))
    target = np.vstack([k[0] for k in kept])
    rms = float(np.sqrt(((projected - target) ** 2).sum(axis=1).mean()))
    lines_kept = {id(k[2]): k[2] for k in kept}
    triples = [m for m in matched if id(m[2]) in lines_kept]
    return matrix, rms, triples


def _spread(matched: list[tuple[np.ndarray, np.ndarray, Line]], size: tuple[float, float]) -> float:
    src = np.vstack([m[0] for m in matched])
    return float(min(np.ptp(src[:, 0]) / size[0], np.ptp(src[:, 1]) / size[1]))


def _plausible(matrix: np.ndarray, size: tuple[float, float]) -> bool:
    """Whether ``matrix`` maps the card to a shape a photographed card can have.

    A convex quadrilateral, corners between 50 and 130 degrees, opposite sides within a
    factor of 1.6 of each other: a fit outside that has latched onto wrong anchors.
    """
    width, height = size
    corners = _project(matrix, [[0, 0], [width, 0], [width, height], [0, height]])
    if not np.isfinite(corners).all():
        return False
    sides = [corners[(i + 1) % 4] - corners[i] for i in range(4)]
    lengths = [float(np.linalg.norm(v)) for v in sides]
    if min(lengths) < 8.0:
        return False
    crosses = [float(sides[i - 1][0] * sides[i][1] - sides[i - 1][1] * sides[i][0]) for i in range(4)]
    if not (all(c > 0 for c in crosses) or all(c < 0 for c in crosses)):
        return False
    for i in range(4):
        a, b = -sides[i - 1], sides[i]
        angle = math.degrees(math.acos(float(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1))))
        if not 50.0 <= angle <= 130.0:
            return False
    return max(lengths[0], lengths[2]) <= 1.6 * min(lengths[0], lengths[2]) and max(
        lengths[1], lengths[3]
    ) <= 1.6 * min(lengths[1], lengths[3])


def _truncated_loss(matrix: np.ndarray, src: np.ndarray, dst: np.ndarray, cap: float) -> float:
    """Mean squared error over all pairs, each capped: robust to outliers, fair to both models."""
    errors = np.sqrt(((_project(matrix, src) - dst) ** 2).sum(axis=1))
    return float((np.minimum(errors, cap) ** 2).mean())


def _per_point(matched: list[tuple[np.ndarray, np.ndarray, Line]]) -> list[tuple[np.ndarray, np.ndarray, Line]]:
    out = []
    for src, dst, ln in matched:
        for s, d in zip(src, dst, strict=True):
            out.append((np.asarray(s), np.asarray(d), ln))
    return out


def _score(fit: Fit) -> float:
    """Confidence that the template zones sit on the card's values.

    The registration residual (in card pixels; a 1000 px wide card) and the number of
    matched lines drive it: few anchors or a poor fit drop it below the usual
    ``min_score`` of 80, so the policy's ``uncertain`` action applies.
    """
    score = 97.0 - max(0.0, fit.rms - EDGE_AGREEMENT / 2) if fit.edges else 92.0 - 3.0 * max(0.0, fit.rms - 2.0)
    if not fit.reliable:
        score -= 30.0
    return float(round(min(99.0, max(0.0, score))))


def _fields_of(fit: Fit, lines: list[Line]) -> list[LocatedField]:
    """Every field as its template zone, grown to take in the text found mostly inside it;
    text on the card that belongs to no zone is reported as an unknown field.

    A line is attributed to the zone holding most of its glyphs (for a "label + value"
    line, the part after the label goes to that label's field). The field's polygon is
    the hull of its zone and its lines, so a value that spills over its zone is still
    covered. Fixed texts (labels alone, titles, sub-labels) are left out.
    """
    import cv2

    template = fit.template
    width, height = template.size
    zones = {fid: np.asarray(z, dtype=np.float64) for fid, z in template.zones.items()}
    if template.portrait is not None:
        zones[PORTRAIT] = np.asarray(template.portrait, dtype=np.float64)
    extra: dict[str, list[np.ndarray]] = {fid: [] for fid in zones}
    fixed = np.array(template.fixed_boxes, dtype=np.float64).reshape(-1, 4)
    unknown: list[LocatedField] = []
    for ln in lines:
        card = _to_card(fit.matrix, ln.frame)
        centre = card.mean(axis=0)
        if not (0 <= centre[0] <= width and 0 <= centre[1] <= height):
            continue  # not on this card
        tolerance = 0.35 * float(np.linalg.norm(card[3] - card[0]))
        if _fixed_text(template, card, tolerance):
            continue
        glyphs = _glyph_extent(card)
        label_field = template.label_fields.get(ln.role or "")
        if label_field is not None:
            tail = _after_label(glyphs, template, ln.role or "")
            if tail is None or _follows_label(zones[label_field], tail, tolerance):
                if tail is not None:
                    extra[label_field].append(tail)
                continue
        shares = {fid: _share_inside(zone, glyphs) for fid, zone in zones.items()}
        owner = max(shares, key=lambda fid: shares[fid])
        if shares[owner] >= ATTRIBUTION_SHARE:
            extra[owner].append(glyphs)
            continue
        # A line that merged a value with printed labels around it (say "国籍 中国" over
        # "Nationality"), or labels with each other: what is not label must lie in zones.
        owners, explained, on_labels = _share_beside_fixed_text(zones, fixed, glyphs)
        if explained >= FIXED_TEXT_SHARE or (not owners and on_labels >= ATTRIBUTION_SHARE):
            for owner in owners:  # every field it reaches takes it in: a masked one masks it all
                extra[owner].append(glyphs)
            continue
        unknown.append(LocatedField("unexplained text", 90.0, Polygon.of(ln.frame.tolist()), template.card_type, None))
    score = _score(fit)
    out = []
    for fid, zone in zones.items():
        points = zone
        if extra[fid]:
            stacked = np.vstack([zone, *extra[fid]]).astype(np.float32)
            points = cv2.convexHull(stacked).reshape(-1, 2).astype(np.float64)
        raw = "portrait" if fid == PORTRAIT else template.raw_names.get(fid, fid)
        polygon = Polygon.of(_project(fit.matrix, points).tolist())
        out.append(LocatedField(raw, score, polygon, template.card_type, fid))
    return out + unknown


def _share_beside_fixed_text(
    zones: dict[str, np.ndarray], fixed: np.ndarray, quad: np.ndarray
) -> tuple[list[str], float, float]:
    """For a line that is not mostly in one zone: the zones it reaches into, the share of it
    that those zones and printed labels explain, and the share on labels alone (sampled on a
    grid over the quad)."""
    u = np.linspace(0.05, 0.95, 10)
    v = np.linspace(0.15, 0.85, 4)
    top = quad[0][None, :] + (quad[1] - quad[0])[None, :] * u[:, None]
    bottom = quad[3][None, :] + (quad[2] - quad[3])[None, :] * u[:, None]
    points = (top[:, None, :] + (bottom - top)[:, None, :] * v[None, :, None]).reshape(-1, 2)
    x, y = points[:, 0], points[:, 1]
    explained = np.zeros(len(points), dtype=bool)
    for x0, y0, x1, y1 in fixed:
        explained |= (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    on_labels = float(explained.mean())
    owners = []
    for fid, zone in zones.items():
        zx0, zy0 = zone.min(axis=0)
        zx1, zy1 = zone.max(axis=0)
        in_zone = (x >= zx0) & (x <= zx1) & (y >= zy0) & (y <= zy1)
        if in_zone.mean() >= 0.1:
            owners.append(fid)
            explained |= in_zone
    return owners, float(explained.mean()), on_labels


def _after_label(glyphs: np.ndarray, template: CardTemplate, role: str) -> np.ndarray | None:
    """The part of a "label + value" line after the label, or ``None`` when it is all label.

    The label ends where the template's label starts plus its characters' advance.
    """
    label_end_x = template.label_end(role)
    xs = glyphs[:, 0]
    if xs.max() <= label_end_x:
        return None
    t = (label_end_x - xs.min()) / max(xs.max() - xs.min(), 1e-6)
    t = min(max(t, 0.0), 1.0)
    return np.array([_lerp(glyphs[0], glyphs[1], t), glyphs[1], glyphs[2], _lerp(glyphs[3], glyphs[2], t)])


def _follows_label(zone: np.ndarray, tail: np.ndarray, tolerance: float) -> bool:
    """Whether what follows a label on its line stays on the label's row and ends within the
    label's value zone (the blank between a label and its value belongs to the value)."""
    zx1 = float(zone[:, 0].max())
    zy0, zy1 = float(zone[:, 1].min()), float(zone[:, 1].max())
    centre_y = float(tail[:, 1].mean())
    return float(tail[:, 0].max()) <= zx1 + tolerance and zy0 - tolerance <= centre_y <= zy1 + tolerance


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return np.asarray(a + (b - a) * t)


def _share_inside(zone: np.ndarray, quad: np.ndarray) -> float:
    """Share of ``quad``'s bounding box inside ``zone``'s bounding box (both axis-aligned in card space)."""
    zx0, zy0 = zone.min(axis=0)
    zx1, zy1 = zone.max(axis=0)
    qx0, qy0 = quad.min(axis=0)
    qx1, qy1 = quad.max(axis=0)
    area = max(1e-6, (qx1 - qx0) * (qy1 - qy0))
    ix = max(0.0, min(zx1, qx1) - max(zx0, qx0))
    iy = max(0.0, min(zy1, qy1) - max(zy0, qy0))
    return float(ix * iy / area)


def _glyph_extent(card: np.ndarray) -> np.ndarray:
    """A detector box shrunk to about where its glyphs are (the detector adds a margin
    of roughly a quarter of the box height at each end, a fifth above and below)."""
    start, end = (card[0] + card[3]) / 2, (card[1] + card[2]) / 2
    top, bottom = (card[0] + card[1]) / 2, (card[3] + card[2]) / 2
    h = float(np.linalg.norm(bottom - top))
    along = (end - start) / (np.linalg.norm(end - start) or 1.0)
    across = (bottom - top) / (h or 1.0)
    length = float(np.linalg.norm(end - start))
    inset = min(0.25 * h, 0.45 * length)
    s, e = start + along * inset, end - along * inset
    up, down = -across * 0.3 * h, across * 0.3 * h
    return np.array([s + up, e + up, e + down, s + down])


def _fixed_text(template: CardTemplate, card: np.ndarray, tolerance: float) -> bool:
    """A line that starts and ends where a fixed text (label, title, sub-label) does."""
    for role, end in template.ends.items():
        if role.startswith("value:"):
            continue
        start = template.starts.get(role)
        if start is None:
            continue
        if (
            np.linalg.norm(card[[0, 3]] - np.asarray(start), axis=1).max() < 2 * tolerance
            and np.linalg.norm(card[[1, 2]] - np.asarray(end), axis=1).max() < 2 * tolerance
        ):
            return True
    return False


def _all_inside(zone: np.ndarray, points: np.ndarray, tolerance: float) -> bool:
    x0, y0 = zone.min(axis=0) - tolerance
    x1, y1 = zone.max(axis=0) + tolerance
    return bool(((points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)).all())
