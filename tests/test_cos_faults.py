"""COS to COS under injected faults: 2,000 objects through 10% 5xx, 5% SlowDown, 1% resets
and 1% truncated bodies on every operation. Every object must end redacted in DST or
quarantined with a reason; none lost, none written unredacted, none written twice."""

from __future__ import annotations

import io
import json
from collections import Counter

import numpy as np
from PIL import Image

from redactor.bench import small_card
from redactor.core.ailicenserec import parse_response
from redactor.cos.client import CosClient
from redactor.cos.config import CosConfig, Credentials
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store
from redactor.locators.cloud import CloudLocator, Staging
from redactor.pipeline import BatchRunner, RunOptions
from redactor.policy_files import load_bundled_policy
from redactor.storage.cos import CosStorage
from tests.conftest import TEST_STAMP_KEY

BUCKET = "faults-1250000000"
SID, SKEY = "AKIDfaults00000000000000000000000000", "faults-secret-key-00000000000000"
COUNT = 2000
SCALE = 0.25
FAULTS = "*:5xx=0.10,slowdown=0.05,reset=0.01,truncate=0.01"


def _small_card() -> tuple[bytes, bytes]:
    """The sample scan at a quarter size (PNG), and its AILicenseRec response scaled to match."""
    small, sidecar = small_card(SCALE)
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    return buffer.getvalue(), sidecar


def _variant(png: bytes, i: int) -> bytes:
    """A distinct object per index (one pixel in a corner), so every content hash differs."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.putpixel((1, 1), (i % 256, (i // 256) % 256, 7))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def test_two_thousand_objects_under_faults():
    card, sidecar = _small_card()
    store = Store()
    store.create_bucket(BUCKET)
    noise = np.random.default_rng(3).integers(0, 255, (60, 90, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    not_a_card = buffer.getvalue()
    credentials = Credentials(SID, SKEY)
    seeding = EmulatorServer(EmulatorApp(store, EmulatorConfig(credentials={SID: SKEY})))
    with seeding, CosClient(CosConfig(region="ap-guangzhou", endpoint=seeding.url), credentials) as client:
        for i in range(COUNT):
            key = f"in/{i:04d}.png"
            if i % 10 == 9:  # every tenth object shows no card: it must be quarantined
                client.put_object(BUCKET, key, _variant(not_a_card, i), content_type="image/png")
            else:
                client.put_object(BUCKET, key, _variant(card, i), content_type="image/png")
                client.put_object(BUCKET, key + ".ailicenserec.xml", sidecar)

    writes: Counter[str] = Counter()
    original_put = store.put

    def counting_put(bucket, meta, data):
        writes[meta.key] += 1
        return original_put(bucket, meta, data)

    store.put = counting_put  # type: ignore[method-assign]
    emulator = EmulatorApp(store, EmulatorConfig(credentials={SID: SKEY}, ci_engine="replay", faults=FAULTS, seed=11))
    policy = load_bundled_policy("default")
    with EmulatorServer(emulator) as server:
        config = CosConfig(region="ap-guangzhou", endpoint=server.url, max_attempts=10, deadline=120.0)
        with CosClient(config, credentials) as client:
            options = RunOptions(
                stamp_key=TEST_STAMP_KEY,
                policy=policy,
                locator=CloudLocator(client, Staging(BUCKET, "staging/")),
                workers=8,
            )
            report = io.StringIO()
            runner = BatchRunner(
                CosStorage(client, BUCKET, "in/"),
                CosStorage(client, BUCKET, "out/"),
                CosStorage(client, BUCKET, "quarantine/"),
                options,
                report=report,
            )
            summary = runner.run()

    print("fault run:", summary.to_record(), "requests retried inside the client")
    records = {r["source"]: r for r in map(json.loads, report.getvalue().splitlines()) if "source" in r}
    images = {k for k in records if k.endswith(".png")}  # the sidecars are listed too, as skipped
    assert len(images) == COUNT and summary.total == len(records) == COUNT + summary.ignored
    for i in range(COUNT):
        key = f"{i:04d}.png"
        out = store.get(BUCKET, f"out/{key}")
        held = store.get(BUCKET, f"quarantine/{key}")
        assert (out is None) != (held is None), f"{key}: exactly one of redacted or quarantined ({records[key]})"
        if held is not None:
            original = store.get(BUCKET, f"in/{key}")
            assert original is not None and held[1] == original[1]  # the original, intact
            reason = store.get(BUCKET, f"quarantine/{key}.reason.json")
            assert reason is not None and json.loads(reason[1])["reasons"]
        else:
            assert out is not None and out[0].headers.get("x-cos-meta-redactor-policy") == policy.sha256
            masked = np.asarray(Image.open(io.BytesIO(out[1])).convert("L"))
            assert _id_number_boxed(masked, sidecar), f"{key} written without its mask"
        assert writes[f"out/{key}"] <= 1, f"{key} written {writes[f'out/{key}']} times"
    assert summary.redacted + summary.quarantined == COUNT
    assert summary.redacted >= 0.8 * COUNT  # most cards get through despite the faults


def _id_number_boxed(masked: np.ndarray, sidecar: bytes) -> bool:
    detection = parse_response(sidecar)
    polygon = next(f.polygon for f in detection.fields if f.canonical == "id_number")
    x0, y0, x1, y1 = (int(round(v)) for v in polygon.bounds)
    return bool((masked[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1] < 8).all())
