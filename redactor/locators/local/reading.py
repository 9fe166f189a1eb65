"""Text lines of an image: detected, put in reading direction, read, with character positions.

Each line knows where each of its characters sits along it (from the recogniser's time
steps), so a label merged with its value ("性别男") splits where the label ends, and a
letter-spaced label split into single characters can be joined again.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from redactor.locators.local.ocr import OcrModels, TextBox, crop_line, line_frame

#: Lines much lower than the typical line (dust, tiny print) are not read.
MIN_READ_HEIGHT = 0.55
#: A line is read up to this many heights from its start: labels lead, and a long value
#: needs no reading (its place, not its text, is what gets masked).
READ_RATIO = 9.0
#: Share of a crop's (sampled) pixels in seal red above which it is read in red dropout.
RED_INK_SHARE = 0.02
#: At most this many lines are read per image (the longest first never matters: all are short).
MAX_LINES_READ = 120


@dataclass(eq=False)
class Line:
    """A detected line in reading order: ``frame`` is start-top, end-top, end-bottom, start-bottom."""

    box: TextBox
    frame: np.ndarray
    image: np.ndarray = field(repr=False)
    text: str = ""
    #: per character of ``text``: its centre as a fraction of the whole line (0 start, 1 end)
    centres: tuple[float, ...] = ()
    confidences: tuple[float, ...] = ()
    confidence: float = 0.0
    #: how much of the line (from its start) was read
    covered: float = 1.0
    read: bool = False
    readable: bool = True
    height: float = field(init=False, default=0.0)
    length: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.height = float(np.linalg.norm(self.frame[3] - self.frame[0]))
        self.length = float(np.linalg.norm(self.frame[1] - self.frame[0]))

    @property
    def axis(self) -> np.ndarray:
        v = self.frame[1] - self.frame[0]
        return np.asarray(v / (np.linalg.norm(v) or 1.0))

    @property
    def centre(self) -> np.ndarray:
        return np.asarray(self.frame.mean(axis=0))

    def part(self, t0: float, t1: float) -> np.ndarray:
        """The quad of the line between fractions ``t0`` and ``t1`` of its length."""
        f = self.frame.astype(np.float64)
        top0, top1 = f[0] + (f[1] - f[0]) * t0, f[0] + (f[1] - f[0]) * t1
        bot0, bot1 = f[3] + (f[2] - f[3]) * t0, f[3] + (f[2] - f[3]) * t1
        return np.array([top0, top1, bot1, bot0])

    def char_span(self, first: int, last: int) -> tuple[float, float]:
        """Fractions along the line where characters ``first``..``last`` (inclusive) begin and end."""
        centres = self.centres
        n = len(centres)
        if n == 0:
            return 0.0, 1.0
        step = self._pitch()
        # CTC emits a character near its start: a span that reaches the line's end takes all of it.
        t0 = centres[first] - step / 2 if first > 0 else 0.0
        t1 = centres[last] + step / 2 if last < n - 1 or self.covered < 1.0 else 1.0
        if first > 0:
            t0 = max(t0, (centres[first - 1] + centres[first]) / 2)
        if last < n - 1:
            t1 = min(t1, (centres[last] + centres[last + 1]) / 2)
        return float(max(0.0, t0)), float(min(1.0, t1))

    def _pitch(self) -> float:
        """Typical distance between character centres (as a fraction of the line)."""
        c = self.centres
        if len(c) >= 2:
            return float(np.median(np.diff(c)))
        return min(1.0, self.height / max(self.length, 1e-6))


def _breathing(line: Line) -> np.ndarray:
    """A short line's frame with a little room at both ends: the detector's box around one or
    two characters can clip a stroke, and the recogniser then reads another character."""
    if line.length >= 3.0 * line.height:
        return line.frame
    pad = line.axis * 0.15 * line.height
    f = line.frame.astype(np.float64)
    return np.array([f[0] - pad, f[1] + pad, f[2] + pad, f[3] - pad], dtype=np.float32)


def red_dropout(bgr: np.ndarray, always: bool = False) -> np.ndarray:
    """The image as its red channel in grey: a red seal printed over a label vanishes (red ink
    is bright in red light), black and blue print stay dark, as a scanner's red dropout does.
    Unless ``always``, a crop without red ink is returned as it is (the recogniser reads
    small colour text better)."""
    if not always:
        b, g, r = (bgr[::2, ::2, k].astype(np.int16) for k in range(3))
        share = float(((r > 90) & (r * 5 > g * 8) & (r * 2 > b * 3)).mean()) if r.size else 0.0
        if share < RED_INK_SHARE:
            return bgr
    return np.ascontiguousarray(np.repeat(bgr[:, :, 2:3], 3, axis=2))


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


class LineReader:
    """Detects, orients and reads lines with shared OCR models."""

    def __init__(self, models: OcrModels) -> None:
        self.models = models

    def detect(
        self, bgr: np.ndarray, limit: int, box: tuple[int, int, int, int] | None = None, scale: float | None = None
    ) -> list[Line]:
        """Lines of ``bgr`` (of ``box`` only, enlarged by ``scale``), oriented, not yet read."""
        if box is None:
            boxes = self.models.detect(red_dropout(bgr, always=True), limit=limit)
        else:
            x0, y0, x1, y1 = box
            found = self.models.detect(red_dropout(bgr[y0:y1, x0:x1], always=True), limit=limit, scale=scale)
            offset = np.array([x0, y0], dtype=np.float32)
            boxes = [TextBox(b.corners + offset, b.score) for b in found]
        lines: list[Line] = []
        for group in orientation_groups(boxes):
            lines.extend(self.orient(bgr, group))
        if lines:
            typical = float(np.median([ln.height for ln in lines]))
            for ln in lines:
                ln.readable = ln.height >= MIN_READ_HEIGHT * typical
        return lines

    def orient(self, bgr: np.ndarray, boxes: list[TextBox]) -> list[Line]:
        """Frames in one shared reading direction, flipped when the text reads upside down."""
        axis = dominant_axis(boxes)
        frames = [line_frame(b.corners, own_axis(b, axis)) for b in boxes]
        longest = sorted(range(len(boxes)), key=lambda i: -boxes[i].size[0])[:8]
        votes = self.models.upside_down([crop_line(bgr, frames[i], 4.0) for i in longest])
        if sum(1 for p in votes if p > 0.5) > len(votes) / 2:
            frames = [np.asarray(f[[2, 3, 0, 1]]) for f in frames]
        return [Line(b, f, bgr) for b, f in zip(boxes, frames, strict=True)]

    def read(self, lines: list[Line]) -> None:
        """Recognise the (leading part of the) lines not read yet."""
        todo = [ln for ln in lines if ln.readable and not ln.read][:MAX_LINES_READ]
        crops = [red_dropout(crop_line(ln.image, _breathing(ln), READ_RATIO)) for ln in todo]
        for ln, reading in zip(todo, self.models.read(crops), strict=True):
            covered = min(1.0, READ_RATIO * ln.height / max(ln.length, 1e-6))
            chars: list[str] = []
            centres: list[float] = []
            confs: list[float] = []
            for ch, c, p in zip(reading.text, reading.centres, reading.confidences, strict=False):
                for folded in normalise(ch):
                    if folded.isspace():
                        continue
                    chars.append(folded)
                    centres.append(c * covered)
                    confs.append(p)
            ln.text = "".join(chars)
            ln.centres = tuple(centres)
            ln.confidences = tuple(confs)
            ln.confidence = reading.confidence
            ln.covered = covered
            ln.read = True


def _axis_angle(box: TextBox) -> float:
    c = box.corners
    e0, e1 = c[1] - c[0], c[2] - c[1]
    e = e0 if np.linalg.norm(e0) >= np.linalg.norm(e1) else e1
    return math.atan2(float(e[1]), float(e[0])) % math.pi


def dominant_axis(boxes: list[TextBox]) -> np.ndarray:
    """Mean direction (mod 180 degrees) of the elongated lines, weighted by length."""
    sx = sy = 0.0
    for b in boxes:
        long, short = b.size
        if long < 1.8 * short:
            continue
        a = 2 * _axis_angle(b)
        sx += long * math.cos(a)
        sy += long * math.sin(a)
    angle = 0.0 if sx == sy == 0.0 else math.atan2(sy, sx) / 2
    axis = np.array([math.cos(angle), math.sin(angle)])
    if axis[0] < -1e-9 or (abs(axis[0]) <= 1e-9 and axis[1] < 0):
        axis = -axis
    return axis


def own_axis(box: TextBox, shared: np.ndarray) -> np.ndarray:
    """The box's own long axis when it is clearly a line near the shared one, else the shared axis."""
    long, short = box.size
    if long >= 1.5 * short:
        a = _axis_angle(box)
        own = np.array([math.cos(a), math.sin(a)])
        if abs(float(own @ shared)) > math.cos(math.radians(30)):
            return own if own @ shared > 0 else -own
    return shared


def orientation_groups(boxes: list[TextBox]) -> list[list[TextBox]]:
    """Split lines whose axes differ by more than 30 degrees (cards at different angles)."""
    groups: list[tuple[float, list[TextBox]]] = []
    for b in sorted(boxes, key=lambda b: -b.size[0]):
        a = _axis_angle(b) if b.size[0] >= 1.8 * b.size[1] else None
        for ga, members in groups:
            if a is None or abs(math.sin(a - ga)) < math.sin(math.radians(30)):
                members.append(b)
                break
        else:
            groups.append((a if a is not None else 0.0, [b]))
    return [members for _, members in groups]
