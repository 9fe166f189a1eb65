"""``redactor run --executor ray``: the same run on a Ray cluster.

The driver (this process) streams the source listing, sets aside what is no input (as a
local run does), and sends the other keys in small batches to long-lived actors, at most
:data:`IN_FLIGHT_PER_ACTOR` batches each: its memory stays flat in the number of keys. Each
actor builds, once, the runner ``redactor run`` builds (policy, locator with its models, COS
client, stamp key) from :class:`~redactor.runs.RunSettings`, which holds no secret. The
actors resolve credentials and the stamp key from their own environment (on a local
cluster, inherited from the driver; on a real one, the nodes' environment or secrets), so
no secret is in a task argument, a ``runtime_env`` or Ray's dashboard. The driver checks
that they resolved the stamp key it did (by a one-way digest).

Rows come back as report lines and go to the same JSONL report and summary; the
checkpoint stays the driver's file (actors get each key's earlier entry and return the new
one). Exactly-once rests on the stamps and write-once PUTs in the runner.

One :class:`RateKeeper` actor paces AILicenseRec for the whole cluster: it hands out one
time slot per call, a little more than ``1/--ci-rate`` apart on the wall clock (room for
send jitter, :data:`~redactor.cos.ratelimit.SEND_JITTER`), and each actor's client waits
for its slot through :class:`LeasedLimiter` (a slot missed by more than
:data:`~redactor.cos.ratelimit.LATE_AFTER` is given up for a new one), so no 1-second window
of the cluster's calls holds more than the rate, even with up to 100 ms of jitter on the way.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from redactor.core.policy import load_policy
from redactor.core.results import Decision
from redactor.core.stamps import StampKey
from redactor.cos.ratelimit import LATE_AFTER, Pacer
from redactor.errors import RedactorError, UsageError
from redactor.pipeline.batch import BatchRunner, Seen, listing_failure, lookup, set_aside
from redactor.pipeline.manifest import Manifest, SortedPresence
from redactor.pipeline.options import RunSummary
from redactor.pipeline.records import ReportRow
from redactor.runs import Places, RunSettings, build_runner, resolve_stamp_key
from redactor.storage.base import ObjectStore
from redactor.version import redactor_version

log = logging.getLogger(__name__)

#: Keys per task: enough to make a task's overhead small next to its images' work, few
#: enough that a retried task redoes little (and that the driver's window stays small).
BATCH_KEYS = 8
#: Batches sent to an actor before its first one returns: its threads never wait on the driver.
IN_FLIGHT_PER_ACTOR = 3
#: CPUs each actor reserves (and images it works on at once: the runner's ``cpu_slots``).
ACTOR_CPUS = 1
#: How far ahead of now an idle rate actor places a slot: the round trip of the request for
#: it (a slot that arrives after it has passed is given up). Doubled after each miss.
SLOT_LEAD = 0.02
#: The most a slot is placed ahead of now for a caller that keeps missing them.
MAX_SLOT_LEAD = 0.5
#: Times Ray restarts a dead actor (and retries its tasks) before the batch is reported failed.
MAX_RESTARTS = 3


def stamp_check(key: StampKey | None) -> str | None:
    """A one-way digest of the stamp key: compared, never the key itself."""
    if key is None:
        return None
    return hmac.new(key.secret, b"redactor stamp key check", hashlib.sha256).hexdigest()[:16]


class RateKeeper:
    """The one AILicenseRec pace of a cluster (run as a Ray actor): slots on the wall clock,
    which every node of a cluster shares (NTP); a monotonic clock is per machine."""

    def __init__(self, rate: float) -> None:
        self._pacer = Pacer(rate, clock=time.time)

    def slot(self, lead: float) -> float:
        """The wall-clock time (``time.time()``) of the next slot, at least ``lead`` s ahead."""
        return self._pacer.slot(lead)


class LeasedLimiter:
    """A client's ``ai`` limiter that takes each call's slot from a :class:`RateKeeper`
    actor: the same ``acquire(sleep)`` a :class:`~redactor.cos.ratelimit.Pacer` has."""

    def __init__(self, keeper: Any, clock: Callable[[], float] = time.time) -> None:
        self._keeper, self._clock = keeper, clock

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None:
        import ray

        lead = SLOT_LEAD
        while True:
            at = float(ray.get(self._keeper.slot.remote(lead)))
            delay = at - self._clock()
            if delay > 0:
                sleep(delay)
            if self._clock() - at <= LATE_AFTER:
                return
            lead = min(2 * lead, MAX_SLOT_LEAD)  # missed: ask further ahead

    async def acquire_async(self) -> None:
        await asyncio.to_thread(self.acquire)


@dataclass(frozen=True)
class WorkItem:
    """One key for an actor: what the driver's listings said, and its checkpoint entry."""

    key: str
    seen: Seen
    #: The checkpoint's (fingerprint digest, decision, output ETag) for the key, if any.
    previous: tuple[bytes, str, str | None] | None


class _Collecting(Manifest):
    """An in-memory checkpoint whose new entries go back to the driver, which keeps the file."""

    def __init__(self) -> None:
        super().__init__(None)
        self.recorded: dict[str, dict[str, Any]] = {}

    def record(self, entry: dict[str, Any]) -> None:
        super().record(entry)
        with self._lock:
            self.recorded[entry["source"]] = entry


class RedactWorker:
    """A long-lived worker (a Ray actor): its runner, models and COS client are built once."""

    def __init__(self, settings: RunSettings, keeper: Any, check: str | None) -> None:
        limiter = LeasedLimiter(keeper) if keeper is not None else None
        # the driver lists (or reads the inventory); a worker only processes what it is sent
        self._runner = build_runner(replace(settings, inventory=None), manifest_path=None, ai_limiter=limiter)
        if stamp_check(self._runner.options.stamp_key) != check:
            raise UsageError(
                "a Ray worker resolved another stamp key than the driver: give every node the same "
                "REDACTOR_STAMP_KEY (or COS credentials)"
            )
        self._manifest = _Collecting()
        self._runner.manifest = self._manifest
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.workers), thread_name_prefix="redactor")

    def ready(self) -> bool:
        return True

    def process(self, items: list[WorkItem]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Each item's report line and new checkpoint entry (rows never raise)."""

        def one(item: WorkItem) -> tuple[dict[str, Any], dict[str, Any] | None]:
            entries = self._manifest.entries
            if item.previous is not None:
                entries[item.key] = item.previous
            try:
                row = self._runner.process_listed(item.key, item.seen)
            finally:
                entries.pop(item.key, None)
            return row.to_record(), self._manifest.recorded.pop(item.key, None)

        return list(self._pool.map(one, items))


def _start(address: str | None) -> bool:
    """Join (or start) a cluster; True when this call started it (and must shut it down)."""
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'redactor[ray]'") from None
    if ray.is_initialized():
        return False
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    return True


def _worker_error(exc: BaseException) -> UsageError:
    """A worker that could not start, as one line (its own error when it is redactor's)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, RedactorError):
        return UsageError(str(cause))
    return UsageError(f"the Ray workers could not start ({type(cause or exc).__name__})")


def run_on_ray(
    settings: RunSettings,
    *,
    report: Path | None,
    checkpoint: Path | None,
    address: str | None = None,
    actors: int | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> RunSummary:
    """Run ``settings`` on Ray; the report and summary are a local run's (``on_progress``:
    called with each entry's report line as the driver writes it)."""
    import ray

    from redactor.console import open_report

    places = Places(settings.src, settings.dst, settings.quarantine)
    # fails here, before any worker starts, when a COS place needs one and there is none
    stamp_key = resolve_stamp_key() if places.src_cos or places.dst_cos else None
    source, dest, quarantine = places.storages(
        settings.endpoint, settings.region, create=not settings.dry_run, inventory=settings.inventory
    )
    started = _start(address)
    pool: list[Any] = []
    keeper: Any = None
    try:
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        count = actors or max(1, int(resources.get("CPU", 1)) // ACTOR_CPUS)
        remote: Any = ray.remote  # typed for decorated classes; these are wrapped at run time
        keeper = remote(num_cpus=0, max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS)(RateKeeper).remote(
            settings.ci_rate
        )  # a restarted pace starts with nothing saved up: no burst
        worker = remote(
            num_cpus=ACTOR_CPUS,
            max_concurrency=IN_FLIGHT_PER_ACTOR,
            max_restarts=MAX_RESTARTS,
            max_task_retries=MAX_RESTARTS,
        )(RedactWorker)
        actor_settings = replace(settings, cpu_slots=ACTOR_CPUS)
        pool = [worker.remote(actor_settings, keeper, stamp_check(stamp_key)) for _ in range(count)]
        try:
            ray.get([a.ready.remote() for a in pool])
        except ray.exceptions.RayError as exc:
            raise _worker_error(exc) from None
        manifest = Manifest(checkpoint)
        manifest.open()
        handle = open_report(report)
        try:
            driver = _Driver(settings, manifest, handle, pool)
            driver.on_progress = on_progress
            return driver.run(source, dest, quarantine)
        finally:
            manifest.close()
            if handle is not None:
                handle.close()
    finally:
        for a in [*pool, *([keeper] if keeper is not None else [])]:
            ray.kill(a)
        if started:
            ray.shutdown()


class _Driver:
    """The listing, the window of batches in flight, and the report."""

    def __init__(self, settings: RunSettings, manifest: Manifest, report: IO[str] | None, pool: list[Any]) -> None:
        self.settings, self.manifest, self.report, self.pool = settings, manifest, report, pool
        self.summary = RunSummary()
        self.on_progress: Callable[[dict[str, Any]], None] | None = None

    def _emit(self, record: dict[str, Any]) -> None:
        if self.report is not None:
            self.report.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.report.flush()

    def _finish(self, record: dict[str, Any]) -> None:
        self.summary.add(ReportRow.from_record(record))
        self._emit(record)
        if self.on_progress is not None:
            self.on_progress(record)

    def _items(self, source: Any, dest: Any, quarantine: Any) -> Iterator[WorkItem | ReportRow]:
        s = self.settings
        dest_seen = _presence(dest)
        q_seen = _presence(quarantine)
        for entry in source.iter_entries():
            aside = set_aside(entry, s.include, s.exclude)
            if aside is not None:
                yield ReportRow(entry.key, aside[0], [aside[1]])
                continue
            seen = Seen(entry.tag, lookup(dest_seen, entry.key), lookup(q_seen, entry.key))
            yield WorkItem(entry.key, seen, self.manifest.entries.get(entry.key))

    def run(self, source: Any, dest: Any, quarantine: Any) -> RunSummary:
        import ray

        start = time.perf_counter()
        in_flight: dict[Any, tuple[int, list[WorkItem]]] = {}
        load = [0] * len(self.pool)
        batch: list[WorkItem] = []

        def collect(block: bool) -> None:
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=None if block else 0)
            for ref in ready:
                index, items = in_flight.pop(ref)
                load[index] -= 1
                try:
                    results = ray.get(ref)
                except ray.exceptions.RayError as exc:  # its retries spent: reported, not lost
                    why = f"the Ray worker failed: {type(exc).__name__}"
                    results = [(ReportRow(i.key, Decision.FAILED.value, [why]).to_record(), None) for i in items]
                for record, entry in results:
                    if entry is not None:
                        self.manifest.record(entry)
                    self._finish(record)

        def submit(items: list[WorkItem]) -> None:
            while min(load) >= IN_FLIGHT_PER_ACTOR:
                collect(block=True)
            index = load.index(min(load))
            load[index] += 1
            in_flight[self.pool[index].process.remote(items)] = (index, items)

        iterator = self._items(source, dest, quarantine)
        while True:
            try:
                item = next(iterator, None)
            except Exception as exc:  # a listing that failed after its retries (or a bad inventory)
                self.summary.aborted = listing_failure(exc)
                break
            if item is None:
                break
            if isinstance(item, ReportRow):
                self._finish(item.to_record())
                continue
            batch.append(item)
            if len(batch) >= BATCH_KEYS:
                submit(batch)
                batch = []
            if in_flight:
                collect(block=False)
        if batch:
            submit(batch)
        while in_flight:
            collect(block=True)
        self.summary.seconds = time.perf_counter() - start
        policy_sha = load_policy(self.settings.policy_text, source=self.settings.policy_source).sha256
        verify = "on" if self.settings.verify else "off"
        self._emit(
            {
                "summary": self.summary.to_record(),
                "policy_sha256": policy_sha,
                "policy": self.settings.policy_source,
                "verify": verify,
                "redactor": redactor_version(),
            }
        )
        return self.summary


def _presence(store: Any) -> SortedPresence | None:
    return BatchRunner._presence(store if isinstance(store, ObjectStore) else None)
