"""``redactor bench soak``: the COS-to-COS run under injected faults and kill -9, counted
by the emulator itself.

The bundled samples (with their AILicenseRec sidecars, which the emulator replays) are
copied to ``in/`` N times over; ``redactor run cos://.../in/ cos://.../out/`` with default
options runs as a child process against the emulator on loopback with the fault mix, is
killed with SIGKILL K times at random moments, then rerun until a run ends with nothing
failed. What is counted afterwards, from the emulator's store and the last run's report:
unmasked copies outside ``in/`` other than the quarantine's (staging leftovers, outputs
equal to their source or without a genuine stamp), keys written more than once, sources
with neither an output nor a quarantined copy, and whether the last report accounts for
every entry below ``in/`` exactly once. Never asserted in tests: it prints figures.

With ``-- --executor ray`` each run starts its own local Ray cluster; a killed run's cluster
processes (the driver's descendants) are killed with it. ``--worker-kills W`` also kills one
Ray worker process (an actor) W times during the first of the final runs, which must still
complete. ``--decisions FILE`` writes each source's outcome (its output's sha256, or
quarantined, or lost) as JSON, to compare two soaks over the same prefix (e.g. local and ray).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redactor.core.stamps import ObjectHead, genuine
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store
from redactor.emulator.store import ObjectMeta, crc64

#: The fault mix of issue 12's soak: 10% 5xx, 5% SlowDown, 1% resets, 1% truncated bodies.
DEFAULT_FAULTS = "*:5xx=0.10,slowdown=0.05,reset=0.01,truncate=0.01"
BUCKET = "soak-1250000000"
SECRET_ID = "AKIDsoak000000000000000000000000000"  # noqa: S105 - the emulator's test identity
#: A test secret for the emulator (not a real credential).
SECRET_KEY = "soak-secret-key-not-a-real-one-000"  # noqa: S105 - a test secret
#: Reruns after the kills, until one ends with nothing failed.
MAX_FINAL_RUNS = 6


@dataclass
class SoakResult:
    objects: int
    kills: int
    runs: int
    seconds: float
    redacted: int
    quarantined: int
    staging_left: int
    unmasked_outputs: int
    written_twice: int
    lost: int
    report_rows: int
    report_unique: int
    entries: int
    failed_last: int
    #: Requests by operation of one more run over the finished prefix.
    rerun_requests: dict[str, int] = field(default_factory=dict)
    #: Ray worker processes killed during the first final run.
    worker_kills: int = 0
    #: The busiest 1-second window of AILicenseRec arrivals over the whole soak.
    ci_max_window: int = 0
    #: Each source's outcome: ``redacted <output sha256>``, ``quarantined`` or ``lost``.
    decisions: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"objects below in/ (images)           {self.objects}",
            f"kill -9 delivered                     {self.kills}",
            f"Ray workers killed (last runs)        {self.worker_kills}",
            f"runs in all (killed + final)          {self.runs}",
            f"wall time                             {self.seconds:.0f} s",
            f"outputs in out/ / copies in quarantine {self.redacted} / {self.quarantined}",
            f"staged images left (unmasked)         {self.staging_left}",
            f"outputs unmasked or without a stamp   {self.unmasked_outputs}",
            f"keys written more than once           {self.written_twice}",
            f"sources lost (no output, no copy)     {self.lost}",
            f"last report: rows / unique / entries  {self.report_rows} / {self.report_unique} / {self.entries}",
            f"failed in the last run                {self.failed_last}",
            f"a rerun over the finished prefix      {self.rerun_requests} (requests by operation)",
            f"AILicenseRec: busiest 1-s window      {self.ci_max_window} calls",
        ]


def _samples() -> list[tuple[str, bytes, bytes]]:
    folder = Path(__file__).resolve().parent.parent / "samples"
    found = []
    for image in sorted(folder.iterdir()):
        sidecar = image.with_name(image.name + ".ailicenserec.xml")
        if image.suffix in (".jpg", ".png") and sidecar.is_file():
            found.append((image.name, image.read_bytes(), sidecar.read_bytes()))
    if not found:
        raise RuntimeError("the bundled samples are missing (redactor bench soak runs from a checkout)")
    return found


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (from /proc): a run's Ray cluster, started by its driver."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _ray_workers(pid: int) -> list[int]:
    """The redactor actors' processes below ``pid`` (their command line is ``ray::RedactWorker``)."""
    workers = []
    for child in _descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"ray::RedactWorker"):
            workers.append(child)
    return workers


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _kill_a_worker(proc: subprocess.Popen[bytes], app: EmulatorApp, rng: random.Random) -> int:
    """Once the run's actors are writing, kill one of them at a random moment; 1 if done."""
    written = sum(app.counters.writes.values())
    while proc.poll() is None:
        workers = _ray_workers(proc.pid)
        if workers and sum(app.counters.writes.values()) > written:
            time.sleep(rng.uniform(0.0, 2.0))
            workers = _ray_workers(proc.pid)
            if workers and proc.poll() is None:
                _kill([rng.choice(workers)])
                return 1
        time.sleep(0.2)
    return 0


def _put(store: Store, key: str, data: bytes, content_type: str) -> None:
    import hashlib

    etag = hashlib.md5(data).hexdigest()  # noqa: S324 - COS's ETag
    store.put(BUCKET, ObjectMeta(key, len(data), etag, crc64(data), time.time(), content_type), data)


def soak(
    objects: int = 1020,
    kills: int = 20,
    faults: str = DEFAULT_FAULTS,
    seed: int = 1,
    kill_after: tuple[float, float] = (4.0, 15.0),
    extra: tuple[str, ...] = (),
    worker_kills: int = 0,
) -> SoakResult:
    """Run the soak (see the module docstring); ``extra``: more ``redactor run`` options."""
    rng = random.Random(seed)  # noqa: S311 - kill times, not security
    store = Store()
    store.create_bucket(BUCKET)
    samples = _samples()
    sources: dict[str, bytes] = {}
    for n in range(objects):
        name, data, sidecar = samples[n % len(samples)]
        key = f"in/{n:05d}-{name}"
        _put(store, key, data, "image/png" if name.endswith(".png") else "image/jpeg")
        _put(store, key + ".ailicenserec.xml", sidecar, "application/xml")
        sources[key[3:]] = data
    setup = Counter(store.writes)
    config = EmulatorConfig(credentials={SECRET_ID: SECRET_KEY}, ci_engine="replay", faults=faults, seed=seed)
    started = time.perf_counter()
    app = EmulatorApp(store, config)
    with EmulatorServer(app) as server, tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "COS_SECRET_ID": SECRET_ID,
            "COS_SECRET_KEY": SECRET_KEY,
            "XDG_CACHE_HOME": tmp,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("REDACTOR_STAMP_KEY", None)
        reports = Path(tmp) / "reports"

        def command(n: int) -> list[str]:
            return [
                sys.executable,
                "-m",
                "redactor",
                "run",
                f"cos://{BUCKET}/in/",
                f"cos://{BUCKET}/out/",
                "--endpoint",
                server.url,
                "--region",
                "ap-guangzhou",
                "--report",
                str(reports / f"run-{n:03d}.jsonl"),
                *extra,
            ]

        runs = delivered = workers_killed = 0
        for _ in range(kills):
            proc = subprocess.Popen(command(runs), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
            runs += 1
            time.sleep(rng.uniform(*kill_after))
            if proc.poll() is None:
                below = _descendants(proc.pid)  # a Ray run's cluster dies with its driver
                proc.send_signal(signal.SIGKILL)
                _kill(below)
                delivered += 1
            proc.wait()
        last: dict[str, Any] = {}
        for final in range(MAX_FINAL_RUNS):
            report = reports / f"run-{runs:03d}.jsonl"
            proc = subprocess.Popen(command(runs), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
            for _ in range(worker_kills if final == 0 else 0):
                workers_killed += _kill_a_worker(proc, app, rng)
            proc.wait()
            runs += 1
            rows = [json.loads(line) for line in report.read_text("utf-8").splitlines() if line.strip()]
            last = {"rows": [r for r in rows if "source" in r], "summary": rows[-1].get("summary", {}) if rows else {}}
            if isinstance(last["summary"], dict) and last["summary"].get("failed") == 0:
                break
        seconds = time.perf_counter() - started
        # one more run over the finished prefix: what it asks of COS, by operation
        before = Counter(app.counters.requests)
        subprocess.run(command(runs), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # noqa: S603
        rerun = Counter(app.counters.requests)
        rerun.subtract(before)
    result = _count(store, sources, setup, last, delivered, runs, seconds)
    result.worker_kills = workers_killed
    result.ci_max_window = app.counters.ci_windows().sliding
    ops: Counter[str] = Counter()
    for name, n in rerun.items():
        ops[name.split(" ")[0]] += n
    result.rerun_requests = {k: v for k, v in sorted(ops.items()) if v}
    return result


def _count(
    store: Store,
    sources: dict[str, bytes],
    setup: Counter[tuple[str, str]],
    last: dict[str, Any],
    kills: int,
    runs: int,
    seconds: float,
) -> SoakResult:
    from redactor.runs import resolve_stamp_key

    key = resolve_stamp_key({"COS_SECRET_ID": SECRET_ID, "COS_SECRET_KEY": SECRET_KEY})
    listing = {m.key: m for m in store.keys(BUCKET)}
    outputs = {k[4:]: m for k, m in listing.items() if k.startswith("out/") and not k.startswith("out/.redactor/")}
    quarantine = {k[len("out.quarantine/") :] for k in listing if k.startswith("out.quarantine/")}
    unmasked = 0
    for rel, meta in outputs.items():
        got = store.get(BUCKET, f"out/{rel}")
        head = ObjectHead(
            {k[len("x-cos-meta-") :]: v for k, v in meta.headers.items() if k.startswith("x-cos-meta-")}, meta.etag
        )
        if got is None or got[1] == sources.get(rel) or not genuine(head, key):
            unmasked += 1
    twice = sum(1 for place, n in store.writes.items() if n - setup.get(place, 0) > 1)
    lost = sum(1 for rel in sources if rel not in outputs and rel not in quarantine)
    rows = last.get("rows", [])
    names = [r["source"] for r in rows]
    failed = int(last.get("summary", {}).get("failed", -1)) if isinstance(last.get("summary"), dict) else -1
    decisions = {}
    for rel in sorted(sources):
        got = store.get(BUCKET, f"out/{rel}") if rel in outputs else None
        if got is not None:
            decisions[rel] = f"redacted {hashlib.sha256(got[1]).hexdigest()}"
        else:
            decisions[rel] = "quarantined" if rel in quarantine else "lost"
    return SoakResult(
        objects=len(sources),
        kills=kills,
        runs=runs,
        seconds=seconds,
        redacted=len(outputs),
        quarantined=sum(1 for k in quarantine if not k.endswith(".reason.json")),
        staging_left=sum(1 for k in listing if k.startswith("redactor-staging/")),
        unmasked_outputs=unmasked,
        written_twice=twice,
        lost=lost,
        report_rows=len(names),
        report_unique=len(set(names)),
        entries=2 * len(sources),
        failed_last=failed,
        decisions=decisions,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m redactor.soak [--objects N] [--kills K] [--faults SPEC] [--seed S] [-- RUN OPTIONS]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m redactor.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1020)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--faults", default=DEFAULT_FAULTS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worker-kills", type=int, default=0, help="Ray workers to kill in the first final run")
    parser.add_argument("--decisions", type=Path, help="write each source's outcome here (JSON)")
    parser.add_argument("run_options", nargs="*", help="more `redactor run` options, after --")
    args = parser.parse_args(argv)
    result = soak(
        args.objects, args.kills, args.faults, args.seed, extra=tuple(args.run_options), worker_kills=args.worker_kills
    )
    print("\n".join(result.lines()))
    if args.decisions is not None:
        args.decisions.write_text(json.dumps(result.decisions, indent=0, sort_keys=True) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
