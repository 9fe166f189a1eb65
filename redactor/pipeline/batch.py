"""Many images: the batch runner walks a source, asks the one write rule what to do with
each output, writes it or quarantines the input, and reports every entry once."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any

from redactor.core.fields import CardTypeHint
from redactor.core.imaging import DEFAULT_JPEG_QUALITY, DEFAULT_MAX_PIXELS, decode
from redactor.core.policy import Policy
from redactor.core.results import Decision, StoredObject
from redactor.core.stamps import REFUSE_REASON, SKIP_REASON, Stamp, WriteAction, write_decision
from redactor.errors import (
    FileTooLargeError,
    NotRegularFileError,
    StorageError,
)
from redactor.locators.base import Locator
from redactor.pipeline.image import (
    ImageOutcome,
    redact_image,
)
from redactor.pipeline.keys import (
    _IN_PLACE_TMP,
    STATE_DIR,
    is_companion_key,
    is_image_key,
    matches,
    reason_key,
)
from redactor.pipeline.manifest import (
    Manifest,
    _companions_digest,
    _SortedPresence,
)
from redactor.pipeline.records import REFUSED, ImageDetails, ReportRow
from redactor.storage.base import ObjectStore, Storage
from redactor.verifiers.base import Verifier

#: The decision of an entry left as it is (unchanged, not an input, an output already there).
SKIPPED = Decision.SKIPPED.value


@dataclass(frozen=True)
class RunOptions:
    policy: Policy
    locator: Locator
    card_type: CardTypeHint = CardTypeHint.AUTO
    workers: int = 2
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    dry_run: bool = False
    overwrite: bool = False
    in_place: bool = False
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    max_pixels: int = DEFAULT_MAX_PIXELS
    #: The second look at every masked image (``None``: off, by explicit choice).
    verifier: Verifier | None = None

    @property
    def verify(self) -> str:
        return "on" if self.verifier is not None else "off"

    def fingerprint(self) -> dict[str, Any]:
        """What must be unchanged for an earlier output to count as done."""
        return {
            "policy_sha256": self.policy.sha256,
            "engine": self.locator.name,
            "card_type": self.card_type.value,
            "jpeg_quality": self.jpeg_quality,
            "verify": self.verify,
        }


@dataclass
class RunSummary:
    """Counts of one run. Every entry is counted once: ``total`` is the sum of redacted,
    quarantined, failed, refused, skipped_unchanged and ignored."""

    total: int = 0
    redacted: int = 0
    quarantined: int = 0
    failed: int = 0
    #: Links, special files, bad names, files over the size limit: reported, never read.
    refused: int = 0
    skipped_unchanged: int = 0
    #: Of ``skipped_unchanged``, those an earlier run quarantined (or failed): still in doubt.
    unchanged_in_doubt: int = 0
    ignored: int = 0
    seconds: float = 0.0
    #: Up to a few (source, first reason) pairs of entries in doubt, for the run's last words.
    examples: list[tuple[str, str]] = field(default_factory=list)

    @property
    def all_clear(self) -> bool:
        return self.quarantined == 0 and self.failed == 0 and self.refused == 0 and self.unchanged_in_doubt == 0

    def to_record(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "redacted": self.redacted,
            "quarantined": self.quarantined,
            "failed": self.failed,
            "refused": self.refused,
            "skipped_unchanged": self.skipped_unchanged,
            "unchanged_in_doubt": self.unchanged_in_doubt,
            "ignored": self.ignored,
            "seconds": round(self.seconds, 3),
        }


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
        self.options = options
        self.report = report
        self.on_progress = on_progress
        self.summary = RunSummary()
        self.manifest = Manifest(None if options.dry_run else manifest_path)
        self._report_lock = threading.Lock()
        #: Entries of the listing that are not processed, and why: (decision, reason).
        self._set_aside: dict[str, tuple[str, str]] = {}

    def candidates(self) -> Iterator[str]:
        """Every entry of the source, once: what is no input is set aside with its reason
        (and still reported), so the report accounts for everything below SRC."""
        for entry in self.source.iter_entries():
            key = entry.key
            if entry.refused is not None:
                self._set_aside[key] = (REFUSED, entry.refused)
            elif key.startswith(f"{STATE_DIR}/"):
                self._set_aside[key] = (SKIPPED, f"inside {STATE_DIR}/, redactor's own state folder")
            elif is_companion_key(key):
                self._set_aside[key] = (SKIPPED, "a companion file (sidecar, truth or reason), read with its image")
            elif not matches(key, self.options.include, self.options.exclude):
                self._set_aside[key] = (SKIPPED, "left out by --include/--exclude")
            yield key

    def run(self, keys: Iterable[str] | None = None) -> RunSummary:
        start = time.perf_counter()
        workers = max(1, self.options.workers)
        sorted_dest = self.dest_objects is not None and self.dest_objects.lists_sorted
        presence = _SortedPresence(self.dest) if keys is None and sorted_dest else None
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="redactor") as pool:
            pending: set[Future[ReportRow]] = set()
            for key in self.candidates() if keys is None else keys:
                if len(pending) >= workers * 2:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        self._finish(fut.result())
                present = presence.contains(key) if presence is not None else None
                pending.add(pool.submit(self.process_key, key, present))
            for fut in pending:
                self._finish(fut.result())
        self.manifest.close()
        self.summary.seconds = time.perf_counter() - start
        summary = self.summary.to_record()
        self._emit({"summary": summary, "policy_sha256": self.options.policy.sha256, "verify": self.options.verify})
        return self.summary

    def _finish(self, row: ReportRow) -> None:
        s = self.summary
        s.total += 1
        status = row.decision
        in_doubt = True
        if status == SKIPPED:
            if row.previous_decision == Decision.REDACTED.value:
                s.skipped_unchanged += 1
                in_doubt = False
            elif row.previous_decision in (Decision.QUARANTINED.value, Decision.FAILED.value):
                s.skipped_unchanged += 1
                s.unchanged_in_doubt += 1
            else:
                s.ignored += 1
                in_doubt = False
        elif status == Decision.REDACTED.value:
            s.redacted += 1
            in_doubt = False
        elif status == Decision.QUARANTINED.value:
            s.quarantined += 1
        elif status == REFUSED:
            s.refused += 1
        else:
            s.failed += 1
        if in_doubt and len(s.examples) < 5:
            reasons = row.reasons or ["no reason given"]
            s.examples.append((row.source, str(reasons[0])))
        self._emit(row.to_record())
        if self.on_progress is not None:
            self.on_progress(row)

    def _emit(self, record: dict[str, Any]) -> None:
        if self.report is None:
            return
        with self._report_lock:
            self.report.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.report.flush()

    def _in_place(
        self,
        key: str,
        data: bytes,
        content_type: str | None,
        stamp: dict[str, str],
        base: ReportRow,
        companions: dict[str, bytes | None],
    ) -> ReportRow:
        """Replace the original by its masked copy, but only once the copy, written to a
        scratch key, was read back intact and decodes. An object that already carries this
        policy's stamp is a finished output: it is never masked twice."""
        opts = self.options
        target = self.dest_objects
        if target is None or self.source_objects is None:
            raise StorageError("an in-place run needs an object store (COS) as source and destination")
        meta = self.source_objects.stat(key)
        if meta is not None and meta.get("redactor-policy") == opts.policy.sha256:
            return replace(
                base,
                decision=SKIPPED,
                previous_decision=Decision.REDACTED.value,
                reasons=["already redacted in place with this policy"],
            )
        outcome, record = self._redact(key, data, None, base, companions)
        if opts.dry_run:
            return record
        if outcome.decision is not Decision.REDACTED or outcome.data is None:
            self._quarantine(key, data, outcome, record)
            record.reasons.append("the original stays in place")
            return record
        scratch = f"{_IN_PLACE_TMP}/{hashlib.sha256(key.encode()).hexdigest()}"
        self.dest.write(scratch, outcome.data)
        try:
            back = self.dest.read(scratch)
            if hashlib.sha256(back).digest() != hashlib.sha256(outcome.data).digest():
                raise StorageError("the masked copy read back differs from what was written")
            decode(back, max_pixels=opts.max_pixels)  # it must be a readable image
            target.write(key, outcome.data, metadata=stamp, content_type=content_type)
        finally:
            self.dest.delete(scratch)
        record.output = key
        record.output_sha256 = hashlib.sha256(outcome.data).hexdigest()
        return record

    def _companions(self, key: str) -> dict[str, bytes | None]:
        """The companion files the locator reads for ``key``, read once: what is hashed into
        the manifest is what the locator gets."""
        return {suffix: self.source.read_optional(key + suffix) for suffix in self.options.locator.companions}

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
        )
        details = ImageDetails(
            card_type=outcome.card_type.value if outcome.card_type else None,
            size=list(outcome.size) if outcome.size else None,
            fields=outcome.fields_record(),
            timings_ms={k: round(v, 1) for k, v in outcome.timings_ms.items()},
            verified=outcome.verified,
        )
        return outcome, replace(base, decision=outcome.decision.value, reasons=list(outcome.reasons), image=details)

    def _quarantine(self, key: str, data: bytes, outcome: ImageOutcome, record: ReportRow) -> None:
        """Copy a doubtful original, untouched, to the quarantine with its reasons (the
        reasons first: a copy never sits in the quarantine without them)."""
        if self.quarantine is None or outcome.decision is not Decision.QUARANTINED:
            return
        reason = {"source": key, "reasons": record.reasons, "policy_sha256": self.options.policy.sha256}
        self.quarantine.write(reason_key(key), json.dumps(reason, ensure_ascii=False, indent=1).encode())
        self.quarantine.write(key, data)
        record.quarantine = key

    def process_key(self, key: str, present: bool | None = None) -> ReportRow:
        """Process one source key; always returns its report row, never raises.

        ``present`` says whether the destination holds ``key`` (``None``: unknown, ask it)."""
        try:
            return self._process(key, present)
        except Exception as exc:  # storage failures and bugs end up reported, not lost
            return ReportRow(key, Decision.FAILED.value, [f"{type(exc).__name__}: {exc}"[:300]])

    def _process(self, key: str, present: bool | None = None) -> ReportRow:
        opts = self.options
        aside = self._set_aside.get(key)
        if aside is not None:
            return ReportRow(key, aside[0], [aside[1]])
        if not is_image_key(key):
            return ReportRow(key, SKIPPED, ["not an image file (by extension)"])
        try:
            if self.source_objects is not None:
                data, content_type = self.source_objects.read_with_type(key)
            else:
                data, content_type = self.source.read(key), None
        except (FileTooLargeError, NotRegularFileError) as exc:
            return ReportRow(key, REFUSED, [f"{exc}; not copied anywhere"])
        digest = hashlib.sha256(data).hexdigest()
        companions = self._companions(key)
        fingerprint = {**opts.fingerprint(), "input_sha256": digest, "sidecar_sha256": _companions_digest(companions)}
        base = ReportRow(key, input_sha256=digest, policy_sha256=opts.policy.sha256, engine=opts.locator.name)

        done = self.manifest.previous(key, fingerprint)
        previous = key in self.manifest.entries
        if done is not None and not opts.overwrite:
            where_ok = (done == Decision.REDACTED.value and self.dest.exists(key)) or (
                done in (Decision.QUARANTINED.value, Decision.FAILED.value)
                and (self.quarantine is None or self.quarantine.exists(key) or done == "failed")
            )
            if where_ok:
                return replace(
                    base,
                    decision=SKIPPED,
                    previous_decision=done,
                    reasons=["unchanged since the last run (same input, policy and engine)"],
                )

        stamp_of = Stamp.of(data, opts.policy.sha256, opts.verify, fingerprint["sidecar_sha256"])
        stamp = stamp_of.metadata()
        if opts.in_place:
            return self._in_place(key, data, content_type, stamp, base, companions)
        meta: dict[str, str] | None = None
        action = WriteAction.REPLACE if opts.overwrite else WriteAction.WRITE
        if not opts.overwrite and not opts.dry_run:
            if self.dest_objects is not None:
                # Object stores carry the stamp on the output itself (a listing that said the
                # key is not there spares the HEAD)
                meta = None if present is False else self.dest_objects.stat(key)
                action = write_decision(stamp_of, meta, ours_before=previous)
            elif self.dest.exists(key):
                action = write_decision(stamp_of, {}, ours_before=previous)  # a file has no stamp
        if action is WriteAction.SKIP:
            return replace(base, decision=SKIPPED, previous_decision=Decision.REDACTED.value, reasons=[SKIP_REASON])
        if action is WriteAction.REFUSE:
            return replace(base, decision=Decision.FAILED.value, reasons=[REFUSE_REASON])
        stored = self.source_objects.stored_object(key) if self.source_objects is not None else None
        outcome, record = self._redact(key, data, stored, base, companions)
        if opts.dry_run:
            record.dry_run = True
            return record

        if outcome.decision is Decision.REDACTED and outcome.data is not None:
            if self.dest_objects is not None:
                # Write-once unless an older output of ours (or --overwrite) is being replaced.
                self.dest_objects.write(
                    key, outcome.data, metadata=stamp, content_type=content_type, replace=action is WriteAction.REPLACE
                )
            else:
                self.dest.write(key, outcome.data)
            record.output = key
            record.output_sha256 = hashlib.sha256(outcome.data).hexdigest()
        else:
            # A stale output from an earlier policy no longer holds: remove it from DST.
            if previous and self.dest.exists(key):
                self.dest.delete(key)
                record.reasons.append("earlier output removed from the destination")
            self._quarantine(key, data, outcome, record)
        self.manifest.record({**fingerprint, "source": key, "decision": record.decision})
        return record
