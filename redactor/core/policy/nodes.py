"""YAML read as a node tree (every value knows its line): limits checked before composing,
problems collected with a hint, no anchors, aliases, merge keys or tags."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from redactor.errors import PolicyError, PolicyProblem

#: Policy text over this size is refused before parsing (pure-Python YAML is slow).
MAX_POLICY_BYTES = 1024 * 1024
#: Deeper nesting than any valid policy needs is refused before composing the node tree.
MAX_DEPTH = 16
#: YAML events (scalars, collection starts/ends) at most; pure-Python composing is slow.
MAX_EVENTS = 20_000
#: Problems reported at most; a garbage file should not produce a megabyte of errors.
MAX_PROBLEMS = 100


_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL, _MERGE = (_TAG + t for t in ("str", "int", "float", "bool", "null", "merge"))
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_UNQUOTED_COLOR = re.compile(r":\s+#[0-9a-fA-F]{3,6}\b")


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
