"""Decide, from a detection and a policy, what to mask and whether the image may pass.

This is where failing closed lives. An image is only ``REDACTED`` when the card was
found, every expected field was located, and every field has a mask or an explicit
``keep``. Low scores get the ``uncertain`` action, unknown names the default action
(never ``keep``), and anything else in doubt is quarantined with a reason.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from redactor.core.fields import FIELDS_BY_CARD, PORTRAIT, CardType, CardTypeHint, infer_card_type
from redactor.core.geometry import grow, polygon_gap, text_height
from redactor.core.masking import MaskOp, effective_strength
from redactor.core.policy import Action, OnNoCard, Policy, Rule
from redactor.core.results import AppliedField, Decision, Detection, LocatedField, Polygon

REFERENCE_CARD_WIDTH = 1000.0


@dataclass(frozen=True)
class Plan:
    """The masks to apply and the decision they lead to. ``reasons`` are report-safe."""

    decision: Decision
    reasons: tuple[str, ...]
    ops: tuple[MaskOp, ...]
    applied: tuple[AppliedField, ...]
    card_type: CardType | None


def _card_width(detection: Detection, width: int) -> float:
    if detection.card_quad is not None:
        pts = detection.card_quad.points
        return max(math.hypot(pts[i][0] - pts[i - 1][0], pts[i][1] - pts[i - 1][1]) for i in range(len(pts)))
    return float(width)


def _op_for(
    located: LocatedField,
    rule: Rule,
    action: Action,
    scale: float,
    width: int,
    height: int,
    keep_clear: Sequence[Polygon] = (),
    line_height: float = math.inf,
) -> MaskOp:
    """The mask for one field. Padding is a share of the polygon's height, so around a photo or
    a seal (many lines tall) it would reach across to a kept value beside it: the part of it
    beyond a line's padding stops short of ``keep_clear`` (the kept values). A line's own
    padding is never cut, and the polygon itself is never shrunk."""
    polygon = located.polygon.clamped(width, height)
    h = text_height(polygon)
    padding = 0.0 if located.estimated else rule.padding * h  # an estimate carries its own margin
    floor = min(padding, rule.padding * line_height)
    for other in keep_clear:
        if padding <= floor:
            break
        # a mitred offset reaches at most sqrt(2) x the padding at a corner; polygons that
        # already touch get no more than a line's
        padding = max(floor, min(padding, (polygon_gap(polygon, other) - 1.0) / 1.5))
    region = grow(polygon, padding, width, height)
    strength = effective_strength(action.value, rule.strength, scale, h)
    return MaskOp(region, action.value, rule.color, strength)


def box_all(width: int, height: int, policy: Policy) -> tuple[MaskOp, ...]:
    """One solid box over the whole image (``on_no_card: box_all``)."""
    rule = policy.rule_for(None, None)
    region = grow(Polygon.rect(0, 0, width, height), 0.0, width, height)
    return (MaskOp(region, Action.BOX.value, rule.color, 0.0),)


def plan_redaction(
    detection: Detection,
    policy: Policy,
    width: int,
    height: int,
    hint: CardTypeHint = CardTypeHint.AUTO,
) -> Plan:
    """Turn a detection into mask operations and a decision."""
    known = [f for f in detection.fields if f.canonical is not None]
    # Locators that see several cards tag each field with its own card type.
    tagged = {f.card_type for f in known if f.card_type is not None}
    per_field_types = len(tagged) > 1 and all(f.card_type is not None for f in known)
    # a locator that tags every field with one card type knows it better than an inference
    # from the field names (an ID back's fields are also a licence's)
    single = next(iter(tagged)) if len(tagged) == 1 and all(f.card_type is not None for f in known) else None
    card_type = (
        detection.card_type or hint.card_type() or single or infer_card_type(f.canonical for f in known if f.canonical)
    )

    if not detection.found_anything or not known:
        why = (
            "no card found (Status 0)"
            if detection.status == 0
            else ("no fields located" if not detection.fields else "only unknown field names located")
        )
        return _no_card(policy, width, height, why, card_type, detection)

    reasons: list[str] = []
    doubt: list[str] = list(detection.problems)  # a locator's own doubts are never waved through
    if card_type is None and not per_field_types:
        doubt.append("card type could not be determined from the located fields")

    scale = _card_width(detection, width) / REFERENCE_CARD_WIDTH
    ops: list[MaskOp] = []
    applied: list[AppliedField] = []
    fields = list(detection.fields)

    decided: list[tuple[LocatedField, Rule, Action, str]] = []
    for located in fields:
        rule = policy.rule_for(located.card_type or card_type, located.canonical)
        action = rule.action
        why = rule.origin
        if located.canonical is None:
            if action is Action.KEEP:
                action = rule.uncertain
            why = "unknown field name: default action"
            reasons.append(f"unknown field name {located.raw_name[:40]!r} masked with the default action")
        elif located.score < rule.min_score:
            action = rule.uncertain
            why = f"score {located.score:g} below min_score {rule.min_score:g}: uncertain action"
            reasons.append(f"{located.canonical}: low score, masked with the uncertain action")
        decided.append((located, rule, action, why))
    kept = [f.polygon.clamped(width, height) for f, _, action, _ in decided if action is Action.KEEP]
    lines = [text_height(f.polygon.clamped(width, height)) for f in fields if not f.is_portrait]
    line_height = statistics.median(lines) if lines else math.inf

    for located, rule, action, why in decided:
        op = _op_for(located, rule, action, scale, width, height, kept, line_height)
        if action is not Action.KEEP and located.polygon.clamped(width, height).area() < 1.0:
            doubt.append(f"{located.canonical or 'unknown field'}: polygon lies outside the image")
        strength = op.strength_px if action in (Action.BLUR, Action.PIXELATE) else None
        applied.append(AppliedField(located, action.value, why, strength))
        if action is not Action.KEEP:
            ops.append(op)

    for kind in sorted(tagged if per_field_types else ({card_type} if card_type else set()), key=lambda c: c.value):
        present = {f.canonical for f in fields if not per_field_types or f.card_type is kind}
        for expected in FIELDS_BY_CARD[kind]:
            if expected in present:
                continue
            if expected != PORTRAIT:
                doubt.append(f"expected field {expected} was not located")
            elif policy.rule_for(kind, PORTRAIT).action is not Action.KEEP:
                doubt.append("portrait not located (no photo area found on the card)")

    if doubt:
        return Plan(Decision.QUARANTINED, tuple(doubt + reasons), tuple(ops), tuple(applied), card_type)
    return Plan(Decision.REDACTED, tuple(reasons), tuple(ops), tuple(applied), card_type)


def _no_card(
    policy: Policy, width: int, height: int, why: str, card_type: CardType | None, detection: Detection
) -> Plan:
    reasons = (why, *detection.problems)
    if policy.on_no_card is OnNoCard.BOX_ALL:
        return Plan(Decision.REDACTED, (*reasons, "on_no_card: box_all"), box_all(width, height, policy), (), card_type)
    if policy.on_no_card is OnNoCard.FAIL:
        return Plan(Decision.FAILED, (*reasons, "on_no_card: fail"), (), (), card_type)
    return Plan(Decision.QUARANTINED, reasons, (), (), card_type)
