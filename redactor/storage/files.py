"""Reading local files: one rule for every file redactor reads from a path.

The size is checked with ``stat`` before anything is read (a 3 GiB file is never
loaded to be refused), FIFOs, devices and sockets are refused without being opened
(opening a FIFO blocks until a writer comes), and links are followed only where the
caller named the file itself (never for what a walk of SRC finds).
"""

from __future__ import annotations

import os
import stat as _stat
from collections.abc import Callable
from pathlib import Path

from redactor.errors import FileTooLargeError, NotRegularFileError, StorageError


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words for a report ("a FIFO", "a symbolic link")."""
    if _stat.S_ISLNK(mode):
        return "a symbolic link"
    if _stat.S_ISDIR(mode):
        return "a folder"
    if _stat.S_ISFIFO(mode):
        return "a FIFO"
    if _stat.S_ISCHR(mode):
        return "a character device"
    if _stat.S_ISBLK(mode):
        return "a block device"
    if _stat.S_ISSOCK(mode):
        return "a socket"
    return "a regular file" if _stat.S_ISREG(mode) else "a special file"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def read_regular_file(path: str | os.PathLike[str], max_bytes: int, *, follow_links: bool = False) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; anything else is a StorageError
    (:class:`NotRegularFileError`, :class:`FileTooLargeError`) that names no content."""
    name = os.fspath(path)
    try:
        info = os.stat(name) if follow_links else os.lstat(name)
    except OSError as exc:
        raise StorageError(f"cannot read: {_reason(exc)}") from None
    _check(info, max_bytes, follow_links)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        raise StorageError(f"cannot read: {_reason(exc)}") from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise NotRegularFileError("the file was replaced while it was being opened")
        _check(opened, max_bytes, follow_links)
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise StorageError(f"cannot read: {_reason(exc)}") from None
    if len(data) > max_bytes:
        raise FileTooLargeError(f"the file grew over the {max_bytes} byte limit while it was read")
    return data


def _check(info: os.stat_result, max_bytes: int, follow_links: bool) -> None:
    if not _stat.S_ISREG(info.st_mode):
        what = kind_of(info.st_mode)
        extra = ": not followed" if _stat.S_ISLNK(info.st_mode) else ": not opened"
        raise NotRegularFileError(f"{what}, not a regular file{extra}")
    if info.st_size > max_bytes:
        raise FileTooLargeError(f"the file is {info.st_size} bytes, over the {max_bytes} byte limit: not read")


def is_present(path: Path) -> bool:
    """Whether anything (even a broken link) is at ``path``."""
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


def companion_reader(path: Path, max_bytes: int) -> Callable[[str], bytes | None]:
    """What :class:`~redactor.locators.base.LocateRequest` reads files beside a named image with:
    ``<name><suffix>`` by the image's own rule (links followed), ``None`` when nothing is there."""

    def companion(suffix: str) -> bytes | None:
        side = path.with_name(path.name + suffix)
        return read_regular_file(side, max_bytes, follow_links=True) if is_present(side) else None

    return companion
