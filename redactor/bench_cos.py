"""``redactor bench cos``: COS-to-COS throughput at steady state, side by side with its limits.

One run prints: (1) ``python -m redactor run cos://src cos://dst`` with default options, as a
child process against the emulator (its own process, ``latency_ms`` per request, AILicenseRec
replayed and capped at ``ci_cap``/s); (2) the CPU floor: decode + mask + second look + encode
of the same objects on every core, no network, the run's verification setting; (3) a
sequential GET + AILicenseRec + PUT loop with our client (and with cos-python-sdk-v5 when it
is importable); (4) AILicenseRec calls per object as the emulator counted them, the bound
min(cap / calls, CPU floor) and the run's share of it; (5) the run's peak RSS; (6) the ratio
to the sequential loop.

Why it is honest: objects are 1-4 Mpx synthetic phone photos and scans (0.25-0.9 MB JPEG);
throughput is read from the emulator's counters (``/_emulator/stats``) over a window that
starts after ``warmup_s`` and after the emulator's token bucket has answered a full burst,
and lasts ``duration_s`` (30 s by default); nothing here is a timed assert.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import math
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Region of the emulated buckets (any valid region: the emulator routes by Host).
REGION = "ap-guangzhou"
#: One bucket holds the sources (``in/``), the outputs and the sequential loops' copies.
BUCKET = "bench-1250000000"
#: Benchmark-only credentials, handed to the emulator and the run through the environment.
SECRET_ID, SECRET_KEY = "AKIDbench000000000000000000000000000", "bench-secret-key-000000000000000"
#: Image kinds cycled through: ID fronts (one AILicenseRec call under --card-type auto) and
#: driving licences (IDCard finds nothing, then DriverLicense: two calls), photos and scans.
KINDS = (("id_front", "photo"), ("dl_main", "scan"), ("id_front", "scan"), ("dl_main", "photo"))
#: Sensor noise added after rescaling (8-bit levels, one sigma): keeps JPEG sizes realistic.
NOISE_SIGMA = 4.0
#: JPEG quality of the source objects (a phone camera's).
SOURCE_QUALITY = 93
#: How often the emulator's counters are read during the run (seconds).
POLL_S = 0.25
#: A window also holds at least this many finished objects (a short one may otherwise hold none).
MIN_WINDOW_OBJECTS = 3
#: How long an interrupted run may take to stop before it is killed (seconds).
STOP_GRACE_S = 20.0


@dataclass(frozen=True)
class CosBenchOptions:
    """What ``redactor bench cos`` can change; the defaults are the documented benchmark."""

    duration_s: float = 30.0  #: length of the measured steady-state window
    warmup_s: float = 10.0  #: never measured: interpreter start, model loads, first listing
    latency_ms: float = 50.0  #: added by the emulator to every request
    ci_cap: float = 100.0  #: AILicenseRec requests/s the emulator allows (the account's quota); 0: none
    workers: int | None = None  #: ``--workers`` for the run; ``None``: the run's default
    verify: bool = True  #: the run's ``--verify`` (and the CPU floor's)
    images: int = 16  #: distinct generated images, cycled over the keys
    mpx: tuple[float, float] = (1.0, 4.0)  #: megapixels of the smallest and the largest image
    objects: int | None = None  #: source keys; ``None``: enough for warm-up + window at the bound
    floor_s: float = 20.0  #: how long the CPU floor is measured (per verification setting)
    sequential: int = 20  #: objects through each sequential loop
    seed: int = 12
    quick_run: bool = False  #: made by :meth:`quick`: said so in the output

    @classmethod
    def quick(cls, **changes: Any) -> CosBenchOptions:
        """A smoke run (small images, a short window, a cap of 10/s so its burst is soon spent):
        its figures are not meaningful."""
        base = cls(duration_s=2.0, warmup_s=1.0, ci_cap=10.0, images=4, mpx=(0.2, 0.3), floor_s=1.0, sequential=3)
        return dataclasses.replace(base, quick_run=True, **changes)


@dataclass(frozen=True)
class BenchImage:
    """One generated source image and its saved AILicenseRec response (same pixel grid)."""

    body: bytes
    sidecar: bytes
    kind: str
    variant: str
    width: int
    height: int


@dataclass(frozen=True)
class Sample:
    """The emulator's counters at one moment of the run (``t``: seconds since it started)."""

    t: float
    requests: Mapping[str, int]
    writes: Mapping[str, int]
    ci: Mapping[str, int]
    ci_tokens: float | None
    run_cpu_s: float
    emulator_cpu_s: float

    def done(self, dst: str, quarantine: str) -> int:
        return self.writes.get(dst, 0) + self.writes.get(quarantine, 0)

    def ci_status(self, status: str) -> int:
        return sum(n for name, n in self.ci.items() if name.endswith(f" {status}"))

    def requests_of(self, op: str, status: str = "200") -> int:
        return self.requests.get(f"{op} {status}", 0)


@dataclass
class RunMeasure:
    """The run's steady-state window and what it showed."""

    start: Sample
    end: Sample
    exit_code: int | None
    peak_rss_mb: float
    tree_peak_rss_mb: float
    stderr_tail: str
    ended_early: bool
    started_after_s: float
    dst: str
    quarantine: str

    @property
    def seconds(self) -> float:
        return self.end.t - self.start.t

    @property
    def objects(self) -> int:
        return self.end.done(self.dst, self.quarantine) - self.start.done(self.dst, self.quarantine)

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds > 0 else 0.0

    def delta(self, get: Callable[[Sample], float]) -> float:
        return get(self.end) - get(self.start)


@dataclass
class CosBenchResult:
    run_rate: float
    cpu_floor: float
    sequential_rate: float
    sdk_rate: float | None
    calls_per_object: float
    ci_cap: float
    bound: float
    share_of_bound: float
    peak_rss_mb: float
    ratio: float
    text: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- objects --------------------------------------------------------------------------------------


def bench_images(count: int, mpx: tuple[float, float], seed: int) -> list[BenchImage]:
    """``count`` synthetic cards (redactor's generator), rescaled to sizes spread evenly over
    ``mpx``, with sensor noise, as JPEG; each with its response rescaled to match."""
    import numpy as np
    from PIL import Image

    from redactor.core.ailicenserec import parse_response, render_response
    from redactor.core.results import Detection, Polygon
    from redactor.generator.specimens import render_specimen

    rng = np.random.default_rng(seed)
    images = []
    for i in range(count):
        kind, variant = KINDS[i % len(KINDS)]
        spec = render_specimen(kind, variant, seed * 1000 + i)
        target = mpx[0] + (mpx[1] - mpx[0]) * (i / (count - 1) if count > 1 else 1.0)
        scale = math.sqrt(target * 1e6 / (spec.image.width * spec.image.height))
        size = (round(spec.image.width * scale), round(spec.image.height * scale))
        fx, fy = size[0] / spec.image.width, size[1] / spec.image.height
        pixels = np.asarray(spec.image.convert("RGB").resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
        pixels += rng.normal(0.0, NOISE_SIGMA, pixels.shape).astype(np.float32)
        buffer = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=SOURCE_QUALITY)
        detection = parse_response(spec.sidecar)
        fields = tuple(
            dataclasses.replace(f, polygon=Polygon(tuple((x * fx, y * fy) for x, y in f.polygon.points)))
            for f in detection.fields
        )
        sidecar = render_response(Detection(detection.status, fields, detection.card_type))
        images.append(BenchImage(buffer.getvalue(), sidecar, kind, variant, size[0], size[1]))
    return images


def unique_copy(jpeg: bytes, index: int) -> bytes:
    """The same JPEG with a comment segment naming ``index`` (after the JFIF header): every
    key holds distinct bytes (distinct ETags) for the price of a copy, not of an encode."""
    payload = f"redactor bench object {index}".encode()
    at = 2
    if jpeg[2:4] == b"\xff\xe0":
        at = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:at] + b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload + jpeg[at:]


def seed_bucket(data_dir: Path, images: list[BenchImage], objects: int) -> None:
    """``in/<n>.jpg`` and its ``.ailicenserec.xml`` for ``objects`` keys, written straight into
    the emulator's data dir (before it starts: no HTTP needed)."""
    from redactor.emulator.store import ObjectMeta, Store, crc64

    store = Store(data_dir)
    store.create_bucket(BUCKET)
    now = time.time()
    for i in range(objects):
        image = images[i % len(images)]
        key = f"in/{i:06d}.jpg"
        for name, data, ctype in (
            (key, unique_copy(image.body, i), "image/jpeg"),
            (key + ".ailicenserec.xml", image.sidecar, "application/xml"),
        ):
            etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
            store.put(BUCKET, ObjectMeta(name, len(data), etag, crc64(data), now, ctype), data)


# -- (2) the CPU floor -----------------------------------------------------------------------------

_FLOOR: dict[str, Any] = {}


def _floor_init(images: list[tuple[bytes, bytes]], verify: bool) -> None:
    """Per worker process: the policy, the verifier's models, one image done before the clock."""
    from redactor.policy_files import load_bundled_policy
    from redactor.verifiers import default_verifier

    _FLOOR.update(images=images, policy=load_bundled_policy("default"))
    _FLOOR["verifier"] = default_verifier() if verify else None
    _floor_one(0)


def _floor_one(index: int) -> str:
    from redactor.locators.replay import ReplayLocator
    from redactor.pipeline import redact_image

    body, sidecar = _FLOOR["images"][index % len(_FLOOR["images"])]
    outcome = redact_image(body, policy=_FLOOR["policy"], locator=ReplayLocator(sidecar), verifier=_FLOOR["verifier"])
    return str(outcome.decision.value)


def _floor_ready(seconds: float) -> None:
    time.sleep(seconds)  # holds its worker, so each warm-up task lands in a process of its own


@dataclass(frozen=True)
class Floor:
    """The CPU floor: objects/s, and what the pipeline decided for them."""

    rate: float
    decisions: dict[str, int]
    processes: int


def cpu_floor(images: list[BenchImage], verify: bool, seconds: float) -> Floor:
    """Objects/s of decode + mask (+ second look) + encode in one process per core, the pool
    kept full for ``seconds`` after every worker has warmed up."""
    import multiprocessing

    processes = os.cpu_count() or 1
    payload = [(image.body, image.sidecar) for image in images]
    context = multiprocessing.get_context("spawn")
    decisions: dict[str, int] = {}
    with ProcessPoolExecutor(processes, context, initializer=_floor_init, initargs=(payload, verify)) as pool:
        for warm in [pool.submit(_floor_ready, 0.5) for _ in range(processes)]:
            warm.result()
        started = time.perf_counter()
        index = 0
        pending: set[Future[str]] = set()
        while True:
            while len(pending) < 2 * processes and time.perf_counter() - started < seconds:
                pending.add(pool.submit(_floor_one, index))
                index += 1
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                decision = future.result()
                decisions[decision] = decisions.get(decision, 0) + 1
        elapsed = time.perf_counter() - started
    return Floor(sum(decisions.values()) / elapsed, decisions, processes)


# -- (1) the run, measured from the emulator -------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (its threads included), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its descendants (KB), from /proc."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def _sample(client: Any, url: str, t0: float, run_pid: int, emulator_pid: int) -> Sample:
    doc = client.get(f"{url}/_emulator/stats").json()
    return Sample(
        time.monotonic() - t0,
        doc["requests"],
        doc["writes"],
        doc["ci"],
        doc["ci_tokens"],
        _cpu_seconds(run_pid),
        _cpu_seconds(emulator_pid),
    )


def run_env(url: str, work: Path) -> dict[str, str]:
    """The environment of a ``redactor run`` child against the emulator at ``url``: its
    credentials, its cache in ``work``, and this benchmark's redactor, whatever the child's
    working directory."""
    return {
        **os.environ,
        "COS_SECRET_ID": SECRET_ID,
        "COS_SECRET_KEY": SECRET_KEY,
        "COS_ENDPOINT": url,
        "COS_REGION": REGION,
        "XDG_CACHE_HOME": str(work / "cache"),
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]),
    }


def measure_run(
    url: str, emulator_pid: int, work: Path, options: CosBenchOptions, burst: int, objects: int
) -> RunMeasure:
    """Start ``python -m redactor run cos://BUCKET/in/ cos://BUCKET/out/`` (default options,
    but for an asked ``--workers`` or ``--verify off``), wait for the steady window, measure it
    from the emulator's counters, then interrupt the run and reap it for its peak RSS."""
    import httpx

    dst, quarantine = "out/", "out.quarantine/"
    command = [sys.executable, "-m", "redactor", "run", f"cos://{BUCKET}/in/", f"cos://{BUCKET}/{dst}"]
    if options.workers is not None:
        command += ["--workers", str(options.workers)]
    if not options.verify:
        command += ["--verify", "off"]
    env = {**run_env(url, work), "HOME": str(work)}  # the checkpoint and the report stay in the benchmark's folder
    stderr_path = work / "run.stderr"
    with stderr_path.open("wb") as stderr, httpx.Client(timeout=10.0) as client:
        t0 = time.monotonic()
        proc = subprocess.Popen(command, cwd=work, env=env, stdout=stderr, stderr=stderr)  # noqa: S603
        samples: list[Sample] = []
        start: Sample | None = None
        end: Sample | None = None
        status: tuple[int, int, Any] | None = None
        tree_peak = 0
        while True:
            pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = (pid, code, usage)
                break
            tree_peak = max(tree_peak, _tree_rss_kb(proc.pid))
            sample = _sample(client, url, t0, proc.pid, emulator_pid)
            samples.append(sample)
            if start is None and sample.t >= options.warmup_s and sample.ci_status("200") >= burst:
                start = sample
            in_window = sample.done(dst, quarantine) - start.done(dst, quarantine) if start is not None else 0
            if start is not None and sample.t - start.t >= options.duration_s and in_window >= MIN_WINDOW_OBJECTS:
                end = sample
                break
            if sample.done(dst, quarantine) >= objects:  # every object done: nothing left to measure
                break
            time.sleep(POLL_S)
        if status is None:
            proc.send_signal(signal.SIGINT)
            deadline = time.monotonic() + STOP_GRACE_S
            while status is None:
                pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    status = (pid, code, usage)
                elif time.monotonic() > deadline:
                    proc.kill()
                    status = os.wait4(proc.pid, 0)
                else:
                    time.sleep(0.1)
        proc.returncode = os.waitstatus_to_exitcode(status[1])
    ended_early = end is None
    if start is None:  # never reached a steady state: report the whole run, flagged
        start = samples[0] if samples else None
    if end is None:
        end = samples[-1] if samples else None
    if start is None or end is None:
        raise RuntimeError(f"the run ended before the emulator answered anything: {_tail(stderr_path)}")
    return RunMeasure(
        start=start,
        end=end,
        exit_code=proc.returncode,
        peak_rss_mb=status[2].ru_maxrss / 1024,
        tree_peak_rss_mb=tree_peak / 1024,
        stderr_tail=_tail(stderr_path),
        ended_early=ended_early,
        started_after_s=start.t,
        dst=dst,
        quarantine=quarantine,
    )


def _tail(path: Path) -> str:
    lines = path.read_text("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


# -- (3) the sequential loops ----------------------------------------------------------------------


def sequential_loop(url: str, count: int) -> float:
    """Objects/s of GET + AILicenseRec (IDCard) + PUT per object, one at a time, with our own
    client. No masking: the loop's time per object is a lower bound, so the ratio is too."""
    from redactor.cos.client import CosClient
    from redactor.cos.config import CosConfig, Credentials

    with CosClient(CosConfig(region=REGION, endpoint=url), Credentials(SECRET_ID, SECRET_KEY)) as client:
        started = time.perf_counter()
        for i in range(count):
            key = f"in/{i:06d}.jpg"
            body = client.get_object(BUCKET, key)
            client.ai_license_rec(BUCKET, key, "IDCard")
            client.put_object(BUCKET, f"sequential/{i:06d}.jpg", body, content_type="image/jpeg")
        return count / (time.perf_counter() - started)


def sdk_loop(url: str, count: int) -> float | None:
    """The same loop with the official cos-python-sdk-v5, when it is installed (else ``None``)."""
    try:
        from qcloud_cos import AIRecognitionClient, CosS3Client
        from qcloud_cos import CosConfig as SdkConfig
    except ImportError:
        return None
    logging.getLogger("qcloud_cos").setLevel(logging.WARNING)
    port = int(url.rsplit(":", 1)[1])
    config = SdkConfig(
        Region=REGION, SecretId=SECRET_ID, SecretKey=SECRET_KEY, IP="127.0.0.1", Port=port, Scheme="http"
    )
    s3, ai = CosS3Client(config), AIRecognitionClient(config)
    started = time.perf_counter()
    for i in range(count):
        key = f"in/{i:06d}.jpg"
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read()
        ai.cos_ai_license_rec(Bucket=BUCKET, ObjectKey=key, CardType="IDCard")
        s3.put_object(Bucket=BUCKET, Key=f"sdk/{i:06d}.jpg", Body=body)
    return count / (time.perf_counter() - started)


# -- all of it -------------------------------------------------------------------------------------


def cos_benchmark(options: CosBenchOptions | None = None) -> CosBenchResult:
    """Everything above, in one run, printed side by side."""
    from redactor.emulator.server import spawn_emulator

    options = options or CosBenchOptions()
    work = Path(tempfile.mkdtemp(prefix="redactor-bench-cos-"))
    try:
        images = bench_images(options.images, options.mpx, options.seed)
        floor = cpu_floor(images, options.verify, options.floor_s)
        floor_off = cpu_floor(images, False, options.floor_s) if options.verify and not options.quick_run else None
        burst = math.ceil(options.ci_cap)  # the emulator's bucket holds one second of its rate
        ceiling = min(options.ci_cap, floor.rate) if options.ci_cap > 0 else floor.rate  # >= 1 call per object
        objects = options.objects or math.ceil(burst + ceiling * (options.warmup_s + options.duration_s + 10) * 1.5)
        objects = max(objects, options.sequential, len(images))
        data_dir = work / "emulator"
        seed_bucket(data_dir, images, objects)
        extra = ["--ci-engine", "replay", "--ci-rate", f"{options.ci_cap:g}", "--latency", f"{options.latency_ms:g}"]
        emulator, url = spawn_emulator(data_dir, [BUCKET], SECRET_ID, SECRET_KEY, *extra)
        try:
            run = measure_run(url, emulator.pid, work, options, burst, objects)
            sequential = sequential_loop(url, options.sequential)
            sdk = sdk_loop(url, options.sequential)
        finally:
            emulator.kill()
            emulator.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _result(options, images, objects, floor, floor_off, run, sequential, sdk)


def _result(
    options: CosBenchOptions,
    images: list[BenchImage],
    objects: int,
    floor: Floor,
    floor_off: Floor | None,
    run: RunMeasure,
    sequential: float,
    sdk: float | None,
) -> CosBenchResult:
    seconds = run.seconds or 1.0
    calls = run.delta(lambda s: s.ci_status("200"))
    refused = run.delta(lambda s: s.ci_status("503"))
    per_object = calls / run.objects if run.objects else 0.0
    by_cap = options.ci_cap / per_object if options.ci_cap > 0 and per_object > 0 else math.inf
    bound = min(by_cap, floor.rate)
    share = run.rate / bound if bound > 0 else 0.0
    baseline = min(sequential, sdk) if sdk is not None else sequential
    ratio = run.rate / baseline if baseline > 0 else 0.0
    redacted = run.delta(lambda s: s.writes.get(run.dst, 0))
    quarantined = run.delta(lambda s: s.writes.get(run.quarantine, 0))
    run_cpu = run.delta(lambda s: s.run_cpu_s) / seconds
    emulator_cpu = run.delta(lambda s: s.emulator_cpu_s) / seconds

    def per(op: str) -> float:
        return run.delta(lambda s: s.requests_of(op)) / run.objects if run.objects else 0.0

    sizes = sorted(len(i.body) / 1024 for i in images)
    mpx = sorted(i.width * i.height / 1e6 for i in images)
    photos = sum(i.variant == "photo" for i in images)
    verify = "on" if options.verify else "off"
    how = f"--workers {options.workers}" if options.workers is not None else "default options"
    if not options.verify:
        how += ", --verify off"
    cap = f"{options.ci_cap:g}/s" if options.ci_cap > 0 else "unlimited"
    by_cap_text = f"{options.ci_cap:g} / {per_object:.2f} = {by_cap:.1f}" if math.isfinite(by_cap) else "no cap"
    tokens = ""
    if run.start.ci_tokens is not None and run.end.ci_tokens is not None:
        tokens = f"; the cap's bucket held {run.start.ci_tokens:.0f} -> {run.end.ci_tokens:.0f} tokens"
    rss = f"{run.peak_rss_mb:.0f} MB (ru_maxrss of the run's process)"
    if run.tree_peak_rss_mb > run.peak_rss_mb * 1.05:
        rss += f"; {run.tree_peak_rss_mb:.0f} MB sampled over its process tree"
    off = f"; verification off: {floor_off.rate:.1f}/s" if floor_off is not None else ""
    rows = [
        (
            f"(1) python -m redactor run cos://src cos://dst ({how})",
            run.rate,
            f"{redacted:.0f} redacted, {quarantined:.0f} quarantined in the window",
        ),
        (
            "(2) CPU floor: decode + mask + second look + encode",
            floor.rate,
            f"{floor.processes} processes, verification {verify}, no network; {_decisions(floor.decisions)}{off}",
        ),
        (
            "(3) sequential GET + AILicenseRec + PUT, our client",
            sequential,
            f"{options.sequential} objects one at a time, no masking",
        ),
        ("    the same loop with cos-python-sdk-v5", sdk, "" if sdk is not None else "not installed"),
    ]
    width = max(len(label) for label, _, _ in rows)
    table = "\n".join(
        f"{label:<{width}} {(f'{value:8.1f}' if value is not None else '       -')}   {note}".rstrip()
        for label, value, note in rows
    )
    lines = [
        f"redactor bench cos{' --quick (a smoke run: figures not meaningful)' if options.quick_run else ''}: "
        f"{os.cpu_count()} cores; the emulator in its own process, {options.latency_ms:g} ms per request, "
        f"AILicenseRec replayed and capped at {cap}",
        f"objects: {len(images)} generated images ({photos} phone photos, {len(images) - photos} scans; "
        f"{mpx[0]:.1f}-{mpx[-1]:.1f} Mpx, JPEG {sizes[0]:.0f}-{sizes[-1]:.0f} KB, median "
        f"{statistics.median(sizes):.0f} KB) cycled over {objects} keys; verification {verify}",
        f"steady state: {run.start.t:.1f} s to {run.end.t:.1f} s of the run ({seconds:.1f} s), read from the "
        f"emulator's counters; excluded: the first {options.warmup_s:g} s and the cap's burst (the first "
        f"{math.ceil(options.ci_cap)} AILicenseRec calls, one second of the cap)",
    ]
    if run.ended_early:
        lines.append(
            "  NOTE: the run ended, or ran out of objects, before a full window: the figures cover what there was"
        )
        if run.exit_code != 0:
            lines.append(f"  NOTE: the run failed (exit {run.exit_code}): {run.stderr_tail}")
    lines += [
        f"{'':<{width}} objects/s",
        table,
        f"(4) AILicenseRec: {per_object:.2f} calls/object, {calls / seconds:.1f} calls/s (allowed {cap}; "
        f"{refused:.0f} refused with SlowDown{tokens})",
        f"    bound: min({by_cap_text}, CPU floor {floor.rate:.1f}) = {bound:.1f} objects/s; "
        f"the run reached {share:.0%} of it (goal >= 80%)",
        f"(5) peak RSS of the run: {rss}",
        f"(6) ratio to the sequential loop: {ratio:.1f}x (goal >= 12x)",
        f"    requests per object in the window: GET {per('get'):.2f}, HEAD {per('head'):.2f}, PUT {per('put'):.2f}, "
        f"LIST {per('list'):.3f}, AILicenseRec {per('ci'):.2f}",
        f"    CPU in the window: the run {run_cpu:.0%}, the emulator {emulator_cpu:.0%} (of one core); the run's exit "
        f"{run.exit_code}{' (interrupted after the window)' if not run.ended_early else ''}",
    ]
    details = {
        "window_s": seconds,
        "window_start_s": run.start.t,
        "objects_in_window": run.objects,
        "redacted": redacted,
        "quarantined": quarantined,
        "ci_calls": calls,
        "ci_refused": refused,
        "floor_decisions": floor.decisions,
        "floor_verify_off": floor_off.rate if floor_off is not None else None,
        "keys": objects,
        "run_exit": run.exit_code,
        "run_stderr_tail": run.stderr_tail,
        "tree_peak_rss_mb": run.tree_peak_rss_mb,
        "run_cpu": run_cpu,
        "emulator_cpu": emulator_cpu,
        "ended_early": run.ended_early,
        "options": dataclasses.asdict(options),
    }
    return CosBenchResult(
        run_rate=run.rate,
        cpu_floor=floor.rate,
        sequential_rate=sequential,
        sdk_rate=sdk,
        calls_per_object=per_object,
        ci_cap=options.ci_cap,
        bound=bound,
        share_of_bound=share,
        peak_rss_mb=run.peak_rss_mb,
        ratio=ratio,
        text="\n".join(lines),
        details=details,
    )


def _decisions(decisions: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(decisions.items()))
