"""What is written about a placed card: its truth entries (in image pixels) and the fields
AILicenseRec would answer for it (the sidecar), from the card's homography."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from redactor.core.results import LocatedField, Polygon
from redactor.generator.families import KIND_CARD_TYPES
from redactor.generator.painter import FlatCard
from redactor.generator.photo import apply, corners
from redactor.generator.text import Point

#: Names the English AILicenseRec documentation uses (about one sidecar in four uses them).
ENGLISH_NAMES = {
    "id_front": {
        "name": "Name",
        "gender": "Gender",
        "ethnicity": "Ethnicity",
        "birth": "Birth (Date)",
        "address": "Address",
        "id_number": "Identification Number (ID Number)",
    },
    "dl_main": {
        "license_number": "License Number",
        "name": "Name",
        "gender": "Gender",
        "nationality": "Nationality",
        "address": "Address",
        "birth": "Date of Birth",
        "first_issue_date": "First Issue Date",
        "vehicle_class": "Vehicle Class",
        "valid_period": "Valid Period",
        "issuing_authority": "Issuing Authority",
    },
}


def round_outward(quad: Sequence[Point], width: int, height: int) -> list[tuple[int, int]]:
    """Integer corners of a convex quad that still covers it: push every edge out by 1 px, then round.

    Rounding moves a corner by at most 0.71 px, less than the 1 px push, so no covered
    pixel is lost.
    """
    pts = np.asarray(quad, dtype=float)
    area = sum(pts[i - 1][0] * pts[i][1] - pts[i][0] * pts[i - 1][1] for i in range(len(pts)))
    sign = 1.0 if area > 0 else -1.0
    lines = []
    for i in range(len(pts)):
        a, b = pts[i], pts[(i + 1) % len(pts)]
        d = (b - a) / np.linalg.norm(b - a)
        normal = sign * np.array([d[1], -d[0]])  # outward for either orientation
        lines.append((a + normal, d))
    out = []
    for i in range(len(pts)):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        t = np.linalg.solve(np.column_stack([d1, -d2]), p2 - p1)[0]
        x, y = p1 + t * d1
        out.append((min(max(round(x), 0), width), min(max(round(y), 0), height)))
    return out


def poly(points: Sequence[Point]) -> list[list[float]]:
    return [[round(x, 2), round(y, 2)] for x, y in points]


def card_quad(card: FlatCard, h: np.ndarray) -> list[list[float]]:
    return poly(apply(h, corners(card.image.size)))


def card_fields(
    kind: str, card: FlatCard, h: np.ndarray, english: bool, rng: random.Random, size: tuple[int, int]
) -> tuple[list[dict[str, Any]], list[LocatedField]]:
    """Truth entries and the AILicenseRec answer for one placed card (random draws in a fixed order)."""
    fields: list[dict[str, Any]] = []
    located: list[LocatedField] = []
    for f in card.fields:
        fields.append(
            {
                "field": f.field,
                "label": f.label,
                "value": f.value,
                "polygon": poly(apply(h, f.polygon)),
                "lines": [poly(apply(h, q)) for q in f.lines],
            }
        )
        if kind in ENGLISH_NAMES:
            name = ENGLISH_NAMES[kind][f.field] if english else f.label
            quad = Polygon.of(round_outward(apply(h, f.quad), *size))
            card_type = KIND_CARD_TYPES[kind]
            located.append(LocatedField.named(name, rng.randint(90, 99), quad, card_type, detected_text=f.value))
    return fields, located


def card_entry(kind: str, card: FlatCard, h: np.ndarray, fields: list[dict[str, Any]], rot: int) -> dict[str, Any]:
    """One element of a multi-card truth's ``cards``."""
    return {
        "kind": kind,
        "card_type": KIND_CARD_TYPES[kind].value,
        "family": card.family,
        "card_quad": card_quad(card, h),
        "portrait": poly(apply(h, card.portrait)) if card.portrait is not None else None,
        "fields": fields,
        "rotation": rot,
    }
