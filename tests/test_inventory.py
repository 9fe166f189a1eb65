"""``redactor run --from-inventory``: SRC's keys from a COS inventory report (manifest.json and
gzip'd CSV files, stored in the emulator like any object) instead of listing, with the same
decisions, stamps and idempotency as a listing-driven run; a report that cannot be trusted
stops the run with one line, never a traceback."""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redactor.cli import app
from redactor.cos.client import CosClient
from redactor.inventory import make_inventory, parse_manifest

from .conftest import SAMPLES, emulated_cos

BUCKET = "inventory-1250000000"
SECRET_ID = "AKIDinventory00000000000000000000000"
SECRET_KEY = "inventory-secret-key-000000000000"
REPORT = "inventory/inventory-1250000000/daily/20260101/"


@pytest.fixture
def cos(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with emulated_cos(monkeypatch, BUCKET, SECRET_ID, SECRET_KEY) as (client, emulator):
        for path in SAMPLES.iterdir():
            if path.is_file() and path.suffix != ".md":
                ctype = mimetypes.guess_type(path.name)[0]
                client.put_object(BUCKET, f"in/{path.name}", path.read_bytes(), content_type=ctype)
        yield client, emulator


def _write_inventory(client: CosClient, rows: list[tuple[str, int, str]] | None = None, **options) -> str:
    """An inventory of ``in/`` (or of ``rows``) below :data:`REPORT`; its manifest's URL."""
    if rows is None:
        rows = [(o.key, o.size, o.etag) for o in client.iter_objects(BUCKET, "in/")]
    for key, body in make_inventory(rows, BUCKET, REPORT, per_file=7, **options).items():
        client.put_object(BUCKET, key, body)
    return f"cos://{BUCKET}/{REPORT}manifest.json"


def _run(tmp_path: Path, name: str, *args: str) -> tuple[int, str, list[dict]]:
    report = tmp_path / f"{name}.jsonl"
    result = CliRunner().invoke(app, ["run", *args, "--engine", "replay", "--verify", "off", "--report", str(report)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = [json.loads(x) for x in report.read_text().splitlines()] if report.exists() else []
    return result.exit_code, result.output, lines


def _decisions(lines: list[dict]) -> dict[str, tuple[str, str | None]]:
    rows = [r for r in lines if "source" in r]
    assert len(rows) == len({r["source"] for r in rows})
    return {r["source"]: (r["decision"], r.get("output_sha256")) for r in rows}


def test_an_inventory_run_decides_as_a_listing_run_and_reruns_write_nothing(cos, tmp_path):
    client, emulator = cos
    manifest = _write_inventory(client)
    src = f"cos://{BUCKET}/in/"
    listed_code, _, listed = _run(tmp_path, "listed", src, f"cos://{BUCKET}/listed/")
    code, output, lines = _run(tmp_path, "inv", src, f"cos://{BUCKET}/inv/", "--from-inventory", manifest)
    assert code == listed_code, output
    assert _decisions(lines) == _decisions(listed)  # every entry, sidecars set aside the same way
    list_requests = emulator.counters.requests.get("list 200", 0)
    before = dict(emulator.counters.writes)
    code, _, again = _run(tmp_path, "inv-again", src, f"cos://{BUCKET}/inv/", "--from-inventory", manifest)
    assert dict(emulator.counters.writes) == before  # no PUT: the stamps are there
    assert {d for d, _ in _decisions(again).values()} == {"skipped"}
    # SRC is never listed (DST and the quarantine are, once each, to learn what they hold)
    assert emulator.counters.requests.get("list 200", 0) - list_requests <= 2


def test_keys_that_escape_are_refused_as_listed_keys_are(cos, tmp_path):
    client, _ = cos
    rows = [("in/../secret.jpg", 1, "0" * 32), ("in/a//b.jpg", 1, "0" * 32), ("in/idcard-front-scan-0001.png", 1, "x")]
    manifest = _write_inventory(client, rows, compress=False)
    _, _, lines = _run(tmp_path, "escape", f"cos://{BUCKET}/in/", f"cos://{BUCKET}/esc/", "--from-inventory", manifest)
    decisions = _decisions(lines)
    assert decisions["../secret.jpg"][0] == decisions["a//b.jpg"][0] == "failed"
    assert "unsafe" in json.dumps([r for r in lines if r.get("source") == "../secret.jpg"]).lower()
    assert decisions["idcard-front-scan-0001.png"][0] == "redacted"
    assert not [o.key for o in client.iter_objects(BUCKET, "") if "secret" in o.key]


def _manifest(client: CosClient) -> dict:
    return json.loads(client.get_object(BUCKET, f"{REPORT}manifest.json"))


def _put_manifest(client: CosClient, doc: dict | bytes) -> None:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    client.put_object(BUCKET, f"{REPORT}manifest.json", body)
    client.delete_object(BUCKET, f"{REPORT}manifest.checksum")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("not json", "not JSON"),
        ("checksum", "manifest.checksum"),
        ("no files", "names no files"),
        ("parquet", "only CSV"),
        ("missing file", "missing"),
        ("md5", "MD5"),
        ("size", "bytes"),
        ("other bucket", "bucket"),
    ],
)
def test_an_inventory_that_cannot_be_trusted_stops_the_run_before_it_starts(cos, tmp_path, damage, message):
    client, emulator = cos
    manifest = _write_inventory(client)
    doc = _manifest(client)
    if damage == "not json":
        _put_manifest(client, b"{not json")
    elif damage == "checksum":
        client.put_object(BUCKET, f"{REPORT}manifest.json", json.dumps({**doc, "extra": 1}).encode())
    elif damage == "no files":
        _put_manifest(client, {**doc, "files": []})
    elif damage == "parquet":
        _put_manifest(client, {**doc, "fileFormat": "Parquet"})
    elif damage == "missing file":
        client.delete_object(BUCKET, doc["files"][1]["key"])
    elif damage == "md5":
        doc["files"][0]["md5checksum"] = "0" * 32
        _put_manifest(client, doc)
    elif damage == "size":
        doc["files"][0]["size"] += 1
        _put_manifest(client, doc)
    else:
        _put_manifest(client, {**doc, "sourceBucket": "elsewhere-1250000000"})
    before = dict(emulator.counters.writes)
    src, dst = f"cos://{BUCKET}/in/", f"cos://{BUCKET}/bad/"
    code, output, lines = _run(tmp_path, "bad", src, dst, "--from-inventory", manifest)
    assert code == 2 and message in output and "Traceback" not in output, output
    assert lines == [] and not [k for k in set(emulator.counters.writes) - set(before) if k[1].startswith("bad")]


@pytest.mark.parametrize("damage", ["outside", "garbled", "short row"])
def test_a_bad_row_stops_the_run_cleanly(cos, tmp_path, damage):
    client, _ = cos
    rows = [("in/idcard-front-scan-0001.png", 1, "x")]
    if damage == "outside":
        rows.append(("out/elsewhere.jpg", 1, "x"))
    manifest = _write_inventory(client, rows)
    if damage != "outside":
        doc = _manifest(client)
        body = b"\x1f\x8bnot gzip at all" if damage == "garbled" else gzip.compress(f"{BUCKET},in%2Fa.jpg\n".encode())
        client.put_object(BUCKET, doc["files"][0]["key"], body)
        doc["files"][0].update(size=len(body), md5checksum=hashlib.md5(body).hexdigest())
        _put_manifest(client, doc)
    src, dst = f"cos://{BUCKET}/in/", f"cos://{BUCKET}/row/"
    code, output, lines = _run(tmp_path, "row", src, dst, "--from-inventory", manifest)
    assert code == 1 and "stopped early" in output and "inventory" in output and "Traceback" not in output, output
    (summary,) = [r["summary"] for r in lines if "summary" in r]
    assert "inventory" in summary["aborted"]
    if damage == "outside":  # what came before the bad row was done, and reported
        assert _decisions(lines)["idcard-front-scan-0001.png"][0] == "redacted"


def test_manifest_fields_as_cos_writes_them():
    doc = {
        "sourceBucket": BUCKET,
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass",
        "files": [{"key": "r/data/1.csv.gz", "size": 10, "MD5checksum": "A" * 32}],
    }
    got = parse_manifest(json.dumps(doc).encode(), BUCKET)
    assert got.column("etag") == 4 and got.files[0].md5 == "a" * 32 and got.files[0].size == 10
