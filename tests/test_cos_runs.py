"""``redactor run`` over object storage, against the emulator on loopback: COS to COS with
AILicenseRec on the stored objects, folder to COS for archiving, idempotent reruns."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from redactor.cli import app
from redactor.cos.client import CosClient
from redactor.evaluation import find_images

from .conftest import SAMPLES, count_puts, emulated_cos

BUCKET = "archive-1250000000"
SECRET_ID = "AKIDcosruns000000000000000000000000"
SECRET_KEY = "cos-runs-secret-key-0000000000000"


@pytest.fixture
def cos(monkeypatch):
    with emulated_cos(monkeypatch, BUCKET, SECRET_ID, SECRET_KEY) as (client, _):
        yield client


def _upload_samples(client: CosClient, prefix: str) -> None:
    import mimetypes

    for path in SAMPLES.iterdir():
        if path.is_file() and path.suffix != ".md":
            ctype = "image/x-card-scan" if path.name == "license-scan-0007.png" else mimetypes.guess_type(path.name)[0]
            client.put_object(BUCKET, prefix + path.name, path.read_bytes(), content_type=ctype)


def _keys(client: CosClient, prefix: str) -> set[str]:
    return {o.key[len(prefix) :] for o in client.iter_objects(BUCKET, prefix)}


def test_cos_to_cos_redacts_stamps_quarantines_and_resumes_without_puts(cos, monkeypatch, tmp_path):
    _upload_samples(cos, "in/")
    monkeypatch.chdir(tmp_path)  # the default report goes to the working directory
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runner = CliRunner()
    first = runner.invoke(app, ["run", f"cos://{BUCKET}/in/", f"cos://{BUCKET}/out/"])
    assert first.exit_code == 1, first.output
    cards = {p.name for p in find_images(SAMPLES)}
    quarantined = {"idcard-back-photo-0011.jpg", "noncard-0012.jpg"}
    assert _keys(cos, "out/") == cards - quarantined
    assert {k for k in _keys(cos, "out.quarantine/") if not k.endswith(".json")} == quarantined
    head = cos.head_object(BUCKET, "out/license-scan-0007.png")
    assert head["metadata"]["redactor-policy"] and head["metadata"]["redactor-source-etag"]
    assert head["content_type"] == "image/x-card-scan"  # the original Content-Type is kept
    assert not _keys(cos, "redactor-staging/")  # stored objects were recognised in place
    assert list(tmp_path.glob("redactor-report-*.jsonl"))
    (checkpoint,) = (tmp_path / "cache" / "redactor" / "checkpoints").glob("*.jsonl")
    assert len(checkpoint.read_text().splitlines()) == 12  # one line per image handled

    puts = count_puts(monkeypatch)
    second = runner.invoke(app, ["run", f"cos://{BUCKET}/in/", f"cos://{BUCKET}/out/"])
    assert [k for k in puts if k.startswith("out/")] == []
    assert "12 unchanged (2 of them in quarantine)" in second.output  # nothing redone, each counted once


def test_folder_to_cos_for_archiving(cos, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["run", str(SAMPLES), f"cos://{BUCKET}/archive/", "--engine", "replay", "--report", str(tmp_path / "r.jsonl")],
    )
    assert result.exit_code == 1, result.output
    assert len(_keys(cos, "archive/")) == 10


def test_overlapping_prefixes_are_refused(cos):
    result = CliRunner().invoke(app, ["run", f"cos://{BUCKET}/in/", f"cos://{BUCKET}/in/out/"])
    assert result.exit_code == 2 and "overlap" in result.output


def test_report_can_be_uploaded_next_to_the_outputs(cos, tmp_path):
    report = tmp_path / "run.jsonl"
    result = CliRunner().invoke(
        app,
        ["run", str(SAMPLES), f"cos://{BUCKET}/up/", "-e", "replay", "--report", str(report), "--upload-report"],
    )
    assert result.exit_code == 1, result.output
    stored = cos.get_object(BUCKET, "up/.redactor/reports/run.jsonl")
    assert stored == report.read_bytes() and b'"summary"' in stored


def test_in_place_replaces_only_verified_masked_copies(cos, monkeypatch, tmp_path):
    names = ["idcard-front-scan-0001.png", "license-scan-0007.png", "noncard-0012.jpg"]
    originals = {}
    for name in names:
        originals[name] = (SAMPLES / name).read_bytes()
        cos.put_object(BUCKET, f"live/{name}", originals[name])
        cos.put_object(BUCKET, f"live/{name}.ailicenserec.xml", (SAMPLES / f"{name}.ailicenserec.xml").read_bytes())
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    refused = runner.invoke(app, ["run", f"cos://{BUCKET}/live/", f"cos://{BUCKET}/live/", "-e", "replay"])
    assert refused.exit_code == 2
    first = runner.invoke(app, ["run", f"cos://{BUCKET}/live/", f"cos://{BUCKET}/live/", "-e", "replay", "--in-place"])
    assert first.exit_code == 1, first.output  # the non-card stays as it was, and is quarantined
    for name in names[:2]:
        head = cos.head_object(BUCKET, f"live/{name}")
        assert head["metadata"]["redactor-policy"]
        assert cos.get_object(BUCKET, f"live/{name}") != originals[name]
    assert cos.get_object(BUCKET, "live/noncard-0012.jpg") == originals["noncard-0012.jpg"]
    assert cos.get_object(BUCKET, "live.quarantine/noncard-0012.jpg") == originals["noncard-0012.jpg"]
    assert not _keys(cos, "live/.redactor/")  # no scratch copies

    puts = count_puts(monkeypatch)
    again = runner.invoke(app, ["run", f"cos://{BUCKET}/live/", f"cos://{BUCKET}/live/", "-e", "replay", "--in-place"])
    assert "3 unchanged (1 of them in quarantine)" in again.output  # quarantine is write-once too
    assert not puts


def test_report_only_quarantine_copies_nothing(tmp_path):
    report = tmp_path / "r.jsonl"
    result = CliRunner().invoke(
        app,
        ["run", str(SAMPLES), str(tmp_path / "out"), "-e", "replay", "--quarantine", "none", "--report", str(report)],
    )
    assert result.exit_code == 1, result.output
    assert not (tmp_path / "out.quarantine").exists() and not (tmp_path / "none").exists()
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    quarantined = [r for r in lines if r.get("decision") == "quarantined"]
    assert len(quarantined) == 2 and all(r["quarantine"] is None for r in quarantined)
