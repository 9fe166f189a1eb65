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
from redactor.errors import PolicyError, PolicyProblem

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
    """The bytes of a policy file, reading at most one byte over the size limit."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            return handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PolicyError([PolicyProblem(source, None, f"cannot read policy file: {reason}")]) from None


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
    """What a ``--policy`` option names: a YAML path if it looks like one, else a bundled
    policy name; ``None`` is the bundled default."""
    if policy is None:
        return load_bundled_policy("default")
    path = Path(policy)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in policy:
        return load_policy_file(path)
    return load_bundled_policy(policy)
