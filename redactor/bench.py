"""Benchmarks: figures printed side by side from one run (these machines are noisy).

Never asserted in tests. ``redactor bench`` measures the masking stage (decode,
orientation, masks, metadata-free encode) on a 1600x1000 JPEG with 6 fields against
plain Pillow decode + encode of the same bytes at the same quality.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from redactor.core.fields import CardType
from redactor.core.imaging import DEFAULT_JPEG_QUALITY, decode
from redactor.core.plan import plan_redaction
from redactor.core.policy import load_policy
from redactor.core.results import Detection, LocatedField, Polygon
from redactor.pipeline import mask_and_encode

BENCH_POLICY = """\
version: 1
defaults: {action: box, min_score: 80, padding: 0.15}
fields:
  name: {action: blur}
  gender: keep
  ethnicity: {action: pixelate}
portrait: keep
"""


def _test_image(width: int = 1600, height: int = 1000) -> bytes:
    rng = np.random.default_rng(7)
    base = np.linspace(120, 230, width, dtype=np.float32)[None, :, None] * np.ones((height, 1, 3), np.float32)
    noise = rng.normal(0, 12, (height, width, 3)).astype(np.float32)
    array = np.clip(base + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _fields() -> Detection:
    boxes = {
        "姓名": (290, 160, 640, 230),
        "性别": (290, 300, 380, 370),
        "民族": (620, 300, 740, 370),
        "出生": (290, 420, 880, 490),
        "住址": (290, 560, 960, 760),
        "公民身份号码": (540, 840, 1470, 920),
    }
    fields = tuple(LocatedField.named(name, 97, Polygon.rect(*box), CardType.ID_CARD) for name, box in boxes.items())
    return Detection(1, fields, CardType.ID_CARD)


def masking_benchmark(iterations: int = 30) -> dict[str, Any]:
    data = _test_image()
    policy = load_policy(BENCH_POLICY, "<bench>")
    detection = _fields()

    def baseline() -> None:
        im = Image.open(io.BytesIO(data))
        im.load()
        im.save(io.BytesIO(), format="JPEG", quality=DEFAULT_JPEG_QUALITY)

    def masking() -> None:
        decoded = decode(data)
        plan = plan_redaction(detection, policy, decoded.image.width, decoded.image.height)
        mask_and_encode(decoded, plan, DEFAULT_JPEG_QUALITY)

    for fn in (baseline, masking):
        fn()
    base_t: list[float] = []
    mask_t: list[float] = []
    for _ in range(iterations):  # interleaved, so both see the same machine noise
        t0 = time.perf_counter()
        baseline()
        t1 = time.perf_counter()
        masking()
        t2 = time.perf_counter()
        base_t.append(t1 - t0)
        mask_t.append(t2 - t1)
    b, m = statistics.median(base_t), statistics.median(mask_t)
    ratio = m / b
    text = (
        "masking stage, 1600x1000 JPEG, 6 fields (box x3, blur, pixelate, keep), "
        f"{iterations} interleaved runs, medians:\n"
        f"  Pillow decode + encode : {b * 1000:7.1f} ms\n"
        f"  redactor decode+mask+encode : {m * 1000:7.1f} ms\n"
        f"  ratio                  : {ratio:7.3f}x (goal <= 1.25x)"
    )
    return {"baseline_ms": b * 1000, "masking_ms": m * 1000, "ratio": ratio, "iterations": iterations, "text": text}


def small_card(scale: float) -> tuple[Image.Image, bytes]:
    """A committed sample ID card scan at ``scale``, with its AILicenseRec response scaled to match."""
    from redactor.core.ailicenserec import parse_response, render_response

    samples = Path(__file__).resolve().parent.parent / "samples"
    name = "idcard-front-scan-0001.png"
    image = Image.open(samples / name).convert("RGB")
    small = image.resize((int(image.width * scale), int(image.height * scale)))
    detection = parse_response((samples / f"{name}.ailicenserec.xml").read_bytes())
    fields = tuple(
        LocatedField(
            f.raw_name,
            f.score,
            Polygon(tuple((x * scale, y * scale) for x, y in f.polygon.points)),
            f.card_type,
            f.canonical,
        )
        for f in detection.fields
    )
    return small, render_response(Detection(1, fields))


def cos_memory_benchmark(objects: int = 100_000, workers: int = 16) -> dict[str, Any]:
    """Peak RSS of ``redactor run cos:// cos://`` (its own process) over a prefix of
    ``objects`` small objects, against the emulator (replay AILicenseRec, no added latency)."""
    import io as _io
    import os
    import resource
    import subprocess
    import sys

    from redactor.emulator import Store
    from redactor.emulator.server import spawn_emulator
    from redactor.emulator.store import ObjectMeta, crc64

    bucket, sid, skey = "memory-1250000000", "AKIDmemory00000000000000000000000000", "memory-secret-key-0000000000000"
    small, sidecar = small_card(0.12)
    buffer = _io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    body = buffer.getvalue()
    data_dir = Path(tempfile.mkdtemp(prefix="redactor-memory-"))
    store = Store(data_dir)
    store.create_bucket(bucket)
    now = time.time()

    def meta(key: str, data: bytes, ctype: str) -> ObjectMeta:
        digest = hashlib.md5(data).hexdigest()  # noqa: S324 - the object's ETag
        return ObjectMeta(key, len(data), digest, crc64(data), now, ctype)

    body_meta = (len(body), hashlib.md5(body).hexdigest(), crc64(body))  # noqa: S324
    side_meta = (len(sidecar), hashlib.md5(sidecar).hexdigest(), crc64(sidecar))  # noqa: S324
    for i in range(objects):
        key = f"in/{i:06d}.jpg"
        store.put(bucket, ObjectMeta(key, *body_meta, now, "image/jpeg"), body)
        store.put(bucket, ObjectMeta(key + ".ailicenserec.xml", *side_meta, now, "application/xml"), sidecar)
    del meta
    proc, url = spawn_emulator(data_dir, [bucket], sid, skey, "--ci-engine", "replay")
    try:
        env = {
            **os.environ,
            "COS_SECRET_ID": sid,
            "COS_SECRET_KEY": skey,
            "COS_ENDPOINT": url,
            "COS_REGION": "ap-guangzhou",
        }
        report = data_dir / "report.jsonl"
        command = [
            sys.executable,
            "-m",
            "redactor.cli",
            "run",
            f"cos://{bucket}/in/",
            f"cos://{bucket}/out/",
            "--workers",
            str(workers),
            "--report",
            str(report),
        ]
        t0 = time.perf_counter()
        run = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
        seconds = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child: the run
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
    text = (
        f"redactor run cos:// cos:// over {objects} objects ({small.width}x{small.height} JPEG), {workers} workers: "
        f"{seconds:.0f} s, exit {run.returncode}; peak RSS of the run {peak_mb:.0f} MB (goal < 500 MB)\n"
        f"  {run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ''}"
    )
    return {"objects": objects, "seconds": seconds, "peak_rss_mb": peak_mb, "text": text}
