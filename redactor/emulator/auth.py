"""Every emulated bucket is private: a request is authenticated as COS does it (an
Authorization header, ``q-*`` query parameters, or ``sign=``), with
:func:`redactor.cos.signing.verify` over the decoded path and all received query parameters.

The algorithm is followed exactly (reference 1.1 and 1.6): SignKey is keyed by ``q-key-time``
and StringToSign carries ``q-sign-time``, so rewriting either breaks the signature; the
request is refused when now lies outside either window, when ``q-sign-time`` is not inside
``q-key-time``, and when a field is missing, repeated or malformed. Error messages never
echo the signature, the key or any other field of the request.
"""

from __future__ import annotations

import hmac
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from redactor.cos.signing import TimeWindow, verify
from redactor.emulator.protocol import ErrorReply, Request, as_utf8, split_host

#: The fields every signed request carries (q-header-list and q-url-param-list may be empty).
REQUIRED_FIELDS = (
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
)
#: A signature is 40 lower-case hex digits (HMAC-SHA1).
_SIGNATURE_RE = re.compile(r"[0-9a-f]{40}")
#: Names in q-header-list / q-url-param-list: what the signer's encoding produces, lower-cased.
_NAME_LIST_RE = re.compile(r"(?:[a-z0-9%._~-]+(?:;[a-z0-9%._~-]+)*)?")


@dataclass(frozen=True)
class SignedFields:
    """The checked fields of one request's authorization (their raw text kept for verify)."""

    secret_id: str
    sign_time: TimeWindow
    key_time: TimeWindow
    raw: Mapping[str, str]


def _malformed() -> ErrorReply:
    return ErrorReply(403, "AccessDenied", "The request's authorization is malformed.")


def parse_fields(pairs: Iterable[tuple[str, str]]) -> SignedFields:
    """The ``q-*`` fields of one authorization; :class:`ErrorReply` (403) when one is missing,
    repeated or malformed, or when q-sign-time is not inside q-key-time."""
    raw: dict[str, str] = {}
    for name, value in pairs:
        if not name.startswith("q-"):
            continue
        if name in raw:
            raise _malformed()  # which of two values was signed is anyone's guess
        raw[name] = value
    if any(name not in raw for name in REQUIRED_FIELDS):
        raise _malformed()
    if raw["q-sign-algorithm"] != "sha1" or not raw["q-ak"]:
        raise _malformed()
    if not _SIGNATURE_RE.fullmatch(raw["q-signature"]):
        raise _malformed()
    if not (_NAME_LIST_RE.fullmatch(raw["q-header-list"]) and _NAME_LIST_RE.fullmatch(raw["q-url-param-list"])):
        raise _malformed()
    sign_time, key_time = TimeWindow.parse(raw["q-sign-time"]), TimeWindow.parse(raw["q-key-time"])
    if sign_time is None or key_time is None:
        raise _malformed()
    if not sign_time.within(key_time):
        raise ErrorReply(403, "AccessDenied", "q-sign-time is not within q-key-time.")
    return SignedFields(raw["q-ak"], sign_time, key_time, raw)


def _split_authorization(value: str) -> list[tuple[str, str]]:
    """``k=v&k=v`` pairs as sent (split on ``&``, then once on ``=``), repeats kept."""
    pairs = []
    for part in value.split("&"):
        name, eq, field_value = part.partition("=")
        if not eq:
            raise _malformed()
        pairs.append((name, field_value))
    return pairs


def _fields_of(request: Request) -> SignedFields:
    auth = request.headers.get("authorization", "")
    if auth:
        return parse_fields(_split_authorization(auth))
    if request.has("q-signature"):
        return parse_fields(request.params)
    if request.has("sign"):
        return parse_fields(_split_authorization(request.param("sign") or ""))
    raise ErrorReply(403, "AccessDenied", "Access Denied: the bucket is private and the request is anonymous.")


def authenticate(
    request: Request,
    permanent: Mapping[str, str],
    temporary: Mapping[str, tuple[str, str]],
    now: float,
) -> None:
    """Raise :class:`ErrorReply` unless ``request`` is signed by a known key, within its
    signing and key times. ``permanent``: SecretId to SecretKey; ``temporary``: SecretId to
    (SecretKey, security token), whose requests must carry the token."""
    fields = _fields_of(request)
    session = temporary.get(fields.secret_id)
    if session is not None:
        secret_key, token = session
        sent = request.headers.get("x-cos-security-token") or request.param("x-cos-security-token")
        if not sent:
            raise ErrorReply(403, "InvalidAccessKeyId", "The temporary SecretId needs x-cos-security-token.")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise ErrorReply(403, "AccessDenied", "The security token does not match the temporary SecretId.")
    elif fields.secret_id in permanent:
        secret_key = permanent[fields.secret_id]
    else:
        raise ErrorReply(403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.")
    if not (fields.sign_time.contains(now) and fields.key_time.contains(now)):
        raise ErrorReply(403, "AccessDenied", "Request has expired")
    params = [(k, v) for k, v in request.params if not k.startswith("q-") and k != "sign"]
    signed_headers = {k: as_utf8(v) for k, v in request.headers.items()}
    hosts = [signed_headers.get("host", request.host)]
    hosts.append(split_host(hosts[0]))
    paths = [request.path, "/" + request.key] if request.path_style else [request.path]
    for host, path in itertools.product(dict.fromkeys(hosts), paths):
        signed_headers["host"] = host
        if verify(
            fields=fields.raw,
            secret_key=secret_key,
            method=request.method,
            path=path,
            params=params,
            headers=signed_headers,
        ):
            return
    raise ErrorReply(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
    )
