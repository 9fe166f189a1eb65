"""The search grid: a region of a card resampled on card-aligned cells, and what the cells
say: the card's background (a smooth colour field fitted robustly), what differs from it
(ink), which cells text covers, seal red, skin colour.

Pure computation on arrays (numpy, OpenCV); no files, no network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from redactor.core.frame import Box, CardFrame, Quad

#: Cells per text height in the search grid: fine enough for a photo's outline, coarse
#: enough that the card's guilloche lines (1-2 px) average out.
CELLS_PER_TEXT_HEIGHT = 5.0
#: Lowest colour distance (Lab units) from the background that counts as "not card".
MIN_CONTRAST = 12.0
#: ... and the highest it is ever raised to on a noisy or blurred capture (a pale photo
#: backdrop is about this far from a pale card).
MAX_CONTRAST = 24.0
#: A cell holds seal ink when this share of its pixels is red.
RED_SHARE = 0.12


@dataclass
class Grid:
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


def resample(rgb: np.ndarray, frame: CardFrame, region: Box, faint_red: bool = False) -> Grid | None:
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
    red_pixels = (faint_red_ink if faint_red else red_ink)(warped.astype(np.float32)).astype(np.float32)
    red = cv2.resize(red_pixels, (cols, rows), interpolation=cv2.INTER_AREA) > RED_SHARE
    return Grid(lab, small, np.asarray(red), cell, region)


def resample_mask(mask: np.ndarray, frame: CardFrame, grid: Grid) -> np.ndarray:
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


def fit_background(
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


def cells_under(grid: Grid, frame: CardFrame, quads: Sequence[Quad], grow: float) -> np.ndarray:
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


def ink_cells(
    grid: Grid,
    frame: CardFrame,
    text: Sequence[Quad],
    masked: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Cells that differ from the card's background (text excluded), the text cells, and the
    card's area (the hull of the background around its text). ``masked`` cells (painted
    over) count as text: neither background nor picture."""
    import cv2

    text_mask = cells_under(grid, frame, text, 0.25 * frame.text_height)
    if masked is not None:
        text_mask |= masked
    near = cv2.dilate(text_mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    near &= ~cv2.dilate(text_mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    fitted = fit_background(grid.lab, ~text_mask, near)
    if fitted is None:
        return None
    background, spread = fitted
    distance = np.sqrt(((grid.lab - background) ** 2).sum(axis=2))
    ink = (distance > min(MAX_CONTRAST, max(MIN_CONTRAST, 3.0 * spread))) & ~text_mask
    return ink, text_mask, card_area(~ink & ~text_mask, text_mask)


def card_area(background: np.ndarray, text: np.ndarray) -> np.ndarray:
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


def hull_of(cells: np.ndarray, grow: int) -> np.ndarray:
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


def red_ink(rgb: np.ndarray) -> np.ndarray:
    """Pixels of seal ink: red well above green and blue alike."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # seal ink is red against green and blue alike; skin, however warm, is orange (G well above B)
    return np.asarray((r > 90) & (r > 1.6 * g) & (r > 1.5 * b))


def faint_red_ink(rgb: np.ndarray) -> np.ndarray:
    """Seal ink washed out to pink (a small, blurred or dim seal): still well above green and
    blue alike; skin, however pale, has green above blue."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.asarray((r > 100) & (r > g + 30) & (r > b + 25) & (b >= g - 10))


def skin_coloured(rgb: np.ndarray) -> np.ndarray:
    """Skin-coloured pixels (after Kovac et al.'s daylight rule, loosened for pale skin under
    cool light; green well above a saturated red's): a cheek or a chin left beside a mask."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    return np.asarray((r > 95) & (g > 40) & (b > 20) & (spread > 15) & (r > g + 8) & (g > b + 8) & (g > 0.4 * r))
