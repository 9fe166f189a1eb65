"""The emulator as a plain ASGI app: COS XML API + ``ci-process=AILicenseRec``.

Routing: by Host ``<bucket>.cos[-internal].<region>.(myqcloud.com|tencentcos.cn)`` (also from an
absolute-form target, as clients behind a proxy send it), else path-style ``/<bucket>/<key>``
(for loopback convenience). Each request is authenticated (:mod:`~redactor.emulator.auth`),
then answered by its operation: buckets and objects (:mod:`~redactor.emulator.objects`),
multipart uploads (:mod:`~redactor.emulator.multipart`), AILicenseRec
(:mod:`~redactor.emulator.recognition`). Injected faults and latency apply to every operation.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urlsplit

from redactor.emulator.auth import authenticate
from redactor.emulator.faults import Fault, FaultPlan, InjectedFault
from redactor.emulator.multipart import Multipart
from redactor.emulator.objects import get_object, list_objects, put_bucket, put_object
from redactor.emulator.protocol import (
    HOST_RE,
    ErrorReply,
    Receive,
    Reply,
    Request,
    Scope,
    Send,
    element,
    split_host,
    xml_doc,
)
from redactor.emulator.recognition import ENGINES, Recognition
from redactor.emulator.stats import STATS_PATH, Counters
from redactor.emulator.store import Store

__all__ = ["ENGINES", "EmulatorApp", "EmulatorConfig", "credentials_from_env"]


@dataclass
class EmulatorConfig:
    """Everything the CLI can set. ``credentials`` maps SecretId to SecretKey (permanent keys)."""

    credentials: dict[str, str] = field(default_factory=dict)
    latency_ms: float = 0.0
    ci_engine: str = "replay"
    ci_rate: float = 0.0
    faults: str = ""
    seed: int = 0


class EmulatorApp:
    """ASGI callable. Thread-safe enough for one event loop plus worker threads."""

    def __init__(self, store: Store | None = None, config: EmulatorConfig | None = None) -> None:
        self.store = store or Store()
        self.config = config or EmulatorConfig()
        self.recognition = Recognition(self.store, self.config.ci_engine, self.config.ci_rate)
        self.faults = FaultPlan(self.config.faults, self.config.seed)
        self.clock: Callable[[], float] = time.time
        self.multipart = Multipart(self.store, lambda: self.clock())
        self._temporary: dict[str, tuple[str, str]] = {}
        self._counter = itertools.count(1)
        self.counters = Counters()
        self._lock = threading.Lock()

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
        if request.path_style and request.method == "GET" and request.path == STATS_PATH:
            try:
                stats = self._stats(request)
            except ErrorReply as exc:
                stats = self._error(request, request_id, exc)
            await self._send(send, request, stats, request_id, truncate=False)
            return
        op = self._op(request)
        self.counters.arrived(op)
        delay = self.config.latency_ms + self.faults.latency_ms(op)
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)
        fault = self.faults.draw(op)
        if fault is Fault.RESET or (fault is Fault.TRUNCATE and request.method == "HEAD"):
            self.counters.record(request, op, "reset")
            await self._reset(send)
        try:
            if fault is Fault.ERROR:
                raise ErrorReply(500, "InternalError", "We encountered an internal error. Please try again.")
            if fault is Fault.SLOWDOWN:
                raise ErrorReply(503, "SlowDown", "Please reduce your request rate.")
            reply = await self._handle(request)
        except ErrorReply as exc:
            reply = self._error(request, request_id, exc)
        self.counters.record(request, op, "truncated" if fault is Fault.TRUNCATE else reply.status)
        await self._send(send, request, reply, request_id, truncate=fault is Fault.TRUNCATE)

    def _stats(self, request: Request) -> Reply:
        limiter = self.recognition.limiter
        tokens = None if limiter is None else limiter.available()
        since = request.param("since")
        try:
            after = float(since) if since is not None else None
        except ValueError:
            raise ErrorReply(400, "InvalidArgument", "since must be a number (a monotonic time)") from None
        return Reply(200, self.counters.to_json(tokens, after), [("Content-Type", "application/json")])

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

    def _error(self, request: Request, request_id: str, exc: ErrorReply) -> Reply:
        if request.method == "HEAD":
            return Reply(exc.status)
        resource = f"{request.host}{quote(request.path)}"
        body = xml_doc(
            "Error",
            element("Code", exc.code)
            + element("Message", exc.message)
            + element("Resource", resource)
            + element("RequestId", request_id)
            + element("TraceId", request_id),
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
        host = split_host(authority or headers.get("host", ""))
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
            raise ErrorReply(400, "InvalidURI", "No bucket in the request: use <bucket>.cos.<region>.myqcloud.com")
        with self._lock:
            temporary = dict(self._temporary)
        authenticate(request, self.config.credentials, temporary, self.clock())
        if not request.key and request.method == "PUT" and not request.params:
            return put_bucket(self.store, request)
        if not self.store.has_bucket(request.bucket):
            raise ErrorReply(404, "NoSuchBucket", "The specified bucket does not exist.")
        if request.method == "GET" and request.has("ci-process"):
            return await self.recognition.answer(request)
        if not request.key:
            if request.method == "GET":
                return list_objects(self.store, request)
            if request.method == "HEAD":
                return Reply(200)
            raise ErrorReply(501, "NotImplemented", "This bucket operation is not implemented by the emulator.")
        if request.has("uploads") and request.method == "POST":
            return self.multipart.initiate(request)
        if request.has("uploadId"):
            return self.multipart.handle(request)
        if request.method in ("GET", "HEAD"):
            return get_object(self.store, request)
        if request.method == "PUT":
            return put_object(self.store, request, self.clock())
        if request.method == "DELETE":
            self.store.delete(request.bucket, request.key)
            return Reply(204)
        raise ErrorReply(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")


def credentials_from_env(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """``COS_SECRET_ID``/``COS_SECRET_KEY``, then ``TENCENTCLOUD_SECRET_ID``/``_KEY``."""
    for id_name, key_name in (
        ("COS_SECRET_ID", "COS_SECRET_KEY"),
        ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"),
    ):
        if environ.get(id_name) and environ.get(key_name):
            return environ[id_name], environ[key_name]
    return None
