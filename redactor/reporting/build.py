"""The thin I/O around the pure page: read a run's JSONL report, pick the images to show,
fetch their masked outputs (folder or COS), make bounded thumbnails, write the page.

Only an output whose bytes hash to the report's ``output_sha256`` becomes a thumbnail: the
page shows what the run wrote (masked and verified), never whatever is at that key now.
Quarantined images are never read: the quarantine holds untouched originals."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from redactor.core.imaging import decode
from redactor.core.results import Decision
from redactor.errors import RedactorError, UsageError
from redactor.pipeline.records import ReportRow
from redactor.reporting.page import DECISION_ORDER, Card, render_page, summarize
from redactor.reporting.page import regions_of as _regions_of
from redactor.storage.base import Storage
from redactor.version import redactor_version

#: A thumbnail's long side, in pixels: enough to judge a mask, small enough for 1,000 cards.
THUMBNAIL_SIDE = 320
#: JPEG quality of the thumbnails (masks are flat areas: they compress well).
THUMBNAIL_QUALITY = 70
#: Cards on one page by default: every image in doubt first, then a spread of the redacted
#: ones (a 100,000-image run still gives a page that opens; the page says what it left out).
DEFAULT_MAX_CARDS = 1000
#: A report line longer than this is not one redactor wrote (guards memory on odd files).
MAX_LINE_CHARS = 4_000_000
#: Outputs fetched and thumbnailed at once (decoding releases the GIL; COS reads wait on I/O).
DEFAULT_READERS = 4

_IN_DOUBT = (Decision.QUARANTINED.value, Decision.FAILED.value, Decision.REFUSED.value)


@dataclass(frozen=True)
class LoadedReport:
    """A report file's rows and its summary line (None: the run did not finish)."""

    path: Path
    rows: list[ReportRow]
    summary: dict[str, Any] | None


@dataclass(frozen=True)
class PageResult:
    """What was written: the page, its weight, and how many cards and thumbnails it holds."""

    path: Path
    bytes: int
    cards: int
    thumbnails: int
    html: str


def default_page_path(report: Path) -> Path:
    """The page beside its report: ``run-….jsonl`` gives ``run-….html``."""
    return report.with_suffix(".html") if report.suffix else report.with_name(report.name + ".html")


def read_report(path: Path) -> LoadedReport:
    """The rows of a report file; one-line errors for a file that is not a redactor report."""
    rows: list[ReportRow] = []
    summary: dict[str, Any] | None = None
    with path.open("r", encoding="utf-8", errors="strict") as handle:
        try:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                if len(line) > MAX_LINE_CHARS:
                    raise UsageError(f"{path}: line {number} is too long for a redactor report line")
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    raise UsageError(f"{path}: line {number} is not JSON: not a redactor report") from None
                if not isinstance(record, dict):
                    raise UsageError(f"{path}: line {number} is not a JSON object: not a redactor report")
                if "summary" in record:
                    summary = record
                    continue
                try:
                    rows.append(_checked(ReportRow.from_record(record)))
                except (KeyError, TypeError, ValueError, AttributeError):
                    raise UsageError(f"{path}: line {number} is not a report row (source, decision)") from None
        except UnicodeDecodeError:
            raise UsageError(f"{path} is not UTF-8 text: not a redactor report") from None
    if not rows and summary is None:
        raise UsageError(f"{path} holds no report lines: not a redactor report")
    return LoadedReport(path, rows, summary)


def _checked(row: ReportRow) -> ReportRow:
    """The row, if its values have the types redactor writes (a hand-edited or foreign file
    is refused with its line number, not drawn half-way)."""
    ok = isinstance(row.source, str) and isinstance(row.decision, str)
    ok = ok and all(isinstance(r, str) for r in row.reasons)
    for value in (row.output, row.quarantine, row.output_sha256, row.policy_sha256, row.engine):
        ok = ok and (value is None or isinstance(value, str))
    image = row.image
    if image is not None:
        ok = ok and isinstance(image.fields, list) and all(isinstance(f, dict) for f in image.fields)
        ok = ok and isinstance(image.timings_ms, dict) and (image.card_type is None or isinstance(image.card_type, str))
        ok = ok and (
            image.size is None
            or (
                isinstance(image.size, list)
                and len(image.size) == 2
                and all(isinstance(v, int) and v > 0 for v in image.size)
            )
        )
    if not ok:
        raise ValueError("not a report row")
    return row


def _candidates(rows: Sequence[ReportRow]) -> list[ReportRow]:
    """The rows worth a card: what the run looked at or refused, and what stays in doubt
    from an earlier run (companion files and other skipped entries are only counted)."""
    return [
        r
        for r in rows
        if r.decision != Decision.SKIPPED.value or r.previous_decision in (Decision.QUARANTINED.value, "failed")
    ]


def choose(rows: Sequence[ReportRow], max_cards: int) -> tuple[list[ReportRow], str]:
    """The rows shown, every one in doubt first, then an even spread of the redacted ones up
    to ``max_cards``; and a sentence that says what was left out."""
    pool = _candidates(rows)
    rank = {d: i for i, d in enumerate(DECISION_ORDER)}
    # Within a decision, the images with located fields first: their diagrams say the most.
    pool.sort(key=lambda r: (rank.get(r.decision, len(rank)), not (r.image and r.image.fields), r.source))
    doubt = [r for r in pool if r.decision != Decision.REDACTED.value]
    redacted = [r for r in pool if r.decision == Decision.REDACTED.value]
    counted = len(rows) - len(pool)
    tail = f" {counted} other entries (companion files, unchanged outputs) are counted above only." if counted else ""
    if len(pool) <= max_cards:
        return pool, f"All {len(pool)} images the run looked at or refused are shown.{tail}"
    shown_doubt = doubt[:max_cards]
    room = max_cards - len(shown_doubt)
    picked = [redacted[int(i * len(redacted) / room)] for i in range(room)] if room > 0 else []
    note = (
        f"Showing {len(shown_doubt) + len(picked)} of {len(pool)} images (at most {max_cards} on a page): "
        f"{'all' if len(shown_doubt) == len(doubt) else 'the first ' + str(len(shown_doubt)) + ' of'} "
        f"{len(doubt)} in doubt, and {len(picked)} of the {len(redacted)} redacted, evenly spread over them. "
        f"The report lists every image.{tail}"
    )
    return shown_doubt + picked, note


def thumbnail(data: bytes, *, side: int = THUMBNAIL_SIDE, quality: int = THUMBNAIL_QUALITY) -> bytes:
    """A JPEG of at most ``side`` pixels on its long side, metadata-free."""
    image = decode(data).image
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGBA").convert("RGB") if "A" in image.mode or image.mode == "P" else image.convert("RGB")
    image.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _link(place: str | None, key: str | None) -> tuple[str | None, str | None]:
    """(href, text) of an object: a file: URI and its path, or a cos:// URL (copyable)."""
    if place is None or key is None or place.lower() == "none":
        return None, None
    if place[:6].lower() == "cos://":
        url = place.rstrip("/") + "/" + key
        return url, url
    path = Path(os.path.abspath(place)) / key
    return path.as_uri(), str(path)


def _card(row: ReportRow, dest: Storage | None, dst: str | None, quarantine: str | None) -> Card:
    """One card; the output read and thumbnailed only when it is exactly what the run wrote."""
    thumb: bytes | None = None
    note: str | None = None
    key, place = (row.output, dst) if row.output else (row.quarantine, quarantine)
    href, text = _link(place, key)
    if row.output is None and row.quarantine is not None and text is not None:
        text = f"quarantine: {text}"
    if row.decision != Decision.REDACTED.value:
        note = {
            Decision.QUARANTINED.value: "Quarantined: a diagram of the located fields (the quarantine holds the "
            "original, which is never shown here).",
            Decision.REFUSED.value: "Refused: never read.",
        }.get(row.decision, f"{row.decision}: no masked output.")
        if row.decision == Decision.SKIPPED.value:
            note = f"Unchanged since an earlier run, which decided {row.previous_decision}."
        elif row.decision == Decision.QUARANTINED.value and not (row.image and row.image.fields):
            note = "Quarantined: no field was located, so there is nothing to draw (the quarantine holds the "
            note += "original, which is never shown here)."
    elif row.dry_run or row.output is None:
        note = "Dry run: nothing was written."
    elif dest is None:
        note = "Outputs not read (redactor report --dst DST shows them)."
    elif not row.output_sha256:
        note = "The report holds no checksum for this output: not shown."
    else:
        try:
            data = dest.read_optional(row.output)
        except (RedactorError, OSError) as exc:
            data, note = None, f"The output could not be read ({type(exc).__name__})."
        if data is None:
            note = note or "The output is no longer where the run wrote it."
        elif hashlib.sha256(data).hexdigest() != row.output_sha256:
            note = "The output has changed since the run (its checksum differs): not shown."
        else:
            try:
                thumb = thumbnail(data)
            except (RedactorError, OSError, ValueError) as exc:
                note = f"The output could not be decoded ({type(exc).__name__})."
    image = row.image
    size = tuple(image.size[:2]) if image is not None and image.size and len(image.size) >= 2 else None
    return Card(
        source=row.source,
        decision=row.decision,
        reasons=tuple(str(r) for r in row.reasons),
        card_type=image.card_type if image is not None else None,
        size=(int(size[0]), int(size[1])) if size else None,
        regions=_regions_of(row),
        href=href,
        place=text,
        thumbnail=thumb,
        note=note,
    )


def build_page(
    report: LoadedReport,
    *,
    dest: Storage | None,
    dst: str | None,
    quarantine: str | None,
    max_cards: int = DEFAULT_MAX_CARDS,
    readers: int = DEFAULT_READERS,
) -> tuple[str, int, int]:
    """The page's HTML, its card count and thumbnail count."""
    shown, note = choose(report.rows, max_cards)
    with ThreadPoolExecutor(max_workers=max(1, readers), thread_name_prefix="redactor-page") as pool:
        cards = list(pool.map(lambda r: _card(r, dest, dst, quarantine), shown))
    facts = summarize(report.rows, report.summary, report_name=report.path.name, rendered_by=redactor_version())
    html = render_page(facts, cards, sample_note=note)
    return html, len(cards), sum(1 for c in cards if c.thumbnail is not None)


def write_run_page(
    report_path: Path,
    out: Path,
    *,
    dest: Storage | None,
    dst: str | None,
    quarantine: str | None,
    max_cards: int = DEFAULT_MAX_CARDS,
    readers: int = DEFAULT_READERS,
) -> PageResult:
    """Read the report, render its page and write it to ``out`` (whole or not at all)."""
    report = read_report(report_path)
    html, cards, thumbs = build_page(
        report, dest=dest, dst=dst, quarantine=quarantine, max_cards=max_cards, readers=readers
    )
    data = html.encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".page-", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as any file the user writes (mkstemp's are private)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return PageResult(out, len(data), cards, thumbs, html)


def store_for(place: str, endpoint: str | None, region: str | None) -> Storage:
    """The store of a run's DST, for reading its outputs (a folder, or a COS prefix through
    the COS client and the usual credentials); nothing is created or written."""
    if place[:6].lower() == "cos://":
        from redactor.cos.config import parse_cos_url
        from redactor.cos.factory import make_cos_client
        from redactor.storage.cos import CosStorage

        bucket, prefix = parse_cos_url(place)
        return CosStorage(make_cos_client(endpoint=endpoint, region=region, bucket=bucket), bucket, prefix)
    from redactor.storage import FolderStorage

    if not Path(place).is_dir():
        raise UsageError(f"destination {place} is not a folder")
    return FolderStorage(place)


def inferred_destination(report: Path) -> str | None:
    """DST for a report at its default place, ``DST/.redactor/reports/<name>.jsonl``."""
    from redactor.pipeline import STATE_DIR

    parent = report.resolve().parent
    if parent.name == "reports" and parent.parent.name == STATE_DIR:
        return str(parent.parent.parent)
    return None
