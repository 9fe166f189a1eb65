"""The pipeline with in-memory twins: routing, resume and failure handling."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from redactor.core.fields import ID_CARD_FIELDS, CardType
from redactor.core.policy import load_policy
from redactor.core.results import Detection, LocatedField, Polygon
from redactor.errors import LocatorError, StorageError
from redactor.locators import StaticLocator
from redactor.pipeline import BatchRunner, RunOptions, redact_image
from redactor.storage import MemoryStorage

from .conftest import ID_CARD_BOXES, TEST_STAMP_KEY

W, H = 500, 316
POLICY = load_policy("version: 1\nfields: {gender: keep, ethnicity: keep}\nportrait: box\n", "p.yaml")


def png(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    b = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(b, "PNG")
    return b.getvalue()


def card() -> Detection:
    fields = tuple(
        LocatedField.named(
            fid,
            95,
            Polygon.rect(*(v * s for v, s in zip(ID_CARD_BOXES[fid], (W, H, W, H)))),
            CardType.ID_CARD,
            detected_text=f"CANARY-{fid}",
        )
        for fid in (*ID_CARD_FIELDS, "portrait")
    )
    return Detection(1, fields, CardType.ID_CARD)


def run(source, dest, quarantine, locator, **kw):
    report = io.StringIO()
    runner = BatchRunner(
        source,
        dest,
        quarantine,
        RunOptions(stamp_key=TEST_STAMP_KEY, policy=POLICY, locator=locator, **kw),
        report=report,
    )
    summary = runner.run()
    lines = [json.loads(line) for line in report.getvalue().splitlines()]
    return summary, lines, report.getvalue()


def test_redacted_go_to_dest_doubtful_to_quarantine_only():
    source = MemoryStorage({"a/good.png": png(1), "b/back.png": png(2), "notes.txt": b"hello", "c/bad.jpg": b"garbage"})
    answers = {"good.png": card(), "back.png": Detection(0), "bad.jpg": card()}
    dest, quarantine = MemoryStorage(), MemoryStorage()
    summary, lines, text = run(source, dest, quarantine, StaticLocator(answers))
    assert sorted(dest.objects) == ["a/good.png"]
    assert sorted(k for k in quarantine.objects if not k.endswith(".json")) == ["b/back.png", "c/bad.jpg"]
    assert quarantine.objects["b/back.png"] == source.objects["b/back.png"]  # kept intact for review
    assert (summary.redacted, summary.quarantined, summary.ignored) == (1, 2, 1)
    assert not summary.all_clear
    by_source = {line.get("source"): line for line in lines}
    assert by_source["b/back.png"]["reasons"] == ["no card found (Status 0)"]
    assert "unreadable image" in by_source["c/bad.jpg"]["reasons"][0]
    assert by_source["notes.txt"]["decision"] == "skipped"
    assert "CANARY" not in text  # DetectedText never reaches the report
    out = Image.open(io.BytesIO(dest.objects["a/good.png"]))
    assert out.size == (W, H)
    reason = json.loads(quarantine.objects["b/back.png.reason.json"])
    assert reason["reasons"] == ["no card found (Status 0)"]


def test_locator_errors_and_crashes_quarantine():
    def boom(request):
        if request.name == "x.png":
            raise LocatorError("service said no")
        raise RuntimeError("bug")

    source = MemoryStorage({"x.png": png(), "y.png": png()})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    summary, _lines, _ = run(source, dest, quarantine, StaticLocator(boom))
    assert summary.quarantined == 2 and not dest.objects


def test_dry_run_writes_nothing():
    source = MemoryStorage({"a.png": png()})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    summary, lines, _ = run(source, dest, quarantine, StaticLocator(card()), dry_run=True)
    assert summary.redacted == 1 and not dest.objects and not quarantine.objects
    assert lines[0]["dry_run"] is True


def test_resume_skips_unchanged_and_redoes_changed(tmp_path):
    source = MemoryStorage({"a.png": png(1), "b.png": png(2)})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    locator = StaticLocator(card())
    opts = RunOptions(stamp_key=TEST_STAMP_KEY, policy=POLICY, locator=locator)
    manifest = tmp_path / "manifest.jsonl"
    BatchRunner(source, dest, quarantine, opts, manifest_path=manifest).run()
    assert len(dest.writes) == 2
    summary = BatchRunner(source, dest, quarantine, opts, manifest_path=manifest).run()
    assert summary.skipped_unchanged == 2 and len(dest.writes) == 2 and summary.all_clear
    source.write("b.png", png(3))
    summary = BatchRunner(source, dest, quarantine, opts, manifest_path=manifest).run()
    assert summary.redacted == 1 and dest.writes[-1] == "b.png"
    # a policy change redoes everything
    other = RunOptions(stamp_key=TEST_STAMP_KEY, policy=load_policy("version: 1\nportrait: box\n"), locator=locator)
    summary = BatchRunner(source, dest, quarantine, other, manifest_path=manifest).run()
    assert summary.redacted == 2


def test_foreign_output_is_not_overwritten_without_flag(tmp_path):
    source = MemoryStorage({"a.png": png()})
    dest = MemoryStorage({"a.png": b"someone else's file"})
    summary, _lines, _ = run(source, dest, MemoryStorage(), StaticLocator(card()))
    assert summary.failed == 1 and dest.objects["a.png"] == b"someone else's file"
    summary, _lines, _ = run(source, dest, MemoryStorage(), StaticLocator(card()), overwrite=True)
    assert summary.redacted == 1 and dest.objects["a.png"] != b"someone else's file"


def test_stale_output_removed_when_image_is_now_quarantined(tmp_path):
    source = MemoryStorage({"a.png": png()})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    manifest = tmp_path / "m.jsonl"
    BatchRunner(
        source,
        dest,
        quarantine,
        RunOptions(stamp_key=TEST_STAMP_KEY, policy=POLICY, locator=StaticLocator(card())),
        manifest_path=manifest,
    ).run()
    assert "a.png" in dest.objects
    strict = load_policy("version: 1\ndefaults: {min_score: 99}\nfields: {name: keep}\n")
    partial = Detection(1, card().fields[1:], CardType.ID_CARD)  # name missing now
    BatchRunner(
        source,
        dest,
        quarantine,
        RunOptions(stamp_key=TEST_STAMP_KEY, policy=strict, locator=StaticLocator(partial)),
        manifest_path=manifest,
    ).run()
    assert "a.png" not in dest.objects and "a.png" in quarantine.objects


def test_redact_image_never_returns_bytes_when_not_redacted():
    outcome = redact_image(png(), policy=POLICY, locator=StaticLocator(Detection(0)))
    assert outcome.data is None and outcome.decision.value == "quarantined"


# --------------------------------------------------------------------------- object stores, in memory


def test_object_store_outputs_carry_the_stamp_that_makes_a_rerun_skip_them():
    """No checkpoint at all: the stamp on each output is what a rerun goes by."""
    source = MemoryStorage({"a.png": png(1), "b.png": png(2)})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    first, _, _ = run(source, dest, quarantine, StaticLocator(card()))
    assert first.redacted == 2
    stamp = dest.stat("a.png")
    assert stamp is not None and stamp["redactor-policy"] == POLICY.sha256 and stamp["redactor-verify"] == "off"
    again, lines, _ = run(source, dest, quarantine, StaticLocator(card()))
    assert again.redacted == 0 and again.skipped_unchanged == 2
    assert all("already holds this source redacted" in r["reasons"][0] for r in lines if r.get("source"))
    assert sorted(dest.writes) == ["a.png", "b.png"]  # each output written once


def test_object_store_replaces_its_own_older_output_but_never_a_foreign_object():
    source = MemoryStorage({"a.png": png(1), "b.png": png(2)})
    dest = MemoryStorage({"b.png": b"someone else's object"})
    run(source, dest, MemoryStorage(), StaticLocator(card()))
    assert dest.read("b.png") == b"someone else's object" and dest.writes == ["a.png"]
    stricter = load_policy("version: 1\nportrait: box\n", "strict.yaml")  # another policy: another stamp
    report = io.StringIO()
    options = RunOptions(stamp_key=TEST_STAMP_KEY, policy=stricter, locator=StaticLocator(card()))
    summary = BatchRunner(source, dest, MemoryStorage(), options, report=report).run()
    assert dest.writes == ["a.png", "a.png"] and dest.stat("a.png")["redactor-policy"] == stricter.sha256
    assert summary.failed == 1 and dest.read("b.png") == b"someone else's object"


def test_object_store_writes_once():
    store = MemoryStorage()
    store.write("k", b"one", metadata={"redactor-policy": "p"}, replace=False)
    store.write("k", b"one", metadata={"redactor-policy": "p"}, replace=False)  # a retry that had landed
    assert store.writes == ["k"]
    with pytest.raises(StorageError):
        store.write("k", b"two", metadata={"redactor-policy": "q"}, replace=False)
    assert store.read("k") == b"one"


def test_in_place_on_an_object_store_replaces_each_original_once():
    original = png(1)
    bucket = MemoryStorage({"a.png": original})
    summary, _, _ = run(bucket, bucket, MemoryStorage(), StaticLocator(card()), in_place=True)
    assert summary.redacted == 1
    masked = bucket.read("a.png")
    assert masked != original and bucket.stat("a.png")["redactor-policy"] == POLICY.sha256
    assert sorted(bucket.objects) == ["a.png"] and bucket.writes == ["a.png"]  # one PUT, no scratch copy
    again, _lines, _ = run(bucket, bucket, MemoryStorage(), StaticLocator(card()), in_place=True)
    assert again.redacted == 0 and bucket.read("a.png") == masked  # never masked twice


def test_a_rerun_over_a_finished_prefix_reads_no_source_and_writes_nothing(tmp_path):
    """The listings decide: with the checkpoint, no request per object at all; without it
    (another machine), one HEAD per output, still no source read and no write."""
    source = MemoryStorage({f"{i}.png": png(i) for i in range(4)})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    checkpoint = tmp_path / "checkpoint.jsonl"
    options = RunOptions(stamp_key=TEST_STAMP_KEY, policy=POLICY, locator=StaticLocator(card()))
    BatchRunner(source, dest, quarantine, options, manifest_path=checkpoint).run()
    assert len(source.reads) == 4 and len(dest.writes) == 4
    source.reads.clear()
    for manifest in (checkpoint, None):
        again = BatchRunner(source, dest, quarantine, options, manifest_path=manifest).run()
        assert again.skipped_unchanged == 4 and again.redacted == 0
        assert source.reads == [] and len(dest.writes) == 4 and quarantine.writes == []


def test_an_unmasked_object_with_a_copied_stamp_is_masked_in_place():
    """In place, the stamp is the only memory: one copied from a finished output onto an
    unmasked upload must not make it look finished."""
    bucket = MemoryStorage({"done.png": png(1)})
    run(bucket, bucket, MemoryStorage(), StaticLocator(card()), in_place=True)
    stamp = bucket.stat("done.png")
    unmasked = png(2)
    bucket.write("new.png", unmasked, metadata=stamp)  # the stamp of another object, copied
    bucket.write("public.png", unmasked, metadata={"redactor-policy": POLICY.sha256})  # the report's hash
    summary, _lines, _ = run(bucket, bucket, MemoryStorage(), StaticLocator(card()), in_place=True)
    assert summary.redacted == 2 and summary.skipped_unchanged == 1
    assert bucket.read("new.png") != unmasked and bucket.read("public.png") != unmasked


def test_a_transient_locator_failure_is_failed_and_retried_never_quarantined(tmp_path):
    from redactor.errors import LocatorUnavailableError

    down = {"yes": True}

    def flaky(request):
        if down["yes"]:
            raise LocatorUnavailableError("AILicenseRec unavailable: 503 after 5 attempts")
        return card()

    source = MemoryStorage({"a.png": png(1)})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    checkpoint = tmp_path / "checkpoint.jsonl"
    options = RunOptions(stamp_key=TEST_STAMP_KEY, policy=POLICY, locator=StaticLocator(flaky))
    first = BatchRunner(source, dest, quarantine, options, manifest_path=checkpoint).run()
    assert first.failed == 1 and first.quarantined == 0 and not quarantine.objects and not dest.objects
    down["yes"] = False
    second = BatchRunner(source, dest, quarantine, options, manifest_path=checkpoint).run()
    assert second.redacted == 1 and "a.png" in dest.objects  # the same checkpoint retries it


def test_a_copy_quarantined_earlier_does_not_outlive_a_later_redaction():
    """Quarantined by one run, redacted by the next (a fresh checkpoint, a better engine):
    the unmasked copy in quarantine goes, with its reasons."""
    source = MemoryStorage({"a.png": png(1)})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    doubt, _, _ = run(source, dest, quarantine, StaticLocator(Detection(0)))
    assert doubt.quarantined == 1 and sorted(quarantine.objects) == ["a.png", "a.png.reason.json"]
    summary, lines, _ = run(source, dest, quarantine, StaticLocator(card()))
    assert summary.redacted == 1 and quarantine.objects == {} and "a.png" in dest.objects
    assert any("quarantined was removed" in r for r in lines[0]["reasons"])


def test_quarantine_is_write_once():
    source = MemoryStorage({"a.png": png(1)})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    for _ in range(3):  # no checkpoint: each run looks at the image again
        summary, _, _ = run(source, dest, quarantine, StaticLocator(Detection(0)))
        assert summary.quarantined == 1
    assert sorted(quarantine.writes) == ["a.png", "a.png.reason.json"]


class _BrokenListing(MemoryStorage):
    """A store whose listing fails after a few entries (a bucket that stops answering)."""

    def iter_tags(self):
        for n, item in enumerate(super().iter_tags()):
            if n == 2:
                raise StorageError("GET Bucket: 503 after 10 attempts")
            yield item


def test_a_listing_failure_ends_the_run_cleanly_with_its_report():
    source = _BrokenListing({f"{i}.png": png(i) for i in range(5)})
    dest = MemoryStorage()
    summary, lines, _ = run(source, dest, MemoryStorage(), StaticLocator(card()))
    assert summary.aborted is not None and "listing the source failed" in summary.aborted
    assert not summary.all_clear and summary.redacted == 2 and sorted(dest.objects) == ["0.png", "1.png"]
    assert sorted(line["source"] for line in lines[:-1]) == ["0.png", "1.png"]
    assert lines[-1]["summary"]["aborted"] == summary.aborted


def test_the_readme_report_example_matches_the_report_records():
    """The README's report lines name exactly the keys a redacted image's row and the summary
    line carry (the example is documentation of :class:`ReportRow`, not a second schema)."""
    import re
    from pathlib import Path

    from redactor.pipeline import ImageDetails, ReportRow, RunSummary

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    block = readme.split("**Report** (`--report FILE`", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    row_text, summary_text = block.strip().split('\n{"summary"', 1)
    top_keys = set(re.findall(r'"(\w+)":', re.sub(r'"fields": \[\{.*?\}, …\]', '"fields": []', row_text, flags=re.S)))
    top_keys -= {"decode", "locate", "mask", "verify", "encode"}  # timings_ms's own keys
    row = ReportRow(
        "a/card.jpg",
        "redacted",
        ["r"],
        "i",
        "p",
        "replay",
        image=ImageDetails("IDCard", [1, 1], [], {}, True),
        output="a/card.jpg",
        output_sha256="o",
    )
    assert top_keys == set(row.to_record())
    summary_keys = set(re.findall(r'"(\w+)":', summary_text)) - {"policy_sha256", "policy", "verify", "redactor"}
    assert summary_keys == set(RunSummary().to_record())


def test_a_run_in_a_terminal_streams_the_listing_instead_of_listing_up_front(monkeypatch):
    """Under a terminal the progress display must not list every key first (for a total):
    rows are finished while the listing is still being read."""
    import sys

    from redactor.console import run_with_progress

    events: list[str] = []

    class Listed(MemoryStorage):
        def iter_tags(self):
            for item in super().iter_tags():
                events.append("listed")
                yield item

    source = Listed({f"{i:02d}.png": png(i) for i in range(8)})
    options = RunOptions(stamp_key=TEST_STAMP_KEY, policy=POLICY, locator=StaticLocator(card()), workers=1)
    runner = BatchRunner(source, MemoryStorage(), MemoryStorage(), options)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    original = runner._finish
    monkeypatch.setattr(runner, "_finish", lambda row: (events.append("done"), original(row)))
    summary = run_with_progress(runner)
    assert summary.redacted == 8
    assert events.index("done") < len(events) - 1 - events[::-1].index("listed")  # a row before the last listing
