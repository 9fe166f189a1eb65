"""Errors as a hierarchy, so callers can catch as broadly or narrowly as they need.

Messages never carry DetectedText, secrets or image content: they name what went
wrong and where, never the personal data involved. The whole tree (the COS client's
branch lives in :mod:`redactor.cos.errors`, beside the XML it parses)::

    RedactorError                    catch this for "anything redactor refused or could not do"
    ├── PolicyError                  load_policy, Redactor(policy=...), --policy: every problem, file:line
    ├── ResponseParseError           an AILicenseRec response (service or sidecar) that does not parse
    ├── ImageError                   decode(): the image is not processed (the pipeline quarantines it)
    │   ├── UnreadableImageError     corrupt, truncated, a format not read
    │   ├── UnsupportedImageError    multi-frame, a pixel mode refused
    │   └── ImageTooLargeError       over the pixel or byte limit
    ├── LocatorError                 a locator gave no result (missing sidecar, service failure)
    │   └── LocatorUnavailableError  a transient failure (5xx, throttling, network) outlasted its
    │                                retries: the image is ``failed`` (retried next run), never quarantined
    ├── StorageError                 reading or writing an input or output
    │   ├── UnsafeKeyError           a key or path that would escape its folder or prefix
    │   ├── NotRegularFileError      a link, folder, FIFO, device or socket where a file was expected
    │   ├── FileTooLargeError        a file over its byte limit, by its size, before reading
    │   └── cos.errors.CosError      the COS client: requests, configuration, service answers
    │       ├── CosRequestError      (also ValueError) a request that cannot be sent; CosKeyError
    │       ├── CosConfigError       credentials, region, endpoint
    │       ├── CosServiceError      an error answer: CosNotFoundError (NoSuchKey, NoSuchBucket,
    │       │                        NoSuchUpload), CosAccessDeniedError (SignatureDoesNotMatch,
    │       │                        InvalidAccessKeyId), SlowDownError, FileAlreadyExistsError,
    │       │                        BadDigestError
    │       ├── CosIntegrityError    a body that does not match its checksum
    │       ├── CosNetworkError      the connection failed; CosTimeoutError
    │       └── CosRetryExhausted    a retryable failure that outlasted its retries
    ├── UsageError                   the caller asked for something that cannot work (DST inside SRC)
    ├── api.NotRedactedError         RedactionResult.raise_for_decision(): quarantined or failed
    └── scf.EventRetry               the SCF handler: some records failed for a reason a retry
                                     cures (raised after all were handled, so the platform retries)

The batch pipeline catches every error per image and reports it (``failed`` or
``quarantined`` with the reason); the CLI turns usage and environment errors into one line
and exit 2.
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


class LocatorUnavailableError(LocatorError):
    """The locator's service was unavailable for longer than its retries: nothing is known
    about the image, so it is neither redacted nor quarantined, but failed and retried."""


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
