"""The file conventions of a run: which keys are inputs, which are companions or redactor's
own, where a quarantined image's reasons go. Users and other tools rely on them."""

from __future__ import annotations

import fnmatch
import hashlib
from pathlib import PurePosixPath

from redactor.core.imaging import EXTENSIONS
from redactor.locators.base import SIDECAR_SUFFIX

#: Files the pipeline itself reads or writes next to images; never treated as inputs.
COMPANION_SUFFIXES = (SIDECAR_SUFFIX, ".truth.json", ".reason.json")
#: redactor's own folder in a destination (reports, checkpoint); never an input in a source.
STATE_DIR = ".redactor"
#: The checkpoint's file name inside STATE_DIR.
MANIFEST_NAME = "manifest.jsonl"
#: The longest file name (bytes) most file systems take; a quarantined image's reason file
#: whose name would be longer gets a short name (it names its image inside).
MAX_NAME_BYTES = 255
REASON_SUFFIX = ".reason.json"


def reason_key(key: str) -> str:
    """Where a quarantined image's reasons go: beside it, ``<name>.reason.json``, or a short
    name from its hash when that name would be too long for the file system."""
    folder, _, name = key.rpartition("/")
    if len((name + REASON_SUFFIX).encode("utf-8")) <= MAX_NAME_BYTES:
        return key + REASON_SUFFIX
    short = f"{name.encode('utf-8')[:80].decode('utf-8', 'ignore')}~{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    return f"{folder}/{short}{REASON_SUFFIX}" if folder else f"{short}{REASON_SUFFIX}"


def is_image_key(key: str) -> bool:
    return PurePosixPath(key).suffix.lower() in EXTENSIONS


def is_companion_key(key: str) -> bool:
    return key.endswith(COMPANION_SUFFIXES)


def matches(key: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """Globs match the relative path or the file name (``*`` also crosses ``/``)."""
    name = PurePosixPath(key).name

    def hit(patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(key, p) or fnmatch.fnmatchcase(name, p) for p in patterns)

    if include and not hit(include):
        return False
    return not (exclude and hit(exclude))
