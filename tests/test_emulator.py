"""The COS emulator over real HTTP: the official SDK as client, plus raw httpx/socket requests."""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest

from redactor.cos.signing import sign
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, FaultPlan, Store, crc64, parse_faults
from redactor.emulator.faults import Fault

SID, SKEY = "AKIDemulatortest", "emulator-secret-key"
BUCKET = "photos-1250000000"
HOST = f"{BUCKET}.cos.ap-guangzhou.myqcloud.com"

logging.getLogger("qcloud_cos").setLevel(logging.CRITICAL)


def make_app(store: Store | None = None, **config: object) -> EmulatorApp:
    store = store or Store()
    if not store.has_bucket(BUCKET):
        store.create_bucket(BUCKET)
    return EmulatorApp(store, EmulatorConfig(credentials={SID: SKEY}, **config))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    app = make_app()
    app.add_temporary("AKIDtemporary", "temporary-key", "the-token")
    with EmulatorServer(app) as srv:
        yield srv


def signed(
    srv_url: str,
    method: str,
    key: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    secret_id: str = SID,
    secret_key: str = SKEY,
    window: tuple[int, int] | None = None,
    tamper: dict[str, str] | None = None,
    path_style: bool = False,
) -> httpx.Response:
    now = int(time.time())
    start, end = window or (now - 60, now + 600)
    params = params or {}
    to_sign = {"host": HOST, **(headers or {})}
    sig = sign(
        secret_id=secret_id,
        secret_key=secret_key,
        method=method,
        path="/" + key,
        params=params,
        headers=to_sign,
        start=start,
        end=end,
    )
    sent = {**to_sign, **(tamper or {}), "Authorization": sig.authorization()}
    wire = quote(key, safe="/-_.~").replace("./", ".%2F")  # as the SDK does: no dot segments on the wire
    path = f"/{BUCKET}/{wire}" if path_style else f"/{wire}"
    if path_style:
        sent.pop("host")
        sent.pop("Authorization")
        sig = sign(
            secret_id=secret_id,
            secret_key=secret_key,
            method=method,
            path=f"/{BUCKET}/{key}",
            params=params,
            headers={"host": srv_url.split("//", 1)[1].split(":")[0]},
            start=start,
            end=end,
        )
        sent["Authorization"] = sig.authorization()
    return httpx.request(method, srv_url + path, params=params, headers=sent, content=body)


def sdk_client(srv: EmulatorServer, secret_key: str = SKEY):  # type: ignore[no-untyped-def]
    from qcloud_cos import CosConfig, CosS3Client

    config = CosConfig(
        Region="ap-guangzhou", SecretId=SID, SecretKey=secret_key, IP="127.0.0.1", Port=srv.port, Scheme="http"
    )
    return CosS3Client(config, retry=0), config


# -- the official SDK ---------------------------------------------------------------------------------


def test_sdk_put_get_head_delete(server: EmulatorServer) -> None:
    client, _ = sdk_client(server)
    body = b"hello emulator " * 100
    put = client.put_object(
        Bucket=BUCKET, Key="dir/sdk.bin", Body=body, ContentType="image/jpeg", Metadata={"x-cos-meta-owner": "qa"}
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert put["x-cos-hash-crc64ecma"] == str(crc64(body))
    got = client.get_object(Bucket=BUCKET, Key="dir/sdk.bin")
    assert got["Body"].get_raw_stream().read() == body
    assert got["Content-Type"] == "image/jpeg" and got["x-cos-meta-owner"] == "qa"
    part = client.get_object(Bucket=BUCKET, Key="dir/sdk.bin", Range="bytes=0-4")
    assert part["Body"].get_raw_stream().read() == b"hello"
    assert part["Content-Range"] == f"bytes 0-4/{len(body)}"
    head = client.head_object(Bucket=BUCKET, Key="dir/sdk.bin")
    assert head["Content-Length"] == str(len(body)) and "Last-Modified" in head
    assert head["Server"] == "tencent-cos" and head["x-cos-request-id"]
    client.delete_object(Bucket=BUCKET, Key="dir/sdk.bin")
    client.delete_object(Bucket=BUCKET, Key="dir/sdk.bin")  # missing key: still 204
    from qcloud_cos.cos_exception import CosServiceError

    with pytest.raises(CosServiceError) as err:
        client.head_object(Bucket=BUCKET, Key="dir/sdk.bin")
    assert err.value.get_status_code() == 404
    with pytest.raises(CosServiceError) as err:
        client.get_object(Bucket=BUCKET, Key="dir/sdk.bin")
    assert err.value.get_error_code() == "NoSuchKey"


def test_sdk_list_objects_pagination_and_url_encoding(server: EmulatorServer) -> None:
    client, _ = sdk_client(server)
    keys = ["list/a b.jpg", "list/c+d.jpg", "list/身份证.jpg", "list/sub/x.jpg", "list/sub/y.jpg", "list/z%.jpg"]
    for key in keys:
        client.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    seen: list[str] = []
    marker = ""
    pages = 0
    while True:
        page = client.list_objects(Bucket=BUCKET, Prefix="list/", MaxKeys=2, Marker=marker, EncodingType="url")
        seen += [unquote(c["Key"]) for c in page.get("Contents", [])]  # EncodingType given: the caller decodes
        pages += 1
        if page["IsTruncated"] != "true":
            break
        marker = unquote(page["NextMarker"])
    assert seen == sorted(keys) and pages == 3
    assert (
        "list/a%20b.jpg"
        in client.list_objects(Bucket=BUCKET, Prefix="list/a", EncodingType="url")["Contents"][0]["Key"]
    )
    grouped = client.list_objects(Bucket=BUCKET, Prefix="list/", Delimiter="/")  # the SDK asks for url and decodes
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["list/sub/"]
    assert len(grouped["Contents"]) == 4
    for key in keys:
        client.delete_object(Bucket=BUCKET, Key=key)


def test_sdk_ai_license_rec_replay(server: EmulatorServer) -> None:
    from qcloud_cos import AIRecognitionClient

    client, config = sdk_client(server)
    xml = (
        "<Response><Status>1</Status><IdInfo><Name>姓名</Name><DetectedText></DetectedText><Score>98</Score>"
        "<Location><Point>1,2</Point><Point>30,2</Point><Point>30,9</Point><Point>1,9</Point></Location>"
        "</IdInfo></Response>"
    ).encode()
    client.put_object(Bucket=BUCKET, Key="cards/a.jpg", Body=b"\xff\xd8 not really a jpeg")
    client.put_object(Bucket=BUCKET, Key="cards/a.jpg.ailicenserec.xml", Body=xml)
    _, data = AIRecognitionClient(config, retry=0).cos_ai_license_rec(
        Bucket=BUCKET, CardType="IDCard", ObjectKey="cards/a.jpg"
    )
    assert data["Status"] == "1" and data["IdInfo"]["Name"] == "姓名"
    client.put_object(Bucket=BUCKET, Key="cards/b.jpg", Body=b"no sidecar")
    _, data = AIRecognitionClient(config, retry=0).cos_ai_license_rec(
        Bucket=BUCKET, CardType="IDCard", ObjectKey="cards/b.jpg"
    )
    assert data["Status"] == "0"
    # detect-url naming an object of the emulator is resolved locally
    r = signed(
        server.url,
        "GET",
        "",
        params={"ci-process": "AILicenseRec", "CardType": "IDCard", "detect-url": f"https://{HOST}/cards/a.jpg"},
    )
    assert r.status_code == 200 and b"<Status>1</Status>" in r.content


def test_sdk_wrong_secret_key_is_refused(server: EmulatorServer) -> None:
    from qcloud_cos.cos_exception import CosServiceError

    client, _ = sdk_client(server, secret_key="not-the-key")
    with pytest.raises(CosServiceError) as err:
        client.put_object(Bucket=BUCKET, Key="nope", Body=b"x")
    assert err.value.get_error_code() == "SignatureDoesNotMatch"
    assert err.value.get_status_code() == 403


# -- raw requests --------------------------------------------------------------------------------------


def error_code(r: httpx.Response) -> str:
    text = r.text
    code = text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    assert r.headers["x-cos-request-id"] in text
    return code


def test_content_md5_and_forbid_overwrite(server: EmulatorServer) -> None:
    good = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    r = signed(server.url, "PUT", "md5.txt", body=b"data", headers={"content-md5": bad})
    assert (r.status_code, error_code(r)) == (400, "BadDigest")
    r = signed(server.url, "PUT", "md5.txt", body=b"data", headers={"content-md5": "nonsense"})
    assert (r.status_code, error_code(r)) == (400, "InvalidDigest")
    r = signed(server.url, "PUT", "md5.txt", body=b"data", headers={"content-md5": good})
    assert r.status_code == 200
    r = signed(server.url, "PUT", "md5.txt", body=b"new", headers={"x-cos-forbid-overwrite": "true"})
    assert (r.status_code, error_code(r)) == (409, "FileAlreadyExists")
    r = signed(server.url, "GET", "md5.txt", headers={"range": "bytes=10-20"})
    assert (r.status_code, error_code(r)) == (416, "InvalidRange")


def test_auth_failures(server: EmulatorServer) -> None:
    r = httpx.get(server.url + "/x", headers={"host": HOST})
    assert (r.status_code, error_code(r)) == (403, "AccessDenied")
    r = signed(server.url, "GET", "x", secret_id="AKIDunknown")
    assert (r.status_code, error_code(r)) == (403, "InvalidAccessKeyId")
    old = int(time.time()) - 7200
    r = signed(server.url, "GET", "x", window=(old, old + 60))
    assert (r.status_code, error_code(r)) == (403, "AccessDenied") and "Request has expired" in r.text
    r = signed(server.url, "PUT", "x", body=b"a", headers={"x-cos-meta-a": "1"}, tamper={"x-cos-meta-a": "2"})
    assert (r.status_code, error_code(r)) == (403, "SignatureDoesNotMatch")
    # a listed header that is missing
    r = signed(server.url, "PUT", "x", body=b"a", headers={"x-cos-meta-a": "1"}, tamper={"x-cos-meta-a": ""})
    assert r.status_code == 403


def test_host_signed_with_port_and_presigned_query(server: EmulatorServer) -> None:
    signed(server.url, "PUT", "pre.txt", body=b"presigned")
    now = int(time.time())
    host_port = f"{HOST}:{server.port}"
    sig = sign(
        secret_id=SID,
        secret_key=SKEY,
        method="GET",
        path="/pre.txt",
        headers={"host": host_port},
        start=now - 60,
        end=now + 60,
    )
    r = httpx.get(server.url + "/pre.txt", params=sig.query(), headers={"host": host_port})
    assert r.status_code == 200 and r.content == b"presigned"
    r = httpx.get(server.url + "/pre.txt", params={"sign": sig.authorization()}, headers={"host": host_port})
    assert r.status_code == 200


def test_temporary_credentials(server: EmulatorServer) -> None:
    tmp = {"secret_id": "AKIDtemporary", "secret_key": "temporary-key"}
    r = signed(server.url, "GET", "nothing", **tmp)  # type: ignore[arg-type]
    assert (r.status_code, error_code(r)) == (403, "InvalidAccessKeyId")
    r = signed(server.url, "GET", "nothing", headers={"x-cos-security-token": "wrong"}, **tmp)  # type: ignore[arg-type]
    assert (r.status_code, error_code(r)) == (403, "AccessDenied")
    r = signed(server.url, "GET", "nothing", headers={"x-cos-security-token": "the-token"}, **tmp)  # type: ignore[arg-type]
    assert (r.status_code, error_code(r)) == (404, "NoSuchKey")


def test_path_style(server: EmulatorServer) -> None:
    r = signed(server.url, "PUT", "path style/ok.txt", body=b"ps", path_style=True)
    assert r.status_code == 200, r.text
    r = signed(server.url, "GET", "path style/ok.txt")
    assert r.content == b"ps"


def test_absolute_form_target(server: EmulatorServer) -> None:
    signed(server.url, "PUT", "abs.txt", body=b"absolute")
    now = int(time.time())
    sig = sign(
        secret_id=SID,
        secret_key=SKEY,
        method="GET",
        path="/abs.txt",
        headers={"host": HOST},
        start=now - 60,
        end=now + 60,
    )
    request = (
        f"GET http://{HOST}/abs.txt HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: {sig.authorization()}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"\r\n\r\nabsolute")


def test_multipart_upload(server: EmulatorServer) -> None:
    r = signed(server.url, "POST", "big.bin", params={"uploads": ""})
    upload_id = r.text.split("<UploadId>")[1].split("</UploadId>")[0]
    parts = [b"a" * (1024 * 1024), b"tail"]
    etags = []
    for number, data in enumerate(parts, start=1):
        r = signed(server.url, "PUT", "big.bin", params={"partNumber": str(number), "uploadId": upload_id}, body=data)
        etags.append(r.headers["etag"])
    xml = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1))
    body = f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>".encode()
    r = signed(server.url, "POST", "big.bin", params={"uploadId": upload_id}, body=body)
    assert r.status_code == 200 and '-2"</ETag>' in r.text
    assert signed(server.url, "GET", "big.bin").content == b"".join(parts)
    r = signed(server.url, "POST", "big.bin", params={"uploads": ""})
    upload_id = r.text.split("<UploadId>")[1].split("</UploadId>")[0]
    assert signed(server.url, "DELETE", "big.bin", params={"uploadId": upload_id}).status_code == 204
    r = signed(server.url, "POST", "big.bin", params={"uploadId": upload_id}, body=body)
    assert (r.status_code, error_code(r)) == (404, "NoSuchUpload")


def test_crc64_vectors() -> None:
    assert crc64(b"123456789") == 11051210869376104954
    assert crc64(b"ObjectContent") == 2900061071848923409
    assert crc64(b"") == 0
    assert crc64(b"6789", crc64(b"12345")) == crc64(b"123456789")


# -- faults, throttling, persistence --------------------------------------------------------------------


def test_fault_spec_parsing() -> None:
    plans = parse_faults("get:5xx=0.1,slowdown=0.05;put:5xx=0.2;*:latency=50")
    assert plans["get"].error == 0.1 and plans["get"].latency_ms == 50 and plans["head"].latency_ms == 50
    assert plans["put"].error == 0.2 and plans["delete"].error == 0.0
    for bad in ("nope:5xx=0.1", "get:5xx=2", "get:boom=0.1", "get:5xx=0.6,reset=0.6", "get:latency=x"):
        with pytest.raises(ValueError):
            parse_faults(bad)


def test_faults_are_deterministic_for_a_seed() -> None:
    spec = "get:5xx=0.25,slowdown=0.25,reset=0.15,truncate=0.15"
    plan = FaultPlan(spec, seed=7)
    expected = [plan.draw("get") for _ in range(30)]
    assert set(expected) == set(Fault)
    app = make_app(faults=spec, seed=7)
    with EmulatorServer(app) as srv:
        assert signed(srv.url, "PUT", "f.bin", body=b"0123456789").status_code == 200
        for want in expected:
            try:
                r = signed(srv.url, "GET", "f.bin")
                r.read()
                got = {200: Fault.NONE, 500: Fault.ERROR, 503: Fault.SLOWDOWN}[r.status_code]
                if got is not Fault.NONE:
                    assert error_code(r) == {Fault.ERROR: "InternalError", Fault.SLOWDOWN: "SlowDown"}[got]
            except httpx.RemoteProtocolError as exc:
                got = Fault.TRUNCATE if "incomplete" in str(exc) or "body" in str(exc) else Fault.RESET
            assert got is want


def test_ci_rate_throttles_with_slowdown() -> None:
    app = make_app(ci_rate=2.0)
    with EmulatorServer(app) as srv:
        signed(srv.url, "PUT", "card.jpg", body=b"img")
        statuses = []
        for _ in range(5):
            r = signed(srv.url, "GET", "card.jpg", params={"ci-process": "AILicenseRec", "CardType": "IDCard"})
            statuses.append(r.status_code)
            if r.status_code == 503:
                assert error_code(r) == "SlowDown"
        assert statuses[:2] == [200, 200] and 503 in statuses[2:]
        r = signed(srv.url, "GET", "missing.jpg", params={"ci-process": "AILicenseRec", "CardType": "IDCard"})
        assert r.status_code in (404, 503)


def test_data_dir_persists_across_restart(tmp_path: Path) -> None:
    key = "../../etc/passwd 身份证?.jpg"
    with EmulatorServer(make_app(Store(tmp_path))) as srv:
        assert signed(srv.url, "PUT", key, body=b"kept", headers={"x-cos-meta-k": "v"}).status_code == 200
    names = [p.name for p in tmp_path.rglob("*")]
    assert all("passwd" not in n for n in names) and (tmp_path / BUCKET).is_dir()
    with EmulatorServer(make_app(Store(tmp_path))) as srv:
        r = signed(srv.url, "GET", key)
        assert r.content == b"kept" and r.headers["x-cos-meta-k"] == "v"
        assert r.headers["x-cos-hash-crc64ecma"] == str(crc64(b"kept"))


def test_put_bucket_and_unknown_bucket(server: EmulatorServer) -> None:
    other = "fresh-1250000000"
    host = f"{other}.cos.ap-beijing.tencentcos.cn"
    now = int(time.time())

    def req(method: str, path: str) -> httpx.Response:
        sig = sign(
            secret_id=SID,
            secret_key=SKEY,
            method=method,
            path=path,
            headers={"host": host},
            start=now - 60,
            end=now + 60,
        )
        return httpx.request(method, server.url + path, headers={"host": host, "Authorization": sig.authorization()})

    assert error_code(req("GET", "/")) == "NoSuchBucket"
    assert req("PUT", "/").status_code == 200
    assert error_code(req("PUT", "/")) == "BucketAlreadyExists"
    r = req("GET", "/")
    assert r.status_code == 200 and "<IsTruncated>false</IsTruncated>" in r.text


def test_cli_refuses_bad_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from redactor.emulator.cli import emulator_command

    cli = typer.Typer()
    cli.command()(emulator_command)
    for name in ("COS_SECRET_ID", "COS_SECRET_KEY", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert CliRunner().invoke(cli, ["--port", "0"]).exit_code == 2  # no credentials
    keys = ["--secret-id", "a", "--secret-key", "b", "--port", "0"]
    assert CliRunner().invoke(cli, [*keys, "--faults", "get:boom=1"]).exit_code == 2
    assert CliRunner().invoke(cli, [*keys, "--bucket", "no_appid"]).exit_code == 2
    assert CliRunner().invoke(cli, [*keys, "--ci-engine", "cloud"]).exit_code == 2


def test_local_engine_on_a_sample(samples_dir: Path) -> None:
    app = make_app(ci_engine="local")
    data = (samples_dir / "idcard-front-photo-0004.jpg").read_bytes()
    with EmulatorServer(app) as srv:
        signed(srv.url, "PUT", "c.jpg", body=data)
        params = {"ci-process": "AILicenseRec", "CardType": "IDCard"}
        first = signed(srv.url, "GET", "c.jpg", params=params)
        assert first.status_code == 200 and b"<Status>1</Status>" in first.content
        assert "<Name>portrait</Name>" in first.text and "<Name>姓名</Name>" in first.text
        assert signed(srv.url, "GET", "c.jpg", params=params).content == first.content  # cached
        params["CardType"] = "DriverLicense"
        assert b"<Status>0</Status>" in signed(srv.url, "GET", "c.jpg", params=params).content
