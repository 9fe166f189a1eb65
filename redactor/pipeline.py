"""The one pipeline: read, decode, locate, plan, mask, encode, write; or quarantine.

Every entry point (CLI, library, cloud handler) goes through :func:`redact_image`
for one image and :class:`BatchRunner` for many. Any error on the way becomes a
quarantine decision with a reason: nothing unmasked is ever written to the output.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from PIL import Image

from redactor.core.fields import CardType, CardTypeHint
from redactor.core.imaging import DEFAULT_JPEG_QUALITY, DEFAULT_MAX_PIXELS, EXTENSIONS, decode, encode
from redactor.core.masking import apply_ops
from redactor.core.plan import Plan, plan_redaction
from redactor.core.policy import Action, Policy
from redactor.core.portrait import complete_portraits
from redactor.core.results import AppliedField, Decision, Detection, StoredObject
from redactor.core.stamps import REFUSE_REASON, SKIP_REASON, Stamp, WriteAction, write_decision
from redactor.core.verification import Verdict
from redactor.errors import (
    FileTooLargeError,
    ImageError,
    LocatorError,
    NotRegularFileError,
    RedactorError,
    ResponseParseError,
    StorageError,
)
from redactor.locators.base import SIDECAR_SUFFIX, LocateRequest, Locator
from redactor.storage.base import ObjectStore, Storage
from redactor.verifiers.base import Verifier, VerifyRequest

#: Files the pipeline itself reads or writes next to images; never treated as inputs.
COMPANION_SUFFIXES = (SIDECAR_SUFFIX, ".truth.json", ".reason.json")
#: redactor's own folder in a destination (reports, checkpoint); never an input in a source.
STATE_DIR = ".redactor"
#: The checkpoint's file name inside STATE_DIR.
MANIFEST_NAME = "manifest.jsonl"
#: The report decision of an entry that is no input (a link, a special file, a bad name, a
#: file over the size limit): reported, never read, never copied.
REFUSED = "refused"
#: The longest file name (bytes) most file systems take; a quarantined image's reason file
#: whose name would be longer gets a short name (it names its image inside).
MAX_NAME_BYTES = 255
REASON_SUFFIX = ".reason.json"


@dataclass
class ImageOutcome:
    """The result for one image. ``data`` is set only when ``decision`` is REDACTED."""

    decision: Decision
    reasons: tuple[str, ...]
    data: bytes | None = None
    format: str | None = None
    card_type: CardType | None = None
    applied: tuple[AppliedField, ...] = ()
    size: tuple[int, int] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: The masked image passed the verifier (None: not verified, or never masked).
    verified: bool | None = None

    def fields_record(self) -> list[dict[str, Any]]:
        return [a.to_record() for a in self.applied]


def redact_image(
    data: bytes,
    *,
    policy: Policy,
    locator: Locator,
    card_type: CardTypeHint = CardTypeHint.AUTO,
    name: str = "<image>",
    companion: Callable[[str], bytes | None] | None = None,
    jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    image: Image.Image | None = None,
    stored: StoredObject | None = None,
    verifier: Verifier | None = None,
) -> ImageOutcome:
    """Redact one image. Never raises for bad input: errors become a quarantine outcome.

    With a ``verifier``, the masked image gets a second look before it is encoded: a failed
    look quarantines it (``verifier=None`` is verification off, by the caller's choice)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        decoded = decode(data, max_pixels=max_pixels)
    except ImageError as exc:
        return ImageOutcome(Decision.QUARANTINED, (f"unreadable image: {exc}",), timings_ms=timings)
    t1 = time.perf_counter()
    timings["decode"] = (t1 - t0) * 1000
    upright = decoded.image
    try:
        if stored is not None:
            # The stored bytes are the pixels we mask only when no EXIF rotation was applied.
            in_kind = decoded.format in ("JPEG", "PNG", "BMP", "WEBP", "GIF")
            stored = StoredObject(stored.bucket, stored.key, as_decoded=decoded.orientation == 1 and in_kind)
        detection = locate_fields(locator, LocateRequest(upright, card_type, name, companion, stored), policy)
    except (LocatorError, ResponseParseError, StorageError) as exc:
        return ImageOutcome(Decision.QUARANTINED, (f"locator error: {exc}",), size=upright.size, timings_ms=timings)
    except Exception as exc:  # a locator bug must not let the image through
        return ImageOutcome(
            Decision.QUARANTINED, (f"locator failed ({type(exc).__name__})",), size=upright.size, timings_ms=timings
        )
    t2 = time.perf_counter()
    timings["locate"] = (t2 - t1) * 1000
    plan = plan_redaction(detection, policy, upright.width, upright.height, card_type)
    outcome = ImageOutcome(plan.decision, plan.reasons, None, None, plan.card_type, plan.applied, upright.size, timings)
    if plan.decision is not Decision.REDACTED:
        return outcome
    try:
        masked_image = mask_image(decoded, plan)
    except (RedactorError, OSError, ValueError) as exc:
        outcome.decision = Decision.QUARANTINED
        outcome.reasons = (*plan.reasons, f"masking failed ({type(exc).__name__})")
        return outcome
    t3 = time.perf_counter()
    timings["mask"] = (t3 - t2) * 1000
    if verifier is not None and plan.applied:
        verdict = second_look(verifier, VerifyRequest(upright, masked_image, plan, detection, policy))
        timings["verify"] = (time.perf_counter() - t3) * 1000
        outcome.verified = verdict.passed
        if not verdict.passed:
            outcome.decision = Decision.QUARANTINED
            outcome.reasons = (*plan.reasons, *verdict.reasons)
            return outcome
    t4 = time.perf_counter()
    try:
        masked = bytes(encode(decoded, masked_image, jpeg_quality=jpeg_quality))
    except (RedactorError, OSError, ValueError) as exc:
        outcome.decision = Decision.QUARANTINED
        outcome.reasons = (*plan.reasons, f"encoding failed ({type(exc).__name__})")
        return outcome
    timings["encode"] = (time.perf_counter() - t4) * 1000
    outcome.data = masked
    outcome.format = decoded.output_format
    return outcome


def second_look(verifier: Verifier, request: VerifyRequest) -> Verdict:
    """The verifier's verdict; a verifier that cannot look (any error) has passed nothing."""
    try:
        return verifier.verify(request)
    except Exception as exc:
        return Verdict(False, (f"verification failed ({type(exc).__name__})",))


def locate_fields(locator: Locator, request: LocateRequest, policy: Policy) -> Detection:
    """The locator's answer, with the photo found from the pixels for every card that needs
    one and came without (AILicenseRec never returns it), whatever the engine."""
    detection = locator.locate(request)
    if not detection.found_anything:
        return detection
    kept = frozenset(
        f.canonical
        for f in detection.fields
        if f.canonical is not None
        and policy.rule_for(f.card_type or detection.card_type, f.canonical).action is Action.KEEP
    )
    return complete_portraits(detection, request.image, kept)


def mask_image(decoded: Any, plan: Plan) -> Image.Image:
    """The decoded image with the plan's masks applied (a copy: the original stays for the
    verifier to compare with)."""
    image: Image.Image = decoded.image.copy()
    apply_ops(image, list(plan.ops))
    return image


def mask_and_encode(decoded: Any, plan: Plan, jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    """Apply the plan's masks to the decoded image and encode it without metadata."""
    return bytes(encode(decoded, mask_image(decoded, plan), jpeg_quality=jpeg_quality))


# --------------------------------------------------------------------------- batches


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


def reason_key(key: str) -> str:
    """Where a quarantined image's reasons go: beside it, ``<name>.reason.json``, or a short
    name from its hash when that name would be too long for the file system."""
    folder, _, name = key.rpartition("/")
    if len((name + REASON_SUFFIX).encode("utf-8")) <= MAX_NAME_BYTES:
        return key + REASON_SUFFIX
    short = f"{name.encode('utf-8')[:80].decode('utf-8', 'ignore')}~{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    return f"{folder}/{short}{REASON_SUFFIX}" if folder else f"{short}{REASON_SUFFIX}"


def is_image_key(key: str) -> bool:
    return PurePosixPath(key).suffix.lower() in EXTENSIONS


def is_companion_key(key: str) -> bool:
    return key.endswith(COMPANION_SUFFIXES)


def matches(key: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """Globs match the relative path or the file name (``*`` also crosses ``/``)."""
    name = PurePosixPath(key).name

    def hit(patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(key, p) or fnmatch.fnmatchcase(name, p) for p in patterns)

    if include and not hit(include):
        return False
    return not (exclude and hit(exclude))


class Manifest:
    """What earlier runs produced, keyed by source key: an append-only JSON-lines file.

    Appends survive a killed process (a torn last line is ignored on reload), so a rerun
    resumes where the last one stopped. ``path=None`` keeps it in memory (dry runs, tests).
    """

    #: What an entry must match to count as done (compared as one digest: memory stays
    #: small even for a checkpoint of millions of objects).
    FINGERPRINT = ("policy_sha256", "engine", "card_type", "jpeg_quality", "verify", "input_sha256", "sidecar_sha256")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.entries: dict[str, tuple[bytes, str]] = {}
        self._handle: IO[str] | None = None
        if path is not None and path.is_file():
            try:
                self._load(path)
            except OSError as exc:
                raise StorageError(f"cannot read the checkpoint {path}: {exc.strerror or type(exc).__name__}") from None

    def _load(self, path: Path) -> None:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash
                if isinstance(entry, dict) and isinstance(entry.get("source"), str):
                    self.entries[entry["source"]] = (self.digest(entry), str(entry.get("decision")))

    def open(self) -> None:
        """Open the file for appending now: a checkpoint that cannot be written is a
        StorageError before the run, not a failure of every image."""
        with self._lock:
            if self.path is not None and self._handle is None:
                self._handle = self._open()

    def _open(self) -> IO[str]:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise StorageError(
                f"cannot write the checkpoint {self.path}: {exc.strerror or type(exc).__name__}"
            ) from None

    @classmethod
    def digest(cls, fields: dict[str, Any]) -> bytes:
        text = json.dumps([fields.get(k) for k in cls.FINGERPRINT], sort_keys=True)
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def previous(self, key: str, fingerprint: dict[str, Any]) -> str | None:
        """The decision recorded for ``key`` with this very fingerprint, else None."""
        entry = self.entries.get(key)
        return entry[1] if entry is not None and entry[0] == self.digest(fingerprint) else None

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries[entry["source"]] = (self.digest(entry), str(entry.get("decision")))
            if self.path is None:
                return
            if self._handle is None:
                self._handle = self._open()
            self._handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


class _SortedPresence:
    """Which source keys the destination already has, by walking its (sorted) listing
    alongside the (sorted) source listing: one request per listing page instead of one
    HEAD per object, in constant memory. Keys must be asked in increasing order."""

    def __init__(self, dest: Storage) -> None:
        self._keys = iter(dest.iter_keys())
        self._current: str | None = next(self._keys, None)
        self._last = ""

    def contains(self, key: str) -> bool | None:
        if key < self._last:
            return None  # out of order: let the caller ask the store
        self._last = key
        while self._current is not None and self._current < key:
            self._current = next(self._keys, None)
        return self._current == key


_IN_PLACE_TMP = f"{STATE_DIR}/in-place"


def _companions_digest(companions: dict[str, bytes | None]) -> str | None:
    """One sha256 over the companion files an image's location depends on (None: none used)."""
    if not companions:
        return None
    h = hashlib.sha256()
    for suffix in sorted(companions):
        body = companions[suffix]
        h.update(f"{suffix}:{-1 if body is None else len(body)}:".encode())
        h.update(body or b"")
    return h.hexdigest()


class BatchRunner:
    """Runs the pipeline over every image of a source into a destination."""

    def __init__(
        self,
        source: Storage,
        dest: Storage,
        quarantine: Storage | None,
        options: RunOptions,
        report: IO[str] | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
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
                self._set_aside[key] = ("skipped", f"inside {STATE_DIR}/, redactor's own state folder")
            elif is_companion_key(key):
                self._set_aside[key] = ("skipped", "a companion file (sidecar, truth or reason), read with its image")
            elif not matches(key, self.options.include, self.options.exclude):
                self._set_aside[key] = ("skipped", "left out by --include/--exclude")
            yield key

    def run(self, keys: Iterable[str] | None = None) -> RunSummary:
        start = time.perf_counter()
        workers = max(1, self.options.workers)
        sorted_dest = self.dest_objects is not None and self.dest_objects.lists_sorted
        presence = _SortedPresence(self.dest) if keys is None and sorted_dest else None
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="redactor") as pool:
            pending: set[Future[dict[str, Any]]] = set()
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
        self._emit(
            {
                "summary": self.summary.to_record(),
                "policy_sha256": self.options.policy.sha256,
                "verify": self.options.verify,
            }
        )
        return self.summary

    def _finish(self, record: dict[str, Any]) -> None:
        s = self.summary
        s.total += 1
        status = record["decision"]
        in_doubt = True
        if status == "skipped":
            if record.get("previous_decision") == Decision.REDACTED.value:
                s.skipped_unchanged += 1
                in_doubt = False
            elif record.get("previous_decision") in (Decision.QUARANTINED.value, Decision.FAILED.value):
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
            reasons = record.get("reasons") or ["no reason given"]
            s.examples.append((str(record["source"]), str(reasons[0])))
        self._emit(record)
        if self.on_progress is not None:
            self.on_progress(record)

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
        base: dict[str, Any],
        companions: dict[str, bytes | None],
    ) -> dict[str, Any]:
        """Replace the original by its masked copy, but only once the copy, written to a
        scratch key, was read back intact and decodes. An object that already carries this
        policy's stamp is a finished output: it is never masked twice."""
        opts = self.options
        target = self.dest_objects
        if target is None or self.source_objects is None:
            raise StorageError("an in-place run needs an object store (COS) as source and destination")
        meta = self.source_objects.stat(key)
        if meta is not None and meta.get("redactor-policy") == opts.policy.sha256:
            return {
                **base,
                "decision": "skipped",
                "previous_decision": Decision.REDACTED.value,
                "reasons": ["already redacted in place with this policy"],
            }
        outcome, record = self._redact(key, data, None, base, companions)
        if opts.dry_run:
            return record
        if outcome.decision is not Decision.REDACTED or outcome.data is None:
            self._quarantine(key, data, outcome, record)
            record["reasons"].append("the original stays in place")
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
        record["output"] = key
        record["output_sha256"] = hashlib.sha256(outcome.data).hexdigest()
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
        base: dict[str, Any],
        companions: dict[str, bytes | None],
    ) -> tuple[ImageOutcome, dict[str, Any]]:
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
        record: dict[str, Any] = {
            **base,
            "decision": outcome.decision.value,
            "reasons": list(outcome.reasons),
            "card_type": outcome.card_type.value if outcome.card_type else None,
            "size": list(outcome.size) if outcome.size else None,
            "fields": outcome.fields_record(),
            "timings_ms": {k: round(v, 1) for k, v in outcome.timings_ms.items()},
            "verified": outcome.verified,
            "output": None,
            "quarantine": None,
        }
        return outcome, record

    def _quarantine(self, key: str, data: bytes, outcome: ImageOutcome, record: dict[str, Any]) -> None:
        """Copy a doubtful original, untouched, to the quarantine with its reasons (the
        reasons first: a copy never sits in the quarantine without them)."""
        if self.quarantine is None or outcome.decision is not Decision.QUARANTINED:
            return
        reason = {"source": key, "reasons": record["reasons"], "policy_sha256": self.options.policy.sha256}
        self.quarantine.write(reason_key(key), json.dumps(reason, ensure_ascii=False, indent=1).encode())
        self.quarantine.write(key, data)
        record["quarantine"] = key

    def process_key(self, key: str, present: bool | None = None) -> dict[str, Any]:
        """Process one source key; always returns a report record, never raises.

        ``present`` says whether the destination holds ``key`` (``None``: unknown, ask it)."""
        try:
            return self._process(key, present)
        except Exception as exc:  # storage failures and bugs end up reported, not lost
            return {"source": key, "decision": Decision.FAILED.value, "reasons": [f"{type(exc).__name__}: {exc}"[:300]]}

    def _process(self, key: str, present: bool | None = None) -> dict[str, Any]:
        opts = self.options
        base: dict[str, Any] = {"source": key}
        aside = self._set_aside.get(key)
        if aside is not None:
            return {**base, "decision": aside[0], "reasons": [aside[1]]}
        if not is_image_key(key):
            return {**base, "decision": "skipped", "reasons": ["not an image file (by extension)"]}
        try:
            if self.source_objects is not None:
                data, content_type = self.source_objects.read_with_type(key)
            else:
                data, content_type = self.source.read(key), None
        except (FileTooLargeError, NotRegularFileError) as exc:
            return {**base, "decision": REFUSED, "reasons": [f"{exc}; not copied anywhere"]}
        digest = hashlib.sha256(data).hexdigest()
        companions = self._companions(key)
        fingerprint = {**opts.fingerprint(), "input_sha256": digest, "sidecar_sha256": _companions_digest(companions)}
        base.update(input_sha256=digest, policy_sha256=opts.policy.sha256, engine=opts.locator.name)

        done = self.manifest.previous(key, fingerprint)
        previous = key in self.manifest.entries
        if done is not None and not opts.overwrite:
            where_ok = (done == Decision.REDACTED.value and self.dest.exists(key)) or (
                done in (Decision.QUARANTINED.value, Decision.FAILED.value)
                and (self.quarantine is None or self.quarantine.exists(key) or done == "failed")
            )
            if where_ok:
                return {
                    **base,
                    "decision": "skipped",
                    "previous_decision": done,
                    "reasons": ["unchanged since the last run (same input, policy and engine)"],
                }

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
            return {
                **base,
                "decision": "skipped",
                "previous_decision": Decision.REDACTED.value,
                "reasons": [SKIP_REASON],
            }
        if action is WriteAction.REFUSE:
            return {**base, "decision": Decision.FAILED.value, "reasons": [REFUSE_REASON]}
        stored = self.source_objects.stored_object(key) if self.source_objects is not None else None
        outcome, record = self._redact(key, data, stored, base, companions)
        if opts.dry_run:
            record["dry_run"] = True
            return record

        if outcome.decision is Decision.REDACTED and outcome.data is not None:
            if self.dest_objects is not None:
                # Write-once unless an older output of ours (or --overwrite) is being replaced.
                self.dest_objects.write(
                    key, outcome.data, metadata=stamp, content_type=content_type, replace=action is WriteAction.REPLACE
                )
            else:
                self.dest.write(key, outcome.data)
            record["output"] = key
            record["output_sha256"] = hashlib.sha256(outcome.data).hexdigest()
        else:
            # A stale output from an earlier policy no longer holds: remove it from DST.
            if previous and self.dest.exists(key):
                self.dest.delete(key)
                record["reasons"].append("earlier output removed from the destination")
            self._quarantine(key, data, outcome, record)
        self.manifest.record({**fingerprint, "source": key, "decision": record["decision"]})
        return record
