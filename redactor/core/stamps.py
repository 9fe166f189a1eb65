"""What redactor writes on an output object, and the one rule for writing over what is there.

An object store keeps a redacted copy's provenance on the copy itself (user metadata): the
policy, the source's content tag, whether the second look ran and which sidecar answered.
Every path that writes a redacted object (a batch run, an in-place run, the SCF handler, the
library's object calls) makes its stamp here and asks :func:`write_decision` what to do, so
that none of them replaces an object redactor did not write, or redoes one it already did.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

#: User-metadata keys of a stamp (COS sends them as ``x-cos-meta-<key>``).
POLICY_KEY = "redactor-policy"
SOURCE_KEY = "redactor-source-etag"
VERIFY_KEY = "redactor-verify"
SIDECAR_KEY = "redactor-sidecar"


@dataclass(frozen=True)
class Stamp:
    """The provenance of one redacted output."""

    policy_sha256: str
    source_tag: str
    verify: str
    sidecar_sha256: str | None = None

    @classmethod
    def of(cls, source: bytes, policy_sha256: str, verify: str, sidecar_sha256: str | None = None) -> Stamp:
        """The stamp of ``source`` redacted under this policy (its tag is an ETag-like MD5)."""
        tag = hashlib.md5(source).hexdigest()  # noqa: S324 - a content tag, not security
        return cls(policy_sha256, tag, verify, sidecar_sha256)

    def metadata(self) -> dict[str, str]:
        """The user metadata to write with the output."""
        meta = {POLICY_KEY: self.policy_sha256, SOURCE_KEY: self.source_tag, VERIFY_KEY: self.verify}
        if self.sidecar_sha256 is not None:
            meta[SIDECAR_KEY] = self.sidecar_sha256[:32]
        return meta

    def matches(self, existing: Mapping[str, str]) -> bool:
        """Whether an object's metadata says it is this very output."""
        return all(existing.get(k) == v for k, v in self.metadata().items())


def written_by_redactor(existing: Mapping[str, str]) -> bool:
    """Whether an object's metadata carries a stamp of redactor's (of any policy)."""
    return POLICY_KEY in existing


class WriteAction(enum.Enum):
    """What to do with a destination key before writing a redacted output there."""

    WRITE = "write"  # nothing there: write once (fail if something appears meanwhile)
    REPLACE = "replace"  # an older output of ours, or the caller said overwrite
    SKIP = "skip"  # this very output is already there
    REFUSE = "refuse"  # something redactor did not write: never replaced silently


#: The report's reason for each decision that does not write.
SKIP_REASON = "destination already holds this source redacted with this policy"
REFUSE_REASON = "output exists and was not written by redactor (use --overwrite to replace it)"


def write_decision(
    stamp: Stamp, existing: Mapping[str, str] | None, *, ours_before: bool = False, overwrite: bool = False
) -> WriteAction:
    """The one rule. ``existing``: the destination object's metadata (``None``: no object);
    ``ours_before``: an earlier run of ours recorded writing this key (its manifest)."""
    if existing is None:
        return WriteAction.WRITE
    if overwrite:
        return WriteAction.REPLACE
    if stamp.matches(existing):
        return WriteAction.SKIP
    if ours_before or written_by_redactor(existing):
        return WriteAction.REPLACE
    return WriteAction.REFUSE
