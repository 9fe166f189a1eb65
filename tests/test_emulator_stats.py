"""The emulator's counters (``GET /_emulator/stats``) over real HTTP, and its CRC-64 on large
bodies (blocks hashed side by side) against the byte loop and the SDK's own crcmod."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest

from redactor.cos.signing import sign
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store, crc64
from redactor.emulator import store as store_module
from redactor.emulator.stats import busiest

SID, SKEY = "AKIDstatstest", "stats-test-secret-key-0123456789"
BUCKET = "stats-1250000000"
HOST = f"{BUCKET}.cos.ap-guangzhou.myqcloud.com"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    store = Store()
    store.create_bucket(BUCKET)
    with EmulatorServer(EmulatorApp(store, EmulatorConfig(credentials={SID: SKEY}, ci_rate=2))) as srv:
        yield srv


def signed(srv: EmulatorServer, method: str, key: str, body: bytes = b"", **params: str) -> httpx.Response:
    now = int(time.time())
    headers = {"host": HOST}
    sig = sign(
        secret_id=SID,
        secret_key=SKEY,
        method=method,
        path=f"/{key}",
        params=params,
        headers=headers,
        start=now - 60,
        end=now + 60,
    )
    return httpx.request(
        method,
        f"{srv.url}/{key}",
        params=params,
        headers={**headers, "Authorization": sig.authorization()},
        content=body,
    )


def test_counters_follow_what_was_answered(server: EmulatorServer) -> None:
    assert signed(server, "PUT", "in/a.jpg", b"a").status_code == 200
    assert signed(server, "PUT", "out/a.jpg", b"masked").status_code == 200
    assert signed(server, "PUT", "top.jpg", b"t").status_code == 200
    assert signed(server, "GET", "in/a.jpg").status_code == 200
    assert signed(server, "GET", "in/missing.jpg").status_code == 404
    statuses = [
        signed(server, "GET", "in/a.jpg", **{"ci-process": "AILicenseRec", "CardType": "IDCard"}).status_code
        for _ in range(8)
    ]
    assert statuses.count(503) >= 1 and set(statuses) == {200, 503}  # the 2/s cap's burst, then SlowDown
    stats = httpx.get(f"{server.url}/_emulator/stats").json()
    assert stats["writes"] == {"in/": 1, "out/": 1, "": 1}
    assert stats["requests"]["put 200"] == 3 and stats["requests"]["get 200"] == 1
    assert stats["requests"]["get 404"] == 1
    assert stats["ci"] == {"IDCard 200": statuses.count(200), "IDCard 503": statuses.count(503)}
    assert stats["ci_tokens"] <= 2 and isinstance(stats["monotonic"], float)
    # every AILicenseRec arrival (refused ones too) is in the windows; none after "now"
    assert stats["ci_windows"]["calls"] == 8 and 1 <= stats["ci_windows"]["max_1s_sliding"] <= 8
    later = httpx.get(f"{server.url}/_emulator/stats", params={"since": str(stats["monotonic"])}).json()
    assert later["ci_windows"]["calls"] == 0
    assert httpx.get(f"{server.url}/_emulator/stats", params={"since": "soon"}).status_code == 400
    # an object named like the endpoint in a bucket is still an object
    assert signed(server, "PUT", "_emulator/stats", b"mine").status_code == 200
    assert signed(server, "GET", "_emulator/stats").content == b"mine"


def test_busiest_windows_slide_over_every_start() -> None:
    # 3 calls in [0.5, 1.4): two fixed seconds hold 2 and 1, a sliding window holds all 3
    got = busiest([0.0, 0.5, 0.9, 1.4, 3.0])
    assert (got.calls, got.sliding, got.fixed) == (5, 3, 3)
    assert busiest([0.0, 1.0, 2.0]).sliding == 1  # [t, t + 1 s): a call a second apart is the next window's
    assert busiest([0.0, 0.5, 0.9, 1.4], since=0.6).calls == 2


@pytest.mark.parametrize("size", [0, 1, 4095, 32 * 1024, 32 * 1024 + 17, 600_001])
def test_crc64_of_large_bodies_matches_the_byte_loop(size: int) -> None:
    data = os.urandom(size)
    expected = store_module._crc_bytes(0xFFFFFFFFFFFFFFFF, data) ^ 0xFFFFFFFFFFFFFFFF
    assert crc64(data) == expected
    half = size // 2
    assert crc64(data[half:], crc64(data[:half])) == expected


def test_crc64_agrees_with_crcmod() -> None:
    crcmod = pytest.importorskip("crcmod")
    reference = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
    data = os.urandom(300_000)
    assert crc64(data) == reference(data)
