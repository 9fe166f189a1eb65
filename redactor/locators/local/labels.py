"""Finding a card's printed labels among its read lines: by their words, tolerant of the
recogniser's confusions, of letter spacing and of labels split into single characters; and
telling titles and English sub-labels (wording, not values)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from redactor.core.fields import CardType
from redactor.core.vocabulary import CONFUSIONS, ENGLISH, LABELS, TITLES, Label
from redactor.locators.local.reading import Line

#: Letter-spaced labels: single characters this far apart (text heights) may form one label.
SPACED_GAP = 3.2


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
