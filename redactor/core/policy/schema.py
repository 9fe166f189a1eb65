"""The policy schema: what each key may hold, checked on the node tree, and
:func:`load_policy`, which raises every problem at once or returns a :class:`Policy`."""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode

from redactor.core.fields import (
    ALIASES,
    ALL_FIELDS,
    PORTRAIT,
    CardType,
    canonical_field,
    normalise_name,
)
from redactor.core.policy.model import (
    CARD_TYPE_KEYS,
    MAX_STRENGTH,
    RULE_KEYS,
    TOP_KEYS,
    Action,
    OnNoCard,
    Policy,
    _Partial,
)
from redactor.core.policy.nodes import (
    _COLOR,
    _FLOAT,
    _INT,
    _STR,
    MAX_POLICY_BYTES,
    _check_events,
    _did_you_mean,
    _is_null,
    _kind,
    _line,
    _mapping_items,
    _Problems,
    _show,
    _syntax_problem,
    _TooManyProblemsError,
)
from redactor.errors import PolicyError, PolicyProblem

_CONSTRUCTOR = SafeConstructor()


def _number(node: Node, where: str, p: _Problems) -> float | None:
    """A finite number from a scalar node (YAML 1.1 int/float syntax), else report it."""
    if isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
        try:
            value = float(
                _CONSTRUCTOR.construct_yaml_int(node) if node.tag == _INT else _CONSTRUCTOR.construct_yaml_float(node)
            )
        except (ValueError, OverflowError, ArithmeticError):
            value = math.nan
        if math.isfinite(value):
            return value
        p.at(node, f"{where} must be a finite number, got {_show(str(node.value))}")
        return None
    hint = ""
    if isinstance(node, ScalarNode) and node.tag == _STR:
        try:
            value = float(node.value)
        except ValueError:
            value = math.nan
        if node.style is None and math.isfinite(value):
            return value  # YAML 1.1 reads a plain 1e3 as text; it is plainly a number
        if math.isfinite(value):
            hint = "write the number without quotes"
    p.at(node, f"{where} must be a number, got {_kind(node)}", hint)
    return None


def _action(node: Node, where: str, p: _Problems, *, allow_keep: bool = True) -> Action | None:
    valid = [a.value for a in Action if allow_keep or a is not Action.KEEP]
    if not isinstance(node, ScalarNode) or node.tag != _STR:
        if _is_null(node):
            p.at(node, f"{where}: no action given", "expected one of: " + ", ".join(valid))
        else:
            p.at(node, f"{where} must be an action, got {_kind(node)}", "expected one of: " + ", ".join(valid))
        return None
    text = str(node.value).strip().lower()
    try:
        action = Action(text)
    except ValueError:
        p.at(node, f"{where}: unknown action {_show(str(node.value))}", _did_you_mean(text, valid))
        return None
    if action is Action.KEEP and not allow_keep:
        p.at(
            node,
            f"{where}: 'keep' is not allowed here",
            "keep would leave low-confidence fields readable; use box, blur or pixelate",
        )
        return None
    return action


def _color(node: Node, where: str, p: _Problems) -> tuple[int, int, int] | None:
    if _is_null(node):
        p.at(node, f"{where}: no colour given", 'quote it: color: "#000000" (an unquoted # starts a YAML comment)')
        return None
    text = str(node.value).strip() if isinstance(node, ScalarNode) and node.tag == _STR else None
    if text is None or not _COLOR.match(text):
        shown = _show(text) if text is not None else _kind(node)
        p.at(node, f"{where}: bad colour {shown}", 'use "#RGB" or "#RRGGBB" in quotes, e.g. "#000000"')
        return None
    digits = text[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def _rule(node: Node, origin: str, p: _Problems) -> _Partial:
    """One layer: an action string, or a mapping of any of :data:`RULE_KEYS`."""
    if isinstance(node, ScalarNode) and not _is_null(node):
        return _Partial(origin=origin, action=_action(node, origin, p))
    if not isinstance(node, MappingNode):
        p.at(
            node,
            f"{origin} must be an action or a mapping of rule keys, got {_kind(node)}",
            "e.g. `box` or `{action: blur, strength: 30}`",
        )
        return _Partial(origin=origin)
    values: dict[str, Any] = {}
    for key, key_node, value in _mapping_items(node, origin, p):
        where = f"{origin}.{key}"
        if key == "action":
            values["action"] = _action(value, where, p)
        elif key == "uncertain":
            values["uncertain"] = _action(value, where, p, allow_keep=False)
        elif key == "color":
            values["color"] = _color(value, where, p)
        elif key in _BOUNDS:
            values[key] = _bounded(value, where, p, *_BOUNDS[key])
        else:
            p.at(key_node, f"{origin}: unknown rule key {_show(key)}", _did_you_mean(key, RULE_KEYS))
    return _Partial(origin=origin, **values)


#: The numeric rule keys: (lowest, highest, whether the lowest itself is allowed, hint).
_BOUNDS: dict[str, tuple[float, float, bool, str]] = {
    "strength": (0.0, MAX_STRENGTH, False, "blur radius / block size in px at 1000 px"),
    "padding": (0.0, 2.0, True, "a fraction of the field height, e.g. 0.15"),
    "min_score": (0.0, 100.0, True, "AILicenseRec scores are 0-100, e.g. 80"),
}


def _bounded(node: Node, where: str, p: _Problems, low: float, high: float, low_ok: bool, hint: str) -> float | None:
    """A number within its bounds, else a problem (and None)."""
    number = _number(node, where, p)
    if number is None:
        return None
    if (low <= number if low_ok else low < number) and number <= high:
        return number
    if low_ok:
        p.at(node, f"{where} must be within {low:g}-{high:g}, got {number:g}", hint)
    else:
        p.at(node, f"{where} must be greater than {low:g} and at most {high:g}, got {number:g}", hint)
    return None


_FIELD_NAMES: dict[str, str] = {}
for _canonical in ALL_FIELDS:
    for _name in (_canonical, *ALIASES.get(_canonical, ())):
        _FIELD_NAMES.setdefault(normalise_name(_name), _name)


def _field_hint(name: str) -> str:
    close = difflib.get_close_matches(normalise_name(name), list(_FIELD_NAMES), n=3, cutoff=0.6)
    if close:
        names = [_FIELD_NAMES[c] for c in close]
        return "did you mean " + " or ".join(f"{n!r}" + _also(n) for n in names) + "?"
    return "known fields: " + ", ".join(ALL_FIELDS)


def _also(name: str) -> str:
    canonical = canonical_field(name)
    return f" ({canonical})" if canonical is not None and canonical != name else ""


def _fields(node: Node, prefix: str, p: _Problems) -> dict[str, tuple[_Partial, int]]:
    """A ``fields`` mapping: canonical id -> (layer, line of its key)."""
    out: dict[str, tuple[_Partial, int]] = {}
    items = _mapping_items(node, prefix, p, same=canonical_field, label=lambda key: f"field {canonical_field(key)!r}")
    for key, key_node, value in items:
        canonical = canonical_field(key)
        if canonical is None:
            p.at(key_node, f"{prefix}: unknown field {_show(key)}", _field_hint(key))
            continue
        out[canonical] = (_rule(value, f"{prefix}.{canonical}", p), _line(key_node))
    return out


def _card_type(key: str) -> CardType | None:
    try:
        return CardType.parse(key)
    except ValueError:
        return None


def _card_types(node: Node, p: _Problems) -> tuple[dict[CardType, _Partial], dict[CardType, Mapping[str, _Partial]]]:
    defaults: dict[CardType, _Partial] = {}
    by_card: dict[CardType, Mapping[str, _Partial]] = {}
    names = [c.value for c in CardType]
    items = _mapping_items(node, "card_types", p, same=_card_type, label=lambda key: f"card type {key!r}")
    for key, key_node, value in items:
        card_type = _card_type(key)
        if card_type is None:
            p.at(key_node, f"card_types: unknown card type {_show(key)}", _did_you_mean(key, names))
            continue
        prefix = f"card_types.{card_type.value}"
        for sub, sub_node, sub_value in _mapping_items(value, prefix, p):
            if sub == "fields":
                parsed = _fields(sub_value, f"{prefix}.fields", p)
                by_card[card_type] = MappingProxyType({k: v[0] for k, v in parsed.items()})
            elif sub == "defaults":
                if not _is_null(sub_value) and not isinstance(sub_value, MappingNode):
                    p.at(
                        sub_value, f"{prefix}.defaults must be a mapping, got {_kind(sub_value)}", "e.g. {action: box}"
                    )
                elif isinstance(sub_value, MappingNode):
                    defaults[card_type] = _rule(sub_value, f"{prefix}.defaults", p)
            else:
                hint = _did_you_mean(sub, CARD_TYPE_KEYS)
                if canonical_field(sub) is not None:
                    hint = f"put field rules under {prefix}.fields"
                p.at(sub_node, f"{prefix}: unknown key {_show(sub)}", hint)
    return defaults, by_card


def _top_level_hint(key: str) -> str:
    if canonical_field(key) is not None:
        return f"field rules go under `fields:` (e.g. fields: {{{canonical_field(key)}: box}})"
    if _card_type(key) is not None:
        return "per-card-type overrides go under `card_types:`"
    if key in RULE_KEYS:
        return f"rule keys go under `defaults:` (e.g. defaults: {{{key}: ...}})"
    return _did_you_mean(key, TOP_KEYS)


def load_policy(text: str | bytes, source: str = "<policy>") -> Policy:
    """Validate policy text and build a :class:`Policy`; raises only :class:`PolicyError`."""
    p = _Problems(source)
    try:
        return _load(text, source, p)
    except PolicyError:
        raise
    except _TooManyProblemsError:
        raise p.error() from None
    except Exception as exc:  # the contract is "only PolicyError": fail closed on a bug too
        p.items.append(PolicyProblem(source, None, f"internal error while reading the policy ({type(exc).__name__})"))
        raise p.error() from None


def _load(text: str | bytes, source: str, p: _Problems) -> Policy:
    if isinstance(text, str):
        raw = text.encode("utf-8", "surrogatepass")
    elif isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if len(raw) <= MAX_POLICY_BYTES:
                line = raw[: exc.start].count(b"\n") + 1
                p.add(line, "the policy is not valid UTF-8 text", "save the file as UTF-8")
                raise p.error() from None
            text = ""
    else:
        p.add(None, f"expected policy text, got {type(text).__name__}")
        raise p.error()
    if len(raw) > MAX_POLICY_BYTES:
        p.add(
            None, f"the policy is {len(raw)} bytes, over the {MAX_POLICY_BYTES} byte limit", "a policy is a short file"
        )
        raise p.error()
    sha256 = hashlib.sha256(raw).hexdigest()

    try:
        safe = _check_events(text, p)
        root = yaml.compose(text, Loader=yaml.SafeLoader) if safe else None
    except yaml.YAMLError as exc:
        _syntax_problem(exc, text, p)
        raise p.error() from None
    except RecursionError:
        p.add(None, "the policy is nested too deeply")
        raise p.error() from None
    if not safe:
        raise p.error()
    if root is None or _is_null(root):
        p.add(1, "the policy is empty", "start with `version: 1`")
        raise p.error()
    if not isinstance(root, MappingNode):
        p.at(root, f"the policy must be a mapping at the top level, got {_kind(root)}", "start with `version: 1`")
        raise p.error()

    version: int | None = None
    on_no_card = OnNoCard.QUARANTINE
    defaults = _Partial(origin="defaults")
    field_rules: dict[str, _Partial] = {}
    field_lines: dict[str, int] = {}
    portrait: tuple[_Partial, int] | None = None
    card_defaults: dict[CardType, _Partial] = {}
    card_fields: dict[CardType, Mapping[str, _Partial]] = {}
    seen_version = False

    for key, key_node, value in _mapping_items(root, "top level", p, allow_null=False):
        if key == "version":
            seen_version = True
            if isinstance(value, ScalarNode) and value.tag == _INT:
                try:
                    number = int(_CONSTRUCTOR.construct_yaml_int(value))
                except (ValueError, OverflowError):
                    number = None
                if number == 1:
                    version = 1
                else:
                    shown = str(number) if number is not None else _show(str(value.value))
                    p.at(value, f"unsupported policy version {shown}", "this redactor reads `version: 1`")
            else:
                p.at(value, f"version must be the number 1, got {_kind(value)}", "write `version: 1`")
        elif key == "defaults":
            if not _is_null(value) and not isinstance(value, MappingNode):
                p.at(value, f"defaults must be a mapping, got {_kind(value)}", "e.g. defaults: {action: box}")
            elif isinstance(value, MappingNode):
                defaults = _rule(value, "defaults", p)
        elif key == "fields":
            for canonical, (rule, line) in _fields(value, "fields", p).items():
                field_rules[canonical] = rule
                field_lines[canonical] = line
        elif key == "card_types":
            card_defaults, card_fields = _card_types(value, p)
        elif key == "portrait":
            portrait = (_rule(value, "portrait", p), _line(key_node))
        elif key == "on_no_card":
            choices = [o.value for o in OnNoCard]
            if isinstance(value, ScalarNode) and value.tag == _STR and value.value.strip().lower() in choices:
                on_no_card = OnNoCard(value.value.strip().lower())
            else:
                shown = _show(str(value.value)) if isinstance(value, ScalarNode) and value.tag == _STR else _kind(value)
                p.at(value, f"on_no_card: unknown value {shown}", "expected one of: " + ", ".join(choices))
        else:
            p.at(key_node, f"unknown top-level key {_show(key)}", _top_level_hint(key))

    if portrait is not None:
        if PORTRAIT in field_rules:
            p.add(
                portrait[1],
                "portrait set twice: as top-level `portrait` and under `fields`",
                f"keep one of them (fields entry on line {field_lines[PORTRAIT]})",
            )
        field_rules[PORTRAIT] = portrait[0]
    if not seen_version:
        p.add(1, "missing `version`", "add `version: 1` as the first line")

    if p.items or version is None:
        if not p.items:
            p.add(1, "missing `version`", "add `version: 1` as the first line")
        raise p.error()
    return Policy(
        version=version,
        on_no_card=on_no_card,
        source=source,
        sha256=sha256,
        _defaults=defaults,
        _fields=MappingProxyType(field_rules),
        _card_defaults=MappingProxyType(card_defaults),
        _card_fields=MappingProxyType(card_fields),
    )
