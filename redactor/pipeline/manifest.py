"""What a run remembers: the append-only checkpoint of finished inputs, and what a
destination already holds (learnt from its sorted listing, in constant memory)."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from redactor.errors import (
    StorageError,
)
from redactor.storage.base import ObjectStore


class Manifest:
    """What earlier runs produced, keyed by source key: an append-only JSON-lines file.

    Appends survive a killed process (a torn last line is ignored on reload), so a rerun
    resumes where the last one stopped. ``path=None`` keeps it in memory (dry runs, tests).
    """

    #: What an entry must match to count as done (compared as one digest: memory stays
    #: small even for a checkpoint of millions of objects).
    FINGERPRINT = (
        "policy_sha256",
        "engine",
        "card_type",
        "jpeg_quality",
        "verify",
        "input_sha256",
        "sidecar_sha256",
        "source_tag",
    )

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        #: source key -> (fingerprint digest, decision, the output's ETag when it went to an object store)
        self.entries: dict[str, tuple[bytes, str, str | None]] = {}
        self._handle: IO[str] | None = None
        if path is not None and path.is_file():
            try:
                self._load(path)
            except OSError as exc:
                raise StorageError(f"cannot read the checkpoint {path}: {exc.strerror or type(exc).__name__}") from None

    def _load(self, path: Path) -> None:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash
                if isinstance(entry, dict) and isinstance(entry.get("source"), str):
                    self.entries[entry["source"]] = self._entry(entry)

    def open(self) -> None:
        """Open the file for appending now: a checkpoint that cannot be written is a
        StorageError before the run, not a failure of every image."""
        with self._lock:
            if self.path is not None and self._handle is None:
                self._handle = self._open()

    def _open(self) -> IO[str]:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise StorageError(
                f"cannot write the checkpoint {self.path}: {exc.strerror or type(exc).__name__}"
            ) from None

    @classmethod
    def digest(cls, fields: dict[str, Any]) -> bytes:
        text = json.dumps([fields.get(k) for k in cls.FINGERPRINT], sort_keys=True)
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def _entry(self, entry: dict[str, Any]) -> tuple[bytes, str, str | None]:
        tag = entry.get("output_tag")
        return self.digest(entry), str(entry.get("decision")), tag if isinstance(tag, str) else None

    def previous(self, key: str, fingerprint: dict[str, Any]) -> str | None:
        """The decision recorded for ``key`` with this very fingerprint, else None."""
        entry = self.entries.get(key)
        return entry[1] if entry is not None and entry[0] == self.digest(fingerprint) else None

    def output_tag(self, key: str) -> str | None:
        """The ETag the output recorded for ``key`` had when it was written."""
        entry = self.entries.get(key)
        return entry[2] if entry is not None else None

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries[entry["source"]] = self._entry(entry)
            if self.path is None:
                return
            if self._handle is None:
                self._handle = self._open()
            self._handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


@dataclass(frozen=True)
class Presence:
    """What a sorted listing said about one key: held or not, and its ETag."""

    held: bool
    tag: str | None = None


class SortedPresence:
    """Which source keys a store (the destination, the quarantine) already has, by walking
    its sorted listing alongside the sorted source listing: one request per listing page
    instead of one HEAD per object, in constant memory. Keys must be asked in increasing
    order; a key asked out of order gets ``None`` (ask the store)."""

    def __init__(self, store: ObjectStore) -> None:
        self._tags = iter(store.iter_tags())
        self._current: tuple[str, str | None] | None = next(self._tags, None)
        self._last = ""

    def lookup(self, key: str) -> Presence | None:
        if key < self._last:
            return None
        self._last = key
        while self._current is not None and self._current[0] < key:
            self._current = next(self._tags, None)
        if self._current is not None and self._current[0] == key:
            return Presence(True, self._current[1])
        return Presence(False)


def _companions_digest(companions: dict[str, bytes | None]) -> str | None:
    """One sha256 over the companion files an image's location depends on (None: none used)."""
    if not companions:
        return None
    h = hashlib.sha256()
    for suffix in sorted(companions):
        body = companions[suffix]
        h.update(f"{suffix}:{-1 if body is None else len(body)}:".encode())
        h.update(body or b"")
    return h.hexdigest()
