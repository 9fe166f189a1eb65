"""``redactor run --executor ray`` on a local Ray cluster (2 CPUs) against the emulator on
loopback: the same decisions as a local run, every key reported once, reruns that write
nothing, and one AILicenseRec rate for all the actors."""

from __future__ import annotations

import json
import mimetypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redactor.cli import app
from redactor.cos.client import CosClient
from redactor.cos.config import CosConfig, Credentials
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store
from redactor.inventory import make_inventory
from redactor.soak import _kill, _ray_workers

from .conftest import SAMPLES

ray = pytest.importorskip("ray")

BUCKET = "cluster-1250000000"
SECRET_ID = "AKIDrayruns0000000000000000000000000"
SECRET_KEY = "ray-runs-secret-key-00000000000000"
#: Copies of the samples under the source prefix: a few dozen images (and their sidecars).
COPIES = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The emulator, a client of it, and a local Ray cluster started after the environment
    is set: its workers inherit the credentials, as on any local cluster."""
    store = Store()
    store.create_bucket(BUCKET)
    emulator = EmulatorApp(store, EmulatorConfig(credentials={SECRET_ID: SECRET_KEY}, ci_engine="replay"))
    with pytest.MonkeyPatch.context() as env, EmulatorServer(emulator) as server:
        env.setenv("COS_SECRET_ID", SECRET_ID)
        env.setenv("COS_SECRET_KEY", SECRET_KEY)
        env.setenv("COS_REGION", "ap-guangzhou")
        env.setenv("COS_ENDPOINT", server.url)
        env.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        client = CosClient(CosConfig(region="ap-guangzhou", endpoint=server.url), Credentials(SECRET_ID, SECRET_KEY))
        for copy in range(COPIES):
            for path in SAMPLES.iterdir():
                if path.is_file() and path.suffix != ".md":
                    ctype = mimetypes.guess_type(path.name)[0]
                    client.put_object(BUCKET, f"in/{copy}/{path.name}", path.read_bytes(), content_type=ctype)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            with client:
                yield client, emulator
        finally:
            ray.shutdown()


def _run(report: Path, *args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(app, ["run", *args, "--report", str(report)])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, [json.loads(line) for line in report.read_text().splitlines()]


def _rows(lines: list[dict]) -> dict[str, dict]:
    rows = [r for r in lines if "source" in r]
    assert len(rows) == len({r["source"] for r in rows})  # every key once
    return {r["source"]: r for r in rows}


def _summary(lines: list[dict], keep_seconds: bool = False) -> dict:
    (summary,) = [r["summary"] for r in lines if "summary" in r]
    return {k: v for k, v in summary.items() if keep_seconds or k != "seconds"}


def test_ray_run_decides_as_a_local_run_and_a_rerun_writes_nothing(cluster, tmp_path):
    client, emulator = cluster
    listed = {o.key[len("in/") :] for o in client.iter_objects(BUCKET, "in/")}
    common = ["--engine", "replay", "--verify", "off"]
    src = f"cos://{BUCKET}/in/"
    local_code, local = _run(tmp_path / "local.jsonl", src, f"cos://{BUCKET}/local/", *common)
    ray_code, on_ray = _run(tmp_path / "ray.jsonl", src, f"cos://{BUCKET}/ray/", *common, "--executor", "ray")

    local_rows, ray_rows = _rows(local), _rows(on_ray)
    assert set(ray_rows) == listed  # every entry below SRC, sidecars included
    assert {k: r["decision"] for k, r in ray_rows.items()} == {k: r["decision"] for k, r in local_rows.items()}
    assert {k: r.get("output_sha256") for k, r in ray_rows.items()} == {
        k: r.get("output_sha256") for k, r in local_rows.items()
    }
    assert _summary(on_ray) == _summary(local) and ray_code == local_code
    assert _summary(on_ray)["redacted"] == 10 * COPIES
    written = {o.key[len("ray/") :] for o in client.iter_objects(BUCKET, "ray/")}
    assert written == {k for k, r in ray_rows.items() if r["decision"] == "redacted"}

    before = dict(emulator.counters.writes)
    _, again = _run(tmp_path / "again.jsonl", src, f"cos://{BUCKET}/ray/", *common, "--executor", "ray")
    assert dict(emulator.counters.writes) == before  # no PUT: outputs, quarantine and reasons are there
    _, local_again = _run(tmp_path / "local-again.jsonl", src, f"cos://{BUCKET}/local/", *common)
    assert _summary(again) == _summary(local_again)
    assert _summary(again)["skipped_unchanged"] == 12 * COPIES


@pytest.mark.parametrize("executor", ["ray", "local"])
def test_no_1s_window_of_ailicenserec_calls_above_the_rate(cluster, tmp_path, executor):
    """The rate is a cap per 1-second window, as the service counts it (the emulator's
    arrival times, every window [t, t + 1 s)): the actors' calls together, or a local run's
    threads, never crowd one window above --ci-rate (+5%). More images than the rate
    allows are in flight, so the limiter, not the work, sets the pace."""
    _, emulator = cluster
    rate = 20.0
    since = time.monotonic()  # the emulator runs in this process: its clock
    calls = sum(emulator.counters.ci.values())
    _, lines = _run(
        tmp_path / "rate.jsonl",
        f"cos://{BUCKET}/in/",
        f"cos://{BUCKET}/rated-{executor}/",
        "--engine",
        "cos",
        "--verify",
        "off",
        "--ci-rate",
        str(rate),
        "--executor",
        executor,
    )
    made = sum(emulator.counters.ci.values()) - calls
    summary = _summary(lines, keep_seconds=True)
    windows = emulator.counters.ci_windows(since)
    assert made == summary["service_calls"] == windows.calls >= 10 * COPIES
    assert windows.sliding <= rate * 1.05, windows
    # One pace for the whole run (two actors each with a pace of their own would take half this).
    assert summary["seconds"] >= (made - 1) / rate


def test_folder_places_on_ray_give_a_local_runs_outputs(cluster, tmp_path, monkeypatch):
    # relative folders: the workers get them as absolute paths (their working folder differs)
    monkeypatch.chdir(tmp_path)
    common = ["--engine", "replay", "--verify", "off"]
    _, local = _run(tmp_path / "local.jsonl", str(SAMPLES), "local", *common)
    _, on_ray = _run(tmp_path / "ray.jsonl", str(SAMPLES), "ray", *common, "--executor", "ray")
    assert {k: (r["decision"], r.get("output_sha256")) for k, r in _rows(on_ray).items()} == {
        k: (r["decision"], r.get("output_sha256")) for k, r in _rows(local).items()
    }
    assert _summary(on_ray) == _summary(local) and _summary(on_ray)["redacted"] == 10

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and ".redactor" not in p.parts
        }

    assert files(tmp_path / "ray") == files(tmp_path / "local")
    assert files(tmp_path / "ray.quarantine").keys() == files(tmp_path / "local.quarantine").keys()
    _, again = _run(tmp_path / "again.jsonl", str(SAMPLES), "ray", *common, "--executor", "ray")
    assert _summary(again)["skipped_unchanged"] == 12


def test_ray_options_need_the_ray_executor(cluster, tmp_path):
    result = CliRunner().invoke(app, ["run", str(SAMPLES), str(tmp_path / "out"), "--ray-address", "auto"])
    assert result.exit_code == 2 and "need --executor ray" in result.output


def test_ray_run_from_an_inventory_decides_as_a_listing_run(cluster, tmp_path):
    client, _ = cluster
    rows = [(o.key, o.size, o.etag) for o in client.iter_objects(BUCKET, "in/0/")]
    for key, body in make_inventory(rows, BUCKET, "inventory/in-0/", per_file=5).items():
        client.put_object(BUCKET, key, body)
    common = ["--engine", "replay", "--verify", "off"]
    src = f"cos://{BUCKET}/in/0/"
    _, listed = _run(tmp_path / "listed.jsonl", src, f"cos://{BUCKET}/inv-local/", *common)
    manifest = f"cos://{BUCKET}/inventory/in-0/manifest.json"
    ray_options = ["--executor", "ray", "--from-inventory", manifest, "--upload-report"]
    _, on_ray = _run(tmp_path / "inv.jsonl", src, f"cos://{BUCKET}/inv-ray/", *common, *ray_options)
    assert {k: r["decision"] for k, r in _rows(on_ray).items()} == {k: r["decision"] for k, r in _rows(listed).items()}
    assert _summary(on_ray) == _summary(listed)
    # the actors' rows, gathered by the driver into one report, uploaded as a local run's is
    uploaded = client.get_object(BUCKET, "inv-ray/.redactor/reports/inv.jsonl")
    assert uploaded == (tmp_path / "inv.jsonl").read_bytes()


def _written(emulator, prefix: str) -> Counter:
    return Counter({k: n for (b, k), n in emulator.store.writes.items() if b == BUCKET and k.startswith(prefix)})


def _wait_for_writes(emulator, prefix: str, count: int, alive) -> None:
    deadline = time.monotonic() + 60
    while sum(_written(emulator, prefix).values()) < count and alive() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_killed_worker_is_replaced_and_nothing_is_written_twice(cluster, tmp_path):
    """SIGKILL one actor's process mid-run: Ray restarts it and retries its batches; the
    run completes with every key once, nothing failed, and no output written twice."""
    client, emulator = cluster
    entries = sum(1 for _ in client.iter_objects(BUCKET, "in/"))
    args = ["--engine", "cos", "--verify", "off", "--ci-rate", "20", "--executor", "ray", "--ray-actors", "1"]
    result: dict[str, tuple[int, list[dict]]] = {}
    src, dst = f"cos://{BUCKET}/in/", f"cos://{BUCKET}/kw/"
    run = threading.Thread(target=lambda: result.update(run=_run(tmp_path / "k.jsonl", src, dst, *args)))
    run.start()
    _wait_for_writes(emulator, "kw/", 3, run.is_alive)
    workers = _ray_workers(os.getpid())  # this process started the cluster: its actors are below it
    assert workers and run.is_alive()
    _kill(workers[:1])
    run.join(timeout=120)
    _, lines = result["run"]
    rows = _rows(lines)
    assert _summary(lines)["failed"] == 0 and len(rows) == entries
    written = _written(emulator, "kw/")
    assert max(written.values()) == 1  # outputs, quarantined copies and reasons: once each
    assert {k[len("kw/") :] for k in written} == {k for k, r in rows.items() if r["decision"] == "redacted"}


def test_a_killed_driver_resumes_on_rerun_without_a_put_for_what_was_finished(cluster, tmp_path):
    """SIGKILL the driver (its own process, joined to the cluster) mid-run; a rerun
    completes, and PUTs nothing the killed run had finished."""
    client, emulator = cluster
    entries = sum(1 for _ in client.iter_objects(BUCKET, "in/"))
    src, dst = f"cos://{BUCKET}/in/", f"cos://{BUCKET}/kd/"
    args = ["--engine", "cos", "--verify", "off", "--ci-rate", "20", "--executor", "ray", "--ray-actors", "1"]
    address = ray.get_runtime_context().gcs_address
    command = [sys.executable, "-m", "redactor", "run", src, dst, *args, "--ray-address", address]
    driver = subprocess.Popen([*command, "--report", str(tmp_path / "killed.jsonl")])
    try:
        _wait_for_writes(emulator, "kd/", 3, lambda: driver.poll() is None)
        assert driver.poll() is None, "the run ended before it could be killed"
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    time.sleep(1.0)  # what the dead driver's actors had in flight lands, or not
    finished = _written(emulator, "kd/")
    assert finished and max(finished.values()) == 1
    _, lines = _run(tmp_path / "rerun.jsonl", src, dst, *args)
    after = _written(emulator, "kd/")
    assert max(after.values()) == 1  # no PUT for what the killed run had written
    assert _summary(lines)["failed"] == 0 and len(_rows(lines)) == entries
    assert set(after) - set(finished)  # the rerun did the rest
