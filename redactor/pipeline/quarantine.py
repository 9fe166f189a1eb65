"""The quarantine: where untouched originals in doubt go, each with its reasons, written
once, and removed when a later run redacts the same source (no unmasked copy outlives the
doubt it was kept for)."""

from __future__ import annotations

import hashlib
import json

from redactor.core.stamps import QUARANTINED_KEY, content_tag
from redactor.pipeline.keys import reason_key
from redactor.pipeline.manifest import Presence
from redactor.storage.base import ObjectStore, Storage


class Quarantine:
    """A quarantine folder or prefix, as the batch runner writes it."""

    def __init__(self, store: Storage, policy_sha256: str) -> None:
        self.store = store
        self.objects: ObjectStore | None = store if isinstance(store, ObjectStore) else None
        self.policy_sha256 = policy_sha256

    def keep(self, key: str, data: bytes, tag: str | None, reasons: list[str], seen: Presence | None) -> None:
        """Copy a doubtful original, untouched, with its reasons (the reasons first: a copy
        never sits in the quarantine without them). Write-once: a copy of this very source
        already there is not written again; ``seen``: what the quarantine's listing said."""
        reason = {"source": key, "reasons": reasons, "policy_sha256": self.policy_sha256}
        body = json.dumps(reason, ensure_ascii=False, indent=1).encode()
        if self.store.read_optional(reason_key(key)) != body:
            self.store.write(reason_key(key), body)
        tag = tag or content_tag(data)
        if self.objects is not None:
            head = None if seen is not None and not seen.held else self.objects.head(key)
            if head is not None and head.metadata.get(QUARANTINED_KEY) == tag:
                return  # this very copy is there already
            self.objects.write(key, data, metadata={QUARANTINED_KEY: tag}, replace=head is not None)
            return
        existing = self.store.read_optional(key) if self.store.exists(key) else None
        if existing is None or hashlib.sha256(existing).digest() != hashlib.sha256(data).digest():
            self.store.write(key, data)

    def release(self, key: str, seen: Presence | None) -> bool:
        """Remove the copy an earlier run quarantined for ``key`` (redacted now); whether
        there was one of ours (its reasons are always written first)."""
        if seen is not None and not seen.held:
            return False
        if self.store.read_optional(reason_key(key)) is None:
            return False
        if self.store.exists(key):
            self.store.delete(key)
        self.store.delete(reason_key(key))
        return True
