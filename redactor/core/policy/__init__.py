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

from redactor.core.policy.advice import (
    format_effective_rules,
    policy_warnings,
)
from redactor.core.policy.model import (
    BUILT_IN,
    CARD_TYPE_KEYS,
    MAX_STRENGTH,
    RULE_KEYS,
    TOP_KEYS,
    UNKNOWN_FIELD,
    Action,
    OnNoCard,
    Policy,
    Rule,
)
from redactor.core.policy.nodes import (
    MAX_DEPTH,
    MAX_EVENTS,
    MAX_POLICY_BYTES,
    MAX_PROBLEMS,
)
from redactor.core.policy.schema import (
    load_policy,
)

__all__ = [
    "BUILT_IN",
    "CARD_TYPE_KEYS",
    "MAX_DEPTH",
    "MAX_EVENTS",
    "MAX_POLICY_BYTES",
    "MAX_PROBLEMS",
    "MAX_STRENGTH",
    "RULE_KEYS",
    "TOP_KEYS",
    "UNKNOWN_FIELD",
    "Action",
    "OnNoCard",
    "Policy",
    "Rule",
    "format_effective_rules",
    "load_policy",
    "policy_warnings",
]
