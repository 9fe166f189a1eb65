"""Refine a card's registration with its physical edges.

Text anchors put the template roughly in place (well near the labels, less well far
from them); the card's four edges put it exactly, perspective included. Along each
predicted side, intensity profiles are sampled across it and every strong step is a
candidate edge point. A line is then found per side by consensus: roughly parallel to
the prediction and supported by most profiles. Among well-supported lines the outermost
is the card's edge (the portrait frame and text lines are inside it). The four lines'
intersections give the corners. A side without such a line (a card on a background of
its own colour) makes the refinement fail, and the caller keeps the text-only fit.
"""

from __future__ import annotations

import math

import numpy as np

PROFILES_PER_SIDE = 32
#: Search half-width across each edge, as a fraction of the card's diagonal in the image.
SEARCH = 0.12
MIN_SUPPORT = 0.55
MAX_ANGLE = math.radians(12.0)


def _project(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    homogeneous = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
    return np.asarray(homogeneous[:, :2] / homogeneous[:, 2:3])


def refine_with_edges(
    gray: np.ndarray, matrix: np.ndarray, size: tuple[float, float], search: float = SEARCH
) -> np.ndarray | None:
    """A card->image homography from the card's edges, or ``None`` when the edges are not clear.

    When exactly one side shows no clear edge (often the side furthest from the labels,
    where the text-only estimate is worst), the three found sides correct the estimate
    and the search is run once more from there.
    """
    lines = _find_sides(gray, matrix, size, search)
    missing = [i for i, ln in enumerate(lines) if ln is None]
    if len(missing) == 1:
        corrected = _corrected_estimate(matrix, size, lines, missing[0])
        if corrected is not None:
            retry = _find_sides(gray, corrected, size, max(search, 0.08), math.radians(25.0), only=missing[0])
            lines[missing[0]] = retry[missing[0]]
    if any(ln is None for ln in lines):
        return None
    return _homography_from_sides(size, lines)  # type: ignore[arg-type]


def _card_corners(size: tuple[float, float]) -> np.ndarray:
    width, height = size
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)


def _find_sides(
    gray: np.ndarray,
    matrix: np.ndarray,
    size: tuple[float, float],
    search: float,
    max_angle: float = MAX_ANGLE,
    only: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """For each side (top, right, bottom, left), the edge line found near its prediction."""
    import cv2

    corners_card = _card_corners(size)
    corners_img = _project(matrix, corners_card)
    diagonal = float(np.linalg.norm(corners_img[2] - corners_img[0]))
    reach = max(8.0, search * diagonal)
    offsets = np.linspace(-reach, reach, int(2 * reach) + 1)
    lines: list[tuple[np.ndarray, np.ndarray] | None] = []
    for side in range(4):
        if only is not None and side != only:
            lines.append(None)
            continue
        a, b = corners_card[side], corners_card[(side + 1) % 4]
        t = np.linspace(0.1, 0.9, PROFILES_PER_SIDE)[:, None]
        edge = (b - a) / np.linalg.norm(b - a)
        outward = np.array([edge[1], -edge[0]])
        p = _project(matrix, a + (b - a) * t)
        q = _project(matrix, a + (b - a) * t + outward * 5.0)
        normal = (q - p) / np.linalg.norm(q - p, axis=1, keepdims=True)
        xs = (p[:, None, 0] + normal[:, None, 0] * offsets[None, :]).astype(np.float32)
        ys = (p[:, None, 1] + normal[:, None, 1] * offsets[None, :]).astype(np.float32)
        profiles = cv2.remap(gray, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float64)
        lines.append(_side_line(profiles, offsets, p, normal, max_angle))
    return lines


def _homography_from_sides(size: tuple[float, float], lines: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray | None:
    import cv2

    corners = []
    for i in range(4):  # lines[i] runs from corner i to corner i+1: corner i is lines[i-1] x lines[i]
        point = _intersect(lines[i - 1], lines[i])
        if point is None:
            return None
        corners.append(point)
    refined, _ = cv2.findHomography(_card_corners(size), np.array(corners), 0)
    return None if refined is None else np.asarray(refined)


def _corrected_estimate(
    matrix: np.ndarray,
    size: tuple[float, float],
    lines: list[tuple[np.ndarray, np.ndarray] | None],
    missing: int,
) -> np.ndarray | None:
    """The estimate moved onto the three sides that were found.

    The two corners between found sides are exact; the other two slide along their
    found side to where the estimate puts them (projected onto the line).
    """
    import cv2

    predicted = _project(matrix, _card_corners(size))
    corners = []
    for i in range(4):
        before, after = lines[i - 1], lines[i]
        if before is not None and after is not None:
            point = _intersect(before, after)
        else:
            found = after if before is None else before
            assert found is not None
            centre, direction = found
            point = centre + direction * float((predicted[i] - centre) @ direction)
        if point is None:
            return None
        corners.append(point)
    corrected, _ = cv2.findHomography(_card_corners(size), np.array(corners), 0)
    return None if corrected is None else np.asarray(corrected)


def _side_line(
    profiles: np.ndarray, offsets: np.ndarray, base: np.ndarray, normal: np.ndarray, max_angle: float = MAX_ANGLE
) -> tuple[np.ndarray, np.ndarray] | None:
    """The outermost well-supported straight edge across the profiles of one side."""
    step = np.abs(np.diff(profiles, axis=1))
    n_profiles = step.shape[0]
    # candidates: local maxima that are strong for their profile
    peak = step.max(axis=1, keepdims=True)
    left = np.pad(step, ((0, 0), (1, 0)))[:, :-1]
    right = np.pad(step, ((0, 0), (0, 1)))[:, 1:]
    is_candidate = (step >= left) & (step >= right) & (step >= np.maximum(2.5, 0.3 * peak))
    rows, cols = np.nonzero(is_candidate)
    if len(rows) < 2:
        return None
    along = np.arange(n_profiles, dtype=np.float64)
    offset_at = (offsets[:-1] + 0.5)[cols]
    # Work in (profile index, offset) space: a straight image line is (nearly) a straight
    # line here too, since profiles are evenly spaced along a straight predicted side.
    spacing = float(np.linalg.norm(base[-1] - base[0])) / max(1, n_profiles - 1)
    max_slope = math.tan(max_angle) * spacing
    tolerance = 1.5 + 0.004 * spacing * n_profiles
    # RANSAC, vectorised: many random candidate pairs at once.
    rng = np.random.default_rng(0)
    i = rng.integers(0, len(rows), 400)
    j = rng.integers(0, len(rows), 400)
    ok = rows[i] != rows[j]
    i, j = i[ok], j[ok]
    slopes = (offset_at[j] - offset_at[i]) / (rows[j] - rows[i])
    ok = np.abs(slopes) <= max_slope
    i, slopes = i[ok], slopes[ok]
    if len(slopes) == 0:
        return None
    intercepts = offset_at[i] - slopes * rows[i]
    close = np.abs(offset_at[None, :] - (slopes[:, None] * rows[None, :] + intercepts[:, None])) <= tolerance
    # support = number of distinct profiles with a close candidate
    per_profile = np.zeros((len(slopes), n_profiles), dtype=bool)
    hit_line, hit_cand = np.nonzero(close)
    per_profile[hit_line, rows[hit_cand]] = True
    support = per_profile.sum(axis=1)
    good = support >= MIN_SUPPORT * n_profiles
    if not good.any():
        return None
    best = support[good].max()
    strong = good & (support >= 0.85 * best)
    mean_offset = slopes * along.mean() + intercepts
    k = int(np.flatnonzero(strong)[np.argmax(mean_offset[strong])])  # the outermost
    slope, intercept = float(slopes[k]), float(intercepts[k])
    predicted = slope * rows + intercept
    close = np.abs(offset_at - predicted) <= tolerance
    points = base[rows[close]] + normal[rows[close]] * offset_at[close][:, None]
    centre = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - centre)
    return centre, vt[0]


def _intersect(l1: tuple[np.ndarray, np.ndarray], l2: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
    p, d = l1
    q, e = l2
    m = np.array([d, -e]).T
    if abs(np.linalg.det(m)) < 1e-9:
        return None
    s, _ = np.linalg.solve(m, q - p)
    return np.asarray(p + s * d)
