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
            "name": (0.18, 0.10, 0.40, 0.19),
            "gender": (0.18, 0.23, 0.23, 0.31),
            "ethnicity": (0.39, 0.23, 0.46, 0.31),
            "birth": (0.18, 0.35, 0.55, 0.44),
            "address": (0.18, 0.48, 0.60, 0.70),
            "id_number": (0.34, 0.80, 0.92, 0.90),
        },
        portrait=(0.62, 0.10, 0.93, 0.78),
    ),
    CardType.DRIVER_LICENSE: CardLayout(
        aspect=88.0 / 60.0,
        fields={
            "license_number": (0.30, 0.13, 0.75, 0.20),
            "name": (0.15, 0.24, 0.40, 0.31),
            "gender": (0.55, 0.24, 0.60, 0.31),
            "nationality": (0.78, 0.24, 0.88, 0.31),
            "address": (0.15, 0.34, 0.70, 0.46),
            "birth": (0.32, 0.50, 0.55, 0.56),
            "first_issue_date": (0.32, 0.60, 0.55, 0.66),
            "vehicle_class": (0.32, 0.70, 0.40, 0.76),
            "valid_period": (0.30, 0.82, 0.80, 0.88),
            "issuing_authority": (0.02, 0.55, 0.28, 0.95),
        },
        portrait=(0.70, 0.38, 0.97, 0.80),
    ),
}

#: Margin added around an estimated portrait, in card-relative units.
PORTRAIT_MARGIN = 0.05
#: Worst acceptable fit residual (card-relative RMS) before the estimate is refused.
MAX_FIT_RESIDUAL = 0.08
ESTIMATED_PORTRAIT_SCORE = 50.0


def _centre(polygon: Polygon) -> tuple[float, float]:
    x0, y0, x1, y1 = polygon.bounds
    return (x0 + x1) / 2.0, (y0 + y1) / 2.0


def estimate_portrait(detection: Detection, card_type: CardType) -> LocatedField | None:
    """The portrait zone inferred from located fields, or ``None`` when the fit is unsafe."""
    layout = LAYOUTS[card_type]
    src: list[tuple[float, float]] = []
    dst: list[tuple[float, float]] = []
    for located in detection.fields:
        box = layout.fields.get(located.canonical or "")
        if box is None:
            continue
        src.append(((box[0] + box[2]) / 2.0 * layout.aspect, (box[1] + box[3]) / 2.0))
        dst.append(_centre(located.polygon))
    if len(src) < 4:
        return None
    matrix = fit_affine(src, dst)
    if matrix is None:
        return None
    scale = math.sqrt(abs(matrix[0, 0] * matrix[1, 1] - matrix[0, 1] * matrix[1, 0]))
    if scale <= 0:
        return None
    predicted = apply_affine(matrix, src)
    rms = math.sqrt(sum((px - qx) ** 2 + (py - qy) ** 2 for (px, py), (qx, qy) in zip(predicted, dst)) / len(dst))
    if rms / scale > MAX_FIT_RESIDUAL:
        return None
    x0, y0, x1, y1 = layout.portrait
    m = PORTRAIT_MARGIN
    corners = [
        ((x0 - m) * layout.aspect, y0 - m),
        ((x1 + m) * layout.aspect, y0 - m),
        ((x1 + m) * layout.aspect, y1 + m),
        ((x0 - m) * layout.aspect, y1 + m),
    ]
    polygon = Polygon(tuple(apply_affine(matrix, corners)))
    return LocatedField("portrait (estimated from card layout)", ESTIMATED_PORTRAIT_SCORE, polygon, card_type, PORTRAIT)
