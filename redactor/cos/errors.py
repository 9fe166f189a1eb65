"""COS errors as a typed hierarchy, so callers (and the retry loop) can decide by type.

Messages carry only the method, key, status, code, server message and request id: never
an Authorization value, secret key or session token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from redactor.errors import StorageError, UnsafeKeyError


class CosError(StorageError):
    """Base of every COS client error."""


class CosRequestError(CosError, ValueError):
    """The caller asked for a request we refuse to send (bad bucket, key, metadata)."""


class CosKeyError(CosRequestError, UnsafeKeyError):
    """An object key that is empty or would address the bucket itself (``GET /`` lists it)."""


class CosConfigError(CosError):
    """Credentials, region or endpoint missing or invalid."""


class CosServiceError(CosError):
    """COS answered with an error status (or an ``<Error>`` inside a 200)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str = "",
        request_id: str = "",
        trace_id: str = "",
        resource: str = "",
        method: str = "",
        key: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.trace_id = trace_id
        self.resource = resource
        self.method = method
        self.key = key
        where = f"{method} {key!r}: " if method else ""
        text = f"{where}HTTP {status} {code}"
        if message:
            text += f": {message}"
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text)


class CosNotFoundError(CosServiceError):
    """404: the bucket, key or upload does not exist."""


class NoSuchKeyError(CosNotFoundError):
    pass


class NoSuchBucketError(CosNotFoundError):
    pass


class NoSuchUploadError(CosNotFoundError):
    pass


class CosAccessDeniedError(CosServiceError):
    """403: permissions, signature or credentials; retrying will not help."""


class SignatureDoesNotMatchError(CosAccessDeniedError):
    pass


class InvalidAccessKeyIdError(CosAccessDeniedError):
    pass


class SlowDownError(CosServiceError):
    """Throttled (503 SlowDown or 429): retry later."""


class FileAlreadyExistsError(CosServiceError):
    """409 from ``x-cos-forbid-overwrite: true`` on an existing key."""


class BadDigestError(CosServiceError):
    """400: the Content-MD5 we sent does not match what COS received."""


class CosIntegrityError(CosError):
    """COS accepted the request but the result does not match what we sent (ETag vs MD5)."""


class CosNetworkError(CosError):
    """Connection refused or reset, or a body shorter than its Content-Length."""


class CosTimeoutError(CosNetworkError):
    """A connect, read, write or pool timeout."""


class CosRetryExhausted(CosError):
    """Every allowed attempt failed with a retryable error; ``last_error`` is the final one."""

    def __init__(self, last_error: CosError, attempts: int, reason: str = "attempts") -> None:
        self.last_error = last_error
        self.attempts = attempts
        super().__init__(f"gave up after {attempts} attempt(s) ({reason} exhausted): {last_error}")


_CODE_CLASSES: dict[str, type[CosServiceError]] = {
    "NoSuchKey": NoSuchKeyError,
    "NoSuchResource": NoSuchKeyError,
    "NoSuchBucket": NoSuchBucketError,
    "NoSuchUpload": NoSuchUploadError,
    "AccessDenied": CosAccessDeniedError,
    "SignatureDoesNotMatch": SignatureDoesNotMatchError,
    "InvalidAccessKeyId": InvalidAccessKeyIdError,
    "SlowDown": SlowDownError,
    "TooManyRequestsException": SlowDownError,
    "FileAlreadyExists": FileAlreadyExistsError,
    "BadDigest": BadDigestError,
}

_STATUS_CLASSES: dict[int, type[CosServiceError]] = {
    403: CosAccessDeniedError,
    404: CosNotFoundError,
    429: SlowDownError,
}

_DEFAULT_CODES = {404: "NoSuchResource", 403: "AccessDenied", 429: "SlowDown", 503: "ServiceUnavailable"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_error_body(body: bytes) -> dict[str, str] | None:
    """The fields of an ``<Error>`` XML (namespace-agnostic) or a JSON error; None if neither."""
    text = body.strip()
    if not text:
        return None
    if text.startswith(b"{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        return {
            "Code": str(data.get("code", data.get("Code", ""))),
            "Message": str(data.get("message", data.get("Message", ""))),
            "RequestId": str(data.get("request_id", data.get("RequestId", ""))),
        }
    try:
        root = ElementTree.fromstring(text)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return None
    if _local(root.tag) != "Error":
        return None
    return {_local(child.tag): (child.text or "").strip() for child in root}


def service_error(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    method: str = "",
    key: str = "",
) -> CosServiceError:
    """Build the most specific error for a response (empty bodies, e.g. HEAD, included)."""
    fields = parse_error_body(body) or {}
    lower = {k.lower(): v for k, v in headers.items()}
    code = fields.get("Code") or lower.get("x-cos-error-code") or _DEFAULT_CODES.get(status, "Unknown")
    cls = _CODE_CLASSES.get(code) or _STATUS_CLASSES.get(status) or CosServiceError
    return cls(
        status,
        code,
        message=fields.get("Message", "")[:500],
        request_id=fields.get("RequestId") or lower.get("x-cos-request-id", ""),
        trace_id=fields.get("TraceId") or lower.get("x-cos-trace-id", ""),
        resource=fields.get("Resource", ""),
        method=method,
        key=key,
    )


def retryable(exc: BaseException) -> bool:
    """5xx, throttling (SlowDown, 429), network errors and timeouts; never any other 4xx."""
    if isinstance(exc, CosNetworkError):
        return True
    if isinstance(exc, CosServiceError):
        return exc.status >= 500 or exc.status == 429 or exc.code == "SlowDown"
    return False
