"""COS request signing (``q-sign-algorithm=sha1``), as in reference section 1.

Pure functions over strings: the client signs exactly the request it sends, the
emulator recomputes the same from what it received. No secret ever appears in a
return value other than the signature itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

#: Headers the client signs: a small deterministic set (never user-agent, accept-encoding...).
SIGNED_HEADERS = frozenset(
    {
        "host",
        "content-type",
        "content-md5",
        "content-length",
        "content-disposition",
        "content-encoding",
        "cache-control",
        "expires",
        "range",
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
    }
)


def encode(text: str) -> str:
    """UTF-8 percent-encoding with only ``A-Z a-z 0-9 - _ . ~`` left as is (upper-case hex)."""
    return quote(text.encode("utf-8"), safe="-_.~")


def canonical(pairs: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """(``k1=v1&k2=v2``, ``k1;k2``) with keys lower-cased after encoding, sorted by key."""
    items = sorted((encode(k).lower(), encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in items), ";".join(k for k, _ in items)


def should_sign_header(name: str) -> bool:
    lower = name.lower()
    return lower in SIGNED_HEADERS or lower.startswith(("x-cos-", "x-ci-"))


@dataclass(frozen=True)
class Signature:
    key_time: str
    header_list: str
    param_list: str
    signature: str
    secret_id: str

    def authorization(self) -> str:
        return (
            f"q-sign-algorithm=sha1&q-ak={self.secret_id}&q-sign-time={self.key_time}&q-key-time={self.key_time}"
            f"&q-header-list={self.header_list}&q-url-param-list={self.param_list}&q-signature={self.signature}"
        )

    def query(self) -> dict[str, str]:
        """The same fields as query parameters (presigned URLs)."""
        return {
            "q-sign-algorithm": "sha1",
            "q-ak": self.secret_id,
            "q-sign-time": self.key_time,
            "q-key-time": self.key_time,
            "q-header-list": self.header_list,
            "q-url-param-list": self.param_list,
            "q-signature": self.signature,
        }


def sign(
    *,
    secret_id: str,
    secret_key: str,
    method: str,
    path: str,
    params: Iterable[tuple[str, str]] | Mapping[str, str] = (),
    headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
    start: int,
    end: int,
) -> Signature:
    """Sign a request. ``path`` is the *decoded* path (``/`` + key); ``headers`` are exactly the
    ones to sign (use :func:`should_sign_header` to choose); ``params`` all query parameters."""
    key_time = f"{start};{end}"
    param_items = list(params.items()) if isinstance(params, Mapping) else list(params)
    header_items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    signature, header_list, param_list = _signature(
        secret_key, key_time, key_time, method, path, param_items, header_items
    )
    return Signature(key_time, header_list, param_list, signature, secret_id)


def _signature(
    secret_key: str,
    key_time: str,
    sign_time: str,
    method: str,
    path: str,
    param_items: list[tuple[str, str]],
    header_items: list[tuple[str, str]],
) -> tuple[str, str, str]:
    """(signature, header list, param list): SignKey over ``key_time`` (q-key-time), StringToSign
    over ``sign_time`` (q-sign-time). Clients send the two equal; a server must still use each
    for its own part, or either could be rewritten without breaking the signature."""
    http_params, param_list = canonical(param_items)
    http_headers, header_list = canonical(header_items)
    sign_key = hmac.new(secret_key.encode("utf-8"), key_time.encode("utf-8"), hashlib.sha1).hexdigest()
    http_string = f"{method.lower()}\n{path}\n{http_params}\n{http_headers}\n"
    digest = hashlib.sha1(http_string.encode("utf-8")).hexdigest()  # noqa: S324 - the protocol mandates SHA-1
    string_to_sign = f"sha1\n{sign_time}\n{digest}\n"
    signature = hmac.new(sign_key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).hexdigest()
    return signature, header_list, param_list


#: ``<start>;<end>``, Unix seconds in ASCII decimal (no sign, no spaces, at most 12 digits).
_WINDOW_RE = re.compile(r"([0-9]{1,12});([0-9]{1,12})")


@dataclass(frozen=True)
class TimeWindow:
    """A ``q-sign-time`` or ``q-key-time`` value: valid from ``start`` to ``end`` inclusive."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str | None) -> TimeWindow | None:
        """``None`` for anything but ``<digits>;<digits>`` with start <= end."""
        match = _WINDOW_RE.fullmatch(text or "")
        if match is None:
            return None
        start, end = int(match.group(1)), int(match.group(2))
        return cls(start, end) if start <= end else None

    def contains(self, now: float) -> bool:
        return self.start <= now <= self.end

    def within(self, other: TimeWindow) -> bool:
        return other.start <= self.start and self.end <= other.end


def parse_authorization(value: str) -> dict[str, str]:
    """The fields of an Authorization string (split on ``&``, then once on ``=``)."""
    fields: dict[str, str] = {}
    for part in value.split("&"):
        if "=" in part:
            k, v = part.split("=", 1)
            fields[k] = v
    return fields


def verify(
    *,
    fields: Mapping[str, str],
    secret_key: str,
    method: str,
    path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
) -> bool:
    """Recompute a signature from the names the request lists (server side); constant-time compare.

    SignKey comes from ``q-key-time`` and StringToSign carries ``q-sign-time``, each as sent
    (no fallback from one to the other): both are covered by the signature. Whether now lies
    within them is the caller's check."""
    if fields.get("q-sign-algorithm") != "sha1":
        return False
    key_time, sign_time = fields.get("q-key-time", ""), fields.get("q-sign-time", "")
    if TimeWindow.parse(key_time) is None or TimeWindow.parse(sign_time) is None:
        return False
    wanted_params = [p for p in fields.get("q-url-param-list", "").split(";") if p]
    wanted_headers = [h for h in fields.get("q-header-list", "").split(";") if h]
    param_map: dict[str, str] = {}
    for k, v in params:
        param_map.setdefault(encode(k).lower(), v)
    param_items = []
    for name in wanted_params:
        if name not in param_map:
            return False
        param_items.append((name, param_map[name]))
    lower_headers = {k.lower(): v for k, v in headers.items()}
    header_items = []
    for name in wanted_headers:
        if name not in lower_headers:
            return False
        header_items.append((name, lower_headers[name]))
    expected, _, _ = _signature(secret_key, key_time, sign_time, method, path, param_items, header_items)
    return hmac.compare_digest(expected, fields.get("q-signature", ""))
