"""redactor: mask the sensitive fields of Chinese ID card and driving licence images.

>>> from redactor import Redactor
>>> result = Redactor(policy="default", engine="local").redact("card.jpg")
>>> result.raise_for_decision().data  # masked image bytes, in the input's format
"""

from redactor.api import NotRedactedError, RedactionResult, Redactor
from redactor.core.fields import CardType, CardTypeHint
from redactor.core.policy import Action, Policy, load_policy
from redactor.core.results import Decision, Detection, LocatedField, Polygon
from redactor.errors import (
    ImageError,
    ImageTooLargeError,
    LocatorError,
    PolicyError,
    RedactorError,
    ResponseParseError,
    StorageError,
    UnreadableImageError,
    UnsafeKeyError,
    UnsupportedImageError,
    UsageError,
)

__version__ = "0.1.0"

__all__ = [
    "Action",
    "CardType",
    "CardTypeHint",
    "Decision",
    "Detection",
    "ImageError",
    "ImageTooLargeError",
    "LocatedField",
    "LocatorError",
    "NotRedactedError",
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
