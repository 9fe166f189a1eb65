"""redactor: mask the sensitive fields of Chinese ID card and driving licence images.

>>> from redactor import Redactor
>>> result = Redactor(policy="default", engine="local").redact("card.jpg")
>>> result.raise_for_decision().data  # masked image bytes, in the input's format
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redactor.core.fields import CardType, CardTypeHint
from redactor.core.policy import Action, Policy, load_policy
from redactor.core.results import Decision, Detection, LocatedField, Polygon
from redactor.errors import (
    FileTooLargeError,
    ImageError,
    ImageTooLargeError,
    LocatorError,
    NotRegularFileError,
    PolicyError,
    RedactorError,
    ResponseParseError,
    StorageError,
    UnreadableImageError,
    UnsafeKeyError,
    UnsupportedImageError,
    UsageError,
)

if TYPE_CHECKING:
    from redactor.api import NotRedactedError, RedactionResult, Redactor

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """The library's entry points load the pipeline (numpy, Pillow, the models' wrappers) on
    first use, so that ``redactor --help`` and light imports stay quick."""
    if name in ("NotRedactedError", "RedactionResult", "Redactor"):
        from redactor import api

        return getattr(api, name)
    raise AttributeError(f"module 'redactor' has no attribute {name!r}")


__all__ = [
    "Action",
    "CardType",
    "CardTypeHint",
    "Decision",
    "Detection",
    "FileTooLargeError",
    "ImageError",
    "ImageTooLargeError",
    "LocatedField",
    "LocatorError",
    "NotRedactedError",
    "NotRegularFileError",
    "Policy",
    "PolicyError",
    "Polygon",
    "RedactionResult",
    "Redactor",
    "RedactorError",
    "ResponseParseError",
    "StorageError",
    "UnreadableImageError",
    "UnsafeKeyError",
    "UnsupportedImageError",
    "UsageError",
    "__version__",
    "load_policy",
]
