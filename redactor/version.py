"""redactor's own version, as installed (the report records it, so a run can be traced to
the code that made it)."""

from __future__ import annotations

import functools


@functools.cache
def redactor_version() -> str:
    """The installed package's version; ``unknown`` when run from a tree never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("redactor")
    except PackageNotFoundError:
        return "unknown"
