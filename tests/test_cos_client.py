"""The COS client at unit level: httpx.MockTransport handlers stand in for COS."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import random
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from redactor.cos.client import AsyncCosClient, CosClient, ListPage, object_path
from redactor.cos.config import (
    CosConfig,
    Credentials,
    coscli_decrypt,
    coscli_encrypt,
    normalize_region,
    parse_cos_url,
    resolve_credentials,
    resolve_region,
    validate_bucket,
)
from redactor.cos.errors import (
    CosAccessDeniedError,
    CosConfigError,
    CosIntegrityError,
    CosKeyError,
    CosNetworkError,
    CosRequestError,
    CosRetryExhausted,
    CosServiceError,
    CosTimeoutError,
    FileAlreadyExistsError,
    NoSuchKeyError,
    SlowDownError,
    retryable,
    service_error,
)
from redactor.cos.ratelimit import SEND_JITTER, Pacer, TokenBucket, shared_bucket
from redactor.cos.signing import parse_authorization, verify

SECRET_ID = "AKIDcanaryid"
SECRET = "CANARY-secret-key-0123456789"
TOKEN = "CANARY-session-token-abcdef"
BUCKET = "examplebucket-1250000000"
HOST = f"{BUCKET}.cos.ap-beijing.myqcloud.com"
NOW = 1_700_000_000.0

Handler = Callable[[httpx.Request], httpx.Response]


def signature_ok(request: httpx.Request, secret: str = SECRET) -> bool:
    fields = parse_authorization(request.headers["authorization"])
    return verify(
        fields=fields,
        secret_key=secret,
        method=request.method,
        path=request.url.path,
        params=request.url.params.multi_items(),
        headers=dict(request.headers),
    )


class Recorder:
    """Records every request and checks its signature before answering."""

    def __init__(self, *responses: httpx.Response | Exception | Handler) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        assert signature_ok(request), "bad signature"
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return item(request)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def make_client(
    handler: Handler, creds: Credentials | None = None, sleeps: Sleeps | None = None, **config: object
) -> CosClient:
    sleeps = sleeps or Sleeps()
    clock = iter(range(10**6))
    return CosClient(
        CosConfig(region="ap-beijing", **config),  # type: ignore[arg-type]
        creds or Credentials(SECRET_ID, SECRET),
        transport=httpx.MockTransport(handler),
        clock=lambda: NOW + next(clock),
        sleep=sleeps.sleep,
        monotonic=sleeps.monotonic,
        rng=random.Random(1),
    )


def etag_of(data: bytes) -> dict[str, str]:
    return {"ETag": f'"{hashlib.md5(data).hexdigest()}"', "x-cos-request-id": "req-1"}


def error_xml(code: str, message: str = "msg", request_id: str = "rid-9", ns: str = "") -> bytes:
    xmlns = f' xmlns="{ns}"' if ns else ""
    return (
        f"<?xml version='1.0' encoding='utf-8' ?><Error{xmlns}><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{HOST}/k</Resource><RequestId>{request_id}</RequestId><TraceId>trace-1</TraceId></Error>"
    ).encode()


# -- requests on the wire ---------------------------------------------------------------------
def test_put_path_encoding_headers_and_signature() -> None:
    data = b"masked image"
    rec = Recorder(lambda r: httpx.Response(200, headers=etag_of(r.content)))
    key = "dir/证件 a+b%c?#=&.jpg"
    with make_client(rec) as client:
        out = client.put_object(BUCKET, key, data, content_type="image/jpeg", metadata={"source-sha": "abc"})
    assert out["etag"] == hashlib.md5(data).hexdigest() and out["request_id"] == "req-1"
    (req,) = rec.requests
    assert req.url.raw_path == ("/" + quote(key, safe="/-_.~")).encode()
    assert b"%2B" in req.url.raw_path and b"%3F" in req.url.raw_path and b"%23" in req.url.raw_path
    assert req.url.path == "/" + key
    assert req.headers["host"] == HOST
    assert req.headers["content-md5"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    fields = parse_authorization(req.headers["authorization"])
    assert fields["q-header-list"] == "content-length;content-md5;content-type;host;x-cos-meta-source-sha"
    assert fields["q-sign-time"] == f"{int(NOW) - 60};{int(NOW) + 900}"
    assert not signature_ok(req, secret="wrong")


def test_endpoint_is_where_requests_go_but_host_is_the_bucket() -> None:
    rec = Recorder(httpx.Response(200, content=b"x", headers={"Content-Length": "1"}))
    with make_client(rec, endpoint="http://127.0.0.1:9000") as client:
        assert client.get_object(BUCKET, "a.jpg") == b"x"
    (req,) = rec.requests
    assert req.url.host == "127.0.0.1" and req.url.port == 9000 and req.url.scheme == "http"
    assert req.headers["host"] == HOST


@pytest.mark.parametrize("key", ["", "/", "//", ".", "a/..", "./", "a/b/../.."])
def test_keys_that_collapse_to_the_bucket_are_refused(key: str) -> None:
    rec = Recorder(httpx.Response(200))
    with make_client(rec) as client, pytest.raises(CosKeyError):
        client.get_object(BUCKET, key)
    assert rec.requests == []


def test_dot_segments_survive_url_normalisation() -> None:
    rec = Recorder(httpx.Response(200, content=b""))
    with make_client(rec) as client:
        client.get_object(BUCKET, "a/./b/../c")
    assert rec.requests[0].url.path == "/a/./b/../c"
    assert object_path("/x y") == ("/x%20y", "/x y")


def test_temporary_token_is_sent_and_signed() -> None:
    rec = Recorder(httpx.Response(200, content=b"ok"))
    with make_client(rec, creds=Credentials(SECRET_ID, SECRET, TOKEN)) as client:
        client.get_object(BUCKET, "k")
    req = rec.requests[0]
    assert req.headers["x-cos-security-token"] == TOKEN
    assert "x-cos-security-token" in parse_authorization(req.headers["authorization"])["q-header-list"]


def test_etag_mismatch_is_an_error() -> None:
    rec = Recorder(httpx.Response(200, headers={"ETag": '"00000000000000000000000000000000"'}))
    with make_client(rec) as client, pytest.raises(CosIntegrityError):
        client.put_object(BUCKET, "k", b"data")
    assert len(rec.requests) == 1


def test_forbid_overwrite_header_and_conflict() -> None:
    rec = Recorder(httpx.Response(409, content=error_xml("FileAlreadyExists")))
    with make_client(rec) as client, pytest.raises(FileAlreadyExistsError) as info:
        client.put_object(BUCKET, "k", b"data", forbid_overwrite=True)
    assert rec.requests[0].headers["x-cos-forbid-overwrite"] == "true"
    assert info.value.status == 409 and len(rec.requests) == 1


def test_bad_metadata_is_refused() -> None:
    with make_client(Recorder(httpx.Response(200))) as client, pytest.raises(CosRequestError):
        client.put_object(BUCKET, "k", b"x", metadata={"name": "张三"})


def test_ai_license_rec_requests() -> None:
    rec = Recorder(httpx.Response(200, content=b"<Response><Status>1</Status></Response>"))
    with make_client(rec) as client:
        assert client.ai_license_rec(BUCKET, "in/card.jpg", "IDCard").startswith(b"<Response>")
        client.ai_license_rec_url(BUCKET, "https://example.com/a b.jpg?x=1", "DriverLicense")
        with pytest.raises(CosRequestError):
            client.ai_license_rec(BUCKET, "k", "Passport")
    first, second = rec.requests
    assert first.url.params["ci-process"] == "AILicenseRec" and first.url.params["CardType"] == "IDCard"
    assert second.url.path == "/"
    assert b"detect-url=https%3A%2F%2Fexample.com%2Fa%20b.jpg%3Fx%3D1" in second.url.raw_path
    assert second.url.params["detect-url"] == "https://example.com/a b.jpg?x=1"


def test_ai_license_rec_error_inside_200() -> None:
    rec = Recorder(httpx.Response(200, content=error_xml("NoProcessAuthority")))
    with make_client(rec) as client, pytest.raises(CosServiceError) as info:
        client.ai_license_rec(BUCKET, "k.jpg", "IDCard")
    assert info.value.code == "NoProcessAuthority"


# -- retries ----------------------------------------------------------------------------------
def test_retries_5xx_slowdown_and_connection_errors_then_succeeds() -> None:
    rec = Recorder(
        httpx.Response(500, content=error_xml("InternalError")),
        httpx.Response(503, content=error_xml("SlowDown")),
        httpx.ConnectError("refused"),
        httpx.Response(200, content=b"body"),
    )
    sleeps = Sleeps()
    with make_client(rec, sleeps=sleeps) as client:
        assert client.get_object(BUCKET, "k") == b"body"
    assert len(rec.requests) == 4 and len(sleeps.calls) == 3
    assert all(0 <= d <= min(5.0, 0.2 * 2**i) for i, d in enumerate(sleeps.calls))
    times = [parse_authorization(r.headers["authorization"])["q-sign-time"] for r in rec.requests]
    assert len(set(times)) == 4  # re-signed with a fresh time on every attempt


def test_retried_body_is_resent() -> None:
    data = b"payload"
    rec = Recorder(
        httpx.Response(503, content=error_xml("ServiceUnavailable")),
        httpx.Response(404),  # the HEAD asking whether the first attempt landed: it did not
        lambda r: httpx.Response(200, headers=etag_of(r.content)),
    )
    with make_client(rec) as client:
        client.put_object(BUCKET, "k", data)
    assert [r.method for r in rec.requests] == ["PUT", "HEAD", "PUT"]
    assert [r.content for r in rec.requests if r.method == "PUT"] == [data, data]


def test_a_replacing_put_whose_response_was_lost_is_not_written_twice() -> None:
    """The PUT landed, its response did not: before retrying, the client asks (HEAD), finds
    the object holds exactly the body sent (its ETag), and stops: one write, not two."""
    data = b"the masked copy"
    rec = Recorder(httpx.ReadError("connection reset"), httpx.Response(200, headers=etag_of(data)))
    with make_client(rec) as client:
        result = client.put_object(BUCKET, "k", data)
    assert [r.method for r in rec.requests] == ["PUT", "HEAD"] and result["etag"] == hashlib.md5(data).hexdigest()


def test_a_write_once_put_is_retried_without_asking() -> None:
    """x-cos-forbid-overwrite PUTs need no HEAD: a retry meets the landed object as a 409."""
    data = b"payload"
    rec = Recorder(httpx.ReadError("reset"), lambda r: httpx.Response(200, headers=etag_of(r.content)))
    with make_client(rec) as client:
        client.put_object(BUCKET, "k", data, forbid_overwrite=True)
    assert [r.method for r in rec.requests] == ["PUT", "PUT"]


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (403, "AccessDenied", CosAccessDeniedError),
        (404, "NoSuchKey", NoSuchKeyError),
        (400, "InvalidArgument", CosServiceError),
    ],
)
def test_no_retry_on_4xx(status: int, code: str, cls: type[Exception]) -> None:
    rec = Recorder(httpx.Response(status, content=error_xml(code)))
    with make_client(rec) as client, pytest.raises(cls):
        client.get_object(BUCKET, "k")
    assert len(rec.requests) == 1


def test_attempts_are_bounded() -> None:
    rec = Recorder(httpx.Response(503, content=error_xml("SlowDown")))
    with make_client(rec, max_attempts=3) as client, pytest.raises(CosRetryExhausted) as info:
        client.get_object(BUCKET, "k")
    assert len(rec.requests) == 3 and info.value.attempts == 3
    assert isinstance(info.value.last_error, SlowDownError)


def test_deadline_bounds_retries() -> None:
    sleeps = Sleeps()
    rec = Recorder(httpx.Response(500))
    client = make_client(rec, sleeps=sleeps, max_attempts=100, deadline=3.0)
    with client, pytest.raises(CosRetryExhausted, match="deadline"):
        client.get_object(BUCKET, "k")
    assert sum(sleeps.calls) < 3.0 and len(rec.requests) < 100


def test_timeouts_raise_cos_timeout_error() -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))
    with make_client(rec, max_attempts=2) as client, pytest.raises(CosRetryExhausted) as info:
        client.get_object(BUCKET, "k")
    assert isinstance(info.value.last_error, CosTimeoutError) and len(rec.requests) == 2
    assert retryable(CosTimeoutError("t")) and not retryable(service_error(404, b"", {}))


def test_timeouts_are_configured_on_every_request() -> None:
    rec = Recorder(httpx.Response(200, content=b""))
    with make_client(rec, timeout=7.0, connect_timeout=2.0) as client:
        client.get_object(BUCKET, "k")
    assert rec.requests[0].extensions["timeout"] == {"connect": 2.0, "read": 7.0, "write": 7.0, "pool": 7.0}


def test_short_body_is_a_retryable_network_error() -> None:
    rec = Recorder(
        httpx.Response(200, content=b"abc", headers={"Content-Length": "10"}),
        httpx.Response(200, content=b"0123456789"),
    )
    with make_client(rec) as client:
        assert client.get_object(BUCKET, "k") == b"0123456789"
    assert len(rec.requests) == 2
    rec = Recorder(httpx.Response(200, content=b"abc", headers={"Content-Length": "10"}))
    with make_client(rec, max_attempts=1) as client, pytest.raises(CosRetryExhausted) as info:
        client.get_object(BUCKET, "k")
    assert isinstance(info.value.last_error, CosNetworkError)


# -- errors, head, listing -------------------------------------------------------------------
def test_error_xml_is_parsed() -> None:
    body = error_xml("NoSuchKey", "The specified key does not exist.", "NWQ1M2Y3", ns="http://www.qcloud.com/x")
    rec = Recorder(httpx.Response(404, content=body))
    with make_client(rec) as client, pytest.raises(NoSuchKeyError) as info:
        client.get_object(BUCKET, "missing.jpg")
    err = info.value
    assert (err.status, err.code, err.request_id, err.trace_id) == (404, "NoSuchKey", "NWQ1M2Y3", "trace-1")
    assert err.message == "The specified key does not exist." and err.resource == f"{HOST}/k"
    assert "missing.jpg" in str(err) and "NWQ1M2Y3" in str(err) and "GET" in str(err)


def test_head_object_and_empty_404() -> None:
    headers = {
        "Content-Length": "42",
        "ETag": '"abc"',
        "Content-Type": "image/png",
        "x-cos-meta-policy": "p1",
        "x-cos-request-id": "r",
    }
    rec = Recorder(httpx.Response(200, headers=headers), httpx.Response(404, headers={"x-cos-request-id": "r404"}))
    with make_client(rec) as client:
        head = client.head_object(BUCKET, "k")
        assert (head["size"], head["etag"], head["content_type"]) == (42, "abc", "image/png")
        assert head["metadata"] == {"policy": "p1"}
        with pytest.raises(NoSuchKeyError) as info:
            client.head_object(BUCKET, "gone")
    assert info.value.code == "NoSuchResource" and info.value.request_id == "r404"


def test_delete_object() -> None:
    rec = Recorder(httpx.Response(204, headers={"x-cos-request-id": "d"}))
    with make_client(rec) as client:
        assert client.delete_object(BUCKET, "k")["request_id"] == "d"
    assert rec.requests[0].method == "DELETE"


def list_xml(keys: list[str], truncated: bool, next_marker: str = "", prefixes: tuple[str, ...] = ()) -> bytes:
    contents = "".join(
        f"<Contents><Key>{quote(k)}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
        f"<ETag>&quot;e{i}&quot;</ETag><Size>{i}</Size></Contents>"
        for i, k in enumerate(keys)
    )
    common = "".join(f"<CommonPrefixes><Prefix>{quote(p)}</Prefix></CommonPrefixes>" for p in prefixes)
    nm = f"<NextMarker>{quote(next_marker)}</NextMarker>" if next_marker else ""
    return (
        f'<ListBucketResult xmlns="http://www.qcloud.com/document/product/436/7751"><Name>{BUCKET}</Name>'
        f"<EncodingType>url</EncodingType><Prefix>in/</Prefix><Marker/><MaxKeys>2</MaxKeys>"
        f"<IsTruncated>{str(truncated).lower()}</IsTruncated>{nm}{contents}{common}</ListBucketResult>"
    ).encode()


def test_listing_pagination_with_url_encoded_keys() -> None:
    rec = Recorder(
        httpx.Response(200, content=list_xml(["in/a b.jpg", "in/证件+1.jpg"], True, "in/证件+1.jpg")),
        httpx.Response(200, content=list_xml(["in/证件z%.jpg"], True)),  # S3-style: no NextMarker
        httpx.Response(200, content=list_xml([], False)),
    )
    with make_client(rec) as client:
        keys = [o.key for o in client.iter_objects(BUCKET, "in/")]
    assert keys == ["in/a b.jpg", "in/证件+1.jpg", "in/证件z%.jpg"]
    markers = [r.url.params["marker"] for r in rec.requests]
    assert markers == ["", "in/证件+1.jpg", "in/证件z%.jpg"]
    first = rec.requests[0].url.params
    sent = (first["encoding-type"], first["prefix"], first["max-keys"], first["delimiter"])
    assert sent == ("url", "in/", "1000", "")


def test_list_page_fields_and_common_prefixes() -> None:
    rec = Recorder(httpx.Response(200, content=list_xml(["in/x.jpg"], False, prefixes=("in/sub dir/",))))
    with make_client(rec) as client:
        page = client.list_objects(BUCKET, "in/", delimiter="/")
    assert isinstance(page, ListPage) and page.common_prefixes == ["in/sub dir/"] and not page.is_truncated
    assert page.contents[0].etag == "e0" and page.contents[0].last_modified.startswith("2024")


def test_listing_that_does_not_advance_is_refused() -> None:
    rec = Recorder(httpx.Response(200, content=list_xml([], True)))
    with make_client(rec) as client, pytest.raises(CosNetworkError):
        list(client.iter_objects(BUCKET))


def test_iter_object_streams_and_checks_length() -> None:
    rec = Recorder(
        httpx.Response(200, content=b"x" * 10), httpx.Response(200, content=b"x" * 3, headers={"Content-Length": "5"})
    )
    with make_client(rec) as client:
        assert b"".join(client.iter_object(BUCKET, "k", chunk_size=4)) == b"x" * 10
        with pytest.raises(CosNetworkError):
            b"".join(client.iter_object(BUCKET, "k"))


def test_range_header() -> None:
    rec = Recorder(httpx.Response(206, content=b"ab"))
    with make_client(rec) as client:
        assert client.get_object(BUCKET, "k", range=(0, 1)) == b"ab"
    assert rec.requests[0].headers["range"] == "bytes=0-1"
    assert "range" in parse_authorization(rec.requests[0].headers["authorization"])["q-header-list"]


# -- multipart --------------------------------------------------------------------------------
class FakeMultipart:
    def __init__(self, complete_body: bytes | None = None) -> None:
        self.parts: dict[int, bytes] = {}
        self.aborted = False
        self.complete_body = complete_body
        self.completed: bytes = b""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if request.method == "POST" and "uploads" in params:
            return httpx.Response(
                200, content=b"<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>"
            )
        if request.method == "PUT":
            assert params["uploadId"] == "up-1"
            self.parts[int(params["partNumber"])] = request.content
            return httpx.Response(200, headers=etag_of(request.content))
        if request.method == "POST":
            self.completed = request.content
            if self.complete_body is not None:
                return httpx.Response(200, content=self.complete_body)
            digests = b"".join(hashlib.md5(self.parts[n]).digest() for n in sorted(self.parts))
            etag = f'"{hashlib.md5(digests).hexdigest()}-{len(self.parts)}"'
            return httpx.Response(
                200,
                content=f"<CompleteMultipartUploadResult><ETag>{etag}</ETag></CompleteMultipartUploadResult>".encode(),
            )
        if request.method == "DELETE":
            self.aborted = True
            return httpx.Response(204)
        raise AssertionError(request.method)


MIB = 1024 * 1024


def test_multipart_upload_above_threshold() -> None:
    fake = FakeMultipart()
    data = bytes(range(256)) * (MIB * 5 // 2 // 256)
    with make_client(Recorder(fake), multipart_threshold=MIB, part_size=MIB) as client:
        out = client.put_object(BUCKET, "big.tif", data)
    assert out["parts"] == 3 and out["etag"].endswith("-3")
    assert b"".join(fake.parts[n] for n in (1, 2, 3)) == data
    assert fake.completed.index(b"<PartNumber>1<") < fake.completed.index(b"<PartNumber>3<")
    assert not fake.aborted


def test_multipart_error_inside_200_aborts() -> None:
    fake = FakeMultipart(complete_body=error_xml("InternalError"))
    client = make_client(Recorder(fake), multipart_threshold=MIB, part_size=MIB)
    with client, pytest.raises(CosServiceError) as info:
        client.put_object(BUCKET, "big.tif", b"x" * (MIB + 1))
    assert info.value.code == "InternalError" and fake.aborted


# -- secrets never leak -----------------------------------------------------------------------
def test_canary_secrets_never_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    creds = Credentials(SECRET_ID, SECRET, TOKEN)
    errors: list[BaseException] = []
    rec = Recorder(
        httpx.Response(200, content=b"ok"),
        httpx.Response(503, content=error_xml("SlowDown")),
        httpx.ConnectError(f"boom {SECRET} {TOKEN} q-signature=0123abcd"),
        httpx.Response(403, content=error_xml("SignatureDoesNotMatch")),
        httpx.ConnectError(f"reset {SECRET} {TOKEN}"),
    )
    with make_client(rec, creds=creds, max_attempts=3) as client:
        client.get_object(BUCKET, "k")
        for _ in range(2):
            try:
                client.get_object(BUCKET, "k")
            except Exception as exc:
                errors.append(exc)
                errors.extend(e for e in (exc.__cause__, exc.__context__, getattr(exc, "last_error", None)) if e)
    assert any(isinstance(e, CosRetryExhausted) for e in errors)
    assert any(isinstance(e, CosNetworkError) and "***" in str(e) for e in errors)
    texts = [r.getMessage() for r in caplog.records] + [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [repr(creds), str(creds)]
    for text in texts:
        assert SECRET not in text and TOKEN not in text and "q-signature=0123" not in text


# -- configuration ----------------------------------------------------------------------------
def test_credentials_resolution_order(tmp_path: Path) -> None:
    env = {
        "COS_SECRET_ID": "cos-id",
        "COS_SECRET_KEY": "cos-key",
        "TENCENTCLOUD_SECRET_ID": "tc-id",
        "TENCENTCLOUD_SECRET_KEY": "tc-key",
        "TENCENTCLOUD_SESSION_TOKEN": "tc-t",
        "TENCENTCLOUD_SECRETID": "scf-id",
        "TENCENTCLOUD_SECRETKEY": "scf-key",
        "TENCENTCLOUD_SESSIONTOKEN": "scf-t",
    }
    explicit = Credentials("x-id", "x-key")
    assert resolve_credentials(explicit, env, tmp_path) is explicit
    assert resolve_credentials(None, env, tmp_path).secret_id == "cos-id"
    del env["COS_SECRET_ID"], env["COS_SECRET_KEY"]
    assert resolve_credentials(None, env, tmp_path).token == "tc-t"
    del env["TENCENTCLOUD_SECRET_ID"], env["TENCENTCLOUD_SECRET_KEY"]
    scf = resolve_credentials(None, env, tmp_path)
    assert (scf.secret_id, scf.secret_key, scf.token) == ("scf-id", "scf-key", "scf-t")
    with pytest.raises(CosConfigError):
        resolve_credentials(None, {}, tmp_path)
    with pytest.raises(CosConfigError, match="spaces"):
        resolve_credentials(None, {"COS_SECRET_ID": "id ", "COS_SECRET_KEY": "k"}, tmp_path)


def test_coscli_yaml_decryption(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    def encrypt(text: str) -> str:  # the documented scheme, independently of coscli_encrypt
        data = text.encode()
        data += b"\x00" * (-len(data) % 16)
        enc = Cipher(algorithms.AES(b"coscli-secret\x00\x00\x00"), modes.ECB()).encryptor()
        return base64.b64encode(enc.update(data) + enc.finalize()).decode()

    assert coscli_encrypt("AKIDexample") == encrypt("AKIDexample")
    assert coscli_decrypt("plain-not-base64!") == "plain-not-base64!"
    (tmp_path / ".cos.yaml").write_text(
        "cos:\n  base:\n"
        f"    secretid: {encrypt('AKIDfromyaml')}\n    secretkey: {encrypt('keyfromyaml-0123456789abcdef')}\n"
        f"    sessiontoken: ''\n  buckets:\n    - name: {BUCKET}\n      alias: ex\n      region: ap-shanghai\n"
    )
    creds = resolve_credentials(None, {}, tmp_path)
    assert (creds.secret_id, creds.secret_key, creds.token) == ("AKIDfromyaml", "keyfromyaml-0123456789abcdef", None)
    assert resolve_region(None, {}, tmp_path, bucket="ex") == "ap-shanghai"
    assert resolve_region(None, {"COS_REGION": "bj"}, tmp_path, bucket="ex") == "ap-beijing"
    (tmp_path / ".cos.yaml").write_text(
        "cos:\n  base:\n    secretid: cGxhaW4=\n    secretkey: plainkey\n    disableencryption: 'true'\n"
    )
    assert resolve_credentials(None, {}, tmp_path).secret_id == "cGxhaW4="


def test_config_helpers() -> None:
    assert normalize_region("cossh") == "ap-shanghai" and normalize_region("gz") == "ap-guangzhou"
    assert normalize_region("cos.ap-beijing") == "ap-beijing"
    with pytest.raises(CosConfigError):
        normalize_region("ap-beijing.evil.com/")
    assert parse_cos_url("COS://examplebucket-1250000000/in/dir/") == (BUCKET, "in/dir/")
    assert CosConfig(region="bj").bucket_host(BUCKET) == HOST
    assert CosConfig(region="bj", appid="1250000000").bucket_host("examplebucket") == HOST
    for bad in ("examplebucket", "-x-125", "x_y-125", "x-", "a.b-125", "ex-125/../x"):
        with pytest.raises(CosRequestError):
            validate_bucket(bad)
    env = {"COS_REGION": "sh", "COS_ENDPOINT": "http://127.0.0.1:9000"}
    config = CosConfig.from_env(env=env, home=Path("/nonexistent"))
    assert (config.region, config.endpoint) == ("ap-shanghai", "http://127.0.0.1:9000")
    with pytest.raises(CosConfigError):
        CosConfig(region="bj", endpoint="ftp://x")


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(10.0, burst=2, clock=lambda: now[0])
    assert bucket.reserve() == 0 and bucket.reserve() == 0
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)
    now[0] = 10.0
    assert bucket.reserve() == 0
    assert shared_bucket("x", 5.0) is shared_bucket("x", 5.0) and shared_bucket("x", None) is None


def test_pacer_saves_nothing_up_and_gives_up_late_slots() -> None:
    now = [0.0]
    pacer = Pacer(10.0, clock=lambda: now[0], jitter=0.0)
    assert [pacer.slot() for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])
    now[0] = 10.0  # idle for 10 s: still one slot now, the next 0.1 s later (no burst)
    assert [pacer.slot(), pacer.slot()] == pytest.approx([10.0, 10.1])
    assert pacer.slot(lead=0.5) == pytest.approx(10.5)
    slept: list[float] = []

    def oversleep(seconds: float) -> None:  # a thread woken 50 ms late the first time
        slept.append(seconds)
        now[0] += seconds + (0.05 if len(slept) == 1 else 0.0)

    pacer.acquire(oversleep)
    assert len(slept) == 2  # the late slot was given up for the next one
    assert now[0] == pytest.approx(10.7)


@given(
    rate=st.integers(1, 200),
    delays=st.lists(st.floats(0.0, SEND_JITTER * 0.999), min_size=1, max_size=400),
)
def test_pacer_keeps_every_1s_window_of_arrivals_at_the_rate_despite_send_jitter(rate, delays) -> None:
    """Calls that reach the service up to SEND_JITTER late, each by its own delay, still never
    put more than ``rate`` arrivals in a 1-second window [t, t + 1)."""
    pacer = Pacer(float(rate), clock=lambda: 0.0)
    arrivals = sorted(pacer.slot() + d for d in delays)
    first = 0
    for last, at in enumerate(arrivals):
        while at - arrivals[first] >= 1.0:
            first += 1
        assert last - first + 1 <= rate


def test_rate_limit_applies_to_ai_requests() -> None:
    rec = Recorder(httpx.Response(200, content=b"<Response/>"))
    sleeps = Sleeps()
    with make_client(rec, sleeps=sleeps, ai_rate_limit=1.0) as client:
        for _ in range(3):
            client.ai_license_rec(BUCKET, "k.jpg", "IDCard")
    assert sleeps.calls and all(s > 0 for s in sleeps.calls)


# -- async twin -------------------------------------------------------------------------------
def test_async_client() -> None:
    async def no_sleep(_: float) -> None:
        return None

    store: dict[str, bytes] = {}
    calls: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        calls.append(request)
        assert signature_ok(request)
        if len(calls) == 1:
            return httpx.Response(503, content=error_xml("SlowDown"))
        key = request.url.path[1:]
        if request.method == "PUT":
            store[key] = request.content
            return httpx.Response(200, headers=etag_of(request.content))
        if request.method == "GET" and key:
            return httpx.Response(200, content=store[key])
        if request.method == "GET":
            return httpx.Response(200, content=list_xml(sorted(store), False))
        return httpx.Response(404)

    async def main() -> None:
        async with AsyncCosClient(
            CosConfig(region="ap-beijing"),
            Credentials(SECRET_ID, SECRET, TOKEN),
            transport=httpx.MockTransport(handler),
            sleep=no_sleep,
        ) as client:
            await client.put_object(BUCKET, "证件 1.jpg", b"img")
            assert await client.get_object(BUCKET, "证件 1.jpg") == b"img"
            assert [o.key async for o in client.iter_objects(BUCKET)] == ["证件 1.jpg"]
            with pytest.raises(NoSuchKeyError):
                await client.head_object(BUCKET, "missing")
            assert client.presigned_url(BUCKET, "a b").startswith(f"https://{HOST}/a%20b?")

    asyncio.run(main())
    # PUT (503), HEAD (did it land? no), PUT, GET, list, HEAD
    assert [c.method for c in calls] == ["PUT", "HEAD", "PUT", "GET", "GET", "HEAD"]
    assert all(c.headers["x-cos-security-token"] == TOKEN for c in calls)
