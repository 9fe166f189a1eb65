"""Results pooled by capture group and by layout family (held-out families marked), and a
whole evaluation run over a folder."""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redactor.core.policy import Policy
from redactor.core.results import Decision
from redactor.evaluation.measure import (
    FieldResult,
    ImageResult,
    evaluate_image,
    find_images,
)
from redactor.generator.families import FAMILIES, HELD_OUT_FAMILIES
from redactor.locators.base import Locator
from redactor.verifiers.base import Verifier

#: Group order in tables; other groups follow in name order.
GROUP_ORDER = (
    "IDCard/scan",
    "IDCard/photo",
    "IDCardBack/scan",
    "IDCardBack/photo",
    "DriverLicense/scan",
    "DriverLicense/photo",
    "photocopy",
    "none",
    "multi",
)
ALL = "all"
#: Rows of the family table that pool every card of a held-out family, and every other card.
ALL_HELD_OUT = "all held-out"
ALL_TUNED = "all tuned"
#: Decisions an evaluated image never gets (they are about entries that are no images).
_NOT_MEASURED = (Decision.SKIPPED, Decision.REFUSED)


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 2)


def _quantile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile (no interpolation: a reported p90 is a latency that happened)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class FieldStats:
    n: int = 0
    located: int = 0
    estimated: int = 0
    sensitive: int = 0
    covered: int = 0
    kept: int = 0
    kept_masked: int = 0
    ious: list[float] = field(default_factory=list)

    def add(self, f: FieldResult) -> None:
        self.n += 1
        self.located += f.located
        self.estimated += f.estimated
        if f.iou is not None:
            self.ious.append(f.iou)
        if f.counts_for_coverage:
            self.sensitive += 1
            self.covered += f.covered
        elif not f.sensitive and f.redactable:
            self.kept += 1
            self.kept_masked += not f.kept_intact

    def to_record(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "located_pct": _pct(self.located, self.n),
            "estimated_pct": _pct(self.estimated, self.n),
            "coverage_pct": _pct(self.covered, self.sensitive),
            "kept_masked": self.kept_masked if self.kept else None,
            "mean_iou": round(statistics.fmean(self.ious), 4) if self.ious else None,
        }


@dataclass
class GroupSummary:
    """Aggregates over a group of images (card type x variant, or all)."""

    images: int = 0
    sensitive_fields: int = 0
    sensitive_covered: int = 0
    redactable_images: int = 0
    all_covered_images: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: {d.value: 0 for d in Decision if d not in _NOT_MEASURED})
    silent_leaks: int = 0
    quarantined_but_fine: int = 0
    kept_images: int = 0
    kept_intact_images: int = 0
    portrait_images: int = 0  #: written as redacted and showing a portrait
    portrait_covered_images: int = 0
    latencies: list[float] = field(default_factory=list)
    per_field: dict[str, FieldStats] = field(default_factory=dict)
    #: quarantined by the second look: outputs that would have leaked / that were fine
    verifier_saves: int = 0
    verifier_false_alarms: int = 0
    verify_latencies: list[float] = field(default_factory=list)

    def add(self, r: ImageResult) -> None:
        self.images += 1
        self.decisions[r.decision.value] = self.decisions.get(r.decision.value, 0) + 1
        self.silent_leaks += r.silent_leak
        self.quarantined_but_fine += r.quarantined_but_fine
        if r.redactable:
            self.redactable_images += 1
            self.all_covered_images += r.all_sensitive_covered
        sensitive = r.sensitive
        self.sensitive_fields += len(sensitive)
        self.sensitive_covered += sum(f.covered for f in sensitive)
        if r.kept_intact is not None:
            self.kept_images += 1
            self.kept_intact_images += r.kept_intact
        if r.decision is Decision.REDACTED and r.portrait_covered is not None:
            self.portrait_images += 1
            self.portrait_covered_images += r.portrait_covered
        if r.latency_ms is not None:
            self.latencies.append(r.latency_ms)
        if r.verifier_caught:
            fine = r.all_sensitive_covered if r.redactable else r.whole_image_masked
            self.verifier_false_alarms += fine
            self.verifier_saves += not fine
        if r.verify_ms is not None:
            self.verify_latencies.append(r.verify_ms)
        for f in r.fields:
            if f.redactable:
                self.per_field.setdefault(f.field, FieldStats()).add(f)

    @property
    def coverage_pct(self) -> float | None:
        return _pct(self.sensitive_covered, self.sensitive_fields)

    @property
    def all_covered_pct(self) -> float | None:
        return _pct(self.all_covered_images, self.redactable_images)

    @property
    def kept_intact_pct(self) -> float | None:
        return _pct(self.kept_intact_images, self.kept_images)

    @property
    def portrait_covered_pct(self) -> float | None:
        """Share of written (redacted) images whose portrait is at least 95% masked."""
        return _pct(self.portrait_covered_images, self.portrait_images)

    def to_record(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "sensitive_fields": self.sensitive_fields,
            "sensitive_coverage_pct": self.coverage_pct,
            "images_all_sensitive_covered_pct": self.all_covered_pct,
            "decisions": dict(self.decisions),
            "silent_leaks": self.silent_leaks,
            "quarantined_but_fine": self.quarantined_but_fine,
            "kept_intact_pct": self.kept_intact_pct,
            "portrait_covered_pct": self.portrait_covered_pct,
            "verifier_saves": self.verifier_saves,
            "verifier_false_alarms": self.verifier_false_alarms,
            "verify_ms_median": None
            if not self.verify_latencies
            else round(statistics.median(self.verify_latencies), 2),
            "latency_ms": {
                "median": None if not self.latencies else round(statistics.median(self.latencies), 2),
                "p90": None if not self.latencies else round(_quantile(self.latencies, 0.9) or 0.0, 2),
            },
            "fields": {name: stats.to_record() for name, stats in self.per_field.items()},
        }


def _group_key(name: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(name) if name in GROUP_ORDER else len(GROUP_ORDER), name)


def summarise(results: Iterable[ImageResult]) -> dict[str, GroupSummary]:
    """Per group (in :data:`GROUP_ORDER`), then ``all``."""
    groups: dict[str, GroupSummary] = {}
    overall = GroupSummary()
    for r in results:
        groups.setdefault(r.group, GroupSummary()).add(r)
        overall.add(r)
    ordered = {k: groups[k] for k in sorted(groups, key=_group_key)}
    ordered[ALL] = overall
    return ordered


def _family_key(name: str) -> tuple[bool, int, str, int, str]:
    """Family rows in :data:`FAMILIES` order, each family's variants scan, photo, photocopy; pooled rows last."""
    family, _, variant = name.partition("/")
    known = [f for names in FAMILIES.values() for f in names]
    variants = ("scan", "photo", "photocopy")
    return (
        name in (ALL_TUNED, ALL_HELD_OUT),
        known.index(family) if family in known else len(known),
        family,
        variants.index(variant) if variant in variants else len(variants),
        variant,
    )


def summarise_families(results: Iterable[ImageResult]) -> dict[str, GroupSummary]:
    """Per layout family x variant (a card of a multi-card image counts in its family's row),
    then ``all tuned`` and ``all held-out`` over the cards of each side."""
    rows: dict[str, GroupSummary] = {}
    pooled = {ALL_TUNED: GroupSummary(), ALL_HELD_OUT: GroupSummary()}
    for r in results:
        for family, card in r.card_results():
            rows.setdefault(card.group, GroupSummary()).add(card)
            pooled[ALL_HELD_OUT if family in HELD_OUT_FAMILIES else ALL_TUNED].add(card)
    ordered = {k: rows[k] for k in sorted(rows, key=_family_key)}
    ordered.update((k, g) for k, g in pooled.items() if g.images)
    return ordered


def is_held_out(row: str) -> bool:
    """Whether a family-table row is about held-out layouts."""
    return row == ALL_HELD_OUT or row.partition("/")[0] in HELD_OUT_FAMILIES


def peak_rss_mb() -> float | None:
    """Peak resident memory of this whole process (not just the locator), in MB."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


@dataclass
class Evaluation:
    """Everything one ``redactor eval`` run measured."""

    engine: str
    policy_source: str
    policy_sha256: str
    results: list[ImageResult]
    summary: dict[str, GroupSummary]
    peak_rss_mb: float | None
    seconds: float
    families: dict[str, GroupSummary] = field(default_factory=dict)  #: see :func:`summarise_families`
    verify: str = "off"

    def to_record(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "verify": self.verify,
            "policy": self.policy_source,
            "policy_sha256": self.policy_sha256,
            "peak_rss_mb": None if self.peak_rss_mb is None else round(self.peak_rss_mb, 1),
            "seconds": round(self.seconds, 3),
            "summary": {name: g.to_record() for name, g in self.summary.items()},
            "families": {name: {**g.to_record(), "held_out": is_held_out(name)} for name, g in self.families.items()},
            "images": [r.to_record() for r in self.results],
        }


def run_evaluation(
    root: Path,
    locator: Locator,
    policy: Policy,
    *,
    limit: int | None = None,
    on_progress: Callable[[ImageResult], None] | None = None,
    verifier: Verifier | None = None,
) -> Evaluation:
    """Evaluate every image with a truth file below ``root`` (one at a time, so latencies are not contended)."""
    start = time.perf_counter()
    results: list[ImageResult] = []
    for path in find_images(root, limit):
        result = evaluate_image(path, locator, policy, name=path.relative_to(root).as_posix(), verifier=verifier)
        results.append(result)
        if on_progress is not None:
            on_progress(result)
    return Evaluation(
        engine=locator.name,
        policy_source=policy.source,
        policy_sha256=policy.sha256,
        results=results,
        summary=summarise(results),
        peak_rss_mb=peak_rss_mb(),
        seconds=time.perf_counter() - start,
        families=summarise_families(results),
        verify="on" if verifier is not None else "off",
    )
