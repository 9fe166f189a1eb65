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

#: Labels longest first, so 出生日期 is found before 出生.
_LONGEST_FIRST: tuple[Label, ...] = tuple(sorted(LABELS, key=lambda lab: -len(lab.text)))
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
    #: a label read across several lines whose last line goes on with its value: the
    #: characters of that line the label takes (``None``: the whole of each line)
    last_chars: int | None = None

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
    for label in _LONGEST_FIRST:
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
    spaced = _spaced_labels(lines, used)
    hits.extend(spaced)
    # a line that is a short label whole may be the start of a longer one cut by the
    # detector (出生 | 日期 is 出生日期): it may start a chain, which then replaces it
    prefixes = {
        id(hit.lines[0]): hit
        for hit in hits
        if len(hit.lines) == 1
        and hit.exact
        and hit.lines[0].text == hit.label.text
        and any(lab.text.startswith(hit.label.text) and lab.text != hit.label.text for lab in LABELS)
    }
    free = {id(ln) for ln in lines if not used.get(id(ln)) or id(ln) in prefixes}
    chained = _chained_labels([ln for ln in lines if id(ln) in free], {id(ln) for hit in spaced for ln in hit.lines})
    replaced = {id(prefixes[id(hit.lines[0])]) for hit in chained if id(hit.lines[0]) in prefixes}
    return [hit for hit in hits if id(hit) not in replaced] + chained


#: A label read across lines may lack its first character (a seal printed over it) when
#: this many of its characters are read, at least.
MIN_CHAINED = 3


def _chained_labels(lines: list[Line], taken: set[int]) -> list[LabelHit]:
    """Labels the detector cut into pieces of any length along a row (初 | 次领证日 |
    期2024-03-22), the last piece perhaps going on with the value: the pieces read in a row
    start with the label, with one character of a 4+ character label misread, or its first
    character unread (效 | 期 | 限 under a seal). The label ends in the last piece."""
    free = [ln for ln in lines if ln.text and id(ln) not in taken]
    out: list[LabelHit] = []
    for first in free:
        if id(first) in taken:
            continue
        chain = [first]
        text = first.text
        while len(chain) < 6:
            nxt = _next_on_row(chain[-1], free, taken | {id(c) for c in chain})
            if nxt is None:
                break
            before = len(text)
            chain.append(nxt)
            text += nxt.text
            found = _label_at_start(text, before)
            if found is None:
                continue
            label, end, exact = found
            last_chars = end - before
            t1 = 1.0 if last_chars >= len(nxt.text) else nxt.char_span(0, last_chars - 1)[1]
            tip = nxt.part(0.0, t1)
            quad = np.array([first.frame[0], tip[1], tip[2], first.frame[3]], dtype=np.float64)
            conf = float(np.mean([c.confidence for c in chain]))
            partial = last_chars if last_chars < len(nxt.text) else None
            out.append(LabelHit(label, quad, list(chain), conf, exact, last_chars=partial))
            taken.update(id(c) for c in chain)
            break
    return out


def _label_at_start(text: str, before: int) -> tuple[Label, int, bool] | None:
    """The label ``text`` starts with that ends after its first ``before`` characters (in
    the piece just added): where it ends in ``text``, and whether it was read exactly."""
    for label in _LONGEST_FIRST:
        word = label.text
        n = len(word)
        if n > before and len(text) >= n:
            wrong = sum(not _char_matches(a, b) for a, b in zip(text[:n], word, strict=True))
            if wrong == 0 or (wrong == 1 and n >= 4):
                return label, n, wrong == 0
        if (
            n >= MIN_CHAINED + 1
            and n - 1 > before
            and len(text) >= n - 1
            and all(_char_matches(a, b) for a, b in zip(text[: n - 1], word[1:], strict=True))
        ):
            return label, n - 1, False
    return None


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
        # measured where one ends and the next starts: a long piece's centre lies off the
        # row's line when the card is tilted in the photo
        across = abs(float((start - end) @ normal))
        h = max(line.height, other.height)
        if -0.6 * h <= gap <= SPACED_GAP * h and across < 0.4 * h and (best is None or gap < best[0]):
            best = (gap, other)
    return None if best is None else best[1]


def title_sides(line: Line) -> frozenset[CardType] | None:
    """The sides a title line belongs to, or ``None`` when it is no title."""
    for words, sides in TITLES:
        if words in line.text or (len(words) >= 5 and _find_in(line.text, words)):
            return sides
    return None


def is_english_label(line: Line) -> bool:
    return is_english_wording(line.text)


def is_english_wording(text: str) -> bool:
    """Whether ``text`` is one of the licence's English sub-labels (letters only, any case)."""
    folded = re.sub(r"[^a-z]", "", text.lower())
    return bool(folded) and bool(ENGLISH.match(folded))
