"""What is left of a picture or a seal on a masked card: the verifier's question, answered
with the portrait finder's background model asked the opposite way (no shape test: any part
of a face, any arc of a seal's ring counts).

Pure computation on arrays (numpy, OpenCV); no files, no network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from redactor.core.cells import (
    CELLS_PER_TEXT_HEIGHT,
    MIN_CONTRAST,
    Grid,
    cells_under,
    fit_background,
    ink_cells,
    resample,
    resample_mask,
    skin_coloured,
)
from redactor.core.extent import MIN_INNER_SEEDS, between_lines, card_extent, whole_card
from redactor.core.frame import Box, CardFrame, Quad

#: A picture left on the masked card is at least this many text heights tall...
MIN_LEFT_HEIGHT = 1.5
#: ... at least this many wide (a sliver along a mask's edge shows no face)...
MIN_LEFT_WIDTH = 0.7
#: ... or this share of it skin-coloured, over at least this many square text heights of skin
#: (a chin beside a mask).
MIN_LEFT_SKIN = 0.2
MIN_SKIN_AREA = 0.8
#: Spread of lightness (Lab L) within a picture left, at least: a face's, not a backdrop's.
MIN_LEFT_TEXTURE = 7.0
#: Colour distance (Lab) from the card that counts as picture on a masked card (lowest,
#: highest): a face and hair stand out far more than the lighting of a bare card does.
LEFT_CONTRAST = (24.0, 36.0)
#: A remnant touching the photo's mask counts from this many square text heights on.
MIN_PHOTO_EDGE_AREA = 1.0
#: ... and covers at least this many square text heights (a face's remnant, not a speck).
MIN_LEFT_AREA = 2.5
#: A sliver along a mask's edge narrower than MIN_LEFT_WIDTH (but at least this many text
#: heights across, at least MIN_LEFT_HEIGHT long) counts when it is hair-dark: cells this far
#: from the card's colour (Lab). The top of a head beside a mask that missed the photo.
MIN_SLIVER_WIDTH = 0.3
SLIVER_CONTRAST = 60.0
#: ... in at least this share of its cells (the rest may be skin: an ear, a cheek).
SLIVER_HAIR = 0.25


def pictures_left(
    rgb: np.ndarray,
    frame: CardFrame,
    region: Box,
    text: Sequence[Quad],
    masked: np.ndarray,
    original: np.ndarray | None = None,
    photo: np.ndarray | None = None,
) -> list[Box]:
    """Picture-sized areas inside ``region`` that differ from the card's background, hold no
    ``text`` and lie outside the ``masked`` pixels (a boolean image): on a masked card whose
    photo should be covered, what is left of a face. Same background model as
    :func:`find_portrait`, asked the opposite question on the masked pixels (no shape test:
    any part of a face counts). ``original`` (the unmasked RGB image), when given, tells the
    card's extent: there its background is whole, not cut by masks that may reach beyond it.
    ``photo`` (a boolean image) is where the photo's own mask was painted: a remnant touching
    it is the photo going on past its mask (a backdrop strip, a shoulder's plain cloth), and
    counts whatever its texture."""
    import cv2

    grid = resample(rgb, frame, region)
    if grid is None:
        return []
    painted = resample_mask(masked, frame, grid)
    grown = cv2.dilate(painted.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    lines = cells_under(grid, frame, text, 0.25 * frame.text_height)
    near = between_lines(lines) & ~grown
    whole = resample(original, frame, region) if original is not None else None
    card: np.ndarray | None
    if whole is not None:
        # the card's background as the unmasked image shows it, all over the card: what the
        # masks left of it seeds the fit (next to the text alone, a fit bends away from the
        # far side of the card, where the photo is)
        background_cells, card = whole_card(whole, lines, near)
        seeds = background_cells & ~grown & ~lines
        if seeds.sum() < MIN_INNER_SEEDS:
            seeds = near
    else:
        # the background is learnt next to the text lines only (beside a mask may be what is
        # left of the photo)
        seeds, card = near, None
    # a curved surface: a phone's light falls off across a card
    fitted = fit_background(grid.lab, ~lines & ~grown, seeds, curved=True)
    if fitted is None:
        return []
    background, spread = fitted
    distance = np.sqrt(((grid.lab - background) ** 2).sum(axis=2))
    low, high = LEFT_CONTRAST
    # skin stands out less from a pale card than hair does: skin-coloured cells count from
    # the portrait finder's lower contrast on
    skin = skin_coloured(grid.rgb) & (distance > MIN_CONTRAST)
    ink = ((distance > min(high, max(low, 3.0 * spread))) | skin) & ~lines & ~grown
    if card is None:
        # the card is the background around its text lines (a mask may reach beyond the
        # card), taken tightly: a table of nearly the card's colour must not join it
        card = card_extent(grid, lines, grown, near)
    if card is None:
        return []
    off_red = ~cv2.dilate(grid.red.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ink &= off_red & card
    closed = cv2.morphologyEx(
        ink.astype(np.uint8), cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    )
    closed = (closed.astype(bool) & ~grown).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    h_cells = CELLS_PER_TEXT_HEIGHT
    beside_photo = np.zeros(closed.shape, dtype=bool)
    if photo is not None:
        painted_photo = resample_mask(photo, frame, grid)
        beside_photo = cv2.dilate(painted_photo.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    out: list[Box] = _slivers(grid, distance, painted, lines | ~off_red | ~card)
    # each remnant on its own: joined like a figure, the leftover pieces of labels cut by
    # masks would make one
    for index, (x, y, w, h, area) in enumerate((tuple(int(v) for v in row) for row in stats[1:count]), start=1):
        if max(w, h) < MIN_LEFT_HEIGHT * h_cells or min(w, h) < MIN_LEFT_WIDTH * h_cells:
            continue
        inside = labels[y : y + h, x : x + w] == index
        if area >= MIN_PHOTO_EDGE_AREA * h_cells * h_cells and beside_photo[y : y + h, x : x + w][inside].any():
            out.append(grid.cell_box(x, y, x + w, y + h))
            continue
        patch = grid.lab[y : y + h, x : x + w][inside]
        if not patch.size:
            continue
        skin = float(skin_coloured(grid.rgb[y : y + h, x : x + w][inside]).mean())
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
#: A red remnant counts when this share of it stands out from the card's background...
MIN_RED_INK_SHARE = 0.5
#: ... or when it covers at most this share of its box: a seal's ring, thin strokes.
MAX_RED_RING_FILL = 0.6


def _slivers(grid: Grid, distance: np.ndarray, painted: np.ndarray, excluded: np.ndarray) -> list[Box]:
    """Hair-dark slivers along a mask's edge, too narrow for :func:`pictures_left`'s test
    (which leaves a cell's margin around every mask): text and seal red are not slivers.
    Skin beside the hair (an ear) is part of the sliver; a cell half under the mask's edge
    may stand between it and the mask. ``excluded``: cells no sliver may hold (text, seal
    red, off the card)."""
    import cv2

    dark = distance > SLIVER_CONTRAST
    face = dark | (skin_coloured(grid.rgb) & (distance > MIN_CONTRAST))
    face &= ~painted & ~excluded
    touching = cv2.dilate(painted.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(face.astype(np.uint8), connectivity=8)
    h_cells = CELLS_PER_TEXT_HEIGHT
    out: list[Box] = []
    for index, (x, y, w, h, area) in enumerate((tuple(int(v) for v in row) for row in stats[1:count]), start=1):
        # its thickness on average (a slanted sliver's box is wide and tall)
        if max(w, h) < MIN_LEFT_HEIGHT * h_cells or area < MIN_SLIVER_WIDTH * h_cells * max(w, h):
            continue
        inside = labels[y : y + h, x : x + w] == index
        if dark[y : y + h, x : x + w][inside].mean() < SLIVER_HAIR:
            continue
        if touching[y : y + h, x : x + w][inside].any():
            out.append(grid.cell_box(x, y, x + w, y + h))
    return out


def red_left(rgb: np.ndarray, frame: CardFrame, region: Box, text: Sequence[Quad], masked: np.ndarray) -> list[Box]:
    """Seal ink (red, or washed out to pink) on the card (around its ``text``), outside the
    ``masked`` pixels, inside ``region``: on a licence whose issuing authority is masked,
    what is left of its seal, whole or in part."""
    import cv2

    grid = resample(rgb, frame, region, faint_red=True)
    if grid is None:
        return []
    painted = cv2.dilate(resample_mask(masked, frame, grid).astype(np.uint8), np.ones((3, 3), np.uint8))
    red = grid.red.astype(np.uint8) & (1 - painted).astype(np.uint8)
    found = ink_cells(grid, frame, text, painted.astype(bool))
    if found is None:
        return []
    # on the card (a red shape on the table is no seal); the seal's own characters may have
    # been detected as lines of text, so red under text lines counts too
    ink, _, _ = found
    lines = cells_under(grid, frame, text, 0.25 * frame.text_height)
    near = between_lines(lines)
    card = card_extent(grid, lines, painted.astype(bool), near)
    if card is None:
        return []
    red &= card.astype(np.uint8)
    closed = cv2.morphologyEx(red, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    extent, area = (v * CELLS_PER_TEXT_HEIGHT for v in MIN_RED_LEFT)
    out = []
    for k in range(1, count):
        x, y, w, h, a = (int(v) for v in stats[k])
        # a seal's ring, or a crescent of it beside a mask; not a straight strip (the card's
        # edge against a red table)
        roundish = min(w, h) >= 0.75 * extent and max(w, h) <= 4 * min(w, h)
        if not (roundish and max(w, h) >= extent and a >= area * CELLS_PER_TEXT_HEIGHT):
            continue
        # ink that stands out from the card, or a ring's thin lines (finer than a cell, they
        # hardly move a cell's colour); not a wash of pink over the card (solid)
        member = labels[y : y + h, x : x + w] == k
        stands_out = float(ink[y : y + h, x : x + w][member].mean()) >= MIN_RED_INK_SHARE
        if stands_out or a <= MAX_RED_RING_FILL * w * h:
            out.append(grid.cell_box(x, y, x + w, y + h))
    return out
