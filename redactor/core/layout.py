"""Card layouts: where fields sit on each card, in card-relative units (0-1).

AILicenseRec never returns the portrait. Its position on the card is fixed by the
card's design, so it can be inferred from the fields that were found: fit the affine
map from the template's field centres to the located ones, then map the template's
portrait zone through it. The estimate gets a low score on purpose, so the policy's
``uncertain`` action (never ``keep``) applies, and a generous margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from redactor.core.fields import PORTRAIT, CardType
from redactor.core.geometry import apply_affine, fit_affine
from redactor.core.results import Detection, LocatedField, Polygon


@dataclass(frozen=True)
class CardLayout:
    """Field value boxes (x0, y0, x1, y1) in card-relative units; aspect = width / height."""

    aspect: float
    fields: dict[str, tuple[float, float, float, float]]
    portrait: tuple[float, float, float, float]


LAYOUTS: dict[CardType, CardLayout] = {
    CardType.ID_CARD: CardLayout(
        aspect=85.6 / 54.0,
        fields={
            "name": (0.178, 0.125, 0.27, 0.182),
            "gender": (0.178, 0.252, 0.216, 0.309),
            "ethnicity": (0.438, 0.254, 0.476, 0.309),
            "birth": (0.178, 0.379, 0.458, 0.436),
            "address": (0.178, 0.506, 0.598, 0.635),
            "id_number": (0.328, 0.808, 0.851, 0.864),
        },
        portrait=(0.64, 0.127, 0.925, 0.705),
    ),
    CardType.DRIVER_LICENSE: CardLayout(
        aspect=88.0 / 60.0,
        fields={
            "license_number": (0.178, 0.21, 0.482, 0.251),
            "name": (0.148, 0.299, 0.23, 0.348),
            "gender": (0.438, 0.302, 0.472, 0.348),
            "nationality": (0.648, 0.299, 0.712, 0.348),
            "address": (0.148, 0.393, 0.592, 0.441),
            "birth": (0.228, 0.562, 0.386, 0.603),
            "first_issue_date": (0.228, 0.652, 0.386, 0.694),
            "vehicle_class": (0.228, 0.743, 0.285, 0.784),
            "valid_period": (0.228, 0.856, 0.584, 0.9),
            "issuing_authority": (0.735, 0.657, 0.945, 0.965),
        },
        portrait=(0.77, 0.22, 0.95, 0.587),
    ),
}

#: Margin added around an estimated portrait, in card-relative units.
PORTRAIT_MARGIN = 0.03
#: Worst acceptable fit residual (card-relative RMS) before the estimate is refused.
MAX_FIT_RESIDUAL = 0.08
ESTIMATED_PORTRAIT_SCORE = 50.0


def _centre(polygon: Polygon) -> tuple[float, float]:
    x0, y0, x1, y1 = polygon.bounds
    return (x0 + x1) / 2.0, (y0 + y1) / 2.0


#: Fields whose printed width does not depend on the holder (fixed-length values):
#: both their left and right edges are anchors; other fields anchor on the left edge.
FIXED_WIDTH = frozenset({"gender", "id_number", "license_number", "birth", "first_issue_date", "issuing_authority"})


def _fit(pairs: list[tuple[tuple[float, float], tuple[float, float]]]) -> tuple[np.ndarray, float] | None:
    """Affine template->image and its RMS residual relative to the card scale."""
    if len(pairs) < 4:
        return None
    src = [p[0] for p in pairs]
    dst = [p[1] for p in pairs]
    matrix = fit_affine(src, dst)
    if matrix is None:
        return None
    scale = math.sqrt(abs(matrix[0, 0] * matrix[1, 1] - matrix[0, 1] * matrix[1, 0]))
    if scale <= 0:
        return None
    predicted = apply_affine(matrix, src)
    rms = math.sqrt(
        sum((px - qx) ** 2 + (py - qy) ** 2 for (px, py), (qx, qy) in zip(predicted, dst, strict=True)) / len(dst)
    )
    return matrix, rms / scale


def estimate_portrait(detection: Detection, card_type: CardType) -> LocatedField | None:
    """The portrait zone inferred from located fields, or ``None`` when the fit is unsafe.

    A first fit pairs field centres; values vary in length, so a second fit pairs the
    left edges (and both edges of fixed-width values), found by mapping each located
    polygon back into card space through the first fit.
    """
    layout = LAYOUTS[card_type]
    a = layout.aspect
    found = [(f, layout.fields[f.canonical]) for f in detection.fields if f.canonical in layout.fields]
    centres = [(((b[0] + b[2]) / 2 * a, (b[1] + b[3]) / 2), _centre(f.polygon)) for f, b in found]
    first = _fit(centres)
    if first is None:
        return None
    matrix, _ = first
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    anchors: list[tuple[tuple[float, float], tuple[float, float]]] = []
    for located, box in found:
        card_points = apply_affine(inverse, located.polygon.points)
        xs = [p[0] for p in card_points]
        ys = [p[1] for p in card_points]
        mid_y = (min(ys) + max(ys)) / 2
        template_mid = (box[1] + box[3]) / 2
        anchors.append(((box[0] * a, template_mid), apply_affine(matrix, [(min(xs), mid_y)])[0]))
        if located.canonical in FIXED_WIDTH:
            anchors.append(((box[2] * a, template_mid), apply_affine(matrix, [(max(xs), mid_y)])[0]))
    second = _fit(anchors)
    if second is None or second[1] > MAX_FIT_RESIDUAL:
        return None
    matrix = second[0]
    x0, y0, x1, y1 = layout.portrait
    m = PORTRAIT_MARGIN
    corners = [((x0 - m) * a, y0 - m), ((x1 + m) * a, y0 - m), ((x1 + m) * a, y1 + m), ((x0 - m) * a, y1 + m)]
    polygon = Polygon(tuple(apply_affine(matrix, corners)))
    return LocatedField(
        "portrait (estimated from card layout)", ESTIMATED_PORTRAIT_SCORE, polygon, card_type, PORTRAIT, estimated=True
    )
