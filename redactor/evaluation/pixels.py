"""Coverage on pixels: a truth polygon rasterised, the union of a plan's masks, and what
share of one the other covers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from redactor.core.masking import MaskOp
from redactor.core.results import Point
from redactor.core.verification import mask_raster


@dataclass(frozen=True)
class PixelMask:
    """A boolean mask over the box ``(x0, y0)`` .. ``(x0 + w, y0 + h)`` of the image."""

    x0: int
    y0: int
    mask: np.ndarray

    @property
    def count(self) -> int:
        return int(self.mask.sum())

    def within(self, full: np.ndarray) -> np.ndarray:
        """The values of a full-image array under this mask's box."""
        h, w = self.mask.shape
        return full[self.y0 : self.y0 + h, self.x0 : self.x0 + w]


def rasterize(points: Sequence[Point], width: int, height: int) -> PixelMask:
    """Pixels whose centre lies inside the polygon (even-odd rule), on the polygon's bbox in the image.

    Pixel centres rather than "touches" on purpose: a truth polygon hugs the glyphs, so its
    boundary pixels are mostly background, and a mask need not cover them to hide the text.
    """
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    x1, y1 = min(width, math.ceil(max(xs))), min(height, math.ceil(max(ys)))
    if x1 <= x0 or y1 <= y0:
        return PixelMask(0, 0, np.zeros((0, 0), dtype=bool))
    cx = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5
    cy = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
    inside = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for i, (ax, ay) in enumerate(points):
        bx, by = points[i - 1]
        if ay == by:
            continue  # a horizontal edge never crosses a horizontal ray
        crosses = (ay > cy) != (by > cy)  # (rows, 1)
        x_at = ax + (cy - ay) * (bx - ax) / (by - ay)  # (rows, 1)
        inside ^= crosses & (cx < x_at)
    return PixelMask(x0, y0, inside)


def mask_union(ops: Iterable[MaskOp], width: int, height: int) -> np.ndarray:
    """Every pixel some mask operation of the plan touches (what the masking stage would change)."""
    return mask_raster(list(ops), width, height)


def masked_fraction(truth: PixelMask, union: np.ndarray) -> float:
    """Fraction of the truth pixels inside the mask union (1.0 for a polygon with no pixel centre)."""
    total = truth.count
    if total == 0:
        return 1.0
    return float((truth.within(union) & truth.mask).sum()) / total


def raster_iou(a: Sequence[Point], b: Sequence[Point], width: int, height: int) -> float:
    """Intersection over union of two polygons, counted in pixel centres."""
    ma, mb = rasterize(a, width, height), rasterize(b, width, height)
    if ma.count == 0 or mb.count == 0:
        return 0.0
    x0, y0 = min(ma.x0, mb.x0), min(ma.y0, mb.y0)
    x1 = max(ma.x0 + ma.mask.shape[1], mb.x0 + mb.mask.shape[1])
    y1 = max(ma.y0 + ma.mask.shape[0], mb.y0 + mb.mask.shape[0])
    canvas = np.zeros((2, y1 - y0, x1 - x0), dtype=bool)
    for layer, m in enumerate((ma, mb)):
        h, w = m.mask.shape
        canvas[layer, m.y0 - y0 : m.y0 - y0 + h, m.x0 - x0 : m.x0 - x0 + w] = m.mask
    inter = int((canvas[0] & canvas[1]).sum())
    return inter / int((canvas[0] | canvas[1]).sum())
