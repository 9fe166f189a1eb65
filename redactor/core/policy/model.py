"""The policy as data: actions, rules and the resolved :class:`Policy` (which rule a
located field gets). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from redactor.core.fields import (
    FIELDS_BY_CARD,
    CardType,
    canonical_field,
)

#: The largest blur radius / pixelate block (px at 1000 px card width): beyond this a
#: mask is one flat colour anyway, and huge values only cost memory.
MAX_STRENGTH = 1000.0
#: Row label for fields the catalog does not know (they get the defaults: fail closed).
UNKNOWN_FIELD = "(unknown)"


class Action(str, Enum):
    """What happens to a field's pixels."""

    BOX = "box"
    BLUR = "blur"
    PIXELATE = "pixelate"
    KEEP = "keep"


class OnNoCard(str, Enum):
    """What happens to an image where nothing was located (Status 0, unsupported side)."""

    QUARANTINE = "quarantine"
    BOX_ALL = "box_all"
    FAIL = "fail"


@dataclass(frozen=True)
class Rule:
    """A fully resolved rule for one field; ``origin`` names where its action came from."""

    action: Action
    color: tuple[int, int, int]
    strength: float
    min_score: float
    uncertain: Action
    padding: float
    origin: str


@dataclass(frozen=True)
class _Partial:
    """One layer's rule: only the keys that layer sets (``None`` means inherit)."""

    origin: str
    action: Action | None = None
    color: tuple[int, int, int] | None = None
    strength: float | None = None
    min_score: float | None = None
    uncertain: Action | None = None
    padding: float | None = None


RULE_KEYS: tuple[str, ...] = ("action", "color", "strength", "min_score", "uncertain", "padding")
TOP_KEYS: tuple[str, ...] = ("version", "defaults", "fields", "card_types", "portrait", "on_no_card")
CARD_TYPE_KEYS: tuple[str, ...] = ("fields", "defaults")
BUILT_IN = _Partial(
    origin="built-in",
    action=Action.BOX,
    color=(0, 0, 0),
    strength=24.0,
    min_score=80.0,
    uncertain=Action.BOX,
    padding=0.15,
)

_EMPTY: Mapping[str, _Partial] = MappingProxyType({})


@dataclass(frozen=True)
class Policy:
    """A validated policy. Use :meth:`rule_for` to get the rule for a located field."""

    version: int
    on_no_card: OnNoCard
    source: str
    sha256: str
    # The layers as written (private: callers use rule_for / effective_rules).
    _defaults: _Partial = field(default=BUILT_IN, repr=False, compare=False)
    _fields: Mapping[str, _Partial] = field(default_factory=dict, repr=False, compare=False)
    _card_defaults: Mapping[CardType, _Partial] = field(default_factory=dict, repr=False, compare=False)
    _card_fields: Mapping[CardType, Mapping[str, _Partial]] = field(default_factory=dict, repr=False, compare=False)

    def _layers(self, card_type: CardType | None, field_id: str | None) -> list[_Partial]:
        """Most specific first: card-type field, field, card-type defaults, defaults."""
        layers: list[_Partial] = []
        if card_type is not None and field_id is not None:
            ct_field = self._card_fields.get(card_type, _EMPTY).get(field_id)
            if ct_field is not None:
                layers.append(ct_field)
        if field_id is not None and field_id in self._fields:
            layers.append(self._fields[field_id])
        if card_type is not None and card_type in self._card_defaults:
            layers.append(self._card_defaults[card_type])
        layers.append(self._defaults)
        return layers

    def rule_for(self, card_type: CardType | None, field: str | None) -> Rule:
        """The rule for a field (canonical id, alias, ``"portrait"`` or ``None`` for unknown).

        ``card_type=None`` means the card type is not known: top-level rules only.
        A name the catalog does not know gets the defaults, like ``None``.
        """
        field_id = canonical_field(field) if field is not None else None
        layers = [*self._layers(card_type, field_id), BUILT_IN]
        values: dict[str, Any] = {}
        for key in RULE_KEYS:
            values[key] = next(getattr(layer, key) for layer in layers if getattr(layer, key) is not None)
        origin = next(layer.origin for layer in layers if layer.action is not None)
        return Rule(origin=origin, **values)

    def effective_rules(self) -> list[tuple[str, str, Rule]]:
        """(card type, field id, rule) for every catalog field of every card type, plus unknown fields."""
        rows: list[tuple[str, str, Rule]] = []
        for card_type in CardType:
            for field_id in FIELDS_BY_CARD[card_type]:
                rows.append((card_type.value, field_id, self.rule_for(card_type, field_id)))
            rows.append((card_type.value, UNKNOWN_FIELD, self.rule_for(card_type, None)))
        return rows

    def _all_layers(self) -> list[_Partial]:
        """Every layer the policy file sets, for advice that concerns a layer rather than a field."""
        out = [self._defaults, *self._fields.values()]
        for card_type in CardType:
            if card_type in self._card_defaults:
                out.append(self._card_defaults[card_type])
            out.extend(self._card_fields.get(card_type, _EMPTY).values())
        return out
