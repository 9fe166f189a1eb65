"""A COS prefix as storage: streamed listing, object metadata, no escaping the prefix.

Keys are relative to the prefix. Writes are single PutObject calls with Content-MD5
(COS makes a PUT atomic: readers see the old object or the new one), carrying the
content type and ``x-cos-meta-*`` metadata that make reruns idempotent.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator, Mapping

from redactor.core.results import StoredObject
from redactor.core.stamps import ObjectHead, content_tag
from redactor.cos.errors import CosNotFoundError, FileAlreadyExistsError
from redactor.cos.ports import CosOperations
from redactor.errors import StorageError, UnsafeKeyError
from redactor.storage.base import Entry, ReadObject, safe_key


class CosStorage:
    #: COS lists keys in lexicographic order (which lets a run learn what DST holds by listing).
    lists_sorted = True

    def __init__(self, client: CosOperations, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def describe(self) -> str:
        return f"cos://{self.bucket}/{self.prefix}"

    def _full(self, key: str) -> str:
        return self.prefix + safe_key(key)

    def iter_entries(self) -> Iterator[Entry]:
        """Every object below the prefix with its listed ETag (see :meth:`iter_keys`)."""
        for info in self.client.iter_objects(self.bucket, self.prefix):
            if not info.key.endswith("/"):
                yield Entry(info.key[len(self.prefix) :], tag=info.etag or None)

    def iter_tags(self) -> Iterator[tuple[str, str | None]]:
        """(key, ETag) of every object, in listing (lexicographic) order."""
        for entry in self.iter_entries():
            yield entry.key, entry.tag

    def iter_keys(self) -> Iterator[str]:
        """Every object below the prefix, one listing page in memory at a time.

        A key that could not be written back under a folder (``..``, empty segments) is
        still listed, so the pipeline reports it instead of silently losing it.
        """
        for info in self.client.iter_objects(self.bucket, self.prefix):
            if info.key.endswith("/"):
                continue  # a "folder" placeholder object
            yield info.key[len(self.prefix) :]

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(self.bucket, self._full(key)))

    def read_with_type(self, key: str) -> tuple[bytes, str | None]:
        """The object and its stored Content-Type (kept on the redacted copy)."""
        got = self.read_object(key)
        return got.data, got.content_type

    def read_object(self, key: str) -> ReadObject:
        data, headers = self.client.get_object_with_headers(self.bucket, self._full(key))
        etag = headers.get("etag", "").strip().strip('"').lower() or None
        return ReadObject(bytes(data), headers.get("content-type") or None, etag)

    def read_optional(self, key: str) -> bytes | None:
        try:
            return self.read(key)
        except (CosNotFoundError, UnsafeKeyError):
            return None

    def stat(self, key: str) -> dict[str, str] | None:
        """The object's ``x-cos-meta-*`` metadata (names without the prefix), or None when absent."""
        head = self.head(key)
        return None if head is None else dict(head.metadata)

    def head(self, key: str) -> ObjectHead | None:
        try:
            got = self.client.head_object(self.bucket, self._full(key))
        except CosNotFoundError:
            return None
        meta = {str(k).lower(): str(v) for k, v in dict(got.get("metadata") or {}).items()}
        return ObjectHead(meta, str(got.get("etag") or "") or None)

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def write(
        self,
        key: str,
        data: bytes,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        replace: bool = True,
    ) -> None:
        """PutObject with Content-MD5 (the client always sends it), the source's Content-Type
        when known (else guessed from the name) and ``x-cos-meta-*`` metadata.

        ``replace=False`` writes with ``x-cos-forbid-overwrite``: an object is then written at
        most once, even when a response is lost after the write and the request is retried
        (the retry meets our own object, recognised by its metadata, and counts as done).
        """
        content_type = content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
        try:
            self.client.put_object(
                self.bucket,
                self._full(key),
                data,
                content_type=content_type,
                metadata=metadata,
                forbid_overwrite=not replace,
            )
        except FileAlreadyExistsError:
            # Write-once met an object: done only if it is this very write, landed earlier.
            current = self.head(key)
            ours = current is not None and current.etag == content_tag(data)
            if (
                metadata is None
                or current is None
                or not ours
                or any(current.metadata.get(k) != v for k, v in metadata.items())
            ):
                raise StorageError(f"{self.describe()}{key[:200]} already exists") from None

    def delete(self, key: str) -> None:
        self.client.delete_object(self.bucket, self._full(key))

    def stored_object(self, key: str) -> StoredObject | None:
        return StoredObject(self.bucket, self._full(key))
