"""The pictures on a flat card: the security-print background, rounded corners, the cartoon
portrait, the emblem and the red seal (simple drawings, never a photograph or a real emblem)."""

from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw

from redactor.generator.text import Color, Point, Quad, font, rect_quad

SEAL_RED: Color = (214, 36, 40)


def card_base(size: tuple[int, int], top: Color, bottom: Color, line: Color, rng: random.Random) -> Image.Image:
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


def rounded(img: Image.Image, radius: int) -> Image.Image:
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


def emblem(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
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
