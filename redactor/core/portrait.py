"""Find a card's photo (and a licence's red seal) from the pixels, for every locator.

A portrait's place differs between card designs and print versions, so it is looked for,
not inferred from a template: the photo area is the region of the card that holds no
text and differs from the card's background (face, hair, shoulders, photo backdrop).
The card's background is modelled as a smooth colour field (a plane per channel, fitted
robustly over the cells without text), each cell's distance from it is thresholded, text
is cut out, and the largest compact portrait-sized blob wins. Its whole extent plus a
margin is masked. When nothing convincing is found the caller gets ``None`` and the
image is quarantined: a guessed position is never passed off as a found one.

Pure computation on arrays (numpy, OpenCV); no files, no network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from redactor.core.fields import FIELDS_BY_CARD, PORTRAIT, CardType, infer_card_type
from redactor.core.results import Detection, LocatedField, Polygon

#: Points of a polygon in pixels: an (N, 2) array or a sequence of (x, y).
Quad = np.ndarray | Sequence[Sequence[float]]

#: Cells per text height in the search grid: fine enough for a photo's outline, coarse
#: enough that the card's guilloche lines (1-2 px) average out.
CELLS_PER_TEXT_HEIGHT = 5.0
#: A portrait is this many text heights tall at least / at most...
MIN_PORTRAIT_HEIGHT = 2.8
#: ... or this many, when nothing that tall is found (a photo small beside text heights that
#: two-line labels inflate).
MIN_SMALL_PORTRAIT_HEIGHT = 2.0
MAX_PORTRAIT_HEIGHT = 13.5
#: ... and this wide for its height.
MIN_ASPECT, MAX_ASPECT = 0.35, 1.6
#: A photo lies at most this many text heights beyond the card's text, along its rows and
#: across them (the photo stands beside the rows, within the card's height)...
OUTSIDE_TEXT = (10.0, 3.0)
#: ... and starts at most this many beyond the rows' ends (a short address leaves a wide gap).
PHOTO_GAP = 4.0
#: A figure whose bottom fifth is on average narrower than this share of its width is a head alone.
HEAD_NARROWING = 0.8
#: ... and its photo is about this many times as tall as the head (hair to chin).
HEAD_TO_PHOTO = 2.5
#: Width for height of a card photo (ID card 26 x 32 mm, licence 22 x 32 mm).
PHOTO_ASPECT = 0.75
#: Share of its bounding box a portrait blob fills, at least.
MIN_FILL = 0.25
#: Lowest colour distance (Lab units) from the background that counts as "not card".
MIN_CONTRAST = 12.0
#: ... and the highest it is ever raised to on a noisy or blurred capture (a pale photo
#: backdrop is about this far from a pale card).
MAX_CONTRAST = 24.0
#: A cell holds seal ink when this share of its pixels is red.
RED_SHARE = 0.12
#: Seal: red ink (RGB: R high, G and B well below it), at least this many text heights across.
MIN_SEAL_SIZE = 2.0
#: ... and at most this many (a licence's seal is about 40 mm across its 60 mm height).
MAX_SEAL_SIZE = 12.0


@dataclass(frozen=True)
class CardFrame:
    """A card's reading frame: ``origin`` and ``axis`` (unit vector along its text lines, y down
    the image) map card-aligned coordinates (u along the lines, v across them) to pixels."""

    origin: tuple[float, float]
    axis: tuple[float, float]
    text_height: float

    @property
    def normal(self) -> tuple[float, float]:
        return (-self.axis[1], self.axis[0])

    def to_card(self, points: Quad) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) - np.asarray(self.origin)
        return np.stack([pts @ np.asarray(self.axis), pts @ np.asarray(self.normal)], axis=1)

    def to_image(self, points: Quad) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        a, n = np.asarray(self.axis), np.asarray(self.normal)
        return np.asarray(np.asarray(self.origin) + pts[:, :1] * a + pts[:, 1:2] * n)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in card-aligned coordinates."""

    u0: float
    v0: float
    u1: float
    v1: float

    @property
    def width(self) -> float:
        return self.u1 - self.u0

    @property
    def height(self) -> float:
        return self.v1 - self.v0

    def corners(self) -> list[tuple[float, float]]:
        return [(self.u0, self.v0), (self.u1, self.v0), (self.u1, self.v1), (self.u0, self.v1)]

    def overlaps(self, other: Box) -> bool:
        return self.u0 < other.u1 and other.u0 < self.u1 and self.v0 < other.v1 and other.v0 < self.v1

    @classmethod
    def around(cls, points: np.ndarray) -> Box:
        return cls(
            float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()), float(points[:, 1].max())
        )


@dataclass(frozen=True)
class Found:
    """A region found from the pixels: its box (card-aligned, margin included), its polygon
    (image pixels), a score, and ``core``: the part actually seen (the margin is an estimate:
    value bands stop at what was seen, not at the margin)."""

    box: Box
    polygon: Polygon
    score: float
    core: Box | None = None


@dataclass
class _Grid:
    """The search region resampled on card-aligned cells."""

    lab: np.ndarray  # (H, W, 3) float32
    rgb: np.ndarray  # (H, W, 3) float32
    red: np.ndarray  # (H, W) bool: the cell holds seal ink
    cell: float  # card units per cell
    region: Box

    def cell_box(self, x0: int, y0: int, x1: int, y1: int) -> Box:
        r, c = self.region, self.cell
        return Box(r.u0 + x0 * c, r.v0 + y0 * c, r.u0 + x1 * c, r.v0 + y1 * c)

    def cells_of(self, box: Box) -> tuple[int, int, int, int]:
        r, c = self.region, self.cell
        h, w = self.lab.shape[:2]
        x0 = int(math.floor((box.u0 - r.u0) / c))
        y0 = int(math.floor((box.v0 - r.v0) / c))
        x1 = int(math.ceil((box.u1 - r.u0) / c))
        y1 = int(math.ceil((box.v1 - r.v0) / c))
        return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def _resample(rgb: np.ndarray, frame: CardFrame, region: Box, faint_red: bool = False) -> _Grid | None:
    import cv2

    cell = frame.text_height / CELLS_PER_TEXT_HEIGHT
    cols = int(region.width / cell)
    rows = int(region.height / cell)
    if cols < 8 or rows < 8 or cols * rows > 4_000_000:
        return None
    # Sample at about 2 px per card unit... then average down to cells: an area average, so
    # thin lines of the security print blend into the background instead of aliasing.
    fine = max(1, min(4, int(round(cell))))
    a, n = np.asarray(frame.axis), np.asarray(frame.normal)
    origin = frame.to_image([(region.u0, region.v0)])[0]
    step = cell / fine
    # image = origin + (x * step) * a + (y * step) * n
    matrix = np.array([[a[0] * step, n[0] * step, origin[0]], [a[1] * step, n[1] * step, origin[1]]])
    warped = cv2.warpAffine(
        rgb,
        matrix,
        (cols * fine, rows * fine),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    small = cv2.resize(warped, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32)
    lab = cv2.cvtColor(small / 255.0, cv2.COLOR_RGB2LAB)
    # red is judged per pixel (a thin ring of seal ink mixes with the card in a cell's average)
    red_pixels = (_faint_red if faint_red else _red)(warped.astype(np.float32)).astype(np.float32)
    red = cv2.resize(red_pixels, (cols, rows), interpolation=cv2.INTER_AREA) > RED_SHARE
    return _Grid(lab, small, np.asarray(red), cell, region)


def _background(
    lab: np.ndarray, usable: np.ndarray, seed: np.ndarray, curved: bool = False
) -> tuple[np.ndarray, float] | None:
    """A plane per channel fitted to the card's background (iteratively, ignoring outliers),
    and the typical distance of those cells from it (the print's own texture). Only ``seed``
    cells are fitted (next to the card's text: surely card, not the table it lies on); the
    plane carries the card's lighting across to its photo."""
    h, w = usable.shape
    ys, xs = np.mgrid[0:h, 0:w]
    x, y = xs.ravel() / w, ys.ravel() / h
    terms = [np.ones(h * w), x, y] + ([x * x, x * y, y * y] if curved else [])
    design = np.stack(terms, axis=1)
    values = lab.reshape(-1, 3).astype(np.float64)
    base = (usable & seed).ravel()
    if base.sum() < 20:
        base = usable.ravel().copy()
    keep = base.copy()
    fitted = None
    spread = 0.0
    for _ in range(5):
        if keep.sum() < 20:
            return None
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        fitted = design @ coef
        distance = np.sqrt(((values - fitted) ** 2).sum(axis=1))
        spread = float(np.median(distance[keep])) if keep.any() else 0.0
        keep = base & (distance <= max(3.0 * spread, 6.0))
    return None if fitted is None else (fitted.reshape(h, w, 3), spread)


def _blocked(grid: _Grid, frame: CardFrame, quads: Sequence[Quad], grow: float) -> np.ndarray:
    """Cells under the given quads (image pixels), grown by ``grow`` card units."""
    import cv2

    mask = np.zeros(grid.lab.shape[:2], dtype=np.uint8)
    r, c = grid.region, grid.cell
    for quad in quads:
        card = frame.to_card(quad)
        cells = np.round((card - [r.u0, r.v0]) / c).astype(np.int32)
        cv2.fillPoly(mask, [cells.reshape(-1, 1, 2)], 1)
    k = max(1, int(round(2 * grow / c)) + 1)
    if k > 1:
        mask = np.asarray(cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))), dtype=np.uint8)
    return mask.astype(bool)


def _ink(
    grid: _Grid,
    frame: CardFrame,
    text: Sequence[Quad],
    masked: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Cells that differ from the card's background (text excluded), the text cells, and the
    card's area (the hull of the background around its text). ``masked`` cells (painted
    over) count as text: neither background nor picture."""
    import cv2

    text_mask = _blocked(grid, frame, text, 0.25 * frame.text_height)
    if masked is not None:
        text_mask |= masked
    near = cv2.dilate(text_mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    near &= ~cv2.dilate(text_mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    fitted = _background(grid.lab, ~text_mask, near)
    if fitted is None:
        return None
    background, spread = fitted
    distance = np.sqrt(((grid.lab - background) ** 2).sum(axis=2))
    ink = (distance > min(MAX_CONTRAST, max(MIN_CONTRAST, 3.0 * spread))) & ~text_mask
    return ink, text_mask, _card_area(~ink & ~text_mask, text_mask)


def find_portrait(
    rgb: np.ndarray,
    frame: CardFrame,
    region: Box,
    text: Sequence[Quad],
    avoid: Sequence[Quad] = (),
    rows: Box | None = None,
    exclude: Sequence[Quad] = (),
) -> Found | None:
    """The photo area inside ``region`` (card-aligned), away from the ``text`` lines.

    ``avoid`` are lines that must stay visible (values the policy keeps): the margin added
    around the photo stops short of them. ``rows`` (card-aligned) is where the card's text
    rows are: a photo is printed beside them, so a blob mostly above or below them (a
    shadow, the page a card lies on) is not one. ``exclude`` are areas known to be something
    else (a seal), taken out exactly, without the margin text gets.
    """
    import cv2

    grid = _resample(rgb, frame, region)
    if grid is None:
        return None
    h_cells = CELLS_PER_TEXT_HEIGHT
    found = _ink(grid, frame, text)
    if found is None:
        return None
    ink, text_mask, card = found
    # the card's own background, grown from between its lines, bounds it more tightly than
    # a fit that a page or table of nearly the card's grey also matches
    card &= _whole_card(grid, text_mask, _between_lines(text_mask))[1]
    # Red seal ink (and its faint rim) is not a photo, and nothing off the card is.
    ink &= ~cv2.dilate(grid.red.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ink &= card
    if exclude:
        ink &= ~_blocked(grid, frame, exclude, 0.0)
    closed = cv2.morphologyEx(
        ink.astype(np.uint8), cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    )
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    best: tuple[float, tuple[int, int, int, int, int]] | None = None
    small: tuple[float, tuple[int, int, int, int, int]] | None = None
    for x, y, w, h, area in _figures(stats[1:count], h_cells):
        tall = h / h_cells
        if not (MIN_SMALL_PORTRAIT_HEIGHT <= tall <= MAX_PORTRAIT_HEIGHT):
            continue
        if not (MIN_ASPECT <= w / h <= MAX_ASPECT):
            continue
        fill = area / float(w * h)
        if fill < MIN_FILL:
            continue
        if rows is not None:
            v0 = rows.v0 - grid.region.v0
            v1 = rows.v1 - grid.region.v0
            beside = min(v1, (y + h) * grid.cell) - max(v0, y * grid.cell)
            if beside < 0.5 * h * grid.cell:
                continue
            # printed beside the text, not far beyond it (the table under the card)
            along, across = (r * frame.text_height for r in OUTSIDE_TEXT)
            blob = grid.cell_box(x, y, x + w, y + h)
            if (
                blob.u0 < rows.u0 - along
                or blob.u1 > rows.u1 + along
                or blob.v0 < rows.v0 - across
                or blob.v1 > rows.v1 + across
                # a photo starts about within the rows' length, beside them
                or blob.u0 >= rows.u1 + PHOTO_GAP * frame.text_height
                or blob.u1 <= rows.u0 - PHOTO_GAP * frame.text_height
            ):
                continue
        # The share of the blob's box that is text decides against label columns.
        text_share = float(text_mask[y : y + h, x : x + w].mean())
        if text_share > 0.25:
            continue
        score = area * fill * fill * (1.0 - text_share)  # compact blobs (a face) before ragged ones
        if tall < MIN_PORTRAIT_HEIGHT:
            if small is None or score > small[0]:
                small = (score, (x, y, w, h, area))
        elif best is None or score > best[0]:
            best = (score, (x, y, w, h, area))
    best = best or small
    if best is None:
        return None
    x, y, w, h, area = best[1]
    blob = grid.cell_box(x, y, x + w, y + h)
    fill = area / float(w * h)
    # A figure on a backdrop like the card's: the photo reaches further than the figure,
    # mostly above the head; take the whole tile a photo of that size occupies.
    th = frame.text_height
    side = 0.14 * blob.width + 0.6 * th
    top = 0.22 * blob.height + 0.5 * th
    out = Box(blob.u0 - side, blob.v0 - top, blob.u1 + side, blob.v1 + 0.12 * blob.height + 0.4 * th)
    if _head_only(closed[y : y + h, x : x + w]):
        # a head without shoulders (clothes and backdrop the card's colour, as on a grey
        # photocopy): a head fills the upper half of its photo, which reaches about as far
        # again below the chin, and is about 4:5
        tall = HEAD_TO_PHOTO * blob.height
        wide = max(out.width, PHOTO_ASPECT * tall)
        cu = (blob.u0 + blob.u1) / 2
        out = Box(cu - wide / 2, out.v0, cu + wide / 2, max(out.v1, blob.v0 - 0.12 * tall + tall))
    if out.width > PHOTO_ASPECT * 1.05 * out.height:
        # wider than a photo: only the head showed (shoulders and backdrop the card's grey, as
        # on a photocopy); a head sits at the top of its photo, so the photo reaches further down
        out = Box(out.u0, out.v0, out.u1, out.v0 + out.width / PHOTO_ASPECT)
    # a photo is about 4:5 (a figure alone may be narrower: its backdrop is like the card)
    if out.width < PHOTO_ASPECT * out.height:
        grow = (PHOTO_ASPECT * out.height - out.width) / 2
        out = Box(out.u0 - grow, out.v0, out.u1 + grow, out.v1)
    # clear of kept values (the plan keeps the policy's padding clear of them too)
    out = clear_of(out, blob, [Box.around(frame.to_card(q)) for q in avoid], 0.3 * frame.text_height)
    score = float(min(95.0, 70.0 + 30.0 * fill))
    return Found(out, Polygon.of(frame.to_image(out.corners()).tolist()), score, blob)


def _head_only(blob: np.ndarray) -> bool:
    """Whether a figure's mask (cells) narrows at its bottom, as a head does at the chin:
    shoulders make the bottom of a figure its widest part."""
    rows = blob.astype(bool)
    if rows.shape[0] < 5:
        return False
    spans = []
    for row in rows:
        cols = np.flatnonzero(row)
        spans.append(int(cols[-1] - cols[0] + 1) if cols.size else 0)
    widest = max(spans)
    tail = spans[-max(1, len(spans) // 5) :]
    bottom = sum(tail) / len(tail)
    return widest > 0 and bottom < HEAD_NARROWING * widest


def _figures(stats: np.ndarray, h_cells: float) -> list[tuple[int, int, int, int, int]]:
    """Blobs joined when they nearly touch (a head, a neck and shoulders of other colours are
    one figure): boxes (x, y, w, h) with their summed area, in cells."""
    items = [
        [int(v) for v in row]
        for row in stats
        if int(row[4]) >= 0.5 * h_cells * h_cells and max(row[2], row[3]) <= 6 * min(row[2], row[3])
    ]  # thin strips (a card's shaded edge, a table's border) are no part of a figure
    boxes = [[x, y, x + w, y + h, a] for x, y, w, h, a in items]
    gap = 3.0 * h_cells  # a neck may not stand out from the card
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                # stacked (hair, face, neck, shoulders): overlapping across, close along
                across = min(a[2], b[2]) - max(a[0], b[0])
                if across >= 0.5 * min(a[2] - a[0], b[2] - b[0]) and a[1] - gap <= b[3] and b[1] - gap <= a[3]:
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]), a[4] + b[4]]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return [(x0, y0, x1 - x0, y1 - y0, area) for x0, y0, x1, y1, area in boxes]


def _card_area(background: np.ndarray, text: np.ndarray) -> np.ndarray:
    """The card: the convex hull of the background areas that hold its text (a card is convex,
    so its photo lies inside the hull even where it reaches the card's edge)."""
    import cv2

    count, labels = cv2.connectedComponents(background.astype(np.uint8), connectivity=4)
    if count <= 1:
        return np.ones_like(background)
    near_text = cv2.dilate(text.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    chosen = np.unique(labels[near_text & background])
    chosen = chosen[chosen > 0]
    if chosen.size == 0:
        return np.ones_like(background)
    members = np.isin(labels, chosen)
    ys, xs = np.nonzero(members)
    hull = cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32))
    area = np.zeros(background.shape, dtype=np.uint8)
    cv2.fillConvexPoly(area, hull, 1)
    # the card's own rim (shading, a dark border) is not a photo
    area = np.asarray(cv2.erode(area, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))), dtype=np.uint8)
    return area.astype(bool)


def clear_of(box: Box, core: Box, keep: list[Box], gap: float) -> Box:
    """Shrink ``box`` (never below ``core``) so that it overlaps none of ``keep``."""
    u0, v0, u1, v1 = box.u0, box.v0, box.u1, box.v1
    for k in keep:
        if not Box(u0, v0, u1, v1).overlaps(k) or k.overlaps(core):
            continue
        # move the side that costs least
        options = []
        if k.u1 <= core.u0:
            options.append(("u0", max(u0, k.u1 + gap)))
        if k.u0 >= core.u1:
            options.append(("u1", min(u1, k.u0 - gap)))
        if k.v1 <= core.v0:
            options.append(("v0", max(v0, k.v1 + gap)))
        if k.v0 >= core.v1:
            options.append(("v1", min(v1, k.v0 - gap)))
        if not options:
            continue
        current = {"u0": u0, "v0": v0, "u1": u1, "v1": v1}
        side, value = min(options, key=lambda o: abs(current[o[0]] - o[1]))
        if side == "u0":
            u0 = min(value, core.u0)
        elif side == "u1":
            u1 = max(value, core.u1)
        elif side == "v0":
            v0 = min(value, core.v0)
        else:
            v1 = max(value, core.v1)
    return Box(u0, v0, u1, v1)


def _red(rgb: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # seal ink is red against green and blue alike; skin, however warm, is orange (G well above B)
    return np.asarray((r > 90) & (r > 1.6 * g) & (r > 1.5 * b))


def _faint_red(rgb: np.ndarray) -> np.ndarray:
    """Seal ink washed out to pink (a small, blurred or dim seal): still well above green and
    blue alike; skin, however pale, has green above blue."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.asarray((r > 100) & (r > g + 30) & (r > b + 25) & (b >= g - 10))


def find_seal(rgb: np.ndarray, frame: CardFrame, region: Box, text: Sequence[Quad] = ()) -> Found | None:
    """A licence's red seal (the issuing authority) inside ``region``, on the card (the
    background around ``text``; a red shape beside the card is no seal), or ``None``."""
    import cv2

    grid = _resample(rgb, frame, region)
    if grid is None:
        return None
    red = grid.red.astype(np.uint8)
    if text:
        found = _ink(grid, frame, text)
        if found is not None:
            # the seal's ring lies on the card; grow the card a little (a seal may touch its edge)
            card = cv2.dilate(found[2].astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            red &= card.astype(np.uint8)
    closed = cv2.morphologyEx(red, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    best: tuple[int, int] | None = None
    for k in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[k])
        smallest, largest = min(w, h) / CELLS_PER_TEXT_HEIGHT, max(w, h) / CELLS_PER_TEXT_HEIGHT
        if smallest < MIN_SEAL_SIZE or largest > MAX_SEAL_SIZE or not 0.6 <= w / h <= 1.6:
            continue  # a red table or sticker is no seal
        if best is None or area > best[0]:
            best = (area, k)
    if best is None:
        return None
    x, y, w, h, _ = (int(v) for v in stats[best[1]])
    blob = grid.cell_box(x, y, x + w, y + h)
    # a seal is round: the square around its larger extent (a faint arc of its ring may not
    # have shown as red), plus a margin
    half = max(blob.width, blob.height) / 2 + 0.6 * frame.text_height
    cu, cv = (blob.u0 + blob.u1) / 2, (blob.v0 + blob.v1) / 2
    out = Box(cu - half, cv - half, cu + half, cv + half)
    return Found(out, Polygon.of(frame.to_image(out.corners()).tolist()), 92.0, blob)


def frame_from_quads(quads: Sequence[Quad]) -> CardFrame | None:
    """A reading frame from located text quads (AILicenseRec polygons): the length-weighted
    mean direction of their long sides, and their typical short side as the text height."""
    sx = sy = 0.0
    heights = []
    for quad in quads:
        pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 4:
            continue
        e0, e1 = pts[1] - pts[0], pts[2] - pts[1]
        long, short = (e0, e1) if np.linalg.norm(e0) >= np.linalg.norm(e1) else (e1, e0)
        length = float(np.linalg.norm(long))
        if length <= 0:
            continue
        heights.append(float(np.linalg.norm(short)))
        angle = 2 * math.atan2(long[1], long[0])
        sx += length * math.cos(angle)
        sy += length * math.sin(angle)
    if not heights:
        return None
    angle = math.atan2(sy, sx) / 2
    axis = np.array([math.cos(angle), math.sin(angle)])
    # AILicenseRec lists a quad's points in reading order: its first edge runs along the text.
    along = sum(float((np.asarray(q[1], float) - np.asarray(q[0], float)) @ axis) for q in quads if len(q) >= 4)
    if along < 0:
        axis = -axis
    return CardFrame((0.0, 0.0), (float(axis[0]), float(axis[1])), max(4.0, float(np.median(heights))))


#: Where a photo is looked for around the values AILicenseRec located (text heights:
#: left, top, right, bottom); further to the right, where both cards print it.
CLOUD_REACH = (4.0, 2.5, 8.0, 2.5)


def complete_portraits(detection: Detection, image: Image.Image, kept: frozenset[str] = frozenset()) -> Detection:
    """The detection with a portrait found from the pixels for every card that needs one
    and has none (AILicenseRec never returns the photo). Cards where none is found stay
    without: the plan then quarantines them."""
    if detection.portrait_searched:
        return detection
    inferred = detection.card_type or infer_card_type(f.canonical for f in detection.fields if f.canonical)
    groups: dict[CardType, list[LocatedField]] = {}
    for f in detection.fields:
        card_type = f.card_type or inferred
        if card_type is not None and f.canonical is not None:
            groups.setdefault(card_type, []).append(f)
    added: list[LocatedField] = []
    rgb: np.ndarray | None = None
    for card_type, fields in groups.items():
        if PORTRAIT not in FIELDS_BY_CARD[card_type] or any(f.is_portrait for f in fields):
            continue
        if rgb is None:
            rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        quads = [f.polygon.points for f in fields]
        frame = frame_from_quads(quads)
        if frame is None:
            continue
        h = frame.text_height
        hull = Box.around(frame.to_card(np.vstack([np.asarray(q) for q in quads])))
        left, top, right, bottom = CLOUD_REACH
        region = Box(
            hull.u0 - left * h, hull.v0 - top * h, hull.u1 + max(right * h, 0.5 * hull.width), hull.v1 + bottom * h
        )
        avoid = [f.polygon.points for f in fields if f.canonical in kept]
        # the values' extent, grown by where labels and a title would be (AILicenseRec locates
        # values only): the rows the photo stands beside
        rows = Box(hull.u0 - 3.0 * h, hull.v0, hull.u1 + 4.0 * h, hull.v1)
        found = find_portrait(rgb, frame, region, [f.polygon.points for f in detection.fields], avoid, rows)
        if found is not None:
            added.append(
                LocatedField("portrait (found in the pixels)", found.score, found.polygon, card_type, PORTRAIT)
            )
    if not added:
        return detection
    return replace(detection, fields=(*detection.fields, *added))


#: A picture left on the masked card is at least this many text heights tall...
MIN_LEFT_HEIGHT = 1.5
#: ... at least this many wide (a sliver along a mask's edge shows no face)...
MIN_LEFT_WIDTH = 0.7
#: ... or this share of it skin-coloured, over at least this many square text heights of skin
#: (a chin beside a mask).
MIN_LEFT_SKIN = 0.2
MIN_SKIN_AREA = 0.8
#: Colour distance (Lab) within which a cell is the card's own background, for its extent.
CARD_TOLERANCE = 8.0
#: ... which reaches at most this many text heights beyond the card's text and masks (a
#: photo stands beside the text), or this many when no background around the text is left.
CONTENT_MARGIN = 5.0
CONTENT_MARGIN_BARE = 1.5
#: Spread of lightness (Lab L) within a picture left, at least: a face's, not a backdrop's.
MIN_LEFT_TEXTURE = 7.0
#: Colour distance (Lab) from the card that counts as picture on a masked card (lowest,
#: highest): a face and hair stand out far more than the lighting of a bare card does.
LEFT_CONTRAST = (24.0, 36.0)
#: ... and covers at least this many square text heights (a face's remnant, not a speck).
MIN_LEFT_AREA = 2.5


def pictures_left(
    rgb: np.ndarray,
    frame: CardFrame,
    region: Box,
    text: Sequence[Quad],
    masked: np.ndarray,
    original: np.ndarray | None = None,
) -> list[Box]:
    """Picture-sized areas inside ``region`` that differ from the card's background, hold no
    ``text`` and lie outside the ``masked`` pixels (a boolean image): on a masked card whose
    photo should be covered, what is left of a face. Same background model as
    :func:`find_portrait`, asked the opposite question on the masked pixels (no shape test:
    any part of a face counts). ``original`` (the unmasked RGB image), when given, tells the
    card's extent: there its background is whole, not cut by masks that may reach beyond it."""
    import cv2

    grid = _resample(rgb, frame, region)
    if grid is None:
        return []
    painted = _resample_mask(masked, frame, grid)
    grown = cv2.dilate(painted.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    lines = _blocked(grid, frame, text, 0.25 * frame.text_height)
    near = _between_lines(lines) & ~grown
    whole = _resample(original, frame, region) if original is not None else None
    card: np.ndarray | None
    if whole is not None:
        # the card's background as the unmasked image shows it, all over the card: what the
        # masks left of it seeds the fit (next to the text alone, a fit bends away from the
        # far side of the card, where the photo is)
        background_cells, card = _whole_card(whole, lines, near)
        seeds = background_cells & ~grown & ~lines
        if seeds.sum() < MIN_INNER_SEEDS:
            seeds = near
    else:
        # the background is learnt next to the text lines only (beside a mask may be what is
        # left of the photo)
        seeds, card = near, None
    # a curved surface: a phone's light falls off across a card
    fitted = _background(grid.lab, ~lines & ~grown, seeds, curved=True)
    if fitted is None:
        return []
    background, spread = fitted
    distance = np.sqrt(((grid.lab - background) ** 2).sum(axis=2))
    low, high = LEFT_CONTRAST
    # skin stands out less from a pale card than hair does: skin-coloured cells count from
    # the portrait finder's lower contrast on
    skin = _skin(grid.rgb) & (distance > MIN_CONTRAST)
    ink = ((distance > min(high, max(low, 3.0 * spread))) | skin) & ~lines & ~grown
    if card is None:
        # the card is the background around its text lines (a mask may reach beyond the
        # card), taken tightly: a table of nearly the card's colour must not join it
        card = _card_extent(grid, lines, grown, near)
    if card is None:
        return []
    ink &= ~cv2.dilate(grid.red.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ink &= card
    closed = cv2.morphologyEx(
        ink.astype(np.uint8), cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    )
    closed = (closed.astype(bool) & ~grown).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    h_cells = CELLS_PER_TEXT_HEIGHT
    out: list[Box] = []
    # each remnant on its own: joined like a figure, the leftover pieces of labels cut by
    # masks would make one
    for x, y, w, h, area in (tuple(int(v) for v in row) for row in stats[1:count]):
        if max(w, h) < MIN_LEFT_HEIGHT * h_cells or min(w, h) < MIN_LEFT_WIDTH * h_cells:
            continue
        inside = closed[y : y + h, x : x + w] > 0
        patch = grid.lab[y : y + h, x : x + w][inside]
        if not patch.size:
            continue
        skin = float(_skin(grid.rgb[y : y + h, x : x + w][inside]).mean())
        # a face (skin, hair, eyes) varies in lightness, or shows skin; a strip of a photo's
        # plain backdrop, the table beside the card or a shadow does neither
        textured = float(patch[:, 0].std()) >= MIN_LEFT_TEXTURE and area >= MIN_LEFT_AREA * h_cells * h_cells
        skinned = skin >= MIN_LEFT_SKIN and area * skin >= MIN_SKIN_AREA * h_cells * h_cells
        if textured or skinned:
            out.append(grid.cell_box(x, y, x + w, y + h))
    return out


#: Red ink left on a masked licence counts from this extent (text heights) and area (square
#: text heights): a seal's ring, whole or in part, not a red speck or a character.
MIN_RED_LEFT = (2.0, 1.5)


def red_left(rgb: np.ndarray, frame: CardFrame, region: Box, text: Sequence[Quad], masked: np.ndarray) -> list[Box]:
    """Seal ink (red, or washed out to pink) on the card (around its ``text``), outside the
    ``masked`` pixels, inside ``region``: on a licence whose issuing authority is masked,
    what is left of its seal, whole or in part."""
    import cv2

    grid = _resample(rgb, frame, region, faint_red=True)
    if grid is None:
        return []
    painted = cv2.dilate(_resample_mask(masked, frame, grid).astype(np.uint8), np.ones((3, 3), np.uint8))
    red = grid.red.astype(np.uint8) & (1 - painted).astype(np.uint8)
    found = _ink(grid, frame, text, painted.astype(bool))
    if found is None:
        return []
    # ink (not the card's own pink tint, not its text), on the card (a red shape on the
    # table is no seal)
    ink, text_cells, _ = found
    lines = _blocked(grid, frame, text, 0.25 * frame.text_height)
    near = _between_lines(lines)
    card = _card_extent(grid, lines, painted.astype(bool), near)
    if card is None:
        return []
    red &= card.astype(np.uint8) & ink.astype(np.uint8) & (~text_cells).astype(np.uint8)
    closed = cv2.morphologyEx(red, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    extent, area = (v * CELLS_PER_TEXT_HEIGHT for v in MIN_RED_LEFT)
    out = []
    for k in range(1, count):
        x, y, w, h, a = (int(v) for v in stats[k])
        # a seal's ring, or a crescent of it beside a mask; not a straight strip (the card's
        # edge against a red table)
        roundish = min(w, h) >= 0.75 * extent and max(w, h) <= 4 * min(w, h)
        if roundish and max(w, h) >= extent and a >= area * CELLS_PER_TEXT_HEIGHT:
            out.append(grid.cell_box(x, y, x + w, y + h))
    return out


def _card_extent(grid: _Grid, lines: np.ndarray, masked: np.ndarray, near: np.ndarray) -> np.ndarray | None:
    """The card on a masked image: the hull of the cells within a tight tolerance of a flat
    background fit (a curved fit, extrapolated beyond the text, may match the table; a
    loose tolerance lets a table of nearly the card's colour join it) around the lines."""
    flat = _background(grid.lab, ~lines & ~masked, near)
    if flat is None:
        return None
    distance = np.sqrt(((grid.lab - flat[0]) ** 2).sum(axis=2))
    tight = np.asarray((distance <= max(CARD_TOLERANCE, 2.5 * flat[1])) & ~lines & ~masked)
    # and no further than a little beyond what is printed or masked on it (when masks cover
    # most of the card, little background is left to tell its edge)
    area = _card_area(tight, lines)
    if area.all():
        # no background found around the text (masks cover most of the card): only what is
        # printed or masked on it, and a little around it, is surely card
        return _hull_of(lines | masked, int(CONTENT_MARGIN_BARE * CELLS_PER_TEXT_HEIGHT))
    content = _hull_of(lines | masked, int(CONTENT_MARGIN * CELLS_PER_TEXT_HEIGHT))
    return np.asarray(area & content, dtype=bool)


#: Cells next to the text lines that seed the card's background: at least this many inside
#: the lines' hull, else the whole ring around them.
MIN_INNER_SEEDS = 40


def _between_lines(lines: np.ndarray) -> np.ndarray:
    """Cells next to the text lines, and between them where there are enough: surely card. A
    ring around the outermost lines reaches past the card's edge (a label printed near it)
    onto the table, and a background fitted to both fits neither."""
    import cv2

    ring = cv2.dilate(lines.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    ring &= ~cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    inner = ring & _hull_of(lines, 0)
    return inner if inner.sum() >= MIN_INNER_SEEDS else ring


#: Neighbouring cells of one card background differ by at most this much (Lab, per channel):
#: its light changes smoothly, its edge against the table is a step...
CARD_STEP = 3.0
#: ... and cells two apart by at most this much (Lab distance): a blurred edge, or a shadow
#: beside the card, is a slope many cells long, far steeper than the light across a card.
CARD_EDGE = 7.0
#: The card's background keeps its colour (Lab a, b) within this distance of what lies next
#: to its text: light changes its lightness, a table of another colour differs in hue.
CARD_CHROMA = 12.0
#: The card's background is grown from at most this many seed cells.
CARD_SEEDS = 24


def _whole_card(grid: _Grid, lines: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The card on the unmasked image: its background cells, and its area (their hull: a
    photo inside the card is inside it), grown cell by cell from next to its text. Growing follows the card's
    lighting wherever it goes and stops at its edge (a step, a slope, another hue); where the
    table is of the card's colour it runs on, and the answer is too large (a false alarm at
    worst, never a remnant left out)."""
    import cv2

    h, w = lines.shape
    seeds = np.flatnonzero((near & ~lines).ravel())
    everything = np.ones(lines.shape, dtype=bool)
    if seeds.size == 0:
        return near, everything
    lab = np.ascontiguousarray(grid.lab, dtype=np.float32)
    padded = np.pad(lab, ((1, 1), (1, 1), (0, 0)), mode="edge")
    across = np.sqrt(((padded[1:-1, 2:] - padded[1:-1, :-2]) ** 2).sum(axis=2))
    down = np.sqrt(((padded[2:, 1:-1] - padded[:-2, 1:-1]) ** 2).sum(axis=2))
    hue = np.median(lab.reshape(-1, 3)[seeds, 1:], axis=0)
    off_hue = np.sqrt(((lab[..., 1:] - hue) ** 2).sum(axis=2)) > CARD_CHROMA
    blocked = np.zeros((h + 2, w + 2), np.uint8)
    blocked[1:-1, 1:-1] = lines | off_hue | (np.maximum(across, down) > CARD_EDGE)
    step = (CARD_STEP,) * 3
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    for index in seeds[:: max(1, seeds.size // CARD_SEEDS)]:
        y, x = divmod(int(index), w)
        if blocked[y + 1, x + 1] == 0:
            cv2.floodFill(lab, blocked, (x, y), (0, 0, 0), step, step, flags)
    grown = blocked[1:-1, 1:-1] == 255
    if not grown.any():
        return near, everything
    return grown, _card_area(grown, lines)


def _hull_of(cells: np.ndarray, grow: int) -> np.ndarray:
    """The convex hull of the set cells, dilated by ``grow`` cells."""
    import cv2

    ys, xs = np.nonzero(cells)
    out = np.zeros(cells.shape, dtype=np.uint8)
    if xs.size:
        hull = cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32))
        cv2.fillConvexPoly(out, hull, 1)
        k = 2 * grow + 1
        out = np.asarray(cv2.dilate(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))), dtype=np.uint8)
    return out.astype(bool)


def _skin(rgb: np.ndarray) -> np.ndarray:
    """Skin-coloured pixels (after Kovac et al.'s daylight rule, loosened for pale skin under
    cool light; green well above a saturated red's): a cheek or a chin left beside a mask."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    return np.asarray((r > 95) & (g > 40) & (b > 20) & (spread > 15) & (r > g + 8) & (g > b + 8) & (g > 0.4 * r))


def _resample_mask(mask: np.ndarray, frame: CardFrame, grid: _Grid) -> np.ndarray:
    """A boolean image resampled on the grid's cells (a cell is set when any of it is)."""
    import cv2

    h, w = grid.lab.shape[:2]
    a, n = np.asarray(frame.axis), np.asarray(frame.normal)
    origin = frame.to_image([(grid.region.u0, grid.region.v0)])[0]
    c = grid.cell
    matrix = np.array([[a[0] * c, n[0] * c, origin[0]], [a[1] * c, n[1] * c, origin[1]]])
    small = cv2.warpAffine(
        mask.astype(np.uint8) * 255,
        matrix,
        (w, h),
        flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return np.asarray(small > 0)
