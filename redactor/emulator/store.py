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


_MASK64 = 0xFFFFFFFFFFFFFFFF
#: From this size on, blocks are hashed side by side with numpy (a byte loop over a 600 KB
#: photo took 60 ms of the emulator's single event loop: the emulator, not the client, was
#: then what a benchmark measured).
_VECTOR_FROM = 32 * 1024
#: Per block length: 8 tables advancing a CRC state over that many zero bytes, byte by byte.
_ADVANCE: dict[int, list[list[int]]] = {}


def _crc_bytes(state: int, data: bytes) -> int:
    table = _CRC64_TABLE
    for byte in data:
        state = table[(state ^ byte) & 0xFF] ^ (state >> 8)
    return state


def _advance_tables(length: int) -> list[list[int]]:
    """The state after ``length`` zero bytes is linear in the state (GF(2)): tabulate it per
    byte of the state, from the 64 single-bit states pushed through ``length`` zeros at once."""
    import numpy as np

    tables = _ADVANCE.get(length)
    if tables is None:
        table = np.array(_CRC64_TABLE, dtype=np.uint64)
        states = np.array([1 << bit for bit in range(64)], dtype=np.uint64)
        for _ in range(length):
            states = table[(states & np.uint64(0xFF)).astype(np.intp)] ^ (states >> np.uint64(8))
        bits = [int(x) for x in states]
        tables = []
        for j in range(8):
            row = [0] * 256
            for b in range(1, 256):
                row[b] = row[b & (b - 1)] ^ bits[8 * j + (b & -b).bit_length() - 1]
            tables.append(row)
        _ADVANCE[length] = tables
    return tables


def crc64(data: bytes, crc: int = 0) -> int:
    """CRC-64/XZ (what COS reports in ``x-cos-hash-crc64ecma``); ``crc`` continues a previous value.

    Large bodies are cut into equal blocks whose CRCs (from a zero state) numpy computes side
    by side; they are then chained: state = advance(state, block length) ^ block CRC."""
    state = crc ^ _MASK64
    if len(data) >= _VECTOR_FROM:
        import numpy as np

        block = 1 << min(12, (len(data).bit_length() + 1) // 2)
        count = len(data) // block
        blocks = np.frombuffer(data, dtype=np.uint8, count=count * block).reshape(count, block)
        table = np.array(_CRC64_TABLE, dtype=np.uint64)
        partial = np.zeros(count, dtype=np.uint64)
        for j in range(block):
            partial = table[((partial ^ blocks[:, j]) & np.uint64(0xFF)).astype(np.intp)] ^ (partial >> np.uint64(8))
        t0, t1, t2, t3, t4, t5, t6, t7 = _advance_tables(block)
        for value in partial.tolist():
            s = state
            state = (
                t0[s & 255]
                ^ t1[(s >> 8) & 255]
                ^ t2[(s >> 16) & 255]
                ^ t3[(s >> 24) & 255]
                ^ t4[(s >> 32) & 255]
                ^ t5[(s >> 40) & 255]
                ^ t6[(s >> 48) & 255]
                ^ t7[s >> 56]
                ^ value
            )
        data = bytes(memoryview(data)[count * block :])
    return _crc_bytes(state, data) ^ _MASK64


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
