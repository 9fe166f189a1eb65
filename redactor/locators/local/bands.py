"""The value band each label opens on its row: right of the label up to the next label, the
photo or the card's edge (an address also down to the next label's row), the text spans in
it, and rows named by their order where a label could not be read."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from redactor.core.frame import Box, CardFrame, Found
from redactor.core.vocabulary import KEPT_VALUE, ROW_ORDER, VALUE_SHAPE, Label, label_for
from redactor.locators.local.cards import CardReading, Cell, Span
from redactor.locators.local.labels import LabelHit, is_english_label, is_english_wording
from redactor.locators.local.reading import Line

#: A line belongs to a label's row when its centre is this close (text heights) to the row's mid line.
ROW_TOLERANCE = 0.6
#: Kept values: text in a kept field's band is kept only when it looks like such a value.
DIGITS = re.compile(r"\d{6,}")


def row_axis(hit: LabelHit, lines: list[Line], hits: list[LabelHit], card_axis: np.ndarray) -> np.ndarray:
    """The direction of the label's row: the length-weighted mean axis of the lines on it and
    the direction to the next labels on it (a label's own short box says little about its
    direction; under perspective the card's mean direction is off at its far side)."""
    axis = card_axis
    normal = np.array([-axis[1], axis[0]])
    mid = hit.quad.mean(axis=0)
    total = np.zeros(2)
    for ln in lines:
        if ln.length < 1.5 * ln.height:
            continue
        if abs(float((ln.centre - mid) @ normal)) < ROW_TOLERANCE * hit.height:
            la = ln.axis
            total += la * ln.length * (1.0 if la @ axis >= 0 else -1.0)
    for other in hits:
        d = other.quad.mean(axis=0) - mid
        ahead = float(d @ axis)
        if other is hit or ahead < 2.0 * hit.height:
            continue
        if abs(float(d @ normal)) < min(ROW_TOLERANCE * hit.height, 0.12 * ahead):
            total += 2.0 * d  # labels on one row are printed on one baseline
    if np.linalg.norm(total) < 1e-6:
        return axis
    return np.asarray(total / np.linalg.norm(total))


@dataclass(frozen=True)
class RowFrame:
    """Coordinates along a label's row: u from the label's end, v from the row's mid line."""

    origin: np.ndarray
    axis: np.ndarray

    @property
    def normal(self) -> np.ndarray:
        return np.array([-self.axis[1], self.axis[0]])

    def uv(self, points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        d = np.asarray(points, dtype=np.float64).reshape(-1, 2) - self.origin
        return np.stack([d @ self.axis, d @ self.normal], axis=1)

    def xy(self, u0: float, v0: float, u1: float, v1: float) -> np.ndarray:
        a, n, o = self.axis, self.normal, self.origin
        return np.array([o + a * u0 + n * v0, o + a * u1 + n * v0, o + a * u1 + n * v1, o + a * u0 + n * v1])


def spans_of(card: CardReading) -> list[Span]:
    """Every piece of text on the card that is not a label: whole lines, or what follows or
    precedes a label merged into the same detector line."""
    by_line: dict[int, list[LabelHit]] = {}
    for hit in card.hits:
        if len(hit.lines) == 1:
            by_line.setdefault(id(hit.lines[0]), []).append(hit)
    in_spaced = {id(ln) for hit in card.hits if len(hit.lines) > 1 for ln in hit.lines}
    titles = {id(ln) for ln in card.titles}
    out: list[Span] = []
    for hit in card.hits:
        if len(hit.lines) > 1 and hit.last_chars is not None:
            # a label read across lines whose last line goes on with the value: the rest is
            # value text
            last = hit.lines[-1]
            t1 = last.char_span(0, hit.last_chars - 1)[1]
            out.append(Span(last, last.part(t1, 1.0), last.text[hit.last_chars :]))
    for ln in card.lines:
        if id(ln) in in_spaced or id(ln) in titles:
            continue
        hits = by_line.get(id(ln), [])
        if not hits:
            if ln.read and is_english_label(ln):
                continue
            out.append(Span(ln, ln.frame.astype(np.float64), ln.text))
            continue
        # the parts of the line between its labels
        cuts: list[tuple[float, float, int, int]] = []
        for hit in hits:
            index = ln.text.find(hit.label.text)
            if index < 0:
                index = 0
            t0, t1 = ln.char_span(index, min(len(ln.text) - 1, index + len(hit.label.text) - 1))
            cuts.append((t0, t1, index, index + len(hit.label.text)))
        cuts.sort()
        position, char = 0.0, 0
        for t0, t1, c0, c1 in cuts:
            if t0 - position > 0.02 and c0 > char:
                out.append(Span(ln, ln.part(position, t0), ln.text[char:c0]))
            position, char = max(position, t1), max(char, c1)
        if position < 0.98 and (char < len(ln.text) or not ln.text):
            out.append(Span(ln, ln.part(position, 1.0), ln.text[char:]))
    return out


def build_cells(card: CardReading, image_box: Box) -> None:
    """Each label's value band, and which text spans fall in it; the rest is unknown text."""
    spans = spans_of(card)
    h_card = card.frame.text_height
    blockers = [hit.quad for hit in card.hits]
    extent = card.extent(0.6)
    claimed: set[int] = set()
    cells: list[Cell] = []
    for hit in card.hits:
        axis = row_axis(hit, card.lines, card.hits, np.asarray(card.frame.axis))
        start = (hit.quad[1] + hit.quad[2]) / 2
        frame = RowFrame(start, axis)
        h = max(hit.height, 0.6 * h_card)
        half = h / 2
        # right stop: the next label on the row, the photo, the card's extent
        stop = _extent_stop(frame, extent, card.frame)
        stop = min(stop, _image_stop(frame, image_box))
        for other in blockers:
            if other is hit.quad:
                continue
            uv = frame.uv(other)
            if abs(float(uv[:, 1].mean())) < ROW_TOLERANCE * h and uv[:, 0].min() > -0.2 * h:
                stop = min(stop, float(uv[:, 0].min()) - 0.15 * h)
        v0, v1 = -half, half
        for found in (card.portrait, card.seal):
            if found is not None:
                stop = _before(frame, found, v0 - 0.2 * h, v1 + 0.2 * h, stop, card.frame)
        # value spans on the row
        mine: list[Span] = []
        for span in spans:
            if id(span) in claimed:
                continue
            uv = frame.uv(span.quad)
            cu, cv = float(uv[:, 0].mean()), float(uv[:, 1].mean())
            if abs(cv) < ROW_TOLERANCE * h and -0.5 * h < cu < stop + 0.3 * h and uv[:, 0].max() > 0:
                mine.append(span)
        if hit.label.multiline:
            below = _next_row_below(hit, card.hits, frame, h)
            floor = below - 0.25 * h if below is not None else v1 + 3.2 * h
            grew = True
            bottom = max([v1] + [float(frame.uv(s.quad)[:, 1].max()) for s in mine])
            while grew:
                grew = False
                for span in spans:
                    if id(span) in claimed or any(span is m for m in mine):
                        continue
                    uv = frame.uv(span.quad)
                    if (
                        uv[:, 1].min() > bottom - 0.3 * h
                        and uv[:, 1].min() < bottom + 1.3 * h
                        and (uv[:, 1].max() < floor + 0.5 * h and -1.0 * h < uv[:, 0].min() < stop)
                    ):
                        mine.append(span)
                        bottom = float(uv[:, 1].max())
                        grew = True
            v1 = max(bottom, floor if below is not None else bottom)
            for found in (card.portrait, card.seal):
                if found is not None:
                    stop = _before(frame, found, v0, v1, stop, card.frame)
        if mine:
            # the band is as tall as the value's text (a label box may have merged with the
            # sub-label under it), and never thinner than most of a line
            spans_v = np.vstack([frame.uv(span.quad) for span in mine])
            v0 = min(float(spans_v[:, 1].min()), -0.4 * h_card)
            bottom_v = float(spans_v[:, 1].max())
            v1 = max(v1, bottom_v) if hit.label.multiline else max(bottom_v, 0.4 * h_card)
            stop = max(stop, float(spans_v[:, 0].max()))
        else:
            half = min(hit.height, 1.2 * h_card) / 2
            v0, v1 = -half, max(half, v1 if hit.label.multiline else half)
        pad = 0.12 * h
        if stop <= 0.3 * h:
            stop = 0.3 * h
        quad = frame.xy(-0.05 * h, v0 - pad, stop + pad, v1 + pad)
        claimed.update(id(s) for s in mine)
        cells.append(Cell(hit, quad, mine))
    card.cells = cells
    portrait_box = card.portrait.box if card.portrait is not None else None
    seal_box = card.seal.box if card.seal is not None else None
    for span in spans:
        if id(span) in claimed:
            continue
        box = Box.around(card.frame.to_card(span.quad))
        if portrait_box is not None and _inside_share(box, portrait_box) > 0.6:
            continue  # text printed on the photo area is masked with it
        if seal_box is not None and _inside_share(box, seal_box) > 0.5:
            continue  # the seal's own text
        card.unknown.append(span)


def _inside_share(box: Box, outer: Box) -> float:
    iu = max(0.0, min(box.u1, outer.u1) - max(box.u0, outer.u0))
    iv = max(0.0, min(box.v1, outer.v1) - max(box.v0, outer.v0))
    return iu * iv / max(1e-6, box.width * box.height)


def _extent_stop(frame: RowFrame, extent: Box, card_frame: CardFrame) -> float:
    corners = card_frame.to_image(extent.corners())
    return float(frame.uv(corners)[:, 0].max())


def _image_stop(frame: RowFrame, image_box: Box) -> float:
    """Where the row leaves the image (a card cropped at its edge is bounded by the image)."""
    # walk along the row's mid line until it leaves the image rectangle
    w, h = image_box.u1, image_box.v1
    o, a = frame.origin, frame.axis
    limits = []
    if a[0] > 1e-6:
        limits.append((w - o[0]) / a[0])
    if a[0] < -1e-6:
        limits.append(-o[0] / a[0])
    if a[1] > 1e-6:
        limits.append((h - o[1]) / a[1])
    if a[1] < -1e-6:
        limits.append(-o[1] / a[1])
    return float(min(limits)) if limits else float("inf")


def _before(frame: RowFrame, found: Found, v0: float, v1: float, stop: float, card_frame: CardFrame) -> float:
    """``stop`` pulled back to where the photo starts, when what was seen of it lies on these
    rows ahead (its estimated margin does not cut a row short)."""
    seen = found.core if found.core is not None else found.box
    uv = frame.uv(card_frame.to_image(seen.corners()))
    pu0 = float(uv[:, 0].min())
    pv0, pv1 = float(uv[:, 1].min()), float(uv[:, 1].max())
    if pv1 < v0 or pv0 > v1 or pu0 <= 0:
        return stop  # not ahead on these rows (a seal may be printed over the label itself)
    return min(stop, pu0)


def _next_row_below(hit: LabelHit, hits: list[LabelHit], frame: RowFrame, h: float) -> float | None:
    """The top (row v) of the nearest label row below ``hit``'s."""
    best = None
    for other in hits:
        if other is hit:
            continue
        uv = frame.uv(other.quad)
        top = float(uv[:, 1].min())
        if top > 0.6 * h and (best is None or top < best):
            best = top
    return best


def infer_rows(card: CardReading) -> list[str]:
    """Name value rows whose label could not be read, by the order of the rows around them.

    Unknown lines that start rows of their own (no label read on them) lie between two
    rows whose labels were read (or after the last one: a seal printed over the lower
    labels hides the last two). When as many rows of the side's order are missing there as
    such rows were seen, they are those rows, in order; each value must have its field's
    shape. A named row's band then starts where its value starts. Returns the fields named
    this way (for the report).
    """
    order = ROW_ORDER.get(card.card_type) if card.card_type is not None else None
    if not order or not card.unknown:
        return []
    h = card.frame.text_height
    found = {hit.label.field for hit in card.hits}
    rows: list[tuple[float, int]] = []  # (v, row index) of rows read
    for hit in card.hits:
        index = next((i for i, group in enumerate(order) if hit.label.field in group), None)
        if index is not None:
            rows.append((float(card.frame.to_card(hit.quad)[:, 1].mean()), index))
    if not rows:
        return []

    def v_of(span: Span) -> float:
        return float(card.frame.to_card(span.quad)[:, 1].mean())

    candidates = [
        span
        for span in sorted(card.unknown, key=v_of)
        if span.text
        and span.line.height >= 0.7 * h
        and not any(abs(v_of(span) - rv) < ROW_TOLERANCE * h for rv, _ in rows)
    ]
    groups: list[list[Span]] = []  # the unlabelled rows, top to bottom
    for span in candidates:
        if groups and abs(v_of(span) - v_of(groups[-1][0])) < ROW_TOLERANCE * h:
            groups[-1].append(span)
        else:
            groups.append([span])
    firsts = [min(g, key=lambda sp: float(card.frame.to_card(sp.quad)[:, 0].mean())) for g in groups]
    read = sorted(rows)
    named: list[str] = []
    gaps: dict[tuple[int, int], list[int]] = {}  # (row above, row below) -> unlabelled rows there
    for k, first in enumerate(firsts):
        v = v_of(first)
        lo = max((i for rv, i in read if rv < v), default=-1)
        hi = min((i for rv, i in read if rv > v), default=len(order))
        gaps.setdefault((lo, hi), []).append(k)

    def naming(span: Span, index: int) -> tuple[Span, str, Label] | None:
        field_id = order[index][0]
        label = label_for(field_id, card.card_type) if card.card_type is not None else None
        shape = VALUE_SHAPE.get(field_id)
        if len(order[index]) != 1 or label is None or (shape is not None and not shape.match(span.text)):
            return None  # a row where that field should be, but the text is not such a value
        return span, field_id, label

    for (lo, hi), members in gaps.items():
        missing = [i for i in range(lo + 1, hi) if not (set(order[i]) & found)]
        chosen: list[tuple[Span, str, Label]] = []
        if len(missing) == 1:
            # one row missing: the first unlabelled row there that holds such a value is it
            one = next((n for n in (naming(firsts[k], missing[0]) for k in members) if n is not None), None)
            chosen = [one] if one is not None else []
        elif len(missing) == len(members):
            # as many rows as are missing: in order, or none (one that is no such value
            # says the rows are not the ones missing)
            names = [naming(firsts[k], index) for k, index in zip(members, missing, strict=True)]
            chosen = [n for n in names if n is not None] if all(n is not None for n in names) else []
        for span, field_id, label in chosen:
            start = span.quad[[0, 3]].astype(np.float64)
            axis = span.line.axis
            tip = np.array([start[0] - axis * 0.3 * h, start[0], start[1], start[1] - axis * 0.3 * h])
            quad = np.array([tip[0] - axis * 0.7 * h, tip[0], tip[3], tip[3] - axis * 0.7 * h])
            card.hits.append(LabelHit(label, quad, [], 0.0, False, inferred=True))
            named.append(field_id)
    return named


_LEADING_LATIN = re.compile(r"^[A-Za-z][A-Za-z .']*")


def without_english(span: Span) -> Span:
    """The span without an English sub-label it starts with (``Nationality中国``: the
    detector merged the sub-label into the value), else the span itself."""
    found = _LEADING_LATIN.match(span.text)
    if found is None or found.end() >= len(span.text):
        return span
    start = span.line.text.find(span.text)
    if not is_english_wording(found.group()) or start < 0:
        return span
    first, last = start + found.end(), start + len(span.text) - 1
    t0 = span.line.char_span(first, last)[0]
    t1 = span.line.char_span(start, last)[1]
    return Span(span.line, span.line.part(t0, t1), span.text[found.end() :])


def kept_value_ok(field_id: str, text: str) -> bool:
    """Whether text read in a kept field's band is a value of that field (else it is masked)."""
    if DIGITS.search(text):
        return False
    pattern = KEPT_VALUE.get(field_id)
    return pattern is None or bool(pattern.match(text))
