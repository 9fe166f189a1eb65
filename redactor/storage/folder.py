"""A local folder as storage: recursive listing, atomic writes, no escaping the root."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from redactor.errors import StorageError, UnsafeKeyError
from redactor.storage.base import safe_key


class FolderStorage:
    def __init__(self, root: Path | str, *, create: bool = False) -> None:
        self.root = Path(root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve()

    def describe(self) -> str:
        return str(self.root)

    def path_for(self, key: str) -> Path:
        """The file for ``key``; refuses keys (or symlinked folders) that lead outside the root."""
        key = safe_key(key)
        path = self._real_root.joinpath(*key.split("/"))
        parent = path.parent.resolve() if path.parent.exists() else path.parent
        if parent != self._real_root and self._real_root not in parent.parents:
            raise UnsafeKeyError(f"key {key[:80]!r} resolves outside {self.root}")
        return path

    def iter_keys(self) -> Iterator[str]:
        """Every regular file below the root, sorted, as relative keys (symlinked folders are not followed)."""
        if not self._real_root.is_dir():
            raise StorageError(f"{self.root} is not a folder")
        for dirpath, dirnames, filenames in os.walk(self._real_root, followlinks=False):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, self._real_root)
            for filename in sorted(filenames):
                full = os.path.join(dirpath, filename)
                if not os.path.isfile(full):
                    continue
                rel = filename if rel_dir == "." else f"{rel_dir}/{filename}".replace(os.sep, "/")
                yield rel

    def read(self, key: str) -> bytes:
        try:
            return self.path_for(key).read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read {key[:200]!r}: {exc.strerror or type(exc).__name__}") from None

    def read_optional(self, key: str) -> bytes | None:
        try:
            path = self.path_for(key)
        except UnsafeKeyError:
            return None
        if not path.is_file():
            return None
        return self.read(key)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def write(self, key: str, data: bytes) -> None:
        """Write via a temporary file in the same folder, fsync, then rename over the target."""
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".redactor-", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"cannot write {key[:200]!r}: {exc.strerror or type(exc).__name__}") from None

    def delete(self, key: str) -> None:
        try:
            self.path_for(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key[:200]!r}: {exc.strerror or type(exc).__name__}") from None
