"""The text report of an evaluation: tables per group and per family, fields, failures."""

from __future__ import annotations

from collections.abc import Sequence

from redactor.core.results import Decision
from redactor.evaluation.aggregate import (
    ALL,
    Evaluation,
    GroupSummary,
    is_held_out,
)


def _fmt(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{suffix}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table: first column left-aligned, figures right-aligned."""
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


#: Columns of the group and family tables.
TABLE_COLUMNS = (
    "images",
    "coverage",
    "all covered",
    "red/quar/fail",
    "silent leaks",
    "quar. but fine",
    "kept intact",
    "portrait covered",
    "locate ms p50/p90",
)


def _summary_row(name: str, g: GroupSummary) -> list[str]:
    lat = g.to_record()["latency_ms"]
    return [
        name,
        str(g.images),
        _fmt(g.coverage_pct, "%"),
        _fmt(g.all_covered_pct, "%"),
        f"{g.decisions.get('redacted', 0)}/{g.decisions.get('quarantined', 0)}/{g.decisions.get('failed', 0)}",
        str(g.silent_leaks),
        str(g.quarantined_but_fine),
        _fmt(g.kept_intact_pct, "%"),
        _fmt(g.portrait_covered_pct, "%"),
        f"{_fmt(lat['median'])}/{_fmt(lat['p90'])}",
    ]


def format_report(evaluation: Evaluation, *, show_failures: bool = False) -> str:
    """Plain-text tables: groups, layout families (held-out ones marked), then fields; field ids only, never text."""
    rows = [_summary_row(name, g) for name, g in evaluation.summary.items()]
    lines = [
        f"engine {evaluation.engine}, policy {evaluation.policy_source} "
        f"({evaluation.policy_sha256[:12]}), verify {evaluation.verify}, "
        f"{len(evaluation.results)} images in {evaluation.seconds:.1f} s",
        "",
        *_table(["group", *TABLE_COLUMNS], rows),
        "",
    ]
    if evaluation.families:
        family_rows = [
            _summary_row(f"{name}{' *' if is_held_out(name) else ''}", g) for name, g in evaluation.families.items()
        ]
        lines += _table(["family/variant", *TABLE_COLUMNS], family_rows)
        lines += [
            "* held out: layouts no locator is tuned on (redactor.generator.heldout). A card counts in its family row.",
            "",
        ]
    overall = evaluation.summary[ALL]
    field_rows = []
    for name, stats in overall.per_field.items():
        rec = stats.to_record()
        kept = "-" if rec["kept_masked"] is None else f"{rec['kept_masked']} masked"
        iou = "-" if rec["mean_iou"] is None else f"{rec['mean_iou']:.3f}"
        located, estimated = _fmt(rec["located_pct"], "%"), _fmt(rec["estimated_pct"], "%")
        field_rows.append([name, str(stats.n), located, estimated, _fmt(rec["coverage_pct"], "%"), iou, kept])
    lines += _table(["field", "n", "located", "estimated", "covered", "mean IoU", "kept"], field_rows)
    lines += ["", f"peak RSS (whole process): {_fmt(evaluation.peak_rss_mb, ' MB')}"]
    if evaluation.verify == "on":
        rec = overall.to_record()
        lines.append(
            f"second look: quarantined {overall.verifier_saves} outputs that would have leaked and "
            f"{overall.verifier_false_alarms} that were fine; verify ms p50 {_fmt(rec['verify_ms_median'])}"
        )
    lines.append(
        "coverage: >= 99% of a sensitive value's pixels masked (after padding); non-cards excluded. "
        "portrait covered: redacted images whose photo is >= 95% masked. "
        "estimated: not located, placed by the plan from the card layout (the portrait)."
    )
    if show_failures:
        lines += ["", "failures:"]
        bad = [r for r in evaluation.results if r.silent_leak or r.failures() or r.error]
        for r in bad:
            flag = " SILENT LEAK" if r.silent_leak else ""
            lines.append(f"  {r.name} [{r.decision.value}{flag}]")
            for why in r.failures():
                lines.append(f"    {why}")
            if r.decision is not Decision.REDACTED and r.redactable:
                lines.extend(f"    decision: {why}" for why in r.reasons)
        if not bad:
            lines.append("  none")
    return "\n".join(lines)
