"""The emulator's view of one HTTP exchange: the parsed request, the reply, the error reply,
and the XML and header helpers every operation shares (no I/O here)."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Virtual-hosted COS endpoints: ``<bucket>.cos[-internal].<region>.(myqcloud.com|tencentcos.cn)``.
HOST_RE = re.compile(
    r"^(?P<bucket>[A-Za-z0-9-]+-\d+)\.cos(?:-internal)?\.(?P<region>[a-z0-9-]+)\.(?:myqcloud\.com|tencentcos\.cn)$",
    re.IGNORECASE,
)


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


class ErrorReply(Exception):
    """An error the emulator answers with, as COS would (status, ``<Code>``, ``<Message>``).
    Server side only: clients see it as the XML error body their own error tree parses."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


def xml_doc(root: str, body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{body}</{root}>'.encode()


def element(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def iso_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def as_utf8(value: str) -> str:
    """Header values arrive as latin-1 text; signers signed the UTF-8 text when it is one."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def split_host(host: str) -> str:
    """The host without its port (IPv6 literals kept in brackets), lower-case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
