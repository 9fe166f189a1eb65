"""COS over httpx: a sync ``CosClient`` and an ``AsyncCosClient`` sharing one core.

Every operation is written once, as a generator that yields the requests it needs and
receives their responses (``_Core.*_flow``); each client only drives it with its own I/O,
retries and rate limiting. The signature covers exactly the request built by httpx (its
Host, Content-Length...), re-signed on every attempt with a fresh time.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import posixpath
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element

import httpx
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from redactor.cos.config import CosConfig, Credentials
from redactor.cos.errors import (
    CosError,
    CosIntegrityError,
    CosKeyError,
    CosNetworkError,
    CosNotFoundError,
    CosRequestError,
    CosRetryExhausted,
    CosServiceError,
    CosTimeoutError,
    parse_error_body,
    retryable,
    service_error,
)
from redactor.cos.ratelimit import Limiter, shared_bucket
from redactor.cos.signing import encode, should_sign_header, sign

log = logging.getLogger("redactor.cos")

T = TypeVar("T")

BACKOFF_BASE = 0.2
BACKOFF_CAP = 5.0
CARD_TYPES = ("IDCard", "DriverLicense")
_META_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: str


@dataclass(frozen=True)
class ListPage:
    contents: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str


@dataclass
class _Op:
    """One request to make: ``key`` None means the bucket itself (``/``); a param value None is a flag."""

    method: str
    bucket: str
    key: str | None
    params: list[tuple[str, str | None]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    limiter: str = "cos"
    #: For a PUT that replaces an object: the MD5 (hex) of the body. Before such a PUT is
    #: retried, a HEAD asks whether the last attempt landed (its response lost): if the
    #: object has this ETag, the PUT is done, and the object is never written twice.
    landed_etag: str | None = None


@dataclass(frozen=True)
class _Resp:
    status: int
    headers: httpx.Headers
    content: bytes


def object_path(key: str) -> tuple[str, str]:
    """(path on the wire, decoded path signed) for a key; refuses keys that address the bucket."""
    if key.startswith("/"):
        key = key[1:]
    if not key or "\x00" in key or posixpath.normpath("/" + key).strip("/") == "":
        raise CosKeyError(f"object key {key[:80]!r} is empty or collapses to '/'")
    segments = quote(key, safe="/-_.~").split("/")
    # "." and ".." segments would be collapsed by URL normalisation: escape their dots.
    wire = "/".join(s.replace(".", "%2E") if s in (".", "..") else s for s in segments)
    return "/" + wire, "/" + key


def _query(params: list[tuple[str, str | None]]) -> str:
    return "&".join(encode(k) if v is None else f"{encode(k)}={encode(v)}" for k, v in params)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(body: bytes, what: str) -> Element:
    try:
        root: Element = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise CosNetworkError(f"malformed {what} response ({type(exc).__name__})") from None
    return root


def _child_text(node: Element, name: str) -> str:
    for child in node:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


class _Core:
    """Request building, signing and response parsing shared by both clients (no I/O)."""

    def __init__(self, config: CosConfig, credentials: Credentials, clock: Callable[[], float]) -> None:
        self.config = config
        self.credentials = credentials
        self.clock = clock
        self.limiters: dict[str, Limiter | None] = {
            "cos": shared_bucket("cos", config.rate_limit),
            "ai": shared_bucket("ai", config.ai_rate_limit, strict=True),  # a quota per 1-s window
        }

    # -- requests -------------------------------------------------------------------------
    def request_args(self, op: _Op) -> tuple[str, str, dict[str, str], str]:
        """(url, Host, headers, decoded path) for an operation."""
        host = self.config.bucket_host(op.bucket)
        wire_path, signed_path = ("/", "/") if op.key is None else object_path(op.key)
        url = self.config.base_url(op.bucket) + wire_path
        if op.params:
            url += "?" + _query(op.params)
        headers = {"Host": host, "Accept-Encoding": "identity", **op.headers}
        if self.credentials.token:
            headers["x-cos-security-token"] = self.credentials.token
        return url, host, headers, signed_path

    def sign_request(self, request: httpx.Request, signed_path: str) -> None:
        """Sign what httpx will send: its headers (Host, Content-Length...) and all its query params."""
        if request.url.path != signed_path:
            raise CosKeyError(f"key {signed_path[:80]!r} does not survive URL encoding")
        now = int(self.clock())
        signature = sign(
            secret_id=self.credentials.secret_id,
            secret_key=self.credentials.secret_key,
            method=request.method,
            path=signed_path,
            params=request.url.params.multi_items(),
            headers=[(k, v) for k, v in request.headers.items() if should_sign_header(k)],
            start=now - 60,
            end=now + self.config.sign_expiry,
        )
        request.headers["Authorization"] = signature.authorization()

    def build(self, build_request: Callable[..., httpx.Request], op: _Op) -> httpx.Request:
        url, _, headers, signed_path = self.request_args(op)
        request = build_request(op.method, url, headers=headers, content=op.content)
        self.sign_request(request, signed_path)
        return request

    def check(self, op: _Op, status: int, headers: httpx.Headers, content: bytes) -> _Resp:
        """Raise the typed error for an error status or a short body; else the response."""
        if status >= 300:
            raise service_error(status, content, headers, method=op.method, key=op.key or "/")
        expected = headers.get("content-length")
        checkable = op.method != "HEAD" and expected and expected.isdigit() and not headers.get("content-encoding")
        if checkable and len(content) != int(expected or 0):  # a short body: retryable
            raise CosNetworkError(f"{op.method} {op.key!r}: body truncated ({len(content)} of {expected} bytes)")
        return _Resp(status, headers, content)

    def scrub(self, text: str) -> str:
        """Remove credentials from a text we did not write (transport exception messages)."""
        for secret in (self.credentials.secret_key, self.credentials.token):
            if secret:
                text = text.replace(secret, "***")
        return re.sub(r"q-signature=[0-9a-f]+", "q-signature=***", text)

    def transport_error(self, op: _Op, exc: Exception) -> CosError:
        detail = self.scrub(str(exc))[:200]
        where = f"{op.method} {op.key or '/'!r}"
        if isinstance(exc, httpx.TimeoutException):
            return CosTimeoutError(f"{where}: timeout ({type(exc).__name__}) {detail}".rstrip())
        return CosNetworkError(f"{where}: {type(exc).__name__} {detail}".rstrip())

    @staticmethod
    def backoff(attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1)))."""
        return rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))

    # -- operations, as generators of requests ----------------------------------------------
    def _put_headers(
        self, content_type: str | None, metadata: Mapping[str, str] | None, forbid_overwrite: bool
    ) -> dict[str, str]:
        headers = {"Content-Type": content_type or "application/octet-stream"}
        for name, value in (metadata or {}).items():
            if not _META_NAME.match(name) or not value.isascii() or not value.isprintable():
                raise CosRequestError(f"metadata {name[:40]!r}: names [A-Za-z0-9_-], values printable ASCII")
            headers[f"x-cos-meta-{name}"] = value
        if forbid_overwrite:
            headers["x-cos-forbid-overwrite"] = "true"
        return headers

    def probe(self, op: _Op) -> _Op | None:
        """The HEAD that tells whether a lost replacing PUT landed (None: nothing to ask)."""
        return None if op.landed_etag is None or op.key is None else _Op("HEAD", op.bucket, op.key)

    def landed(self, op: _Op, head: _Resp) -> _Resp | None:
        """The PUT's response, made from the HEAD's, when the object holds the PUT's body."""
        return head if self._etag(head.headers) == op.landed_etag else None

    @staticmethod
    def _etag(headers: httpx.Headers) -> str:
        etag: str = headers.get("etag", "")
        return etag.strip().strip('"').lower()

    def put_flow(
        self,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str | None,
        metadata: Mapping[str, str] | None,
        forbid_overwrite: bool,
    ) -> Generator[_Op, _Resp, dict[str, Any]]:
        object_path(key)
        headers = self._put_headers(content_type, metadata, forbid_overwrite)
        if len(data) > self.config.multipart_threshold:
            return (yield from self._multipart_flow(bucket, key, data, headers))
        digest = _md5(data)
        headers["Content-MD5"] = base64.b64encode(digest).decode("ascii")
        landed = None if forbid_overwrite else digest.hex()  # write-once PUTs meet a 409 instead
        resp = yield _Op("PUT", bucket, key, headers=headers, content=data, landed_etag=landed)
        etag = self._etag(resp.headers)
        if etag != digest.hex():
            raise CosIntegrityError(f"PUT {key!r}: ETag {etag[:40]!r} does not match the MD5 of the data sent")
        return {
            "etag": etag,
            "request_id": resp.headers.get("x-cos-request-id", ""),
            "crc64": resp.headers.get("x-cos-hash-crc64ecma"),
            "version_id": resp.headers.get("x-cos-version-id"),
            "parts": 0,
        }

    def _multipart_flow(
        self, bucket: str, key: str, data: bytes, headers: dict[str, str]
    ) -> Generator[_Op, _Resp, dict[str, Any]]:
        resp = yield _Op("POST", bucket, key, params=[("uploads", None)], headers=headers)
        upload_id = _child_text(_xml(resp.content, "InitiateMultipartUpload"), "UploadId")
        if not upload_id:
            raise CosIntegrityError(f"POST {key!r}?uploads: no UploadId in the response")
        try:
            digests: list[bytes] = []
            etags: list[str] = []
            size = self.config.part_size
            for number, offset in enumerate(range(0, len(data), size), start=1):
                chunk = data[offset : offset + size]
                digest = _md5(chunk)
                part = yield _Op(
                    "PUT",
                    bucket,
                    key,
                    params=[("partNumber", str(number)), ("uploadId", upload_id)],
                    headers={"Content-MD5": base64.b64encode(digest).decode("ascii")},
                    content=chunk,
                )
                if self._etag(part.headers) != digest.hex():
                    raise CosIntegrityError(f"PUT {key!r} part {number}: ETag does not match the part's MD5")
                digests.append(digest)
                etags.append(digest.hex())
            body = "".join(
                f'<Part><PartNumber>{n}</PartNumber><ETag>"{etag}"</ETag></Part>' for n, etag in enumerate(etags, 1)
            )
            complete_headers = {"Content-Type": "application/xml"}
            if "x-cos-forbid-overwrite" in headers:
                complete_headers["x-cos-forbid-overwrite"] = "true"
            done = yield _Op(
                "POST",
                bucket,
                key,
                params=[("uploadId", upload_id)],
                headers=complete_headers,
                content=f"<CompleteMultipartUpload>{body}</CompleteMultipartUpload>".encode(),
            )
            if parse_error_body(done.content) is not None:  # COS may stream an <Error> after a 200
                raise service_error(done.status, done.content, done.headers, method="POST", key=key)
            etag = _child_text(_xml(done.content, "CompleteMultipartUpload"), "ETag").strip('"').lower()
            expected = f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"
            if etag != expected:
                raise CosIntegrityError(f"complete {key!r}: ETag {etag[:60]!r} is not the multipart MD5")
        except Exception:
            try:
                yield _Op("DELETE", bucket, key, params=[("uploadId", upload_id)])
            except CosError as abort_error:
                log.warning("abort of multipart upload for %r failed: %s", key, abort_error)
            raise
        return {
            "etag": etag,
            "request_id": done.headers.get("x-cos-request-id", ""),
            "crc64": done.headers.get("x-cos-hash-crc64ecma"),
            "version_id": done.headers.get("x-cos-version-id"),
            "parts": len(digests),
        }

    @staticmethod
    def range_header(range: tuple[int, int | None] | str | None) -> dict[str, str]:
        if range is None:
            return {}
        if isinstance(range, str):
            return {"Range": range}
        first, last = range
        return {"Range": f"bytes={first}-{'' if last is None else last}"}

    def get_flow(
        self, bucket: str, key: str, range: tuple[int, int | None] | str | None
    ) -> Generator[_Op, _Resp, bytes]:
        resp = yield _Op("GET", bucket, key, headers=self.range_header(range))
        return resp.content

    def get_full_flow(self, bucket: str, key: str) -> Generator[_Op, _Resp, tuple[bytes, dict[str, str]]]:
        resp = yield _Op("GET", bucket, key)
        return resp.content, {k.lower(): v for k, v in resp.headers.items()}

    def head_flow(self, bucket: str, key: str) -> Generator[_Op, _Resp, dict[str, Any]]:
        resp = yield _Op("HEAD", bucket, key)
        headers = dict(resp.headers.items())
        length = resp.headers.get("content-length", "")
        return {
            "headers": headers,
            "metadata": {k[len("x-cos-meta-") :]: v for k, v in headers.items() if k.startswith("x-cos-meta-")},
            "size": int(length) if length.isdigit() else None,
            "etag": self._etag(resp.headers),
            "content_type": resp.headers.get("content-type", ""),
            "last_modified": resp.headers.get("last-modified", ""),
            "request_id": resp.headers.get("x-cos-request-id", ""),
        }

    def delete_flow(self, bucket: str, key: str) -> Generator[_Op, _Resp, dict[str, Any]]:
        resp = yield _Op("DELETE", bucket, key)
        return {"request_id": resp.headers.get("x-cos-request-id", ""), "status": resp.status}

    def list_flow(
        self, bucket: str, prefix: str, delimiter: str, marker: str, max_keys: int
    ) -> Generator[_Op, _Resp, ListPage]:
        params: list[tuple[str, str | None]] = [
            ("prefix", prefix),
            ("delimiter", delimiter),
            ("marker", marker),
            ("max-keys", str(max_keys)),
            ("encoding-type", "url"),
        ]
        resp = yield _Op("GET", bucket, None, params=params)
        return self.parse_list(resp.content)

    @staticmethod
    def parse_list(body: bytes) -> ListPage:
        root = _xml(body, "ListBucketResult")
        if _local(root.tag) != "ListBucketResult":
            raise CosNetworkError(f"unexpected list response root {_local(root.tag)[:40]!r}")
        encoded = _child_text(root, "EncodingType") == "url"

        def dec(text: str) -> str:
            return unquote(text) if encoded else text

        contents: list[ObjectInfo] = []
        prefixes: list[str] = []
        for child in root:
            name = _local(child.tag)
            if name == "Contents":
                size = _child_text(child, "Size")
                contents.append(
                    ObjectInfo(
                        key=dec(_child_text(child, "Key")),
                        size=int(size) if size.isdigit() else 0,
                        etag=_child_text(child, "ETag").strip('"'),
                        last_modified=_child_text(child, "LastModified"),
                    )
                )
            elif name == "CommonPrefixes":
                prefixes.append(dec(_child_text(child, "Prefix")))
        return ListPage(
            contents=contents,
            common_prefixes=prefixes,
            is_truncated=_child_text(root, "IsTruncated").lower() == "true",
            next_marker=dec(_child_text(root, "NextMarker")),
        )

    @staticmethod
    def next_marker(page: ListPage, marker: str) -> str | None:
        """Where the next page starts, None when done; refuses a listing that does not advance."""
        if not page.is_truncated:
            return None
        nxt = page.next_marker
        if not nxt:  # S3-style: no NextMarker without a delimiter; continue after the last entry
            tails = ([page.contents[-1].key] if page.contents else []) + page.common_prefixes[-1:]
            nxt = max(tails, default="")
        if not nxt or nxt <= marker:
            raise CosNetworkError("listing is truncated but its marker does not advance")
        return nxt

    def ai_flow(
        self, bucket: str, key: str | None, card_type: str, detect_url: str | None = None
    ) -> Generator[_Op, _Resp, bytes]:
        if card_type not in CARD_TYPES:
            raise CosRequestError(f"card type {card_type!r} is not one of {', '.join(CARD_TYPES)}")
        params: list[tuple[str, str | None]] = [("ci-process", "AILicenseRec"), ("CardType", card_type)]
        if detect_url is not None:
            params.append(("detect-url", detect_url))
        resp = yield _Op("GET", bucket, key, params=params, limiter="ai")
        if parse_error_body(resp.content) is not None:
            raise service_error(resp.status, resp.content, resp.headers, method="GET", key=key or "/")
        return resp.content

    def presigned_url(self, bucket: str, key: str, method: str, expires: int, params: Mapping[str, str] | None) -> str:
        """A URL signing only ``host`` and ``params`` (plus the session token, as Go's GetPresignedURL2)."""
        items: list[tuple[str, str | None]] = list((params or {}).items())
        if self.credentials.token:
            items.append(("x-cos-security-token", self.credentials.token))
        _, host, _, signed_path = self.request_args(_Op(method, bucket, key))
        wire_path, _ = object_path(key)
        now = int(self.clock())
        signature = sign(
            secret_id=self.credentials.secret_id,
            secret_key=self.credentials.secret_key,
            method=method,
            path=signed_path,
            params=[(k, v or "") for k, v in items],
            headers={"host": host},
            start=now - 60,
            end=now + expires,
        )
        query = _query(items + list(signature.query().items()))
        return f"{self.config.base_url(bucket)}{wire_path}?{query}"


def _finish(stop: StopIteration) -> Any:
    return stop.value


class CosClient:
    """Synchronous client; thread-safe (httpx.Client is), so workers can share one instance."""

    def __init__(
        self,
        config: CosConfig,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._core = _Core(config, credentials, clock)
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            follow_redirects=False,
        )
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    @property
    def config(self) -> CosConfig:
        return self._core.config

    def use_limiter(self, kind: str, limiter: Limiter | None) -> None:
        """Ask ``limiter`` before each request of ``kind`` (``"ai"``: AILicenseRec) instead
        of the process-wide bucket: e.g. one rate for a whole cluster."""
        if kind not in self._core.limiters:
            raise ValueError(f"no limiter kind {kind!r}")
        self._core.limiters[kind] = limiter

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CosClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, op: _Op) -> _Resp:
        core = self._core
        deadline = self._monotonic() + core.config.deadline
        limiter = core.limiters[op.limiter]
        attempt = 0
        while True:
            attempt += 1
            if limiter is not None:
                limiter.acquire(self._sleep)
            request = core.build(self._http.build_request, op)
            try:
                response = self._http.send(request)
                try:
                    content = response.read()
                finally:
                    response.close()
                _log(op, response.status_code, response.headers, attempt)
                return core.check(op, response.status_code, response.headers, content)
            except httpx.HTTPError as exc:
                error: CosError = core.transport_error(op, exc)
            except CosError as exc:
                error = exc
            delay = _retry_delay(core, op, error, attempt, deadline - self._monotonic(), self._rng)
            probe = core.probe(op)
            if probe is not None:
                try:
                    done = core.landed(op, self._call(probe))
                except CosNotFoundError:
                    done = None
                if done is not None:
                    log.info("cos %s %r: the last attempt had landed; not written again", op.method, op.key)
                    return done
            self._sleep(delay)

    def _run(self, flow: Generator[_Op, _Resp, T]) -> T:
        try:
            op = next(flow)
            while True:
                try:
                    resp = self._call(op)
                except CosError as exc:
                    op = flow.throw(exc)
                else:
                    op = flow.send(resp)
        except StopIteration as stop:
            result: T = _finish(stop)
            return result

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        forbid_overwrite: bool = False,
    ) -> dict[str, Any]:
        return self._run(self._core.put_flow(bucket, key, data, content_type, metadata, forbid_overwrite))

    def get_object(self, bucket: str, key: str, range: tuple[int, int | None] | str | None = None) -> bytes:
        return self._run(self._core.get_flow(bucket, key, range))

    def get_object_with_headers(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        """The whole object and its response headers (lower-case names): Content-Type, metadata..."""
        return self._run(self._core.get_full_flow(bucket, key))

    def iter_object(
        self,
        bucket: str,
        key: str,
        range: tuple[int, int | None] | str | None = None,
        chunk_size: int = 1024 * 1024,
    ) -> Iterator[bytes]:
        """Stream an object; opening is retried, a break mid-body raises CosNetworkError."""
        core = self._core
        op = _Op("GET", bucket, key, headers=core.range_header(range))
        deadline = self._monotonic() + core.config.deadline
        attempt = 0
        while True:
            attempt += 1
            request = core.build(self._http.build_request, op)
            try:
                response = self._http.send(request, stream=True)
            except httpx.HTTPError as exc:
                error: CosError = core.transport_error(op, exc)
            else:
                break
            self._sleep(_retry_delay(core, op, error, attempt, deadline - self._monotonic(), self._rng))
        try:
            _log(op, response.status_code, response.headers, attempt)
            if response.status_code >= 300:
                core.check(op, response.status_code, response.headers, response.read())
            received = 0
            try:
                for chunk in response.iter_bytes(chunk_size):
                    received += len(chunk)
                    yield chunk
            except httpx.HTTPError as exc:
                raise core.transport_error(op, exc) from None
            expected = response.headers.get("content-length", "")
            if expected.isdigit() and not response.headers.get("content-encoding") and received != int(expected):
                raise CosNetworkError(f"GET {key!r}: body truncated ({received} of {expected} bytes)")
        finally:
            response.close()

    def head_object(self, bucket: str, key: str) -> dict[str, Any]:
        return self._run(self._core.head_flow(bucket, key))

    def delete_object(self, bucket: str, key: str) -> dict[str, Any]:
        return self._run(self._core.delete_flow(bucket, key))

    def list_objects(
        self, bucket: str, prefix: str = "", delimiter: str = "", marker: str = "", max_keys: int = 1000
    ) -> ListPage:
        return self._run(self._core.list_flow(bucket, prefix, delimiter, marker, max_keys))

    def iter_objects(self, bucket: str, prefix: str = "", delimiter: str = "") -> Iterator[ObjectInfo]:
        """Every object below ``prefix``, one page in memory at a time."""
        marker = ""
        while True:
            page = self.list_objects(bucket, prefix, delimiter, marker)
            yield from page.contents
            nxt = self._core.next_marker(page, marker)
            if nxt is None:
                return
            marker = nxt

    def ai_license_rec(self, bucket: str, key: str, card_type: str) -> bytes:
        object_path(key)
        return self._run(self._core.ai_flow(bucket, key, card_type))

    def ai_license_rec_url(self, bucket: str, detect_url: str, card_type: str) -> bytes:
        return self._run(self._core.ai_flow(bucket, None, card_type, detect_url))

    def presigned_url(
        self, bucket: str, key: str, method: str = "GET", expires: int = 300, params: Mapping[str, str] | None = None
    ) -> str:
        return self._core.presigned_url(bucket, key, method, expires, params)


class AsyncCosClient:
    """The asyncio twin of :class:`CosClient` (same method names, ``async def``)."""

    def __init__(
        self,
        config: CosConfig,
        credentials: Credentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._core = _Core(config, credentials, clock)
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            follow_redirects=False,
        )
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    @property
    def config(self) -> CosConfig:
        return self._core.config

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncCosClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _call(self, op: _Op) -> _Resp:
        core = self._core
        deadline = self._monotonic() + core.config.deadline
        limiter = core.limiters[op.limiter]
        attempt = 0
        while True:
            attempt += 1
            if limiter is not None:
                await limiter.acquire_async()
            request = core.build(self._http.build_request, op)
            try:
                response = await self._http.send(request)
                try:
                    content = await response.aread()
                finally:
                    await response.aclose()
                _log(op, response.status_code, response.headers, attempt)
                return core.check(op, response.status_code, response.headers, content)
            except httpx.HTTPError as exc:
                error: CosError = core.transport_error(op, exc)
            except CosError as exc:
                error = exc
            delay = _retry_delay(core, op, error, attempt, deadline - self._monotonic(), self._rng)
            probe = core.probe(op)
            if probe is not None:
                try:
                    done = core.landed(op, await self._call(probe))
                except CosNotFoundError:
                    done = None
                if done is not None:
                    log.info("cos %s %r: the last attempt had landed; not written again", op.method, op.key)
                    return done
            await self._sleep(delay)

    async def _run(self, flow: Generator[_Op, _Resp, T]) -> T:
        try:
            op = next(flow)
            while True:
                try:
                    resp = await self._call(op)
                except CosError as exc:
                    op = flow.throw(exc)
                else:
                    op = flow.send(resp)
        except StopIteration as stop:
            result: T = _finish(stop)
            return result

    async def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        forbid_overwrite: bool = False,
    ) -> dict[str, Any]:
        return await self._run(self._core.put_flow(bucket, key, data, content_type, metadata, forbid_overwrite))

    async def get_object(self, bucket: str, key: str, range: tuple[int, int | None] | str | None = None) -> bytes:
        return await self._run(self._core.get_flow(bucket, key, range))

    async def get_object_with_headers(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        """The whole object and its response headers (lower-case names): Content-Type, metadata..."""
        return await self._run(self._core.get_full_flow(bucket, key))

    async def head_object(self, bucket: str, key: str) -> dict[str, Any]:
        return await self._run(self._core.head_flow(bucket, key))

    async def delete_object(self, bucket: str, key: str) -> dict[str, Any]:
        return await self._run(self._core.delete_flow(bucket, key))

    async def list_objects(
        self, bucket: str, prefix: str = "", delimiter: str = "", marker: str = "", max_keys: int = 1000
    ) -> ListPage:
        return await self._run(self._core.list_flow(bucket, prefix, delimiter, marker, max_keys))

    async def iter_objects(self, bucket: str, prefix: str = "", delimiter: str = "") -> AsyncIterator[ObjectInfo]:
        marker = ""
        while True:
            page = await self.list_objects(bucket, prefix, delimiter, marker)
            for info in page.contents:
                yield info
            nxt = self._core.next_marker(page, marker)
            if nxt is None:
                return
            marker = nxt

    async def ai_license_rec(self, bucket: str, key: str, card_type: str) -> bytes:
        object_path(key)
        return await self._run(self._core.ai_flow(bucket, key, card_type))

    async def ai_license_rec_url(self, bucket: str, detect_url: str, card_type: str) -> bytes:
        return await self._run(self._core.ai_flow(bucket, None, card_type, detect_url))

    def presigned_url(
        self, bucket: str, key: str, method: str = "GET", expires: int = 300, params: Mapping[str, str] | None = None
    ) -> str:
        """No I/O, so not a coroutine."""
        return self._core.presigned_url(bucket, key, method, expires, params)


def _log(op: _Op, status: int, headers: httpx.Headers, attempt: int) -> None:
    log.debug(
        "cos %s %r -> %d request_id=%s attempt=%d",
        op.method,
        op.key or "/",
        status,
        headers.get("x-cos-request-id", ""),
        attempt,
    )


def _retry_delay(core: _Core, op: _Op, error: CosError, attempt: int, remaining: float, rng: random.Random) -> float:
    """The wait before the next attempt, or raise: not retryable, attempts or deadline used up."""
    if not retryable(error):
        raise error
    if attempt >= core.config.max_attempts:
        raise CosRetryExhausted(error, attempt, "attempts") from error
    delay = core.backoff(attempt, rng)
    if delay >= remaining:
        raise CosRetryExhausted(error, attempt, "deadline") from error
    status = error.status if isinstance(error, CosServiceError) else type(error).__name__
    log.info(
        "cos %s %r: retrying after %s (attempt %d, waiting %.2fs)", op.method, op.key or "/", status, attempt, delay
    )
    return delay
