"""In-memory storage twin for unit tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from redactor.errors import StorageError
from redactor.storage.base import safe_key


class MemoryStorage:
    def __init__(self, objects: dict[str, bytes] | None = None, name: str = "memory") -> None:
        self.objects: dict[str, bytes] = {safe_key(k): v for k, v in (objects or {}).items()}
        self.writes: list[str] = []
        self._name = name
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"memory:{self._name}"

    def iter_keys(self) -> Iterator[str]:
        with self._lock:
            keys = sorted(self.objects)
        yield from keys

    def read(self, key: str) -> bytes:
        with self._lock:
            try:
                return self.objects[safe_key(key)]
            except KeyError:
                raise StorageError(f"no object {key[:200]!r}") from None

    def read_optional(self, key: str) -> bytes | None:
        with self._lock:
            return self.objects.get(key)

    def exists(self, key: str) -> bool:
        with self._lock:
            return safe_key(key) in self.objects

    def write(self, key: str, data: bytes) -> None:
        with self._lock:
            self.objects[safe_key(key)] = bytes(data)
            self.writes.append(key)

    def delete(self, key: str) -> None:
        with self._lock:
            self.objects.pop(safe_key(key), None)
