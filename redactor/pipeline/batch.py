"""Many images: the batch runner walks a source, asks the one write rule what to do with
each output, writes it or quarantines the input, and reports every entry once."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any

from redactor.core.imaging import decode
from redactor.core.results import Decision, StoredObject
from redactor.core.stamps import (
    SKIP_REASON,
    ObjectHead,
    Stamp,
    WriteAction,
    content_tag,
    genuine,
    origin_of,
    refusal_reason,
    write_decision,
)
from redactor.errors import (
    FileTooLargeError,
    NotRegularFileError,
    StorageError,
    UsageError,
)
from redactor.pipeline.image import (
    ImageOutcome,
    redact_image,
)
from redactor.pipeline.keys import (
    STATE_DIR,
    is_companion_key,
    is_image_key,
    matches,
)
from redactor.pipeline.manifest import (
    Manifest,
    Presence,
    SortedPresence,
    _companions_digest,
)
from redactor.pipeline.options import SKIPPED, RunOptions, RunSummary, available_cores
from redactor.pipeline.quarantine import Quarantine
from redactor.pipeline.records import REFUSED, ImageDetails, ReportRow
from redactor.runtime import return_freed_memory
from redactor.storage.base import Entry, ObjectStore, Storage
from redactor.version import redactor_version

log = logging.getLogger(__name__)


class BatchRunner:
    """Runs the pipeline over every image of a source into a destination."""

    def __init__(
        self,
        source: Storage,
        dest: Storage,
        quarantine: Storage | None,
        options: RunOptions,
        report: IO[str] | None = None,
        on_progress: Callable[[ReportRow], None] | None = None,
        manifest_path: Path | None = None,
    ) -> None:
        self.source = source
        self.dest = dest
        self.quarantine = quarantine
        #: What the stores offer beyond a folder's, checked once: the source's objects carry a
        #: content type and a stamp (in place), the destination's carry the outputs' stamps.
        self.source_objects: ObjectStore | None = source if isinstance(source, ObjectStore) else None
        self.dest_objects: ObjectStore | None = dest if isinstance(dest, ObjectStore) else None
        self.quarantine_objects: ObjectStore | None = quarantine if isinstance(quarantine, ObjectStore) else None
        self._quarantine = None if quarantine is None else Quarantine(quarantine, options.policy.sha256)
        if self.dest_objects is not None and options.stamp_key is None:
            raise UsageError("an object-store destination needs a stamp key (REDACTOR_STAMP_KEY or COS credentials)")
        self.options = options
        self.report = report
        self.on_progress = on_progress
        self.summary = RunSummary()
        self.manifest = Manifest(None if options.dry_run else manifest_path)
        self._report_lock = threading.Lock()
        self._cpu = threading.BoundedSemaphore(max(1, options.cpu_slots or available_cores()))
        #: Entries of the listing that are not processed, and why: (decision, reason).
        self._set_aside: dict[str, tuple[str, str]] = {}

    def candidates(self) -> Iterator[Entry]:
        """Every entry of the source, once: what is no input is set aside with its reason
        (and still reported), so the report accounts for everything below SRC."""
        for entry in self.source.iter_entries():
            aside = set_aside(entry, self.options.include, self.options.exclude)
            if aside is not None:
                self._set_aside[entry.key] = aside
            yield entry

    def run(self, keys: Iterable[str] | None = None) -> RunSummary:
        """Process every entry (or ``keys``), ``workers`` at a time. A listing that fails
        ends the run cleanly: what was started finishes, and the summary says why it stopped."""
        start = time.perf_counter()
        workers = max(1, self.options.workers)
        listing = keys is None
        dest_seen = self._presence(self.dest_objects) if listing else None
        quarantine_seen = self._presence(self.quarantine_objects) if listing else None
        entries: Iterable[Entry] = self.candidates() if keys is None else (Entry(k) for k in keys)
        try:
            self.options.locator.open()
        except Exception as exc:  # a failed clean-up must not stop the run; it is retried next time
            log.warning("could not clear what an earlier run left (%s); the next run tries again", type(exc).__name__)
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="redactor") as pool:
                pending: set[Future[ReportRow]] = set()
                iterator = iter(entries)
                while True:
                    try:
                        entry = next(iterator, None)
                    except Exception as exc:  # a listing that failed after its retries
                        self.summary.aborted = listing_failure(exc)
                        break
                    if entry is None:
                        break
                    if len(pending) >= workers * 2:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in done:
                            self._finish(fut.result())
                    seen = Seen(
                        entry.tag,
                        lookup(dest_seen, entry.key),
                        lookup(quarantine_seen, entry.key),
                    )
                    pending.add(pool.submit(self._process_entry, entry.key, seen))
                for fut in pending:
                    self._finish(fut.result())
        finally:
            self.options.locator.close()
            self.manifest.close()
        self.summary.seconds = time.perf_counter() - start
        summary = self.summary.to_record()
        self._emit(
            {
                "summary": summary,
                "policy_sha256": self.options.policy.sha256,
                "policy": self.options.policy.source,
                "verify": self.options.verify,
                "redactor": redactor_version(),
            }
        )
        return self.summary

    @staticmethod
    def _presence(store: ObjectStore | None) -> SortedPresence | None:
        return SortedPresence(store) if store is not None and store.lists_sorted else None

    def _finish(self, row: ReportRow) -> None:
        self.summary.add(row)
        self._emit(row.to_record())
        if self.on_progress is not None:
            self.on_progress(row)

    def _emit(self, record: dict[str, Any]) -> None:
        if self.report is None:
            return
        with self._report_lock:
            self.report.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.report.flush()

    def process_key(self, key: str, present: bool | None = None) -> ReportRow:
        """Process one source key; always returns its report row, never raises.

        ``present`` says whether the destination holds ``key`` (``None``: unknown, ask it)."""
        return self._process_entry(key, Seen(dest=None if present is None else Presence(present)))

    def process_listed(self, key: str, seen: Seen) -> ReportRow:
        """Process one key with what the listings said about it (another process listed it:
        an executor's driver); never raises."""
        return self._process_entry(key, seen)

    def _process_entry(self, key: str, seen: Seen) -> ReportRow:
        try:
            return self._process(key, seen)
        except Exception as exc:  # storage failures and bugs end up reported, not lost
            return ReportRow(key, Decision.FAILED.value, [f"{type(exc).__name__}: {exc}"[:300]])

    def _companions(self, key: str) -> dict[str, bytes | None]:
        """The companion files the locator reads for ``key``, read once: what is hashed into
        the manifest is what the locator gets."""
        return {suffix: self.source.read_optional(key + suffix) for suffix in self.options.locator.companions}

    def _fingerprint(self, digest: str | None, tag: str | None, companions: dict[str, bytes | None]) -> dict[str, Any]:
        """What must be unchanged for an earlier decision to stand. An object source is known
        by its ETag (so a rerun decides from the listing, without reading it); a file by its
        sha256."""
        source = (
            {"input_sha256": None, "source_tag": tag} if self.source_objects is not None else {"input_sha256": digest}
        )
        return {**self.options.fingerprint(), **source, "sidecar_sha256": _companions_digest(companions)}

    def _unchanged(self, key: str, fingerprint: dict[str, Any], seen: Seen, base: ReportRow) -> ReportRow | None:
        """The skip row when the checkpoint says this very input was finished and its result
        is still where it went (the listings say so, else the stores are asked)."""
        if self.options.overwrite:
            return None
        done = self.manifest.previous(key, fingerprint)
        if done == Decision.REDACTED.value:
            if self.options.in_place:
                there = True  # the listed ETag is the output's: the fingerprint matched it
            elif seen.dest is not None and seen.dest.held and seen.dest.tag is not None:
                there = seen.dest.tag == self.manifest.output_tag(key)
            elif seen.dest is not None and not seen.dest.held:
                there = False
            else:
                there = self.dest.exists(key)
        elif done == Decision.QUARANTINED.value:
            there = self.quarantine is None or (
                seen.quarantine.held if seen.quarantine is not None else self.quarantine.exists(key)
            )
        else:
            return None  # never seen, or failed: a failure is retried
        if not there:
            return None
        return replace(
            base,
            decision=SKIPPED,
            previous_decision=done,
            reasons=["unchanged since the last run (same input, policy and engine)"],
        )

    def _process(self, key: str, seen: Seen) -> ReportRow:
        opts = self.options
        aside = self._set_aside.get(key)
        if aside is not None:
            return ReportRow(key, aside[0], [aside[1]])
        if not is_image_key(key):
            return ReportRow(key, SKIPPED, ["not an image file (by extension)"])
        companions = self._companions(key)
        base = ReportRow(key, policy_sha256=opts.policy.sha256, engine=opts.locator.name)
        objects = self.source_objects
        origin = origin_of(*self._where(key)) if objects is not None else None

        # An object source, listed: decide from the listings (and a HEAD) before reading it.
        decided: ReportRow | _Marker | None = None
        if objects is not None and seen.tag is not None:
            skip = self._unchanged(key, self._fingerprint(None, seen.tag, companions), seen, base)
            if skip is not None:
                return skip
            sidecar = _companions_digest(companions)
            stamp = Stamp(opts.policy.sha256, seen.tag, opts.verify, sidecar, origin)  # known before reading
            decided = self._in_place_done(key, base) if opts.in_place else self._decide(key, stamp, seen, base)
            if isinstance(decided, ReportRow):
                return decided

        try:
            if objects is not None:
                got = objects.read_object(key)
                data, content_type, tag = got.data, got.content_type, got.etag or content_tag(got.data)
            else:
                data, content_type, tag = self.source.read(key), None, None
        except (FileTooLargeError, NotRegularFileError) as exc:
            return ReportRow(key, REFUSED, [f"{exc}; not copied anywhere"])
        digest = hashlib.sha256(data).hexdigest()
        base = replace(base, input_sha256=digest)
        fingerprint = self._fingerprint(digest, tag, companions)
        sidecar = fingerprint["sidecar_sha256"]
        stamp = Stamp.of(data, opts.policy.sha256, opts.verify, sidecar, source_tag=tag, origin=origin)
        if objects is None or seen.tag != tag:  # not decided above, or the object changed since listed
            skip = self._unchanged(key, fingerprint, seen, base)
            if skip is not None:
                return skip
            decided = self._in_place_done(key, base) if opts.in_place else self._decide(key, stamp, seen, base)
            if isinstance(decided, ReportRow):
                return decided
        if opts.in_place:
            return self._in_place(key, data, content_type, stamp, base, companions, fingerprint)
        action = WriteAction.REPLACE if (opts.overwrite or decided is _REPLACE) else WriteAction.WRITE
        previous = key in self.manifest.entries
        stored = objects.stored_object(key) if objects is not None else None
        outcome, record = self._redact(key, data, stored, base, companions)
        if opts.dry_run:
            record.dry_run = True
            return record

        output_tag = None
        if outcome.decision is Decision.REDACTED and outcome.data is not None:
            if self.dest_objects is not None:
                assert opts.stamp_key is not None  # checked when the runner was built
                # Write-once unless an older output of ours (or --overwrite) is being replaced.
                self.dest_objects.write(
                    key,
                    outcome.data,
                    metadata=stamp.metadata(outcome.data, opts.stamp_key),
                    content_type=content_type,
                    replace=action is WriteAction.REPLACE,
                )
                output_tag = content_tag(outcome.data)
            else:
                self.dest.write(key, outcome.data)
            record.output = key
            record.output_sha256 = hashlib.sha256(outcome.data).hexdigest()
            if self._quarantine is not None and self._quarantine.release(key, seen.quarantine):
                record.reasons.append("the copy an earlier run quarantined was removed")
        elif outcome.decision is Decision.QUARANTINED:
            # A stale output from an earlier policy no longer holds: remove it from DST.
            if previous and self.dest.exists(key):
                self.dest.delete(key)
                record.reasons.append("earlier output removed from the destination")
            self._keep(key, data, tag, outcome, record, seen.quarantine)
        self.manifest.record({**fingerprint, "source": key, "decision": record.decision, "output_tag": output_tag})
        return record

    def _where(self, key: str) -> tuple[str, str]:
        """The source object's location, for the stamp's origin."""
        stored = self.source_objects.stored_object(key) if self.source_objects is not None else None
        return (stored.bucket, stored.key) if stored is not None else (self.source.describe(), key)

    def _decide(self, key: str, stamp: Stamp, seen: Seen, base: ReportRow) -> ReportRow | _Marker | None:
        """The one write rule for ``key``: a skip or refusal row, or how to write (None: no
        stamp to consult, write as the options say)."""
        opts = self.options
        if opts.dry_run or opts.overwrite or opts.in_place:
            return None
        previous = key in self.manifest.entries
        if self.dest_objects is not None:
            # Object stores carry the stamp on the output itself (a listing that said the key
            # is not there spares the HEAD).
            head = None if seen.dest is not None and not seen.dest.held else self.dest_objects.head(key)
            action = write_decision(stamp, head, opts.stamp_key, ours_before=previous)
        elif self.dest.exists(key):
            action = write_decision(stamp, ObjectHead({}), None, ours_before=previous)  # a file has no stamp
        else:
            action = WriteAction.WRITE
        if action is WriteAction.SKIP:
            return replace(base, decision=SKIPPED, previous_decision=Decision.REDACTED.value, reasons=[SKIP_REASON])
        if action in (WriteAction.REFUSE, WriteAction.REFUSE_OTHER):
            return replace(base, decision=Decision.FAILED.value, reasons=[refusal_reason(action)])
        return _REPLACE if action is WriteAction.REPLACE else _WRITE_ONCE

    def _in_place_done(self, key: str, base: ReportRow) -> ReportRow | None:
        """The skip row when ``key`` already is an output of ours under this policy (a
        genuine stamp: a copied or hand-made one does not spare an object its masking)."""
        assert self.options.stamp_key is not None and self.dest_objects is not None
        head = self.dest_objects.head(key)
        if head is None or not genuine(head, self.options.stamp_key):
            return None
        if head.metadata.get("redactor-policy") != self.options.policy.sha256:
            return None
        return replace(
            base,
            decision=SKIPPED,
            previous_decision=Decision.REDACTED.value,
            reasons=["already redacted in place with this policy"],
        )

    def _in_place(
        self,
        key: str,
        data: bytes,
        content_type: str | None,
        stamp: Stamp,
        base: ReportRow,
        companions: dict[str, bytes | None],
        fingerprint: dict[str, Any],
    ) -> ReportRow:
        """Replace the original by its masked copy, once the copy decodes. An object that
        already carries a genuine stamp of this policy is a finished output: it is never
        masked twice. The one PUT is verified by COS (Content-MD5), and a retried PUT whose
        first attempt landed is not written again (the client asks first)."""
        opts = self.options
        target = self.dest_objects
        if target is None or self.source_objects is None:
            raise StorageError("an in-place run needs an object store (COS) as source and destination")
        assert opts.stamp_key is not None
        stored = self.source_objects.stored_object(key)
        outcome, record = self._redact(key, data, stored, base, companions)
        if opts.dry_run:
            return record
        if outcome.decision is not Decision.REDACTED or outcome.data is None:
            if outcome.decision is Decision.QUARANTINED:
                self._keep(key, data, fingerprint.get("source_tag"), outcome, record, None)
                record.reasons.append("the original stays in place")
            self.manifest.record({**fingerprint, "source": key, "decision": record.decision})
            return record
        decode(outcome.data, max_pixels=opts.max_pixels)  # it must be a readable image
        target.write(
            key, outcome.data, metadata=stamp.metadata(outcome.data, opts.stamp_key), content_type=content_type
        )
        record.output = key
        record.output_sha256 = hashlib.sha256(outcome.data).hexdigest()
        # The listing of the next run shows the output's ETag: that is what it will match.
        done = {**fingerprint, "source_tag": content_tag(outcome.data)}
        self.manifest.record({**done, "source": key, "decision": record.decision})
        return record

    def _keep(
        self, key: str, data: bytes, tag: str | None, outcome: ImageOutcome, record: ReportRow, seen: Presence | None
    ) -> None:
        if self._quarantine is None or outcome.decision is not Decision.QUARANTINED:
            return
        self._quarantine.keep(key, data, tag, record.reasons, seen)
        record.quarantine = key

    def _redact(
        self,
        key: str,
        data: bytes,
        stored: StoredObject | None,
        base: ReportRow,
        companions: dict[str, bytes | None],
    ) -> tuple[ImageOutcome, ReportRow]:
        """Run the one-image pipeline on ``key`` and start its report record; ``companions``
        are the files the locator reads, read once (and hashed into the manifest)."""
        opts = self.options

        def companion(suffix: str) -> bytes | None:
            return companions[suffix] if suffix in companions else self.source.read_optional(key + suffix)

        outcome = redact_image(
            data,
            policy=opts.policy,
            locator=opts.locator,
            card_type=opts.card_type,
            name=PurePosixPath(key).name,
            companion=companion,
            jpeg_quality=opts.jpeg_quality,
            max_pixels=opts.max_pixels,
            stored=stored,
            verifier=opts.verifier,
            cpu=lambda: self._cpu,
        )
        return_freed_memory()  # this image's decoded and masked buffers are dropped by now
        details = ImageDetails(
            card_type=outcome.card_type.value if outcome.card_type else None,
            size=list(outcome.size) if outcome.size else None,
            fields=outcome.fields_record(),
            timings_ms={k: round(v, 1) for k, v in outcome.timings_ms.items()},
            verified=outcome.verified,
            service_calls=outcome.service_calls,
        )
        return outcome, replace(base, decision=outcome.decision.value, reasons=list(outcome.reasons), image=details)


@dataclass(frozen=True)
class Seen:
    """What the listings said about one key before it is processed (all ``None``: nothing,
    the stores are asked)."""

    tag: str | None = None
    dest: Presence | None = None
    quarantine: Presence | None = None


def set_aside(entry: Entry, include: tuple[str, ...], exclude: tuple[str, ...]) -> tuple[str, str] | None:
    """Why a listed entry is no input, as (decision, reason); ``None``: it is one. The one
    rule for every executor, so that each reports the same entries the same way."""
    key = entry.key
    if entry.refused is not None:
        return (REFUSED, entry.refused)
    if key.startswith(f"{STATE_DIR}/"):
        return (SKIPPED, f"inside {STATE_DIR}/, redactor's own state folder")
    if is_companion_key(key):
        return (SKIPPED, "a companion file (sidecar, truth or reason), read with its image")
    if not matches(key, include, exclude):
        return (SKIPPED, "left out by --include/--exclude")
    return None


class _Marker:
    """How to write, as :meth:`BatchRunner._decide` says when no row ends the entry."""


_WRITE_ONCE = _Marker()
_REPLACE = _Marker()


def listing_failure(exc: Exception) -> str:
    """Why a run stopped early when its source's entries could not be had (the summary's
    ``aborted``): a listing that failed after its retries, or an inventory report that
    cannot be used (its own one-line reason)."""
    if isinstance(exc, UsageError):
        return f"the source's entries: {exc}"[:400]
    return f"listing the source failed: {type(exc).__name__}: {exc}"[:300]


def lookup(presence: SortedPresence | None, key: str) -> Presence | None:
    return presence.lookup(key) if presence is not None else None
