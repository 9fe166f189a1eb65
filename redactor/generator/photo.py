"""Turn a flat card into a phone-like photo or a scan, with one exact mapping for pixels and truth.

Every placement is a homography ``H`` from card coordinates to image coordinates. The card
is warped with Pillow's PERSPECTIVE transform using ``H``'s inverse, and every ground-truth
point goes through :func:`apply` with the same ``H``; both use continuous pixel coordinates
(pixel edges at integers), so polygons land on the same pixels as the glyphs they cover.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Point = tuple[float, float]


@dataclass(frozen=True)
class Placement:
    """A composed image and the card-to-image homography (``None`` when there is no card)."""

    image: Image.Image
    homography: np.ndarray | None
    rotation: int  # coarse clockwise rotation of the card in the image: 0, 90, 180 or 270


def corners(size: tuple[int, int]) -> list[Point]:
    """An image's corners, clockwise from the top left, in continuous pixel coordinates."""
    w, h = size
    return [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]


def homography(src: Sequence[Point], dst: Sequence[Point]) -> np.ndarray:
    """The 3x3 matrix mapping four ``src`` points onto four ``dst`` points."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float))
    return np.append(h, 1.0).reshape(3, 3)


def apply(h: np.ndarray, points: Sequence[Point]) -> list[Point]:
    pts = np.hstack([np.asarray(points, dtype=float), np.ones((len(points), 1))]) @ h.T
    return [(float(x / w), float(y / w)) for x, y, w in pts]


def warp(card: Image.Image, h: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """Warp an RGBA card onto a transparent canvas of ``size`` with ``h``.

    Strong reductions are done by a Lanczos resize first (a plain transform would alias
    the thin strokes); the warp then uses the homography adjusted for that resize.
    """
    dst = apply(h, corners(card.size))
    scale = max(math.dist(dst[0], dst[1]) / card.width, math.dist(dst[1], dst[2]) / card.height)
    src_img = card
    if scale < 0.75:
        new = (max(8, round(card.width * scale * 1.25)), max(8, round(card.height * scale * 1.25)))
        src_img = card.convert("RGBa").resize(new, Image.Resampling.LANCZOS).convert("RGBA")
        sx, sy = new[0] / card.width, new[1] / card.height
        h = h @ np.diag([1.0 / sx, 1.0 / sy, 1.0])  # resized coords -> card coords -> image
    inv = np.linalg.inv(h)
    inv = inv / inv[2, 2]
    coeffs = tuple(float(c) for c in inv.flatten()[:8])
    out = src_img.convert("RGBa").transform(size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    return out.convert("RGBA")


# ---------------------------------------------------------------- backgrounds


def _smooth_noise(rng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise in 0..1: a small random grid blown up bicubically."""
    small = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
    return np.asarray(small.resize(size, Image.Resampling.BICUBIC), dtype=np.float32) / 255.0


def background(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A busy procedural table top: wood, fabric or gradient, plus random clutter shapes."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.integers(40, 220, size=3).astype(np.float32)
    style = rng.integers(0, 3)
    if style == 0:  # wood grain along a random axis
        warp_field = _smooth_noise(rng, size, 6) * rng.uniform(20, 60)
        angle = rng.uniform(0, math.pi)
        u = xx * math.cos(angle) + yy * math.sin(angle)
        grain = np.sin((u + warp_field * 3) / rng.uniform(6, 18)) * 0.5 + 0.5
        tone = 0.75 + 0.25 * grain[..., None] + 0.1 * _smooth_noise(rng, size, 12)[..., None]
        base = np.array([rng.uniform(120, 200), rng.uniform(80, 140), rng.uniform(40, 90)], dtype=np.float32)
        arr = base * tone
    elif style == 1:  # woven fabric
        period = rng.uniform(3, 8)
        weave = np.sin(xx / period) * np.sin(yy / period)
        arr = base * (0.85 + 0.12 * weave[..., None] + 0.15 * _smooth_noise(rng, size, 8)[..., None])
    else:  # gradient
        other = rng.integers(40, 230, size=3).astype(np.float32)
        t = (xx / w * rng.uniform(0, 1) + yy / h * rng.uniform(0, 1))[..., None]
        arr = base + (other - base) * np.clip(t, 0, 1)
    arr += rng.normal(0, 6, size=(h, w, 1)).astype(np.float32)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img, "RGBA")
    for _ in range(int(rng.integers(6, 16))):
        colour = (*(int(c) for c in rng.integers(0, 256, size=3)), int(rng.integers(90, 256)))
        x0, y0 = float(rng.uniform(-0.2, 1.0) * w), float(rng.uniform(-0.2, 1.0) * h)
        x1, y1 = x0 + float(rng.uniform(0.05, 0.5) * w), y0 + float(rng.uniform(0.05, 0.5) * h)
        shape = rng.integers(0, 4)
        if shape == 0:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 2:
            draw.line([(x0, y0), (x1, y1)], fill=colour, width=int(rng.integers(2, 25)))
        else:
            pts = [(float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))) for _ in range(5)]
            draw.polygon(pts, fill=colour)
    return img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))


# ---------------------------------------------------------------- placements


def _rotated_rect(w: float, h: float, degrees: float) -> list[Point]:
    """Card corners rotated clockwise (on screen) by ``degrees`` about the origin."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return [
        (x * c - y * s, x * s + y * c) for x, y in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
    ]


def _fit_quad(
    card_size: tuple[int, int],
    rng: random.Random,
    rot: int,
    cell: tuple[float, float, float, float],
    min_scale: float = 0.3,
) -> list[Point]:
    """Where the card's corners land inside ``cell`` (x, y, w, h): ``rot`` plus a random tilt,
    scale, perspective jitter and position, always fully inside the cell (minus a 2% margin).

    The random draws and the arithmetic are exactly those of the single-card photo, so
    seeds written before multi-card photos existed still give the same bytes.
    """
    cw, ch = card_size
    cx, cy, w, h = cell
    quad = _rotated_rect(cw, ch, rot + rng.uniform(-20, 20))
    xs = [p[0] for p in quad]
    scale = rng.uniform(min_scale, 0.95) * w / (max(xs) - min(xs))
    jitter = 0.06 * math.hypot(cw, ch)
    quad = [
        (x * scale + rng.uniform(-jitter, jitter) * scale, y * scale + rng.uniform(-jitter, jitter) * scale)
        for x, y in quad
    ]
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    fit = min(1.0, 0.96 * w / (max(xs) - min(xs)), 0.96 * h / (max(ys) - min(ys)))
    quad = [(x * fit, y * fit) for x, y in quad]
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    margin = 0.02 * min(w, h)
    tx = rng.uniform(cx + margin - min(xs), cx + w - margin - max(xs))
    ty = rng.uniform(cy + margin - min(ys), cy + h - margin - max(ys))
    return [(x + tx, y + ty) for x, y in quad]


def _card_homography(card: Image.Image, dst: Sequence[Point]) -> np.ndarray:
    """The homography putting ``card``'s corners on ``dst``."""
    return homography(corners(card.size), dst)


def _compose(
    canvas: Image.Image, cards: Sequence[Image.Image], hs: Sequence[np.ndarray], rng: random.Random
) -> Image.Image:
    """Drop shadows first, then the cards, so no shadow falls on a neighbouring card."""
    size = canvas.size
    warped = [warp(card, h, size) for card, h in zip(cards, hs, strict=True)]
    for layer in warped:
        shadow = Image.new("RGBA", size, (0, 0, 0, 0))
        shadow.putalpha(layer.getchannel("A").point(lambda v: v * 2 // 5).filter(ImageFilter.GaussianBlur(6)))
        dx, dy = rng.randint(2, 12), rng.randint(2, 12)
        canvas.alpha_composite(shadow, (dx, dy), (0, 0, size[0] - dx, size[1] - dy))
    for layer in warped:
        canvas.alpha_composite(layer)
    return canvas


def _photo_size(rng: random.Random) -> tuple[int, int]:
    long_side = rng.randint(1200, 1600)
    landscape = rng.random() < 0.6
    return (long_side, long_side * 3 // 4) if landscape else (long_side * 3 // 4, long_side)


def place_photo(card: Image.Image, rng: random.Random, rotation: int | None = None) -> Placement:
    """Put the card on a busy background: coarse rotation, skew, perspective, then degrade."""
    nprng = np.random.default_rng(rng.randrange(2**32))
    size = _photo_size(rng)
    rot = rotation if rotation is not None else rng.choice((0, 0, 0, 90, 180, 270))
    dst = _fit_quad(card.size, rng, rot, (0.0, 0.0, float(size[0]), float(size[1])))
    h = _card_homography(card, dst)
    canvas = _compose(background(size, nprng).convert("RGBA"), [card], [h], rng)
    return Placement(degrade(canvas.convert("RGB"), nprng), h, rot)


@dataclass(frozen=True)
class MultiPlacement:
    """Several cards in one photo: one card-to-image homography and coarse rotation per card."""

    image: Image.Image
    homographies: tuple[np.ndarray, ...]
    rotations: tuple[int, ...]


def place_photo_multi(
    cards: Sequence[Image.Image], rng: random.Random, rotations: Sequence[int | None] | None = None
) -> MultiPlacement:
    """Several cards on one busy background, never overlapping.

    The photo is cut into equal cells along its long side (in random order) and each card
    is placed inside its own cell like a single-card photo, so cards cannot overlap.
    """
    if not cards:
        raise ValueError("place_photo_multi needs at least one card")
    rots = list(rotations) if rotations is not None else [None] * len(cards)
    if len(rots) != len(cards):
        raise ValueError("one rotation (or None) per card")
    nprng = np.random.default_rng(rng.randrange(2**32))
    size = _photo_size(rng)
    n = len(cards)
    along_x = size[0] >= size[1]
    step = (size[0] if along_x else size[1]) / n
    slots = list(range(n))
    rng.shuffle(slots)
    hs: list[np.ndarray] = []
    chosen: list[int] = []
    for card, slot, rotation in zip(cards, slots, rots, strict=True):
        rot = rotation if rotation is not None else rng.choice((0, 0, 0, 90, 180, 270))
        cell = (slot * step, 0.0, step, float(size[1])) if along_x else (0.0, slot * step, float(size[0]), step)
        hs.append(_card_homography(card, _fit_quad(card.size, rng, rot, cell, min_scale=0.6)))
        chosen.append(rot)
    canvas = _compose(background(size, nprng).convert("RGBA"), cards, hs, rng)
    return MultiPlacement(degrade(canvas.convert("RGB"), nprng), tuple(hs), tuple(chosen))


def place_noncard(rng: random.Random) -> Placement:
    nprng = np.random.default_rng(rng.randrange(2**32))
    long_side = rng.randint(1200, 1600)
    size = (long_side, long_side * 3 // 4) if rng.random() < 0.6 else (long_side * 3 // 4, long_side)
    return Placement(degrade(background(size, nprng), nprng), None, 0)


def place_scan(card: Image.Image, rng: random.Random, cropped: bool = False) -> Placement:
    """The flat card on a white scanner bed, a small margin, upright or rotated by up to 2 degrees.

    ``cropped``: what a scanner's crop-to-document mode writes: the image is the upright card
    itself, 0-1% trimmed per side, with no bed around it (only in the rounded corners).
    """
    if cropped:
        return _place_cropped(card, rng)
    angle = 0.0 if rng.random() < 0.5 else rng.uniform(-2.0, 2.0)
    quad = _rotated_rect(card.width, card.height, angle)
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    margin = rng.randint(30, 80)
    size = (math.ceil(max(xs) - min(xs)) + 2 * margin, math.ceil(max(ys) - min(ys)) + 2 * margin)
    dst = [(x - min(xs) + margin, y - min(ys) + margin) for x, y in quad]
    h = _card_homography(card, dst)
    shade = rng.randint(244, 255)
    canvas = Image.new("RGBA", size, (shade, shade, shade, 255))
    canvas.alpha_composite(warp(card, h, size))
    return Placement(canvas.convert("RGB"), h, 0)


def _place_cropped(card: Image.Image, rng: random.Random) -> Placement:
    left, right = rng.randint(0, card.width // 100), rng.randint(0, card.width // 100)
    top, bottom = rng.randint(0, card.height // 100), rng.randint(0, card.height // 100)
    size = (card.width - left - right, card.height - top - bottom)
    h = _card_homography(card, [(-left, -top), (card.width - left, -top), (card.width - left, card.height - top),
                                (-left, card.height - top)])  # fmt: skip
    shade = rng.randint(244, 255)
    canvas = Image.new("RGBA", size, (shade, shade, shade, 255))
    canvas.alpha_composite(card, (-left, -top))  # whole-pixel shift: the card's pixels unchanged
    return Placement(canvas.convert("RGB"), h, 0)


# ---------------------------------------------------------------- photocopies

#: A4 in millimetres, and the ID card's true size (ISO/IEC 7810 ID-1).
A4_MM = (210.0, 297.0)
ID1_MM = (85.6, 54.0)
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class PagePlacement:
    """A photocopied page: the greyscale image and one card-to-page homography per card."""

    image: Image.Image
    homographies: tuple[np.ndarray, ...]


def place_photocopy(cards: Sequence[Image.Image], rng: random.Random, dpi: int) -> PagePlacement:
    """Cards at true size stacked down an A4 page (slightly rotated and offset), then photocopied.

    Each card gets an equal band of the page height; its centre moves by up to 12 mm across
    and a quarter of the free space in the band down, and it turns by up to 3 degrees.
    """
    nprng = np.random.default_rng(rng.randrange(2**32))
    page = (round(A4_MM[0] / MM_PER_INCH * dpi), round(A4_MM[1] / MM_PER_INCH * dpi))
    px_per_mm = dpi / MM_PER_INCH
    canvas = Image.new("RGBA", page, (255, 255, 255, 255))
    band = page[1] / (len(cards) + 0.6)
    hs: list[np.ndarray] = []
    for i, card in enumerate(cards):
        scale = ID1_MM[0] * px_per_mm / card.width
        w, ht = card.width * scale, card.height * scale
        quad = _rotated_rect(w, ht, rng.uniform(-3.0, 3.0))
        cx = page[0] / 2 + rng.uniform(-12, 12) * px_per_mm
        cy = band * (i + 0.8) + rng.uniform(-0.25, 0.25) * max(0.0, band - ht)
        dst = [(x + cx, y + cy) for x, y in quad]
        h = _card_homography(card, dst)
        x0, y0 = (math.floor(min(p[k] for p in dst)) - 2 for k in (0, 1))
        x1, y1 = (math.ceil(max(p[k] for p in dst)) + 2 for k in (0, 1))
        local = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]]) @ h  # warp only the card's box
        layer = np.asarray(warp(card, local, (x1 - x0, y1 - y0)), dtype=np.float32)
        layer[..., :3] *= rng.uniform(0.8, 0.9)  # a card copies darker than paper: its outline shows
        canvas.alpha_composite(Image.fromarray(layer.astype(np.uint8), "RGBA"), (x0, y0))
        hs.append(h)
    return PagePlacement(photocopy_look(canvas.convert("L"), nprng), tuple(hs))


def photocopy_look(page: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A photocopier's output: grey paper, harder contrast, toner specks, slight blur, maybe an edge shadow."""
    arr = np.asarray(page, dtype=np.float32) / 255.0
    paper, ink = rng.uniform(222, 248), rng.uniform(10, 45)
    arr = ink + (paper - ink) * np.clip((arr - 0.5) * rng.uniform(1.1, 1.5) + 0.5, 0, 1) ** rng.uniform(0.8, 1.3)
    h, w = arr.shape
    if rng.random() < 0.5:  # the lid left open: a dark band fading in from one edge
        side = int(rng.integers(0, 4))
        depth = int((w if side < 2 else h) * rng.uniform(0.02, 0.07))
        ramp = np.linspace(rng.uniform(0.35, 0.7), 1.0, depth, dtype=np.float32)
        if side == 0:
            arr[:, :depth] *= ramp[None, :]
        elif side == 1:
            arr[:, w - depth :] *= ramp[::-1][None, :]
        elif side == 2:
            arr[:depth, :] *= ramp[:, None]
        else:
            arr[h - depth :, :] *= ramp[::-1][:, None]
    arr += rng.normal(0, rng.uniform(2.0, 6.0), size=arr.shape).astype(np.float32)
    specks = rng.random(arr.shape) < rng.uniform(0.0003, 0.0015)
    arr[specks] = rng.uniform(20, 90)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    return out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.0))))


def degrade(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Phone-camera look: uneven light, a colour cast, slight blur and sensor noise."""
    w, h = img.size
    light = 0.75 + 0.35 * _smooth_noise(rng, (w, h), 3)
    cast = rng.uniform(0.92, 1.06, size=3).astype(np.float32)
    arr = np.asarray(img, dtype=np.float32) * light[..., None] * cast
    arr += rng.normal(0, rng.uniform(2.0, 7.0), size=arr.shape).astype(np.float32)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.1))))
