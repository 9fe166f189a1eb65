"""Where the card is among the cells: grown from its background beside its text on the
unmasked image (a flood fill that follows its lighting and stops at its edge), or taken
tightly around its text and masks on a masked one.

Pure computation on arrays (numpy, OpenCV); no files, no network.
"""

from __future__ import annotations

import numpy as np

from redactor.core.cells import CELLS_PER_TEXT_HEIGHT, Grid, card_area, fit_background, hull_of

#: Colour distance (Lab) within which a cell is the card's own background, for its extent.
CARD_TOLERANCE = 8.0
#: ... which reaches at most this many text heights beyond the card's text and masks (a
#: photo stands beside the text), or this many when no background around the text is left.
CONTENT_MARGIN = 5.0
CONTENT_MARGIN_BARE = 1.5


def card_extent(grid: Grid, lines: np.ndarray, masked: np.ndarray, near: np.ndarray) -> np.ndarray | None:
    """The card on a masked image: the hull of the cells within a tight tolerance of a flat
    background fit (a curved fit, extrapolated beyond the text, may match the table; a
    loose tolerance lets a table of nearly the card's colour join it) around the lines."""
    flat = fit_background(grid.lab, ~lines & ~masked, near)
    if flat is None:
        return None
    distance = np.sqrt(((grid.lab - flat[0]) ** 2).sum(axis=2))
    tight = np.asarray((distance <= max(CARD_TOLERANCE, 2.5 * flat[1])) & ~lines & ~masked)
    # and no further than a little beyond what is printed or masked on it (when masks cover
    # most of the card, little background is left to tell its edge)
    area = card_area(tight, lines)
    if area.all():
        # no background found around the text (masks cover most of the card): only what is
        # printed or masked on it, and a little around it, is surely card
        return hull_of(lines | masked, int(CONTENT_MARGIN_BARE * CELLS_PER_TEXT_HEIGHT))
    content = hull_of(lines | masked, int(CONTENT_MARGIN * CELLS_PER_TEXT_HEIGHT))
    return np.asarray(area & content, dtype=bool)


#: Cells next to the text lines that seed the card's background: at least this many inside
#: the lines' hull, else the whole ring around them.
MIN_INNER_SEEDS = 40


def between_lines(lines: np.ndarray) -> np.ndarray:
    """Cells next to the text lines, and between them where there are enough: surely card. A
    ring around the outermost lines reaches past the card's edge (a label printed near it)
    onto the table, and a background fitted to both fits neither."""
    import cv2

    ring = cv2.dilate(lines.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    ring &= ~cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    inner = ring & hull_of(lines, 0)
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


def whole_card(grid: Grid, lines: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    return grown, card_area(grown, lines)
