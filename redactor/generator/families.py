"""The card kinds, the layout families each is drawn in, and which of them are held out from tuning.

Kept free of drawing code so that :mod:`redactor.evaluation` can mark held-out rows
without loading fonts.
"""

from __future__ import annotations

from redactor.core.fields import CardType

#: An A4 photocopy page holding an ID card's front above its back (variant ``photocopy``).
PHOTOCOPY = "photocopy"
#: Kinds a generated set draws from by default.
KINDS: tuple[str, ...] = ("id_front", "id_back", "dl_main", PHOTOCOPY, "none")
#: Several cards (ID fronts and/or licences) in one photo. Opt-in only (not in ``KINDS``).
MULTI = "multi"
ALL_KINDS: tuple[str, ...] = (*KINDS, MULTI)
#: The card type of each card kind (what its truth and its sidecar say).
KIND_CARD_TYPES: dict[str, CardType] = {
    "id_front": CardType.ID_CARD,
    "id_back": CardType.ID_CARD_BACK,
    "dl_main": CardType.DRIVER_LICENSE,
}
#: Card kind -> its layout families. ``*-a`` is the layout the generator drew before families
#: existed; ``*-h`` families are held out (see :mod:`redactor.generator.heldout`).
FAMILIES: dict[str, tuple[str, ...]] = {
    "id_front": ("idf-a", "idf-b", "idf-h"),
    "id_back": ("idb-a", "idb-h"),
    "dl_main": ("dl-a", "dl-b", "dl-h"),
}
#: Families no locator may be tuned on: their figures measure generalisation.
HELD_OUT_FAMILIES: frozenset[str] = frozenset({"idf-h", "idb-h", "dl-h"})
#: The family of a card in truth written before families existed (it was always the base layout).
LEGACY_FAMILIES: dict[str, str] = {"id_front": "idf-a", "id_back": "idb-a", "dl_main": "dl-a"}


def family_kind(family: str) -> str:
    """The card kind a family belongs to (``ValueError`` for an unknown family)."""
    for kind, names in FAMILIES.items():
        if family in names:
            return kind
    known = ", ".join(f for names in FAMILIES.values() for f in names)
    raise ValueError(f"unknown family {family!r}; expected one of: {known}")
