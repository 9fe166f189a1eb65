"""Refine a card's registration with its physical edges.

Text anchors put the template roughly in place; the card's four edges put it exactly,
perspective included. Along each predicted edge, intensity profiles are sampled across
it and the strongest step near the prediction is taken as the edge; a robust line fit
per side and their intersections give the corners. A side that does not show a clear,
straight edge (a card on a background of the same colour) makes the refinement fail,
and the caller keeps the text-only fit.
"""

from __future__ import annotations

import numpy as np

SAMPLES_PER_SIDE = 24
#: Search half-width across each edge, as a fraction of the card's size in the image.
SEARCH = 0.06
MIN_INLIER_FRACTION = 0.55


def _project(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    homogeneous = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
    return np.asarray(homogeneous[:, :2] / homogeneous[:, 2:3])


def refine_with_edges(gray: np.ndarray, matrix: np.ndarray, size: tuple[float, float]) -> np.ndarray | None:
    """A card->image homography from the card's edges, or ``None`` when the edges are not clear."""
    import cv2

    width, height = size
    corners_card = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    corners_img = _project(matrix, corners_card)
    diagonal = float(np.linalg.norm(corners_img[2] - corners_img[0]))
    reach = max(6.0, SEARCH * diagonal)
    offsets = np.linspace(-reach, reach, int(2 * reach) + 1)
    lines = []
    for side in range(4):
        a, b = corners_card[side], corners_card[(side + 1) % 4]
        t = np.linspace(0.12, 0.88, SAMPLES_PER_SIDE)[:, None]
        along_card = a + (b - a) * t
        # outward normal in card space, mapped to the image by finite differences
        edge = (b - a) / np.linalg.norm(b - a)
        outward = np.array([edge[1], -edge[0]])
        p = _project(matrix, along_card)
        q = _project(matrix, along_card + outward * 5.0)
        normal = (q - p) / np.linalg.norm(q - p, axis=1, keepdims=True)
        xs = (p[:, None, 0] + normal[:, None, 0] * offsets[None, :]).astype(np.float32)
        ys = (p[:, None, 1] + normal[:, None, 1] * offsets[None, :]).astype(np.float32)
        profiles = cv2.remap(gray, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float64)
        step = np.abs(np.diff(profiles, axis=1))
        # prefer steps near the prediction: a gentle penalty with distance
        step *= 1.0 - 0.5 * (np.abs(offsets[:-1] + 0.5) / reach)[None, :]
        best = step.argmax(axis=1)
        strength = step[np.arange(len(best)), best]
        found = p + normal * (offsets[best] + 0.5)[:, None]
        good = strength > max(6.0, 0.35 * float(np.median(strength)))
        if good.sum() < MIN_INLIER_FRACTION * len(found):
            return None
        line = _robust_line(found[good])
        if line is None:
            return None
        lines.append(line)
    corners = []
    for i in range(4):
        point = _intersect(lines[i - 1], lines[i])
        if point is None:
            return None
        corners.append(point)
    # lines[i] runs from corner i to corner i+1, so corner i is lines[i-1] x lines[i]
    refined, _ = cv2.findHomography(corners_card, np.array(corners), 0)
    return None if refined is None else np.asarray(refined)


def _robust_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(point, direction) of the line most points agree with (RANSAC, then least squares)."""
    if len(points) < 4:
        return None
    rng = np.random.default_rng(0)
    best_inliers: np.ndarray | None = None
    spread = float(np.linalg.norm(points.max(axis=0) - points.min(axis=0)))
    tolerance = max(1.5, 0.012 * spread)
    for _ in range(40):
        i, j = rng.choice(len(points), 2, replace=False)
        d = points[j] - points[i]
        norm = np.linalg.norm(d)
        if norm < 1e-6:
            continue
        n = np.array([-d[1], d[0]]) / norm
        dist = np.abs((points - points[i]) @ n)
        inliers = dist < tolerance
        if best_inliers is None or inliers.sum() > best_inliers.sum():
            best_inliers = inliers
    if best_inliers is None or best_inliers.sum() < MIN_INLIER_FRACTION * len(points):
        return None
    chosen = points[best_inliers]
    centre = chosen.mean(axis=0)
    _, _, vt = np.linalg.svd(chosen - centre)
    return centre, vt[0]


def _intersect(l1: tuple[np.ndarray, np.ndarray], l2: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
    p, d = l1
    q, e = l2
    m = np.array([d, -e]).T
    if abs(np.linalg.det(m)) < 1e-9:
        return None
    s, _ = np.linalg.solve(m, q - p)
    return np.asarray(p + s * d)
