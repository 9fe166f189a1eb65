"""A card's reading frame (card-aligned coordinates: along its text lines and across them),
boxes in it, and a region found from the pixels: what every pixel search on a card shares."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from redactor.core.results import Polygon

#: Points of a polygon in pixels: an (N, 2) array or a sequence of (x, y).
Quad = np.ndarray | Sequence[Sequence[float]]


@dataclass(frozen=True)
class CardFrame:
    """A card's reading frame: ``origin`` and ``axis`` (unit vector along its text lines, y down
    the image) map card-aligned coordinates (u along the lines, v across them) to pixels."""

    origin: tuple[float, float]
    axis: tuple[float, float]
    text_height: float

    @property
    def normal(self) -> tuple[float, float]:
        return (-self.axis[1], self.axis[0])

    def to_card(self, points: Quad) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) - np.asarray(self.origin)
        return np.stack([pts @ np.asarray(self.axis), pts @ np.asarray(self.normal)], axis=1)

    def to_image(self, points: Quad) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        a, n = np.asarray(self.axis), np.asarray(self.normal)
        return np.asarray(np.asarray(self.origin) + pts[:, :1] * a + pts[:, 1:2] * n)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in card-aligned coordinates."""

    u0: float
    v0: float
    u1: float
    v1: float

    @property
    def width(self) -> float:
        return self.u1 - self.u0

    @property
    def height(self) -> float:
        return self.v1 - self.v0

    def corners(self) -> list[tuple[float, float]]:
        return [(self.u0, self.v0), (self.u1, self.v0), (self.u1, self.v1), (self.u0, self.v1)]

    def overlaps(self, other: Box) -> bool:
        return self.u0 < other.u1 and other.u0 < self.u1 and self.v0 < other.v1 and other.v0 < self.v1

    @classmethod
    def around(cls, points: np.ndarray) -> Box:
        return cls(
            float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()), float(points[:, 1].max())
        )


@dataclass(frozen=True)
class Found:
    """A region found from the pixels: its box (card-aligned, margin included), its polygon
    (image pixels), a score, and ``core``: the part actually seen (the margin is an estimate:
    value bands stop at what was seen, not at the margin)."""

    box: Box
    polygon: Polygon
    score: float
    core: Box | None = None


def clear_of(box: Box, core: Box, keep: list[Box], gap: float) -> Box:
    """Shrink ``box`` (never below ``core``) so that it overlaps none of ``keep``."""
    u0, v0, u1, v1 = box.u0, box.v0, box.u1, box.v1
    for k in keep:
        if not Box(u0, v0, u1, v1).overlaps(k) or k.overlaps(core):
            continue
        # move the side that costs least
        options = []
        if k.u1 <= core.u0:
            options.append(("u0", max(u0, k.u1 + gap)))
        if k.u0 >= core.u1:
            options.append(("u1", min(u1, k.u0 - gap)))
        if k.v1 <= core.v0:
            options.append(("v0", max(v0, k.v1 + gap)))
        if k.v0 >= core.v1:
            options.append(("v1", min(v1, k.v0 - gap)))
        if not options:
            continue
        current = {"u0": u0, "v0": v0, "u1": u1, "v1": v1}
        side, value = min(options, key=lambda o: abs(current[o[0]] - o[1]))
        if side == "u0":
            u0 = min(value, core.u0)
        elif side == "u1":
            u1 = max(value, core.u1)
        elif side == "v0":
            v0 = min(value, core.v0)
        else:
            v1 = max(value, core.v1)
    return Box(u0, v0, u1, v1)


def frame_from_quads(quads: Sequence[Quad]) -> CardFrame | None:
    """A reading frame from located text quads (AILicenseRec polygons): the length-weighted
    mean direction of their long sides, and their typical short side as the text height."""
    sx = sy = 0.0
    heights = []
    for quad in quads:
        pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 4:
            continue
        e0, e1 = pts[1] - pts[0], pts[2] - pts[1]
        long, short = (e0, e1) if np.linalg.norm(e0) >= np.linalg.norm(e1) else (e1, e0)
        length = float(np.linalg.norm(long))
        if length <= 0:
            continue
        heights.append(float(np.linalg.norm(short)))
        angle = 2 * math.atan2(long[1], long[0])
        sx += length * math.cos(angle)
        sy += length * math.sin(angle)
    if not heights:
        return None
    angle = math.atan2(sy, sx) / 2
    axis = np.array([math.cos(angle), math.sin(angle)])
    # AILicenseRec lists a quad's points in reading order: its first edge runs along the text.
    along = sum(float((np.asarray(q[1], float) - np.asarray(q[0], float)) @ axis) for q in quads if len(q) >= 4)
    if along < 0:
        axis = -axis
    return CardFrame((0.0, 0.0), (float(axis[0]), float(axis[1])), max(4.0, float(np.median(heights))))
