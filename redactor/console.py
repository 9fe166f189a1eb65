"""What ``redactor run`` prints and writes beside the work: the report file, the live count
on a terminal, and the run's last words."""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from redactor.errors import UsageError


class VerifyMode(str, enum.Enum):
    """``--verify``: the second look on (the default) or off, by explicit choice."""

    ON = "on"
    OFF = "off"


if TYPE_CHECKING:
    from redactor.pipeline import BatchRunner


def open_report(report: Path | None) -> IO[str] | None:
    """The report file, opened before the run (a report that cannot be written stops the
    run before anything is done: a UsageError)."""
    if report is None:
        return None
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
        return report.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the report {report}: {exc.strerror or type(exc).__name__}") from None


def summary_line(s: dict[str, Any], dry_run: bool, report: Path | None, quarantine: str) -> str:
    """The run's last words: every count once (they add up to the total)."""
    if dry_run:
        done = f"{s['redacted']} would be redacted, {s['quarantined']} would be quarantined"
    else:
        done = f"{s['redacted']} redacted, {s['quarantined']} quarantined"
    unchanged = f"{s['skipped_unchanged']} unchanged"
    if s["unchanged_in_doubt"]:
        unchanged += f" ({s['unchanged_in_doubt']} of them in quarantine)"
    return (
        f"{s['total']} files: {done}, {s['failed']} failed, {s['refused']} refused, {unchanged}, "
        f"{s['ignored']} ignored in {s['seconds']:.1f}s"
        + (" (dry run: nothing written)" if dry_run else "")
        + (f"; report: {report}" if report else "")
        + (f"; quarantine: {quarantine}" if s["quarantined"] and not dry_run else "")
    )


def printable(text: str) -> str:
    """``text`` with control characters escaped (a file name may hold a newline)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@contextmanager
def progress_counter() -> Iterator[Callable[[Any], None] | None]:
    """A live count of finished entries on a terminal (the callback to call per entry), none
    otherwise. Keys are never listed up front (for a total): a run streams the listing, and
    keeps learning what the destination holds from its sorted listing instead of one HEAD
    per object."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        TextColumn("{task.completed} entries"),
        TimeElapsedColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task("redacting", total=None)
        yield lambda _record: progress.advance(task)


def run_with_progress(runner: BatchRunner) -> Any:
    """A local run, with :func:`progress_counter`'s live count on a terminal."""
    with progress_counter() as tick:
        if tick is not None:
            runner.on_progress = tick
        return runner.run()
