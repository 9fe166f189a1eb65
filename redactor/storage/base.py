"""The storage interface: where images come from and where results go.

Keys are relative, ``/``-separated paths. Folders and COS prefixes implement the same
small interface, so the pipeline does not care which it talks to. ``write`` is atomic:
a reader sees the old object or the new one, never a partial one.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from redactor.errors import UnsafeKeyError


@runtime_checkable
class Storage(Protocol):
    def describe(self) -> str: ...

    def iter_keys(self) -> Iterator[str]: ...

    def read(self, key: str) -> bytes: ...

    def read_optional(self, key: str) -> bytes | None: ...

    def exists(self, key: str) -> bool: ...

    def write(self, key: str, data: bytes) -> None: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class Entry:
    """One entry of a source listing. ``refused`` says why it is no input (a link, a FIFO,
    a name that is not UTF-8...): such entries are reported, never read."""

    key: str
    refused: str | None = None


def iter_entries(storage: Storage) -> Iterator[Entry]:
    """Every entry of ``storage``: its own ``iter_entries`` when it has one (folders hold
    links and special files), else each key as a plain input."""
    own = getattr(storage, "iter_entries", None)
    if own is not None:
        yield from own()
        return
    for key in storage.iter_keys():
        yield Entry(key)


def safe_key(key: str) -> str:
    """Normalise a relative key, refusing anything that could escape its root."""
    if not key or "\x00" in key:
        raise UnsafeKeyError("empty key or key with a NUL byte")
    if "\\" in key:
        raise UnsafeKeyError(f"key {key[:80]!r} contains a backslash")
    if key.startswith("/"):
        raise UnsafeKeyError(f"key {key[:80]!r} is absolute")
    parts = key.split("/")
    if any(p in ("..", ".") for p in parts) or any(p == "" for p in parts):
        raise UnsafeKeyError(f"key {key[:80]!r} has an empty, '.' or '..' segment")
    normal = posixpath.normpath(key)
    if normal != key:
        raise UnsafeKeyError(f"key {key[:80]!r} is not in normal form")
    return key
