"""Read a card as it is printed: labels, their rows, and the value band each label opens.

No template decides where a value is. A label is found by its words (tolerant of letter
spacing, of labels split into single characters and of labels merged with their value);
its value is whatever lies right of it on its row, up to the next label, the photo or the
card's edge (an address also down to the next label's row). That band is the field's
polygon, so a value the detector saw only in part is still covered whole. Every other
text line on the card that is not a label, a title or an English sub-label is reported as
an unknown field (masked by the policy's default action).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from redactor.core.fields import CardType
from redactor.core.frame import Box, CardFrame, Found
from redactor.core.vocabulary import (
    CONFUSIONS,
    ENGLISH,
    KEPT_VALUE,
    LABELS,
    ROW_ORDER,
    TITLES,
    VALUE_SHAPE,
    Label,
    label_for,
    side_votes,
)
from redactor.locators.local.reading import Line

#: Lines closer than this many text heights (box to box) belong to one cluster.
CLUSTER_GAP = 3.0
#: Clusters that are compatible merge into one card up to this gap (text heights).
CARD_GAP = 7.0
#: Unlabelled clusters join the nearest card up to this gap.
LOOSE_GAP = 4.0
#: A line belongs to a label's row when its centre is this close (text heights) to the row's mid line.
ROW_TOLERANCE = 0.6
#: Letter-spaced labels: single characters this far apart (text heights) may form one label.
SPACED_GAP = 3.2
#: Kept values: text in a kept field's band is kept only when it looks like such a value.
DIGITS = re.compile(r"\d{6,}")


@dataclass(eq=False)
class LabelHit:
    """A label found on the card: its glyphs' quad, the lines it was read from."""

    label: Label
    quad: np.ndarray  # image pixels, start-top, end-top, end-bottom, start-bottom
    lines: list[Line]
    confidence: float
    exact: bool
    #: not read: named by the order of the rows around it (its label is unreadable)
    inferred: bool = False

    @property
    def height(self) -> float:
        return float(np.linalg.norm(self.quad[3] - self.quad[0]))


@dataclass(eq=False)
class Span:
    """A piece of a line that is not a label: what may be a value."""

    line: Line
    quad: np.ndarray
    text: str


@dataclass(eq=False)
class Cell:
    """A label's value band and what was found in it."""

    hit: LabelHit
    quad: np.ndarray  # image pixels
    spans: list[Span] = field(default_factory=list)


@dataclass(eq=False)
class CardReading:
    """One card as read: its side, frame, labels, value bands, other text, photo and seal."""

    card_type: CardType | None
    frame: CardFrame
    lines: list[Line]
    hits: list[LabelHit]
    titles: list[Line] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    unknown: list[Span] = field(default_factory=list)
    portrait: Found | None = None
    seal: Found | None = None
    problems: list[str] = field(default_factory=list)

    def extent(self, pad: float = 0.0) -> Box:
        """The card-aligned box of everything read on the card, grown by ``pad`` text heights."""
        pts = self.frame.to_card(np.vstack([ln.frame for ln in self.lines]))
        box = Box.around(pts)
        for found in (self.portrait, self.seal):
            if found is not None:
                b = found.box
                box = Box(min(box.u0, b.u0), min(box.v0, b.v0), max(box.u1, b.u1), max(box.v1, b.v1))
        p = pad * self.frame.text_height
        return Box(box.u0 - p, box.v0 - p, box.u1 + p, box.v1 + p)


# --------------------------------------------------------------------------- labels


def _char_matches(read: str, printed: str) -> bool:
    return read == printed or CONFUSIONS.get(read) == printed


def _find_in(text: str, word: str) -> list[tuple[int, bool]]:
    """Where ``word`` occurs in ``text`` (and whether exactly): a word of 4+ characters may have
    one character misread, a shorter one only when it is the whole line."""
    out: list[tuple[int, bool]] = []
    n = len(word)
    for i in range(0, len(text) - n + 1):
        wrong = sum(not _char_matches(a, b) for a, b in zip(text[i : i + n], word, strict=True))
        if wrong == 0:
            out.append((i, True))
        elif wrong == 1 and (n >= 4 or (i == 0 and n == len(text))):
            out.append((i, False))
    return out


def find_labels(lines: list[Line]) -> list[LabelHit]:
    """Every label on these (read) lines, longest words first so 出生日期 is not read as 出生."""
    hits: list[LabelHit] = []
    used: dict[int, list[tuple[int, int]]] = {}
    for label in sorted(LABELS, key=lambda lab: -len(lab.text)):
        for ln in lines:
            if not ln.text:
                continue
            for index, exact in _find_in(ln.text, label.text):
                last = index + len(label.text) - 1
                taken = used.setdefault(id(ln), [])
                if any(not (last < a or index > b) for a, b in taken):
                    continue
                if index > 0 and not exact:
                    continue
                taken.append((index, last))
                t0, t1 = ln.char_span(index, last)
                confs = ln.confidences[index : last + 1] or (ln.confidence,)
                hits.append(LabelHit(label, ln.part(t0, t1), [ln], float(np.mean(confs)), exact))
    hits.extend(_spaced_labels(lines, used))
    return hits


def _spaced_labels(lines: list[Line], used: dict[int, list[tuple[int, int]]]) -> list[LabelHit]:
    """Labels printed letter-spaced that the detector split into single-character lines."""
    short = [ln for ln in lines if 1 <= len(ln.text) <= 3 and not used.get(id(ln))]
    out: list[LabelHit] = []
    taken: set[int] = set()
    for first in short:
        if id(first) in taken:
            continue
        chain = [first]
        text = first.text
        while len(text) < 6:
            tail = chain[-1]
            nxt = _next_on_row(tail, short, taken | {id(c) for c in chain})
            if nxt is None:
                break
            chain.append(nxt)
            text += nxt.text
            label = next((lab for lab in LABELS if text == lab.text), None)
            if label is not None:
                quad = np.array([first.frame[0], nxt.frame[1], nxt.frame[2], first.frame[3]], dtype=np.float64)
                conf = float(np.mean([c.confidence for c in chain]))
                out.append(LabelHit(label, quad, list(chain), conf, True))
                taken.update(id(c) for c in chain)
                break
    return out


def _next_on_row(line: Line, candidates: list[Line], exclude: set[int]) -> Line | None:
    axis = line.axis
    normal = np.array([-axis[1], axis[0]])
    end = (line.frame[1] + line.frame[2]) / 2
    best: tuple[float, Line] | None = None
    for other in candidates:
        if id(other) in exclude or other is line:
            continue
        start = (other.frame[0] + other.frame[3]) / 2
        gap = float((start - end) @ axis)
        across = abs(float((other.centre - line.centre) @ normal))
        h = max(line.height, other.height)
        if -0.3 * h <= gap <= SPACED_GAP * h and across < 0.4 * h and (best is None or gap < best[0]):
            best = (gap, other)
    return None if best is None else best[1]


def title_sides(line: Line) -> frozenset[CardType] | None:
    """The sides a title line belongs to, or ``None`` when it is no title."""
    for words, sides in TITLES:
        if words in line.text or (len(words) >= 5 and _find_in(line.text, words)):
            return sides
    return None


def is_english_label(line: Line) -> bool:
    folded = re.sub(r"[^a-z]", "", line.text.lower())
    return bool(folded) and bool(ENGLISH.match(folded))


# --------------------------------------------------------------------------- clusters


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """Gap between two card-aligned boxes (u0, v0, u1, v1): 0 when they touch."""
    du = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dv = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(du, dv))


def clusters(lines: list[Line], frame: CardFrame) -> list[list[Line]]:
    """Lines grouped by proximity (single linkage at :data:`CLUSTER_GAP` text heights)."""
    if not lines:
        return []
    boxes = np.array([[*frame.to_card(ln.frame).min(axis=0), *frame.to_card(ln.frame).max(axis=0)] for ln in lines])
    limit = CLUSTER_GAP * frame.text_height
    parent = list(range(len(lines)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            h = max(lines[i].height, lines[j].height)
            if _gap(boxes[i], boxes[j]) <= CLUSTER_GAP * h and _gap(boxes[i], boxes[j]) <= 2 * limit:
                parent[root(i)] = root(j)
    groups: dict[int, list[Line]] = {}
    for i, ln in enumerate(lines):
        groups.setdefault(root(i), []).append(ln)
    return list(groups.values())


@dataclass(eq=False)
class _Group:
    lines: list[Line]
    hits: list[LabelHit]
    titles: list[tuple[Line, frozenset[CardType]]]
    box: np.ndarray

    def sides(self) -> set[CardType]:
        """Sides this group could be: those of its one-side labels and titles (all, if none)."""
        single: set[CardType] = set()
        for hit in self.hits:
            if len(hit.label.card_types) == 1:
                single |= hit.label.card_types
        for _, sides in self.titles:
            if len(sides) == 1:
                single |= sides
        return single

    def fields(self) -> list[str]:
        return [h.label.field for h in self.hits]


def _compatible(a: _Group, b: _Group) -> bool:
    sides = a.sides() | b.sides()
    if len(sides) > 1:
        return False
    fa, fb = a.fields(), b.fields()
    return not (set(fa) & set(fb))


def assemble(lines: list[Line], frame: CardFrame, allowed: set[CardType]) -> list[CardReading]:
    """The cards among ``lines``: clusters joined while they read as one card."""
    groups: list[_Group] = []
    for members in clusters(lines, frame):
        hits = [h for h in find_labels(members) if h.label.card_types & allowed]
        titles = [(ln, s) for ln in members if (s := title_sides(ln)) is not None and s & allowed]
        pts = frame.to_card(np.vstack([ln.frame for ln in members]))
        groups.append(_Group(members, hits, titles, np.array([*pts.min(axis=0), *pts.max(axis=0)])))
    h = frame.text_height
    merged = True
    while merged:
        merged = False
        pairs = []
        for i, a in enumerate(groups):
            for j in range(i + 1, len(groups)):
                b = groups[j]
                labelled = (a.hits or a.titles) and (b.hits or b.titles)
                limit = CARD_GAP * h if labelled else LOOSE_GAP * h
                if not labelled and not (a.hits or a.titles or b.hits or b.titles):
                    continue
                gap = _gap(a.box, b.box)
                if gap <= limit and _compatible(a, b):
                    pairs.append((gap, i, j))
        if pairs:
            _, i, j = min(pairs)
            a, b = groups[i], groups[j]
            box = np.array([*np.minimum(a.box[:2], b.box[:2]), *np.maximum(a.box[2:], b.box[2:])])
            groups[i] = _Group(a.lines + b.lines, a.hits + b.hits, a.titles + b.titles, box)
            del groups[j]
            merged = True
    cards = []
    for g in groups:
        if len({hit.label.field for hit in g.hits}) < 2:
            continue
        votes = side_votes([hit.label for hit in g.hits])
        for _, sides in g.titles:
            for side in sides:
                votes[side] = votes.get(side, 0.0) + (3.0 if len(sides) == 1 else 1.0)
        votes = {k: v for k, v in votes.items() if k in allowed}
        if not votes:
            continue
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])
        card_type = ranked[0][0]
        reading = CardReading(card_type, frame, g.lines, [hh for hh in g.hits if card_type in hh.label.card_types])
        reading.titles = [ln for ln, _ in g.titles]
        if len(ranked) > 1 and ranked[1][1] >= ranked[0][1]:
            reading.problems.append("the card's side is ambiguous (its labels fit two card types)")
        cards.append(reading)
    return cards


# --------------------------------------------------------------------------- bands


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

    An unknown line that starts a row of its own (no label read on it) lies between two
    rows whose labels were read; when exactly one row of the side's order is missing
    between them, it is that row. Its band then starts where its value starts. Returns
    the fields named this way (for the report).
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
    rows.sort()
    named: list[str] = []
    orphans = sorted(card.unknown, key=lambda sp: float(card.frame.to_card(sp.quad)[:, 1].mean()))
    taken_rows: set[int] = set()
    for span in orphans:
        uv = card.frame.to_card(span.quad)
        v = float(uv[:, 1].mean())
        if any(abs(v - rv) < 0.6 * h for rv, _ in rows) or span.line.height < 0.7 * h or not span.text:
            continue
        above = [i for rv, i in rows if rv < v]
        below = [i for rv, i in rows if rv > v]
        lo = max(above) if above else -1
        hi = min(below) if below else len(order)
        missing = [i for i in range(lo + 1, hi) if not (set(order[i]) & found)]
        if len(missing) != 1 or len(order[missing[0]]) != 1 or missing[0] in taken_rows:
            continue
        field_id = order[missing[0]][0]
        label = label_for(field_id, card.card_type) if card.card_type is not None else None
        shape = VALUE_SHAPE.get(field_id)
        if label is None or (shape is not None and not shape.match(span.text)):
            continue  # a row where that field should be, but the text is not such a value
        start = span.quad[[0, 3]].astype(np.float64)
        axis = span.line.axis
        tip = np.array([start[0] - axis * 0.3 * h, start[0], start[1], start[1] - axis * 0.3 * h])
        quad = np.array([tip[0] - axis * 0.7 * h, tip[0], tip[3], tip[3] - axis * 0.7 * h])
        card.hits.append(LabelHit(label, quad, [], 0.0, False, inferred=True))
        taken_rows.add(missing[0])
        rows.append((v, missing[0]))
        rows.sort()
        named.append(field_id)
    return named


def kept_value_ok(field_id: str, text: str) -> bool:
    """Whether text read in a kept field's band is a value of that field (else it is masked)."""
    if DIGITS.search(text):
        return False
    pattern = KEPT_VALUE.get(field_id)
    return pattern is None or bool(pattern.match(text))


__all__ = ["CardReading", "Cell", "LabelHit", "Span", "assemble", "build_cells", "kept_value_ok"]
