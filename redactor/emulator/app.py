"""The emulator as a plain ASGI app: COS XML API + ``ci-process=AILicenseRec``.

Routing: by Host ``<bucket>.cos[-internal].<region>.(myqcloud.com|tencentcos.cn)`` (also from an
absolute-form target, as clients behind a proxy send it), else path-style ``/<bucket>/<key>``
(for loopback convenience). Every bucket is private: each request is authenticated like COS
does it (Authorization header, ``q-*`` query parameters, or ``sign=``), with
``redactor.cos.signing.verify`` over the decoded path and all received query parameters.

AILicenseRec is answered by an engine: ``replay`` returns the object ``<key>.ailicenserec.xml``
of the same bucket (``<Status>0</Status>`` when there is none); ``local`` runs the offline
``LocalLocator`` on the EXIF-upright image and also reports the face photo as a field named
``portrait`` (an emulator extension: the real service does not locate it). ``ci_rate`` caps
AILicenseRec at N requests per second; excess requests get 503 ``SlowDown``, the real
service's throttling answer. Results are cached by (sha256 of the object, CardType, engine).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urlsplit
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as safe_et

from redactor.cos.signing import parse_authorization, verify
from redactor.emulator.faults import Fault, FaultPlan, InjectedFault
from redactor.emulator.store import ObjectMeta, Store, crc64, valid_bucket

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HOST_RE = re.compile(
    r"^(?P<bucket>[A-Za-z0-9-]+-\d+)\.cos(?:-internal)?\.(?P<region>[a-z0-9-]+)\.(?:myqcloud\.com|tencentcos\.cn)$",
    re.IGNORECASE,
)
SIDECAR_SUFFIX = ".ailicenserec.xml"
ENGINES = ("replay", "local")
CARD_TYPES = ("IDCard", "DriverLicense")
MAX_KEYS = 1000
MIN_PART_SIZE = 1024 * 1024
_STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires")
_RESPONSE_OVERRIDES = {f"response-{h}": h for h in ("content-type", *_STORED_HEADERS)}
_LIST_PARAMS = {"prefix", "delimiter", "marker", "max-keys", "encoding-type"}
_NO_MATCH = b"<Response><Status>0</Status></Response>"


@dataclass
class EmulatorConfig:
    """Everything the CLI can set. ``credentials`` maps SecretId to SecretKey (permanent keys)."""

    credentials: dict[str, str] = field(default_factory=dict)
    latency_ms: float = 0.0
    ci_engine: str = "replay"
    ci_rate: float = 0.0
    faults: str = ""
    seed: int = 0


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: For HEAD: the length the GET would have.
    content_length: int | None = None


@dataclass
class Request:
    method: str
    host: str  # the host routed on, without port
    path: str  # decoded
    params: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names, values as received (latin-1)
    body: bytes
    bucket: str = ""
    key: str = ""
    path_style: bool = False

    def param(self, name: str) -> str | None:
        for k, v in self.params:
            if k == name:
                return v
        return None

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.params)


@dataclass
class Upload:
    bucket: str
    key: str
    content_type: str
    headers: dict[str, str]
    parts: dict[int, tuple[bytes, str]] = field(default_factory=dict)


class CosError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RateLimiter:
    """A token bucket: ``rate`` requests per second, bursts of at most max(1, rate)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.capacity, self._clock = rate, max(1.0, rate), clock
        self._tokens, self._last = self.capacity, clock()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        if self.rate <= 0:
            return True
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def _quote_etag(etag: str) -> str:
    return f'"{etag}"'


def _xml(root: str, body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{body}</{root}>'.encode()


def _el(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def _as_utf8(value: str) -> str:
    """Header values arrive as latin-1 text; signers signed the UTF-8 text when it is one."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _split_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class EmulatorApp:
    """ASGI callable. Thread-safe enough for one event loop plus worker threads."""

    def __init__(self, store: Store | None = None, config: EmulatorConfig | None = None) -> None:
        self.store = store or Store()
        self.config = config or EmulatorConfig()
        if self.config.ci_engine not in ENGINES:
            raise ValueError(f"unknown ci engine {self.config.ci_engine!r}; expected one of {', '.join(ENGINES)}")
        self.faults = FaultPlan(self.config.faults, self.config.seed)
        self.ci_limiter = RateLimiter(self.config.ci_rate)
        self._temporary: dict[str, tuple[str, str]] = {}
        self._uploads: dict[str, Upload] = {}
        self._ci_cache: dict[tuple[str, str, str], bytes] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._locator: Any = None
        self.clock: Callable[[], float] = time.time

    # -- configuration -------------------------------------------------------------------------------

    def add_credentials(self, secret_id: str, secret_key: str) -> None:
        self.config.credentials[secret_id] = secret_key

    def add_temporary(self, secret_id: str, secret_key: str, token: str) -> None:
        """Temporary (STS) credentials: requests must carry ``x-cos-security-token: token``."""
        with self._lock:
            self._temporary[secret_id] = (secret_key, token)

    # -- ASGI ----------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        request_id = self._request_id()
        request = self._parse(scope, bytes(body))
        op = self._op(request)
        delay = self.config.latency_ms + self.faults.latency_ms(op)
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)
        fault = self.faults.draw(op)
        if fault is Fault.RESET or (fault is Fault.TRUNCATE and request.method == "HEAD"):
            await self._reset(send)
        try:
            if fault is Fault.ERROR:
                raise CosError(500, "InternalError", "We encountered an internal error. Please try again.")
            if fault is Fault.SLOWDOWN:
                raise CosError(503, "SlowDown", "Please reduce your request rate.")
            reply = await self._handle(request)
        except CosError as exc:
            reply = self._error(request, request_id, exc)
        await self._send(send, request, reply, request_id, truncate=fault is Fault.TRUNCATE)

    @staticmethod
    async def _reset(send: Send) -> None:
        """Close without a response: a header the HTTP layer must refuse fails before anything is written."""
        with contextlib.suppress(Exception):
            await send({"type": "http.response.start", "status": 200, "headers": [(b"x-emulator-reset", b"\r\n")]})
        raise InjectedFault("connection reset (injected)")

    async def _send(self, send: Send, request: Request, reply: Reply, request_id: str, *, truncate: bool) -> None:
        length = reply.content_length if reply.content_length is not None else len(reply.body)
        headers = [
            (b"Server", b"tencent-cos"),
            (b"x-cos-request-id", request_id.encode()),
            (b"Content-Length", str(max(length, 1) if truncate else length).encode()),
        ]
        for name, value in reply.headers:
            headers.append((name.encode("latin-1"), value.encode("latin-1", "replace")))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if truncate:
            await send({"type": "http.response.body", "body": reply.body[: len(reply.body) // 2], "more_body": True})
            raise InjectedFault("truncated body (injected)")
        await send({"type": "http.response.body", "body": b"" if request.method == "HEAD" else reply.body})

    def _request_id(self) -> str:
        raw = f"{int(self.clock()):x}_{os.urandom(4).hex()}_{next(self._counter):x}"
        return base64.b64encode(raw.encode()).decode()

    def _error(self, request: Request, request_id: str, exc: CosError) -> Reply:
        if request.method == "HEAD":
            return Reply(exc.status)
        resource = f"{request.host}{quote(request.path)}"
        body = _xml(
            "Error",
            _el("Code", exc.code)
            + _el("Message", exc.message)
            + _el("Resource", resource)
            + _el("RequestId", request_id)
            + _el("TraceId", request_id),
        )
        return Reply(exc.status, body, [("Content-Type", "application/xml")])

    # -- parsing and routing -------------------------------------------------------------------------

    def _parse(self, scope: Scope, body: bytes) -> Request:
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", []):
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        raw_path: bytes = scope.get("raw_path") or scope.get("path", "/").encode("utf-8")
        authority = ""
        if raw_path[:7].lower() == b"http://" or raw_path[:8].lower() == b"https://":
            parts = urlsplit(raw_path.decode("latin-1"))
            authority, raw_path = parts.netloc, (parts.path or "/").encode("latin-1")
            headers.setdefault("host", authority)
        path = unquote_to_bytes(raw_path).decode("utf-8", "replace")
        query = scope.get("query_string", b"").decode("utf-8", "replace")
        params = parse_qsl(query, keep_blank_values=True)
        host = _split_host(authority or headers.get("host", ""))
        request = Request(scope.get("method", "GET").upper(), host, path, params, headers, body)
        match = HOST_RE.match(host)
        if match:
            request.bucket, request.key = match.group("bucket"), path[1:]
        else:
            bucket, _, key = path[1:].partition("/")
            request.bucket, request.key, request.path_style = bucket, key, True
        return request

    @staticmethod
    def _op(request: Request) -> str:
        if request.has("ci-process"):
            return "ci"
        if request.method == "GET":
            return "get" if request.key else "list"
        return {"HEAD": "head", "PUT": "put", "DELETE": "delete", "POST": "post"}.get(request.method, "get")

    async def _handle(self, request: Request) -> Reply:
        if not request.bucket:
            raise CosError(400, "InvalidURI", "No bucket in the request: use <bucket>.cos.<region>.myqcloud.com")
        self._authenticate(request)
        if not request.key and request.method == "PUT" and not request.params:
            return self._put_bucket(request)
        if not self.store.has_bucket(request.bucket):
            raise CosError(404, "NoSuchBucket", "The specified bucket does not exist.")
        if request.method == "GET" and request.has("ci-process"):
            return await self._ci(request)
        if not request.key:
            if request.method == "GET":
                return self._list(request)
            if request.method == "HEAD":
                return Reply(200)
            raise CosError(501, "NotImplemented", "This bucket operation is not implemented by the emulator.")
        if request.has("uploads") and request.method == "POST":
            return self._initiate(request)
        if request.has("uploadId"):
            return self._multipart(request)
        if request.method in ("GET", "HEAD"):
            return self._get(request)
        if request.method == "PUT":
            return self._put(request)
        if request.method == "DELETE":
            self.store.delete(request.bucket, request.key)
            return Reply(204)
        raise CosError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    # -- auth ----------------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        auth = request.headers.get("authorization", "")
        if auth:
            fields = parse_authorization(auth)
        elif request.has("q-signature"):
            fields = {k: v for k, v in request.params if k.startswith("q-")}
        elif request.has("sign"):
            fields = parse_authorization(request.param("sign") or "")
        else:
            raise CosError(403, "AccessDenied", "Access Denied: the bucket is private and the request is anonymous.")
        secret_id = fields.get("q-ak", "")
        with self._lock:
            temporary = self._temporary.get(secret_id)
        if temporary is not None:
            secret_key, token = temporary
            sent = request.headers.get("x-cos-security-token") or request.param("x-cos-security-token")
            if not sent:
                raise CosError(403, "InvalidAccessKeyId", "The temporary SecretId needs x-cos-security-token.")
            if not hmac.compare_digest(sent.encode(), token.encode()):
                raise CosError(403, "AccessDenied", "The security token does not match the temporary SecretId.")
        elif secret_id in self.config.credentials:
            secret_key = self.config.credentials[secret_id]
        else:
            raise CosError(403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.")
        try:
            start, end = (int(t) for t in fields.get("q-sign-time", "").split(";"))
        except ValueError:
            raise CosError(403, "AccessDenied", "Invalid q-sign-time.") from None
        if not start <= self.clock() <= end:
            raise CosError(403, "AccessDenied", "Request has expired")
        params = [(k, v) for k, v in request.params if not k.startswith("q-") and k != "sign"]
        signed_headers = {k: _as_utf8(v) for k, v in request.headers.items()}
        hosts = [signed_headers.get("host", request.host)]
        hosts.append(_split_host(hosts[0]))
        paths = [request.path, "/" + request.key] if request.path_style else [request.path]
        for host, path in itertools.product(dict.fromkeys(hosts), paths):
            signed_headers["host"] = host
            if verify(
                fields=fields,
                secret_key=secret_key,
                method=request.method,
                path=path,
                params=params,
                headers=signed_headers,
            ):
                return
        raise CosError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )

    # -- buckets -------------------------------------------------------------------------------------

    def _put_bucket(self, request: Request) -> Reply:
        if not valid_bucket(request.bucket):
            raise CosError(400, "InvalidBucketName", "The specified bucket name is not valid.")
        if not self.store.create_bucket(request.bucket):
            raise CosError(409, "BucketAlreadyExists", "The requested bucket name is not available.")
        return Reply(200)

    def _list(self, request: Request) -> Reply:
        unknown = {k for k, _ in request.params if k not in _LIST_PARAMS and not k.startswith("q-") and k != "sign"}
        if unknown - {"x-cos-security-token"}:
            raise CosError(501, "NotImplemented", f"GET Bucket with {sorted(unknown)[0]!r} is not implemented.")
        prefix = request.param("prefix") or ""
        delimiter = request.param("delimiter") or ""
        marker = request.param("marker") or ""
        encoding = request.param("encoding-type") or ""
        if encoding and encoding != "url":
            raise CosError(400, "InvalidArgument", "encoding-type must be 'url'.")
        max_text = request.param("max-keys") or str(MAX_KEYS)
        if not max_text.isdigit():
            raise CosError(400, "InvalidArgument", "max-keys must be a non-negative integer.")
        max_keys = min(int(max_text), MAX_KEYS)
        contents: list[ObjectMeta] = []
        prefixes: list[str] = []
        truncated, last = False, ""
        for meta in self.store.keys(request.bucket):
            key = meta.key
            if not key.startswith(prefix) or key <= marker:
                continue
            common = ""
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[: cut + len(delimiter)]
                    if marker.startswith(common) or (prefixes and prefixes[-1] == common):
                        continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = max_keys > 0
                break
            if common:
                prefixes.append(common)
            else:
                contents.append(meta)
            last = common or key

        def enc(text: str) -> str:
            return quote(text, safe="/") if encoding == "url" else text

        parts = [_el("Name", request.bucket)]
        if encoding:
            parts.append(_el("EncodingType", encoding))
        parts += [_el("Prefix", enc(prefix)), _el("Marker", enc(marker)), _el("MaxKeys", max_keys)]
        if delimiter:
            parts.append(_el("Delimiter", enc(delimiter)))
        parts.append(_el("IsTruncated", "true" if truncated else "false"))
        if truncated:
            parts.append(_el("NextMarker", enc(last)))
        appid = request.bucket.rsplit("-", 1)[1]
        for meta in contents:
            parts.append(
                "<Contents>"
                + _el("Key", enc(meta.key))
                + _el("LastModified", _iso(meta.last_modified))
                + _el("ETag", _quote_etag(meta.etag))
                + _el("Size", meta.size)
                + f"<Owner>{_el('ID', appid)}{_el('DisplayName', appid)}</Owner>"
                + _el("StorageClass", "STANDARD")
                + "</Contents>"
            )
        parts += [f"<CommonPrefixes>{_el('Prefix', enc(p))}</CommonPrefixes>" for p in prefixes]
        return Reply(200, _xml("ListBucketResult", "".join(parts)), [("Content-Type", "application/xml")])

    # -- objects -------------------------------------------------------------------------------------

    @staticmethod
    def _check_md5(request: Request, data: bytes) -> str:
        digest = hashlib.md5(data, usedforsecurity=False)
        sent = request.headers.get("content-md5")
        if sent is not None:
            try:
                expected = base64.b64decode(sent.strip(), validate=True)
            except ValueError:
                expected = b""
            if len(expected) != 16:
                raise CosError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
            if not hmac.compare_digest(expected, digest.digest()):
                raise CosError(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        return digest.hexdigest()

    def _check_overwrite(self, request: Request) -> None:
        forbid = request.headers.get("x-cos-forbid-overwrite", "").strip().lower() == "true"
        if forbid and self.store.head(request.bucket, request.key) is not None:
            raise CosError(409, "FileAlreadyExists", "The object already exists and x-cos-forbid-overwrite is true.")

    @staticmethod
    def _kept_headers(request: Request) -> dict[str, str]:
        return {k: v for k, v in request.headers.items() if k.startswith("x-cos-meta-") or k in _STORED_HEADERS}

    def _put(self, request: Request) -> Reply:
        if "x-cos-copy-source" in request.headers:
            raise CosError(501, "NotImplemented", "PUT Object - Copy is not implemented by the emulator.")
        etag = self._check_md5(request, request.body)
        self._check_overwrite(request)
        meta = ObjectMeta(
            key=request.key,
            size=len(request.body),
            etag=etag,
            crc64=crc64(request.body),
            last_modified=self.clock(),
            content_type=request.headers.get("content-type") or "application/octet-stream",
            headers=self._kept_headers(request),
        )
        self.store.put(request.bucket, meta, request.body)
        return Reply(200, headers=[("ETag", _quote_etag(etag)), ("x-cos-hash-crc64ecma", str(meta.crc64))])

    def _get(self, request: Request) -> Reply:
        meta = self.store.head(request.bucket, request.key)
        if meta is None:
            raise CosError(404, "NoSuchKey", "The specified key does not exist.")
        headers = [
            ("Content-Type", meta.content_type),
            ("ETag", _quote_etag(meta.etag)),
            ("Last-Modified", formatdate(meta.last_modified, usegmt=True)),
            ("Accept-Ranges", "bytes"),
            ("x-cos-hash-crc64ecma", str(meta.crc64)),
            *meta.headers.items(),
        ]
        for param, header in _RESPONSE_OVERRIDES.items():
            value = request.param(param)
            if value:
                headers = [(k, v) for k, v in headers if k.lower() != header] + [(header, value)]
        if_match = request.headers.get("if-match")
        if if_match is not None and if_match.strip() not in (_quote_etag(meta.etag), meta.etag, "*"):
            raise CosError(412, "PreconditionFailed", "At least one of the preconditions you specified did not hold.")
        if request.headers.get("if-none-match", "").strip() in (_quote_etag(meta.etag), meta.etag, "*"):
            return Reply(304, headers=[("ETag", _quote_etag(meta.etag))])
        span = self._range(request.headers.get("range"), meta.size)
        if request.method == "HEAD":
            return Reply(200, headers=headers, content_length=meta.size)
        found = self.store.get(request.bucket, request.key)
        if found is None:
            raise CosError(404, "NoSuchKey", "The specified key does not exist.")
        data = found[1]
        if span is None:
            return Reply(200, data, headers)
        first, last = span
        headers.append(("Content-Range", f"bytes {first}-{last}/{meta.size}"))
        return Reply(206, data[first : last + 1], headers)

    @staticmethod
    def _range(value: str | None, size: int) -> tuple[int, int] | None:
        """One ``bytes=a-b`` range (inclusive); anything unparsable is ignored, as HTTP says."""
        match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", value or "")
        if match is None or match.group(1) + match.group(2) == "":
            return None
        if match.group(1) == "":
            suffix = int(match.group(2))
            if suffix == 0:
                raise CosError(416, "InvalidRange", "The requested range is not satisfiable.")
            return max(0, size - suffix), size - 1
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else size - 1
        if first >= size or last < first:
            raise CosError(416, "InvalidRange", "The requested range is not satisfiable.")
        return first, min(last, size - 1)

    # -- multipart -----------------------------------------------------------------------------------

    def _initiate(self, request: Request) -> Reply:
        upload_id = f"{int(self.clock() * 1000)}{os.urandom(8).hex()}"
        with self._lock:
            self._uploads[upload_id] = Upload(
                request.bucket,
                request.key,
                request.headers.get("content-type") or "application/octet-stream",
                self._kept_headers(request),
            )
        body = _el("Bucket", request.bucket) + _el("Key", request.key) + _el("UploadId", upload_id)
        return Reply(200, _xml("InitiateMultipartUploadResult", body), [("Content-Type", "application/xml")])

    def _multipart(self, request: Request) -> Reply:
        upload_id = request.param("uploadId") or ""
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None or (upload.bucket, upload.key) != (request.bucket, request.key):
            raise CosError(404, "NoSuchUpload", "The specified upload does not exist.")
        if request.method == "PUT":
            number_text = request.param("partNumber") or ""
            if not number_text.isdigit() or not 1 <= int(number_text) <= 10000:
                raise CosError(400, "InvalidArgument", "partNumber must be an integer within 1-10000.")
            etag = self._check_md5(request, request.body)
            with self._lock:
                upload.parts[int(number_text)] = (request.body, etag)
            return Reply(200, headers=[("ETag", _quote_etag(etag))])
        if request.method == "DELETE":
            with self._lock:
                self._uploads.pop(upload_id, None)
            return Reply(204)
        if request.method == "POST":
            return self._complete(request, upload_id, upload)
        raise CosError(501, "NotImplemented", "This multipart operation is not implemented by the emulator.")

    def _complete(self, request: Request, upload_id: str, upload: Upload) -> Reply:
        try:
            root = safe_et.fromstring(request.body, forbid_dtd=True)
            listed = [
                (int((part.findtext("PartNumber") or "").strip()), (part.findtext("ETag") or "").strip().strip('"'))
                for part in root.iter("Part")
            ]
        except (ParseError, ValueError, TypeError):
            raise CosError(400, "MalformedXML", "The XML you provided was not well-formed.") from None
        if not listed:
            raise CosError(400, "MalformedXML", "The XML you provided lists no parts.")
        numbers = [n for n, _ in listed]
        if numbers != sorted(set(numbers)):
            raise CosError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        chunks: list[bytes] = []
        for index, (number, etag) in enumerate(listed):
            stored = upload.parts.get(number)
            if stored is None or stored[1] != etag:
                raise CosError(400, "InvalidPart", f"Part {number} was not uploaded or its ETag does not match.")
            if index < len(listed) - 1 and len(stored[0]) < MIN_PART_SIZE:
                raise CosError(400, "EntityTooSmall", f"Part {number} is smaller than the 1 MB minimum.")
            chunks.append(stored[0])
        self._check_overwrite(request)
        data = b"".join(chunks)
        joined = b"".join(bytes.fromhex(upload.parts[n][1]) for n in numbers)
        etag = f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(numbers)}"
        meta = ObjectMeta(request.key, len(data), etag, crc64(data), self.clock(), upload.content_type, upload.headers)
        self.store.put(request.bucket, meta, data)
        with self._lock:
            self._uploads.pop(upload_id, None)
        body = (
            _el("Location", f"{request.host}/{request.key}")
            + _el("Bucket", request.bucket)
            + _el("Key", request.key)
            + _el("ETag", _quote_etag(etag))
        )
        return Reply(
            200,
            _xml("CompleteMultipartUploadResult", body),
            [("Content-Type", "application/xml"), ("x-cos-hash-crc64ecma", str(meta.crc64))],
        )

    # -- AILicenseRec --------------------------------------------------------------------------------

    async def _ci(self, request: Request) -> Reply:
        if request.param("ci-process") != "AILicenseRec":
            raise CosError(400, "InvalidArgument", "Only ci-process=AILicenseRec is emulated.")
        card = request.param("CardType") or "DriverLicense"
        if card not in CARD_TYPES:
            raise CosError(400, "InvalidArgument", "CardType must be IDCard or DriverLicense.")
        bucket, key = request.bucket, request.key
        if not key:
            url = request.param("detect-url")
            if not url:
                raise CosError(400, "InvalidArgument", "Give an object key or detect-url.")
            bucket, key = self._resolve_url(url)
        if not self.ci_limiter.allow():
            raise CosError(503, "SlowDown", "Please reduce your request rate.")
        found = self.store.get(bucket, key) if self.store.has_bucket(bucket) else None
        if found is None:
            raise CosError(404, "NoSuchKey", "The specified key does not exist.")
        digest = hashlib.sha256(found[1]).hexdigest()
        if self.config.ci_engine == "replay":
            sidecar = self.store.get(bucket, key + SIDECAR_SUFFIX)
            body = _NO_MATCH if sidecar is None or not _replay_matches(sidecar[1], card) else sidecar[1]
        else:
            cache_key = (digest, card, self.config.ci_engine)
            cached = self._ci_cache.get(cache_key)
            if cached is None:
                cached = await asyncio.to_thread(self._run_local, found[1], card, key)
                self._ci_cache[cache_key] = cached
            body = cached
        return Reply(200, body, [("Content-Type", "application/xml")])

    def _resolve_url(self, url: str) -> tuple[str, str]:
        """detect-url must name an object of this emulator: it never fetches the network."""
        parts = urlsplit(url)
        host = _split_host(parts.netloc)
        path = unquote_to_bytes(parts.path or "/").decode("utf-8", "replace")
        match = HOST_RE.match(host)
        if match:
            return match.group("bucket"), path[1:]
        if host in ("localhost", "127.0.0.1", "[::1]"):
            bucket, _, key = path[1:].partition("/")
            return bucket, key
        raise CosError(400, "InvalidImageSource", "detect-url must point at an object of this emulator.")

    def _run_local(self, data: bytes, card: str, name: str) -> bytes:
        from redactor.core.ailicenserec import render_response
        from redactor.core.fields import CardType, CardTypeHint
        from redactor.core.imaging import decode
        from redactor.core.results import Detection
        from redactor.errors import ImageError, ImageTooLargeError, RedactorError
        from redactor.locators.base import LocateRequest
        from redactor.locators.local import LocalLocator

        try:
            image = decode(data).image
        except ImageTooLargeError:
            raise CosError(400, "ImageTooLarge", "The image is too large.") from None
        except ImageError:
            raise CosError(400, "InvalidImageFormat", "The object is not an image the service reads.") from None
        with self._lock:
            if self._locator is None:
                self._locator = LocalLocator()
            locator = self._locator
        try:
            detection: Detection = locator.locate(LocateRequest(image, CardTypeHint(card), name))
        except RedactorError:
            raise CosError(500, "InternalError", "Recognition failed.") from None
        wanted = CardType(card)
        if detection.card_type is not None and detection.card_type is not wanted:
            return render_response(Detection(0))
        fields = tuple(f for f in detection.fields if f.card_type in (None, wanted))
        return render_response(Detection(1 if fields else 0, fields))


def credentials_from_env(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """``COS_SECRET_ID``/``COS_SECRET_KEY``, then ``TENCENTCLOUD_SECRET_ID``/``_KEY``."""
    for id_name, key_name in (
        ("COS_SECRET_ID", "COS_SECRET_KEY"),
        ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"),
    ):
        if environ.get(id_name) and environ.get(key_name):
            return environ[id_name], environ[key_name]
    return None


def _replay_matches(sidecar: bytes, card: str) -> bool:
    """A saved response answers only the card type it is about, as the service would: a
    driving licence asked about as an ID card finds nothing."""
    from redactor.core.ailicenserec import parse_response
    from redactor.core.fields import infer_card_type
    from redactor.errors import ResponseParseError

    try:
        detection = parse_response(sidecar)
    except ResponseParseError:
        return True  # let the client see (and refuse) the malformed body
    kind = infer_card_type(f.canonical for f in detection.fields if f.canonical)
    return kind is None or kind.value == card
