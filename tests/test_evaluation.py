"""Tests for the evaluation harness: pixel maths, the replay baseline on samples/, leak and over-masking twins."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from redactor.core.ailicenserec import parse_response
from redactor.core.fields import DRIVER_LICENSE_FIELDS, ID_CARD_FIELDS, CardType
from redactor.core.geometry import grow
from redactor.core.masking import MaskOp
from redactor.core.policy import load_policy
from redactor.core.results import Decision, Detection, LocatedField, Polygon
from redactor.eval_cli import eval_command
from redactor.evaluation import (
    ALL,
    ALL_HELD_OUT,
    ALL_TUNED,
    Evaluation,
    evaluate_detection,
    evaluate_image,
    format_report,
    load_truth,
    mask_union,
    masked_fraction,
    raster_iou,
    rasterize,
    run_evaluation,
    summarise,
    summarise_families,
)
from redactor.generator import generate_set, render_specimen, write_specimen
from redactor.locators import ReplayLocator, StaticLocator
from redactor.policy_files import load_bundled_policy

DEFAULT = load_bundled_policy("default")
ID_FRONT = "idcard-front-scan-0001.png"

# ---------------------------------------------------------------- pixel maths


def test_rasterize_counts_pixel_centres_with_the_even_odd_rule() -> None:
    square = rasterize([(2, 3), (6, 3), (6, 5), (2, 5)], 100, 100)
    assert (square.x0, square.y0, square.count) == (2, 3, 8)
    # a centre exactly on no edge: a half-pixel inset square holds no centre
    assert rasterize([(2.6, 2.6), (3.4, 2.6), (3.4, 3.4), (2.6, 3.4)], 10, 10).count == 0
    # a bow tie: both lobes count (even-odd), the crossing does not double-count
    bow = rasterize([(0, 0), (10, 10), (10, 0), (0, 10)], 20, 20)
    assert 40 <= bow.count <= 60
    # clipped to the image
    assert rasterize([(-5, -5), (5, -5), (5, 5), (-5, 5)], 3, 3).count == 9
    assert rasterize([(50, 50), (60, 50), (60, 60)], 10, 10).count == 0


def test_raster_iou_and_masked_fraction() -> None:
    a = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    b = [(5.0, 0.0), (15.0, 0.0), (15.0, 10.0), (5.0, 10.0)]
    assert raster_iou(a, a, 50, 50) == 1.0
    assert raster_iou(a, b, 50, 50) == pytest.approx(50 / 150)
    assert raster_iou(a, [(30.0, 30.0), (40.0, 30.0), (40.0, 40.0)], 50, 50) == 0.0
    union = mask_union([MaskOp(grow(Polygon.of(a), 0.0, 50, 50), "box")], 50, 50)
    assert union.sum() == 100
    assert masked_fraction(rasterize(b, 50, 50), union) == pytest.approx(0.5)
    assert masked_fraction(rasterize(a, 50, 50), union) == 1.0


def test_load_truth_single_and_multi(samples_dir: Path) -> None:
    single = load_truth(json.loads((samples_dir / f"{ID_FRONT}.truth.json").read_text("utf-8")))
    assert single.group == "IDCard/scan" and len(single.cards) == 1
    assert [f.field for f in single.cards[0].fields] == [*ID_CARD_FIELDS, "portrait"]
    none = load_truth(json.loads((samples_dir / "noncard-0012.jpg.truth.json").read_text("utf-8")))
    assert none.group == "none" and none.cards == () and not none.redactable
    assert single.cards[0].family == "idf-a"  # truth from before families: the base layout
    back = load_truth(json.loads((samples_dir / "idcard-back-photo-0011.jpg.truth.json").read_text("utf-8")))
    # written when backs said card_type IDCard: the kind decides; backs are redactable cards now
    assert back.group == "IDCardBack/photo" and back.redactable
    assert back.cards[0].card_type is CardType.ID_CARD_BACK and back.cards[0].family == "idb-a"


# ---------------------------------------------------------------- replay on samples/


def test_replay_on_samples_covers_every_sensitive_text_field(samples_dir: Path) -> None:
    evaluation = run_evaluation(samples_dir, ReplayLocator(), DEFAULT)
    assert len(evaluation.results) == 12
    for r in evaluation.results:
        if r.kind in ("id_back", "none"):  # AILicenseRec answers Status 0 for both
            assert r.decision is Decision.QUARANTINED, r.name
            continue
        assert r.decision is Decision.REDACTED, r.name
        for f in r.sensitive:  # the portrait too: found from the pixels (AILicenseRec returns none)
            assert f.located and f.covered, (r.name, f.field, f.masked_fraction)
        assert r.kept_intact is True, r.name
    overall = evaluation.summary[ALL]
    assert overall.silent_leaks == 0
    assert overall.decisions["redacted"] == 10 and overall.decisions["quarantined"] == 2
    portrait = overall.per_field["portrait"].to_record()
    assert portrait["n"] == 10 and portrait["coverage_pct"] == 100.0 and portrait["located_pct"] == 100.0
    assert set(evaluation.summary) == {
        "IDCard/scan",
        "IDCard/photo",
        "DriverLicense/scan",
        "DriverLicense/photo",
        "IDCardBack/photo",
        "none",
        ALL,
    }
    assert set(evaluation.families) == {
        "idf-a/scan",
        "idf-a/photo",
        "dl-a/scan",
        "dl-a/photo",
        "idb-a/photo",
        ALL_TUNED,
    }
    assert overall.to_record()["latency_ms"]["median"] is not None
    assert evaluation.peak_rss_mb is None or evaluation.peak_rss_mb > 0


def _replayed(samples_dir: Path, name: str) -> Detection:
    return parse_response((samples_dir / f"{name}.ailicenserec.xml").read_bytes())


def _with(detection: Detection, canonical: str, polygon: Polygon) -> Detection:
    fields = tuple(replace(f, polygon=polygon) if f.canonical == canonical else f for f in detection.fields)
    return replace(detection, fields=fields)


# ---------------------------------------------------------------- twins: leaks and over-masking


def test_too_small_id_number_polygon_is_a_silent_leak(samples_dir: Path) -> None:
    detection = _replayed(samples_dir, ID_FRONT)
    real = next(f for f in detection.fields if f.canonical == "id_number")
    x0, y0, x1, y1 = real.polygon.bounds
    third = (y1 - y0) / 3
    tiny = Polygon.rect(x0, y0 + third, x1, y1 - third)  # the middle third of the line, with a confident score
    leaky = _with(detection, "id_number", tiny)
    result = evaluate_image(samples_dir / ID_FRONT, StaticLocator({ID_FRONT: leaky}), DEFAULT)
    assert result.decision is Decision.REDACTED
    assert result.silent_leak and not result.all_sensitive_covered
    id_number = next(f for f in result.fields if f.field == "id_number")
    assert id_number.located and not id_number.covered and id_number.iou is not None and id_number.iou < 0.5
    assert any(line.startswith("id_number:") for line in result.failures())
    summary = summarise([result])[ALL]
    assert summary.silent_leaks == 1 and summary.coverage_pct is not None and summary.coverage_pct < 100


def test_huge_polygon_over_a_kept_field_is_not_kept_intact(samples_dir: Path) -> None:
    detection = _replayed(samples_dir, ID_FRONT)
    gender = next(f for f in detection.fields if f.canonical == "gender")
    x0, y0, x1, y1 = gender.polygon.bounds
    huge = Polygon.rect(x0 - 100, y0 - 60, x1 + 200, y1 + 60)
    over = replace(detection, fields=(*detection.fields, LocatedField.named("备注", 95, huge)))  # unknown: boxed
    result = evaluate_image(samples_dir / ID_FRONT, StaticLocator({ID_FRONT: over}), DEFAULT)
    assert result.kept_intact is False and not result.silent_leak
    assert any(line.startswith("gender: kept field over-masked") for line in result.failures())
    assert summarise([result])[ALL].kept_intact_pct == 0.0


def test_an_id_back_redacted_without_its_fields_is_a_silent_leak_unless_boxed_whole(samples_dir: Path) -> None:
    name = "idcard-back-photo-0011.jpg"
    front_fields = _replayed(samples_dir, ID_FRONT)  # a locator that reads a front's fields on a back
    keep_portrait = load_policy("version: 1\nfields:\n  portrait: keep\n")  # no photo on a back to look for
    leak = evaluate_image(samples_dir / name, StaticLocator({name: front_fields}), keep_portrait)
    assert leak.decision is Decision.REDACTED and leak.silent_leak and leak.redactable
    assert summarise([leak])[ALL].silent_leaks == 1
    assert {line.split(":")[0] for line in leak.failures()} >= {"issuing_authority", "valid_period"}
    box_all = load_policy("version: 1\non_no_card: box_all\n")
    boxed = evaluate_image(samples_dir / name, StaticLocator({name: Detection(status=0)}), box_all)
    assert boxed.decision is Decision.REDACTED and boxed.whole_image_masked and not boxed.silent_leak
    quarantined = evaluate_image(samples_dir / name, ReplayLocator(), DEFAULT)
    assert quarantined.decision is Decision.QUARANTINED and not quarantined.silent_leak


def test_locator_errors_and_missing_sidecars_are_quarantined_not_crashes(tmp_path: Path, samples_dir: Path) -> None:
    (tmp_path / ID_FRONT).write_bytes((samples_dir / ID_FRONT).read_bytes())
    (tmp_path / f"{ID_FRONT}.truth.json").write_bytes((samples_dir / f"{ID_FRONT}.truth.json").read_bytes())
    (tmp_path / "no-truth.png").write_bytes((samples_dir / ID_FRONT).read_bytes())  # skipped: no truth
    evaluation = run_evaluation(tmp_path, ReplayLocator(), DEFAULT)
    assert [r.name for r in evaluation.results] == [ID_FRONT]
    result = evaluation.results[0]
    assert result.decision is Decision.QUARANTINED and result.error and not result.silent_leak
    assert not result.quarantined_but_fine


# ---------------------------------------------------------------- CLI


def test_cli_prints_field_ids_never_values(tmp_path: Path, samples_dir: Path) -> None:
    app = typer.Typer()
    app.command("eval")(eval_command)
    app.command("noop")(lambda: None)
    out = tmp_path / "eval.json"
    args = ["eval", str(samples_dir), "--engine", "replay", "--json", str(out), "--show-failures"]  # fast, offline
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "silent leaks" in result.output and "id_number" in result.output
    record = json.loads(out.read_text("utf-8"))
    assert record["summary"]["all"]["silent_leaks"] == 0 and len(record["images"]) == 12
    text = result.output + out.read_text("utf-8")
    for truth_file in samples_dir.glob("*.truth.json"):
        for f in json.loads(truth_file.read_text("utf-8"))["fields"]:
            assert f["value"] not in text
    limited = CliRunner().invoke(app, ["eval", str(samples_dir), "--limit", "2"])
    assert limited.exit_code == 0 and " 2 images" in limited.output
    assert CliRunner().invoke(app, ["eval", str(tmp_path / "missing")]).exit_code == 2
    assert CliRunner().invoke(app, ["eval", str(samples_dir), "--policy", "nope"]).exit_code == 2


# ---------------------------------------------------------------- multi-card photos


def test_multi_card_truth_matches_its_sidecar_and_is_evaluated(tmp_path: Path) -> None:
    spec = render_specimen("multi", "photo", 7)
    truth = spec.truth
    assert truth["kind"] == "multi" and len(truth["cards"]) == 2 and "fields" not in truth
    detection = parse_response(spec.sidecar, image_size=(truth["width"], truth["height"]))
    assert detection.status == 1
    assert len(detection.fields) == sum(len(c["fields"]) for c in truth["cards"])
    expected = {"id_front": list(ID_CARD_FIELDS), "dl_main": list(DRIVER_LICENSE_FIELDS)}
    assert [f.canonical for f in detection.fields] == [x for c in truth["cards"] for x in expected[c["kind"]]]
    masks = [rasterize([tuple(p) for p in c["card_quad"]], truth["width"], truth["height"]) for c in truth["cards"]]
    canvas = np.zeros((truth["height"], truth["width"]), dtype=np.int8)
    for m in masks:
        h, w = m.mask.shape
        canvas[m.y0 : m.y0 + h, m.x0 : m.x0 + w] += m.mask
    assert canvas.max() == 1  # the cards never overlap
    for c in truth["cards"]:
        assert c["rotation"] in (0, 90, 180, 270) and c["portrait"] and c["card_type"] in ("IDCard", "DriverLicense")

    path = write_specimen(spec, tmp_path, "multicard-photo-0001")
    evaluation = run_evaluation(tmp_path, ReplayLocator(), DEFAULT)
    (result,) = evaluation.results
    assert result.name == path.name and result.group == "multi"
    assert len(result.fields) == sum(len(c["fields"]) + 1 for c in truth["cards"])
    assert {f.card for f in result.fields} == {0, 1}
    assert evaluation.summary[ALL].silent_leaks == 0


def test_generate_set_with_multi(tmp_path: Path) -> None:
    paths = generate_set(tmp_path, count=2, seed=3, kinds=("multi",))
    assert [p.name for p in paths] == ["multicard-photo-0001.jpg", "multicard-photo-0002.jpg"]
    for p in paths:
        truth = json.loads(Path(f"{p}.truth.json").read_text("utf-8"))
        assert truth["image"] == p.name and truth["variant"] == "photo"
        fields = parse_response(Path(f"{p}.ailicenserec.xml").read_bytes()).fields
        assert len(fields) == sum(len(c["fields"]) for c in truth["cards"])


# ---------------------------------------------------------------- layout families and held-out rows


def _perfect(truth: dict[str, Any]) -> Detection:
    """What a flawless locator would answer: every truth polygon (and portrait) under its field id."""
    fields = []
    for card in truth.get("cards") or [truth]:
        card_type = CardType(card["card_type"])
        for f in card["fields"]:
            fields.append(LocatedField.named(f["field"], 95, Polygon.of(f["polygon"]), card_type))
        if card["portrait"]:
            fields.append(LocatedField.named("portrait", 95, Polygon.of(card["portrait"]), card_type))
    return Detection(status=1, fields=tuple(fields))


def test_family_table_counts_each_card_in_its_family_and_marks_held_out() -> None:
    specs = {
        "a.png": render_specimen("id_front", "scan", 3, family="idf-a"),
        "h.jpg": render_specimen("dl_main", "photo", 4, family="dl-h"),
        "p.png": render_specimen("photocopy", "photocopy", 5, family="idf-b", dpi=200),
    }
    results = []
    for name, spec in specs.items():
        detection = _perfect(spec.truth)
        if name == "h.jpg":  # the licence number located as its left third only: a silent leak, held-out row only
            x0, y0, x1, y1 = next(f for f in detection.fields if f.canonical == "license_number").polygon.bounds
            detection = _with(detection, "license_number", Polygon.rect(x0, y0, x0 + (x1 - x0) / 3, y1))
        results.append(evaluate_detection(name, load_truth(spec.truth), detection, DEFAULT))
    assert [r.families for r in results] == [
        ("idf-a",),
        ("dl-h",),
        ("idf-b", specs["p.png"].truth["cards"][1]["family"]),
    ]
    assert [r.group for r in results] == ["IDCard/scan", "DriverLicense/photo", "photocopy"]
    assert [r.decision for r in results] == [Decision.REDACTED] * 3
    assert [r.silent_leak for r in results] == [False, True, False]
    assert all(r.portrait_covered for r in results)

    rows = summarise_families(results)
    back = f"{specs['p.png'].truth['cards'][1]['family']}/photocopy"
    assert list(rows)[:2] == ["idf-a/scan", "idf-b/photocopy"] and back in rows and "dl-h/photo" in rows
    assert rows["idf-b/photocopy"].images == 1 and rows[back].images == 1  # the page counts once per card
    assert rows["idf-b/photocopy"].sensitive_fields == len([*ID_CARD_FIELDS, "portrait"]) - 2  # gender, ethnicity kept
    assert rows["dl-h/photo"].silent_leaks == 1 and rows["idf-a/scan"].silent_leaks == 0
    held = rows[ALL_HELD_OUT]
    held_cards = 1 + (back.startswith("idb-h"))
    assert held.images == held_cards and held.silent_leaks == 1 and held.portrait_covered_pct == 100.0
    assert rows[ALL_TUNED].images == 4 - held_cards and rows[ALL_TUNED].silent_leaks == 0

    evaluation = Evaluation("fake", "default", "0" * 64, results, summarise(results), None, 0.1, rows)
    record = evaluation.to_record()["families"]
    assert record["dl-h/photo"]["held_out"] is True and record["idf-a/scan"]["held_out"] is False
    assert record[ALL_HELD_OUT]["held_out"] is True and record[ALL_TUNED]["held_out"] is False
    report = format_report(evaluation)
    assert "dl-h/photo *" in report and "idf-a/scan *" not in report and "all held-out *" in report
    assert "portrait covered" in report and "* held out" in report


def test_portrait_left_unmasked_is_not_portrait_covered() -> None:
    spec = render_specimen("id_front", "photo", 8, family="idf-b")
    truth = load_truth(spec.truth)
    full = evaluate_detection("x.jpg", truth, _perfect(spec.truth), DEFAULT)
    # the portrait reported as its left fifth only
    (x0, y0), _, (x1, y1), _ = spec.truth["portrait"]
    detection = _perfect(spec.truth)
    sliver = Polygon.rect(min(x0, x1), min(y0, y1), min(x0, x1) + abs(x1 - x0) / 5, max(y0, y1))
    partial = evaluate_detection("x.jpg", truth, _with(detection, "portrait", sliver), DEFAULT)
    assert full.portrait_covered is True and partial.portrait_covered is False
    assert full.decision is partial.decision is Decision.REDACTED  # written: the sliver is all it masks
    assert partial.silent_leak  # the portrait is sensitive under the default policy
    assert summarise([full, partial])[ALL].portrait_covered_pct == 50.0
    assert summarise([partial])[ALL].portrait_images == 1
