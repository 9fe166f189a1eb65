"""Benchmarks: figures printed side by side from one run (these machines are noisy).

Never asserted in tests. ``redactor bench`` measures the masking stage (decode,
orientation, masks, metadata-free encode) on a 1600x1000 JPEG with 6 fields against
plain Pillow decode + encode of the same bytes at the same quality.
"""

from __future__ import annotations

import io
import statistics
import time
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
