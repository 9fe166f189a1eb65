"""The in-memory twin of an object store, for unit tests: what COS offers the pipeline
(metadata, content types, write-once, sorted listing), in a dict, in microseconds."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from redactor.core.results import StoredObject
from redactor.core.stamps import ObjectHead, content_tag
from redactor.errors import StorageError
from redactor.storage.base import Entry, ReadObject, safe_key


@dataclass
class StoredItem:
    data: bytes
    metadata: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    @property
    def etag(self) -> str:
        return content_tag(self.data)


class MemoryStorage:
    """An :class:`~redactor.storage.base.ObjectStore` in memory. ``writes`` lists every key
    written, in order (a test sees a key written twice)."""

    lists_sorted = True

    def __init__(self, objects: dict[str, bytes] | None = None, name: str = "memory") -> None:
        self.items: dict[str, StoredItem] = {safe_key(k): StoredItem(bytes(v)) for k, v in (objects or {}).items()}
        self.writes: list[str] = []
        #: Every key read in full by ``read_object`` (a test sees a rerun that reads sources).
        self.reads: list[str] = []
        self._name = name
        self._lock = threading.Lock()

    @property
    def objects(self) -> dict[str, bytes]:
        """A snapshot: key to bytes."""
        with self._lock:
            return {k: v.data for k, v in self.items.items()}

    def describe(self) -> str:
        return f"memory:{self._name}"

    def iter_entries(self) -> Iterator[Entry]:
        for key, tag in self.iter_tags():
            yield Entry(key, tag=tag)

    def iter_tags(self) -> Iterator[tuple[str, str | None]]:
        with self._lock:
            tags = sorted((k, v.etag) for k, v in self.items.items())
        yield from tags

    def iter_keys(self) -> Iterator[str]:
        with self._lock:
            keys = sorted(self.items)
        yield from keys

    def _item(self, key: str) -> StoredItem:
        with self._lock:
            try:
                return self.items[safe_key(key)]
            except KeyError:
                raise StorageError(f"no object {key[:200]!r}") from None

    def read(self, key: str) -> bytes:
        self.reads.append(key)
        return self._item(key).data

    def read_with_type(self, key: str) -> tuple[bytes, str | None]:
        item = self._item(key)
        return item.data, item.content_type

    def read_object(self, key: str) -> ReadObject:
        item = self._item(key)
        self.reads.append(key)
        return ReadObject(item.data, item.content_type, item.etag)

    def read_optional(self, key: str) -> bytes | None:
        with self._lock:
            item = self.items.get(key)
        return None if item is None else item.data

    def exists(self, key: str) -> bool:
        with self._lock:
            return safe_key(key) in self.items

    def stat(self, key: str) -> dict[str, str] | None:
        head = self.head(key)
        return None if head is None else dict(head.metadata)

    def head(self, key: str) -> ObjectHead | None:
        with self._lock:
            item = self.items.get(safe_key(key))
        return None if item is None else ObjectHead(dict(item.metadata), item.etag)

    def write(
        self,
        key: str,
        data: bytes,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        replace: bool = True,
    ) -> None:
        key = safe_key(key)
        meta = {k.lower(): v for k, v in (metadata or {}).items()}
        with self._lock:
            current = self.items.get(key)
            if current is not None and not replace:
                same = current.data == data and all(current.metadata.get(k) == v for k, v in meta.items())
                if metadata is not None and same:
                    return  # a retried write that had landed: done once
                raise StorageError(f"{self.describe()}/{key[:200]} already exists")
            self.items[key] = StoredItem(bytes(data), meta, content_type)
            self.writes.append(key)

    def delete(self, key: str) -> None:
        with self._lock:
            self.items.pop(safe_key(key), None)

    def stored_object(self, key: str) -> StoredObject | None:
        return None  # no bucket a cloud locator could read it from
