"""What redactor writes on an output object, and the one rule for writing over what is there.

An object store keeps a redacted copy's provenance on the copy itself (user metadata): the
policy, the source's content tag, whether the second look ran and which sidecar answered.
Every path that writes a redacted object (a batch run, an in-place run, the SCF handler, the
library's object calls) makes its stamp here and asks :func:`write_decision` what to do, so
that none of them replaces an object redactor did not write, or redoes one it already did.

A stamp is only worth what it costs to forge: every field anyone can read in a report (the
policy's sha256) or copy from another object. So a stamp carries a MAC, under a key only
redactor's configuration holds, over its fields *and the output's own ETag* (the MD5 COS
computes of the stored bytes): an unmasked upload carrying a copied or hand-made stamp does
not verify, and is never taken for a finished output.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

#: User-metadata keys of a stamp (COS sends them as ``x-cos-meta-<key>``).
POLICY_KEY = "redactor-policy"
SOURCE_KEY = "redactor-source-etag"
VERIFY_KEY = "redactor-verify"
SIDECAR_KEY = "redactor-sidecar"
#: Which source object the output is the redacted copy of (a hash of its location).
ORIGIN_KEY = "redactor-origin"
#: The MAC over the fields above and the output's ETag.
MAC_KEY = "redactor-stamp"
#: On a quarantined original: the content tag of the source it is an untouched copy of.
QUARANTINED_KEY = "redactor-quarantined"
#: The MAC's domain, so the key is never used for anything else by accident.
_DOMAIN = b"redactor stamp v2\n"


@dataclass(frozen=True)
class StampKey:
    """The secret stamps are signed with (``REDACTOR_STAMP_KEY``, or derived from the COS
    SecretKey: whoever holds that could write any object anyway)."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("a stamp key needs at least 16 bytes")

    @classmethod
    def derived(cls, text: str) -> StampKey:
        """A key from a configured secret of any length (a passphrase, a SecretKey)."""
        return cls(hmac.new(text.encode("utf-8"), b"redactor stamp key", hashlib.sha256).digest())

    def sign(self, fields: Mapping[str, str], output_etag: str) -> str:
        message = (
            _DOMAIN + "\n".join(f"{k}={fields[k]}" for k in sorted(fields)).encode() + b"\n" + output_etag.encode()
        )
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:40]

    def __repr__(self) -> str:
        return "StampKey(***)"


@dataclass(frozen=True)
class ObjectHead:
    """What a store says about an object without reading it: its user metadata and its
    ETag (``None`` where the store has none, as a folder)."""

    metadata: Mapping[str, str]
    etag: str | None = None


def content_tag(data: bytes) -> str:
    """The tag a store gives these bytes when written in one piece (COS's ETag: their MD5)."""
    return hashlib.md5(data).hexdigest()  # noqa: S324 - a content tag, not security


def origin_of(bucket: str, key: str) -> str:
    """A short, fixed-length name for a source location (no key text on the output)."""
    return hashlib.sha256(f"{bucket}\n{key}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Stamp:
    """The provenance of one redacted output."""

    policy_sha256: str
    source_tag: str
    verify: str
    sidecar_sha256: str | None = None
    #: :func:`origin_of` the source object (``None``: a file, or a caller that does not say).
    origin: str | None = None

    @classmethod
    def of(
        cls,
        source: bytes,
        policy_sha256: str,
        verify: str,
        sidecar_sha256: str | None = None,
        *,
        source_tag: str | None = None,
        origin: str | None = None,
    ) -> Stamp:
        """The stamp of ``source`` redacted under this policy; ``source_tag``: the store's
        ETag of the source when known (a multipart upload's is not its MD5)."""
        return cls(policy_sha256, source_tag or content_tag(source), verify, sidecar_sha256, origin)

    def fields(self) -> dict[str, str]:
        meta = {POLICY_KEY: self.policy_sha256, SOURCE_KEY: self.source_tag, VERIFY_KEY: self.verify}
        if self.sidecar_sha256 is not None:
            meta[SIDECAR_KEY] = self.sidecar_sha256[:32]
        if self.origin is not None:
            meta[ORIGIN_KEY] = self.origin
        return meta

    def metadata(self, output: bytes, key: StampKey) -> dict[str, str]:
        """The user metadata to write with ``output``, signed over its content tag."""
        meta = self.fields()
        meta[MAC_KEY] = key.sign(meta, content_tag(output))
        return meta

    def matches(self, existing: ObjectHead, key: StampKey) -> bool:
        """Whether an object is this very output, with a stamp only redactor could make."""
        return genuine(existing, key) and all(existing.metadata.get(k) == v for k, v in self.fields().items())


def genuine(existing: ObjectHead, key: StampKey) -> bool:
    """Whether an object carries a stamp of redactor's (of any policy) that verifies over
    the object's own ETag: neither copied from another object nor made by hand."""
    meta = existing.metadata
    mac = meta.get(MAC_KEY)
    if not mac or existing.etag is None or POLICY_KEY not in meta:
        return False
    signed = {k: v for k, v in meta.items() if k.startswith("redactor-") and k not in (MAC_KEY, QUARANTINED_KEY)}
    return hmac.compare_digest(mac, key.sign(signed, existing.etag))


class WriteAction(enum.Enum):
    """What to do with a destination key before writing a redacted output there."""

    WRITE = "write"  # nothing there: write once (fail if something appears meanwhile)
    REPLACE = "replace"  # an older output of ours, or the caller said overwrite
    SKIP = "skip"  # this very output is already there
    REFUSE = "refuse"  # something redactor did not write: never replaced silently
    REFUSE_OTHER = "refuse-other"  # the redacted copy of another source: never replaced silently


#: The report's reason for each decision that does not write.
SKIP_REASON = "destination already holds this source redacted with this policy"
REFUSE_REASON = "output exists and was not written by redactor (use --overwrite to replace it)"
REFUSE_OTHER_REASON = "output exists and is the redacted copy of another source (use --overwrite to replace it)"


def write_decision(
    stamp: Stamp,
    existing: ObjectHead | None,
    key: StampKey | None,
    *,
    ours_before: bool = False,
    overwrite: bool = False,
) -> WriteAction:
    """The one rule. ``existing``: the destination object (``None``: no object); ``key``:
    the stamp key (``None``: the store keeps no stamps, as a folder); ``ours_before``: an
    earlier run of ours recorded writing this key (its checkpoint)."""
    if existing is None:
        return WriteAction.WRITE
    if overwrite:
        return WriteAction.REPLACE
    if key is not None and stamp.matches(existing, key):
        return WriteAction.SKIP
    if key is not None and genuine(existing, key):
        theirs = existing.metadata.get(ORIGIN_KEY)
        if stamp.origin is not None and theirs is not None and theirs != stamp.origin:
            return WriteAction.REFUSE_OTHER
        return WriteAction.REPLACE
    if ours_before:
        return WriteAction.REPLACE
    return WriteAction.REFUSE


def refusal_reason(action: WriteAction) -> str:
    return REFUSE_OTHER_REASON if action is WriteAction.REFUSE_OTHER else REFUSE_REASON
