"""Serverless Cloud Function handler for COS upload triggers (reference section 5).

Deploy with the handler ``redactor.scf.main_handler``. Configuration by environment:

- ``REDACTOR_DST``: where masked objects go, ``cos://<bucket-appid>/<prefix>/`` (required);
  the source key is mirrored below it.
- ``REDACTOR_QUARANTINE``: where doubtful originals go (default: ``<DST prefix>.quarantine/``).
- ``REDACTOR_POLICY``: bundled policy name or a path in the function package (default ``default``).
- ``REDACTOR_ENGINE``: ``cos`` (AILicenseRec on the uploaded object, the default) or ``local``.
- ``REDACTOR_VERIFY``: ``on`` (the default: a second look at every masked image) or ``off``.
- Credentials: the function role's ``TENCENTCLOUD_SECRETID``/``SECRETKEY``/``SESSIONTOKEN``
  (or any source ``redactor.cos.config.resolve_credentials`` knows); ``COS_ENDPOINT`` for a proxy.

Objects below the destination or quarantine prefixes, and objects that already carry
redactor's stamp, are ignored: a function writing into the bucket that triggers it must
not trigger itself forever. The return value is a list of report records (no DetectedText).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from redactor.core.fields import CardTypeHint
from redactor.cos.config import normalize_region, parse_cos_url
from redactor.cos.ports import CosOperations
from redactor.errors import RedactorError, UsageError
from redactor.locators import Locator, make_locator
from redactor.pipeline import BatchRunner, RunOptions, is_companion_key, is_image_key
from redactor.policy_files import load_policy_option
from redactor.storage.cos import CosStorage
from redactor.verifiers import Verifier, default_verifier


def object_of(record: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(bucket ``name-appid``, object key, region) of one trigger record."""
    cos = record["cos"]
    bucket_info = cos["cosBucket"]
    name, appid = str(bucket_info["name"]), str(bucket_info["appid"])
    raw = str(cos["cosObject"]["key"])
    prefix = f"/{appid}/{name}/"
    key = raw[len(prefix) :] if raw.startswith(prefix) else "/".join(raw.split("/")[3:])
    region = bucket_info.get("s3Region") or bucket_info.get("cosRegion") or bucket_info.get("region")
    return f"{name}-{appid}", key, str(region) if region else None


def handle(
    event: Mapping[str, Any], env: Mapping[str, str] | None = None, client: CosOperations | None = None
) -> list[dict[str, Any]]:
    """Redact every created object of a trigger event; see the module docstring."""
    env = os.environ if env is None else env
    dst = env.get("REDACTOR_DST")
    if not dst:
        raise UsageError("REDACTOR_DST is not set (cos://<bucket-appid>/<prefix>/)")
    dst_bucket, dst_prefix = parse_cos_url(dst)
    quarantine = (
        env.get("REDACTOR_QUARANTINE") or f"cos://{dst_bucket}/{dst_prefix.rstrip('/') or 'redactor'}.quarantine/"
    )
    q_bucket, q_prefix = parse_cos_url(quarantine)
    policy = load_policy_option(env.get("REDACTOR_POLICY"))
    records: list[dict[str, Any]] = []
    for record in event.get("Records", []):
        if not str(record.get("event", {}).get("eventName", "")).startswith("cos:ObjectCreated"):
            continue
        bucket, key, region = object_of(record)
        if bucket == dst_bucket and not dst_prefix:
            raise UsageError("REDACTOR_DST must name a prefix when it is the triggering bucket itself")
        in_dst = bucket == dst_bucket and key.startswith(dst_prefix)
        in_quarantine = bucket == q_bucket and key.startswith(q_prefix)
        if in_dst or in_quarantine:
            records.append({"source": key, "decision": "skipped", "reasons": ["written by redactor itself"]})
            continue
        if not is_image_key(key) or is_companion_key(key):
            records.append({"source": key, "decision": "skipped", "reasons": ["not an image file (by extension)"]})
            continue
        cos_client = client if client is not None else _client(region, bucket, env)
        source = CosStorage(cos_client, bucket, "")
        stamp = source.stat(key)
        if stamp is None and unquote(key) != key:
            key = unquote(key)  # non-ASCII keys may arrive percent-encoded (reference section 5)
            stamp = source.stat(key)
        if stamp is not None and "redactor-policy" in stamp:
            records.append({"source": key, "decision": "skipped", "reasons": ["already a redactor output"]})
            continue
        engine = env.get("REDACTOR_ENGINE", "cos")
        locator = _locator(engine, cos_client, bucket)
        options = RunOptions(
            policy=policy, locator=locator, card_type=CardTypeHint.AUTO, workers=1, verifier=_verifier(env)
        )
        runner = BatchRunner(
            source, CosStorage(cos_client, dst_bucket, dst_prefix), CosStorage(cos_client, q_bucket, q_prefix), options
        )
        records.append(runner.process_key(key).to_record())
    return records


def _client(region: str | None, bucket: str, env: Mapping[str, str]) -> CosOperations:
    from redactor.cos.factory import make_cos_client

    return make_cos_client(
        endpoint=env.get("COS_ENDPOINT"), region=normalize_region(region) if region else None, bucket=bucket
    )


def _verifier(env: Mapping[str, str]) -> Verifier | None:
    mode = env.get("REDACTOR_VERIFY", "on").strip().lower()
    if mode not in ("on", "off"):
        raise UsageError(f"REDACTOR_VERIFY must be on or off, not {mode!r}")
    return default_verifier() if mode == "on" else None


def _locator(engine: str, client: CosOperations, bucket: str) -> Locator:
    if engine == "cos":
        from redactor.locators.cloud import STAGING_PREFIX, CloudLocator, Staging

        return CloudLocator(client, Staging(bucket, STAGING_PREFIX))
    return make_locator(engine)


def main_handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """The SCF entry point."""
    try:
        return {"records": handle(event)}
    except RedactorError as exc:
        return {"error": str(exc)}
