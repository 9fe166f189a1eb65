"""The async library calls for objects, against the emulator."""

from __future__ import annotations

import asyncio
import json

from redactor import Redactor
from redactor.core.results import Decision
from redactor.core.stamps import ObjectHead, Stamp, StampKey, WriteAction, content_tag, write_decision
from redactor.cos.client import AsyncCosClient, CosClient
from redactor.cos.config import CosConfig, Credentials
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store
from redactor.objects import redact_object, redact_prefix

from .conftest import SAMPLES, TEST_STAMP_KEY

BUCKET = "lib-1250000000"
SID, SKEY = "AKIDobjects00000000000000000000000", "objects-secret-key-0000000000000"


def test_redact_object_and_prefix():
    store = Store()
    store.create_bucket(BUCKET)
    with EmulatorServer(EmulatorApp(store, EmulatorConfig(credentials={SID: SKEY}))) as server:
        config = CosConfig(region="ap-guangzhou", endpoint=server.url)
        with CosClient(config, Credentials(SID, SKEY)) as sync:
            for name in ("idcard-front-scan-0001.png", "noncard-0012.jpg"):
                sync.put_object(BUCKET, f"in/{name}", (SAMPLES / name).read_bytes(), content_type="image/x-test")
        redactor = Redactor(engine="local")

        async def main():
            async with AsyncCosClient(config, Credentials(SID, SKEY)) as client:
                one = await redact_object(
                    client,
                    f"cos://{BUCKET}/in/idcard-front-scan-0001.png",
                    f"cos://{BUCKET}/out/card.png",
                    redactor=redactor,
                    stamp_key=TEST_STAMP_KEY,
                )
                again = await redact_object(
                    client,
                    f"cos://{BUCKET}/in/idcard-front-scan-0001.png",
                    f"cos://{BUCKET}/out/card.png",
                    redactor=redactor,
                    stamp_key=TEST_STAMP_KEY,
                )
                batch = [
                    o
                    async for o in redact_prefix(
                        client,
                        f"cos://{BUCKET}/in/",
                        f"cos://{BUCKET}/all/",
                        redactor=redactor,
                        stamp_key=TEST_STAMP_KEY,
                        quarantine=f"cos://{BUCKET}/doubt/",
                        concurrency=2,
                    )
                ]
                head = await client.head_object(BUCKET, "out/card.png")
                return one, again, batch, head

        one, again, batch, head = asyncio.run(main())
    assert one.decision is Decision.REDACTED and again.decision is Decision.SKIPPED
    assert one.output == one.destination == one.to_record()["output"] == f"cos://{BUCKET}/out/card.png"
    assert head["content_type"] == "image/x-test" and head["metadata"]["redactor-policy"] == redactor.policy.sha256
    decisions = {o.source.rsplit("/", 1)[1]: o.decision for o in batch}
    assert decisions == {"idcard-front-scan-0001.png": Decision.REDACTED, "noncard-0012.jpg": Decision.QUARANTINED}
    assert store.get(BUCKET, "doubt/noncard-0012.jpg") is not None
    assert store.get(BUCKET, "all/noncard-0012.jpg") is None
    assert all("detected_text" not in str(o.to_record()) for o in batch)
    reason = json.loads(store.get(BUCKET, "doubt/noncard-0012.jpg.reason.json")[1])
    assert reason["source"].endswith("in/noncard-0012.jpg") and reason["reasons"]


def test_redact_object_never_replaces_what_redactor_did_not_write():
    """The library's object calls follow the batch run's rule: a foreign object at the
    destination is refused (failed, with the reason) and stays as it was, unless overwrite."""
    store = Store()
    store.create_bucket(BUCKET)
    card = (SAMPLES / "idcard-front-scan-0001.png").read_bytes()
    with EmulatorServer(EmulatorApp(store, EmulatorConfig(credentials={SID: SKEY}))) as server:
        config = CosConfig(region="ap-guangzhou", endpoint=server.url)
        with CosClient(config, Credentials(SID, SKEY)) as sync:
            sync.put_object(BUCKET, "in/card.png", card)
            sync.put_object(BUCKET, "out/card.png", b"someone else's file")
        redactor = Redactor(engine="local")

        async def main():
            async with AsyncCosClient(config, Credentials(SID, SKEY)) as client:
                refused = await redact_object(
                    client,
                    f"cos://{BUCKET}/in/card.png",
                    f"cos://{BUCKET}/out/card.png",
                    redactor=redactor,
                    stamp_key=TEST_STAMP_KEY,
                )
                untouched = store.get(BUCKET, "out/card.png")[1]
                replaced = await redact_object(
                    client,
                    f"cos://{BUCKET}/in/card.png",
                    f"cos://{BUCKET}/out/card.png",
                    redactor=redactor,
                    stamp_key=TEST_STAMP_KEY,
                    overwrite=True,
                )
                return refused, untouched, replaced

        refused, untouched, replaced = asyncio.run(main())
    assert refused.decision is Decision.FAILED and "not written by redactor" in refused.reasons[0]
    assert untouched == b"someone else's file"
    assert replaced.decision is Decision.REDACTED
    assert store.get(BUCKET, "out/card.png")[1] != b"someone else's file"


def test_one_write_rule_for_every_path():
    key = TEST_STAMP_KEY
    stamp = Stamp.of(b"source bytes", "p" * 64, "on", "s" * 64, origin="o" * 32)
    output = b"masked bytes"
    ours = ObjectHead(stamp.metadata(output, key), content_tag(output))
    older_stamp = Stamp.of(b"source bytes", "q" * 64, "on", "s" * 64, origin="o" * 32)
    older = ObjectHead(older_stamp.metadata(output, key), content_tag(output))
    assert write_decision(stamp, None, key) is WriteAction.WRITE
    assert write_decision(stamp, ours, key) is WriteAction.SKIP
    assert write_decision(stamp, ours, key, overwrite=True) is WriteAction.REPLACE
    assert write_decision(stamp, older, key) is WriteAction.REPLACE  # an older output of ours
    assert write_decision(stamp, ObjectHead({}), None) is WriteAction.REFUSE  # a file: no stamp
    assert write_decision(stamp, ObjectHead({}, "e"), key) is WriteAction.REFUSE  # an object without a stamp
    assert write_decision(stamp, ObjectHead({}), None, ours_before=True) is WriteAction.REPLACE  # our checkpoint
    assert write_decision(stamp, ObjectHead({}, "e"), key, overwrite=True) is WriteAction.REPLACE
    # a changed sidecar or second-look setting is another output
    assert write_decision(Stamp.of(b"source bytes", "p" * 64, "off", "s" * 64, origin="o" * 32), ours, key) is (
        WriteAction.REPLACE
    )


def test_a_forged_or_copied_stamp_is_never_taken_for_a_finished_output():
    """The stamp every report makes public (the policy's sha256) and a genuine stamp copied
    from another object both fail: the MAC covers the stamp and the object's own ETag."""
    key = TEST_STAMP_KEY
    stamp = Stamp.of(b"source bytes", "p" * 64, "on", origin="o" * 32)
    masked, unmasked = b"masked bytes", b"the unmasked original"
    genuine = stamp.metadata(masked, key)
    copied = ObjectHead(genuine, content_tag(unmasked))  # the stamp of an output, on other bytes
    handmade = ObjectHead(stamp.fields(), content_tag(unmasked))  # every field, no MAC
    other_key = ObjectHead(stamp.metadata(unmasked, StampKey.derived("somebody else's key!!")), content_tag(unmasked))
    for forged in (copied, handmade, other_key):
        assert not stamp.matches(forged, key)
        assert write_decision(stamp, forged, key) is WriteAction.REFUSE


def test_the_redacted_copy_of_another_source_is_not_replaced():
    """Two sources mapped to one output key (two buckets, one key): the second is refused."""
    key = TEST_STAMP_KEY
    first = Stamp.of(b"one", "p" * 64, "on", origin="a" * 32)
    second = Stamp.of(b"two", "p" * 64, "on", origin="b" * 32)
    there = ObjectHead(first.metadata(b"out", key), content_tag(b"out"))
    assert write_decision(second, there, key) is WriteAction.REFUSE_OTHER
    assert write_decision(second, there, key, overwrite=True) is WriteAction.REPLACE
