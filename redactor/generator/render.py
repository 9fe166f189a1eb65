"""Draw flat, upright specimen cards and record where every value landed.

Layouts imitate the second-generation resident ID card (front and back) and the driving
licence main page closely enough for locators to be exercised, not to be mistaken for real
documents: the emblem and portrait are simple drawings and all values are synthetic.

Each card kind has several *layout families* (one :class:`IdFrontLayout`, :class:`IdBackLayout`
or :class:`DlLayout` each; the held-out ones live in :mod:`redactor.generator.heldout`), and
every card departs from its family's base layout by a random :class:`Style`, so that no
locator can be tuned to one set of pixel positions. ``Style()`` draws the base layout exactly.
Coordinates are continuous pixel coordinates (pixel ``(i, j)`` spans ``[i, i+1) x [j, j+1)``),
the convention Pillow's geometric transforms use, so they survive warping exactly.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from PIL import Image, ImageDraw, ImageFont

from redactor.generator.identities import Identity, License

Point = tuple[float, float]
Quad = list[Point]
Color = tuple[int, int, int]
Box = tuple[float, float, float, float]

#: Bundled font subsets by style key: labels use sans regular/bold, values sans or serif.
FONT_FILES = {
    "regular": "NotoSansCJKsc-Regular-subset.otf",
    "bold": "NotoSansCJKsc-Bold-subset.otf",
    "serif": "NotoSerifCJKsc-Regular-subset.otf",
}
#: Type families a card's values may be printed in (one per card): real cards differ by print run.
VALUE_FACES = ("regular", "serif")
MARGIN = 2.0  # px around a value's text box, so the quad surely covers anti-aliased edges
#: Smallest gap (px) between a label's last glyph and its value.
LABEL_GAP = 10.0

ID_SIZE = (1000, 631)  # 85.6 x 54 mm
DL_SIZE = (1000, 682)  # 88 x 60 mm

ID_LABELS = {
    "name": "姓名",
    "gender": "性别",
    "ethnicity": "民族",
    "birth": "出生",
    "address": "住址",
    "id_number": "公民身份号码",
}
ID_BACK_LABELS = {"issuing_authority": "签发机关", "valid_period": "有效期限"}
DL_LABELS = {
    "license_number": ("证号", "License No."),
    "name": ("姓名", "Name"),
    "gender": ("性别", "Sex"),
    "nationality": ("国籍", "Nationality"),
    "address": ("住址", "Address"),
    "birth": ("出生日期", "Date of Birth"),
    "first_issue_date": ("初次领证日期", "Date of First Issue"),
    "vehicle_class": ("准驾车型", "Class"),
    "valid_period": ("有效期限", "Valid Period"),
    "issuing_authority": ("发证单位", "Issuing Authority"),
}
ID_BACK_TITLE = ("中华人民共和国", "居民身份证")
DL_TITLE = "中华人民共和国机动车驾驶证"
DL_TITLE_EN = "Driving License of the People's Republic of China"

BLACK: Color = (22, 22, 26)
LABEL_BLUE: Color = (48, 112, 178)
SEAL_RED: Color = (214, 36, 40)


@lru_cache(maxsize=len(FONT_FILES))
def _font_bytes(style: str) -> bytes:
    return resources.files("redactor.generator").joinpath("fonts", FONT_FILES[style]).read_bytes()


@lru_cache(maxsize=64)
def font(size: int, style: str = "regular") -> ImageFont.FreeTypeFont:
    """The bundled subset only: a system font would make output machine-dependent.

    Loaded from bytes, so it also works when the package is imported from a zip.
    """
    return ImageFont.truetype(io.BytesIO(_font_bytes(style)), size)


@dataclass
class FieldTruth:
    """Where one value is: ``polygon`` covers all of it, ``lines`` has one quad per text line,
    ``quad`` is the 4-point cover an OCR service would report."""

    field: str
    label: str
    value: str
    polygon: list[Point]
    lines: list[Quad]
    quad: Quad


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


def rect_quad(box: Box, margin: float = 0.0) -> Quad:
    x0, y0, x1, y1 = box
    return [
        (x0 - margin, y0 - margin),
        (x1 + margin, y0 - margin),
        (x1 + margin, y1 + margin),
        (x0 - margin, y1 + margin),
    ]


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    fnt: ImageFont.FreeTypeFont,
    fill: Color,
    tracking: float = 0.0,
) -> Box:
    """Draw text with its baseline at ``xy`` (optionally letter-spaced); return its box."""
    x, y = xy
    if tracking == 0.0:
        draw.text((x, y), text, font=fnt, fill=fill, anchor="ls")
        return draw.textbbox((x, y), text, font=fnt, anchor="ls")
    boxes: list[Box] = []
    for ch in text:
        draw.text((x, y), ch, font=fnt, fill=fill, anchor="ls")
        boxes.append(draw.textbbox((x, y), ch, font=fnt, anchor="ls"))
        x += fnt.getlength(ch) + tracking
    return _union(boxes)


def wrap(text: str, fnt: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """Greedy character wrap (Chinese has no spaces); the last line takes the rest."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if current and fnt.getlength(current + ch) > width and len(lines) < max_lines - 1:
            lines.append(current)
            current = ch
        else:
            current += ch
    lines.append(current)
    return lines


def _text_field(name: str, label: str, value: str, boxes: list[Box]) -> FieldTruth:
    lines = [rect_quad(b, MARGIN) for b in boxes]
    cover = rect_quad(_union(boxes), MARGIN)
    return FieldTruth(name, label, value, list(cover), lines, cover)


# ---------------------------------------------------------------- backgrounds and drawings


def _card_base(size: tuple[int, int], top: Color, bottom: Color, line: Color, rng: random.Random) -> Image.Image:
    """Gradient plus guilloche-like sine bands and a rosette: the look of a security print."""
    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / (h - 1)
        draw.line([(0, y), (w, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    phase = rng.uniform(0, math.tau)
    for k in range(26):
        y0 = h * (k + 0.5) / 26
        amp = 10 + 6 * math.sin(k * 0.7 + phase)
        wave: list[Point] = [
            (float(x), y0 + amp * math.sin(x / 57.0 + k * 0.45 + phase) + 5 * math.sin(x / 13.0 + k))
            for x in range(0, w + 6, 6)
        ]
        draw.line(wave, fill=line, width=1)
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    for ring in range(7):
        base_r = 60 + ring * 22
        pts: list[Point] = []
        for i in range(361):
            a = math.radians(i)
            r = base_r + 14 * math.sin(12 * a + ring) + 6 * math.sin(29 * a)
            pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
        draw.line(pts, fill=line, width=1)
    return img


def _rounded(img: Image.Image, radius: int) -> Image.Image:
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, img.width - 1, img.height - 1), radius=radius, fill=255)
    out = img.convert("RGBA")
    out.putalpha(mask)
    return out


def draw_portrait(img: Image.Image, box: tuple[int, int, int, int], background: Color, rng: random.Random) -> Quad:
    """A cartoon head and shoulders (never a photograph); returns the portrait's quad."""
    bx0, by0, bx1, by1 = box
    w, h = bx1 - bx0, by1 - by0
    x0, y0, x1, y1 = 0, 0, w, h  # drawn on its own tile, so nothing spills onto the card
    tile = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(tile)
    skin = rng.choice([(241, 204, 170), (226, 185, 145), (198, 150, 110), (250, 215, 190)])
    hair = rng.choice([(25, 22, 22), (45, 35, 30), (70, 50, 35), (30, 30, 40)])
    cloth = rng.choice([(30, 40, 70), (60, 60, 60), (20, 20, 25), (90, 30, 40), (240, 240, 240)])
    cx = x0 + w / 2 + rng.uniform(-0.03, 0.03) * w
    head_w, head_h = w * 0.42, h * 0.42
    head_top = y0 + h * 0.14
    # shoulders and neck
    draw.ellipse((x0 + w * 0.02, y0 + h * 0.74, x1 - w * 0.02, y1 + h * 0.35), fill=cloth)
    draw.rectangle((cx - w * 0.08, head_top + head_h * 0.8, cx + w * 0.08, y0 + h * 0.8), fill=skin)
    draw.polygon([(cx - w * 0.1, y0 + h * 0.76), (cx + w * 0.1, y0 + h * 0.76), (cx, y0 + h * 0.86)], fill=skin)
    # hair behind, ears, face
    long_hair = rng.random() < 0.5
    hair_bottom = head_top + head_h * (1.15 if long_hair else 0.55)
    draw.rounded_rectangle(
        (cx - head_w * 0.58, head_top - head_h * 0.08, cx + head_w * 0.58, hair_bottom),
        radius=int(head_w * 0.4),
        fill=hair,
    )
    for side in (-1, 1):
        ex = cx + side * head_w * 0.5
        draw.ellipse((ex - w * 0.035, head_top + head_h * 0.42, ex + w * 0.035, head_top + head_h * 0.62), fill=skin)
    draw.ellipse((cx - head_w / 2, head_top, cx + head_w / 2, head_top + head_h), fill=skin)
    draw.chord(
        (cx - head_w * 0.55, head_top - head_h * 0.1, cx + head_w * 0.55, head_top + head_h * 0.55), 180, 360, fill=hair
    )
    # face
    eye_y = head_top + head_h * 0.5
    for side in (-1, 1):
        ex = cx + side * head_w * 0.2
        draw.ellipse((ex - 5, eye_y - 4, ex + 5, eye_y + 4), fill=(30, 30, 30))
        draw.line([(ex - 12, eye_y - 14), (ex + 12, eye_y - 16)], fill=hair, width=4)
    draw.line(
        [(cx, eye_y + 4), (cx - 4, eye_y + head_h * 0.2), (cx + 3, eye_y + head_h * 0.2)], fill=(170, 120, 95), width=2
    )
    mouth_y = head_top + head_h * 0.8
    draw.arc((cx - head_w * 0.15, mouth_y - 12, cx + head_w * 0.15, mouth_y + 6), 20, 160, fill=(150, 60, 60), width=3)
    img.paste(tile, (bx0, by0))
    return rect_quad((float(bx0), float(by0), float(bx1), float(by1)))


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: Color | int, rot: float = -90.0) -> None:
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.4
        a = math.radians(rot + i * 36)
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    draw.polygon(pts, fill=fill)


def _emblem(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    """A simple emblem-like drawing: gold ring, red disc, stars, a gate silhouette."""
    gold, red = (222, 176, 52), (200, 30, 36)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=gold)
    draw.ellipse((cx - r * 0.82, cy - r * 0.82, cx + r * 0.82, cy + r * 0.82), fill=red)
    _star(draw, cx, cy - r * 0.42, r * 0.22, gold)
    for i, a in enumerate((-150, -120, -60, -30)):
        rad = math.radians(a)
        _star(
            draw,
            cx + r * 0.45 * math.cos(rad),
            cy - r * 0.42 + r * 0.45 * math.sin(rad) + r * 0.3,
            r * 0.08,
            gold,
            i * 20,
        )
    draw.rectangle((cx - r * 0.45, cy + r * 0.05, cx + r * 0.45, cy + r * 0.35), fill=gold)
    draw.polygon([(cx - r * 0.55, cy + r * 0.05), (cx + r * 0.55, cy + r * 0.05), (cx, cy - r * 0.12)], fill=gold)
    for i in range(5):
        gx = cx - r * 0.36 + i * r * 0.18
        draw.rectangle((gx - r * 0.04, cy + r * 0.18, gx + r * 0.04, cy + r * 0.35), fill=red)
    draw.rectangle((cx - r * 0.6, cy + r * 0.45, cx + r * 0.6, cy + r * 0.55), fill=gold)


def draw_seal(img: Image.Image, center: tuple[float, float], radius: float, text: str) -> list[Point]:
    """A red round seal with ``text`` curved along the ring (``img`` must be RGBA); returns a 16-point cover."""
    size = int(radius * 2 + 8)
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    c = size / 2
    draw.ellipse((c - radius, c - radius, c + radius, c + radius), outline=255, width=5)
    _star(draw, c, c, radius * 0.3, 255)
    n = len(text)
    fs = max(16, min(28, int(radius * 0.27)))
    fnt = font(fs)
    step = min(22.0, 250.0 / max(1, n - 1))
    ring = radius - 8 - fs * 0.55
    for i, ch in enumerate(text):
        a = -90.0 - step * (n - 1) / 2 + i * step
        glyph = Image.new("L", (fs * 2, fs * 2), 0)
        ImageDraw.Draw(glyph).text((fs, fs), ch, font=fnt, fill=255, anchor="mm")
        glyph = glyph.rotate(-(a + 90.0), resample=Image.Resampling.BICUBIC)
        gx = c + ring * math.cos(math.radians(a)) - fs
        gy = c + ring * math.sin(math.radians(a)) - fs
        layer.paste(255, (round(gx), round(gy)), glyph)
    ink = Image.new("RGBA", (size, size), (*SEAL_RED, 0))
    ink.putalpha(layer.point(lambda v: int(v * 0.85)))
    ox, oy = round(center[0] - c), round(center[1] - c)
    img.alpha_composite(ink, (ox, oy))
    cx, cy, r = ox + c, oy + c, (radius + 3) / math.cos(math.pi / 16)  # polygon circumscribes the circle
    return [(cx + r * math.cos(math.tau * k / 16), cy + r * math.sin(math.tau * k / 16)) for k in range(16)]


# ---------------------------------------------------------------- per-card variation


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


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


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
        self.fields.append(_text_field(field, label, text, [box]))
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
        self.fields.append(_text_field(field, label, text, boxes))

    def sorted_fields(self, order: Sequence[str]) -> list[FieldTruth]:
        return sorted(self.fields, key=lambda f: list(order).index(f.field))


# ---------------------------------------------------------------- ID card front


@dataclass(frozen=True)
class IdFrontLayout:
    """Where an ID card front's texts and photo go (card pixels, text baselines): one per family."""

    family: str
    base: tuple[Color, Color, Color]  #: card gradient top, bottom, guilloche colour
    label_colour: Color
    label_face: str
    sizes: tuple[int, int, int]  #: label, value, ID number px
    label_x: float
    value_x: float
    rows: tuple[float, float, float, float, float]  #: name, gender, birth, address, ID number
    ethnicity_x: tuple[float, float]  #: label and value x on the gender row
    address_step: float
    number_x: float
    number_dy: float  #: the ID number's baseline below its label's
    number_tracking: float
    birth_gap: float  #: between the numbers and 年/月/日
    portrait: tuple[int, int, int, int]
    portrait_bg: Color
    label_em: float = 0.0  #: letter-spacing the family prints its two-character labels with (姓  名)
    address_lines: int = 3


def draw_id_front(layout: IdFrontLayout, person: Identity, rng: random.Random, style: Style) -> FlatCard:
    """An ID card front in ``layout`` moved by ``style``; the random draws are base, then photo."""
    img = _card_base(ID_SIZE, *layout.base, rng)
    lsize, vsize, nsize = layout.sizes
    name_y, gender_y, birth_y, address_y, number_y = layout.rows
    p = Painter(img, style, top=name_y, label_colour=layout.label_colour, label_face=layout.label_face)
    number_top = p.y(number_y) + layout.number_dy - 0.9 * p.px(nsize) - 12
    box = portrait_box(layout.portrait, style, (560.0, 30.0, ID_SIZE[0] - 30.0, number_top))
    p.obstacles.append(tuple(float(v) for v in box))  # type: ignore[arg-type]
    em = layout.label_em
    sizes = (lsize, vsize)
    for name, y, value in (("name", name_y, person.name), ("gender", gender_y, person.gender)):
        p.labelled(name, ID_LABELS[name], layout.label_x, layout.value_x, y, value, sizes, extra_em=em)
    ex, evx = layout.ethnicity_x
    p.labelled("ethnicity", ID_LABELS["ethnicity"], ex, evx, gender_y, person.ethnicity, sizes, extra_em=em)
    # birth: numbers in black, 年/月/日 in the label colour, one field covering all of it
    y, x = p.y(birth_y), p.vx(layout.value_x)
    p.label(ID_LABELS["birth"], (p.lx(layout.label_x), y), lsize, until=x, extra_em=em)
    b, vf, boxes = person.birth, p.value_font(vsize), []
    parts = (str(b.year), "年", str(b.month), "月", str(b.day), "日")
    for part, colour in zip(parts, (BLACK, p.label_colour) * 3, strict=True):
        boxes.append(draw_text(p.draw, (x, y), part, vf, colour))
        x = boxes[-1][2] + layout.birth_gap * style.text_scale
    p.fields.append(_text_field("birth", ID_LABELS["birth"], f"{b.year} 年 {b.month} 月 {b.day} 日", [_union(boxes)]))
    # address: up to 3 lines left of the portrait
    y, x = p.y(address_y), p.vx(layout.value_x)
    p.label(ID_LABELS["address"], (p.lx(layout.label_x), y), lsize, until=x, extra_em=em)
    p.lines("address", ID_LABELS["address"], person.address, (x, y), vsize, layout.address_step, box[0] - 30, 3)
    # ID number: wider digits at the bottom
    p.labelled(
        "id_number",
        ID_LABELS["id_number"],
        layout.label_x,
        layout.number_x,
        number_y,
        person.id_number,
        (lsize, nsize),
        value_dy=layout.number_dy,
        tracking=layout.number_tracking,
    )
    card = _rounded(img, 34)
    portrait = draw_portrait(card, box, style.portrait_backdrop or layout.portrait_bg, rng)
    return FlatCard("id_front", card, p.sorted_fields(list(ID_LABELS)), portrait, layout.family, p.labels)


# ---------------------------------------------------------------- ID card back


@dataclass(frozen=True)
class IdBackLayout:
    """An ID card back: emblem, the two title lines, and the two labelled rows."""

    family: str
    base: tuple[Color, Color, Color]
    emblem: tuple[float, float, float]  #: centre x, y and radius
    titles: tuple[tuple[float, float, int, float], tuple[float, float, int, float]]  #: x, y, px, tracking per line
    label_colour: Color
    sizes: tuple[int, int]  #: label, value px
    label_x: float
    value_x: float
    rows: tuple[float, float]  #: 签发机关, 有效期限 baselines
    label_em: float = 0.0


def draw_id_back(layout: IdBackLayout, person: Identity, rng: random.Random, style: Style) -> FlatCard:
    img = _card_base(ID_SIZE, *layout.base, rng)
    p = Painter(img, style, top=layout.rows[0], label_colour=layout.label_colour, label_face="regular")
    _emblem(p.draw, *layout.emblem)
    for text, (x, y, size, tracking) in zip(ID_BACK_TITLE, layout.titles, strict=True):
        box = draw_text(p.draw, (x, y), text, font(size, "bold"), BLACK, tracking=tracking)
        p.labels.append((text, box))
    values = (("issuing_authority", person.id_issuer), ("valid_period", person.id_valid_period))
    for y, (name, value) in zip(layout.rows, values, strict=True):
        label = ID_BACK_LABELS[name]
        p.labelled(name, label, layout.label_x, layout.value_x, y, value, layout.sizes, extra_em=layout.label_em)
    return FlatCard("id_back", _rounded(img, 34), p.fields, None, layout.family, p.labels)


# ---------------------------------------------------------------- driving licence main page


@dataclass(frozen=True)
class DlRow:
    """One labelled row of the licence: the field, its label x, its value x and baseline."""

    field: str
    label_x: float
    value_x: float
    y: float


@dataclass(frozen=True)
class DlLayout:
    """A driving licence main page print layout."""

    family: str
    base: tuple[Color, Color, Color]
    title: tuple[float | None, float, float]  #: x (``None``: centred), title and English title baselines
    rule_y: float | None  #: the line under the title, if printed
    rows: tuple[DlRow, ...]  #: every text field, ``address`` included (wrapped on two lines)
    sizes: tuple[int, int, int]  #: label, English sub-label, value px
    label_colour: Color
    english: tuple[float, float] | None  #: English sub-label offset from the label; ``None``: right after it
    address_step: float
    portrait: tuple[int, int, int, int]
    portrait_bg: Color
    portrait_limit: Box
    seal: tuple[float, float, float]  #: centre x, y and radius
    seal_jitter: tuple[float, float] = (10.0, 6.0)


ENGLISH_GREY: Color = (90, 90, 100)


def _seal_cover(cx: float, cy: float, radius: float) -> Box:
    """The box :func:`draw_seal`'s cover polygon can reach."""
    r = (radius + 3) / math.cos(math.pi / 16) + 1
    return (cx - r, cy - r, cx + r, cy + r)


def draw_dl_main(layout: DlLayout, lic: License, rng: random.Random, style: Style) -> FlatCard:
    """A licence page in ``layout``; random draws: base, photo, then the seal's position."""
    img = _card_base(DL_SIZE, *layout.base, rng)
    draw = ImageDraw.Draw(img)
    title_x, title_y, en_y = layout.title
    title, en = font(40, "bold"), font(18)
    tw = title.getlength(DL_TITLE) + 4 * (len(DL_TITLE) - 1)
    tx = (DL_SIZE[0] - tw) / 2 if title_x is None else title_x
    draw_text(draw, (tx, title_y), DL_TITLE, title, BLACK, tracking=4)
    ex = (DL_SIZE[0] - en.getlength(DL_TITLE_EN)) / 2 if title_x is None else title_x
    draw_text(draw, (ex, en_y), DL_TITLE_EN, en, (70, 70, 70))
    if layout.rule_y is not None:
        draw.line([(40, layout.rule_y), (DL_SIZE[0] - 40, layout.rule_y)], fill=(120, 120, 130), width=2)
    lsize, esize, vsize = layout.sizes
    p = Painter(img, style, top=layout.rows[0].y, label_colour=layout.label_colour, label_face="regular")
    box = portrait_box(layout.portrait, style, layout.portrait_limit)
    cx, cy, radius = layout.seal
    jx, jy = layout.seal_jitter
    p.obstacles += [tuple(float(v) for v in box), _seal_cover(cx, cy, radius + max(jx, jy))]  # type: ignore[list-item]
    holder = lic.holder
    values = {
        "license_number": lic.license_number,
        "name": holder.name,
        "gender": holder.gender,
        "nationality": lic.nationality,
        "birth": holder.birth.isoformat(),
        "first_issue_date": lic.first_issue.isoformat(),
        "vehicle_class": lic.vehicle_class,
        "valid_period": lic.valid_period,
    }

    def english(row: DlRow, y: float) -> Callable[[Box], Box]:
        def draw_english(zh_box: Box) -> Box:
            text, efont = DL_LABELS[row.field][1], font(p.px(esize))
            if layout.english is None:  # on the label's baseline, right after it
                e_box = p.label(text, (zh_box[2] + 8, y), esize, colour=ENGLISH_GREY, tracked=False)
                return _union([zh_box, e_box])
            dx, dy = layout.english
            e_box = draw_text(p.draw, (p.lx(row.label_x) + dx, y + dy * style.text_scale), text, efont, ENGLISH_GREY)
            p.labels.append((text, e_box))
            return zh_box

        return draw_english

    for row in layout.rows:
        zh = DL_LABELS[row.field][0]
        y = p.y(row.y)
        if row.field != "address":
            p.labelled(row.field, zh, row.label_x, row.value_x, row.y, values[row.field], (lsize, vsize),
                       after_label=english(row, y))  # fmt: skip
            continue
        x = p.vx(row.value_x)
        label_box = english(row, y)(p.label(zh, (p.lx(row.label_x), y), lsize, until=x))
        x = max(x, label_box[2] + LABEL_GAP)
        right = p.right_limit(x, y, vsize, DL_SIZE[0] - 40)
        p.lines("address", zh, holder.address, (x, y), vsize, layout.address_step, min(right, box[0] - 40), 2)

    card = _rounded(img, 24)
    portrait = draw_portrait(card, box, style.portrait_backdrop or layout.portrait_bg, rng)
    center = (cx + rng.uniform(-jx, jx), cy + rng.uniform(-jy, jy))
    seal = draw_seal(card, center, radius, lic.authority)
    xs, ys = [q[0] for q in seal], [q[1] for q in seal]
    square = rect_quad((min(xs), min(ys), max(xs), max(ys)))
    fields = p.sorted_fields([f for f in DL_LABELS if f != "issuing_authority"])
    zh = DL_LABELS["issuing_authority"][0]
    fields.append(FieldTruth("issuing_authority", zh, lic.authority, seal, [square], square))
    return FlatCard("dl_main", card, fields, portrait, layout.family, p.labels)


# ---------------------------------------------------------------- the tuned families

#: ``idf-a``: the layout the generator always drew (``Style()`` reproduces those cards exactly).
IDF_A = IdFrontLayout(
    family="idf-a",
    base=((226, 238, 246), (246, 249, 250), (204, 222, 236)),
    label_colour=LABEL_BLUE,
    label_face="regular",
    sizes=(28, 34, 40),
    label_x=70,
    value_x=180,
    rows=(110, 190, 270, 350, 540),
    ethnicity_x=(330, 440),
    address_step=46,
    number_x=330,
    number_dy=2,
    number_tracking=7,
    birth_gap=12,
    portrait=(640, 80, 925, 445),
    portrait_bg=(236, 243, 248),
)
#: ``idf-b``: tighter rows, a wider label column, bold slate labels, a smaller photo set lower.
IDF_B = IdFrontLayout(
    family="idf-b",
    base=((232, 240, 244), (244, 246, 240), (210, 224, 230)),
    label_colour=(62, 84, 116),
    label_face="bold",
    sizes=(26, 32, 38),
    label_x=50,
    value_x=205,
    rows=(100, 168, 236, 304, 520),
    ethnicity_x=(360, 465),
    address_step=44,
    number_x=300,
    number_dy=0,
    number_tracking=9,
    birth_gap=8,
    portrait=(695, 130, 925, 420),
    portrait_bg=(232, 236, 240),
)
#: ``idb-a``: the back the generator always drew.
IDB_A = IdBackLayout(
    family="idb-a",
    base=((238, 244, 248), (226, 238, 246), (206, 224, 238)),
    emblem=(150, 150, 95),
    titles=((300, 150, 52, 10), (300, 290, 78, 26)),
    label_colour=LABEL_BLUE,
    sizes=(28, 32),
    label_x=180,
    value_x=330,
    rows=(470, 545),
)
_DL_BASE = ((246, 240, 236), (238, 240, 246), (228, 214, 214))
#: ``dl-a``: photo upper right, seal lower right (the page the generator always drew).
DL_A = DlLayout(
    family="dl-a",
    base=_DL_BASE,
    title=(None, 72, 102),
    rule_y=118,
    rows=(
        DlRow("license_number", 40, 180, 168),
        DlRow("name", 40, 150, 232),
        DlRow("gender", 360, 440, 232),
        DlRow("nationality", 540, 650, 232),
        DlRow("address", 40, 150, 296),
        DlRow("birth", 40, 230, 408),
        DlRow("first_issue_date", 40, 230, 470),
        DlRow("vehicle_class", 40, 230, 532),
        DlRow("valid_period", 40, 230, 610),
    ),
    sizes=(24, 13, 30),
    label_colour=(40, 40, 50),
    english=(0, 18),
    address_step=42,
    portrait=(770, 150, 950, 400),
    portrait_bg=(214, 232, 246),
    portrait_limit=(720, 130, 975, 440),
    seal=(845, 555, 100),
)
#: ``dl-b``: photo lower on the right, the red seal over the lower-left labels.
DL_B = DlLayout(
    family="dl-b",
    base=((244, 242, 234), (236, 242, 244), (222, 218, 206)),
    title=(None, 66, 94),
    rule_y=110,
    rows=(
        DlRow("license_number", 48, 200, 160),
        DlRow("name", 48, 160, 222),
        DlRow("gender", 330, 410, 222),
        DlRow("nationality", 500, 600, 222),
        DlRow("address", 48, 160, 284),
        DlRow("birth", 48, 290, 396),
        DlRow("first_issue_date", 48, 290, 456),
        DlRow("vehicle_class", 48, 290, 516),
        DlRow("valid_period", 48, 290, 600),
    ),
    sizes=(22, 12, 29),
    label_colour=(30, 50, 90),
    english=(0, 17),
    address_step=40,
    portrait=(780, 300, 950, 540),
    portrait_bg=(228, 236, 244),
    portrait_limit=(730, 270, 975, 655),
    seal=(150, 545, 88),
    seal_jitter=(8.0, 6.0),
)


def render_id_front(person: Identity, rng: random.Random, style: Style | None = None) -> FlatCard:
    """An ``idf-a`` front (the base layout unless a ``style`` is given)."""
    return draw_id_front(IDF_A, person, rng, style or Style())


def render_id_back(person: Identity, rng: random.Random, style: Style | None = None) -> FlatCard:
    """An ``idb-a`` back (the base layout unless a ``style`` is given)."""
    return draw_id_back(IDB_A, person, rng, style or Style())


def render_dl_main(lic: License, rng: random.Random, style: Style | None = None) -> FlatCard:
    """A ``dl-a`` licence page (the base layout unless a ``style`` is given)."""
    return draw_dl_main(DL_A, lic, rng, style or Style())
