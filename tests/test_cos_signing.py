"""The signer against the reference's vectors (section 1.4) and against the official SDK's own
``CosS3Auth`` on generated requests (section 1.5; the SDK is a test-only dependency)."""

from __future__ import annotations

import types
from unittest import mock
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor.cos.client import CosClient
from redactor.cos.config import CosConfig, Credentials
from redactor.cos.signing import canonical, encode, parse_authorization, should_sign_header, sign, verify

ID1 = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"
KEY1 = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
HOST1 = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"
TV1_HEADERS = {
    "Date": "Thu, 16 May 2019 06:45:51 GMT",
    "Host": HOST1,
    "Content-Type": "text/plain",
    "Content-Length": "13",
    "Content-MD5": "mQ/fVh815F3k6TAUm8m0eg==",
    "x-cos-acl": "private",
    "x-cos-grant-read": 'uin="100000000011"',
}


def test_tv1_official_upload_example() -> None:
    sig = sign(
        secret_id=ID1,
        secret_key=KEY1,
        method="PUT",
        path="/exampleobject(腾讯云)",
        headers=TV1_HEADERS,
        start=1557989151,
        end=1557996351,
    )
    assert sig.header_list == "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
    assert sig.signature == "3b8851a11a569213c17ba8fa7dcf2abec6935172"
    assert sig.authorization() == (
        f"q-sign-algorithm=sha1&q-ak={ID1}&q-sign-time=1557989151;1557996351&q-key-time=1557989151;1557996351"
        "&q-header-list=content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
        "&q-url-param-list=&q-signature=3b8851a11a569213c17ba8fa7dcf2abec6935172"
    )
    http_headers, _ = canonical(TV1_HEADERS.items())
    assert http_headers.startswith("content-length=13&content-md5=mQ%2FfVh815F3k6TAUm8m0eg%3D%3D&content-type=")


def test_tv2_official_download_example() -> None:
    params = {"response-content-type": "application/octet-stream", "response-cache-control": "max-age=600"}
    sig = sign(
        secret_id=ID1,
        secret_key=KEY1,
        method="GET",
        path="/exampleobject(腾讯云)",
        params=params,
        headers={"Date": "Thu, 16 May 2019 06:55:53 GMT", "Host": HOST1},
        start=1557989753,
        end=1557996953,
    )
    assert sig.param_list == "response-cache-control;response-content-type"
    assert sig.header_list == "date;host"
    assert sig.signature == "01681b8c9d798a678e43b685a9f1bba0f6c0e012"
    assert canonical(params.items())[0] == (
        "response-cache-control=max-age%3D600&response-content-type=application%2Foctet-stream"
    )


def test_tv3_go_sdk_vector() -> None:
    sig = sign(
        secret_id="QmFzZTY0IGlzIGEgZ2VuZXJp",
        secret_key="AKIDZfbOA78asKUYBcXFrJD0a1ICvR98JM",
        method="PUT",
        path="/testfile2",
        headers={
            "Host": "testbucket-125000000.cos.ap-guangzhou.myqcloud.com",
            "x-cos-content-sha1": "db8ac1c259eb89d4a131b253bacfca5f319d54f2",
            "x-cos-stroage-class": "nearline",
        },
        start=1480932292,
        end=1481012292,
    )
    assert sig.authorization() == (
        "q-sign-algorithm=sha1&q-ak=QmFzZTY0IGlzIGEgZ2VuZXJp&q-sign-time=1480932292;1481012292"
        "&q-key-time=1480932292;1481012292&q-header-list=host;x-cos-content-sha1;x-cos-stroage-class"
        "&q-url-param-list=&q-signature=ce4ac0ecbcdb30538b3fee0a97cc6389694ce53a"
    )


def _tv(method: str, path: str, params: dict[str, str], headers: dict[str, str]) -> str:
    sig = sign(
        secret_id=ID1,
        secret_key=KEY1,
        method=method,
        path=path,
        params=params,
        headers=headers,
        start=1557989151,
        end=1557996351,
    )
    return sig.authorization()


def test_tv4_to_tv7_derived_vectors() -> None:
    tv4_headers = {k: v for k, v in TV1_HEADERS.items() if k != "Date"}
    assert _tv("PUT", "/exampleobject(腾讯云)", {}, tv4_headers).endswith(
        "&q-header-list=content-length;content-md5;content-type;host;x-cos-acl;x-cos-grant-read"
        "&q-url-param-list=&q-signature=fc4e4717b501da12715d5fc84a4880a87ad2b7ab"
    )
    assert _tv("GET", "/exampleobject", {}, {"host": HOST1}).endswith(
        "&q-header-list=host&q-url-param-list=&q-signature=27cf30444826da1b67c09aa099a56cfe3a6a1cc5"
    )
    assert _tv("GET", "/exampleobject", {"x-cos-security-token": "TOKEN123"}, {"host": HOST1}).endswith(
        "&q-header-list=host&q-url-param-list=x-cos-security-token&q-signature=22ff18748f7f172ea053dd4d3cbae2780ccd03ae"
    )
    tv7 = _tv("GET", "/idcard.jpg", {"ci-process": "AILicenseRec", "CardType": "IDCard"}, {"host": HOST1})
    assert tv7.endswith(
        "&q-header-list=host&q-url-param-list=cardtype;ci-process&q-signature=54d0813aa07b6a81367f002bf118433d80607bff"
    )
    fields = parse_authorization(tv7)
    params = [("ci-process", "AILicenseRec"), ("CardType", "IDCard")]
    common = {"fields": fields, "method": "GET", "path": "/idcard.jpg", "params": params, "headers": {"Host": HOST1}}
    assert verify(secret_key=KEY1, **common)  # type: ignore[arg-type]
    assert not verify(secret_key="x" + KEY1, **common)  # type: ignore[arg-type]


def test_tv5_presigned_url_matches_the_sdk() -> None:
    config = CosConfig(region="ap-beijing")
    with CosClient(config, Credentials(ID1, KEY1), clock=lambda: 1557989211.0) as client:
        url = client.presigned_url("examplebucket-1250000000", "exampleobject", expires=7140)
    assert url == (
        f"https://{HOST1}/exampleobject?q-sign-algorithm=sha1&q-ak={ID1}&q-sign-time=1557989151%3B1557996351"
        "&q-key-time=1557989151%3B1557996351&q-header-list=host&q-url-param-list="
        "&q-signature=27cf30444826da1b67c09aa099a56cfe3a6a1cc5"
    )


def test_tv5_with_the_sdk_itself() -> None:
    from qcloud_cos import CosConfig as SdkConfig
    from qcloud_cos import CosS3Client

    client = CosS3Client(SdkConfig(Region="ap-beijing", SecretId=ID1, SecretKey=KEY1))
    with mock.patch("qcloud_cos.cos_auth.time", types.SimpleNamespace(time=lambda: 1557989211)):
        url = client.get_presigned_url(
            Bucket="examplebucket-1250000000", Key="exampleobject", Method="GET", Expired=7140
        )
    assert url.endswith("q-signature=27cf30444826da1b67c09aa099a56cfe3a6a1cc5")


def test_encode_rules() -> None:
    assert encode("a b/c;=:,+~") == "a%20b%2Fc%3B%3D%3A%2C%2B~"
    assert should_sign_header("X-Cos-Meta-A") and should_sign_header("Content-MD5")
    assert not should_sign_header("User-Agent") and not should_sign_header("accept-encoding")


# -- agreement with the official SDK on generated requests ----------------------------------
_KEY_CHARS = st.sampled_from(list("abcXYZ019-_.~/ +%?#&=;:,!'()*@$[]\"<>\\") + ["证", "件", "腾讯云", "./", "é", "\t"])
keys = st.lists(_KEY_CHARS, min_size=1, max_size=12).map("".join)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_NAME = st.text(st.sampled_from(list("abcXYZ019-_.~ +%?#&=证")), min_size=1, max_size=10)
_HEADER_VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)
_HEADER_NAME = st.text(st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789-")), min_size=1, max_size=10)


@st.composite
def sdk_requests(draw: st.DrawFn) -> dict[str, object]:
    params = draw(st.dictionaries(_NAME, _TEXT, max_size=5))
    lowered: dict[str, str] = {}
    for k in params:
        lowered.setdefault(encode(k).lower(), k)
    params = {k: params[k] for k in lowered.values()}
    headers = {f"x-cos-{n}": v for n, v in draw(st.dictionaries(_HEADER_NAME, _HEADER_VALUE, max_size=3)).items()}
    if draw(st.booleans()):
        headers["Content-Type"] = draw(st.sampled_from(["image/jpeg", "text/plain; charset=utf-8", "application/xml"]))
    if draw(st.booleans()):
        headers["Content-MD5"] = "mQ/fVh815F3k6TAUm8m0eg=="
    if draw(st.booleans()):
        headers["x-cos-security-token"] = draw(_HEADER_VALUE)
    return {
        "method": draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"])),
        "key": draw(keys),
        "params": params,
        "headers": headers,
        "body": draw(st.sampled_from([None, b"", b"ObjectContent", b"\x00" * 100])),
        "now": draw(st.integers(1_500_000_000, 2_000_000_000)),
        "expire": draw(st.integers(1, 100_000)),
        "secret_id": draw(st.text(st.sampled_from(list("AKIDabc123")), min_size=1, max_size=36)),
        "secret_key": draw(st.text(st.sampled_from(list("xyzXYZ789")), min_size=1, max_size=32)),
    }


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=sdk_requests())
def test_agrees_with_the_official_sdk(case: dict[str, object]) -> None:
    from qcloud_cos import CosConfig as SdkConfig
    from qcloud_cos.cos_auth import CosS3Auth

    key = str(case["key"])
    params = dict(case["params"])  # type: ignore[call-overload]
    headers = dict(case["headers"])  # type: ignore[call-overload]
    now, expire = int(case["now"]), int(case["expire"])  # type: ignore[call-overload]
    host = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
    conf = SdkConfig(Region="ap-guangzhou", SecretId=str(case["secret_id"]), SecretKey=str(case["secret_key"]))
    url = f"https://{host}/{quote(key, safe='/-_.~')}"
    prepared = requests.Request(str(case["method"]), url, headers=headers, data=case["body"]).prepare()
    with mock.patch("qcloud_cos.cos_auth.time", types.SimpleNamespace(time=lambda: now)):
        CosS3Auth(conf, key, params, expire)(prepared)
    theirs = prepared.headers["Authorization"]

    # Ours over the same wire headers (requests' Content-Length included) plus the port-less host.
    ours_headers = {k: v for k, v in prepared.headers.items() if should_sign_header(k) and k != "Authorization"}
    ours_headers["host"] = host
    path = key if key.startswith("/") else "/" + key
    ours = sign(
        secret_id=str(case["secret_id"]),
        secret_key=str(case["secret_key"]),
        method=str(case["method"]),
        path=path,
        params=params,
        headers=ours_headers,
        start=now - 60,
        end=now + expire,
    )
    assert ours.authorization() == theirs


def test_sdk_content_length_pitfall() -> None:
    """TV3 through the SDK: requests adds Content-Length: 0 to a body-less PUT, which changes the signature."""
    from qcloud_cos import CosConfig as SdkConfig
    from qcloud_cos.cos_auth import CosS3Auth

    conf = SdkConfig(
        Region="ap-guangzhou", SecretId="QmFzZTY0IGlzIGEgZ2VuZXJp", SecretKey="AKIDZfbOA78asKUYBcXFrJD0a1ICvR98JM"
    )
    headers = {
        "Host": "testbucket-125000000.cos.ap-guangzhou.myqcloud.com",
        "x-cos-content-sha1": "db8ac1c259eb89d4a131b253bacfca5f319d54f2",
        "x-cos-stroage-class": "nearline",
    }
    prepared = requests.Request(
        "PUT", "http://testbucket-125000000.cos.ap-guangzhou.myqcloud.com/testfile2", headers=headers
    ).prepare()
    with mock.patch("qcloud_cos.cos_auth.time", types.SimpleNamespace(time=lambda: 1480932352)):
        CosS3Auth(conf, "testfile2", {}, 79940)(prepared)
    assert prepared.headers["Authorization"].endswith("q-signature=04832a6ea2e7b2e8ca2f27c44efa28ff3c1fddf7")
    del prepared.headers["Content-Length"]
    with mock.patch("qcloud_cos.cos_auth.time", types.SimpleNamespace(time=lambda: 1480932352)):
        CosS3Auth(conf, "testfile2", {}, 79940)(prepared)
    assert prepared.headers["Authorization"].endswith("q-signature=ce4ac0ecbcdb30538b3fee0a97cc6389694ce53a")


@pytest.mark.parametrize("bad", [" AKID", "AKID "])
def test_credentials_with_spaces_are_refused(bad: str) -> None:
    from redactor.cos.errors import CosConfigError

    with pytest.raises(CosConfigError, match="spaces"):
        Credentials(bad, "key")
