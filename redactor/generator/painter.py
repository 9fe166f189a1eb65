"""Per-card variation, and the painter every layout family draws its texts through.

Every card departs from its family's base layout by a random :class:`Style`, so that no
locator can be tuned to one set of pixel positions; ``Style()`` draws the base layout exactly.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

from redactor.generator.text import BLACK, Box, Color, FieldTruth, Quad, draw_text, font, text_field, wrap

#: Type families a card's values may be printed in (one per card): real cards differ by print run.
VALUE_FACES = ("regular", "serif")
#: Smallest gap (px) between a label's last glyph and its value.
LABEL_GAP = 10.0


@dataclass
class FlatCard:
    """An upright card (RGBA, transparent rounded corners) and its ground truth.

    ``labels`` (printed label text and its box) is not part of the written truth; tests use it
    to check that values never run into labels.
    """

    kind: str
    image: Image.Image
    fields: list[FieldTruth] = field(default_factory=list)
    portrait: Quad | None = None
    family: str = ""
    labels: list[tuple[str, Box]] = field(default_factory=list)


@dataclass(frozen=True)
class Style:
    """How one card departs from its family's base layout; the defaults draw the base layout exactly.

    Rows move together and value columns move with their labels, so a value always stays
    right of its label on the same row: the card stays plausible, its pixels are new.
    """

    row_dy: float = 0.0  #: every row moves down by this (card px)
    row_spacing: float = 1.0  #: rows spread from the first row by this factor
    label_dx: float = 0.0  #: the label column (and its values) moves right by this
    value_dx: float = 0.0  #: value columns move right of their labels by this
    text_scale: float = 1.0  #: label and value sizes
    label_tracking_em: float = 0.0  #: extra letter-spacing of labels (em), clipped so a label ends before its value
    value_face: str = "regular"  #: font style key of the values (see :data:`VALUE_FACES`)
    label_weight_flip: bool = False  #: print labels in the other weight than the family's
    label_tint: Color = (0, 0, 0)  #: added to the family's label colour
    portrait_dx: float = 0.0
    portrait_dy: float = 0.0
    portrait_scale: float = 1.0
    portrait_backdrop: Color | None = None  #: ``None``: the family's backdrop


def random_style(rng: random.Random, size: tuple[int, int], card_colour: Color, tracking_em: float | None) -> Style:
    """A random :class:`Style`: rows and columns moved by up to about 6% of the card, text +-10%, ..."""
    w, h = size
    pick = rng.random()
    if pick < 0.3:
        backdrop: Color = (rng.randint(248, 255),) * 3  # type: ignore[assignment]
    elif pick < 0.55:
        backdrop = (rng.randint(190, 215), rng.randint(215, 232), rng.randint(238, 252))
    elif pick < 0.8:
        grey = rng.randint(215, 235)
        backdrop = (grey, grey, grey + rng.randint(0, 4))
    else:  # close to the card background: the photo's edge barely shows
        backdrop = tuple(min(255, max(0, c + rng.randint(-6, 6))) for c in card_colour)  # type: ignore[assignment]
    if tracking_em is None:
        tracking_em = 0.0 if rng.random() < 0.3 else rng.uniform(0.1, 1.5)
    return Style(
        row_dy=rng.uniform(-0.035, 0.035) * h,
        row_spacing=rng.uniform(0.95, 1.05),
        label_dx=rng.uniform(-0.025, 0.025) * w,
        value_dx=rng.uniform(-0.035, 0.04) * w,
        text_scale=rng.uniform(0.9, 1.1),
        label_tracking_em=tracking_em,
        value_face=rng.choice(VALUE_FACES),
        label_weight_flip=rng.random() < 0.25,
        label_tint=(rng.randint(-14, 14), rng.randint(-14, 14), rng.randint(-14, 14)),
        portrait_dx=rng.uniform(-0.03, 0.03) * w,
        portrait_dy=rng.uniform(-0.03, 0.03) * h,
        portrait_scale=rng.uniform(0.9, 1.08),
        portrait_backdrop=backdrop,
    )


def portrait_box(base: tuple[int, int, int, int], style: Style, limit: Box) -> tuple[int, int, int, int]:
    """The family's photo box moved and scaled by ``style``, kept inside ``limit`` (integer pixels)."""
    x0, y0, x1, y1 = base
    w, h = (x1 - x0) * style.portrait_scale, (y1 - y0) * style.portrait_scale
    fit = min(1.0, (limit[2] - limit[0]) / w, (limit[3] - limit[1]) / h)
    w, h = w * fit, h * fit
    cx = min(max((x0 + x1) / 2 + style.portrait_dx, limit[0] + w / 2), limit[2] - w / 2)
    cy = min(max((y0 + y1) / 2 + style.portrait_dy, limit[1] + h / 2), limit[3] - h / 2)
    left, top = round(cx - w / 2), round(cy - h / 2)
    return left, top, left + round(w), top + round(h)


class Painter:
    """Places one card's texts under one :class:`Style`: every family draws through this.

    Values are kept clear of ``obstacles`` (the photo, a seal) on their row: a value that
    would run into one on its right is moved left, one under a seal over the labels starts
    right of it; a label's letter-spacing is clipped so it ends before its value.
    """

    def __init__(self, img: Image.Image, style: Style, *, top: float, label_colour: Color, label_face: str) -> None:
        self.draw = ImageDraw.Draw(img)
        self.style = style
        self.top = top
        tint = style.label_tint
        self.label_colour: Color = (
            min(255, max(0, label_colour[0] + tint[0])),
            min(255, max(0, label_colour[1] + tint[1])),
            min(255, max(0, label_colour[2] + tint[2])),
        )
        flipped = {"regular": "bold", "bold": "regular"}
        self.label_face = flipped[label_face] if style.label_weight_flip else label_face
        self.fields: list[FieldTruth] = []
        self.labels: list[tuple[str, Box]] = []
        self.obstacles: list[Box] = []

    def y(self, y: float) -> float:
        return self.top + (y - self.top) * self.style.row_spacing + self.style.row_dy

    def lx(self, x: float) -> float:
        return x + self.style.label_dx

    def vx(self, x: float) -> float:
        return x + self.style.label_dx + self.style.value_dx

    def px(self, size: int) -> int:
        return round(size * self.style.text_scale)

    def value_font(self, size: int) -> ImageFont.FreeTypeFont:
        return font(self.px(size), self.style.value_face)

    def label(
        self,
        text: str,
        xy: tuple[float, float],
        size: int,
        *,
        until: float | None = None,
        extra_em: float = 0.0,
        colour: Color | None = None,
        tracked: bool = True,
    ) -> Box:
        """A label (letter-spaced by the style when ``tracked``), ending before ``until`` if given."""
        fnt = font(self.px(size), self.label_face)
        tracking = (self.style.label_tracking_em + extra_em) * fnt.size if tracked else 0.0
        if until is not None and len(text) > 1:
            room = (until - LABEL_GAP - xy[0] - fnt.getlength(text)) / (len(text) - 1)
            tracking = min(tracking, max(0.0, room))
        box = draw_text(self.draw, xy, text, fnt, colour or self.label_colour, tracking=tracking)
        self.labels.append((text, box))
        return box

    def value_x(self, x: float, y: float, width: float, fnt: ImageFont.FreeTypeFont) -> float:
        """Where a value of ``width`` starts near ``x`` on the row at ``y`` without touching an obstacle."""
        row = (x, y - fnt.size, x + width, y + 0.35 * fnt.size)
        for ob in self.obstacles:
            if not (row[1] < ob[3] and ob[1] < row[3]):
                continue
            if ob[0] <= x:  # a seal over the label column: start right of it
                x = max(x, ob[2] + LABEL_GAP)
            elif x + width > ob[0] - LABEL_GAP:
                x = ob[0] - LABEL_GAP - width
        return x

    def right_limit(self, x: float, y: float, size: float, default: float) -> float:
        """How far right a multi-line value starting at ``x`` may run on the rows from ``y``."""
        limit = default
        for ob in self.obstacles:
            if ob[0] > x and ob[1] < y + 3 * size and y - size < ob[3]:
                limit = min(limit, ob[0] - 30)
        return limit

    def value(
        self, field: str, label: str, text: str, xy: tuple[float, float], size: int, tracking: float = 0.0
    ) -> Box:
        box = draw_text(self.draw, xy, text, self.value_font(size), BLACK, tracking=tracking * self.style.text_scale)
        self.fields.append(text_field(field, label, text, [box]))
        return box

    def labelled(
        self,
        field: str,
        label: str,
        x_label: float,
        x_value: float,
        y: float,
        value: str,
        sizes: tuple[int, int],
        *,
        extra_em: float = 0.0,
        value_dy: float = 0.0,
        tracking: float = 0.0,
        after_label: Callable[[Box], Box] | None = None,
    ) -> Box:
        """A label and its value on one row (base coordinates; the style moves them)."""
        label_size, value_size = sizes
        fnt = self.value_font(value_size)
        width = fnt.getlength(value) + tracking * self.style.text_scale * max(0, len(value) - 1)
        yy = self.y(y)
        vx = self.value_x(self.vx(x_value), yy, width, fnt)
        box = self.label(label, (self.lx(x_label), yy), label_size, until=vx, extra_em=extra_em)
        if after_label is not None:
            box = after_label(box)
        vx = max(vx, box[2] + LABEL_GAP)
        return self.value(field, label, value, (vx, yy + value_dy), value_size, tracking)

    def lines(
        self, field: str, label: str, text: str, xy: tuple[float, float], size: int, step: float, right: float, n: int
    ) -> None:
        """A value wrapped on up to ``n`` lines before ``right``; the size shrinks until the text fits."""
        x, y = xy
        for shrink in range(8):
            fnt = font(max(8, self.px(size) - 2 * shrink), self.style.value_face)
            parts = wrap(text, fnt, right - x, n)
            if fnt.getlength(parts[-1]) <= right - x:
                break
        scale = self.style.text_scale * self.style.row_spacing
        boxes = [draw_text(self.draw, (x, y + step * scale * i), line, fnt, BLACK) for i, line in enumerate(parts)]
        self.fields.append(text_field(field, label, text, boxes))

    def sorted_fields(self, order: Sequence[str]) -> list[FieldTruth]:
        return sorted(self.fields, key=lambda f: list(order).index(f.field))
