"""Golden tests on the committed samples with the replay locator, through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from redactor.cli import app
from redactor.core.imaging import decode

from .conftest import SAMPLES

MAGENTA = (255, 0, 255)
TEST_POLICY = """version: 1
defaults: {action: box, color: "#FF00FF", min_score: 80, uncertain: box, padding: 0.15}
fields: {gender: keep, ethnicity: keep, nationality: keep, vehicle_class: keep}
portrait: box
"""
KEEP = {"gender", "ethnicity", "nationality", "vehicle_class"}


def truth(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.truth.json").read_text("utf-8"))


def inside_mask(polygon, width, height) -> np.ndarray:
    """Pixels whose centre lies inside a (convex or concave) polygon: even-odd rule."""
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    result = np.zeros((height, width), dtype=bool)
    pts = [tuple(p) for p in polygon]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
        crosses = (y0 > ys) != (y1 > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = (x1 - x0) * (ys - y0) / (y1 - y0) + x0
        result ^= crosses & (xs < x_at)
    return result


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("golden")
    policy = root / "magenta.yaml"
    policy.write_text(TEST_POLICY)
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(SAMPLES),
            str(root / "out"),
            "--engine",
            "replay",
            "--policy",
            str(policy),
            "--report",
            str(root / "report.jsonl"),
        ],
    )
    return root, result


def front_samples():
    names = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".png", ".jpg"))
    return [n for n in names if truth(n)["kind"] in ("id_front", "dl_main")]


def test_run_exit_code_and_routing(golden_run):
    root, result = golden_run
    assert result.exit_code == 1, result.output  # the ID back and the non-card are quarantined
    out = {p.name for p in (root / "out").iterdir() if p.is_file()}
    quarantined = {p.name for p in (root / "out.quarantine").iterdir() if not p.name.endswith(".json")}
    assert out == set(front_samples())
    assert quarantined == {n for n in (p.name for p in SAMPLES.iterdir()) if n.endswith((".png", ".jpg"))} - out
    for name in quarantined:
        assert truth(name)["kind"] in ("id_back", "none")


@pytest.mark.parametrize("name", front_samples())
def test_box_replaces_every_ground_truth_pixel_and_keep_is_untouched(golden_run, name):
    root, _ = golden_run
    source = decode((SAMPLES / name).read_bytes()).image.convert("RGB")
    output = np.asarray(Image.open(root / "out" / name).convert("RGB")).astype(int)
    original = np.asarray(source).astype(int)
    t = truth(name)
    lossless = name.endswith(".png")
    for field in t["fields"]:
        region = inside_mask(field["polygon"], t["width"], t["height"])
        assert region.any()
        pixels = output[region]
        if field["field"] in KEEP:
            if lossless:
                assert (pixels == original[region]).all(), f"{name}: kept field {field['field']} changed"
            else:  # JPEG re-encoding: only compression noise, no mask colour
                assert np.abs(pixels - original[region]).mean() < 8
        elif lossless:
            assert (pixels == MAGENTA).all(), f"{name}: {field['field']} has unmasked pixels"
        else:
            distance = np.abs(pixels - np.array(MAGENTA)).max(axis=1)
            assert np.percentile(distance, 99) < 60 and distance.mean() < 25, f"{name}: {field['field']}"
    # the portrait (not returned by AILicenseRec) is covered through the card layout
    if t["portrait"]:
        region = inside_mask(t["portrait"], t["width"], t["height"])
        if lossless:
            assert (output[region] == MAGENTA).all()
        else:
            assert np.abs(output[region] - np.array(MAGENTA)).max(axis=1).mean() < 25


def test_report_never_contains_detected_text(golden_run):
    root, result = golden_run
    text = (root / "report.jsonl").read_text("utf-8") + result.output
    values = {f["value"] for n in front_samples() for f in truth(n)["fields"]}
    assert values
    for value in values:
        assert value not in text
    for line in text.splitlines()[:-1]:
        if line.startswith("{"):
            record = json.loads(line)
            assert "detected_text" not in json.dumps(record)


def test_rerun_skips_everything(golden_run, tmp_path):
    root, _ = golden_run
    policy = root / "magenta.yaml"
    before = {p.name: p.stat().st_mtime_ns for p in (root / "out").iterdir() if p.is_file()}
    result = CliRunner().invoke(app, ["run", str(SAMPLES), str(root / "out"), "-e", "replay", "--policy", str(policy)])
    assert "10 unchanged" in result.output or "unchanged" in result.output
    after = {p.name: p.stat().st_mtime_ns for p in (root / "out").iterdir() if p.is_file()}
    assert before == after


def test_main_job_with_embedded_defaults(tmp_path):
    report = tmp_path / "report.jsonl"
    result = CliRunner().invoke(app, ["run", str(SAMPLES), str(tmp_path / "out"), "--report", str(report)])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in report.read_text("utf-8").splitlines()]
    decisions = {r["source"]: r for r in rows if "source" in r}
    assert decisions["noncard-0012.jpg"]["decision"] == "quarantined"  # no card: never passed as redacted
    assert decisions["idcard-back-photo-0011.jpg"]["decision"] == "redacted"  # the ID back too
    held = [r for r in decisions.values() if r["decision"] == "quarantined" and r["source"] != "noncard-0012.jpg"]
    # the second look may hold back photos whose masks it doubts (two today: a picture area
    # beside the local engine's masks), always with its reason; the rest is written, verified
    assert len(held) <= 2 and all(any(w.startswith("verification:") for w in r["reasons"]) for r in held)
    written = [r for r in decisions.values() if r["decision"] == "redacted"]
    assert len(written) >= 9 and all(r["verified"] is True for r in written)


def test_usage_errors_exit_2(tmp_path):
    runner = CliRunner()
    src = tmp_path / "src"
    shutil.copytree(SAMPLES, src)
    assert runner.invoke(app, ["run", str(src), str(src / "out")]).exit_code == 2
    assert runner.invoke(app, ["run", str(src), str(tmp_path)]).exit_code == 2
    assert runner.invoke(app, ["run", str(src), str(tmp_path / "o"), "--quarantine", str(src / "q")]).exit_code == 2
    assert runner.invoke(app, ["run", str(tmp_path / "missing"), str(tmp_path / "o")]).exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nfields:\n  nmae: box\n")
    result = runner.invoke(app, ["run", str(src), str(tmp_path / "o"), "--policy", str(bad)])
    assert result.exit_code == 2 and "bad.yaml:3" in result.output
    assert runner.invoke(app, ["run", str(src), str(tmp_path / "o"), "--engine", "nope"]).exit_code == 2
    assert not (src / "out").exists()


def test_policy_check_prints_every_rule():
    result = CliRunner().invoke(app, ["policy", "check", str(Path(SAMPLES).parent / "policies" / "strict.yaml")])
    assert result.exit_code == 0
    assert result.output.count("IDCard") >= 7 and "issuing_authority" in result.output


def test_inspect_lists_fields_and_draws(tmp_path):
    draw = tmp_path / "drawn.png"
    name = front_samples()[0]
    result = CliRunner().invoke(app, ["inspect", str(SAMPLES / name), "-e", "replay", "--draw", str(draw), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decision"] == "redacted" and data["fields"]
    assert all("detected_text" not in f for f in data["fields"])
    assert Image.open(draw).size == Image.open(SAMPLES / name).size
