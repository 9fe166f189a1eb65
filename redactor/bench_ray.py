"""``python -m redactor.bench_ray``: ``--executor ray`` against ``--executor local`` on the same
run, side by side, rounds alternating (a machine's load drifts; alternation spreads it over
both), with each executor's start-up.

Each run is ``python -m redactor run cos://BUCKET/in/ cos://BUCKET/<its own DST>/`` as a child
process against the emulator in its own process (``redactor bench cos``'s objects: 1-4 Mpx
synthetic cards, 50 ms per request, AILicenseRec replayed and capped at 100/s). From the
emulator's counters: **start-up** is the time from the child's start to its first output;
**objects/s** counts outputs and quarantined copies over a window of ``--window`` s that
starts ``--warmup`` s after the first output. The run is then interrupted. Prints figures;
nothing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redactor.bench_cos import BUCKET, SECRET_ID, SECRET_KEY, bench_images, run_env, seed_bucket
from redactor.soak import _descendants, _kill

#: How often the emulator's counters are read (seconds).
POLL_S = 0.25
#: How long an interrupted run may take to stop before it and its cluster are killed (seconds).
STOP_GRACE_S = 30.0
#: A run that has written nothing after this long is reported as failed to start (seconds).
START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Measure:
    executor: str
    startup_s: float
    rate: float
    objects: int


def _done(doc: dict[str, Any], dst: str) -> int:
    writes = doc["writes"]
    return int(writes.get(dst, 0)) + int(writes.get(dst.rstrip("/") + ".quarantine/", 0))


def _top(prefix: str) -> str:
    """The emulator counts writes by top-level prefix: ``a/`` for ``a/b/c``."""
    return prefix.split("/", 1)[0] + "/"


def measure(url: str, executor: str, dst: str, work: Path, warmup: float, window: float, verify: bool) -> Measure:
    import httpx

    command = [sys.executable, "-m", "redactor", "run", f"cos://{BUCKET}/in/", f"cos://{BUCKET}/{dst}"]
    command += ["--executor", executor, "--report", str(work / f"{dst.strip('/')}.jsonl")]
    if not verify:
        command += ["--verify", "off"]
    env = run_env(url, work)
    top = _top(dst)
    with httpx.Client(timeout=10.0) as client, (work / f"{executor}.stderr").open("ab") as log:
        t0 = time.monotonic()
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)  # noqa: S603
        first_at = start_at = None
        start_n = n = 0
        try:
            while proc.poll() is None:
                n = _done(client.get(f"{url}/_emulator/stats").json(), top)
                now = time.monotonic()
                if first_at is None and n > 0:
                    first_at = now
                if first_at is not None and start_at is None and now - first_at >= warmup:
                    start_at, start_n = now, n
                if first_at is not None and start_at is not None and now - start_at >= window:
                    return Measure(executor, first_at - t0, (n - start_n) / (now - start_at), n - start_n)
                if first_at is None and now - t0 > START_TIMEOUT_S:
                    break
                time.sleep(POLL_S)
            raise RuntimeError(f"the {executor} run ended (or never started) before its window: see {log.name}")
        finally:
            below = _descendants(proc.pid)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            _kill([p for p in below if Path(f"/proc/{p}").exists()])


def main(argv: list[str] | None = None) -> int:
    """``python -m redactor.bench_ray [--rounds 2] [--warmup 10] [--window 30] [--verify on|off]``."""
    from redactor.emulator.server import spawn_emulator

    parser = argparse.ArgumentParser(prog="python -m redactor.bench_ray", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--verify", choices=["on", "off"], default="off")
    parser.add_argument("--objects", type=int, default=0, help="source keys (default: enough for every run)")
    args = parser.parse_args(argv)
    verify = args.verify == "on"
    per_run = (10 if verify else 30) * (args.warmup + args.window + 20)  # generous objects/s x seconds
    objects = args.objects or int(per_run)
    work = Path(tempfile.mkdtemp(prefix="redactor-bench-ray-"))
    results: list[Measure] = []
    try:
        images = bench_images(16, (1.0, 4.0), 1)
        seed_bucket(work / "emulator", images, objects)
        extra = ["--ci-engine", "replay", "--ci-rate", "100", "--latency", "50"]
        emulator, url = spawn_emulator(work / "emulator", [BUCKET], SECRET_ID, SECRET_KEY, *extra)
        try:
            for r in range(args.rounds):
                order = ("local", "ray") if r % 2 == 0 else ("ray", "local")
                for executor in order:
                    got = measure(url, executor, f"o{r}{executor}/", work, args.warmup, args.window, verify)
                    results.append(got)
                    print(
                        f"round {r + 1} {executor:5s}: start-up {got.startup_s:5.1f} s, {got.rate:5.1f} objects/s "
                        f"({got.objects} in {args.window:g} s)",
                        flush=True,
                    )
        finally:
            emulator.kill()
            emulator.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    local = [m.rate for m in results if m.executor == "local"]
    ray = [m.rate for m in results if m.executor == "ray"]
    print(
        f"objects: 16 generated cards (1-4 Mpx JPEG) over {objects} keys; --verify {args.verify}; "
        f"{os.cpu_count()} cores; the emulator in its own process (50 ms per request, AILicenseRec capped at 100/s)"
    )
    for name, rates in (("local", local), ("ray", ray)):
        starts = [m.startup_s for m in results if m.executor == name]
        print(
            f"{name:5s}: median {statistics.median(rates):.1f} objects/s after start-up "
            f"(runs: {', '.join(f'{x:.1f}' for x in rates)}); start-up to the first output "
            f"{statistics.median(starts):.1f} s"
        )
    print(f"ray / local: {statistics.median(ray) / statistics.median(local):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
