"""Library calls for objects in COS: redact right before archiving, or a whole prefix.

``await redact_object(client, "cos://b-125.../in/a.jpg", "cos://b-125.../out/a.jpg")`` reads
the object, redacts it with a :class:`~redactor.Redactor`, and writes the masked copy with
the source's Content-Type and redactor's stamp (:mod:`redactor.core.stamps`, the same as a
batch run's); a destination that already carries the same stamp is left alone (idempotent),
and an object there that redactor did not write is never replaced unless ``overwrite=True``.
What is in doubt is copied to ``quarantine`` when given, never to the destination, with its
reasons beside it (``<quarantine>.reason.json``), as a batch run leaves them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redactor.api import RedactionResult, Redactor
from redactor.core.results import Decision
from redactor.core.stamps import (
    QUARANTINED_KEY,
    SKIP_REASON,
    ObjectHead,
    Stamp,
    StampKey,
    WriteAction,
    origin_of,
    refusal_reason,
    write_decision,
)
from redactor.cos.config import parse_cos_url
from redactor.cos.errors import CosNotFoundError
from redactor.cos.ports import AsyncCosOperations
from redactor.errors import UsageError
from redactor.pipeline import is_companion_key, is_image_key, reason_key
from redactor.pipeline.records import ImageDetails, ReportRow


@dataclass(frozen=True)
class ObjectOutcome:
    """What happened to one object (report-safe: no DetectedText)."""

    source: str
    decision: Decision
    reasons: tuple[str, ...] = ()
    destination: str | None = None
    quarantine: str | None = None
    result: RedactionResult | None = field(default=None, repr=False)

    @property
    def output(self) -> str | None:
        """Where the masked copy went: the name the run report uses (``destination`` stays)."""
        return self.destination

    def report_row(self) -> ReportRow:
        """The outcome as a line of a run's report (the same record a batch run writes)."""
        row = ReportRow(self.source, self.decision.value, list(self.reasons), output=self.output)
        row.quarantine = self.quarantine
        if self.result is not None:
            card = self.result.card_type.value if self.result.card_type else None
            fields = [f.to_record() for f in self.result.fields]
            row.image = ImageDetails(card, None, fields, {}, self.result.verified)
        return row

    def to_record(self) -> dict[str, Any]:
        return self.report_row().to_record()


def _split(url: str) -> tuple[str, str]:
    bucket, key = parse_cos_url(url)
    if not key or key.endswith("/"):
        raise UsageError(f"{url} names a prefix, not an object")
    return bucket, key


async def redact_object(
    client: AsyncCosOperations,
    source: str,
    destination: str,
    *,
    redactor: Redactor | None = None,
    quarantine: str | None = None,
    overwrite: bool = False,
    stamp_key: StampKey | None = None,
) -> ObjectOutcome:
    """Redact one object (``client`` is an :class:`~redactor.cos.client.AsyncCosClient`).

    ``overwrite=True`` replaces whatever the destination holds; without it an object that
    redactor did not write is left alone and the outcome is ``failed`` with the reason.
    ``stamp_key``: what signs the stamps (default: :func:`redactor.runs.resolve_stamp_key`)."""
    redactor = redactor or Redactor()
    key = stamp_key or _default_stamp_key()
    src_bucket, src_key = _split(source)
    dst_bucket, dst_key = _split(destination)
    if (src_bucket, src_key) == (dst_bucket, dst_key):
        raise UsageError("the destination is the source: redactor never overwrites an original")
    data, headers = await client.get_object_with_headers(src_bucket, src_key)
    tag = headers.get("etag", "").strip().strip('"').lower() or None
    verify = "on" if redactor.verifier is not None else "off"
    stamp = Stamp.of(bytes(data), redactor.policy.sha256, verify, source_tag=tag, origin=origin_of(src_bucket, src_key))
    action = write_decision(stamp, await _head(client, dst_bucket, dst_key), key, overwrite=overwrite)
    if action is WriteAction.SKIP:
        return ObjectOutcome(source, Decision.SKIPPED, (SKIP_REASON,), destination)
    if action in (WriteAction.REFUSE, WriteAction.REFUSE_OTHER):
        return ObjectOutcome(source, Decision.FAILED, (refusal_reason(action),))
    result = await redactor.aredact(bytes(data))
    if result.redacted and result.data is not None:
        await client.put_object(
            dst_bucket,
            dst_key,
            result.data,
            content_type=headers.get("content-type"),
            metadata=stamp.metadata(result.data, key),
            forbid_overwrite=action is not WriteAction.REPLACE,
        )
        return ObjectOutcome(source, result.decision, result.reasons, destination, None, result)
    placed = None
    if quarantine is not None and result.decision is Decision.QUARANTINED:
        q_bucket, q_key = _split(quarantine)
        held = await _head(client, q_bucket, q_key)
        if held is None or held.metadata.get(QUARANTINED_KEY) != stamp.source_tag:
            # Write-once: a copy of this very source already there (with its reasons) stays.
            reason = {"source": source, "reasons": list(result.reasons), "policy_sha256": redactor.policy.sha256}
            await client.put_object(
                q_bucket,
                reason_key(q_key),
                json.dumps(reason, ensure_ascii=False, indent=1).encode(),
                content_type="application/json",
            )
            await client.put_object(
                q_bucket,
                q_key,
                bytes(data),
                content_type=headers.get("content-type"),
                metadata={QUARANTINED_KEY: stamp.source_tag},
                forbid_overwrite=held is None,
            )
        placed = quarantine
    return ObjectOutcome(source, result.decision, result.reasons, None, placed, result)


async def _head(client: AsyncCosOperations, bucket: str, key: str) -> ObjectHead | None:
    try:
        got = await client.head_object(bucket, key)
    except CosNotFoundError:
        return None
    meta = {str(k).lower(): str(v) for k, v in dict(got.get("metadata") or {}).items()}
    return ObjectHead(meta, str(got.get("etag") or "") or None)


def _default_stamp_key() -> StampKey:
    from redactor.runs import resolve_stamp_key

    return resolve_stamp_key()


async def redact_prefix(
    client: AsyncCosOperations,
    source: str,
    destination: str,
    *,
    redactor: Redactor | None = None,
    quarantine: str | None = None,
    concurrency: int = 8,
    overwrite: bool = False,
    stamp_key: StampKey | None = None,
) -> AsyncIterator[ObjectOutcome]:
    """Redact every image below a prefix, ``concurrency`` objects at a time, listing page by
    page (memory does not grow with the bucket). Yields outcomes as they finish."""
    redactor = redactor or Redactor()
    stamp_key = stamp_key or _default_stamp_key()
    src_bucket, src_prefix = parse_cos_url(source)
    dst_bucket, dst_prefix = parse_cos_url(destination)
    q = parse_cos_url(quarantine) if quarantine else None
    if src_bucket == dst_bucket and (dst_prefix.startswith(src_prefix) or src_prefix.startswith(dst_prefix)):
        raise UsageError("source and destination prefixes overlap")
    pending: set[asyncio.Task[ObjectOutcome]] = set()
    async for info in client.iter_objects(src_bucket, src_prefix):
        rel = info.key[len(src_prefix) :]
        if not is_image_key(rel) or is_companion_key(rel):
            continue
        q_url = f"cos://{q[0]}/{q[1]}{rel}" if q else None
        pending.add(
            asyncio.create_task(
                redact_object(
                    client,
                    f"cos://{src_bucket}/{info.key}",
                    f"cos://{dst_bucket}/{dst_prefix}{rel}",
                    redactor=redactor,
                    quarantine=q_url,
                    overwrite=overwrite,
                    stamp_key=stamp_key,
                )
            )
        )
        if len(pending) >= concurrency:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    for finished in asyncio.as_completed(pending):
        yield await finished
