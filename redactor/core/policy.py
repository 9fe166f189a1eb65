"""The redaction policy: which action each located field gets, loaded from YAML text.

The loader is strict on purpose. A policy decides what personal data leaves the tool,
so a typo must never silently weaken it: every problem is collected (with its 1-based
line and a hint) and raised together as one :class:`PolicyError`, and no other
exception escapes :func:`load_policy`, whatever text or bytes it is given.

The values are built from ``yaml.compose`` node trees rather than ``safe_load`` so
each problem knows its line and duplicate keys (which YAML silently accepts) are
caught. Anchors, aliases, merge keys and tags are refused: a policy has no need for
them and they make "what does this file say" harder to answer.

Pure: this module never reads files (see :mod:`redactor.policy_files`).
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from redactor.core.fields import (
    ALIASES,
    ALL_FIELDS,
    FIELDS_BY_CARD,
    PORTRAIT,
    CardType,
    canonical_field,
    normalise_name,
)
from redactor.errors import PolicyError, PolicyProblem

#: Policy text over this size is refused before parsing (pure-Python YAML is slow).
MAX_POLICY_BYTES = 1024 * 1024
#: Deeper nesting than any valid policy needs is refused before composing the node tree.
MAX_DEPTH = 16
#: YAML events (scalars, collection starts/ends) at most; pure-Python composing is slow.
MAX_EVENTS = 20_000
#: Problems reported at most; a garbage file should not produce a megabyte of errors.
MAX_PROBLEMS = 100
#: The largest blur radius / pixelate block (px at 1000 px card width): beyond this a
#: mask is one flat colour anyway, and huge values only cost memory.
MAX_STRENGTH = 1000.0
#: Row label for fields the catalog does not know (they get the defaults: fail closed).
UNKNOWN_FIELD = "(unknown)"

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL, _MERGE = (_TAG + t for t in ("str", "int", "float", "bool", "null", "merge"))
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_UNQUOTED_COLOR = re.compile(r":\s+#[0-9a-fA-F]{3,6}\b")


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


# --------------------------------------------------------------------------- loading


class _TooManyProblemsError(Exception):
    """Internal: the problem cap was reached; stop and report what we have."""


class _Problems:
    """Collects problems for one source; stops collecting at :data:`MAX_PROBLEMS`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[PolicyProblem] = []

    def add(self, line: int | None, message: str, hint: str = "") -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.items.append(PolicyProblem(self.source, None, f"more than {MAX_PROBLEMS} problems; stopped here"))
            raise _TooManyProblemsError
        self.items.append(PolicyProblem(self.source, line, message, hint))

    def at(self, node: Node, message: str, hint: str = "") -> None:
        self.add(_line(node), message, hint)

    def error(self) -> PolicyError:
        """All problems in file order (problems without a line last)."""
        ordered = sorted(self.items, key=lambda q: (q.line is None, q.line or 0))
        return PolicyError(ordered)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _show(text: str, limit: int = 40) -> str:
    """Quote a value from the policy for a message, shortened so messages stay readable."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(text)


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(close) + "?"
    return "expected one of: " + ", ".join(choices)


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = node.tag
    if tag == _NULL:
        return "nothing (empty value)"
    if tag == _BOOL:
        return f"the boolean {node.value}"
    if tag in (_INT, _FLOAT):
        return f"the number {node.value}"
    return f"the text {_show(str(node.value))}"


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _mapping_items(
    node: Node,
    where: str,
    p: _Problems,
    *,
    same: Callable[[str], object] = lambda key: key,
    label: Callable[[str], str] = lambda key: f"key {key!r}",
    allow_null: bool = True,
) -> list[tuple[str, ScalarNode, Node]]:
    """Key/value pairs of a mapping node, reporting wrong types, odd keys and duplicates.

    ``same`` folds a key to what it means (e.g. canonical field id), so two spellings of
    one thing are caught as "set twice"; keys it maps to ``None`` are not compared.
    """
    if allow_null and _is_null(node):
        return []
    if not isinstance(node, MappingNode):
        p.at(node, f"{where} must be a mapping (key: value lines), got {_kind(node)}")
        return []
    items: list[tuple[str, ScalarNode, Node]] = []
    seen: dict[object, tuple[str, int]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            p.at(key_node, f"{where}: keys must be plain names, got {_kind(key_node)}")
            continue
        if key_node.tag == _MERGE:
            p.at(key_node, f"{where}: merge keys (<<) are not supported", "write the keys out in full")
            continue
        key = str(key_node.value)
        meaning = same(key)
        if meaning is not None:
            if meaning in seen:
                first_key, first_line = seen[meaning]
                spelled = f" ({key!r} here, {first_key!r} on line {first_line})" if first_key != key else ""
                p.at(
                    key_node,
                    f"{where}: {label(key)} set twice{spelled}",
                    f"first set on line {first_line}; YAML would silently keep only the last one — remove one",
                )
                continue
            seen[meaning] = (key, _line(key_node))
        items.append((key, key_node, value_node))
    return items


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
        elif key == "strength":
            number = _number(value, where, p)
            if number is not None and not 0 < number <= MAX_STRENGTH:
                p.at(
                    value,
                    f"{where} must be greater than 0 and at most {MAX_STRENGTH:g}, got {number:g}",
                    "blur radius / block size in px at 1000 px",
                )
                number = None
            values["strength"] = number
        elif key == "padding":
            number = _number(value, where, p)
            if number is not None and not 0 <= number <= 2:
                p.at(value, f"{where} must be within 0-2, got {number:g}", "a fraction of the field height, e.g. 0.15")
                number = None
            values["padding"] = number
        elif key == "min_score":
            number = _number(value, where, p)
            if number is not None and not 0 <= number <= 100:
                p.at(value, f"{where} must be within 0-100, got {number:g}", "AILicenseRec scores are 0-100, e.g. 80")
                number = None
            values["min_score"] = number
        else:
            p.at(key_node, f"{origin}: unknown rule key {_show(key)}", _did_you_mean(key, RULE_KEYS))
    return _Partial(origin=origin, **values)


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


def _check_events(text: str, p: _Problems) -> bool:
    """Walk the YAML events once: refuse anchors, aliases, tags and deep nesting.

    Returns False when composing the node tree would be unsafe (too deep or too big). Syntax errors
    propagate as ``yaml.YAMLError``.
    """
    depth = 0
    for count, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
        if count > MAX_EVENTS:
            p.add(None, f"the policy has more than {MAX_EVENTS} YAML nodes", "a policy is a short file")
            return False
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, AliasEvent):
            p.add(line, "YAML aliases (*name) are not supported", "write the value out in full")
        elif isinstance(event, NodeEvent):
            if event.anchor is not None:
                p.add(line, "YAML anchors (&name) are not supported", "write the value out in full")
            if getattr(event, "tag", None) is not None:
                p.add(line, "YAML tags (!tag, !!type) are not supported", "remove the tag")
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                p.add(line, f"nested more than {MAX_DEPTH} levels deep", "a policy is 4 levels deep")
                return False
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return True


def _syntax_problem(exc: yaml.YAMLError, text: str, p: _Problems) -> None:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: max(0, int(exc.position))].count("\n") + 1
        code = ord(exc.character) if isinstance(exc.character, str) else 0
        p.add(line, f"character U+{code:04X} is not allowed in a policy", "save the file as plain UTF-8 text")
        return
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    mark_line = int(mark.line) + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or "invalid YAML"
    hint = ""
    if "expected a single document" in str(getattr(exc, "context", "") or ""):
        problem, hint = "more than one YAML document", "a policy is a single document; remove the extra '---'"
    if not hint and mark_line is not None:
        nearby = text.splitlines()[max(0, mark_line - 2) : mark_line]
        if any(_UNQUOTED_COLOR.search(line) for line in nearby):
            hint = 'an unquoted # starts a comment: quote colours, e.g. color: "#000000"'
    p.add(mark_line, f"YAML syntax error: {problem}", hint or "check indentation, colons and quotes around this line")


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


# --------------------------------------------------------------------------- reporting

#: A minimal safe default (same rules as ``policies/default.yaml``), for callers that
#: cannot read files. The CLI uses the commented file through ``load_bundled_policy``.
_DEFAULT_POLICY_TEXT = """\
# redactor default policy (embedded copy of policies/default.yaml, without comments)
version: 1
defaults:
  action: box
  color: "#000000"
  strength: 24
  min_score: 80
  uncertain: box
  padding: 0.15
fields:
  name: box
  birth: box
  address: box
  id_number: box
  license_number: box
  first_issue_date: box
  valid_period: box
  issuing_authority: box
  gender: keep
  ethnicity: keep
  nationality: keep
  vehicle_class: keep
portrait: {action: box, padding: 0.05}
on_no_card: quarantine
"""


def default_policy_text() -> str:
    """The embedded default policy text (pure: no file read)."""
    return _DEFAULT_POLICY_TEXT


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


__all__ = [
    "MAX_POLICY_BYTES",
    "UNKNOWN_FIELD",
    "Action",
    "OnNoCard",
    "Policy",
    "Rule",
    "default_policy_text",
    "format_effective_rules",
    "load_policy",
    "policy_warnings",
]
