"""A local folder as storage: recursive listing, atomic writes, no escaping the root.

The walk is the one place that decides what below a source folder is an input: regular
files only. Links (to files, folders, devices, or nowhere) are never followed, FIFOs,
devices and sockets never opened, names that are not UTF-8 never used as keys; each is
still listed, with the reason, so the report accounts for every entry.
"""

from __future__ import annotations

import os
import stat as _stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from redactor.core.imaging import DEFAULT_MAX_BYTES
from redactor.errors import StorageError, UnsafeKeyError
from redactor.storage.base import Entry, safe_key
from redactor.storage.files import is_present, kind_of, read_regular_file

_umask_lock = threading.Lock()
_umask: int | None = None


def _current_umask() -> int:
    """The process umask (read once: setting it to read it is not thread-safe)."""
    global _umask
    with _umask_lock:
        if _umask is None:
            _umask = os.umask(0o022)
            os.umask(_umask)
        return _umask


def display_key(raw: bytes) -> str:
    """A printable stand-in for a path that is not UTF-8 (``\\xff`` for the byte 0xff);
    it holds a backslash, so it can never be taken for a real key."""
    return raw.decode("utf-8", "backslashreplace")


def _link_target(path: bytes) -> str:
    """What a link points to, in words, without opening it or naming where it leads."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "that leads nowhere (broken)"
    return "to a folder" if _stat.S_ISDIR(mode) else f"to {kind_of(mode)}"


class FolderStorage:
    def __init__(self, root: Path | str, *, create: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the folder {self.root}: {exc.strerror or type(exc).__name__}"
                ) from None
        self._real_root = self.root.resolve()
        #: Files over this size are refused by their size, before any byte is read.
        self.max_bytes = max_bytes
        _current_umask()

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

    def iter_entries(self) -> Iterator[Entry]:
        """Every entry below the root, sorted by name, links and special files included
        (with why they are refused); folders are walked, symlinked folders are not."""
        if not self._real_root.is_dir():
            raise StorageError(f"{self.root} is not a folder")
        yield from self._walk(os.fsencode(self._real_root), b"")

    def _walk(self, folder: bytes, prefix: bytes) -> Iterator[Entry]:
        try:
            with os.scandir(folder) as listing:
                children = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            if prefix:
                yield Entry(self._key(prefix[:-1])[0], f"folder cannot be listed: {exc.strerror or 'error'}")
                return
            raise StorageError(f"cannot list {self.root}: {exc.strerror or type(exc).__name__}") from None
        for child in children:
            rel = prefix + child.name
            key, unicode_ok = self._key(rel)
            try:
                mode = child.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                yield Entry(key, f"cannot be examined: {exc.strerror or 'error'}")
                continue
            if _stat.S_ISDIR(mode):
                yield from self._walk(child.path, rel + b"/")
            elif not unicode_ok:
                yield Entry(key, "the file name is not valid UTF-8: rename it to process it")
            elif _stat.S_ISLNK(mode):
                yield Entry(
                    key, f"a symbolic link {_link_target(child.path)}: not followed (links may lead outside SRC)"
                )
            elif not _stat.S_ISREG(mode):
                yield Entry(key, f"{kind_of(mode)}, not a regular file: not opened")
            else:
                try:
                    yield Entry(safe_key(key))
                except UnsafeKeyError as exc:
                    yield Entry(key, f"the file name cannot be used as a key ({exc})")

    @staticmethod
    def _key(rel: bytes) -> tuple[str, bool]:
        try:
            return rel.decode("utf-8"), True
        except UnicodeDecodeError:
            return display_key(rel), False

    def iter_keys(self) -> Iterator[str]:
        """Every regular file below the root, sorted, as relative keys (nothing else)."""
        for entry in self.iter_entries():
            if entry.refused is None:
                yield entry.key

    def read(self, key: str) -> bytes:
        """A regular file of at most ``max_bytes`` (checked before reading); links are not followed."""
        try:
            return read_regular_file(self.path_for(key), self.max_bytes)
        except StorageError as exc:
            raise type(exc)(f"cannot read {key[:200]!r}: {str(exc).removeprefix('cannot read: ')}") from None

    def read_optional(self, key: str) -> bytes | None:
        """The file, None when nothing is there; a link or special file there is an error."""
        try:
            path = self.path_for(key)
        except UnsafeKeyError:
            return None
        if not is_present(path):
            return None
        return self.read(key)

    def exists(self, key: str) -> bool:
        return is_present(self.path_for(key))

    def write(self, key: str, data: bytes) -> None:
        """Write via a temporary file in the same folder, fsync, then rename over the target.
        The file gets the mode a plain ``open`` would (0666 less the umask)."""
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".redactor-", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    os.fchmod(handle.fileno(), 0o666 & ~_current_umask())
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
