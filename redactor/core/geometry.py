"""Polygon geometry for masking: convex hulls, text height, padding, rasterisation.

Masks are drawn from the convex hull of a field's polygon, grown outward. The hull
is a superset of the polygon, so this can only mask more, never less. Rasterisation
is conservative: a pixel is masked when any part of its square touches the region,
which is what "no original pixel survives inside" needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from redactor.core.results import Point, Polygon


def convex_hull(points: Sequence[Point]) -> list[Point]:
    """Counter-clockwise hull (in y-down pixel space: clockwise on screen); monotone chain."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return list(pts)

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Point] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Point] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))


def _separated(a: list[Point], b: list[Point]) -> bool:
    """Whether an edge of either convex polygon separates them (separating axis theorem)."""
    for poly in (a, b):
        for i, (x0, y0) in enumerate(poly):
            x1, y1 = poly[(i + 1) % len(poly)]
            nx, ny = y1 - y0, x0 - x1
            pa = [nx * x + ny * y for x, y in a]
            pb = [nx * x + ny * y for x, y in b]
            if max(pa) < min(pb) or max(pb) < min(pa):
                return True
    return False


def polygon_gap(a: Polygon, b: Polygon) -> float:
    """The distance between two polygons' convex hulls; 0 when they touch or overlap."""
    ha, hb = convex_hull(a.points), convex_hull(b.points)
    if len(ha) < 3 or len(hb) < 3 or not _separated(ha, hb):
        return 0.0
    best = math.inf
    for p_hull, q_hull in ((ha, hb), (hb, ha)):
        for p in p_hull:
            for i in range(len(q_hull)):
                best = min(best, _segment_distance(p, q_hull[i], q_hull[(i + 1) % len(q_hull)]))
    return best


def text_height(polygon: Polygon) -> float:
    """The shorter side of the polygon's minimum-area bounding rectangle.

    For a text quad that is the line height whatever the rotation, which is the unit
    the policy's padding (and blur floors) are expressed in.
    """
    hull = convex_hull(polygon.points)
    if len(hull) < 3:
        return 0.0
    best_area = math.inf
    best_short = 0.0
    for i, (x0, y0) in enumerate(hull):
        x1, y1 = hull[(i + 1) % len(hull)]
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        along = [(px - x0) * ux + (py - y0) * uy for px, py in hull]
        across = [-(px - x0) * uy + (py - y0) * ux for px, py in hull]
        w = max(along) - min(along)
        h = max(across) - min(across)
        if w * h < best_area:
            best_area = w * h
            best_short = min(w, h)
    return best_short


@dataclass(frozen=True)
class Region:
    """A convex region as half-planes ``a*x + b*y <= c`` plus its pixel bounding box.

    Growing a convex polygon by ``d`` is shifting every edge's half-plane outward by
    ``d`` (a mitred offset, which contains the rounded one); an axis-aligned box grown
    by ``d`` clips the long spikes a mitre makes at very sharp corners.
    """

    half_planes: tuple[tuple[float, float, float], ...]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), clipped to the image

    @property
    def is_empty(self) -> bool:
        return self.box[2] <= self.box[0] or self.box[3] <= self.box[1]

    def raster(self) -> np.ndarray:
        """Boolean mask over ``box``: True where a pixel's square touches the region.

        A pixel square touches a half-plane when its centre lies within (|a| + |b|) / 2
        of it (the square's support). The region is convex, so each row is one span of
        columns: solve every half-plane for that span, then compare column indices once.
        """
        x0, y0, x1, y1 = self.box
        if self.is_empty:
            return np.zeros((0, 0), dtype=bool)
        cy = np.arange(y0, y1, dtype=np.float64) + 0.5
        lo = np.full(cy.shape, -np.inf)
        hi = np.full(cy.shape, np.inf)
        for a, b, c in self.half_planes:
            bound = c + (abs(a) + abs(b)) / 2.0 - b * cy
            if abs(a) < 1e-12:
                hi = np.where(bound >= 0, hi, -np.inf)
            elif a > 0:
                hi = np.minimum(hi, bound / a)
            else:
                lo = np.maximum(lo, bound / a)
        cx = np.arange(x0, x1, dtype=np.float64) + 0.5
        return (cx[None, :] >= lo[:, None]) & (cx[None, :] <= hi[:, None])


def grow(polygon: Polygon, distance: float, width: int, height: int) -> Region:
    """The convex hull of ``polygon`` grown by ``distance`` px on every side, clipped to the image."""
    hull = convex_hull(polygon.points)
    planes: list[tuple[float, float, float]] = []
    if len(hull) >= 3:
        # Orientation-independent: pick the outward normal by testing the centroid.
        gx = sum(p[0] for p in hull) / len(hull)
        gy = sum(p[1] for p in hull) / len(hull)
        for i, (x0, y0) in enumerate(hull):
            x1, y1 = hull[(i + 1) % len(hull)]
            length = math.hypot(x1 - x0, y1 - y0)
            if length == 0:
                continue
            a, b = (y1 - y0) / length, -(x1 - x0) / length
            c = a * x0 + b * y0
            if a * gx + b * gy > c:
                a, b, c = -a, -b, -c
            planes.append((a, b, c + distance))
    xs = [p[0] for p in polygon.points]
    ys = [p[1] for p in polygon.points]
    bx0, by0 = min(xs) - distance, min(ys) - distance
    bx1, by1 = max(xs) + distance, max(ys) + distance
    planes.extend([(-1.0, 0.0, -bx0), (1.0, 0.0, bx1), (0.0, -1.0, -by0), (0.0, 1.0, by1)])
    box = (
        max(0, int(math.floor(bx0))),
        max(0, int(math.floor(by0))),
        min(width, int(math.ceil(bx1))),
        min(height, int(math.ceil(by1))),
    )
    return Region(tuple(planes), box)


def point_in_convex(region: Region, x: float, y: float) -> bool:
    return all(a * x + b * y <= c + 1e-9 for a, b, c in region.half_planes)


def fit_affine(src: Sequence[Point], dst: Sequence[Point]) -> np.ndarray | None:
    """Least-squares 2x3 affine from ``src`` to ``dst``; ``None`` when degenerate."""
    if len(src) < 3:
        return None
    a = np.array([[x, y, 1.0] for x, y in src])
    b = np.array(dst, dtype=np.float64)
    if np.linalg.matrix_rank(a) < 3:
        return None
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    return np.asarray(sol.T)


def apply_affine(matrix: np.ndarray, points: Sequence[Point]) -> list[Point]:
    return [
        (
            float(matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]),
            float(matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]),
        )
        for x, y in points
    ]
