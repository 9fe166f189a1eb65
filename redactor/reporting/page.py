"""The run page, as a pure function: report rows and bounded thumbnails of the masked
outputs in, one self-contained HTML string out (no file, no network: the caller reads and
writes). Everything interpolated is escaped; nothing reaches the page that the report does
not already hold, apart from thumbnails of outputs the caller checked against the report's
``output_sha256`` (masked, verified pixels only)."""

from __future__ import annotations

import base64
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from redactor.core.results import Decision
from redactor.pipeline.records import ReportRow

#: Decisions in the order a reader wants them: what passed, then what needs a look.
DECISION_ORDER = (
    Decision.REDACTED.value,
    Decision.QUARANTINED.value,
    Decision.FAILED.value,
    Decision.REFUSED.value,
    Decision.SKIPPED.value,
)
#: The report's timing stages, in pipeline order (others follow, by name).
STAGE_ORDER = ("decode", "locate", "mask", "verify", "encode")
#: The action that leaves a field's pixels as they are (every other action masks).
KEEP = "keep"
#: Reasons on the chart (the summary table lists them all).
CHART_REASONS = 6
#: A thumbnail larger than this is left out (the caller bounds them; this keeps a page's
#: weight bounded even if it does not).
MAX_THUMBNAIL_BYTES = 64_000
#: Rows of a summary table shown at first (the rest one click away, under <details>).
TABLE_ROWS = 8
#: Reasons shown under a card (all of them are in the report).
CARD_REASONS = 3
#: Characters of one reason shown under a card or on the chart.
REASON_CHARS = 160

_DIGITS = re.compile(r"\d+")
#: How verification reasons name the field they are about: "(at name)", "(near name)",
#: "the mask of name ...".
_NAMED = re.compile(r"\((?:at|near) ([A-Za-z_]+)\)|the mask of ([A-Za-z_]+)")
_PICTURE = re.compile(r"picture area|portrait|photo", re.I)


@dataclass(frozen=True)
class Region:
    """A located field as drawn: its polygon (image pixels), action, and whether a reason
    puts it in doubt (an unknown field, or one a verification reason names)."""

    points: tuple[tuple[float, float], ...]
    action: str
    label: str
    uncertain: bool = False


@dataclass(frozen=True)
class Card:
    """One image on the contact sheet. ``thumbnail`` is a bounded JPEG of the masked
    output, or None: then the regions are drawn on a neutral canvas and ``note`` says why
    (quarantined images never show pixels: the quarantine holds only the original)."""

    source: str
    decision: str
    reasons: tuple[str, ...] = ()
    card_type: str | None = None
    size: tuple[int, int] | None = None
    regions: tuple[Region, ...] = ()
    #: The link target (a file: URI or cos:// URL) and its text (a path or cos:// key).
    href: str | None = None
    place: str | None = None
    thumbnail: bytes | None = None
    note: str | None = None


@dataclass(frozen=True)
class Timing:
    """A pipeline stage's p50 and p90 over the images that went through it."""

    stage: str
    count: int
    p50: float
    p90: float


@dataclass(frozen=True)
class RunFacts:
    """The page's summary: counts over every row of the report, and what the summary line
    says about the run."""

    report_name: str
    rows: int
    by_decision: tuple[tuple[str, int], ...]
    by_card_type: tuple[tuple[str, int], ...]
    by_engine: tuple[tuple[str, int], ...]
    #: Reasons with their digits folded (``a run of N digits``), most frequent first: of
    #: the entries the run processed or refused, then of those it set aside (skipped).
    by_reason: tuple[tuple[str, int], ...]
    by_skip_reason: tuple[tuple[str, int], ...]
    timings: tuple[Timing, ...]
    policy_sha256: tuple[str, ...]
    policy: str | None = None
    #: The version that ran (from the summary line), and the one that drew the page.
    redactor: str | None = None
    rendered_by: str = "unknown"
    verify: str | None = None
    seconds: float | None = None
    service_calls: int | None = None
    aborted: str | None = None
    dry_run: bool = False
    #: The report had no summary line (the run was cut short).
    incomplete: bool = False


def reason_kind(reason: str) -> str:
    """A reason with its numbers folded, so that one kind of doubt counts as one."""
    return _DIGITS.sub("N", reason)[:REASON_CHARS]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _counted(values: Iterable[str], order: Sequence[str] = ()) -> tuple[tuple[str, int], ...]:
    counts = Counter(values)
    known = [(k, counts[k]) for k in order if counts[k]]
    rest = sorted(((k, n) for k, n in counts.items() if k not in order), key=lambda kn: (-kn[1], kn[0]))
    return tuple(known + rest)


def summarize(
    rows: Sequence[ReportRow],
    summary: Mapping[str, Any] | None,
    *,
    report_name: str,
    rendered_by: str,
) -> RunFacts:
    """The summary of a report: its rows counted, timings' p50/p90, and the summary line."""
    looked = [r for r in rows if r.image is not None]
    stages: dict[str, list[float]] = {}
    totals: list[float] = []
    for row in looked:
        assert row.image is not None
        timings = {k: float(v) for k, v in row.image.timings_ms.items() if isinstance(v, (int, float))}
        for stage, ms in timings.items():
            stages.setdefault(stage, []).append(ms)
        if timings:
            totals.append(sum(timings.values()))
    names = [s for s in STAGE_ORDER if s in stages] + sorted(set(stages) - set(STAGE_ORDER))
    timing = [Timing(s, len(stages[s]), percentile(stages[s], 50), percentile(stages[s], 90)) for s in names]
    if totals:
        timing.append(Timing("per image", len(totals), percentile(totals, 50), percentile(totals, 90)))
    line = dict(summary or {})
    counts: dict[str, Any] = line["summary"] if isinstance(line.get("summary"), dict) else {}
    policies = [r.policy_sha256 for r in rows if r.policy_sha256]
    if isinstance(line.get("policy_sha256"), str):
        policies.append(line["policy_sha256"])
    seconds = counts.get("seconds")
    calls = counts.get("service_calls")
    return RunFacts(
        report_name=report_name,
        rows=len(rows),
        by_decision=_counted((r.decision for r in rows), DECISION_ORDER),
        by_card_type=_counted(r.image.card_type or "no card" for r in looked if r.image is not None),
        by_engine=_counted(r.engine for r in rows if r.engine),
        by_reason=_reasons(r for r in rows if r.decision != Decision.SKIPPED.value),
        by_skip_reason=_reasons(r for r in rows if r.decision == Decision.SKIPPED.value),
        timings=tuple(timing),
        policy_sha256=tuple(dict.fromkeys(policies)),
        policy=_text(line.get("policy")),
        redactor=_text(line.get("redactor")),
        rendered_by=rendered_by,
        verify=_text(line.get("verify")),
        seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
        service_calls=int(calls) if isinstance(calls, int) else None,
        aborted=_text(counts.get("aborted")),
        dry_run=any(r.dry_run for r in rows),
        incomplete=summary is None,
    )


def _reasons(rows: Iterable[ReportRow]) -> tuple[tuple[str, int], ...]:
    return _counted(reason_kind(str(reason)) for r in rows for reason in dict.fromkeys(r.reasons))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def regions_of(row: ReportRow) -> tuple[Region, ...]:
    """The row's located fields as regions; the ones its reasons put in doubt marked."""
    if row.image is None:
        return ()
    named: set[str] = set()
    picture = False
    for reason in row.reasons:
        for match in _NAMED.finditer(str(reason)):
            named.add(match.group(1) or match.group(2))
        picture = picture or bool(_PICTURE.search(str(reason)))
    regions = []
    for f in row.image.fields:
        points = _points(f.get("polygon"))
        if not points:
            continue
        name = f.get("field")
        label = str(name or f.get("raw_name") or "unknown")
        uncertain = name is None or name in named or (picture and name == "portrait")
        regions.append(Region(points, str(f.get("action") or "?"), label, uncertain))
    return tuple(regions)


def _points(polygon: Any) -> tuple[tuple[float, float], ...]:
    if not isinstance(polygon, list):
        return ()
    out = []
    for point in polygon:
        if isinstance(point, (list, tuple)) and len(point) == 2 and all(isinstance(v, (int, float)) for v in point):
            out.append((float(point[0]), float(point[1])))
    return tuple(out) if len(out) >= 3 else ()


# ---------------------------------------------------------------------------------------
# HTML


def render_page(facts: RunFacts, cards: Sequence[Card], *, sample_note: str) -> str:
    """The whole page: one HTML document, its styles and filter script inline, its
    thumbnails data: URIs, and a policy forbidding every fetch."""
    reasons = [kind for kind, _ in facts.by_reason]
    reason_ids = {kind: f"r{i}" for i, kind in enumerate(reasons)}
    card_types = sorted({c.card_type or "no card" for c in cards})
    decisions = [d for d, _ in facts.by_decision if any(c.decision == d for c in cards)]
    parts = [
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        '<meta name="color-scheme" content="light dark">',
        f"<title>redactor run: {escape(facts.report_name)}</title>",
        f"<style>{_CSS}</style></head>\n<body>",
        _header(facts),
        "<main>",
        _summary(facts),
        _sheet(cards, facts, reason_ids, card_types, decisions, sample_note),
        "</main>",
        _footer(),
        f"<script>{_JS}</script>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


def _header(facts: RunFacts) -> str:
    ran = facts.redactor or "not recorded in the report"
    policy = escape(facts.policy) if facts.policy else "not recorded in the report"
    shas = ", ".join(f"<code>{escape(s)}</code>" for s in facts.policy_sha256) or "none recorded"
    flags = []
    if facts.dry_run:
        flags.append('<p class="warn">A dry run: nothing was written; the cards show located fields only.</p>')
    if facts.incomplete:
        flags.append('<p class="warn">The report has no summary line: the run did not finish.</p>')
    if facts.aborted:
        flags.append(f'<p class="warn">The run stopped early: {escape(facts.aborted)}</p>')
    extra = []
    if facts.seconds is not None:
        extra.append(f"<dt>Run time</dt><dd>{facts.seconds:.1f} s</dd>")
    if facts.service_calls is not None:
        extra.append(f"<dt>Service calls</dt><dd>{facts.service_calls}</dd>")
    if facts.verify is not None:
        extra.append(f"<dt>Second look</dt><dd>{escape(facts.verify)}</dd>")
    return (
        f'<header><h1>Redaction run <span class="name">{escape(facts.report_name)}</span></h1>'
        f'<dl class="meta"><dt>Policy</dt><dd>{policy}</dd><dt>Policy sha256</dt><dd>{shas}</dd>'
        f"<dt>redactor</dt><dd>{escape(ran)} (page drawn by {escape(facts.rendered_by)})</dd>"
        f"{''.join(extra)}</dl>{''.join(flags)}"
        '<nav aria-label="On this page"><a href="#summary">Summary</a> · <a href="#sheet">Contact sheet</a></nav>'
        "</header>"
    )


def _table(title: str, pairs: Sequence[tuple[str, int]], head: str) -> str:
    if not pairs:
        return f'<div class="tbl"><h3>{escape(title)}</h3><p class="muted">none</p></div>'

    def rows(part: Sequence[tuple[str, int]]) -> str:
        return "".join(f'<tr><td>{escape(k)}</td><td class="num">{n}</td></tr>' for k, n in part)

    thead = f'<thead><tr><th scope="col">{escape(head)}</th><th scope="col" class="num">images</th></tr></thead>'
    more = ""
    if len(pairs) > TABLE_ROWS:
        rest = pairs[TABLE_ROWS:]
        more = (
            f"<details><summary>{len(rest)} more ({sum(n for _, n in rest)} images)</summary>"
            f"<table>{rows(rest)}</table></details>"
        )
    return (
        f'<div class="tbl"><h3>{escape(title)}</h3><table>{thead}<tbody>{rows(pairs[:TABLE_ROWS])}</tbody>'
        f"</table>{more}</div>"
    )


def _summary(facts: RunFacts) -> str:
    tiles = "".join(
        f'<a class="tile d-{_css(d)}" href="#decision={escape(d)}" title="Show the {escape(d)} images">'
        f'<span class="n" data-count="{escape(d)}">{n}</span> {escape(d)}</a>'
        if d != Decision.SKIPPED.value
        else f'<div class="tile"><span class="n" data-count="{escape(d)}">{n}</span> {escape(d)}</div>'
        for d, n in facts.by_decision
    )
    timing_rows = "".join(
        f'<tr><td>{escape(t.stage)}</td><td class="num">{t.count}</td><td class="num">{t.p50:.0f}</td>'
        f'<td class="num">{t.p90:.0f}</td></tr>'
        for t in facts.timings
    )
    timings = (
        '<div class="tbl"><h3>Timings (ms)</h3><table><thead><tr><th scope="col">stage</th>'
        '<th scope="col" class="num">images</th><th scope="col" class="num">p50</th>'
        f'<th scope="col" class="num">p90</th></tr></thead><tbody>{timing_rows}</tbody></table></div>'
        if facts.timings
        else '<div class="tbl"><h3>Timings (ms)</h3><p class="muted">none</p></div>'
    )
    return (
        '<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>'
        f'<div class="tiles" id="tiles"><div class="tile"><span class="n" data-count="rows">{facts.rows}</span> '
        f"entries</div>{tiles}</div>"
        f'<div class="grid">{_chart(facts)}'
        f"{_table('By card type', facts.by_card_type, 'card type')}"
        f"{_table('By engine', facts.by_engine, 'engine')}{timings}"
        f"{_table('By reason', facts.by_reason, 'reason')}"
        f"{_table('Set aside (skipped), by reason', facts.by_skip_reason, 'reason')}</div></section>"
    )


def _chart(facts: RunFacts) -> str:
    """Two bar charts in one inline SVG: decisions, then the most frequent reasons."""
    bars: list[tuple[str, int, str]] = [(d, n, f"d-{_css(d)}") for d, n in facts.by_decision]
    top = list(facts.by_reason[:CHART_REASONS])
    row_h, label_w, bar_w = 22, 250, 220
    height = row_h * (len(bars) + len(top) + 2) + 8
    peak = max([n for _, n, _ in bars] + [n for _, n in top] + [1])
    out = [
        f'<figure class="chart"><svg role="img" viewBox="0 0 {label_w + bar_w + 60} {height}" '
        f'width="100%" aria-labelledby="chart-t"><title id="chart-t">Images by decision and the most frequent '
        "reasons</title>"
    ]
    y = 16
    out.append(f'<text x="0" y="{y}" class="ch">Decisions</text>')
    for label, n, cls in bars:
        y += row_h
        w = max(2.0, bar_w * n / peak)
        out.append(
            f'<text x="{label_w - 6}" y="{y}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar {cls}" x="{label_w}" y="{y - 13}" width="{w:.1f}" height="15" rx="2"/>'
            f'<text x="{label_w + w + 5:.1f}" y="{y}">{n}</text>'
        )
    y += row_h
    out.append(f'<text x="0" y="{y}" class="ch">Most frequent reasons</text>')
    if not top:
        out.append(f'<text x="0" y="{y + row_h}" class="muted">none</text>')
    for label, n in top:
        y += row_h
        w = max(2.0, bar_w * n / peak)
        short = label if len(label) <= 36 else label[:20] + "…" + label[-15:]
        out.append(
            f'<text x="{label_w - 6}" y="{y}" text-anchor="end"><title>{escape(label)}</title>{escape(short)}</text>'
            f'<rect class="bar reason" x="{label_w}" y="{y - 13}" width="{w:.1f}" height="15" rx="2"/>'
            f'<text x="{label_w + w + 5:.1f}" y="{y}">{n}</text>'
        )
    out.append("</svg></figure>")
    return "".join(out)


def _options(pairs: Iterable[tuple[str, str]]) -> str:
    return '<option value="">all</option>' + "".join(
        f'<option value="{escape(v)}">{escape(text)}</option>' for v, text in pairs
    )


def _sheet(
    cards: Sequence[Card],
    facts: RunFacts,
    reason_ids: Mapping[str, str],
    card_types: Sequence[str],
    decisions: Sequence[str],
    sample_note: str,
) -> str:
    used = {reason_kind(str(r)) for c in cards for r in c.reasons}
    reason_options = [(reason_ids[k], k) for k, _ in facts.by_reason if k in used]
    filters = (
        '<form id="filters" class="filters" role="search" aria-label="Filter the contact sheet">'
        '<label>Decision <select id="f-decision" name="decision">'
        f"{_options((d, d) for d in decisions)}</select></label>"
        f'<label>Reason <select id="f-reason" name="reason">{_options(reason_options)}</select></label>'
        f'<label>Card type <select id="f-card" name="card">{_options((t, t) for t in card_types)}</select></label>'
        f'<output id="shown" aria-live="polite">{len(cards)} shown</output></form>'
    )
    items = "".join(_card(i, c, reason_ids) for i, c in enumerate(cards))
    return (
        '<section id="sheet" aria-labelledby="sheet-h"><h2 id="sheet-h">Contact sheet</h2>'
        f'<p class="note" id="sample-note">{escape(sample_note)}</p>{_legend()}{filters}'
        f'<ul class="cards" id="cards">{items}</ul></section>'
    )


def _legend() -> str:
    def swatch(cls: str) -> str:
        return (
            f'<svg class="sw" viewBox="0 0 20 12" aria-hidden="true"><rect class="{cls}" x="1" y="1" '
            'width="18" height="10"/></svg>'
        )

    return (
        '<p class="legend">'
        f"{swatch('a-mask')} masked field {swatch('a-keep')} field kept (policy) "
        f"{swatch('a-mask unc')} in doubt (named by a reason, or unknown). "
        "Quarantined, failed and refused images are drawn as a diagram on a blank canvas: "
        "their pixels never reach this page.</p>"
    )


def _card(index: int, card: Card, reason_ids: Mapping[str, str]) -> str:
    w, h = card.size or (4, 3)
    w, h = max(1, int(w)), max(1, int(h))
    kinds = " ".join(
        dict.fromkeys(reason_ids[k] for k in (reason_kind(str(r)) for r in card.reasons) if k in reason_ids)
    )
    picture = ""
    thumb = card.thumbnail if card.thumbnail is not None and len(card.thumbnail) <= MAX_THUMBNAIL_BYTES else None
    if thumb is not None:
        data = base64.b64encode(thumb).decode("ascii")
        picture = (
            f'<img src="data:image/jpeg;base64,{data}" alt="" width="{w}" height="{h}" loading="lazy" decoding="async">'
        )
    shapes = "".join(_region(r) for r in card.regions)
    blank = "" if thumb is not None else f'<rect class="blank" width="{w}" height="{h}"/>'
    overlay = f'<svg class="ov" viewBox="0 0 {w} {h}" aria-hidden="true">{blank}{shapes}</svg>'
    what = "masked output" if thumb is not None else "diagram of the located fields (no pixels)"
    label = f"{card.source}: {card.decision}, {what}"
    href = card.href or f"#card-{index}"
    reasons = "".join(f"<li>{escape(_short(str(r)))}</li>" for r in card.reasons[:CARD_REASONS])
    if len(card.reasons) > CARD_REASONS:
        reasons += f'<li class="muted">and {len(card.reasons) - CARD_REASONS} more (in the report)</li>'
    note = f'<p class="muted">{escape(card.note)}</p>' if card.note and thumb is None else ""
    place = (
        f'<a class="place" href="{escape(href)}" tabindex="-1">{escape(card.place)}</a>'
        if card.place
        else '<span class="place muted">no object</span>'
    )
    return (
        f'<li class="card" id="card-{index}" data-decision="{escape(card.decision)}" '
        f'data-card="{escape(card.card_type or "no card")}" data-reasons="{kinds}">'
        f'<a class="thumb" href="{escape(href)}" aria-label="{escape(label)}" title="{escape(card.place or "")}">'
        f'<span class="frame" style="aspect-ratio:{w}/{h}">{picture}{overlay}</span></a>'
        f'<div class="cap"><span class="badge d-{_css(card.decision)}">{escape(card.decision)}</span> '
        f'<span class="ct">{escape(card.card_type or "no card")}</span>'
        f'<p class="src" title="{escape(card.source)}">{escape(card.source)}</p>'
        f"{note}{'<ul class=reasons>' + reasons + '</ul>' if reasons else ''}{place}</div></li>"
    )


def _region(region: Region) -> str:
    cls = "a-keep" if region.action == KEEP else "a-mask"
    if region.uncertain:
        cls += " unc"
    points = " ".join(f"{x:.0f},{y:.0f}" for x, y in region.points)
    return (
        f'<polygon class="{cls}" points="{points}"><title>{escape(region.label)}: {escape(region.action)}'
        f"{' (in doubt)' if region.uncertain else ''}</title></polygon>"
    )


def _short(text: str) -> str:
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def _css(name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", name.lower()) or "x"


def _footer() -> str:
    return (
        "<footer><p>Drawn from the run's JSONL report and its masked outputs only: no text that was read "
        "on a card, no unmasked pixels, no credentials. Links open the masked output (or, for an image "
        "in doubt, its quarantined original, which this page never embeds).</p></footer>"
    )


#: The page's styles: light and dark by the reader's preference, readable on a laptop.
_CSS = """
:root{color-scheme:light dark;--bg:#f7f7f5;--fg:#1d1d1f;--muted:#5f6368;--card:#fff;--line:#d6d6d2;
--ok:#1e7d3a;--warn:#b26a00;--bad:#c5221f;--ref:#7b3fa0;--skip:#80868b;--mask:#0b63c5;--keep:#80868b;
--unc:#d0105a;--blank:#e8e8e4;--focus:#0b63c5}
@media (prefers-color-scheme:dark){:root{--bg:#151618;--fg:#e8eaed;--muted:#a0a4a8;--card:#202124;
--line:#3c4043;--ok:#5bb974;--warn:#fcad4c;--bad:#f28b82;--ref:#c58af9;--skip:#9aa0a6;--mask:#8ab4f8;
--keep:#9aa0a6;--unc:#ff6fa5;--blank:#2d2e31;--focus:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header,main,footer{max-width:1400px;margin:0 auto;padding:12px 20px}
h1{font-size:1.4rem;margin:.4rem 0}h1 .name{font-weight:400;color:var(--muted);font-size:1rem}
h2{font-size:1.15rem;margin:1rem 0 .5rem}h3{font-size:.95rem;margin:.2rem 0 .4rem}
code{font:12px ui-monospace,monospace;overflow-wrap:anywhere}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
.meta dt{color:var(--muted)}.meta dd{margin:0;overflow-wrap:anywhere}
.warn{color:var(--warn);font-weight:600}.muted{color:var(--muted)}
.tiles{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:12px}
a.tile{color:inherit;text-decoration:none}a.tile:hover{border-color:var(--focus)}
.tile{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--skip);border-radius:6px;
padding:6px 12px}.tile .n{font-size:1.3rem;font-weight:700;margin-right:4px}
.badge{display:inline-block;border-left:4px solid var(--skip);padding:0 6px;background:var(--bg);border-radius:3px}
.d-redacted{border-left-color:var(--ok)}.d-quarantined{border-left-color:var(--warn)}
.d-failed{border-left-color:var(--bad)}.d-refused{border-left-color:var(--ref)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.chart{grid-column:span 2}@media (max-width:700px){.chart{grid-column:auto}}
.tbl,.chart{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:0}
table{border-collapse:collapse;width:100%}td,th{padding:2px 6px;border-bottom:1px solid var(--line);
text-align:left;vertical-align:top}.num{text-align:right;font-variant-numeric:tabular-nums}
.chart svg text{fill:var(--fg);font-size:12px}.chart .ch{font-weight:700}
.bar{fill:var(--skip)}.bar.d-redacted{fill:var(--ok)}.bar.d-quarantined{fill:var(--warn)}
.bar.d-failed{fill:var(--bad)}.bar.d-refused{fill:var(--ref)}.bar.reason{fill:var(--mask)}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:center;position:sticky;top:0;z-index:2;
background:var(--bg);padding:8px 0;border-bottom:1px solid var(--line)}
select{font:inherit;max-width:28rem;padding:3px;background:var(--card);color:var(--fg);border:1px solid var(--line)}
.note{color:var(--muted)}.legend{font-size:.9rem}.sw{width:20px;height:12px;vertical-align:middle}
.cards{list-style:none;padding:0;margin:12px 0;display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));
gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;overflow:hidden;
content-visibility:auto;contain-intrinsic-size:auto 330px}
.card[hidden]{display:none}
.thumb{display:block;outline-offset:-3px}.thumb:focus-visible,a:focus-visible,select:focus-visible{
outline:3px solid var(--focus)}
.frame{position:relative;display:block;width:100%;max-height:320px;background:var(--blank)}
.frame img,.ov{position:absolute;inset:0;width:100%;height:100%}.frame img{object-fit:contain}
.ov .blank{fill:var(--blank)}
polygon{vector-effect:non-scaling-stroke;stroke-width:1.5px;fill:none}
.a-mask{stroke:var(--mask);fill:none}.a-keep{stroke:var(--keep);stroke-dasharray:4 3}
.ov .blank~.a-mask{fill:var(--mask);fill-opacity:.25}
.unc{stroke:var(--unc);stroke-width:3px;stroke-dasharray:6 3}.ov .blank~.unc{fill:var(--unc);fill-opacity:.3}
.sw rect{stroke-width:2px;fill:none}.sw .a-mask{stroke:var(--mask)}.sw .a-keep{stroke:var(--keep)}
.sw .unc{stroke:var(--unc)}
.cap{padding:6px 8px;font-size:.85rem}.cap p{margin:.2rem 0}
.src{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.ct{color:var(--muted)}.reasons{margin:.2rem 0;padding-left:1.1rem}.place{font:11px ui-monospace,monospace;
color:var(--muted);overflow-wrap:anywhere}
footer{color:var(--muted);font-size:.85rem}summary{cursor:pointer;color:var(--muted);margin-top:4px}
a{color:var(--focus)}
"""

#: The filters: hide the cards that do not match (a ``#decision=quarantined&card=IDCard``
#: fragment sets them on opening, for a link to one view); nothing else, nothing fetched.
_JS = """
(function(){
var form=document.getElementById('filters'),shown=document.getElementById('shown');
var cards=document.querySelectorAll('#cards > li');
function val(id){return document.getElementById(id).value;}
function apply(){
 var d=val('f-decision'),r=val('f-reason'),c=val('f-card'),n=0;
 for(var i=0;i<cards.length;i++){var el=cards[i];
  var ok=(!d||el.dataset.decision===d)&&(!c||el.dataset.card===c)&&
   (!r||(' '+el.dataset.reasons+' ').indexOf(' '+r+' ')>=0);
  el.hidden=!ok;if(ok)n++;}
 shown.textContent=n+' of '+cards.length+' shown';
}
var ids={decision:'f-decision',reason:'f-reason',card:'f-card'};
function fromHash(){var any=false;
 location.hash.replace(/^#/,'').split('&').forEach(function(p){
  var kv=p.split('='),el=document.getElementById(ids[kv[0]]||'');if(!el||kv.length<2)return;
  var v;try{v=decodeURIComponent(kv[1]);}catch(e){return;}
  for(var i=0;i<el.options.length;i++){if(el.options[i].value===v){el.value=v;any=true;}}
 });return any;}
fromHash();
addEventListener('hashchange',function(){if(fromHash()){apply();document.getElementById('sheet').scrollIntoView();}});
form.addEventListener('change',apply);form.addEventListener('submit',function(e){e.preventDefault();});
apply();document.body.setAttribute('data-ready','1');
})();
"""
