"""The async library calls for objects, against the emulator."""

from __future__ import annotations

import asyncio

from redactor import Redactor
from redactor.core.results import Decision
from redactor.cos.client import AsyncCosClient, CosClient
from redactor.cos.config import CosConfig, Credentials
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store
from redactor.objects import redact_object, redact_prefix

from .conftest import SAMPLES

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
                )
                again = await redact_object(
                    client,
                    f"cos://{BUCKET}/in/idcard-front-scan-0001.png",
                    f"cos://{BUCKET}/out/card.png",
                    redactor=redactor,
                )
                batch = [
                    o
                    async for o in redact_prefix(
                        client,
                        f"cos://{BUCKET}/in/",
                        f"cos://{BUCKET}/all/",
                        redactor=redactor,
                        quarantine=f"cos://{BUCKET}/doubt/",
                        concurrency=2,
                    )
                ]
                head = await client.head_object(BUCKET, "out/card.png")
                return one, again, batch, head

        one, again, batch, head = asyncio.run(main())
    assert one.decision is Decision.REDACTED and again.decision is Decision.SKIPPED
    assert head["content_type"] == "image/x-test" and head["metadata"]["redactor-policy"] == redactor.policy.sha256
    decisions = {o.source.rsplit("/", 1)[1]: o.decision for o in batch}
    assert decisions == {"idcard-front-scan-0001.png": Decision.REDACTED, "noncard-0012.jpg": Decision.QUARANTINED}
    assert store.get(BUCKET, "doubt/noncard-0012.jpg") is not None
    assert store.get(BUCKET, "all/noncard-0012.jpg") is None
    assert all("detected_text" not in str(o.to_record()) for o in batch)
