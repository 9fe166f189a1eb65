"""Result model: what a locator found and what the pipeline decided.

``detected_text`` is personal data. It is kept in memory for callers who ask for it,
excluded from ``repr`` and never serialised by :meth:`LocatedField.to_record`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from redactor.core.fields import PORTRAIT, CardType, canonical_field

Point = tuple[float, float]


@dataclass(frozen=True)
class Polygon:
    """A simple polygon of 3+ points in pixel coordinates of the upright image."""

    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        if len(self.points) < 3:
            raise ValueError("a polygon needs at least 3 points")
        for x, y in self.points:
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError("polygon coordinates must be finite numbers")

    @classmethod
    def of(cls, points: Iterable[Sequence[float]]) -> Polygon:
        return cls(tuple((float(p[0]), float(p[1])) for p in points))

    @classmethod
    def rect(cls, x0: float, y0: float, x1: float, y1: float) -> Polygon:
        return cls(((x0, y0), (x1, y0), (x1, y1), (x0, y1)))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)

    def clamped(self, width: int, height: int) -> Polygon:
        """Points moved inside the image (AILicenseRec may report points just outside)."""
        return Polygon(tuple((min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))) for x, y in self.points))

    def area(self) -> float:
        pts = self.points
        total = 0.0
        for i, (x0, y0) in enumerate(pts):
            x1, y1 = pts[(i + 1) % len(pts)]
            total += x0 * y1 - x1 * y0
        return abs(total) / 2.0

    def to_list(self) -> list[list[float]]:
        return [[round(x, 2), round(y, 2)] for x, y in self.points]


@dataclass(frozen=True)
class LocatedField:
    """One field a locator found: which field, how sure, and where.

    ``canonical`` is ``None`` for names the catalog does not know (they are kept, and
    masked by the policy's default action).
    """

    raw_name: str
    score: float
    polygon: Polygon
    card_type: CardType | None = None
    canonical: str | None = None
    detected_text: str | None = field(default=None, repr=False, compare=False)
    #: Inferred from the card layout rather than seen: already carries its own margin.
    estimated: bool = False

    def __post_init__(self) -> None:
        if not (0.0 <= self.score <= 100.0) or math.isnan(self.score):
            raise ValueError("score must be within 0-100")

    @classmethod
    def named(
        cls,
        raw_name: str,
        score: float,
        polygon: Polygon,
        card_type: CardType | None = None,
        detected_text: str | None = None,
    ) -> LocatedField:
        """Build a field, resolving the canonical id from the raw name through the catalog."""
        return cls(raw_name, score, polygon, card_type, canonical_field(raw_name), detected_text)

    @property
    def is_portrait(self) -> bool:
        return self.canonical == PORTRAIT

    def to_record(self) -> dict[str, Any]:
        """A report-safe dict: no DetectedText."""
        return {
            "field": self.canonical,
            "raw_name": self.raw_name,
            "score": self.score,
            "polygon": self.polygon.to_list(),
            **({"estimated": True} if self.estimated else {}),
        }


@dataclass(frozen=True)
class Detection:
    """Everything one locator call found on one upright image.

    ``status`` mirrors AILicenseRec's Status (1: something recognised, 0: nothing).
    ``card_quad`` and ``problems`` are filled by locators that know more than the cloud
    API (a local locator knows the card outline, or that a required field is missing).
    """

    status: int
    fields: tuple[LocatedField, ...] = ()
    card_type: CardType | None = None
    card_quad: Polygon | None = None
    problems: tuple[str, ...] = ()
    request_id: str | None = None
    #: The locator looked for the photo itself (from all the text it read); when it found
    #: none, a second search with less to go on must not overrule it.
    portrait_searched: bool = False
    #: Requests this answer cost a paid service (AILicenseRec calls; 0 for local engines).
    service_calls: int = 0

    @property
    def found_anything(self) -> bool:
        return self.status == 1 and len(self.fields) > 0


class Decision(str, Enum):
    """What happened to an image. Only ``REDACTED`` means "written where redacted images go"."""

    REDACTED = "redacted"
    QUARANTINED = "quarantined"
    FAILED = "failed"
    SKIPPED = "skipped"
    #: An entry that is no input (a link, a special file, a bad name, an oversized file): never read.
    REFUSED = "refused"


@dataclass(frozen=True)
class AppliedField:
    """A field and the action the policy gave it, as reported."""

    located: LocatedField
    action: str
    reason: str
    strength_px: float | None = None

    def to_record(self) -> dict[str, Any]:
        rec = self.located.to_record()
        rec["action"] = self.action
        rec["rule"] = self.reason
        if self.strength_px is not None:
            rec["strength_px"] = round(self.strength_px, 1)
        return rec


@dataclass(frozen=True)
class StoredObject:
    """Where an image already is in object storage (a bucket and key; storage adapters make
    it, cloud locators read it). ``as_decoded``: the stored bytes decode to exactly
    ``image`` (no EXIF rotation), so a cloud locator may detect on the object itself."""

    bucket: str
    key: str
    as_decoded: bool = False
