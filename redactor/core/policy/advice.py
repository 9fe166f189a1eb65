"""What a policy does, in words: its effective rules per card type and field, and warnings
for policies that let personal data through."""

from __future__ import annotations

from redactor.core.fields import (
    FIELDS_BY_CARD,
)
from redactor.core.policy.model import (
    Action,
    Policy,
)


def _num(value: float) -> str:
    return f"{value:g}"


def _hex(color: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*color)


def format_effective_rules(policy: Policy) -> str:
    """A plain-text table of every card type x field rule, for ``redactor policy check``.

    The colour is shown only where a box can be drawn (action or uncertain action box).
    """
    header = ("card type", "field", "action", "min_score", "uncertain", "padding", "strength", "color", "origin")
    rows: list[tuple[str, ...]] = [header]
    for card_type, field_id, rule in policy.effective_rules():
        boxed = Action.BOX in (rule.action, rule.uncertain)
        rows.append(
            (
                card_type,
                field_id,
                rule.action.value,
                _num(rule.min_score),
                rule.uncertain.value,
                _num(rule.padding),
                _num(rule.strength),
                _hex(rule.color) if boxed else "-",
                rule.origin,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("")
    lines.append(f"on_no_card: {policy.on_no_card.value}")
    lines.append(f"source: {policy.source}")
    lines.append(f"sha256: {policy.sha256}")
    return "\n".join(lines) + "\n"


_NUMBERS = ("id_number", "license_number")


def policy_warnings(policy: Policy) -> list[str]:
    """Non-fatal advice: choices that are valid but weaker than they look."""
    out: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for card_type, field_id, rule in policy.effective_rules():
        if field_id in _NUMBERS:
            for which, action in (("action", rule.action), ("uncertain", rule.uncertain)):
                key = (field_id, which, rule.origin if which == "action" else "")
                if action in (Action.BLUR, Action.PIXELATE) and key not in seen:
                    seen.add(key)
                    out.append(
                        f"{card_type}.{field_id}: {which} {action.value} on digits can be reversed "
                        "(Hill et al. 2016, 'On the (in)effectiveness of mosaicing and blurring'); use box"
                    )
            if rule.action is Action.KEEP:
                out.append(f"{card_type}.{field_id}: kept readable; this is the most identifying field on the card")
    for layer in policy._all_layers():
        if layer.min_score is not None and layer.min_score < 50:
            out.append(
                f"{layer.origin}: min_score {_num(layer.min_score)} is below 50; fields the locator is unsure of "
                "will get the normal action instead of the uncertain one"
            )
        if layer.action in (Action.BLUR, Action.PIXELATE) and layer.strength is not None and layer.strength < 12:
            out.append(
                f"{layer.origin}: {layer.action.value} strength {_num(layer.strength)} is weak; text may stay readable"
            )
    for layer in (policy._defaults, *policy._card_defaults.values()):
        if layer.action is Action.KEEP:
            out.append(
                f"{layer.origin}: action keep leaves fields the catalog does not know readable (not fail-closed)"
            )
    for card_type, rules in policy._card_fields.items():
        for field_id, layer in rules.items():
            if field_id not in FIELDS_BY_CARD[card_type]:
                out.append(f"{layer.origin}: {field_id} is not a field of {card_type.value}; this rule never applies")
    return out
