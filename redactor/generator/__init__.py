"""Synthetic specimen cards with exact ground truth, for testing locators and the redaction pipeline.

Everything is made up: identities come from small pools (``identities``), portraits are
drawn shapes (``render``), photos are procedural (``photo``). Each image is written with a
``.truth.json`` (every field polygon in image pixels) and a ``.ailicenserec.xml`` sidecar
(what the cloud OCR would answer), so the pipeline can run offline against known answers.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from redactor.core.ailicenserec import render_response
from redactor.core.fields import CardType
from redactor.core.results import Detection, LocatedField, Polygon
from redactor.generator.identities import make_identity, make_license
from redactor.generator.photo import Placement, apply, place_noncard, place_photo, place_photo_multi, place_scan
from redactor.generator.render import FlatCard, render_dl_main, render_id_back, render_id_front

__all__ = [
    "ALL_KINDS",
    "KINDS",
    "MULTI",
    "Specimen",
    "generate_samples",
    "generate_set",
    "render_multi",
    "render_one",
    "render_specimen",
    "sample_plan",
    "write_specimen",
]

Point = tuple[float, float]

KINDS: tuple[str, ...] = ("id_front", "id_back", "dl_main", "none")
#: Several cards (ID fronts and/or licences) in one photo. Opt-in only (not in ``KINDS``),
#: so sets generated with the default kinds stay byte-identical.
MULTI = "multi"
ALL_KINDS: tuple[str, ...] = (*KINDS, MULTI)
#: Kinds a multi-card photo draws its cards from, and how many cards it holds.
MULTI_CARD_KINDS: tuple[str, ...] = ("id_front", "dl_main")
MULTI_CARD_COUNT = 2
#: Relative frequency in generated sets: fronts and licence pages are what gets redacted.
KIND_WEIGHTS = {"id_front": 4.0, "dl_main": 3.0, "id_back": 1.0, "none": 1.0, MULTI: 1.0}
STEMS = {
    "id_front": "idcard-front",
    "id_back": "idcard-back",
    "dl_main": "license",
    "none": "noncard",
    MULTI: "multicard",
}
CARD_TYPES = {"id_front": CardType.ID_CARD, "id_back": CardType.ID_CARD, "dl_main": CardType.DRIVER_LICENSE}
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


@dataclass(frozen=True)
class Specimen:
    """One generated image with its truth dict and AILicenseRec sidecar (XML bytes)."""

    image: Image.Image
    truth: dict[str, Any]
    sidecar: bytes
    variant: str

    @property
    def extension(self) -> str:
        return ".png" if self.variant == "scan" else ".jpg"


def _round_outward(quad: Sequence[Point], width: int, height: int) -> list[tuple[int, int]]:
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


def _poly(points: Sequence[Point]) -> list[list[float]]:
    return [[round(x, 2), round(y, 2)] for x, y in points]


def _flat_card(kind: str, rng: random.Random) -> FlatCard:
    if kind == "id_front":
        return render_id_front(make_identity(rng), rng)
    if kind == "id_back":
        return render_id_back(make_identity(rng), rng)
    if kind == "dl_main":
        return render_dl_main(make_license(rng), rng)
    raise ValueError(f"unknown kind {kind!r}; expected one of: {', '.join(KINDS)}")


def render_specimen(kind: str, variant: str, seed: int, rotation: int | None = None) -> Specimen:
    """Render one image of ``kind`` as a ``scan`` or ``photo``; deterministic for ``seed``.

    ``multi`` (several cards) is always a photo; see :func:`render_multi`.
    """
    if variant not in ("scan", "photo"):
        raise ValueError("variant must be 'scan' or 'photo'")
    if rotation is not None and rotation not in (0, 90, 180, 270):
        raise ValueError("rotation must be 0, 90, 180 or 270")
    if kind == MULTI:
        return render_multi(seed, None if rotation is None else [rotation] * MULTI_CARD_COUNT)
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not security
    card: FlatCard | None = None
    if kind == "none":
        placed: Placement = place_noncard(rng)
        variant = "photo"
    else:
        card = _flat_card(kind, rng)
        placed = place_photo(card.image, rng, rotation) if variant == "photo" else place_scan(card.image, rng)
    img = placed.image
    truth: dict[str, Any] = {
        "image": "",
        "kind": kind,
        "card_type": CARD_TYPES[kind].value if kind in CARD_TYPES else None,
        "variant": variant,
        "seed": seed,
        "width": img.width,
        "height": img.height,
        "rotation": placed.rotation,
        "card_quad": None,
        "portrait": None,
        "fields": [],
    }
    located: list[LocatedField] = []
    if card is not None and placed.homography is not None:
        h = placed.homography
        truth["card_quad"] = _card_quad(card, h)
        if card.portrait is not None:
            truth["portrait"] = _poly(apply(h, card.portrait))
        english = rng.random() < 0.25
        truth["fields"], located = _card_fields(kind, card, h, english, rng, img.size)
    detection = Detection(status=1 if located else 0, fields=tuple(located))
    return Specimen(img, truth, render_response(detection), variant)


def _card_quad(card: FlatCard, h: np.ndarray) -> list[list[float]]:
    w, ht = card.image.size
    return _poly(apply(h, [(0.0, 0.0), (w, 0.0), (w, ht), (0.0, ht)]))


def _card_fields(
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
                "polygon": _poly(apply(h, f.polygon)),
                "lines": [_poly(apply(h, q)) for q in f.lines],
            }
        )
        if kind in ENGLISH_NAMES:
            name = ENGLISH_NAMES[kind][f.field] if english else f.label
            quad = Polygon.of(_round_outward(apply(h, f.quad), *size))
            card_type = CARD_TYPES[kind]
            located.append(LocatedField.named(name, rng.randint(90, 99), quad, card_type, detected_text=f.value))
    return fields, located


def render_multi(seed: int, rotations: Sequence[int | None] | None = None) -> Specimen:
    """A photo with several cards (ID fronts and/or licences, random), never overlapping.

    The truth lists every card under ``cards``; the sidecar holds the IdInfo of all cards,
    as AILicenseRec answers for a photo of several documents.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not security
    kinds = [rng.choice(MULTI_CARD_KINDS) for _ in range(MULTI_CARD_COUNT)]
    cards = [_flat_card(kind, rng) for kind in kinds]
    placed = place_photo_multi([c.image for c in cards], rng, rotations)
    img = placed.image
    english = rng.random() < 0.25
    entries: list[dict[str, Any]] = []
    located: list[LocatedField] = []
    for kind, card, h, rot in zip(kinds, cards, placed.homographies, placed.rotations, strict=True):
        fields, found = _card_fields(kind, card, h, english, rng, img.size)
        entries.append(
            {
                "kind": kind,
                "card_type": CARD_TYPES[kind].value,
                "card_quad": _card_quad(card, h),
                "portrait": _poly(apply(h, card.portrait)) if card.portrait is not None else None,
                "fields": fields,
                "rotation": rot,
            }
        )
        located.extend(found)
    truth: dict[str, Any] = {
        "image": "",
        "kind": MULTI,
        "variant": "photo",
        "cards": entries,
        "width": img.width,
        "height": img.height,
        "seed": seed,
    }
    detection = Detection(status=1, fields=tuple(located))
    return Specimen(img, truth, render_response(detection), "photo")


def render_one(kind: str, variant: str, seed: int, rotation: int | None = None) -> tuple[Image.Image, dict[str, Any]]:
    """The image and its truth dict (``truth["image"]`` is empty until written)."""
    spec = render_specimen(kind, variant, seed, rotation)
    return spec.image, spec.truth


def write_specimen(spec: Specimen, out_dir: Path, stem: str) -> Path:
    """Write ``<stem>.png|jpg`` plus ``.truth.json`` and ``.ailicenserec.xml`` next to it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (stem + spec.extension)
    if spec.variant == "scan":
        spec.image.save(path, optimize=True)
    else:
        quality = 60 + int(spec.truth["seed"]) % 31  # 60-90, fixed per seed
        spec.image.save(path, quality=quality)
    truth = dict(spec.truth, image=path.name)
    Path(f"{path}.truth.json").write_text(_dump(truth), encoding="utf-8")
    Path(f"{path}.ailicenserec.xml").write_bytes(spec.sidecar + b"\n")
    return path


_POINT_JSON = re.compile(r"\[\s*(-?[\d.]+),\s*(-?[\d.]+)\s*\]")


def _dump(truth: dict[str, Any]) -> str:
    """Indented JSON with each ``[x, y]`` point on one line, so the files stay readable."""
    return _POINT_JSON.sub(r"[\1, \2]", json.dumps(truth, ensure_ascii=False, indent=1)) + "\n"


def _stem(kind: str, variant: str, index: int) -> str:
    return f"noncard-{index:04d}" if kind == "none" else f"{STEMS[kind]}-{variant}-{index:04d}"


def generate_set(
    out_dir: Path,
    *,
    count: int,
    seed: int,
    kinds: Sequence[str] = KINDS,
    photo_fraction: float = 0.5,
) -> list[Path]:
    """Write ``count`` specimens (kinds weighted towards ID fronts and licences); returns image paths.

    ``multi`` (two cards in one photo) is drawn only when listed in ``kinds``.
    """
    unknown = [k for k in kinds if k not in ALL_KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {unknown}; expected some of: {', '.join(ALL_KINDS)}")
    if not 0.0 <= photo_fraction <= 1.0 or math.isnan(photo_fraction):
        raise ValueError("photo_fraction must be within 0-1")
    chosen = list(dict.fromkeys(kinds))
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not security
    paths = []
    for index in range(1, count + 1):
        kind = rng.choices(chosen, weights=[KIND_WEIGHTS[k] for k in chosen])[0]
        variant = "photo" if kind in ("none", MULTI) or rng.random() < photo_fraction else "scan"
        item_seed = rng.randrange(2**31)
        paths.append(write_specimen(render_specimen(kind, variant, item_seed), out_dir, _stem(kind, variant, index)))
    return paths


def sample_plan() -> list[tuple[str, str, int | None]]:
    """The committed ``samples/`` set: (kind, variant, forced rotation) per image."""
    return [
        ("id_front", "scan", None),
        ("id_front", "scan", None),
        ("id_front", "scan", None),
        ("id_front", "photo", 0),
        ("id_front", "photo", 90),
        ("id_front", "photo", 180),
        ("dl_main", "scan", None),
        ("dl_main", "scan", None),
        ("dl_main", "photo", 0),
        ("dl_main", "photo", 270),
        ("id_back", "photo", None),
        ("none", "photo", None),
    ]


def generate_samples(out_dir: Path, *, seed: int = 2024) -> list[Path]:
    """Write the fixed sample set (see :func:`sample_plan`), deterministic for ``seed``."""
    paths = []
    for index, (kind, variant, rotation) in enumerate(sample_plan(), start=1):
        spec = render_specimen(kind, variant, seed * 1000 + index, rotation)
        paths.append(write_specimen(spec, out_dir, _stem(kind, variant, index)))
    return paths
