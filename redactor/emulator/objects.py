"""Buckets and objects of the emulated COS XML API: create a bucket, list, put, get and
head an object (deletion is the store's own). Functions of the store and one request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from email.utils import formatdate
from urllib.parse import quote

from redactor.emulator.protocol import ErrorReply, Reply, Request, element, iso_time, quote_etag, xml_doc
from redactor.emulator.store import ObjectMeta, Store, crc64, valid_bucket

#: GET Bucket answers at most this many keys per page, as COS does.
MAX_KEYS = 1000
#: Standard headers an object keeps from its PUT (besides ``x-cos-meta-*``).
STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires")
_RESPONSE_OVERRIDES = {f"response-{h}": h for h in ("content-type", *STORED_HEADERS)}
_LIST_PARAMS = {"prefix", "delimiter", "marker", "max-keys", "encoding-type"}


def put_bucket(store: Store, request: Request) -> Reply:
    if not valid_bucket(request.bucket):
        raise ErrorReply(400, "InvalidBucketName", "The specified bucket name is not valid.")
    if not store.create_bucket(request.bucket):
        raise ErrorReply(409, "BucketAlreadyExists", "The requested bucket name is not available.")
    return Reply(200)


def list_objects(store: Store, request: Request) -> Reply:
    unknown = {k for k, _ in request.params if k not in _LIST_PARAMS and not k.startswith("q-") and k != "sign"}
    if unknown - {"x-cos-security-token"}:
        raise ErrorReply(501, "NotImplemented", f"GET Bucket with {sorted(unknown)[0]!r} is not implemented.")
    prefix = request.param("prefix") or ""
    delimiter = request.param("delimiter") or ""
    marker = request.param("marker") or ""
    encoding = request.param("encoding-type") or ""
    if encoding and encoding != "url":
        raise ErrorReply(400, "InvalidArgument", "encoding-type must be 'url'.")
    max_text = request.param("max-keys") or str(MAX_KEYS)
    if not max_text.isdigit():
        raise ErrorReply(400, "InvalidArgument", "max-keys must be a non-negative integer.")
    max_keys = min(int(max_text), MAX_KEYS)
    contents: list[ObjectMeta] = []
    prefixes: list[str] = []
    truncated, last = False, ""
    for meta in store.keys(request.bucket):
        key = meta.key
        if not key.startswith(prefix) or key <= marker:
            continue
        common = ""
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if marker.startswith(common) or (prefixes and prefixes[-1] == common):
                    continue
        if len(contents) + len(prefixes) >= max_keys:
            truncated = max_keys > 0
            break
        if common:
            prefixes.append(common)
        else:
            contents.append(meta)
        last = common or key

    def enc(text: str) -> str:
        return quote(text, safe="/") if encoding == "url" else text

    parts = [element("Name", request.bucket)]
    if encoding:
        parts.append(element("EncodingType", encoding))
    parts += [element("Prefix", enc(prefix)), element("Marker", enc(marker)), element("MaxKeys", max_keys)]
    if delimiter:
        parts.append(element("Delimiter", enc(delimiter)))
    parts.append(element("IsTruncated", "true" if truncated else "false"))
    if truncated:
        parts.append(element("NextMarker", enc(last)))
    appid = request.bucket.rsplit("-", 1)[1]
    for meta in contents:
        parts.append(
            "<Contents>"
            + element("Key", enc(meta.key))
            + element("LastModified", iso_time(meta.last_modified))
            + element("ETag", quote_etag(meta.etag))
            + element("Size", meta.size)
            + f"<Owner>{element('ID', appid)}{element('DisplayName', appid)}</Owner>"
            + element("StorageClass", "STANDARD")
            + "</Contents>"
        )
    parts += [f"<CommonPrefixes>{element('Prefix', enc(p))}</CommonPrefixes>" for p in prefixes]
    return Reply(200, xml_doc("ListBucketResult", "".join(parts)), [("Content-Type", "application/xml")])


def check_md5(request: Request, data: bytes) -> str:
    """The body's MD5 (its ETag), checked against Content-MD5 when one was sent."""
    digest = hashlib.md5(data, usedforsecurity=False)
    sent = request.headers.get("content-md5")
    if sent is not None:
        try:
            expected = base64.b64decode(sent.strip(), validate=True)
        except ValueError:
            expected = b""
        if len(expected) != 16:
            raise ErrorReply(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
        if not hmac.compare_digest(expected, digest.digest()):
            raise ErrorReply(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    return digest.hexdigest()


def check_overwrite(store: Store, request: Request) -> None:
    forbid = request.headers.get("x-cos-forbid-overwrite", "").strip().lower() == "true"
    if forbid and store.head(request.bucket, request.key) is not None:
        raise ErrorReply(409, "FileAlreadyExists", "The object already exists and x-cos-forbid-overwrite is true.")


def kept_headers(request: Request) -> dict[str, str]:
    """The request headers stored with an object (user metadata and a few standard ones)."""
    return {k: v for k, v in request.headers.items() if k.startswith("x-cos-meta-") or k in STORED_HEADERS}


def put_object(store: Store, request: Request, now: float) -> Reply:
    if "x-cos-copy-source" in request.headers:
        raise ErrorReply(501, "NotImplemented", "PUT Object - Copy is not implemented by the emulator.")
    etag = check_md5(request, request.body)
    check_overwrite(store, request)
    meta = ObjectMeta(
        key=request.key,
        size=len(request.body),
        etag=etag,
        crc64=crc64(request.body),
        last_modified=now,
        content_type=request.headers.get("content-type") or "application/octet-stream",
        headers=kept_headers(request),
    )
    store.put(request.bucket, meta, request.body)
    return Reply(200, headers=[("ETag", quote_etag(etag)), ("x-cos-hash-crc64ecma", str(meta.crc64))])


def get_object(store: Store, request: Request) -> Reply:
    """GET or HEAD of an object: conditional headers, one byte range, response overrides."""
    meta = store.head(request.bucket, request.key)
    if meta is None:
        raise ErrorReply(404, "NoSuchKey", "The specified key does not exist.")
    headers = [
        ("Content-Type", meta.content_type),
        ("ETag", quote_etag(meta.etag)),
        ("Last-Modified", formatdate(meta.last_modified, usegmt=True)),
        ("Accept-Ranges", "bytes"),
        ("x-cos-hash-crc64ecma", str(meta.crc64)),
        *meta.headers.items(),
    ]
    for param, header in _RESPONSE_OVERRIDES.items():
        value = request.param(param)
        if value:
            headers = [(k, v) for k, v in headers if k.lower() != header] + [(header, value)]
    if_match = request.headers.get("if-match")
    if if_match is not None and if_match.strip() not in (quote_etag(meta.etag), meta.etag, "*"):
        raise ErrorReply(412, "PreconditionFailed", "At least one of the preconditions you specified did not hold.")
    if request.headers.get("if-none-match", "").strip() in (quote_etag(meta.etag), meta.etag, "*"):
        return Reply(304, headers=[("ETag", quote_etag(meta.etag))])
    span = byte_range(request.headers.get("range"), meta.size)
    if request.method == "HEAD":
        return Reply(200, headers=headers, content_length=meta.size)
    found = store.get(request.bucket, request.key)
    if found is None:
        raise ErrorReply(404, "NoSuchKey", "The specified key does not exist.")
    data = found[1]
    if span is None:
        return Reply(200, data, headers)
    first, last = span
    headers.append(("Content-Range", f"bytes {first}-{last}/{meta.size}"))
    return Reply(206, data[first : last + 1], headers)


def byte_range(value: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=a-b`` range (inclusive); anything unparsable is ignored, as HTTP says."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", value or "")
    if match is None or match.group(1) + match.group(2) == "":
        return None
    if match.group(1) == "":
        suffix = int(match.group(2))
        if suffix == 0:
            raise ErrorReply(416, "InvalidRange", "The requested range is not satisfiable.")
        return max(0, size - suffix), size - 1
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else size - 1
    if first >= size or last < first:
        raise ErrorReply(416, "InvalidRange", "The requested range is not satisfiable.")
    return first, min(last, size - 1)
