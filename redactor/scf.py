"""Serverless Cloud Function handler for COS upload triggers (reference section 5).

Deploy with the handler ``redactor.scf.main_handler``. Configuration by environment:

- ``REDACTOR_DST``: where masked objects go, ``cos://<bucket-appid>/<prefix>/`` (required).
- ``REDACTOR_SOURCE``: the ``cos://<bucket-appid>/<prefix>/`` the function redacts (several,
  comma-separated); a record outside them is skipped, whatever the trigger lets through.
  With one source, its keys are mirrored below DST relative to its prefix; with several,
  below ``<DST>/<bucket-appid>/<key>``, so two buckets' ``a.jpg`` never meet. Unset: every
  key of the event is mirrored as it is (and the stamps refuse an output key that already
  holds another source's redacted copy).
- ``REDACTOR_QUARANTINE``: where doubtful originals go (default: ``<DST prefix>.quarantine/``).
- ``REDACTOR_POLICY``: bundled policy name or a path in the function package (default ``default``).
- ``REDACTOR_ENGINE``: ``cos`` (AILicenseRec on the uploaded object, the default) or ``local``.
- ``REDACTOR_VERIFY``: ``on`` (the default: a second look at every masked image) or ``off``.
- ``REDACTOR_STAMP_KEY``: the key redactor's stamps are signed with (required with the
  function role's temporary credentials, which change every session).
- Credentials: the function role's ``TENCENTCLOUD_SECRETID``/``SECRETKEY``/``SESSIONTOKEN``
  (or any source ``redactor.cos.config.resolve_credentials`` knows); ``COS_ENDPOINT`` for a proxy.

Every record is handled on its own: a malformed one is reported (``refused``) and the
others go on. Objects below the destination, quarantine or staging prefixes (after
percent-decoding, which the guards apply to every spelling of a key), and objects with a
genuine redactor stamp, are skipped: a function writing into the bucket that triggers it
must not trigger itself forever. When a record failed for a reason a retry can cure (the
service or the network), the handler raises after handling all records, so the platform
retries the event; the records done are then skipped by their stamps.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from redactor.core.fields import CardTypeHint
from redactor.core.results import Decision
from redactor.core.stamps import REFUSE_OTHER_REASON, REFUSE_REASON, StampKey, genuine
from redactor.cos.config import normalize_region, parse_cos_url
from redactor.cos.ports import CosOperations
from redactor.errors import RedactorError, UsageError
from redactor.locators import Locator, make_locator
from redactor.pipeline import STATE_DIR, BatchRunner, RunOptions, is_companion_key, is_image_key
from redactor.pipeline.records import REFUSED, ReportRow
from redactor.policy_files import load_policy_option
from redactor.storage.cos import CosStorage
from redactor.verifiers import Verifier, default_verifier

#: COS refuses object keys longer than this (bytes of UTF-8).
MAX_KEY_BYTES = 850
#: A record whose object is no longer there (deleted since the upload).
GONE_REASON = "the object is gone (deleted since the upload?)"
#: Reasons of a failed record that a retry of the event cannot cure.
_PERMANENT = (REFUSE_REASON, REFUSE_OTHER_REASON, GONE_REASON)


class EventRetry(RedactorError):
    """Raised after every record was handled, when some failed for a reason a retry can
    cure: the platform then retries the event (the records done are skipped by their stamps)."""


@dataclass(frozen=True)
class Place:
    """A bucket and a key prefix (``""``: the whole bucket)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str, what: str) -> Place:
        try:
            bucket, prefix = parse_cos_url(url.strip())
        except RedactorError as exc:
            raise UsageError(f"{what}: {exc}") from None
        return cls(bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/")

    def holds(self, bucket: str, key: str) -> bool:
        return bucket == self.bucket and key.startswith(self.prefix)


@dataclass(frozen=True)
class Settings:
    """The function's configuration, read once per invocation."""

    dst: Place
    quarantine: Place
    sources: tuple[Place, ...]
    env: Mapping[str, str]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        dst_url = env.get("REDACTOR_DST")
        if not dst_url:
            raise UsageError("REDACTOR_DST is not set (cos://<bucket-appid>/<prefix>/)")
        dst = Place.parse(dst_url, "REDACTOR_DST")
        from redactor.runs import default_quarantine

        q_url = env.get("REDACTOR_QUARANTINE") or default_quarantine(f"cos://{dst.bucket}/{dst.prefix}")
        sources = tuple(
            Place.parse(u, "REDACTOR_SOURCE") for u in env.get("REDACTOR_SOURCE", "").split(",") if u.strip()
        )
        return cls(dst, Place.parse(q_url, "REDACTOR_QUARANTINE"), sources, env)

    def guarded(self, bucket: str, key: str) -> str | None:
        """Why ``key`` (in any spelling) must not be processed, or None."""
        from redactor.locators.cloud import STAGING_PREFIX

        for spelling in {key, unquote(key)}:
            if self.dst.holds(bucket, spelling) or self.quarantine.holds(bucket, spelling):
                return "written by redactor itself"
            if spelling.startswith(STAGING_PREFIX) or f"/{STATE_DIR}/" in f"/{spelling}":
                return "redactor's own staging or state"
        return None

    def mapping(self, bucket: str, key: str) -> tuple[Place, str] | None:
        """(where the source is read from, its key there), or None: outside REDACTOR_SOURCE."""
        if not self.sources:
            return Place(bucket, ""), key
        for source in self.sources:
            if source.holds(bucket, key):
                return Place(bucket, source.prefix), key[len(source.prefix) :]
        return None

    def output_place(self, bucket: str, source: Place) -> Place:
        """Where a source's outputs go: below DST, per bucket when there are several sources."""
        if len(self.sources) > 1:
            return Place(self.dst.bucket, f"{self.dst.prefix}{bucket}/{source.prefix}")
        return self.dst


def object_of(record: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(bucket ``name-appid``, object key, region) of one trigger record; ``ValueError`` for
    a record that does not have that shape."""
    if not isinstance(record, Mapping):
        raise ValueError("the record is not an object")
    cos = record.get("cos")
    if not isinstance(cos, Mapping):
        raise ValueError("the record has no 'cos' object")
    bucket_info, object_info = cos.get("cosBucket"), cos.get("cosObject")
    if not isinstance(bucket_info, Mapping) or not isinstance(object_info, Mapping):
        raise ValueError("the record has no cosBucket or cosObject")
    name, appid, raw = bucket_info.get("name"), bucket_info.get("appid"), object_info.get("key")
    if not isinstance(name, str) or not name or not isinstance(appid, str | int) or not str(appid):
        raise ValueError("the record's cosBucket has no name or appid")
    if not isinstance(raw, str):
        raise ValueError("the record's cosObject has no key")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES + 64:
        raise ValueError(f"the object key is longer than {MAX_KEY_BYTES} bytes")
    prefix = f"/{appid}/{name}/"
    key = raw[len(prefix) :] if raw.startswith(prefix) else "/".join(raw.split("/")[3:])
    if not key:
        raise ValueError("the record's object key is empty")
    region = bucket_info.get("s3Region") or bucket_info.get("cosRegion") or bucket_info.get("region")
    return f"{name}-{appid}", key, str(region) if region else None


def handle(
    event: Mapping[str, Any] | None, env: Mapping[str, str] | None = None, client: CosOperations | None = None
) -> list[dict[str, Any]]:
    """Redact every created object of a trigger event; see the module docstring."""
    env = os.environ if env is None else env
    if not isinstance(event, Mapping):
        raise UsageError("the event is not an object")
    records = event.get("Records", [])
    if not isinstance(records, list):
        raise UsageError("the event's Records is not a list")
    settings = Settings.from_env(env)
    job = _Job(settings, client)
    rows = [job.record(i, record).to_record() for i, record in enumerate(records)]
    return rows


class _Job:
    """One invocation: the policy, engine and verifier built once, a runner per source."""

    def __init__(self, settings: Settings, client: CosOperations | None) -> None:
        self.settings = settings
        self.env = settings.env
        self.policy = load_policy_option(self.env.get("REDACTOR_POLICY"))
        self.verifier = _verifier(self.env)
        self._client = client
        self._clients: dict[str | None, CosOperations] = {}
        from redactor.runs import resolve_stamp_key

        self._stamp_key = resolve_stamp_key(self.env)  # a configuration error is the event's, not a record's

    def client(self, region: str | None, bucket: str) -> CosOperations:
        if self._client is not None:
            return self._client
        if region not in self._clients:
            self._clients[region] = _client(region, bucket, self.env)
        return self._clients[region]

    def stamp_key(self) -> StampKey:
        return self._stamp_key

    def record(self, index: int, record: Any) -> ReportRow:
        """One record, whatever it holds: its report row (never raises)."""
        try:
            if not isinstance(record, Mapping):
                raise ValueError("the record is not an object")
            name = record.get("event", {}).get("eventName", "") if isinstance(record.get("event"), Mapping) else ""
            bucket, key, region = object_of(record)
        except ValueError as exc:
            return ReportRow(f"<record {index}>", REFUSED, [f"malformed trigger record: {exc}"])
        if not str(name).startswith("cos:ObjectCreated"):
            return ReportRow(key, Decision.SKIPPED.value, [f"not an upload event ({str(name)[:60]})"])
        try:
            return self._process(bucket, key, region)
        except RedactorError as exc:
            return ReportRow(key, Decision.FAILED.value, [f"{type(exc).__name__}: {exc}"[:300]])

    def _process(self, bucket: str, key: str, region: str | None) -> ReportRow:
        settings = self.settings
        if bucket == settings.dst.bucket and not settings.dst.prefix:
            raise UsageError("REDACTOR_DST must name a prefix when it is the triggering bucket itself")
        why = settings.guarded(bucket, key)
        if why is not None:
            return ReportRow(key, Decision.SKIPPED.value, [why])
        mapped = settings.mapping(bucket, key)
        if mapped is None:
            return ReportRow(key, Decision.SKIPPED.value, ["outside REDACTOR_SOURCE"])
        if not is_image_key(key) or is_companion_key(key):
            return ReportRow(key, Decision.SKIPPED.value, ["not an image file (by extension)"])
        cos = self.client(region, bucket)
        source_place, rel = mapped
        source = CosStorage(cos, source_place.bucket, source_place.prefix)
        head = source.head(rel)
        decoded = unquote(rel)
        if head is None and decoded != rel:
            rel, head = decoded, source.head(decoded)  # non-ASCII keys may arrive percent-encoded
            mapped_again = settings.mapping(bucket, source_place.prefix + rel)
            if mapped_again is None:
                return ReportRow(key, Decision.SKIPPED.value, ["outside REDACTOR_SOURCE"])
        if head is None:
            return ReportRow(rel, Decision.FAILED.value, [GONE_REASON])
        if genuine(head, self.stamp_key()):
            return ReportRow(rel, Decision.SKIPPED.value, ["already a redactor output"])
        out = settings.output_place(bucket, source_place)
        options = RunOptions(
            policy=self.policy,
            locator=self._locator(cos, bucket),
            card_type=CardTypeHint.AUTO,
            workers=1,
            verifier=self.verifier,
            stamp_key=self.stamp_key(),
        )
        q = settings.quarantine
        quarantine_prefix = q.prefix + (out.prefix[len(settings.dst.prefix) :] if len(settings.sources) > 1 else "")
        runner = BatchRunner(
            source, CosStorage(cos, out.bucket, out.prefix), CosStorage(cos, q.bucket, quarantine_prefix), options
        )
        return runner.process_key(rel)

    def _locator(self, client: CosOperations, bucket: str) -> Locator:
        engine = self.env.get("REDACTOR_ENGINE", "cos")
        if engine == "cos":
            from redactor.locators.cloud import STAGING_PREFIX, CloudLocator, Staging

            return CloudLocator(client, Staging(bucket, STAGING_PREFIX))
        return make_locator(engine)


def retry_needed(rows: list[dict[str, Any]]) -> int:
    """How many records failed for a reason a retry of the event can cure."""
    return sum(
        1
        for row in rows
        if row.get("decision") == Decision.FAILED.value and not any(r in _PERMANENT for r in row.get("reasons", []))
    )


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


def main_handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """The SCF entry point: a configuration or event error is returned (a retry would not
    cure it); records a retry can cure raise :class:`EventRetry` after all were handled."""
    try:
        rows = handle(event)
    except RedactorError as exc:
        return {"error": str(exc)}
    failed = retry_needed(rows)
    if failed:
        raise EventRetry(f"{failed} of {len(rows)} records failed for a reason a retry can cure; retry the event")
    return {"records": rows}
