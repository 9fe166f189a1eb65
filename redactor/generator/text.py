"""Text on a flat card: the bundled fonts, a line of text drawn, and where it landed.

Coordinates are continuous pixel coordinates (pixel ``(i, j)`` spans ``[i, i+1) x [j, j+1)``),
the convention Pillow's geometric transforms use, so they survive warping exactly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from PIL import ImageDraw, ImageFont

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
MARGIN = 2.0  # px around a value's text box, so the quad surely covers anti-aliased edges
BLACK: Color = (22, 22, 26)


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


def rect_quad(box: Box, margin: float = 0.0) -> Quad:
    x0, y0, x1, y1 = box
    return [
        (x0 - margin, y0 - margin),
        (x1 + margin, y0 - margin),
        (x1 + margin, y1 + margin),
        (x0 - margin, y1 + margin),
    ]


def union(boxes: list[Box]) -> Box:
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
    return union(boxes)


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


def text_field(name: str, label: str, value: str, boxes: list[Box]) -> FieldTruth:
    lines = [rect_quad(b, MARGIN) for b in boxes]
    cover = rect_quad(union(boxes), MARGIN)
    return FieldTruth(name, label, value, list(cover), lines, cover)
