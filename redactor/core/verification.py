"""The second look: judge a masked image by what can still be read on it.

A locator can be confidently wrong (a saved response of another image, a band in the
wrong row, a photo missed by half). Its answer is not trusted here: the verifier detects
text on the *masked* pixels with its own pass, and this module decides from that alone
whether anything sensitive is left. Printed wording (labels, titles, English sub-labels)
and the values the policy keeps may stay visible; anything else read outside the masks,
any run of six digits, a picture left on a card whose photo should be masked, or masks
that sit on no text at all, fail the image. A failed image is quarantined, never written.

Pure computation on arrays; the OCR models that produce :class:`SeenText` live in an
adapter (:mod:`redactor.verifiers`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from redactor.core.masking import MaskOp
from redactor.core.results import Polygon
from redactor.core.vocabulary import COMPONENTS, CONFUSIONS, ENGLISH, KEPT_VALUE, LABELS, TITLES

#: A run of this many digits left readable is a leak, whatever else it may be (an ID or
#: licence number, a date, a phone number).
DIGIT_RUN = 6
#: A stretch of a line left visible is read when it is at least this many text heights long
#: (about one character).
MIN_VISIBLE = 0.6
#: A slice across a line counts as masked when this share of it lies under a mask.
MASKED_SLICE = 0.5
#: Characters read with less confidence than this are noise (the frayed edge of a mask).
MIN_CHAR_CONFIDENCE = 0.5
#: A left-over character counts when at least one of them was read this surely.
SURE_CHAR = 0.85
#: Two left-over digits or letters count when read this surely on average.
SURE_PAIR = 0.9
#: Left-over Latin letters count when read this surely on average.
SURE_LATIN = 0.8
#: Under a text field's mask, the original shows ink on at least this share of the pixels
#: when the mask sits on text.
MIN_INK_SHARE = 0.02
#: ... and ink is this many grey levels darker than the polygon's background.
INK_CONTRAST = 40
#: The masks must sit on text for at least this share of the masked text fields.
MIN_ON_TEXT = 0.5

#: What is printed on every card besides labels and titles: the birth row's 年 月 日, the
#: back's 至 between two dates, punctuation.
PRINTED_CHARS = frozenset("年月日至")
_PUNCTUATION = re.compile(r"[\s:：·.,，。\-_/()（）\[\]【】'\"|~]+")
_DIGITS = re.compile(rf"\d{{{DIGIT_RUN},}}")
_LATIN = re.compile(r"[A-Za-z][A-Za-z .']*")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


@dataclass(frozen=True)
class SeenText:
    """A stretch of a text line still visible on the masked image, and what was read there.
    ``confidences`` are per character of ``text``."""

    quad: Polygon
    text: str
    confidences: tuple[float, ...]
    height: float


@dataclass(frozen=True)
class Verdict:
    """What the second look found: ``reasons`` are report-safe (no text that was read)."""

    passed: bool
    reasons: tuple[str, ...] = ()

    @classmethod
    def failed(cls, reasons: Sequence[str]) -> Verdict:
        return cls(False, tuple(dict.fromkeys(reasons)))


@dataclass(frozen=True)
class KeptValue:
    """A field the policy keeps: where it is and (when known) what its value looks like."""

    field: str
    polygon: Polygon


# ------------------------------------------------------------------ masks and line parts


def mask_raster(ops: Sequence[MaskOp], width: int, height: int) -> np.ndarray:
    """Boolean (height, width) array: True where a mask was painted."""
    out = np.zeros((height, width), dtype=bool)
    for op in ops:
        region = op.region
        if region.is_empty:
            continue
        x0, y0, x1, y1 = region.box
        out[y0:y1, x0:x1] |= region.raster()
    return out


def visible_parts(
    frame: np.ndarray, masked: np.ndarray, masked_slice: float = MASKED_SLICE, min_visible: float = MIN_VISIBLE
) -> list[tuple[float, float]]:
    """Stretches of a line (``frame``: start-top, end-top, end-bottom, start-bottom) that no
    mask covers (a slice across the line less than ``masked_slice`` masked), as fractions
    along it, each at least ``min_visible`` heights long."""
    f = np.asarray(frame, dtype=np.float64)
    length = float(np.linalg.norm(f[1] - f[0]))
    tall = float(np.linalg.norm(f[3] - f[0]))
    if length < 1.0 or tall < 1.0:
        return []
    steps = max(2, int(math.ceil(length / max(1.0, tall / 4))))
    across = 7
    t = (np.arange(steps) + 0.5) / steps
    s = (np.arange(across) + 0.5) / across
    top = f[0][None, :] + (f[1] - f[0])[None, :] * t[:, None]
    down = (f[3] - f[0])[None, None, :] * s[None, :, None]
    points = top[:, None, :] + down  # (steps, across, 2)
    h, w = masked.shape
    xs = np.clip(points[..., 0].astype(np.int64), 0, w - 1)
    ys = np.clip(points[..., 1].astype(np.int64), 0, h - 1)
    inside = (points[..., 0] >= 0) & (points[..., 0] < w) & (points[..., 1] >= 0) & (points[..., 1] < h)
    covered = np.where(inside, masked[ys, xs], True).mean(axis=1) >= masked_slice
    runs: list[tuple[float, float]] = []
    start: int | None = None
    for i, is_masked in enumerate([*covered.tolist(), True]):
        if not is_masked and start is None:
            start = i
        elif is_masked and start is not None:
            t0, t1 = start / steps, i / steps
            if (t1 - t0) * length >= min_visible * tall:
                runs.append((t0, t1))
            start = None
    return runs


def part_of(frame: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """The quad of a line between fractions ``t0`` and ``t1`` of its length."""
    f = np.asarray(frame, dtype=np.float64)
    return np.array(
        [f[0] + (f[1] - f[0]) * t0, f[0] + (f[1] - f[0]) * t1, f[3] + (f[2] - f[3]) * t1, f[3] + (f[2] - f[3]) * t0]
    )


# ------------------------------------------------------------------ what may stay visible

_PRINTED = sorted(
    {lab.text for lab in LABELS} | {words for words, _ in TITLES} | {"驾驶证", "身份证", "公民身份号"},
    key=len,
    reverse=True,
)


_LABEL_CHARS = frozenset(ch for words in _PRINTED for ch in words) | PRINTED_CHARS
#: Printed words with one character read as one of its components (see ``COMPONENTS``).
_CUT_PRINTED = sorted(
    {
        words[:i] + part + words[i + 1 :]
        for words in _PRINTED
        if len(words) >= 2
        for i, ch in enumerate(words)
        for part in COMPONENTS.get(ch, "")
    },
    key=len,
    reverse=True,
)
#: The licence's English wording as letters only, for fragments and misreadings of it.
_ENGLISH_PHRASES = (
    "licensenumber",
    "licencenumber",
    "licenseno",
    "name",
    "sex",
    "nationality",
    "address",
    "dateofbirth",
    "dateoffirstissue",
    "class",
    "validperiod",
    "validfrom",
    "validfor",
    "issuingauthority",
    "drivinglicenseofthepeoplesrepublicofchina",
    "drivinglicenceofthepeoplesrepublicofchina",
)


def _edits_to_substring(text: str, phrase: str) -> int:
    """Fewest edits that turn ``text`` into some substring of ``phrase`` (Sellers' algorithm)."""
    previous = [0] * (len(phrase) + 1)
    for i, ch in enumerate(text, start=1):
        current = [i] + [0] * len(phrase)
        for j, other in enumerate(phrase, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ch != other))
        previous = current
    return min(previous)


def _english_printed(run: str) -> bool:
    """A Latin run that is the licence's English wording, a piece of it (a line the detector
    split), or a misreading of either: at most one edit in three letters."""
    letters = re.sub(r"[^a-z]", "", run.lower())
    if not letters:
        return False
    if ENGLISH.match(letters):
        return True
    # a long run is the sub-label read badly (no value on these cards is long Latin text)
    allowed = max(1, len(letters) // 2 if len(letters) >= 5 else (len(letters) + 1) // 3)
    return any(_edits_to_substring(letters, phrase) <= allowed for phrase in _ENGLISH_PHRASES)


def _misread_printed(run: str, whole: bool = False) -> bool:
    """A run of three or more Chinese characters that is printed wording (a piece of it, or
    with ``whole`` all of a word) with at most one character in three misread
    (substitutions only: an extra character may be a value left visible; and a
    two-character name may differ from a label by one, 建国 from 和国)."""
    allowed = len(run) // 3
    for words in _PRINTED:
        if whole and len(words) != len(run):
            continue
        for k in range(0, len(words) - len(run) + 1):
            if sum(a != b for a, b in zip(run, words[k : k + len(run)], strict=True)) <= allowed:
                return True
    return False


def _drop_misread_word(run: re.Match[str]) -> str:
    """A run of four or more characters that is a whole printed word misread: nothing."""
    return "" if len(run.group()) >= 4 and _misread_printed(run.group(), whole=True) else run.group()


def _strip_printed(text: str, latin: bool = True) -> str:
    """``text`` without the printed wording it contains: labels (whole, misread, or any
    piece of a letter-spaced one), titles, English sub-labels, 年月日, punctuation."""
    if latin:
        text = _LATIN.sub(lambda m: "" if _english_printed(m.group()) else m.group(), text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")  # punctuation, symbols, spaces
    text = "".join(CONFUSIONS.get(ch, ch) for ch in text)
    # a whole run that is a printed word misread (出生日其): before exact words are taken
    # out, or 出生 would go and leave 日其, too short to be judged a misreading
    text = _CJK_RUN.sub(_drop_misread_word, text)
    for words in (*_PRINTED, *_CUT_PRINTED):
        text = text.replace(words, "")
    text = _CJK_RUN.sub(lambda m: "" if len(m.group()) >= 3 and _misread_printed(m.group()) else m.group(), text)
    # the remaining characters: pieces of labels split by letter-spacing; not a label's
    # character right after a digit (labels precede values: 号 in 21号 ends an address, it is
    # not 证号's), but 年月日 are printed after the digits they follow
    return "".join(
        ch
        for i, ch in enumerate(text)
        if ch not in _LABEL_CHARS or ch.isdigit() or (i > 0 and text[i - 1].isdigit() and ch not in PRINTED_CHARS)
    )


def _confident(seen: SeenText) -> str:
    """The characters read with some confidence (a mask's frayed edge reads as noise)."""
    if len(seen.confidences) != len(seen.text):
        return seen.text
    return "".join(ch for ch, p in zip(seen.text, seen.confidences, strict=True) if p >= MIN_CHAR_CONFIDENCE)


def _any_confident(part: SeenText, rest: str) -> bool:
    """Whether some character left over was read with confidence (a lone character read at
    chance is the frayed edge of a mask or a smudge, not a value)."""
    if len(part.confidences) != len(part.text):
        return True
    return any(p >= SURE_CHAR for ch, p in zip(part.text, part.confidences, strict=True) if ch in rest)


def _noise(part: SeenText, rest: str) -> bool:
    """What is left is no value: a lone digit or Latin letter (a stroke of a masked
    character beside a label), two read unsurely, or Latin letters read unsurely (the licence's small English
    sub-labels read badly; no value on these cards is Latin text but a vehicle class)."""
    if len(rest) == 1 and rest.isascii():
        return True
    if len(rest) == 2 and rest.isascii() and len(part.confidences) == len(part.text):
        # two digits or letters read unsurely: the frayed edge of a masked date
        sure = [p for ch, p in zip(part.text, part.confidences, strict=True) if ch in rest]
        if sure and float(np.mean(sure)) < SURE_PAIR:
            return True
    if not (rest.isascii() and rest.isalpha()):
        return False
    sure = [p for ch, p in zip(part.text, part.confidences, strict=False) if ch.isascii() and ch.isalpha()]
    return bool(sure) and float(np.mean(sure)) < SURE_LATIN


def _overlap(a: Polygon, b: Polygon) -> float:
    """Share of ``a``'s bounding box that ``b``'s bounding box covers."""
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    w = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    h = max(0.0, min(ay1, by1) - max(ay0, by0))
    area = max(1e-6, (ax1 - ax0) * (ay1 - ay0))
    return w * h / area


def judge_text(seen: Sequence[SeenText], kept: Sequence[KeptValue], near: Sequence[tuple[str, Polygon]]) -> list[str]:
    """Reasons to fail for text still readable outside the masks (empty: nothing left).

    ``near``: the located fields (name, polygon), to say where a leak is without saying
    what it reads. A digit run of :data:`DIGIT_RUN` fails even on a kept field, unless
    that field's own value is digits (a kept date)."""
    reasons: list[str] = []
    for part in seen:
        text = _confident(part)
        where = _nearest(part.quad, near)
        on_kept = [k for k in kept if _overlap(part.quad, k.polygon) >= 0.3 or _overlap(k.polygon, part.quad) >= 0.5]
        digits = _DIGITS.search(_PUNCTUATION.sub("", text))
        if digits is not None and not any(k.field not in KEPT_VALUE for k in on_kept):
            reasons.append(f"verification: a run of {len(digits.group())} digits is readable outside the masks{where}")
            continue
        if on_kept and any(_kept_shape(k.field, _strip_printed(text, latin=False)) for k in on_kept):
            continue  # a kept value (a vehicle class is Latin: read before English is dropped)
        rest = _strip_printed(text)
        if not rest or not _any_confident(part, rest) or _noise(part, rest):
            continue
        if not _DIGITS.search(_PUNCTUATION.sub("", part.text)) and not _strip_printed(part.text):
            continue  # printed wording read whole, a character of it unsurely (出生日其 without 生)
        if any(_kept_shape(k.field, rest) for k in on_kept):
            continue
        reasons.append(f"verification: text is readable outside the masks{where}")
    return reasons


def printed_wording(part: SeenText) -> bool:
    """Whether a stretch reads as printed wording only (a label, a title, an English
    sub-label), with nothing a value could be: its ink beside a mask is no value cut."""
    text = _confident(part)
    return bool(text) and not _DIGITS.search(_PUNCTUATION.sub("", text)) and not _strip_printed(text)


#: Latin letters read for the digits they look like, in a kept vehicle class ("CI" is C1).
_CLASS_DIGITS = str.maketrans({"I": "1", "l": "1", "i": "1", "O": "0", "o": "0", "Z": "2", "z": "2"})


def _kept_shape(field: str, text: str) -> bool:
    shape = KEPT_VALUE.get(field)
    if shape is None:
        return True
    if field == "vehicle_class":
        text = text.upper()[:1] + text[1:].translate(_CLASS_DIGITS).upper()
    return bool(shape.match(text))


def _nearest(quad: Polygon, near: Sequence[tuple[str, Polygon]]) -> str:
    if not near:
        return ""
    x0, y0, x1, y1 = quad.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def distance(item: tuple[str, Polygon]) -> float:
        bx0, by0, bx1, by1 = item[1].bounds
        dx = max(bx0 - cx, 0.0, cx - bx1)
        dy = max(by0 - cy, 0.0, cy - by1)
        return math.hypot(dx, dy)

    name, polygon = min(near, key=distance)
    return f" (at {name})" if distance((name, polygon)) <= 2 * (y1 - y0) else f" (near {name})"


# ------------------------------------------------------------------ masks on text


def ink_share(gray: np.ndarray, polygon: Polygon) -> float:
    """Share of the pixels inside ``polygon``'s box that are ink: much darker than the box's
    own background (its bright end). Text holds ink; a blank stretch of card holds none."""
    h, w = gray.shape
    x0, y0, x1, y1 = polygon.clamped(w, h).bounds
    patch = gray[int(y0) : int(math.ceil(y1)), int(x0) : int(math.ceil(x1))]
    if patch.size < 16:
        return 0.0
    background = float(np.percentile(patch, 90))
    return float((patch < background - INK_CONTRAST).mean())


def judge_on_text(gray: np.ndarray, masked_fields: Sequence[tuple[str, Polygon]]) -> list[str]:
    """Fail when most masked text fields sit on blank card in the original: a response made
    for another image (or another crop) masks the wrong place everywhere."""
    if len(masked_fields) < 2:
        return []
    on_text = sum(1 for _, polygon in masked_fields if ink_share(gray, polygon) >= MIN_INK_SHARE)
    if on_text < MIN_ON_TEXT * len(masked_fields):
        return [
            f"verification: {len(masked_fields) - on_text} of {len(masked_fields)} masks sit on no text"
            " (a location made for another image?)"
        ]
    return []


# ------------------------------------------------------------------ masks cutting through text

#: Beside a text mask, across its lines, this far (in the field's text heights) from its
#: polygon must be blank card once the mask's own padding is passed.
CUT_REACH = 0.4
#: A mask cuts through text when ink shows beside it over this share of its length...
CUT_SHARE = 0.3
#: ... and over at least this many text heights of it (a few characters' worth).
CUT_LENGTH = 2.0
#: Ink along this share of a mask's length at one offset is a printed rule, not text.
RULE_SHARE = 0.8


def _long_axis(polygon: Polygon) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray]:
    """Centre, unit axis along the text, length, height and unit normal of a polygon's
    minimum-area rectangle."""
    import cv2

    pts = np.asarray(polygon.points, dtype=np.float32)
    (cx, cy), (w, h), angle = cv2.minAreaRect(pts)
    theta = math.radians(angle)
    axis = np.array([math.cos(theta), math.sin(theta)])
    if h > w:
        axis = np.array([-axis[1], axis[0]])
        w, h = h, w
    normal = np.array([-axis[1], axis[0]])
    return np.array([cx, cy]), axis, float(w), float(h), normal


def judge_cut_text(
    gray: np.ndarray, masked: np.ndarray, fields: Sequence[tuple[str, Polygon]], printed: np.ndarray | None = None
) -> list[str]:
    """Fail a text mask with ink right beside it across its lines: a band placed half a line
    off leaves the tops or bottoms of its characters showing. ``gray`` is the masked image,
    ``masked`` where masks were painted, ``printed`` where lines read as printed wording lie
    (a title's English line right above a licence number is no value cut in half)."""
    if printed is not None:
        masked = masked | printed
    reasons: list[str] = []
    height, width = gray.shape
    for name, polygon in fields:
        centre, axis, length, tall, normal = _long_axis(polygon)
        if tall < 4 or length < CUT_LENGTH * tall:
            continue
        along = np.linspace(-length / 2, length / 2, max(8, int(length / max(1.0, tall / 6))))
        for side in (-1.0, 1.0):
            offsets = tall / 2 + np.linspace(0.0, CUT_REACH * tall, 8)
            pts = (
                centre[None, None, :]
                + along[:, None, None] * axis[None, None, :]
                + side * offsets[None, :, None] * normal[None, None, :]
            )
            xs = pts[..., 0].round().astype(np.int64)
            ys = pts[..., 1].round().astype(np.int64)
            inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
            xs, ys = np.clip(xs, 0, width - 1), np.clip(ys, 0, height - 1)
            open_ = inside & ~masked[ys, xs]
            if open_.mean() < 0.3:
                continue  # another mask (the next line of an address) or the image's edge
            values = gray[ys, xs].astype(np.float64)
            background = float(np.percentile(values[open_], 90))
            ink = open_ & (values < background - INK_CONTRAST)
            # a printed rule (the line under a licence's title) runs along the whole mask:
            # not text; characters cut in half show strokes across several offsets
            ink[:, ink.mean(axis=0) > RULE_SHARE] = False
            columns = ink.sum(axis=1) >= 2
            inked = float(columns.mean()) * length
            if columns.mean() >= CUT_SHARE and inked >= CUT_LENGTH * tall:
                reasons.append(f"verification: the mask of {name} cuts through text (characters show beside it)")
                break
    return reasons
