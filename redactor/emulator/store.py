"""Buckets and objects, in memory or under a data dir.

On disk, each bucket is a folder named after the bucket; each object is two files named
by the sha256 of its key (``<sha>.data`` and a ``<sha>.json`` metadata sidecar that also
holds the key), so no file path is ever built from a key (keys may hold ``..``, ``/``,
anything). Writes go to a temporary file and are renamed, so a crash leaves no half object.
Multipart uploads in progress are kept in memory only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: ``<name>-<appid>``: letters, digits and ``-``, no leading or trailing ``-``, appid digits.
BUCKET_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?-\d+$")


def _crc64_table() -> list[int]:
    poly = 0xC96C5795D7870F42  # ECMA-182, reflected
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64_TABLE = _crc64_table()


def crc64(data: bytes, crc: int = 0) -> int:
    """CRC-64/XZ (what COS reports in ``x-cos-hash-crc64ecma``); ``crc`` continues a previous value."""
    table = _CRC64_TABLE
    value = crc ^ 0xFFFFFFFFFFFFFFFF
    for byte in data:
        value = table[(value ^ byte) & 0xFF] ^ (value >> 8)
    return value ^ 0xFFFFFFFFFFFFFFFF


def valid_bucket(name: str) -> bool:
    return BUCKET_RE.match(name) is not None


@dataclass
class ObjectMeta:
    """What COS keeps next to the bytes and echoes back in GET/HEAD headers."""

    key: str
    size: int
    etag: str  # without quotes
    crc64: int
    last_modified: float
    content_type: str = "application/octet-stream"
    #: ``x-cos-meta-*`` and the stored standard headers (cache-control, content-disposition...).
    headers: dict[str, str] = field(default_factory=dict)


class Store:
    """Thread-safe bucket store; ``data_dir=None`` keeps everything in memory."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._dir = data_dir
        self._lock = threading.RLock()
        self._index: dict[str, dict[str, ObjectMeta]] = {}
        self._blobs: dict[tuple[str, str], bytes] = {}
        #: How many times each (bucket, key) was written since the store was opened: what a
        #: soak counts "written twice" by.
        self.writes: Counter[tuple[str, str]] = Counter()
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            for folder in sorted(data_dir.iterdir()):
                if folder.is_dir() and valid_bucket(folder.name):
                    self._index[folder.name] = self._load(folder)

    @staticmethod
    def _load(folder: Path) -> dict[str, ObjectMeta]:
        objects: dict[str, ObjectMeta] = {}
        for sidecar in folder.glob("*.json"):
            try:
                meta = ObjectMeta(**json.loads(sidecar.read_text("utf-8")))
            except (OSError, ValueError, TypeError):
                continue  # a damaged sidecar: the object is gone, as after a failed write
            if sidecar.with_suffix(".data").is_file():
                objects[meta.key] = meta
        return objects

    @staticmethod
    def _name(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    def buckets(self) -> list[str]:
        with self._lock:
            return sorted(self._index)

    def has_bucket(self, bucket: str) -> bool:
        with self._lock:
            return bucket in self._index

    def create_bucket(self, bucket: str) -> bool:
        """Create a bucket; ``False`` if it already exists."""
        if not valid_bucket(bucket):
            raise ValueError(f"invalid bucket name {bucket!r}: expected <name>-<appid>, e.g. photos-1250000000")
        with self._lock:
            if bucket in self._index:
                return False
            if self._dir is not None:
                (self._dir / bucket).mkdir(exist_ok=True)
            self._index[bucket] = {}
            return True

    def head(self, bucket: str, key: str) -> ObjectMeta | None:
        with self._lock:
            return self._index.get(bucket, {}).get(key)

    def get(self, bucket: str, key: str) -> tuple[ObjectMeta, bytes] | None:
        with self._lock:
            meta = self._index.get(bucket, {}).get(key)
            if meta is None:
                return None
            if self._dir is None:
                return meta, self._blobs[(bucket, key)]
            return meta, (self._dir / bucket / f"{self._name(key)}.data").read_bytes()

    def put(self, bucket: str, meta: ObjectMeta, data: bytes) -> None:
        with self._lock:
            if self._dir is not None:
                folder = self._dir / bucket
                name = self._name(meta.key)
                self._write(folder / f"{name}.data", data)
                self._write(folder / f"{name}.json", json.dumps(asdict(meta), ensure_ascii=False).encode("utf-8"))
            else:
                self._blobs[(bucket, meta.key)] = data
            self._index[bucket][meta.key] = meta
            self.writes[(bucket, meta.key)] += 1

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, bucket: str, key: str) -> None:
        with self._lock:
            if self._index.get(bucket, {}).pop(key, None) is None:
                return
            if self._dir is None:
                self._blobs.pop((bucket, key), None)
            else:
                name = self._name(key)
                for suffix in (".json", ".data"):
                    (self._dir / bucket / f"{name}{suffix}").unlink(missing_ok=True)

    def keys(self, bucket: str) -> list[ObjectMeta]:
        """Every object of a bucket in COS listing order (by UTF-8 bytes, i.e. code points)."""
        with self._lock:
            return [self._index[bucket][k] for k in sorted(self._index.get(bucket, {}))]
