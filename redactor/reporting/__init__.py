"""A run you can look at: one self-contained HTML page per run report, for the person who
signs off the archive. :mod:`~redactor.reporting.page` is pure (facts and thumbnails in,
HTML out); :mod:`~redactor.reporting.build` reads the report and the masked outputs."""

from redactor.reporting.build import PageResult, default_page_path, read_report, write_run_page
from redactor.reporting.page import Card, Region, RunFacts, render_page, summarize

__all__ = [
    "Card",
    "PageResult",
    "Region",
    "RunFacts",
    "default_page_path",
    "read_report",
    "render_page",
    "summarize",
    "write_run_page",
]
