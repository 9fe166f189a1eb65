"""The run report's lines as typed records: one per entry below SRC, then the summary. The
JSONL a run writes is :meth:`ReportRow.to_record` of each row; nothing else builds report
lines. No DetectedText ever: fields are reported by name, rule and action."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redactor.core.results import Decision

#: The decision of an entry that is no input (a link, a special file, a bad name, a file
#: over the size limit): reported, never read, never copied.
REFUSED = Decision.REFUSED.value


@dataclass
class ImageDetails:
    """What the one-image pipeline reports about an image it looked at."""

    card_type: str | None
    size: list[int] | None
    fields: list[dict[str, Any]]
    timings_ms: dict[str, float]
    #: The masked image passed the second look (None: not verified, or never masked).
    verified: bool | None
    #: Paid service requests its location cost (AILicenseRec calls; 0 for local engines).
    service_calls: int = 0


@dataclass
class ReportRow:
    """One entry below SRC and what happened to it."""

    source: str
    #: ``redacted``, ``quarantined``, ``failed``, ``refused`` or ``skipped``.
    decision: str = Decision.SKIPPED.value
    reasons: list[str] = field(default_factory=list)
    input_sha256: str | None = None
    policy_sha256: str | None = None
    engine: str | None = None
    #: For a skipped entry: what an earlier run decided about it.
    previous_decision: str | None = None
    #: Set once the image went through the pipeline.
    image: ImageDetails | None = None
    output: str | None = None
    output_sha256: str | None = None
    quarantine: str | None = None
    dry_run: bool = False

    def to_record(self) -> dict[str, Any]:
        """The report line: optional keys only when they say something; an image's details,
        output and quarantine always once it was looked at."""
        record: dict[str, Any] = {"source": self.source}
        for name in ("input_sha256", "policy_sha256", "engine"):
            value = getattr(self, name)
            if value is not None:
                record[name] = value
        record["decision"] = self.decision
        if self.previous_decision is not None:
            record["previous_decision"] = self.previous_decision
        record["reasons"] = list(self.reasons)
        if self.image is not None:
            record.update(
                card_type=self.image.card_type,
                size=self.image.size,
                fields=self.image.fields,
                timings_ms=self.image.timings_ms,
                verified=self.image.verified,
                service_calls=self.image.service_calls,
                output=self.output,
                quarantine=self.quarantine,
            )
        if self.output_sha256 is not None:
            record["output_sha256"] = self.output_sha256
        if self.dry_run:
            record["dry_run"] = True
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ReportRow:
        """The row back from its report line (rows cross processes as lines: an executor's
        workers send them to the driver, which counts them as a local run does)."""
        image = None
        if "fields" in record:
            image = ImageDetails(
                card_type=record.get("card_type"),
                size=record.get("size"),
                fields=record.get("fields") or [],
                timings_ms=record.get("timings_ms") or {},
                verified=record.get("verified"),
                service_calls=int(record.get("service_calls") or 0),
            )
        return cls(
            source=record["source"],
            decision=record["decision"],
            reasons=list(record.get("reasons") or []),
            input_sha256=record.get("input_sha256"),
            policy_sha256=record.get("policy_sha256"),
            engine=record.get("engine"),
            previous_decision=record.get("previous_decision"),
            image=image,
            output=record.get("output"),
            output_sha256=record.get("output_sha256"),
            quarantine=record.get("quarantine"),
            dry_run=bool(record.get("dry_run")),
        )
