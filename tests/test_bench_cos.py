"""``redactor bench cos`` smoke-run in its quick mode: it runs end to end (generator, CPU
floor, emulator, the real ``python -m redactor run`` child, the sequential loops) and prints
every field of its table. Figures are never checked against thresholds."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from redactor.bench_cos import unique_copy


def test_unique_copies_differ_in_bytes_not_in_pixels() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "JPEG", quality=90)
    jpeg = buffer.getvalue()
    a, b = unique_copy(jpeg, 1), unique_copy(jpeg, 2)
    assert len({jpeg, a, b}) == 3
    for copy in (a, b):
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(copy))), np.asarray(Image.open(io.BytesIO(jpeg))))


def test_quick_mode_prints_the_whole_table() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COS_", "TENCENTCLOUD_"))}
    run = subprocess.run(
        [sys.executable, "-m", "redactor", "bench", "cos", "--quick", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    text = result["text"]
    for field in (
        "--quick (a smoke run: figures not meaningful)",
        "steady state:",
        "excluded: the first 1 s and the cap's burst",
        "(1) python -m redactor run cos://src cos://dst (default options)",
        "(2) CPU floor: decode + mask + second look + encode",
        "verification on",
        "(3) sequential GET + AILicenseRec + PUT, our client",
        "the same loop with cos-python-sdk-v5",
        "(4) AILicenseRec:",
        "calls/object",
        "bound: min(",
        "(5) peak RSS of the run:",
        "(6) ratio to the sequential loop:",
        "requests per object in the window:",
    ):
        assert field in text, field
    assert "NOTE: the run failed" not in text, details_tail(result)
    details = result["details"]
    assert details["objects_in_window"] > 0 and details["ci_calls"] > 0  # the emulator counted a real run
    assert result["peak_rss_mb"] > 0 and result["calls_per_object"] > 0


def details_tail(result: dict) -> str:  # type: ignore[type-arg]
    return str(result["details"].get("run_stderr_tail", ""))
