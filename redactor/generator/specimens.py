"""Drawing specimens: single cards as scans or photos, photocopy pages and multi-card photos,
each with its truth dict and AILicenseRec sidecar (see the package's docstring)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from redactor.core.ailicenserec import render_response
from redactor.core.results import Detection, LocatedField
from redactor.generator import heldout
from redactor.generator.families import ALL_KINDS, FAMILIES, KIND_CARD_TYPES, KINDS, MULTI, PHOTOCOPY, family_kind
from redactor.generator.idcard import ID_SIZE, IdBackLayout, IdFrontLayout, draw_id_back, draw_id_front
from redactor.generator.identities import Identity, make_identity, make_license
from redactor.generator.licence import DL_SIZE, DlLayout, draw_dl_main
from redactor.generator.painter import FlatCard, Style, random_style
from redactor.generator.photo import (
    Placement,
    apply,
    place_noncard,
    place_photo,
    place_photo_multi,
    place_photocopy,
    place_scan,
)
from redactor.generator.truth import card_entry, card_fields, card_quad, poly
from redactor.generator.tuned import DL_A, DL_B, IDB_A, IDF_A, IDF_B

VARIANTS: tuple[str, ...] = ("scan", "photo", PHOTOCOPY)
#: Share of scans written cropped at the card edge (no scanner bed around the card).
CROPPED_SCAN_FRACTION = 0.3
#: Photocopy resolutions (one per page, at random).
PHOTOCOPY_DPI: tuple[int, ...] = (200, 300)
#: Kinds a multi-card photo draws its cards from, and how many cards it holds.
MULTI_CARD_KINDS: tuple[str, ...] = ("id_front", "dl_main")
MULTI_CARD_COUNT = 2
#: Every family's base layout (its drawing function is chosen by the layout's type).
LAYOUTS: dict[str, IdFrontLayout | IdBackLayout | DlLayout] = {
    layout.family: layout for layout in (IDF_A, IDF_B, heldout.IDF_H, IDB_A, heldout.IDB_H, DL_A, DL_B, heldout.DL_H)
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
    return render_single(kind, variant, seed, rotation, options, cropped)


def render_single(
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
        "card_type": KIND_CARD_TYPES[kind].value if kind in KIND_CARD_TYPES else None,
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
        truth["card_quad"] = card_quad(card, h)
        if card.portrait is not None:
            truth["portrait"] = poly(apply(h, card.portrait))
        english = rng.random() < 0.25
        truth["fields"], located = card_fields(kind, card, h, english, rng, img.size)
    detection = Detection(status=1 if located else 0, fields=tuple(located))
    return Specimen(img, truth, render_response(detection), variant)


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
        fields, found = card_fields(kind, card, h, english, rng, img.size)
        entries.append(card_entry(kind, card, h, fields, rot))
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
        fields, found = card_fields(kind, card, h, english, rng, img.size)
        entries.append(card_entry(kind, card, h, fields, 0))
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
