"""Drawing and writing specimens: cards, photos, photocopy pages, multi-card photos, and the
generated sets (see the package's docstring)."""

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
from redactor.core.companions import SIDECAR_SUFFIX, TRUTH_SUFFIX
from redactor.core.fields import CardType
from redactor.core.results import Detection, LocatedField, Polygon
from redactor.generator import heldout
from redactor.generator.families import (
    ALL_KINDS,
    FAMILIES,
    KINDS,
    LEGACY_FAMILIES,
    MULTI,
    PHOTOCOPY,
    family_kind,
)
from redactor.generator.idcard import ID_SIZE, IdBackLayout, IdFrontLayout, draw_id_back, draw_id_front
from redactor.generator.identities import Identity, make_identity, make_license
from redactor.generator.licence import DL_SIZE, DlLayout, draw_dl_main
from redactor.generator.painter import FlatCard, Style, random_style
from redactor.generator.photo import (
    Placement,
    apply,
    corners,
    place_noncard,
    place_photo,
    place_photo_multi,
    place_photocopy,
    place_scan,
)
from redactor.generator.tuned import DL_A, DL_B, IDB_A, IDF_A, IDF_B

Point = tuple[float, float]

VARIANTS: tuple[str, ...] = ("scan", "photo", PHOTOCOPY)
#: Share of scans written cropped at the card edge (no scanner bed around the card).
CROPPED_SCAN_FRACTION = 0.3
#: Photocopy resolutions (one per page, at random).
PHOTOCOPY_DPI: tuple[int, ...] = (200, 300)
#: Kinds a multi-card photo draws its cards from, and how many cards it holds.
MULTI_CARD_KINDS: tuple[str, ...] = ("id_front", "dl_main")
MULTI_CARD_COUNT = 2
#: Relative frequency in generated sets: fronts and licence pages are what gets redacted.
KIND_WEIGHTS = {"id_front": 4.0, "dl_main": 3.0, "id_back": 1.5, PHOTOCOPY: 1.0, "none": 1.0, MULTI: 1.0}
STEMS = {
    "id_front": "idcard-front",
    "id_back": "idcard-back",
    "dl_main": "license",
    "none": "noncard",
    MULTI: "multicard",
    PHOTOCOPY: "photocopy",
}
CARD_TYPES = {"id_front": CardType.ID_CARD, "id_back": CardType.ID_CARD_BACK, "dl_main": CardType.DRIVER_LICENSE}
#: Every family's base layout (its drawing function is chosen by the layout's type).
LAYOUTS: dict[str, IdFrontLayout | IdBackLayout | DlLayout] = {
    layout.family: layout for layout in (IDF_A, IDF_B, heldout.IDF_H, IDB_A, heldout.IDB_H, DL_A, DL_B, heldout.DL_H)
}
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
    png: bool | None = None  #: ``None``: PNG for scans, JPEG otherwise (photocopies choose per page)

    @property
    def extension(self) -> str:
        png = self.variant == "scan" if self.png is None else self.png
        return ".png" if png else ".jpg"


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


@dataclass(frozen=True)
class CardOptions:
    """How cards are drawn: the families to pick from, per-card variation, a forced label spacing."""

    families: tuple[str, ...] | None = None  #: ``None``: every family of the card's kind
    randomise: bool = True  #: ``False``: the family's base layout exactly (the committed samples)
    tracking_em: float | None = None  #: label letter-spacing (em); ``None``: random

    def family(self, kind: str, rng: random.Random) -> str:
        allowed = [f for f in FAMILIES[kind] if self.families is None or f in self.families]
        if not allowed:
            raise ValueError(f"none of the families {list(self.families or ())} is a {kind} family")
        return allowed[0] if len(allowed) == 1 else rng.choice(allowed)


def _flat_card(kind: str, rng: random.Random, options: CardOptions, person: Identity | None = None) -> FlatCard:
    """One card of ``kind``: the random draws are the identity, the family, the style, then the drawing."""
    if kind not in FAMILIES:
        raise ValueError(f"unknown kind {kind!r}; expected one of: {', '.join(KINDS)}")
    subject = make_license(rng, person) if kind == "dl_main" else person or make_identity(rng)
    layout = LAYOUTS[options.family(kind, rng)]
    if options.randomise:
        style = random_style(rng, layout_size(layout), layout.base[0], options.tracking_em)
    else:
        style = Style(label_tracking_em=options.tracking_em or 0.0)
    if isinstance(layout, IdFrontLayout):
        assert isinstance(subject, Identity)
        return draw_id_front(layout, subject, rng, style)
    if isinstance(layout, IdBackLayout):
        assert isinstance(subject, Identity)
        return draw_id_back(layout, subject, rng, style)
    assert not isinstance(subject, Identity)
    return draw_dl_main(layout, subject, rng, style)


def layout_size(layout: IdFrontLayout | IdBackLayout | DlLayout) -> tuple[int, int]:
    return DL_SIZE if isinstance(layout, DlLayout) else ID_SIZE


def _check_family(kind: str, family: str | None) -> CardOptions:
    if family is not None and family_kind(family) != kind:
        raise ValueError(f"family {family!r} is not a {kind} family; use one of: {', '.join(FAMILIES[kind])}")
    return CardOptions(families=None if family is None else (family,))


def render_specimen(
    kind: str,
    variant: str,
    seed: int,
    rotation: int | None = None,
    *,
    family: str | None = None,
    tracking_em: float | None = None,
    cropped: bool | None = None,
    dpi: int | None = None,
    randomise: bool = True,
) -> Specimen:
    """Render one image of ``kind`` as a ``scan`` or ``photo``; deterministic for ``seed``.

    ``family``: the layout family (``None``: any of the kind's families, held-out ones
    included). ``tracking_em``: label letter-spacing. ``cropped``: a scan cut at the card
    edge (``None``: 30% of scans). ``randomise=False`` draws the family's base layout.
    ``multi`` (several cards) is always a photo, ``photocopy`` always a photocopy page
    (``family`` then picks its front's or its back's family; ``dpi`` its resolution); ``none`` a photo.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of: {', '.join(VARIANTS)}")
    if rotation is not None and rotation not in (0, 90, 180, 270):
        raise ValueError("rotation must be 0, 90, 180 or 270")
    if kind == PHOTOCOPY:
        fam = None if family is None else family_kind(family)
        return render_photocopy(
            seed,
            dpi=dpi,
            options=CardOptions(None if family is None else (family,), randomise, tracking_em),
            front=family if fam == "id_front" else None,
            back=family if fam == "id_back" else None,
        )
    if variant == PHOTOCOPY:
        raise ValueError("only the photocopy kind has the photocopy variant")
    if kind == MULTI:
        rotations = None if rotation is None else [rotation] * MULTI_CARD_COUNT
        return render_multi(seed, rotations, CardOptions(None, randomise, tracking_em))
    if kind != "none" and kind not in FAMILIES:
        raise ValueError(f"unknown kind {kind!r}; expected one of: {', '.join(ALL_KINDS)}")
    options = CardOptions(None, randomise, tracking_em) if kind == "none" else _check_family(kind, family)
    options = CardOptions(options.families, randomise, tracking_em)
    return _render_single(kind, variant, seed, rotation, options, cropped)


def _render_single(
    kind: str, variant: str, seed: int, rotation: int | None, options: CardOptions, cropped: bool | None
) -> Specimen:
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not security
    card: FlatCard | None = None
    if kind == "none":
        placed: Placement = place_noncard(rng)
        variant = "photo"
    else:
        card = _flat_card(kind, rng, options)
        if variant == "photo":
            placed = place_photo(card.image, rng, rotation)
        else:
            if cropped is None:
                cropped = rng.random() < CROPPED_SCAN_FRACTION
            placed = place_scan(card.image, rng, cropped)
    img = placed.image
    truth: dict[str, Any] = {
        "image": "",
        "kind": kind,
        "card_type": CARD_TYPES[kind].value if kind in CARD_TYPES else None,
        "family": card.family if card is not None else None,
        "variant": variant,
        "seed": seed,
        "width": img.width,
        "height": img.height,
        "rotation": placed.rotation,
    }
    if variant == "scan":
        truth["cropped"] = bool(cropped)
    truth.update(card_quad=None, portrait=None, fields=[])
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
    return _poly(apply(h, corners(card.image.size)))


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


def _card_entry(kind: str, card: FlatCard, h: np.ndarray, fields: list[dict[str, Any]], rot: int) -> dict[str, Any]:
    """One element of a multi-card truth's ``cards``."""
    return {
        "kind": kind,
        "card_type": CARD_TYPES[kind].value,
        "family": card.family,
        "card_quad": _card_quad(card, h),
        "portrait": _poly(apply(h, card.portrait)) if card.portrait is not None else None,
        "fields": fields,
        "rotation": rot,
    }


def render_multi(
    seed: int, rotations: Sequence[int | None] | None = None, options: CardOptions | None = None
) -> Specimen:
    """A photo with several cards (ID fronts and/or licences, random), never overlapping.

    The truth lists every card under ``cards``; the sidecar holds the IdInfo of all cards,
    as AILicenseRec answers for a photo of several documents.
    """
    opts = options or CardOptions()
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not security
    pool = [k for k in MULTI_CARD_KINDS if opts.families is None or set(FAMILIES[k]) & set(opts.families)]
    if not pool:
        raise ValueError("a multi-card photo needs an id_front or dl_main family")
    kinds = [rng.choice(pool) for _ in range(MULTI_CARD_COUNT)]
    cards = [_flat_card(kind, rng, opts) for kind in kinds]
    placed = place_photo_multi([c.image for c in cards], rng, rotations)
    img = placed.image
    english = rng.random() < 0.25
    entries: list[dict[str, Any]] = []
    located: list[LocatedField] = []
    for kind, card, h, rot in zip(kinds, cards, placed.homographies, placed.rotations, strict=True):
        fields, found = _card_fields(kind, card, h, english, rng, img.size)
        entries.append(_card_entry(kind, card, h, fields, rot))
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


def render_photocopy(
    seed: int,
    *,
    dpi: int | None = None,
    options: CardOptions | None = None,
    front: str | None = None,
    back: str | None = None,
) -> Specimen:
    """A greyscale A4 photocopy page: one person's ID front above its back, both at true size.

    ``front``/``back`` force the families (else drawn from ``options``). Saved as PNG or
    JPEG, in mode ``L`` or as grey RGB (one of each at random). The sidecar holds the front's
    fields only: AILicenseRec reads the front of such a page and not the back.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not security
    opts = options or CardOptions()
    page_dpi = dpi if dpi is not None else rng.choice(PHOTOCOPY_DPI)
    if page_dpi < 50 or page_dpi > 1200:
        raise ValueError("dpi must be within 50-1200")
    person = make_identity(rng)
    cards = []
    for kind, forced in (("id_front", front), ("id_back", back)):
        card_opts = CardOptions((forced,), opts.randomise, opts.tracking_em) if forced else opts
        if forced is None and opts.families is not None and not set(FAMILIES[kind]) & set(opts.families):
            card_opts = CardOptions(None, opts.randomise, opts.tracking_em)  # the other side: any family
        cards.append(_flat_card(kind, rng, card_opts, person))
    placed = place_photocopy([c.image for c in cards], rng, page_dpi)
    img = placed.image if rng.random() < 0.5 else placed.image.convert("RGB")
    png = rng.random() < 0.5
    english = rng.random() < 0.25
    entries: list[dict[str, Any]] = []
    located: list[LocatedField] = []
    for kind, card, h in zip(("id_front", "id_back"), cards, placed.homographies, strict=True):
        fields, found = _card_fields(kind, card, h, english, rng, img.size)
        entries.append(_card_entry(kind, card, h, fields, 0))
        located.extend(found)  # the back adds none: AILicenseRec does not read backs
    truth: dict[str, Any] = {
        "image": "",
        "kind": PHOTOCOPY,
        "variant": PHOTOCOPY,
        "seed": seed,
        "width": img.width,
        "height": img.height,
        "dpi": page_dpi,
        "cards": entries,
    }
    detection = Detection(status=1 if located else 0, fields=tuple(located))
    return Specimen(img, truth, render_response(detection), PHOTOCOPY, png=png)


def render_one(
    kind: str, variant: str, seed: int, rotation: int | None = None, **options: Any
) -> tuple[Image.Image, dict[str, Any]]:
    """The image and its truth dict (``truth["image"]`` is empty until written); options as :func:`render_specimen`."""
    spec = render_specimen(kind, variant, seed, rotation, **options)
    return spec.image, spec.truth


def write_specimen(spec: Specimen, out_dir: Path, stem: str) -> Path:
    """Write ``<stem>.png|jpg`` plus ``.truth.json`` and ``.ailicenserec.xml`` next to it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (stem + spec.extension)
    if spec.extension == ".png":
        spec.image.save(path, optimize=spec.variant == "scan")  # pages are large: default compression
    else:
        quality = 60 + int(spec.truth["seed"]) % 31  # 60-90, fixed per seed
        spec.image.save(path, quality=quality)
    truth = dict(spec.truth, image=path.name)
    Path(f"{path}{TRUTH_SUFFIX}").write_text(_dump(truth), encoding="utf-8")
    Path(f"{path}{SIDECAR_SUFFIX}").write_bytes(spec.sidecar + b"\n")
    return path


_POINT_JSON = re.compile(r"\[\s*(-?[\d.]+),\s*(-?[\d.]+)\s*\]")


def _dump(truth: dict[str, Any]) -> str:
    """Indented JSON with each ``[x, y]`` point on one line, so the files stay readable."""
    return _POINT_JSON.sub(r"[\1, \2]", json.dumps(truth, ensure_ascii=False, indent=1)) + "\n"


def _stem(kind: str, variant: str, index: int) -> str:
    if kind in ("none", PHOTOCOPY):
        return f"{STEMS[kind]}-{index:04d}"
    return f"{STEMS[kind]}-{variant}-{index:04d}"


def _drawable(kind: str, families: frozenset[str] | None) -> bool:
    """Whether ``kind`` can be drawn from the chosen families (``none`` needs no family)."""
    if families is None or kind == "none":
        return True
    if kind == MULTI:
        return any(set(FAMILIES[k]) & families for k in MULTI_CARD_KINDS)
    if kind == PHOTOCOPY:
        return any(set(FAMILIES[k]) & families for k in ("id_front", "id_back"))
    return bool(set(FAMILIES[kind]) & families)


def generate_set(
    out_dir: Path,
    *,
    count: int,
    seed: int,
    kinds: Sequence[str] = KINDS,
    photo_fraction: float = 0.5,
    families: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``count`` specimens (kinds weighted towards ID fronts and licences); returns image paths.

    ``families`` limits the layout families cards are drawn in (default: all, held-out ones
    included); kinds with no chosen family are left out (``none`` has none and stays; a
    photocopy needs a front or a back family, its other side is then of any family).
    ``multi`` (two cards in one photo) is drawn only when listed in ``kinds``.
    """
    unknown = [k for k in kinds if k not in ALL_KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {unknown}; expected some of: {', '.join(ALL_KINDS)}")
    if not 0.0 <= photo_fraction <= 1.0 or math.isnan(photo_fraction):
        raise ValueError("photo_fraction must be within 0-1")
    chosen_families = None if families is None else frozenset(families)
    for fam in chosen_families or ():
        family_kind(fam)  # ValueError for an unknown family
    chosen = [k for k in dict.fromkeys(kinds) if _drawable(k, chosen_families)]
    if not chosen:
        raise ValueError(f"none of the kinds {list(kinds)} has a card in the families {sorted(families or ())}")
    options = CardOptions(None if chosen_families is None else tuple(sorted(chosen_families)))
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not security
    paths = []
    for index in range(1, count + 1):
        kind = rng.choices(chosen, weights=[KIND_WEIGHTS[k] for k in chosen])[0]
        if kind == PHOTOCOPY:
            variant = PHOTOCOPY
        else:
            variant = "photo" if kind in ("none", MULTI) or rng.random() < photo_fraction else "scan"
        item_seed = rng.randrange(2**31)
        if kind == PHOTOCOPY:
            spec = render_photocopy(item_seed, options=options)
        elif kind == MULTI:
            spec = render_multi(item_seed, None, options)
        else:
            spec = _render_single(kind, variant, item_seed, None, options, None)
        paths.append(write_specimen(spec, out_dir, _stem(kind, variant, index)))
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


def render_sample(kind: str, variant: str, seed: int, rotation: int | None) -> Specimen:
    """One image of the committed set: base layouts (``*-a``), uncropped scans, as before families existed."""
    family = LEGACY_FAMILIES.get(kind)
    return render_specimen(kind, variant, seed, rotation, family=family, cropped=False, randomise=False)


def generate_samples(out_dir: Path, *, seed: int = 2024) -> list[Path]:
    """Write the fixed sample set (see :func:`sample_plan`, :func:`render_sample`), deterministic for ``seed``."""
    paths = []
    for index, (kind, variant, rotation) in enumerate(sample_plan(), start=1):
        spec = render_sample(kind, variant, seed * 1000 + index, rotation)
        paths.append(write_specimen(spec, out_dir, _stem(kind, variant, index)))
    return paths
