"""Read a card as it is printed: labels, their rows, and the value band each label opens.

No template decides where a value is. A label is found by its words (tolerant of letter
spacing, of labels split into single characters and of labels merged with their value);
its value is whatever lies right of it on its row, up to the next label, the photo or the
card's edge (an address also down to the next label's row). That band is the field's
polygon, so a value the detector saw only in part is still covered whole. Every other
text line on the card that is not a label, a title or an English sub-label is reported as
an unknown field (masked by the policy's default action).

Labels are found by :mod:`~redactor.locators.local.labels`, value bands drawn by
:mod:`~redactor.locators.local.bands`; here is the card as read, and how clusters of lines
join into cards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from redactor.core.fields import CardType
from redactor.core.frame import Box, CardFrame, Found
from redactor.core.vocabulary import side_votes
from redactor.locators.local.labels import LabelHit, find_labels, title_sides
from redactor.locators.local.reading import Line

#: Lines closer than this many text heights (box to box) belong to one cluster.
CLUSTER_GAP = 3.0
#: Clusters that are compatible merge into one card up to this gap (text heights).
CARD_GAP = 7.0
#: Unlabelled clusters join the nearest card up to this gap.
LOOSE_GAP = 4.0


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
