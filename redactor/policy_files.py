"""Reading policy files: the only place policies touch the file system.

:mod:`redactor.core.policy` stays pure (text in, :class:`Policy` out); this module reads
bytes and turns every read failure into a :class:`PolicyError` naming the path, so the
CLI has a single error type to report for "the policy cannot be used".

Bundled policies live in the repository at ``policies/*.yaml``; wheels carry them as
``redactor/_policies/*.yaml``. The packaged copy is looked up first.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from redactor.core.policy import MAX_POLICY_BYTES, Policy, load_policy
from redactor.errors import FileTooLargeError, PolicyError, PolicyProblem, StorageError
from redactor.storage.files import read_regular_file

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _policy_dirs() -> list[Path]:
    """Where bundled policies may be: the packaged copy first, then the source tree."""
    dirs: list[Path] = []
    try:
        packaged = resources.files("redactor") / "_policies"
        if isinstance(packaged, Path) and packaged.is_dir():
            dirs.append(packaged)
    except (ModuleNotFoundError, OSError, TypeError):
        pass
    repo = Path(__file__).resolve().parent.parent / "policies"
    if repo.is_dir():
        dirs.append(repo)
    return dirs


def bundled_policy_names() -> list[str]:
    """Names of the bundled policies (``default``, ``strict``, ``minimal``...)."""
    names: set[str] = set()
    for folder in _policy_dirs():
        names.update(p.stem for p in folder.glob("*.yaml") if _NAME.match(p.stem))
    return sorted(names)


def bundled_policy_path(name: str) -> Path:
    """The file of a bundled policy; a name that is not a bundled policy is a PolicyError."""
    if _NAME.match(name):
        for folder in _policy_dirs():
            candidate = folder / f"{name}.yaml"
            if candidate.is_file():
                return candidate
    known = ", ".join(bundled_policy_names()) or "none found"
    raise PolicyError([PolicyProblem(f"<bundled:{name}>", None, "no such bundled policy", f"available: {known}")])


def read_policy_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a policy file: its size checked before reading, a FIFO or a folder
    refused without being opened."""
    source = os.fspath(path)
    try:
        return read_regular_file(source, MAX_POLICY_BYTES, follow_links=True)
    except FileTooLargeError:
        limit = f"over the {MAX_POLICY_BYTES} byte limit"
        raise PolicyError([PolicyProblem(source, None, f"the policy is {limit}", "a policy is a short file")]) from None
    except StorageError as exc:
        reason = str(exc).removeprefix("cannot read: ")
        raise PolicyError([PolicyProblem(source, None, f"cannot read policy file: {reason}")]) from None


def looks_like_path(policy: str) -> bool:
    """The one rule between paths and bundled names: a path holds a ``/`` (or the OS's
    separator) or ends in .yaml/.yml; anything else is a bundled policy's name."""
    return "/" in policy or os.sep in policy or policy.lower().endswith((".yaml", ".yml"))


def load_policy_file(path: str | os.PathLike[str]) -> Policy:
    """Read and validate a policy file; every failure is a PolicyError naming the path."""
    return load_policy(read_policy_bytes(path), source=os.fspath(path))


def load_bundled_policy(name: str = "default") -> Policy:
    """Load one of the shipped policies (``default``, ``strict``, ``minimal``)."""
    return load_policy_file(bundled_policy_path(name))


def bundled_policy_text(name: str = "default") -> str:
    """The text of a bundled policy, e.g. for ``redactor policy show``."""
    return read_policy_bytes(bundled_policy_path(name)).decode("utf-8", "replace")


def load_policy_option(policy: str | None) -> Policy:
    """What a ``--policy`` option names: a path by :func:`looks_like_path` (``./strict``,
    ``p.yaml``), else a bundled policy name (``strict``); ``None`` is the bundled default."""
    if policy is None:
        return load_bundled_policy("default")
    if looks_like_path(policy):
        return load_policy_file(Path(policy))
    return load_bundled_policy(policy)


def policy_option_text(policy: str | None) -> tuple[bytes, str]:
    """The bytes of what a ``--policy`` option names, and their source (as
    :func:`load_policy_option` reads them): what a run sends to workers elsewhere."""
    if policy is not None and looks_like_path(policy):
        return read_policy_bytes(Path(policy)), policy
    path = bundled_policy_path(policy or "default")
    return read_policy_bytes(path), os.fspath(path)
