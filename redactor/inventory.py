"""``redactor run --from-inventory cos://.../manifest.json``: a COS source whose keys come from
a COS inventory report instead of the List API.

A bucket of 10^8 objects takes 10^5 List requests (1,000 keys each, a few hundred ms each,
one after the other, and capped per bucket); COS writes the same names once a day or week
as an inventory report: ``manifest.json`` (``fileFormat``, ``fileSchema`` naming the CSV
columns, e.g. ``"Bucket, Key, Size, LastModifiedDate, ETag"``, and ``files``: each data
file's ``key``, ``size`` and ``md5checksum``) next to its CSV files (often gzip'd; keys
URL-encoded). This module reads one, and writes one (:func:`make_inventory`, for tests and
benchmarks against the emulator).

What is read is checked before it is used: the manifest's shape and, before any key is
taken from it, every data file it names (present, of its size, and of its MD5 when the
object's ETag is one); each data file is downloaded to a temporary file, its size and MD5
checked, then read row by row, so memory stays flat in the number of keys. A key outside
SRC's prefix, another bucket's row or a malformed row stops the run cleanly (an inventory of
something else is no input); keys with ``..`` or absolute segments reach the runner as
listed keys do, and are refused there.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import IO, Any
from urllib.parse import quote, unquote

from redactor.cos.errors import CosError, CosNotFoundError
from redactor.cos.ports import CosOperations
from redactor.errors import RedactorError, UsageError
from redactor.storage.base import Entry
from redactor.storage.cos import CosStorage

#: Bytes per ranged GET of a data file (the file goes to a temporary file, never to memory).
CHUNK = 8 * 1024 * 1024
#: The one data format read (COS writes CSV; ORC/Parquet are S3's).
FORMAT = "CSV"
#: Names the manifest may give a data file's MD5 under (Tencent's and S3's spellings).
MD5_FIELDS = ("md5checksum", "md5sum", "md5")
#: The longest CSV field read (a key is at most 850 bytes on COS; URL-encoded, three times that).
MAX_FIELD = 64 * 1024


class InventoryError(UsageError):
    """An inventory report that cannot be used as it is (one line; no key text beyond 100 chars)."""


@dataclass(frozen=True)
class DataFile:
    """One CSV file of a report: where it is, and what the manifest says it holds."""

    key: str
    size: int | None
    md5: str | None


@dataclass(frozen=True)
class InventoryManifest:
    """A report's ``manifest.json``: the columns of its CSV files and the files."""

    bucket: str
    schema: tuple[str, ...]
    files: tuple[DataFile, ...]
    source_bucket: str | None = None

    def column(self, name: str) -> int | None:
        lowered = [c.lower() for c in self.schema]
        return lowered.index(name.lower()) if name.lower() in lowered else None


def parse_manifest(data: bytes, bucket: str) -> InventoryManifest:
    """The manifest of a report stored in ``bucket`` (its files are keys of that bucket)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InventoryError("the inventory manifest is not JSON") from None
    if not isinstance(doc, dict):
        raise InventoryError("the inventory manifest is not a JSON object")
    fmt = doc.get("fileFormat")
    if not isinstance(fmt, str) or fmt.strip().upper() != FORMAT:
        raise InventoryError(f"the inventory's fileFormat is {str(fmt)[:20]!r}: only CSV reports are read")
    schema_text = doc.get("fileSchema")
    if not isinstance(schema_text, str):
        raise InventoryError("the inventory manifest has no fileSchema (its CSV columns)")
    schema = tuple(c.strip() for c in schema_text.split(","))
    if "key" not in [c.lower() for c in schema]:
        raise InventoryError("the inventory's fileSchema has no Key column")
    files = doc.get("files")
    if not isinstance(files, list) or not files:
        raise InventoryError("the inventory manifest names no files")
    named = []
    for n, item in enumerate(files):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
            raise InventoryError(f"file {n} of the inventory manifest has no key")
        fields = {str(k).lower(): v for k, v in item.items()}
        size = fields.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise InventoryError(f"file {n} of the inventory manifest has a size that is no byte count")
        md5 = next((fields[f] for f in MD5_FIELDS if f in fields), None)
        if md5 is not None and (not isinstance(md5, str) or len(md5) != 32 or not _hex(md5)):
            raise InventoryError(f"file {n} of the inventory manifest has an MD5 that is not 32 hex digits")
        named.append(DataFile(item["key"], size, md5.lower() if isinstance(md5, str) else None))
    source = doc.get("sourceBucket")
    return InventoryManifest(bucket, schema, tuple(named), source if isinstance(source, str) else None)


def _hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def _same_bucket(named: str, bucket: str) -> bool:
    """An inventory names a bucket with or without its ``-appid``."""
    return named in (bucket, bucket.rsplit("-", 1)[0])


def _truthy(text: str) -> bool:
    return text.strip().lower() == "true"


class InventoryStorage(CosStorage):
    """A COS prefix whose entries are an inventory report's keys below it (every other
    operation is a :class:`CosStorage`'s)."""

    def __init__(self, client: CosOperations, bucket: str, prefix: str, manifest_url: str) -> None:
        super().__init__(client, bucket, prefix)
        from redactor.cos.config import parse_cos_url

        self.manifest_url = manifest_url
        try:
            self._at, self._manifest_key = parse_cos_url(manifest_url)
        except RedactorError:
            raise InventoryError(f"--from-inventory {manifest_url[:200]!r} is not cos://<bucket-appid>/<key>") from None
        if not self._manifest_key or self._manifest_key.endswith("/"):
            raise InventoryError("--from-inventory names a prefix: give the report's manifest.json")
        self.manifest = self._load()

    def _load(self) -> InventoryManifest:
        """Read and check the manifest and that every file it names is there, of its size."""
        try:
            data = bytes(self.client.get_object(self._at, self._manifest_key))
        except CosNotFoundError:
            raise InventoryError(f"no inventory manifest at {self.manifest_url[:200]}") from None
        except CosError as exc:
            raise InventoryError(f"the inventory manifest could not be read: {type(exc).__name__}") from None
        checksum_key = self._manifest_key.rsplit("/", 1)[0] + "/manifest.checksum" if "/" in self._manifest_key else ""
        if checksum_key:
            try:
                expected = bytes(self.client.get_object(self._at, checksum_key)).decode("ascii", "replace").strip()
            except CosNotFoundError:
                expected = ""
            except CosError as exc:
                why = type(exc).__name__
                raise InventoryError(f"the inventory's manifest.checksum could not be read: {why}") from None
            if expected and expected.lower() != hashlib.md5(data, usedforsecurity=False).hexdigest():
                raise InventoryError("the inventory manifest does not match its manifest.checksum")
        manifest = parse_manifest(data, self._at)
        if manifest.source_bucket is not None and not _same_bucket(manifest.source_bucket, self.bucket):
            raise InventoryError(
                f"the inventory is of bucket {manifest.source_bucket[:64]!r}, not of the source's {self.bucket}"
            )
        sized = []
        for n, f in enumerate(manifest.files):
            try:
                head = self.client.head_object(self._at, f.key)
            except CosNotFoundError:
                raise InventoryError(f"file {n} named by the inventory manifest is missing") from None
            except CosError as exc:
                raise InventoryError(f"file {n} of the inventory could not be read: {type(exc).__name__}") from None
            size = head.get("size", head.get("content_length"))
            if f.size is not None and isinstance(size, int) and size != f.size:
                raise InventoryError(f"file {n} of the inventory is {size} bytes, its manifest says {f.size}")
            etag = str(head.get("etag") or "").strip('"').lower()
            if f.md5 is not None and len(etag) == 32 and etag != f.md5:
                raise InventoryError(f"file {n} of the inventory does not match the MD5 its manifest gives")
            known = f.size if f.size is not None else size if isinstance(size, int) else None
            sized.append(DataFile(f.key, known, f.md5))
        return replace(manifest, files=tuple(sized))

    def iter_entries(self) -> Iterator[Entry]:
        """The report's keys below the prefix, with their ETags, file by file, row by row."""
        for n, f in enumerate(self.manifest.files):
            with tempfile.TemporaryFile(prefix="redactor-inventory-") as tmp:
                self._download(n, f, tmp)
                yield from self._rows(n, tmp)

    def iter_keys(self) -> Iterator[str]:
        for entry in self.iter_entries():
            yield entry.key

    def _download(self, n: int, f: DataFile, out: IO[bytes]) -> None:
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            while f.size is None or size < f.size:
                chunk = bytes(self.client.get_object(self._at, f.key, range=(size, size + CHUNK - 1)))
                out.write(chunk)
                md5.update(chunk)
                size += len(chunk)
                if len(chunk) < CHUNK:
                    break
        except CosError as exc:
            raise InventoryError(f"file {n} of the inventory could not be read: {type(exc).__name__}") from None
        if f.size is not None and size != f.size:
            raise InventoryError(f"file {n} of the inventory is {size} bytes, its manifest says {f.size}")
        if f.md5 is not None and md5.hexdigest() != f.md5:
            raise InventoryError(f"file {n} of the inventory does not match the MD5 its manifest gives")
        out.seek(0)

    def _rows(self, n: int, raw: IO[bytes]) -> Iterator[Entry]:
        m = self.manifest
        key_at = m.column("Key")
        assert key_at is not None  # checked with the manifest
        bucket_at, etag_at = m.column("Bucket"), m.column("ETag")
        latest_at, marker_at = m.column("IsLatest"), m.column("IsDeleteMarker")
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        binary: IO[bytes] = gzip.GzipFile(fileobj=raw) if gzipped else raw  # type: ignore[assignment]
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        csv.field_size_limit(MAX_FIELD)
        try:
            for row_no, row in enumerate(csv.reader(text), start=1):
                if not row:
                    continue
                if len(row) != len(m.schema):
                    raise InventoryError(
                        f"row {row_no} of inventory file {n} has {len(row)} fields, its fileSchema {len(m.schema)}"
                    )
                if bucket_at is not None and not _same_bucket(row[bucket_at], self.bucket):
                    raise InventoryError(f"row {row_no} of inventory file {n} is of another bucket than the source's")
                if (marker_at is not None and _truthy(row[marker_at])) or (
                    latest_at is not None and row[latest_at].strip() and not _truthy(row[latest_at])
                ):
                    continue  # an older version or a delete marker: not an object to redact
                key = unquote(row[key_at], errors="strict")
                if not key.startswith(self.prefix):
                    raise InventoryError(
                        f"row {row_no} of inventory file {n} names {key[:100]!r}, outside the source prefix "
                        f"{self.prefix!r}: give an inventory of SRC (its filter prefix) or SRC its prefix"
                    )
                if key.endswith("/"):
                    continue  # a "folder" placeholder, as the listing skips them
                tag = (row[etag_at].strip().strip('"').lower() or None) if etag_at is not None else None
                yield Entry(key[len(self.prefix) :], tag=tag)
        except (UnicodeDecodeError, csv.Error, OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InventoryError(f"inventory file {n} is not readable CSV ({type(exc).__name__})") from None


def make_inventory(
    rows: Iterable[tuple[str, int, str]],
    bucket: str,
    at: str,
    *,
    per_file: int = 1000,
    compress: bool = True,
    source_bucket: str | None = None,
) -> dict[str, bytes]:
    """A COS-style inventory report of ``rows`` (key, size, ETag) of ``bucket``, as the objects
    to store below ``at`` (``<at>manifest.json``, ``manifest.checksum``, ``data/<n>.csv[.gz]``)."""
    objects: dict[str, bytes] = {}
    files: list[dict[str, Any]] = []
    chunk: list[tuple[str, int, str]] = []

    def flush() -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for key, size, etag in chunk:
            writer.writerow([bucket, quote(key, safe="/"), size, "2026-01-01T00:00:00.000Z", f'"{etag}"'])
        body = buffer.getvalue().encode("utf-8")
        body = gzip.compress(body, mtime=0) if compress else body
        name = f"{at}data/{len(files):05d}.csv{'.gz' if compress else ''}"
        objects[name] = body
        md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
        files.append({"key": name, "size": len(body), "md5checksum": md5})
        chunk.clear()

    for row in rows:
        chunk.append(row)
        if len(chunk) >= per_file:
            flush()
    if chunk or not files:
        flush()
    manifest = {
        "sourceBucket": source_bucket or bucket,
        "destinationBucket": bucket,
        "fileFormat": FORMAT,
        "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag",
        "files": files,
    }
    body = json.dumps(manifest, indent=2).encode("utf-8")
    objects[f"{at}manifest.json"] = body
    objects[f"{at}manifest.checksum"] = hashlib.md5(body, usedforsecurity=False).hexdigest().encode()
    return objects
