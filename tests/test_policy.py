"""Policy loading: shipped policies, resolution order, every problem kind, and fuzzing.

The loader's contract is that any input either gives a Policy or raises PolicyError
listing every problem with its line; the hypothesis tests hold it to "nothing else".
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from redactor.core.fields import ALIASES, ALL_FIELDS, FIELDS_BY_CARD, CardType
from redactor.core.policy import (
    MAX_POLICY_BYTES,
    RULE_KEYS,
    TOP_KEYS,
    UNKNOWN_FIELD,
    Action,
    OnNoCard,
    Policy,
    Rule,
    format_effective_rules,
    load_policy,
    policy_warnings,
)
from redactor.errors import PolicyError, PolicyProblem
from redactor.policy_files import (
    bundled_policy_names,
    bundled_policy_path,
    load_bundled_policy,
    load_policy_file,
)

ID, DL = CardType.ID_CARD, CardType.DRIVER_LICENSE
REPO_POLICIES = Path(__file__).resolve().parent.parent / "policies"


def load(text: str, source: str = "file.yaml") -> Policy:
    return load_policy(textwrap.dedent(text), source)


def problems(text: str | bytes, source: str = "file.yaml") -> list[PolicyProblem]:
    if isinstance(text, str):
        text = textwrap.dedent(text)
    with pytest.raises(PolicyError) as info:
        load_policy(text, source)
    assert info.value.problems, "PolicyError without problems"
    return info.value.problems


def actions(policy: Policy, card_type: CardType) -> dict[str, Action]:
    return {f: r.action for ct, f, r in policy.effective_rules() if ct == card_type.value}


# --------------------------------------------------------------------------- shipped policies


@pytest.mark.parametrize("name", ["default", "strict", "minimal"])
def test_shipped_policy_loads_without_warnings(name: str) -> None:
    policy = load_bundled_policy(name)
    assert policy.version == 1
    assert policy.on_no_card is OnNoCard.QUARANTINE
    assert policy_warnings(policy) == []
    assert load_policy_file(REPO_POLICIES / f"{name}.yaml").effective_rules() == policy.effective_rules()
    for _, _, rule in policy.effective_rules():
        assert rule.uncertain is not Action.KEEP


def test_bundled_names_and_paths() -> None:
    assert {"default", "strict", "minimal"} <= set(bundled_policy_names())
    assert bundled_policy_path("strict").name == "strict.yaml"


def test_default_policy_intent() -> None:
    policy = load_bundled_policy("default")
    kept = {"gender", "ethnicity", "nationality", "vehicle_class"}
    for card_type in CardType:
        for field_id, action in actions(policy, card_type).items():
            assert action is (Action.KEEP if field_id in kept else Action.BOX), (card_type, field_id)
    rule = policy.rule_for(ID, "id_number")
    assert (rule.min_score, rule.uncertain, rule.padding, rule.color) == (80, Action.BOX, 0.15, (0, 0, 0))
    assert policy.rule_for(ID, None).action is Action.BOX
    assert policy.rule_for(None, "totally unknown label").action is Action.BOX
    assert policy.rule_for(DL, "portrait").action is not Action.KEEP


def test_strict_policy_intent() -> None:
    policy = load_bundled_policy("strict")
    for _, _, rule in policy.effective_rules():
        assert rule.action is Action.BOX
        assert (rule.min_score, rule.padding) == (90, 0.25)


def test_minimal_policy_intent_and_fails_closed() -> None:
    policy = load_bundled_policy("minimal")
    masked = {"id_number", "license_number", "address", UNKNOWN_FIELD}
    for card_type in CardType:
        # the ID card back shows nothing but 签发机关 and 有效期限: both masked there
        wanted = masked | ({"issuing_authority", "valid_period"} if card_type is CardType.ID_CARD_BACK else set())
        for field_id, action in actions(policy, card_type).items():
            assert action is (Action.BOX if field_id in wanted else Action.KEEP), (card_type, field_id)
    assert policy.rule_for(None, None).action is Action.BOX


# --------------------------------------------------------------------------- semantics


def test_builtin_defaults_for_a_bare_policy() -> None:
    policy = load("version: 1\n")
    rule = policy.rule_for(ID, "name")
    assert rule == Rule(Action.BOX, (0, 0, 0), 24.0, 80.0, Action.BOX, 0.15, "built-in")
    assert policy.on_no_card is OnNoCard.QUARANTINE


def test_sha256_is_of_the_exact_bytes() -> None:
    text = "version: 1  # 政策\n"
    assert load_policy(text).sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert load_policy(text.encode()).sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert load_policy(text, "a.yaml").source == "a.yaml"


POLICY = """\
version: 1
defaults: {action: blur, strength: 10, min_score: 70}
fields:
  name: {strength: 30}
  address: pixelate
  gender: keep
card_types:
  DriverLicense:
    defaults: {action: box, padding: 0.5}
    fields:
      name: {action: keep, min_score: 95}
portrait: {action: pixelate, strength: 40}
on_no_card: box_all
"""


def test_resolution_order() -> None:
    policy = load(POLICY)
    # card-type field beats field beats card-type defaults beats defaults, key by key
    dl_name = policy.rule_for(DL, "name")
    assert (dl_name.action, dl_name.min_score, dl_name.strength, dl_name.padding) == (Action.KEEP, 95, 30, 0.5)
    assert dl_name.origin == "card_types.DriverLicense.fields.name"
    id_name = policy.rule_for(ID, "name")
    assert (id_name.action, id_name.strength, id_name.min_score, id_name.origin) == (Action.BLUR, 30, 70, "defaults")
    dl_address = policy.rule_for(DL, "address")
    assert (dl_address.action, dl_address.origin, dl_address.padding) == (Action.PIXELATE, "fields.address", 0.5)
    dl_birth = policy.rule_for(DL, "birth")
    assert (dl_birth.action, dl_birth.origin) == (Action.BOX, "card_types.DriverLicense.defaults")
    assert policy.rule_for(ID, "birth").action is Action.BLUR
    assert policy.rule_for(DL, None).origin == "card_types.DriverLicense.defaults"
    assert policy.rule_for(ID, None).action is Action.BLUR
    portrait = policy.rule_for(DL, "portrait")
    assert (portrait.action, portrait.strength, portrait.origin, portrait.padding) == (
        Action.PIXELATE,
        40,
        "portrait",
        0.5,
    )
    assert policy.on_no_card is OnNoCard.BOX_ALL


def test_unknown_card_type_uses_top_level_only() -> None:
    policy = load(POLICY)
    assert policy.rule_for(None, "name").action is Action.BLUR
    assert policy.rule_for(None, "birth").padding == 0.15
    assert policy.rule_for(None, None).origin == "defaults"


def test_portrait_defaults_to_defaults() -> None:
    policy = load("version: 1\ndefaults: {action: pixelate}\n")
    assert policy.rule_for(ID, "portrait").action is Action.PIXELATE
    assert load("version: 1\n").rule_for(ID, "portrait").action is Action.BOX


def test_portrait_under_fields() -> None:
    policy = load("version: 1\nfields:\n  照片: blur\n")
    assert policy.rule_for(ID, "portrait").action is Action.BLUR
    assert policy.rule_for(ID, "portrait").origin == "fields.portrait"


@pytest.mark.parametrize("alias", ["公民身份号码", "Identification Number (ID Number)", "ID Number", "idnum"])
def test_id_number_aliases(alias: str) -> None:
    policy = load(f'version: 1\nfields:\n  "{alias}": keep\n')
    assert policy.rule_for(ID, "id_number").action is Action.KEEP
    assert policy.rule_for(ID, "id_number").origin == "fields.id_number"
    assert policy.rule_for(ID, alias).action is Action.KEEP  # rule_for accepts aliases too


def test_full_width_alias_and_card_type_spelling() -> None:
    full_width_name = "\uff4e\uff41\uff4d\uff45"
    policy = load(
        f"version: 1\nfields:\n  {full_width_name}: keep\n"
        "card_types:\n  driver_license:\n    fields: {证号: pixelate}\n"
    )
    assert policy.rule_for(ID, "name").action is Action.KEEP
    assert policy.rule_for(DL, "license_number").action is Action.PIXELATE
    assert policy.rule_for(DL, "license_number").origin == "card_types.DriverLicense.fields.license_number"


def test_colours_and_case() -> None:
    policy = load('version: 1\ndefaults: {color: "#fFf", action: BOX}\nfields: {name: {color: "#12aB9c"}}\n')
    assert policy.rule_for(ID, "gender").color == (255, 255, 255)
    assert policy.rule_for(ID, "name").color == (0x12, 0xAB, 0x9C)
    assert policy.rule_for(ID, "gender").action is Action.BOX


def test_numbers_accept_ints_floats_and_plain_exponents() -> None:
    policy = load("version: 1\ndefaults: {strength: 1e2, padding: 0, min_score: 99.5}\n")
    rule = policy.rule_for(ID, None)
    assert (rule.strength, rule.padding, rule.min_score) == (100.0, 0.0, 99.5)


def test_empty_sections_are_allowed() -> None:
    policy = load("version: 1\ndefaults:\nfields:\ncard_types:\n  IDCard:\n")
    assert policy.rule_for(ID, "name").origin == "built-in"


# --------------------------------------------------------------------------- problems

PROBLEM_CASES: list[tuple[str, str, int, str]] = [
    ("syntax", "version: 1\nfields:\n  name: box\n   gender: keep\n", 4, "YAML syntax error"),
    ("unclosed", "version: 1\nfields: {name: box\n", 3, "YAML syntax error"),
    ("not a mapping", "- version\n- 1\n", 1, "must be a mapping"),
    ("scalar document", "just text\n", 1, "must be a mapping"),
    ("empty", "\n# nothing here\n", 1, "empty"),
    ("unknown top key", "version: 1\ndefualts: {}\n", 2, "unknown top-level key"),
    ("missing version", "defaults: {action: box}\n", 1, "missing `version`"),
    ("version 2", "\nversion: 2\n", 2, "unsupported policy version"),
    ("version text", "version: one\n", 1, "version must be the number 1"),
    ("unknown action", "version: 1\nfields:\n  name: redact\n", 3, "unknown action"),
    ("unknown default action", "version: 1\ndefaults:\n  action: erase\n", 3, "unknown action"),
    ("unknown field", "version: 1\nfields:\n  nmae: box\n", 3, "unknown field"),
    ("uncertain keep", "version: 1\ndefaults:\n  uncertain: keep\n", 3, "'keep' is not allowed"),
    ("field uncertain keep", "version: 1\nfields:\n  name: {uncertain: keep}\n", 3, "'keep' is not allowed"),
    ("bad colour", 'version: 1\ndefaults:\n  color: "black"\n', 3, "bad colour"),
    ("colour comment", "version: 1\ndefaults:\n  color: #000000\n", 3, "no colour given"),
    ("bad colour length", 'version: 1\ndefaults:\n  color: "#12345"\n', 3, "bad colour"),
    ("negative padding", "version: 1\ndefaults:\n  padding: -0.1\n", 3, "within 0-2"),
    ("huge padding", "version: 1\nfields:\n  name:\n    padding: 3\n", 4, "within 0-2"),
    ("zero strength", "version: 1\ndefaults:\n  strength: 0\n", 3, "greater than 0"),
    ("negative strength", "version: 1\ndefaults:\n  strength: -5\n", 3, "greater than 0"),
    ("nan strength", "version: 1\ndefaults:\n  strength: .nan\n", 3, "finite number"),
    ("min_score range", "version: 1\ndefaults:\n  min_score: 101\n", 3, "within 0-100"),
    ("min_score negative", "version: 1\ndefaults:\n  min_score: -1\n", 3, "within 0-100"),
    ("min_score text", "version: 1\ndefaults:\n  min_score: high\n", 3, "must be a number"),
    ("min_score quoted", 'version: 1\ndefaults:\n  min_score: "80"\n', 3, "must be a number"),
    ("min_score bool", "version: 1\ndefaults:\n  min_score: yes\n", 3, "must be a number"),
    ("unknown rule key", "version: 1\ndefaults:\n  colour: '#000'\n", 3, "unknown rule key"),
    ("list for mapping", "version: 1\nfields:\n  - name\n", 3, "must be a mapping"),
    ("list for rule", "version: 1\nfields:\n  name: [box]\n", 3, "must be an action or a mapping"),
    ("defaults scalar", "version: 1\ndefaults: box\n", 2, "defaults must be a mapping"),
    ("duplicate top key", "version: 1\nportrait: box\nportrait: keep\n", 3, "set twice"),
    ("duplicate field", "version: 1\nfields:\n  name: box\n  name: keep\n", 4, "set twice"),
    ("duplicate via alias", "version: 1\nfields:\n  name: box\n  姓名: keep\n", 4, "set twice"),
    ("duplicate rule key", "version: 1\ndefaults:\n  action: box\n  action: keep\n", 4, "set twice"),
    ("duplicate card type", "version: 1\ncard_types:\n  IDCard: {}\n  id_card: {}\n", 4, "set twice"),
    ("unknown card type", "version: 1\ncard_types:\n  Passport: {}\n", 3, "unknown card type"),
    ("unknown card key", "version: 1\ncard_types:\n  IDCard:\n    rules: {}\n", 4, "unknown key"),
    ("bad on_no_card", "version: 1\non_no_card: delete\n", 2, "on_no_card: unknown value"),
    ("portrait twice", "version: 1\nfields:\n  portrait: box\nportrait: blur\n", 4, "portrait set twice"),
    ("portrait twice alias", "version: 1\nportrait: blur\nfields:\n  Photo: box\n", 2, "portrait set twice"),
    ("anchor", "version: 1\ndefaults: &d\n  action: box\n", 2, "anchors"),
    ("alias", "version: 1\nfields:\n  name: box\n  gender: *x\n", 4, "YAML syntax error"),
    ("tag", "version: 1\nfields:\n  name: !!str box\n", 3, "tags"),
    ("custom tag", "version: 1\nfields:\n  name: !python/object box\n", 3, "tags"),
    ("merge key", "version: 1\nfields:\n  <<: {name: box}\n", 3, "merge keys"),
    ("two documents", "version: 1\n---\nversion: 1\n", 2, "more than one YAML document"),
    ("control char", "version: 1\nfields:\n  name: b\x07ox\n", 3, "not allowed"),
    ("complex key", "version: 1\nfields:\n  ? [a, b]\n  : box\n", 3, "plain names"),
]


@pytest.mark.parametrize(("case", "text", "line", "needle"), PROBLEM_CASES, ids=[c[0] for c in PROBLEM_CASES])
def test_problem_reported_with_line(case: str, text: str, line: int, needle: str) -> None:
    found = problems(text)
    matching = [p for p in found if needle in p.message]
    assert matching, f"{case}: {needle!r} not in {[str(p) for p in found]}"
    assert matching[0].line == line, str(matching[0])
    assert matching[0].hint or "set twice" not in needle
    assert all(p.source == "file.yaml" for p in found)


def test_alias_to_anchor_is_refused() -> None:
    found = problems("version: 1\ndefaults: &d {action: box}\nfields:\n  name: *d\n")
    assert [(p.line, "anchor" in p.message) for p in found] == [(2, True), (4, False)]
    assert "aliases" in found[1].message


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("version: 1\ndefualts: {}\n", "did you mean defaults"),
        ("version: 1\nname: box\n", "under `fields:`"),
        ("version: 1\nfields:\n  name: blurr\n", "blur"),
        ("version: 1\nfields:\n  name: redact\n", "box, blur, pixelate, keep"),
        ("version: 1\nfields:\n  id_numbr: box\n", "id_number"),
        ("version: 1\nfields:\n  zzzzzz: box\n", "known fields: name"),
        ("version: 1\ndefaults: {uncertain: keep}\n", "low-confidence fields readable"),
        ("version: 1\ndefaults: {color: #000}\n", "quote colours"),
        ("version: 1\ndefaults:\n  color: #000\n", "quote it"),
        ("version: 1\ncard_types:\n  IDCrad: {}\n", "IDCard"),
        ("version: 1\ndefaults: {min_score: '80'}\n", "without quotes"),
    ],
)
def test_hints(text: str, hint: str) -> None:
    assert any(hint in p.hint for p in problems(text)), [str(p) for p in problems(text)]


def test_three_independent_mistakes_reported_at_once() -> None:
    text = """\
    version: 1
    defaults:
      action: box
      uncertain: keep
    fields:
      name: bloor
      gender: keep
    on_no_card: maybe
    """
    found = problems(text)
    assert [p.line for p in found] == [4, 6, 8]
    message = str(PolicyError(found))
    assert "3 problems" in message
    for line in (4, 6, 8):
        assert f"file.yaml:{line}:" in message


def test_many_mistakes_across_sections() -> None:
    text = """\
    version: 3
    defaults: {padding: 5, strength: -1, color: "#GGG", min_score: 200}
    fields:
      name: [box]
      sex: box
      gender: keep
      whatever: box
    card_types:
      Passport: {}
      DriverLicense:
        fields: {license_number: {action: box, extra: 1}}
        defaults: {uncertain: keep}
    portrait: keep
    fields: {}
    colour: red
    """
    found = problems(text)
    assert len(found) >= 13
    assert [p.line for p in found] == sorted(p.line or 0 for p in found)


def test_str_of_policy_error_carries_file_and_line() -> None:
    with pytest.raises(PolicyError) as info:
        load_policy("version: 1\nfields:\n  nmae: box\n", "policies/file.yaml")
    assert "policies/file.yaml:3: fields: unknown field 'nmae'" in str(info.value)


def test_non_utf8_bytes() -> None:
    found = problems(b"version: 1\nfields:\n  name: b\xffx\n")
    assert (found[0].line, "UTF-8" in found[0].message) == (3, True)


def test_size_cap() -> None:
    text = "version: 1\n" + "#" * MAX_POLICY_BYTES
    assert "byte limit" in problems(text)[0].message
    assert "byte limit" in problems(text.encode())[0].message
    assert "byte limit" in problems(b"\xff" * (MAX_POLICY_BYTES + 1))[0].message


@pytest.mark.parametrize(
    "text", ["[" * 100_000, "a:\n" + "".join(" " * i + "a:\n" for i in range(1, 3000)), "{a: " * 5000]
)
def test_deep_nesting_is_refused_cleanly(text: str) -> None:
    found = problems(text)
    assert len(found) == 1


def test_problem_cap() -> None:
    text = "version: 1\nfields:\n" + "".join(f"  unknown{i}: box\n" for i in range(500))
    found = problems(text)
    assert len(found) <= 102
    assert "stopped here" in found[-1].message


def test_load_policy_rejects_non_text() -> None:
    assert problems(123)[0].line is None  # type: ignore[arg-type]


# --------------------------------------------------------------------------- reporting


def test_format_effective_rules_lists_everything() -> None:
    policy = load(POLICY, "x.yaml")
    table = format_effective_rules(policy)
    rows = [line.split() for line in table.splitlines()]
    for card_type in CardType:
        listed = {row[1] for row in rows if row and row[0] == card_type.value}
        assert listed == {*FIELDS_BY_CARD[card_type], UNKNOWN_FIELD}
    assert len(policy.effective_rules()) == sum(len(f) + 1 for f in FIELDS_BY_CARD.values())
    assert "on_no_card: box_all" in table
    assert f"sha256: {policy.sha256}" in table
    header = rows[0]
    assert header[:2] == ["card", "type"]
    assert "card_types.DriverLicense.fields.name" in table
    # colour only where a box can be drawn: blur with uncertain box shows it, so check a blur+blur rule
    blur_only = load("version: 1\ndefaults: {action: blur, uncertain: blur, color: '#FF0000'}\n")
    assert "#FF0000" not in format_effective_rules(blur_only)
    assert "#FF0000" in format_effective_rules(load("version: 1\ndefaults: {color: '#f00'}\n"))


def test_warnings() -> None:
    policy = load("version: 1\nfields:\n  id_number: blur\n  license_number: {action: pixelate}\n")
    warnings = policy_warnings(policy)
    assert any("id_number" in w and "Hill" in w for w in warnings)
    assert any("license_number" in w and "pixelate" in w for w in warnings)
    assert any("min_score 40" in w for w in policy_warnings(load("version: 1\ndefaults: {min_score: 40}\n")))
    assert any("not fail-closed" in w for w in policy_warnings(load("version: 1\ndefaults: {action: keep}\n")))
    misplaced = load("version: 1\ncard_types:\n  IDCard:\n    fields: {license_number: box}\n")
    assert any("never applies" in w for w in policy_warnings(misplaced))
    assert policy_warnings(load("version: 1\n")) == []


# --------------------------------------------------------------------------- files


def test_load_policy_file_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError) as info:
        load_policy_file(missing)
    assert str(missing) in str(info.value)
    with pytest.raises(PolicyError):
        load_policy_file(tmp_path)  # a directory
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nfields:\n  nmae: box\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_file(bad)
    assert f"{bad}:3:" in str(info.value)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_POLICY_BYTES + 10))
    with pytest.raises(PolicyError, match="byte limit"):
        load_policy_file(big)


@pytest.mark.parametrize("name", ["nope", "../policies/default", "/etc/passwd", "", "Default"])
def test_unknown_bundled_policy(name: str) -> None:
    with pytest.raises(PolicyError, match="no such bundled policy"):
        load_bundled_policy(name)


# --------------------------------------------------------------------------- fuzzing


def _assert_loads_or_policy_error(data: str | bytes) -> None:
    try:
        policy = load_policy(data, "fuzz.yaml")
    except PolicyError as exc:
        found = exc.problems
    else:
        found = []
    if found:
        for problem in found:
            assert "internal error" not in problem.message, problem
            assert problem.line is None or problem.line >= 1
        return
    for _, _, rule in policy.effective_rules():
        assert rule.uncertain is not Action.KEEP
    format_effective_rules(policy)
    policy_warnings(policy)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_text(text: str) -> None:
    _assert_loads_or_policy_error(text)


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_fuzz_bytes(data: bytes) -> None:
    _assert_loads_or_policy_error(data)


_NAMES = st.sampled_from(
    [*TOP_KEYS, *RULE_KEYS, *ALL_FIELDS, *ALIASES["id_number"], "IDCard", "DriverLicense", "<<", "x", "姓名"]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([a.value for a in Action] + [o.value for o in OnNoCard] + ["#000", "#12ab9C", "1", "1e3"]),
    st.text(max_size=20),
)
_YAMLISH = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(_NAMES, st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_YAMLISH)
def test_fuzz_yamlish_structures(value: Any) -> None:
    _assert_loads_or_policy_error(yaml.safe_dump(value, allow_unicode=True))


_RULE = st.one_of(
    st.sampled_from([a.value for a in Action] + ["bogus"]),
    st.dictionaries(st.sampled_from([*RULE_KEYS, "colour"]), _SCALARS, max_size=4),
)
_FIELDS = st.dictionaries(st.one_of(_NAMES, st.sampled_from(ALL_FIELDS)), _RULE, max_size=6)
_NEAR_VALID = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1, 1, 2, "1"])},
    optional={
        "defaults": st.dictionaries(st.sampled_from(RULE_KEYS), _SCALARS, max_size=4),
        "fields": _FIELDS,
        "card_types": st.dictionaries(
            st.sampled_from(["IDCard", "DriverLicense", "driver_license", "Passport"]),
            st.fixed_dictionaries(
                {}, optional={"fields": _FIELDS, "defaults": st.dictionaries(st.sampled_from(RULE_KEYS), _SCALARS)}
            ),
            max_size=2,
        ),
        "portrait": _RULE,
        "on_no_card": st.sampled_from([o.value for o in OnNoCard] + ["nope"]),
    },
)


@settings(max_examples=300, deadline=None)
@given(_NEAR_VALID)
def test_fuzz_near_valid_policies(value: dict[str, Any]) -> None:
    _assert_loads_or_policy_error(yaml.safe_dump(value, allow_unicode=True, sort_keys=False))


@pytest.mark.parametrize("name", ["default", "strict", "minimal"])
def test_every_bundled_policy_masks_the_id_card_back(name):
    from redactor.core.fields import ID_CARD_BACK_FIELDS, CardType
    from redactor.policy_files import load_bundled_policy

    policy = load_bundled_policy(name)
    for field_id in ID_CARD_BACK_FIELDS:
        assert policy.rule_for(CardType.ID_CARD_BACK, field_id).action.value != "keep", (name, field_id)


def test_card_types_accept_the_id_card_back():
    policy = load_policy("version: 1\ncard_types:\n  IDCardBack:\n    fields: {valid_period: blur}\n", "p.yaml")
    from redactor.core.fields import CardType

    assert policy.rule_for(CardType.ID_CARD_BACK, "valid_period").action.value == "blur"
    assert policy.rule_for(CardType.DRIVER_LICENSE, "valid_period").action.value == "box"
