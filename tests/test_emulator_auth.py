"""The emulator's signature checks over real HTTP (reference 1.1 and 1.6): SignKey keyed by
q-key-time, StringToSign carrying q-sign-time, both windows enforced, malformed fields refused.

Signatures with two different windows are computed here from the algorithm itself (not with
the project's signer), so the emulator is checked against the protocol, not against itself."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from redactor.cos.signing import sign
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store

SID, SKEY = "AKIDauthtest", "auth-test-secret-key-0123456789"
BUCKET = "auth-1250000000"
HOST = f"{BUCKET}.cos.ap-guangzhou.myqcloud.com"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    store = Store()
    store.create_bucket(BUCKET)
    with EmulatorServer(EmulatorApp(store, EmulatorConfig(credentials={SID: SKEY}))) as srv:
        yield srv


def protocol_signature(method: str, key: str, sign_time: str, key_time: str, headers: dict[str, str]) -> str:
    """Reference 1.1, written out: SignKey = HMAC(SecretKey, q-key-time);
    StringToSign = sha1\\n q-sign-time \\n sha1(HttpString)\\n (no query parameters here)."""
    items = sorted((quote(k, safe="-_.~").lower(), quote(v, safe="-_.~")) for k, v in headers.items())
    http_headers = "&".join(f"{k}={v}" for k, v in items)
    http_string = f"{method.lower()}\n/{key}\n\n{http_headers}\n"
    digest = hashlib.sha1(http_string.encode()).hexdigest()
    sign_key = hmac.new(SKEY.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    return hmac.new(sign_key.encode(), f"sha1\n{sign_time}\n{digest}\n".encode(), hashlib.sha1).hexdigest()


def authorization(sign_time: str, key_time: str, signature: str, header_list: str = "host") -> str:
    return (
        f"q-sign-algorithm=sha1&q-ak={SID}&q-sign-time={sign_time}&q-key-time={key_time}"
        f"&q-header-list={header_list}&q-url-param-list=&q-signature={signature}"
    )


def send(srv: EmulatorServer, method: str, key: str, auth: str, body: bytes = b"") -> httpx.Response:
    return httpx.request(method, f"{srv.url}/{key}", headers={"host": HOST, "Authorization": auth}, content=body)


def put(srv: EmulatorServer, key: str, body: bytes, start: int, end: int) -> tuple[httpx.Response, str]:
    """A PUT signed by the project's signer over (start, end); returns the reply and its Authorization."""
    headers = {"host": HOST, "content-length": str(len(body))}
    sig = sign(secret_id=SID, secret_key=SKEY, method="PUT", path=f"/{key}", headers=headers, start=start, end=end)
    auth = sig.authorization()
    return send(srv, "PUT", key, auth, body), auth


def get_body(srv: EmulatorServer, key: str) -> bytes:
    now = int(time.time())
    sig = sign(
        secret_id=SID,
        secret_key=SKEY,
        method="GET",
        path=f"/{key}",
        headers={"host": HOST},
        start=now - 5,
        end=now + 60,
    )
    r = send(srv, "GET", key, sig.authorization())
    assert r.status_code == 200, r.text
    return r.content


def assert_refused(r: httpx.Response, code: str) -> None:
    """403 with a COS XML error naming ``code``, and nothing secret in the body."""
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/xml"
    assert r.text.startswith("<?xml") and f"<Code>{code}</Code>" in r.text and "<RequestId>" in r.text
    assert SKEY not in r.text and "Authorization" not in r.text
    assert re.search(r"[0-9a-f]{40}", r.text) is None  # no signature or SignKey echoed


def test_a_valid_signature_is_accepted(server: EmulatorServer) -> None:
    now = int(time.time())
    r, _ = put(server, "valid.txt", b"valid", now - 60, now + 600)
    assert r.status_code == 200, r.text
    assert get_body(server, "valid.txt") == b"valid"


def test_an_expired_signature_is_refused(server: EmulatorServer) -> None:
    old = int(time.time()) - 7200
    r, _ = put(server, "expired.txt", b"late", old, old + 60)
    assert_refused(r, "AccessDenied")
    assert "Request has expired" in r.text
    future = int(time.time()) + 3600
    r, _ = put(server, "expired.txt", b"early", future, future + 60)
    assert_refused(r, "AccessDenied")


def test_a_replayed_put_with_a_rewritten_sign_time_does_not_replace_the_object(server: EmulatorServer) -> None:
    now = int(time.time())
    r, _ = put(server, "victim.txt", b"original", now - 60, now + 600)
    assert r.status_code == 200
    old = now - 7200
    _, captured = put(server, "victim.txt", b"replaced", old, old + 60)  # signed long ago, expired now
    fresh = f"{now - 60};{now + 600}"
    rewritten = captured.replace(f"q-sign-time={old};{old + 60}", f"q-sign-time={fresh}")
    assert rewritten != captured and f"q-key-time={old};{old + 60}" in rewritten
    assert_refused(send(server, "PUT", "victim.txt", rewritten, b"replaced"), "AccessDenied")
    # both times rewritten: the signature no longer matches (SignKey is keyed by q-key-time)
    both = rewritten.replace(f"q-key-time={old};{old + 60}", f"q-key-time={fresh}")
    assert_refused(send(server, "PUT", "victim.txt", both, b"replaced"), "SignatureDoesNotMatch")
    assert get_body(server, "victim.txt") == b"original"


def test_sign_time_is_part_of_the_string_to_sign(server: EmulatorServer) -> None:
    """A narrow q-sign-time inside a wide q-key-time, both current: genuine, accepted; moved to
    another current window inside q-key-time: refused (StringToSign carries q-sign-time)."""
    now = int(time.time())
    key_time = f"{now - 3600};{now + 3600}"
    sign_time = f"{now - 30};{now + 300}"
    put_headers = {"host": HOST, "content-length": "6"}
    signature = protocol_signature("PUT", "narrow.txt", sign_time, key_time, put_headers)
    auth = authorization(sign_time, key_time, signature, "content-length;host")
    assert send(server, "PUT", "narrow.txt", auth, b"narrow").status_code == 200
    assert get_body(server, "narrow.txt") == b"narrow"
    moved = auth.replace(f"q-sign-time={sign_time}", f"q-sign-time={now - 60};{now + 900}")
    assert_refused(send(server, "PUT", "narrow.txt", moved, b"narrow"), "SignatureDoesNotMatch")
    widened_key = auth.replace(f"q-key-time={key_time}", f"q-key-time={now - 3000};{now + 3000}")
    assert_refused(send(server, "PUT", "narrow.txt", widened_key, b"narrow"), "SignatureDoesNotMatch")


def test_sign_time_outside_key_time_is_refused(server: EmulatorServer) -> None:
    """Even genuinely signed: a q-sign-time reaching past q-key-time is not honoured."""
    now = int(time.time())
    key_time, sign_time = f"{now - 60};{now + 60}", f"{now - 60};{now + 7200}"
    signature = protocol_signature("GET", "valid.txt", sign_time, key_time, {"host": HOST})
    assert_refused(send(server, "GET", "valid.txt", authorization(sign_time, key_time, signature)), "AccessDenied")
    # and an expired q-key-time under a current q-sign-time, genuinely signed
    old = now - 7200
    key_time = f"{old};{now + 60}"
    signature = protocol_signature("GET", "valid.txt", sign_time, key_time, {"host": HOST})
    assert send(server, "GET", "valid.txt", authorization(sign_time, key_time, signature)).status_code == 403
    stale_key = f"{old};{old + 60}"
    signature = protocol_signature("GET", "valid.txt", f"{old};{old + 60}", stale_key, {"host": HOST})
    assert_refused(
        send(server, "GET", "valid.txt", authorization(f"{old};{old + 60}", stale_key, signature)), "AccessDenied"
    )


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda a, w: a.replace(f"q-sign-time={w}", "q-sign-time=abc;def"),
        lambda a, w: a.replace(f"q-sign-time={w}", "q-sign-time=+1;+99999999999"),
        lambda a, w: a.replace(f"q-key-time={w}", "q-key-time=" + ";".join(reversed(w.split(";")))),
        lambda a, w: a.replace(f"q-key-time={w}&", ""),
        lambda a, w: a.replace("q-sign-algorithm=sha1", "q-sign-algorithm=md5"),
        lambda a, w: a + f"&q-sign-time={w}",
        lambda a, w: a.replace("&q-signature=", "&q-signature=ZZ"),
        lambda a, w: a.replace("q-header-list=content-length;host", "q-header-list=Host"),
        lambda a, w: a.replace("&q-url-param-list=", "&q-url-param-list"),
    ],
    ids=[
        "letters",
        "signed-numbers",
        "end-before-start",
        "missing-key-time",
        "md5",
        "repeated",
        "bad-hex",
        "case",
        "no-equals",
    ],
)
def test_malformed_fields_are_refused(server: EmulatorServer, rewrite) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time())
    window = f"{now - 60};{now + 600}"
    r, auth = put(server, "malformed.txt", b"first", now - 60, now + 600)
    assert r.status_code == 200
    bad = rewrite(auth, window)
    assert bad != auth
    assert_refused(send(server, "PUT", "malformed.txt", bad, b"other"), "AccessDenied")
    assert get_body(server, "malformed.txt") == b"first"


def test_presigned_query_with_a_rewritten_sign_time_is_refused(server: EmulatorServer) -> None:
    now = int(time.time())
    r, _ = put(server, "pre.txt", b"presigned", now - 60, now + 600)
    assert r.status_code == 200
    old = now - 7200
    sig = sign(
        secret_id=SID, secret_key=SKEY, method="GET", path="/pre.txt", headers={"host": HOST}, start=old, end=old + 60
    )
    query = sig.query()
    query["q-sign-time"] = f"{now - 60};{now + 600}"
    r = httpx.get(f"{server.url}/pre.txt", params=query, headers={"host": HOST})
    assert_refused(r, "AccessDenied")
    query["q-key-time"] = query["q-sign-time"]
    assert_refused(httpx.get(f"{server.url}/pre.txt", params=query, headers={"host": HOST}), "SignatureDoesNotMatch")
