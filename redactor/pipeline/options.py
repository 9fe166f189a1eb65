"""What a run is asked to do and what it did: its options, its summary, and the default
concurrency (how many objects in flight, how many on a core)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from redactor.core.fields import CardTypeHint
from redactor.core.imaging import DEFAULT_JPEG_QUALITY, DEFAULT_MAX_PIXELS
from redactor.core.policy import Policy
from redactor.core.results import Decision
from redactor.core.stamps import StampKey
from redactor.locators.base import Locator
from redactor.pipeline.records import REFUSED, ReportRow
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
    #: Signs and checks the stamps on object-store outputs (required when a store keeps them).
    stamp_key: StampKey | None = None
    #: Images worked on by a core at once (decoding, local location, masks, the second look,
    #: encoding); ``workers`` beyond it only wait on I/O. ``None``: one per core.
    cpu_slots: int | None = None

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
    #: Paid service requests (AILicenseRec calls) the run made, over all images.
    service_calls: int = 0
    #: Why the run stopped before the end of the source (a listing that failed): the entries
    #: reported are all that were seen; a rerun continues.
    aborted: str | None = None
    #: Up to a few (source, first reason) pairs of entries in doubt, for the run's last words.
    examples: list[tuple[str, str]] = field(default_factory=list)

    def add(self, row: ReportRow) -> None:
        """Count one entry's row, once."""
        self.total += 1
        status = row.decision
        in_doubt = True
        if row.image is not None:
            self.service_calls += row.image.service_calls
        if status == SKIPPED:
            if row.previous_decision == Decision.REDACTED.value:
                self.skipped_unchanged += 1
                in_doubt = False
            elif row.previous_decision in (Decision.QUARANTINED.value, Decision.FAILED.value):
                self.skipped_unchanged += 1
                self.unchanged_in_doubt += 1
            else:
                self.ignored += 1
                in_doubt = False
        elif status == Decision.REDACTED.value:
            self.redacted += 1
            in_doubt = False
        elif status == Decision.QUARANTINED.value:
            self.quarantined += 1
        elif status == REFUSED:
            self.refused += 1
        else:
            self.failed += 1
        if in_doubt and len(self.examples) < 5:
            reasons = row.reasons or ["no reason given"]
            self.examples.append((row.source, str(reasons[0])))

    @property
    def all_clear(self) -> bool:
        return (
            self.quarantined == 0
            and self.failed == 0
            and self.refused == 0
            and self.unchanged_in_doubt == 0
            and self.aborted is None
        )

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
            "service_calls": self.service_calls,
            **({"aborted": self.aborted} if self.aborted is not None else {}),
        }


def available_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


#: Objects in flight by default when a run talks to object storage or a cloud locator:
#: enough to hide request latency behind the cores' work (memory stays bounded by the CPU
#: slots: an object waiting on I/O holds its bytes, not a decoded image).
IO_WORKERS = 32


def default_workers(io_bound: bool) -> int:
    """``--workers`` when not given: the cores for local work, :data:`IO_WORKERS` for I/O."""
    return IO_WORKERS if io_bound else available_cores()
