"""What the adapters ask of a COS client: the object operations and AILicenseRec, sync and
async. :class:`~redactor.cos.client.CosClient` and
:class:`~redactor.cos.client.AsyncCosClient` provide them; a test may pass anything that
does (as httpx lets a test pass a ``MockTransport``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Protocol

from redactor.cos.client import ObjectInfo


class CosOperations(Protocol):
    """The synchronous operations (storage adapter, cloud locator, SCF handler)."""

    def iter_objects(self, bucket: str, prefix: str = "", delimiter: str = "") -> Iterator[ObjectInfo]: ...

    def get_object(self, bucket: str, key: str, range: tuple[int, int | None] | str | None = None) -> bytes: ...

    def get_object_with_headers(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]: ...

    def head_object(self, bucket: str, key: str) -> dict[str, Any]: ...

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        forbid_overwrite: bool = False,
    ) -> dict[str, Any]: ...

    def delete_object(self, bucket: str, key: str) -> dict[str, Any]: ...

    def ai_license_rec(self, bucket: str, key: str, card_type: str) -> bytes: ...


class AsyncCosOperations(Protocol):
    """The asynchronous twins (the library's object calls)."""

    def iter_objects(self, bucket: str, prefix: str = "", delimiter: str = "") -> AsyncIterator[ObjectInfo]: ...

    async def get_object_with_headers(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]: ...

    async def head_object(self, bucket: str, key: str) -> dict[str, Any]: ...

    async def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        forbid_overwrite: bool = False,
    ) -> dict[str, Any]: ...
