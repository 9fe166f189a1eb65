"""Fail-closed decisions: doubt is quarantined (or masked harder), never passed."""

from __future__ import annotations

from redactor.core.fields import ID_CARD_FIELDS, CardType
from redactor.core.plan import plan_redaction
from redactor.core.policy import load_policy
from redactor.core.results import Decision, Detection, LocatedField, Polygon

from .conftest import ID_CARD_BOXES

W, H = 1000, 631
POLICY = load_policy(
    """version: 1
defaults: {action: box, min_score: 80, uncertain: pixelate}
fields: {gender: keep, ethnicity: keep, name: blur}
portrait: box
""",
    "test.yaml",
)


def id_card(score: float = 97, drop: tuple[str, ...] = (), extra: tuple[LocatedField, ...] = ()) -> Detection:
    fields = []
    for fid in (*ID_CARD_FIELDS, "portrait"):
        if fid in drop:
            continue
        x0, y0, x1, y1 = ID_CARD_BOXES[fid]
        poly = Polygon.rect(x0 * W, y0 * H, x1 * W, y1 * H)
        fields.append(LocatedField.named(fid, score, poly, CardType.ID_CARD))
    return Detection(1, tuple(fields) + extra, CardType.ID_CARD)


def actions(plan):
    return {a.located.canonical: a.action for a in plan.applied}


def test_complete_card_is_redacted_with_policy_actions():
    plan = plan_redaction(id_card(), POLICY, W, H)
    assert plan.decision is Decision.REDACTED
    acts = actions(plan)
    assert acts["gender"] == "keep" and acts["name"] == "blur" and acts["id_number"] == "box"
    assert acts["portrait"] == "box"
    assert len(plan.ops) == 5  # name, birth, address, id_number, portrait


def test_card_without_a_portrait_is_quarantined_unless_the_policy_keeps_it():
    # AILicenseRec returns no portrait; when the pixels did not show one either, never guess
    plan = plan_redaction(id_card(drop=("portrait",)), POLICY, W, H)
    assert plan.decision is Decision.QUARANTINED
    assert any("portrait not located" in r for r in plan.reasons)
    keep = load_policy("version: 1\nportrait: keep\n")
    assert plan_redaction(id_card(drop=("portrait",)), keep, W, H).decision is Decision.REDACTED


def test_low_score_gets_the_uncertain_action_even_for_keep_fields():
    plan = plan_redaction(id_card(score=60), POLICY, W, H)
    assert set(actions(plan).values()) == {"pixelate"}
    assert any("low score" in r for r in plan.reasons)


def test_missing_field_quarantines():
    plan = plan_redaction(id_card(drop=("id_number",)), POLICY, W, H)
    assert plan.decision is Decision.QUARANTINED
    assert any("id_number was not located" in r for r in plan.reasons)


def test_unknown_field_is_masked_even_when_default_is_keep():
    keep_all = load_policy("version: 1\ndefaults: {action: keep}\nportrait: keep\n")
    odd = LocatedField.named("Mystery", 99, Polygon.rect(10, 10, 50, 30))
    plan = plan_redaction(id_card(extra=(odd,)), keep_all, W, H)
    unknown = next(a for a in plan.applied if a.located.canonical is None)
    assert unknown.action == "box"
    assert any("unknown field name" in r for r in plan.reasons)


def test_status_zero_no_fields_and_unknown_only_follow_on_no_card():
    odd = LocatedField.named("Mystery", 99, Polygon.rect(10, 10, 50, 30))
    for detection in (Detection(0), Detection(1), Detection(1, (odd,))):
        plan = plan_redaction(detection, POLICY, W, H)
        assert plan.decision is Decision.QUARANTINED and plan.reasons and not plan.ops
    box_all = load_policy("version: 1\non_no_card: box_all\n")
    plan = plan_redaction(Detection(0), box_all, W, H)
    assert plan.decision is Decision.REDACTED and plan.ops[0].region.box == (0, 0, W, H)
    fail = load_policy("version: 1\non_no_card: fail\n")
    assert plan_redaction(Detection(0), fail, W, H).decision is Decision.FAILED


def test_mixed_card_fields_are_quarantined():
    lic = LocatedField.named("证号", 99, Polygon.rect(10, 10, 50, 30))
    detection = Detection(1, id_card().fields + (lic,), None)
    assert plan_redaction(detection, POLICY, W, H).decision is Decision.QUARANTINED


def test_portrait_not_inferable_quarantines():
    few = Detection(1, id_card().fields[:2], CardType.ID_CARD)
    plan = plan_redaction(few, POLICY, W, H)
    assert plan.decision is Decision.QUARANTINED
    assert any("portrait" in r for r in plan.reasons)


def test_padding_never_reaches_into_a_kept_value():
    # a large photo 12 px from a kept value: 15% of its height as padding would cover the value
    photo = LocatedField.named("portrait", 95, Polygon.rect(600, 40, 900, 440), CardType.ID_CARD)
    kept = LocatedField.named("gender", 95, Polygon.rect(540, 100, 588, 140), CardType.ID_CARD)
    policy = load_policy("version: 1\nfields: {gender: keep}\nportrait: {action: box, padding: 0.15}\n")
    plan = plan_redaction(id_card(drop=("portrait", "gender"), extra=(photo, kept)), policy, W, H)
    region = next(
        op.region for op, a in zip(plan.ops, [a for a in plan.applied if a.action != "keep"]) if a.located.is_portrait
    )
    x0, _, _, _ = region.box
    assert x0 >= 588 and x0 <= 600  # padded, but stopped short of the kept value
    far = load_policy("version: 1\nfields: {gender: keep}\nportrait: {action: box, padding: 0.15}\n")
    alone = plan_redaction(id_card(drop=("portrait",), extra=(photo,)), far, W, H)
    free = next(
        op.region for op, a in zip(alone.ops, [a for a in alone.applied if a.action != "keep"]) if a.located.is_portrait
    )
    assert free.box[0] < x0  # with no kept value beside it the full padding applies
