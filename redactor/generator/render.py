"""Draw flat, upright specimen cards and record where every value landed.

Layouts imitate the second-generation resident ID card (front and back) and the driving
licence main page closely enough for locators to be exercised, not to be mistaken for real
documents: the emblem and portrait are simple drawings and all values are synthetic.
Coordinates are continuous pixel coordinates (pixel ``(i, j)`` spans ``[i, i+1) x [j, j+1)``),
the convention Pillow's geometric transforms use, so they survive warping exactly.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from PIL import Image, ImageDraw, ImageFont

from redactor.generator.identities import Identity, License

Point = tuple[float, float]
Quad = list[Point]
Color = tuple[int, int, int]

FONT_FILES = {"regular": "NotoSansCJKsc-Regular-subset.otf", "bold": "NotoSansCJKsc-Bold-subset.otf"}
MARGIN = 2.0  # px around a value's text box, so the quad surely covers anti-aliased edges

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


@lru_cache(maxsize=2)
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
    """An upright card (RGBA, transparent rounded corners) and its ground truth."""

    kind: str
    image: Image.Image
    fields: list[FieldTruth] = field(default_factory=list)
    portrait: Quad | None = None


Box = tuple[float, float, float, float]


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


# ---------------------------------------------------------------- the three layouts


def render_id_front(person: Identity, rng: random.Random) -> FlatCard:
    img = _card_base(ID_SIZE, (226, 238, 246), (246, 249, 250), (204, 222, 236), rng)
    draw = ImageDraw.Draw(img)
    lf, vf, nf = font(28), font(34), font(40)
    lx, vx = 70, 180
    fields: list[FieldTruth] = []

    def labelled(name: str, x_label: float, x_value: float, y: float, value: str) -> None:
        draw_text(draw, (x_label, y), ID_LABELS[name], lf, LABEL_BLUE)
        fields.append(_text_field(name, ID_LABELS[name], value, [draw_text(draw, (x_value, y), value, vf, BLACK)]))

    labelled("name", lx, vx, 110, person.name)
    labelled("gender", lx, vx, 190, person.gender)
    labelled("ethnicity", 330, 440, 190, person.ethnicity)
    # birth: numbers in black, 年/月/日 in the label colour, one field covering all of it
    draw_text(draw, (lx, 270), ID_LABELS["birth"], lf, LABEL_BLUE)
    b = person.birth
    x, boxes = float(vx), []
    for part, colour in ((str(b.year), BLACK), ("年", LABEL_BLUE), (str(b.month), BLACK), ("月", LABEL_BLUE)):
        boxes.append(draw_text(draw, (x, 270), part, vf, colour))
        x = boxes[-1][2] + 12
    boxes.append(draw_text(draw, (x, 270), str(b.day), vf, BLACK))
    boxes.append(draw_text(draw, (boxes[-1][2] + 12, 270), "日", vf, LABEL_BLUE))
    birth_text = f"{b.year} 年 {b.month} 月 {b.day} 日"
    fields.append(_text_field("birth", ID_LABELS["birth"], birth_text, [_union(boxes)]))
    # address: up to 3 lines left of the portrait
    draw_text(draw, (lx, 350), ID_LABELS["address"], lf, LABEL_BLUE)
    lines = wrap(person.address, vf, 430, 3)
    line_boxes = [draw_text(draw, (vx, 350 + 46 * i), line, vf, BLACK) for i, line in enumerate(lines)]
    fields.append(_text_field("address", ID_LABELS["address"], person.address, line_boxes))
    # ID number: wider digits at the bottom
    draw_text(draw, (lx, 540), ID_LABELS["id_number"], lf, LABEL_BLUE)
    box = draw_text(draw, (330, 542), person.id_number, nf, BLACK, tracking=7)
    fields.append(_text_field("id_number", ID_LABELS["id_number"], person.id_number, [box]))
    fields.sort(key=lambda f: list(ID_LABELS).index(f.field))

    card = _rounded(img, 34)
    portrait = draw_portrait(card, (640, 80, 925, 445), (236, 243, 248), rng)
    return FlatCard("id_front", card, fields, portrait)


def render_id_back(person: Identity, rng: random.Random) -> FlatCard:
    img = _card_base(ID_SIZE, (238, 244, 248), (226, 238, 246), (206, 224, 238), rng)
    draw = ImageDraw.Draw(img)
    _emblem(draw, 150, 150, 95)
    draw_text(draw, (300, 150), ID_BACK_TITLE[0], font(52, "bold"), BLACK, tracking=10)
    draw_text(draw, (300, 290), ID_BACK_TITLE[1], font(78, "bold"), BLACK, tracking=26)
    lf, vf = font(28), font(32)
    fields = []
    for y, name, value in ((470, "issuing_authority", person.id_issuer), (545, "valid_period", person.id_valid_period)):
        draw_text(draw, (180, y), ID_BACK_LABELS[name], lf, LABEL_BLUE)
        fields.append(_text_field(name, ID_BACK_LABELS[name], value, [draw_text(draw, (330, y), value, vf, BLACK)]))
    return FlatCard("id_back", _rounded(img, 34), fields, None)


def render_dl_main(lic: License, rng: random.Random) -> FlatCard:
    img = _card_base(DL_SIZE, (246, 240, 236), (238, 240, 246), (228, 214, 214), rng)
    draw = ImageDraw.Draw(img)
    title = font(40, "bold")
    tw = title.getlength(DL_TITLE) + 4 * (len(DL_TITLE) - 1)
    draw_text(draw, ((DL_SIZE[0] - tw) / 2, 72), DL_TITLE, title, BLACK, tracking=4)
    en = font(18)
    draw_text(draw, ((DL_SIZE[0] - en.getlength(DL_TITLE_EN)) / 2, 102), DL_TITLE_EN, en, (70, 70, 70))
    draw.line([(40, 118), (DL_SIZE[0] - 40, 118)], fill=(120, 120, 130), width=2)
    lf, ef, vf = font(24), font(13), font(30)
    holder = lic.holder
    fields: list[FieldTruth] = []

    def labelled(name: str, x_label: float, x_value: float, y: float, value: str) -> None:
        zh, english = DL_LABELS[name]
        draw_text(draw, (x_label, y), zh, lf, (40, 40, 50))
        draw_text(draw, (x_label, y + 18), english, ef, (90, 90, 100))
        fields.append(_text_field(name, zh, value, [draw_text(draw, (x_value, y), value, vf, BLACK)]))

    labelled("license_number", 40, 180, 168, lic.license_number)
    labelled("name", 40, 150, 232, holder.name)
    labelled("gender", 360, 440, 232, holder.gender)
    labelled("nationality", 540, 650, 232, lic.nationality)
    zh, english = DL_LABELS["address"]
    draw_text(draw, (40, 296), zh, lf, (40, 40, 50))
    draw_text(draw, (40, 314), english, ef, (90, 90, 100))
    lines = wrap(holder.address, vf, 580, 2)
    boxes = [draw_text(draw, (150, 296 + 42 * i), line, vf, BLACK) for i, line in enumerate(lines)]
    fields.append(_text_field("address", zh, holder.address, boxes))
    labelled("birth", 40, 230, 408, holder.birth.isoformat())
    labelled("first_issue_date", 40, 230, 470, lic.first_issue.isoformat())
    labelled("vehicle_class", 40, 230, 532, lic.vehicle_class)
    labelled("valid_period", 40, 230, 610, lic.valid_period)

    card = _rounded(img, 24)
    portrait = draw_portrait(card, (770, 150, 950, 400), (214, 232, 246), rng)
    center = (845.0 + rng.uniform(-10, 10), 555.0 + rng.uniform(-6, 6))
    seal = draw_seal(card, center, 100, lic.authority)
    xs, ys = [p[0] for p in seal], [p[1] for p in seal]
    square = rect_quad((min(xs), min(ys), max(xs), max(ys)))
    zh = DL_LABELS["issuing_authority"][0]
    fields.append(FieldTruth("issuing_authority", zh, lic.authority, seal, [square], square))
    return FlatCard("dl_main", card, fields, portrait)
