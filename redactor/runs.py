"""Run assembly, shared by the CLI and the other entry points: where a run reads and writes
(folders or ``cos://`` prefixes), the rules between those places (never into the source,
unredacted copies apart from redacted ones), the default names (quarantine, checkpoint), and
the stores and locator built from them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from redactor.core.stamps import StampKey
from redactor.errors import RedactorError, UsageError

if TYPE_CHECKING:
    from redactor.core.fields import CardTypeHint
    from redactor.cos.config import Credentials
    from redactor.cos.ratelimit import Limiter
    from redactor.locators import Locator
    from redactor.pipeline import BatchRunner
    from redactor.storage.base import Storage

#: The stamp key, as text (any length), or a file holding it: what signs redactor's stamps.
STAMP_KEY_ENV = "REDACTOR_STAMP_KEY"
STAMP_KEY_FILE_ENV = "REDACTOR_STAMP_KEY_FILE"


def _is_cos(spec: str) -> bool:
    return spec[:6].lower() == "cos://"


class Places:
    """SRC, DST and quarantine, each a folder or a cos:// prefix, and the rules between them."""

    def __init__(self, src: str, dst: str, quarantine: str) -> None:
        self.src, self.dst, self.quarantine = src, dst, quarantine
        self.report_only = quarantine.lower() == "none"
        self.src_cos = _cos_place(src)
        self.dst_cos = _cos_place(dst)
        self.q_cos = _cos_place(quarantine)

    @classmethod
    def parse(cls, src: str, dst: str, quarantine: str | None) -> Places:
        return cls(src, dst, default_quarantine(dst) if quarantine is None else quarantine)

    def check_files(self, files: dict[str, Path | None]) -> None:
        """The one rule for the files a run writes (report, checkpoint): never inside a
        local SRC, never a folder or special file, never the same file twice."""
        seen: dict[Path, str] = {}
        src = Path(self.src).resolve() if self.src_cos is None else None
        for what, path in files.items():
            if path is None:
                continue
            resolved = path.resolve()
            if src is not None and _inside(resolved, src):
                raise UsageError(
                    f"{what} {path} is inside the source {self.src}: redactor never writes into the source"
                )
            if resolved in seen:
                raise UsageError(f"{what} and {seen[resolved]} are the same file {path}")
            seen[resolved] = what
            if resolved.is_dir():
                raise UsageError(f"{what} {path} is a folder: give a file name")
            if resolved.exists() and not resolved.is_file():
                raise UsageError(f"{what} {path} is not a regular file")
            for parent in resolved.parents:
                if parent.exists():
                    if not parent.is_dir():
                        raise UsageError(f"{what} {path}: {parent} is not a folder")
                    break

    def check(self, in_place: bool = False) -> None:
        places = {"source": (self.src, self.src_cos), "destination": (self.dst, self.dst_cos)}
        if in_place:
            if self.src_cos is None or self.src_cos != self.dst_cos:
                raise UsageError("--in-place needs DST to be the same cos:// prefix as SRC")
            if not self.report_only and _overlap((self.src, self.src_cos), (self.quarantine, self.q_cos)):
                raise UsageError(f"quarantine {self.quarantine} overlaps the source")
            return
        if self.src_cos is None and self.dst_cos is None and self.q_cos is None and not self.report_only:
            check_locations(Path(self.src), Path(self.dst), Path(self.quarantine))
            return
        if self.src_cos is None and not Path(self.src).is_dir():
            raise UsageError(f"source {self.src} is not a folder")
        if self.dst_cos is None and Path(self.dst).exists() and not Path(self.dst).is_dir():
            raise UsageError(f"destination {self.dst} exists and is not a folder")
        pairs = [("source", "destination"), ("source", "quarantine"), ("destination", "quarantine")]
        named = {**places, "quarantine": (self.quarantine, self.q_cos)}
        if self.report_only:
            pairs = pairs[:1]
        for a, b in pairs:
            if _overlap(named[a], named[b]):
                raise UsageError(
                    f"{a} {named[a][0]} and {b} {named[b][0]} overlap: redactor never writes into the source, "
                    "and unredacted images must stay apart from redacted ones (for COS, --in-place replaces "
                    "each original by its verified masked copy)"
                )

    def storages(
        self,
        endpoint: str | None,
        region: str | None,
        *,
        create: bool,
        ci_rate: float | None = None,
        ai_limiter: Limiter | None = None,
        inventory: str | None = None,
    ) -> tuple[Storage, Storage, Storage | None]:
        """The three places as stores; ``inventory``: the source's keys come from this COS
        inventory report (its manifest is read and checked here) instead of listing."""
        client = None
        if self.src_cos or self.dst_cos or self.q_cos:
            from redactor.cos.factory import make_cos_client

            bucket = (self.src_cos or self.dst_cos or self.q_cos or ("", ""))[0]
            client = make_cos_client(
                endpoint=endpoint, region=region, bucket=bucket, ci_rate=ci_rate, ai_limiter=ai_limiter
            )

        def build(spec: str, place: tuple[str, str] | None, make: bool) -> Storage:
            if place is not None:
                from redactor.storage.cos import CosStorage

                assert client is not None  # made above for any cos:// place
                return CosStorage(client, place[0], place[1])
            from redactor.storage import FolderStorage

            return FolderStorage(spec, create=make)

        source = build(self.src, self.src_cos, False)
        if inventory is not None:
            from redactor.inventory import InventoryStorage

            if self.src_cos is None or client is None:
                raise UsageError("--from-inventory needs a cos:// SRC (the bucket the inventory is of)")
            source = InventoryStorage(client, self.src_cos[0], self.src_cos[1], inventory)
        return (
            source,
            build(self.dst, self.dst_cos, create),
            None if self.report_only else build(self.quarantine, self.q_cos, create),
        )


def default_quarantine(dst: str) -> str:
    """Where images in doubt go unless told: beside DST, named ``<DST name>.quarantine``
    (``cos://<bucket>/<DST prefix>.quarantine/`` for a COS destination)."""
    if _is_cos(dst):
        bucket, prefix = _cos_place(dst) or ("", "")
        return f"cos://{bucket}/{prefix.rstrip('/') or 'redactor'}.quarantine/"
    d = Path(os.path.abspath(dst))  # "." and ".." have no name to put .quarantine after
    return str(d.parent / f"{d.name or 'redactor'}.quarantine")


def _cos_place(spec: str) -> tuple[str, str] | None:
    if not _is_cos(spec):
        return None
    from redactor.cos.config import parse_cos_url

    try:
        return parse_cos_url(spec)
    except RedactorError as exc:
        raise UsageError(str(exc)) from None


def _overlap(a: tuple[str, tuple[str, str] | None], b: tuple[str, tuple[str, str] | None]) -> bool:
    if (a[1] is None) != (b[1] is None):
        return False  # a folder and a bucket never overlap
    if a[1] is None or b[1] is None:
        pa, pb = Path(a[0]).resolve(), Path(b[0]).resolve()
        return _inside(pa, pb) or _inside(pb, pa)
    (bucket_a, prefix_a), (bucket_b, prefix_b) = a[1], b[1]
    return bucket_a == bucket_b and (prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a))


def build_locator(
    engine: str,
    endpoint: str | None,
    region: str | None,
    staging: str | None,
    ci_rate: float | None = None,
    ai_limiter: Limiter | None = None,
) -> Locator:
    if engine == "cos":
        from redactor.locators.cloud import build_cloud_locator

        return build_cloud_locator(
            staging=staging, endpoint=endpoint, region=region, ci_rate=ci_rate, ai_limiter=ai_limiter
        )
    from redactor.locators import make_locator

    return make_locator(engine)


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_locations(src: Path, dst: Path, quarantine: Path) -> None:
    """Refuse layouts where outputs could land in the source or unredacted copies in DST."""
    s, d, q = src.resolve(), dst.resolve(), quarantine.resolve()
    if not s.is_dir():
        raise UsageError(f"source {src} is not a folder")
    for place, given, name in ((d, dst, "destination"), (q, quarantine, "quarantine")):
        if place.exists() and not place.is_dir():
            raise UsageError(f"{name} {given} exists and is not a folder")
    if _inside(d, s):
        raise UsageError(f"destination {dst} is inside the source {src}: redactor never writes into the source")
    if _inside(s, d):
        raise UsageError(f"source {src} is inside the destination {dst}: outputs could overwrite inputs")
    for place, name in ((s, "source"), (d, "destination")):
        if _inside(q, place) or _inside(place, q):
            raise UsageError(f"quarantine {quarantine} overlaps the {name}: unredacted images must stay apart")


def cos_checkpoint(src: str, dst: str) -> Path:
    """A local checkpoint per (SRC, DST) pair, under the user's cache folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(f"{src}\n{dst}".encode()).hexdigest()[:20]
    return cache / "redactor" / "checkpoints" / f"{digest}.jsonl"


def resolve_stamp_key(env: Mapping[str, str] | None = None, credentials: Credentials | None = None) -> StampKey:
    """The key stamps are signed with: ``REDACTOR_STAMP_KEY`` (or the file
    ``REDACTOR_STAMP_KEY_FILE`` names), else derived from the COS SecretKey. Temporary
    credentials (with a session token) change with every session, and stamps signed with
    them would not be recognised by the next run: they need an explicit key."""
    env = os.environ if env is None else env
    text = env.get(STAMP_KEY_ENV, "")
    path = env.get(STAMP_KEY_FILE_ENV)
    if path:
        try:
            text = Path(path).read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {STAMP_KEY_FILE_ENV} {path}: {type(exc).__name__}") from None
    if text:
        if len(text) < 16:
            raise UsageError(f"{STAMP_KEY_ENV} must be at least 16 characters")
        return StampKey.derived(text)
    if credentials is None:
        from redactor.cos.config import resolve_credentials

        try:
            credentials = resolve_credentials(env=env)
        except RedactorError as exc:
            raise UsageError(str(exc)) from None
    if credentials.token:
        raise UsageError(
            f"temporary COS credentials (a session token) change every session: set {STAMP_KEY_ENV} "
            "(16+ characters) so that redactor's stamps outlive them"
        )
    return StampKey.derived("cos-secret-key\n" + credentials.secret_key)


@dataclass(frozen=True)
class RunSettings:
    """Everything a run's workers need to build their runner, and nothing secret: it is sent
    to other processes (Ray actors), whose task arguments Ray may log. Credentials and the
    stamp key are resolved by each process from its own environment."""

    src: str
    dst: str
    #: The quarantine place, resolved ("none": report only).
    quarantine: str
    #: The policy's YAML bytes and where they came from (a file on the driver may not
    #: exist where the workers run).
    policy_text: bytes
    policy_source: str
    engine: str
    card_type: CardTypeHint
    workers: int
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    dry_run: bool
    overwrite: bool
    in_place: bool
    jpeg_quality: int
    max_pixels: int
    endpoint: str | None
    region: str | None
    staging: str | None
    ci_rate: float
    verify: bool
    #: Images worked on by a core at once in this process (``None``: one per core; a Ray
    #: actor holding one CPU of a shared machine gets 1).
    cpu_slots: int | None = None
    #: ``cos://.../manifest.json`` of a COS inventory report the source's keys come from
    #: (``None``: listing). Only the process that lists (the driver) reads it.
    inventory: str | None = None


def build_runner(
    settings: RunSettings, *, manifest_path: Path | None, ai_limiter: Limiter | None = None
) -> BatchRunner:
    """The runner of a run: policy, locator, stores, options, as ``redactor run`` builds it
    (here, and in each worker of another executor). ``ai_limiter`` replaces the process-wide
    AILicenseRec bucket (one rate for a whole cluster)."""
    from redactor.core.policy import load_policy
    from redactor.pipeline import BatchRunner, RunOptions
    from redactor.verifiers import default_verifier

    places = Places(settings.src, settings.dst, settings.quarantine)
    pol = load_policy(settings.policy_text, source=settings.policy_source)
    e, r = settings.endpoint, settings.region
    locator = build_locator(settings.engine, e, r, settings.staging, settings.ci_rate, ai_limiter)
    source, dest, quarantine_store = places.storages(
        e, r, create=not settings.dry_run, ci_rate=settings.ci_rate, ai_limiter=ai_limiter, inventory=settings.inventory
    )
    options = RunOptions(
        policy=pol,
        locator=locator,
        card_type=settings.card_type,
        workers=settings.workers,
        include=settings.include,
        exclude=settings.exclude,
        dry_run=settings.dry_run,
        overwrite=settings.overwrite,
        in_place=settings.in_place,
        jpeg_quality=settings.jpeg_quality,
        max_pixels=settings.max_pixels,
        verifier=default_verifier() if settings.verify else None,
        stamp_key=resolve_stamp_key() if places.dst_cos or places.src_cos else None,
        cpu_slots=settings.cpu_slots,
    )
    return BatchRunner(
        source,
        dest,
        None if settings.dry_run else quarantine_store,
        options,
        report=None,
        manifest_path=None if settings.dry_run else manifest_path,
    )
