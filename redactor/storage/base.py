"""The storage ports: where images come from and where results go.

Keys are relative, ``/``-separated paths. :class:`Storage` is what every store offers
(folders, object stores, the in-memory twin), so the pipeline does not care which it talks
to; :class:`ObjectStore` adds what object stores offer beyond it (metadata on every object,
content types, write-once, sorted listings, a handle a cloud locator reads the object by).
A run checks once, when it is assembled, which port a store offers. ``write`` is atomic: a
reader sees the old object or the new one, never a partial one.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from redactor.core.results import StoredObject
from redactor.core.stamps import ObjectHead
from redactor.errors import UnsafeKeyError


@runtime_checkable
class Storage(Protocol):
    """Every store: list, read, write, delete by key."""

    def describe(self) -> str: ...

    def iter_entries(self) -> Iterator[Entry]:
        """Every entry, inputs and refused ones (a folder's links and special files)."""
        ...

    def iter_keys(self) -> Iterator[str]: ...

    def read(self, key: str) -> bytes: ...

    def read_optional(self, key: str) -> bytes | None: ...

    def exists(self, key: str) -> bool: ...

    def write(self, key: str, data: bytes) -> None: ...

    def delete(self, key: str) -> None: ...


@runtime_checkable
class ObjectStore(Storage, Protocol):
    """An object store (COS, the in-memory twin): metadata and a content type on every
    object, write-once on request, keys listed in lexicographic order."""

    #: ``iter_keys`` lists in lexicographic order: a run learns what it holds by listing.
    lists_sorted: bool

    def stat(self, key: str) -> dict[str, str] | None:
        """The object's user metadata (lower-case names), or None when there is none."""
        ...

    def head(self, key: str) -> ObjectHead | None:
        """The object's metadata and ETag without reading it (None: no object)."""
        ...

    def read_with_type(self, key: str) -> tuple[bytes, str | None]:
        """The object and its stored Content-Type."""
        ...

    def read_object(self, key: str) -> ReadObject:
        """The object with its Content-Type and ETag, in one request."""
        ...

    def write(
        self,
        key: str,
        data: bytes,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        replace: bool = True,
    ) -> None:
        """``replace=False``: written at most once (an object already there is an error,
        unless it carries this very ``metadata``: a retried write that had landed)."""
        ...

    def iter_tags(self) -> Iterator[tuple[str, str | None]]:
        """(key, ETag) of every object, in lexicographic order of the keys."""
        ...

    def stored_object(self, key: str) -> StoredObject | None:
        """Where a cloud locator finds the object itself (None: nowhere it can read)."""
        ...


@dataclass(frozen=True)
class Entry:
    """One entry of a source listing. ``refused`` says why it is no input (a link, a FIFO,
    a name that is not UTF-8...): such entries are reported, never read. ``tag``: the
    object's ETag as listed (object stores), which lets a rerun decide without reading it."""

    key: str
    refused: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class ReadObject:
    """An object's bytes with what the store said about them."""

    data: bytes
    content_type: str | None
    etag: str | None


def entries_of(keys: Iterator[str]) -> Iterator[Entry]:
    """Keys as plain inputs: the entries of a store that holds nothing but objects."""
    for key in keys:
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
