"""Multipart uploads of the emulated COS XML API: initiate, upload parts, abort, complete
(parts in ascending order, each but the last at least 1 MB, ETags checked)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_et

from redactor.emulator.objects import check_md5, check_overwrite, kept_headers
from redactor.emulator.protocol import ErrorReply, Reply, Request, element, quote_etag, xml_doc
from redactor.emulator.store import ObjectMeta, Store, crc64

#: Every part but the last is at least this large, as COS requires.
MIN_PART_SIZE = 1024 * 1024


@dataclass
class Upload:
    bucket: str
    key: str
    content_type: str
    headers: dict[str, str]
    parts: dict[int, tuple[bytes, str]] = field(default_factory=dict)


class Multipart:
    """The uploads in progress of one emulator (thread-safe)."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.Lock()

    def initiate(self, request: Request) -> Reply:
        upload_id = f"{int(self.clock() * 1000)}{os.urandom(8).hex()}"
        with self._lock:
            self._uploads[upload_id] = Upload(
                request.bucket,
                request.key,
                request.headers.get("content-type") or "application/octet-stream",
                kept_headers(request),
            )
        body = element("Bucket", request.bucket) + element("Key", request.key) + element("UploadId", upload_id)
        return Reply(200, xml_doc("InitiateMultipartUploadResult", body), [("Content-Type", "application/xml")])

    def handle(self, request: Request) -> Reply:
        """A part's upload, the upload's abort or its completion (``?uploadId=``)."""
        upload_id = request.param("uploadId") or ""
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None or (upload.bucket, upload.key) != (request.bucket, request.key):
            raise ErrorReply(404, "NoSuchUpload", "The specified upload does not exist.")
        if request.method == "PUT":
            number_text = request.param("partNumber") or ""
            if not number_text.isdigit() or not 1 <= int(number_text) <= 10000:
                raise ErrorReply(400, "InvalidArgument", "partNumber must be an integer within 1-10000.")
            etag = check_md5(request, request.body)
            with self._lock:
                upload.parts[int(number_text)] = (request.body, etag)
            return Reply(200, headers=[("ETag", quote_etag(etag))])
        if request.method == "DELETE":
            with self._lock:
                self._uploads.pop(upload_id, None)
            return Reply(204)
        if request.method == "POST":
            return self._complete(request, upload_id, upload)
        raise ErrorReply(501, "NotImplemented", "This multipart operation is not implemented by the emulator.")

    def _complete(self, request: Request, upload_id: str, upload: Upload) -> Reply:
        try:
            root = safe_et.fromstring(request.body, forbid_dtd=True)
            listed = [
                (int((part.findtext("PartNumber") or "").strip()), (part.findtext("ETag") or "").strip().strip('"'))
                for part in root.iter("Part")
            ]
        except (ParseError, ValueError, TypeError):
            raise ErrorReply(400, "MalformedXML", "The XML you provided was not well-formed.") from None
        if not listed:
            raise ErrorReply(400, "MalformedXML", "The XML you provided lists no parts.")
        numbers = [n for n, _ in listed]
        if numbers != sorted(set(numbers)):
            raise ErrorReply(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        chunks: list[bytes] = []
        for index, (number, etag) in enumerate(listed):
            stored = upload.parts.get(number)
            if stored is None or stored[1] != etag:
                raise ErrorReply(400, "InvalidPart", f"Part {number} was not uploaded or its ETag does not match.")
            if index < len(listed) - 1 and len(stored[0]) < MIN_PART_SIZE:
                raise ErrorReply(400, "EntityTooSmall", f"Part {number} is smaller than the 1 MB minimum.")
            chunks.append(stored[0])
        check_overwrite(self.store, request)
        data = b"".join(chunks)
        joined = b"".join(bytes.fromhex(upload.parts[n][1]) for n in numbers)
        etag = f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(numbers)}"
        meta = ObjectMeta(request.key, len(data), etag, crc64(data), self.clock(), upload.content_type, upload.headers)
        self.store.put(request.bucket, meta, data)
        with self._lock:
            self._uploads.pop(upload_id, None)
        body = (
            element("Location", f"{request.host}/{request.key}")
            + element("Bucket", request.bucket)
            + element("Key", request.key)
            + element("ETag", quote_etag(etag))
        )
        return Reply(
            200,
            xml_doc("CompleteMultipartUploadResult", body),
            [("Content-Type", "application/xml"), ("x-cos-hash-crc64ecma", str(meta.crc64))],
        )
