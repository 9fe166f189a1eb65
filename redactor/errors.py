"""Errors as a hierarchy, so callers can catch as broadly or narrowly as they need.

Messages never carry DetectedText, secrets or image content: they name what went
wrong and where, never the personal data involved.
"""

from __future__ import annotations


class RedactorError(Exception):
    """Base of every error this package raises on purpose."""


class PolicyError(RedactorError):
    """A policy file is invalid. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid policy ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}")


class PolicyProblem:
    """One policy problem with its location (file:line) and a hint to fix it."""

    def __init__(self, source: str, line: int | None, message: str, hint: str = "") -> None:
        self.source = source
        self.line = line
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")

    def __repr__(self) -> str:
        return f"PolicyProblem({str(self)!r})"


class ResponseParseError(RedactorError):
    """An AILicenseRec response could not be parsed (malformed XML, bad points, unsafe entities)."""


class ImageError(RedactorError):
    """The image cannot be processed safely."""


class UnreadableImageError(ImageError):
    """Corrupt, truncated or of a format we do not read."""


class UnsupportedImageError(ImageError):
    """Readable, but of a kind we refuse (multi-frame, unsupported mode)."""


class ImageTooLargeError(ImageError):
    """Over the pixel or byte limit (decompression-bomb guard)."""


class LocatorError(RedactorError):
    """A locator could not produce a result (missing sidecar, service error)."""


class StorageError(RedactorError):
    """Reading or writing an input or output failed."""


class UnsafeKeyError(StorageError):
    """An object key or relative path would escape its folder or prefix."""


class NotRegularFileError(StorageError):
    """A link, folder, FIFO, device or socket where a file was expected: never opened or followed."""


class FileTooLargeError(StorageError):
    """A file over its byte limit, found by its size before any of it was read."""


class UsageError(RedactorError):
    """The caller asked for something that cannot work (DST inside SRC, bad option)."""
