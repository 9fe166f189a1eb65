"""Find a card's photo (and a licence's red seal) from the pixels, for every locator.

A portrait's place differs between card designs and print versions, so it is looked for,
not inferred from a template: the photo area is the region of the card that holds no
text and differs from the card's background (face, hair, shoulders, photo backdrop).
The card's background is modelled as a smooth colour field (a plane per channel, fitted
robustly over the cells without text), each cell's distance from it is thresholded, text
is cut out, and the largest compact portrait-sized blob wins. Its whole extent plus a
margin is masked. When nothing convincing is found the caller gets ``None`` and the
image is quarantined: a guessed position is never passed off as a found one.

The grid and its background model are :mod:`redactor.core.cells`, where the card is on it
:mod:`redactor.core.extent`; what is left of a photo on a masked card, the same model asked
the opposite way, is :mod:`redactor.core.remnants`.

Pure computation on arrays (numpy, OpenCV); no files, no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from PIL import Image

from redactor.core.cells import CELLS_PER_TEXT_HEIGHT, cells_under, ink_cells, resample
from redactor.core.extent import between_lines, whole_card
from redactor.core.fields import FIELDS_BY_CARD, PORTRAIT, CardType, infer_card_type
from redactor.core.frame import Box, CardFrame, Found, Quad, clear_of, frame_from_quads
from redactor.core.results import Detection, LocatedField, Polygon

#: A portrait is this many text heights tall at least / at most...
MIN_PORTRAIT_HEIGHT = 2.8
#: ... or this many, when nothing that tall is found (a photo small beside text heights that
#: two-line labels inflate).
MIN_SMALL_PORTRAIT_HEIGHT = 2.0
MAX_PORTRAIT_HEIGHT = 13.5
#: ... and this wide for its height.
MIN_ASPECT, MAX_ASPECT = 0.3, 1.6
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
#: ... and the widest of them (the ID card's): a photo whose backdrop is the card's grey is
#: grown to this width for its height, so that neither card's photo is masked short.
WIDEST_PHOTO_ASPECT = 0.82
#: Share of its bounding box a portrait blob fills, at least.
MIN_FILL = 0.25
#: The photo's box grows by this share of its size on every side (a slanted photo's
#: corners reach beyond a box along the text's rows).
PERSPECTIVE_SLACK = 0.06
#: A photo whose blob comes this close to the search region's edge (text heights) may be
#: cut by it: the region is widened by this many on that side and the photo looked for again.
EDGE_CELLS = 0.3
REGION_GROWTH = 6.0
#: Seal: red ink (RGB: R high, G and B well below it), at least this many text heights across.
MIN_SEAL_SIZE = 2.0
#: ... and at most this many (a licence's seal is about 40 mm across its 60 mm height).
MAX_SEAL_SIZE = 12.0
#: A seal's ring, characters and star cover at most this share of its square (closed);
#: a red sticker or the table along the card's edge is solid.
MAX_SEAL_FILL = 0.7


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

    A photo cut by the edge of ``region`` (a short value column leaves it narrow) is looked
    for again with the region widened on that side: the card's extent bounds it anyway.
    """
    found = _portrait_in(rgb, frame, region, text, avoid, rows, exclude)
    if found is None or found.core is None:
        return found
    core, reach, edge = found.core, REGION_GROWTH * frame.text_height, EDGE_CELLS * frame.text_height
    grown = Box(
        region.u0 - (reach if core.u0 - region.u0 <= edge else 0.0),
        region.v0 - (reach if core.v0 - region.v0 <= edge else 0.0),
        region.u1 + (reach if region.u1 - core.u1 <= edge else 0.0),
        region.v1 + (reach if region.v1 - core.v1 <= edge else 0.0),
    )
    if grown == region:
        return found
    return _portrait_in(rgb, frame, grown, text, avoid, rows, exclude) or found


def _portrait_in(
    rgb: np.ndarray,
    frame: CardFrame,
    region: Box,
    text: Sequence[Quad],
    avoid: Sequence[Quad],
    rows: Box | None,
    exclude: Sequence[Quad],
) -> Found | None:
    import cv2

    grid = resample(rgb, frame, region)
    if grid is None:
        return None
    h_cells = CELLS_PER_TEXT_HEIGHT
    found = ink_cells(grid, frame, text)
    if found is None:
        return None
    ink, text_mask, card = found
    # the card's own background, grown from between its lines, bounds it more tightly than
    # a fit that a page or table of nearly the card's grey also matches
    card &= whole_card(grid, text_mask, between_lines(text_mask))[1]
    # Red seal ink (and its faint rim) is not a photo, and nothing off the card is.
    ink &= ~cv2.dilate(grid.red.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ink &= card
    if exclude:
        ink &= ~cells_under(grid, frame, exclude, 0.0)
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
        wide = max(out.width, WIDEST_PHOTO_ASPECT * tall)
        cu = (blob.u0 + blob.u1) / 2
        out = Box(cu - wide / 2, out.v0, cu + wide / 2, max(out.v1, blob.v0 - 0.12 * tall + tall))
    if out.width > PHOTO_ASPECT * 1.05 * out.height:
        # wider than a photo: only the head showed (shoulders and backdrop the card's grey, as
        # on a photocopy); a head sits at the top of its photo, so the photo reaches further down
        out = Box(out.u0, out.v0, out.u1, out.v0 + out.width / PHOTO_ASPECT)
    # a photo is about 4:5 (a figure alone may be narrower: its backdrop is like the card)
    if out.width < WIDEST_PHOTO_ASPECT * out.height:
        grow = (WIDEST_PHOTO_ASPECT * out.height - out.width) / 2
        out = Box(out.u0 - grow, out.v0, out.u1 + grow, out.v1)
    # the card frame is the text's, a rotation: on a card photographed at a slant the photo's
    # edges run at another angle than the rows, more so the further it lies from them
    slack_u, slack_v = PERSPECTIVE_SLACK * out.width, PERSPECTIVE_SLACK * out.height
    out = Box(out.u0 - slack_u, out.v0 - slack_v, out.u1 + slack_u, out.v1 + slack_v)
    for seal in (Box.around(frame.to_card(q)) for q in exclude):
        # a seal printed over the photo's edge hides where the photo ends: the photo may go
        # on under it as far as the seal reaches, so its box does too
        if seal.u0 < out.u1 and out.u0 < seal.u1 and seal.v0 < out.v1 and out.v0 < seal.v1:
            out = Box(
                seal.u0 if seal.u0 < out.u0 < seal.u1 else out.u0,
                seal.v0 if seal.v0 < out.v0 < seal.v1 else out.v0,
                seal.u1 if seal.u0 < out.u1 < seal.u1 else out.u1,
                seal.v1 if seal.v0 < out.v1 < seal.v1 else out.v1,
            )
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


def find_seal(rgb: np.ndarray, frame: CardFrame, region: Box, text: Sequence[Quad] = ()) -> Found | None:
    """A licence's red seal (the issuing authority) inside ``region``, on the card (the
    background around ``text``; a red shape beside the card is no seal), or ``None``. Seal
    ink is looked for as red first, then washed out to pink (a phone photo's seal)."""
    for faint in (False, True):
        found = _seal_in(rgb, frame, region, text, faint)
        if found is not None:
            return found
    return None


def _seal_in(rgb: np.ndarray, frame: CardFrame, region: Box, text: Sequence[Quad], faint: bool) -> Found | None:
    import cv2

    grid = resample(rgb, frame, region, faint_red=faint)
    if grid is None:
        return None
    red = grid.red.astype(np.uint8)
    if text:
        found = ink_cells(grid, frame, text)
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
        if area > MAX_SEAL_FILL * w * h:
            continue  # solid red (a sticker, the table along the card's edge): a seal is a ring of ink
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
