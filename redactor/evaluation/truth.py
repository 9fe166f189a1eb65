"""Ground truth of generated images (``<image>.truth.json``): the cards, their fields' polygons,
the photo; values are never read into results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redactor.core.companions import TRUTH_SUFFIX
from redactor.core.fields import PORTRAIT, CardType
from redactor.core.results import Point
from redactor.generator.families import KIND_CARD_TYPES, LEGACY_FAMILIES

#: Kinds that are never meant to be redacted, only quarantined (or boxed whole): no card at all.
NOT_REDACTABLE = frozenset({"none"})


@dataclass(frozen=True)
class TruthField:
    """One ground-truth region: a field id and its polygon (the value text is deliberately dropped)."""

    card: int
    field: str
    polygon: tuple[Point, ...]


@dataclass(frozen=True)
class TruthCard:
    kind: str
    card_type: CardType | None
    fields: tuple[TruthField, ...]  # the portrait, when the card has one, is the field ``portrait``
    family: str | None = None  #: layout family (``idf-a``...); ``None`` for no card

    @property
    def redactable(self) -> bool:
        return self.kind not in NOT_REDACTABLE


@dataclass(frozen=True)
class Truth:
    kind: str
    variant: str
    width: int
    height: int
    cards: tuple[TruthCard, ...]

    @property
    def group(self) -> str:
        """Card type x variant for single cards; ``photocopy``, ``none`` and ``multi`` on their own."""
        if self.kind == "photocopy":
            return "photocopy"
        if len(self.cards) > 1 or self.kind == "multi":
            return "multi"
        if self.kind in NOT_REDACTABLE or not self.cards or self.cards[0].card_type is None:
            return self.kind
        return f"{self.cards[0].card_type.value}/{self.variant}"

    @property
    def redactable(self) -> bool:
        return any(card.redactable for card in self.cards)


def _points(raw: Any) -> tuple[Point, ...]:
    return tuple((float(p[0]), float(p[1])) for p in raw)


def _card(index: int, raw: dict[str, Any], default_kind: str) -> TruthCard:
    kind = str(raw.get("kind") or default_kind)
    # by kind first: truth written before ``IDCardBack`` existed says ``IDCard`` for backs
    card_type = KIND_CARD_TYPES.get(kind) or (CardType(raw["card_type"]) if raw.get("card_type") else None)
    fields = [TruthField(index, str(f["field"]), _points(f["polygon"])) for f in raw.get("fields") or ()]
    if raw.get("portrait"):
        fields.append(TruthField(index, PORTRAIT, _points(raw["portrait"])))
    family = raw.get("family") or LEGACY_FAMILIES.get(kind)  # truth from before families: the base layout
    return TruthCard(kind, card_type, tuple(fields), None if family is None else str(family))


def truth_file(image: Path) -> Path:
    """Where an image's ground truth is: next to it, ``<image>.truth.json``."""
    return image.with_name(image.name + TRUTH_SUFFIX)


def read_truth(image: Path) -> dict[str, Any]:
    """The truth dict written next to ``image`` (as :func:`load_truth` reads it)."""
    data: dict[str, Any] = json.loads(truth_file(image).read_text("utf-8"))
    return data


def load_truth(data: dict[str, Any]) -> Truth:
    """Read a truth dict, single-card (top-level ``fields``) or multi-card (``cards`` list)."""
    kind = str(data.get("kind") or "none")
    raw_cards = data.get("cards")
    if isinstance(raw_cards, list):
        cards = tuple(_card(i, c, kind) for i, c in enumerate(raw_cards))
    elif kind == "none" and not data.get("fields"):
        cards = ()
    else:
        cards = (_card(0, data, kind),)
    return Truth(kind, str(data.get("variant") or "photo"), int(data["width"]), int(data["height"]), cards)
