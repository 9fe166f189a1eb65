"""The second look: a masked image is judged by what can still be read on it, whatever located it."""

from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from redactor.cli import app
from redactor.core.imaging import decode
from redactor.core.plan import plan_redaction
from redactor.core.results import Decision, Polygon
from redactor.core.verification import (
    KeptValue,
    SeenText,
    Verdict,
    judge_cut_text,
    judge_on_text,
    judge_text,
    visible_parts,
)
from redactor.evaluation import load_truth, verify_plan
from redactor.locators import ReplayLocator
from redactor.perturbation import move_portrait, shift_all, truth_detection
from redactor.pipeline import BatchRunner, ReportRow, RunOptions, redact_image
from redactor.policy_files import load_bundled_policy
from redactor.storage.memory import MemoryStorage
from redactor.verifiers import StaticVerifier, default_verifier

from .conftest import SAMPLES, TEST_STAMP_KEY

POLICY = load_bundled_policy("default")
SWAP_IMAGE = "idcard-front-photo-0005.jpg"
SWAP_SIDECAR = "idcard-front-photo-0004.jpg.ailicenserec.xml"


@pytest.fixture(scope="module")
def verifier():
    return default_verifier()


def sample(name: str):
    data = (SAMPLES / name).read_bytes()
    raw = json.loads((SAMPLES / f"{name}.truth.json").read_text("utf-8"))
    return decode(data).image, load_truth(raw), raw


def seen(text: str, box: tuple[float, float, float, float], confidence: float = 0.99) -> SeenText:
    return SeenText(Polygon.rect(*box), text, (confidence,) * len(text), box[3] - box[1])


# --------------------------------------------------------------------------- pure judgement


def test_printed_wording_and_kept_values_may_show():
    gender = KeptValue("gender", Polygon.rect(100, 50, 130, 80))
    parts = [
        seen("姓名", (10, 10, 60, 40)),
        seen("性 别", (10, 50, 60, 80)),
        seen("男", (100, 50, 130, 80)),
        seen("Date of First Issue", (10, 90, 200, 110)),
        seen("欠领证日期", (10, 120, 90, 150)),  # a misread label
    ]
    assert judge_text(parts, [gender], []) == []


def test_values_left_visible_fail_without_saying_what_they_read():
    near = [("name", Polygon.rect(70, 10, 200, 40))]
    reasons = judge_text([seen("姓名张三", (10, 10, 120, 40))], [], near)
    assert reasons == ["verification: text is readable outside the masks (at name)"]
    assert "张" not in reasons[0]
    digits = judge_text([seen("110101199001011234", (10, 200, 300, 230))], [], [])
    assert digits and "18 digits" in digits[0]
    # a kept field shows its value, not the name printed where the locator said "gender"
    gender = KeptValue("gender", Polygon.rect(100, 50, 160, 80))
    assert judge_text([seen("张三", (100, 50, 160, 80))], [gender], [])


def test_a_label_character_after_a_digit_is_a_value():
    # 号 is 证号's last character, but after a digit it ends an address (…21号) left visible
    assert judge_text([seen("1号", (10, 10, 60, 40))], [], [])
    assert judge_text([seen("3室", (10, 10, 60, 40))], [], [])
    # a digit's sliver beside a label, and 年 after a masked year, are no value
    assert judge_text([seen("号码1", (10, 10, 90, 40))], [], []) == []
    assert judge_text([seen("8年", (10, 10, 60, 40))], [], []) == []


def test_a_label_read_with_a_character_cut_to_its_component_is_printed_wording():
    # a crop that cuts 别 reads 另, 址 reads 土, 期 reads 其: still the label...
    for label in ("性另", "住土", "出生日其", "初次领证日其"):
        assert judge_text([seen(label, (10, 10, 120, 40))], [], []) == [], label
    # ... also when a character of it was read unsurely (出生日其, 生 at chance)
    unsure = SeenText(Polygon.rect(10, 10, 120, 40), "出生日其", (0.86, 0.48, 0.98, 0.91), 30)
    assert judge_text([unsure], [], []) == []
    # ... but a value beside it is still a value, and a component alone next to another
    # character is no label
    assert judge_text([seen("住土北京市", (10, 10, 200, 40))], [], [])
    assert judge_text([seen("张另", (10, 10, 80, 40))], [], [])
    assert judge_text([seen("出生日其张", (10, 10, 150, 40))], [], [])


def test_a_value_read_at_chance_is_noise_but_a_sure_one_is_not():
    assert judge_text([seen("威", (10, 10, 40, 40), confidence=0.5)], [], []) == []
    assert judge_text([seen("威", (10, 10, 40, 40), confidence=0.97)], [], [])


def test_visible_parts_are_the_stretches_no_mask_covers():
    masked = np.zeros((100, 400), dtype=bool)
    masked[:, 100:300] = True
    frame = np.array([[0, 40], [400, 40], [400, 70], [0, 70]], dtype=np.float64)
    parts = visible_parts(frame, masked)
    assert len(parts) == 2
    assert parts[0][0] == 0.0 and abs(parts[0][1] - 0.25) < 0.03
    assert abs(parts[1][0] - 0.75) < 0.03 and parts[1][1] == 1.0
    masked[:, :] = True
    assert visible_parts(frame, masked) == []


def test_masks_on_blank_card_and_masks_cutting_text_fail():
    gray = np.full((200, 400), 230, dtype=np.uint8)
    gray[22:48, 20:200:6] = 30  # a line of "text": strokes on the card's background
    gray[22:48, 21:200:6] = 30
    on_text = Polygon.rect(20, 20, 200, 50)
    blank = [("name", Polygon.rect(220, 100, 380, 130)), ("birth", Polygon.rect(220, 150, 380, 180))]
    assert judge_on_text(gray, [("address", on_text), *blank])
    assert judge_on_text(gray, [("address", on_text), blank[0]]) == []
    # a mask over the lower half of the line leaves the upper half beside it
    masked = np.zeros_like(gray, dtype=bool)
    masked[36:60, 15:205] = True
    cut = gray.copy()
    cut[masked] = 0
    assert judge_cut_text(cut, masked, [("address", Polygon.rect(20, 38, 200, 58))])
    whole = gray.copy()
    whole[14:56, 14:206] = 0
    full = np.zeros_like(masked)
    full[14:56, 14:206] = True
    assert judge_cut_text(whole, full, [("address", on_text)]) == []


def _lit_card_on_a_table(photo_masked: bool):
    """A cream card whose light falls off towards its photo side, on a dark table with a
    bright green object just beside the card's edge; labels visible, values masked."""
    h, w = 700, 1000
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:] = (40, 90, 50)  # the table
    rgb[200:400, 20:95] = (20, 200, 40)  # an object beside the card
    light = np.linspace(245, 170, 800)[None, :, None]
    rgb[100:600, 100:900] = np.clip(light * np.array([1.0, 0.97, 0.9]), 0, 255).astype(np.uint8)
    rows = [150 + 60 * k for k in range(6)]
    labels = []
    for y in rows:
        rgb[y : y + 24, 150:250:8] = 40  # strokes of a label
        labels.append(np.array([(148, y - 2), (252, y - 2), (252, y + 26), (148, y + 26)], np.float32))
    rgb[180:480, 650:850] = (170, 200, 235)  # the photo's backdrop
    rgb[210:300, 700:800] = (30, 25, 20)  # hair
    rgb[260:400, 710:790] = (225, 180, 150)  # face
    painted = np.zeros((h, w), bool)
    for y in rows:
        painted[y - 4 : y + 28, 260:560] = True
    if photo_masked:
        painted[170:490, 640:860] = True
    original = rgb.copy()
    rgb[painted] = (0, 0, 0)
    return original, rgb, painted, labels


@pytest.mark.parametrize("photo_masked", [False, True])
def test_the_cards_extent_comes_from_its_unmasked_background(photo_masked):
    """A photo left on the dim far side of a card is found; an object on the table beside the
    card's edge is none, whatever its colour."""
    from redactor.core.frame import Box, CardFrame
    from redactor.core.remnants import pictures_left

    original, masked, painted, labels = _lit_card_on_a_table(photo_masked)
    frame = CardFrame((0.0, 0.0), (1.0, 0.0), 24.0)
    region = Box(0, 60, 1000, 640)
    found = pictures_left(masked, frame, region, labels, painted, original)
    beside = [b for b in found if b.u1 <= 110]
    assert beside == []
    if photo_masked:
        assert found == []
    else:
        assert any(b.u0 < 800 and b.u1 > 700 and b.v0 < 400 and b.v1 > 260 for b in found), found


def test_a_plain_strip_of_the_photo_beside_its_mask_counts_but_not_elsewhere():
    """The photo's mask a little short: the backdrop strip left beside it is the photo going
    on (no face texture needed); the same plain strip away from the photo's mask is not."""
    from redactor.core.frame import Box, CardFrame
    from redactor.core.remnants import pictures_left

    original, masked, painted, labels = _lit_card_on_a_table(True)
    painted[170:490, 640:860] = False
    painted[170:490, 640:800] = True  # the photo's mask stops short of its right side
    photo = np.zeros_like(painted)
    photo[170:490, 640:800] = True
    masked = original.copy()
    masked[painted] = (0, 0, 0)
    frame = CardFrame((0.0, 0.0), (1.0, 0.0), 24.0)
    region = Box(0, 60, 1000, 640)
    found = pictures_left(masked, frame, region, labels, painted, original, photo)
    assert any(b.u0 >= 790 and b.u1 <= 870 and b.v0 < 300 and b.v1 > 400 for b in found), found
    # told nothing of where the photo's mask is, a plain strip is no face
    assert pictures_left(masked, frame, region, labels, painted, original) == []


@pytest.mark.parametrize("hair", [True, False, "ear"])
def test_a_hair_dark_sliver_between_two_masks_counts_but_a_pale_one_does_not(hair):
    """Masks that missed the photo by a little leave the top of the head as a strip half a
    text height across between them: too narrow for a face's remnant, dark as hair. The same
    strip of pale backdrop is no picture. Hair cut in two by an ear is one sliver (each half
    alone is too short to count)."""
    from redactor.core.frame import Box, CardFrame
    from redactor.core.remnants import pictures_left

    original, _, painted, labels = _lit_card_on_a_table(True)
    if not hair:
        original[210:300, 700:800] = (170, 200, 235)  # a photo without the head's top in view
    if hair == "ear":
        original[210:222, 732:768] = (225, 180, 150)  # 7 cells of hair, 7 of skin, 7 of hair
    painted[170:490, 640:860] = False
    painted[170:210, 640:860] = True  # a value band's mask above ...
    painted[222:490, 640:860] = True  # ... and the photo's, 12 px (half a text height) lower
    masked = original.copy()
    masked[painted] = (0, 0, 0)
    frame = CardFrame((0.0, 0.0), (1.0, 0.0), 24.0)
    found = pictures_left(masked, frame, Box(0, 60, 1000, 640), labels, painted, original)
    slivers = [b for b in found if b.u0 < 800 and b.u1 > 700 and b.v0 < 222 and b.v1 > 210]
    assert bool(slivers) is bool(hair), found


def test_a_seal_left_whose_characters_were_detected_as_text_still_counts():
    """The seal's ring of characters may be detected as lines of text: its red is still
    seal ink left on the card (the issuing authority unmasked)."""
    from redactor.core.frame import Box, CardFrame
    from redactor.core.remnants import red_left

    _original, masked, painted, labels = _lit_card_on_a_table(True)
    yy, xx = np.mgrid[0:700, 0:1000]
    ring = np.abs(np.hypot(xx - 200, yy - 520) - 50) <= 3
    masked[ring] = (200, 40, 40)  # a thin red ring over the lower labels
    on_seal = np.array([(150, 470), (250, 470), (250, 570), (150, 570)], np.float32)  # a "line" of its text
    frame = CardFrame((0.0, 0.0), (1.0, 0.0), 24.0)
    found = red_left(masked, frame, Box(100, 100, 900, 600), [*labels, on_seal], painted)
    assert any(b.u0 < 200 < b.u1 and b.v0 < 520 < b.v1 for b in found), found


def test_a_long_stretch_is_read_in_overlapping_pieces_to_its_end():
    from redactor.verifiers.ocr import READ_RATIO, _pieces

    quad = np.array([[0, 0], [600, 0], [600, 20], [0, 20]], dtype=np.float64)  # 30 heights long
    pieces = _pieces(quad)
    assert all(np.linalg.norm(p[1] - p[0]) <= READ_RATIO * 20 + 1e-6 for p in pieces)
    assert pieces[0][0][0] == 0 and abs(pieces[-1][1][0] - 600) < 1e-6  # from its start to its end
    starts = [p[0][0] for p in pieces]
    assert all(b - a <= READ_RATIO * 20 / 2 + 1e-6 for a, b in itertools.pairwise(starts))
    short = quad.copy()
    short[1:3, 0] = 100
    assert len(_pieces(short)) == 1


# --------------------------------------------------------------------------- on real pixels


@pytest.mark.parametrize("name", ["idcard-front-scan-0001.png", "idcard-front-photo-0004.jpg", "license-scan-0008.png"])
def test_a_correct_redaction_passes(verifier, name):
    outcome = redact_image(
        (SAMPLES / name).read_bytes(),
        policy=POLICY,
        locator=ReplayLocator((SAMPLES / f"{name}.ailicenserec.xml").read_bytes()),
        verifier=verifier,
    )
    assert outcome.decision is Decision.REDACTED, outcome.reasons
    assert outcome.verified is True
    assert "verify" in outcome.timings_ms


@pytest.mark.parametrize("name", ["idcard-front-scan-0002.png", "license-photo-0009.jpg"])
def test_a_shifted_location_is_caught(verifier, name):
    image, truth, raw = sample(name)
    correct = truth_detection(truth, raw)
    assert verify_plan(verifier, image, plan_redaction(correct, POLICY, *image.size), correct, POLICY)[0].passed
    text = [f for f in correct.fields if not f.is_portrait]
    h = float(np.median([f.polygon.bounds[3] - f.polygon.bounds[1] for f in text]))

    class Down:  # every polygon half a line lower
        def uniform(self, a, b):
            return 0.55 if a == 0.2 else np.pi / 2

    shifted = shift_all(correct, Down())  # type: ignore[arg-type]
    assert shifted.fields[0].polygon.bounds[1] > correct.fields[0].polygon.bounds[1] + 0.3 * h
    plan = plan_redaction(shifted, POLICY, *image.size)
    assert plan.decision is Decision.REDACTED  # the plan cannot tell
    verdict, _ = verify_plan(verifier, image, plan, shifted, POLICY)
    assert not verdict.passed
    assert all(r.startswith("verification:") for r in verdict.reasons)


def test_a_portrait_left_visible_is_caught(verifier):
    image, truth, raw = sample("idcard-front-scan-0003.png")
    correct = truth_detection(truth, raw)

    class Right:  # the photo's mask a whole photo width to the right
        def uniform(self, a, b):
            return 1.0 if a == 0.3 else 0.0

    moved = move_portrait(correct, Right())  # type: ignore[arg-type]
    plan = plan_redaction(moved, POLICY, *image.size)
    verdict, _ = verify_plan(verifier, image, plan, moved, POLICY)
    assert not verdict.passed
    assert any("picture" in r for r in verdict.reasons)
    # and the same plan without the portrait's mask at all
    plan = plan_redaction(correct, POLICY, *image.size)
    masked = [a for a in plan.applied if a.action != "keep"]
    ops = tuple(op for op, a in zip(plan.ops, masked, strict=True) if not a.located.is_portrait)
    verdict, _ = verify_plan(verifier, image, replace(plan, ops=ops), correct, POLICY)
    assert any("picture" in r for r in verdict.reasons)


@pytest.mark.parametrize("name", ["license-scan-0007.png", "license-photo-0009.jpg"])
def test_a_seal_left_visible_is_caught(verifier, name):
    image, truth, raw = sample(name)
    correct = truth_detection(truth, raw)
    plan = plan_redaction(correct, POLICY, *image.size)
    masked = [a for a in plan.applied if a.action != "keep"]
    ops = tuple(op for op, a in zip(plan.ops, masked, strict=True) if a.located.canonical != "issuing_authority")
    verdict, _ = verify_plan(verifier, image, replace(plan, ops=ops), correct, POLICY)
    assert any("seal" in r for r in verdict.reasons), verdict.reasons


def test_the_policy_decides_what_must_not_show(verifier):
    """A plan that left the photo alone passes when the policy keeps the portrait."""
    from redactor.core.policy import load_policy

    image, truth, raw = sample("idcard-front-scan-0003.png")
    correct = truth_detection(truth, raw)
    keeps_face = load_policy(
        "version: 1\ndefaults: {action: box}\nfields: {gender: keep, ethnicity: keep}\nportrait: keep\n", "<t>"
    )
    plan = plan_redaction(correct, keeps_face, *image.size)
    assert all(not a.located.is_portrait or a.action == "keep" for a in plan.applied)
    assert verify_plan(verifier, image, plan, correct, keeps_face)[0].passed


def test_the_swapped_sidecar_is_quarantined_with_a_reason(tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    shutil.copy(SAMPLES / SWAP_IMAGE, src / "c.jpg")
    shutil.copy(SAMPLES / SWAP_SIDECAR, src / "c.jpg.ailicenserec.xml")
    report = tmp_path / "report.jsonl"
    result = CliRunner().invoke(app, ["run", str(src), str(tmp_path / "out"), "-e", "replay", "--report", str(report)])
    assert result.exit_code == 1, result.output
    assert not (tmp_path / "out" / "c.jpg").exists()
    assert (tmp_path / "out.quarantine" / "c.jpg").exists()
    rows = [json.loads(line) for line in report.read_text("utf-8").splitlines()]
    row = next(r for r in rows if r.get("source") == "c.jpg")
    assert row["decision"] == "quarantined"
    assert any(r.startswith("verification:") for r in row["reasons"]), row["reasons"]
    assert rows[-1]["verify"] == "on"


def test_verify_off_is_recorded_in_the_report(tmp_path):
    report = tmp_path / "report.jsonl"
    args = ["run", str(SAMPLES), str(tmp_path / "out"), "-e", "replay", "--verify", "off", "--report", str(report)]
    CliRunner().invoke(app, args)
    rows = [json.loads(line) for line in report.read_text("utf-8").splitlines()]
    assert rows[-1]["verify"] == "off"
    written = [r for r in rows if r.get("decision") == "redacted"]
    assert written and all(r["verified"] is None and "verify" not in r["timings_ms"] for r in written)


def test_a_failed_second_look_never_reaches_the_destination():
    data = (SAMPLES / "idcard-front-scan-0001.png").read_bytes()
    sidecar = (SAMPLES / "idcard-front-scan-0001.png.ailicenserec.xml").read_bytes()
    source = MemoryStorage({"a.png": data, "a.png.ailicenserec.xml": sidecar})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    no = StaticVerifier(Verdict(False, ("verification: text is readable outside the masks (at name)",)))
    options = RunOptions(stamp_key=TEST_STAMP_KEY, policy=POLICY, locator=ReplayLocator(), verifier=no)
    summary = BatchRunner(source, dest, quarantine, options).run()
    assert summary.quarantined == 1 and not dest.objects
    assert "a.png" in quarantine.objects and no.requests


def test_a_changed_sidecar_redoes_the_image(tmp_path):
    name = "idcard-front-scan-0001.png"
    data = (SAMPLES / name).read_bytes()
    good = (SAMPLES / f"{name}.ailicenserec.xml").read_bytes()
    source = MemoryStorage({"a.png": data, "a.png.ailicenserec.xml": good})
    dest, quarantine = MemoryStorage(), MemoryStorage()
    manifest = tmp_path / "manifest.jsonl"
    options = RunOptions(stamp_key=TEST_STAMP_KEY, policy=POLICY, locator=ReplayLocator(), verifier=StaticVerifier())

    def run() -> list[dict]:
        rows: list[ReportRow] = []
        BatchRunner(source, dest, quarantine, options, on_progress=rows.append, manifest_path=manifest).run()
        return [r.to_record() for r in rows if r.source == "a.png"]  # the sidecar is listed too, as skipped

    assert run()[0]["decision"] == "redacted"
    assert run()[0]["decision"] == "skipped"  # same image, same sidecar
    entry = json.loads(manifest.read_text("utf-8").splitlines()[0])
    assert len(entry["sidecar_sha256"]) == 64
    source.write("a.png.ailicenserec.xml", good.replace(b"<Status>1</Status>", b"<Status>0</Status>"))
    again = run()[0]
    assert again["decision"] == "quarantined"  # redone: the new sidecar finds no card
    assert "a.png" not in dest.objects  # and the earlier output is gone from the destination


def test_boxes_that_are_no_text_do_not_hide_a_picture_left():
    """The picture check leaves out the cells of detected text lines. The detector also boxes
    a strip of hair and ear beside a mask that missed the photo: a box much taller than the
    text and short, or one of which nothing was read surely, is not text there (else what is
    left of the face is hidden); a label, a long title in large print, a value are."""
    from redactor.verifiers.ocr import text_for_pictures

    def frame(x: float, y: float, long: float, tall: float) -> np.ndarray:
        return np.array([(x, y), (x + long, y), (x + long, y + tall), (x, y + tall)], np.float32)

    label = frame(100, 100, 60, 30)
    title = frame(100, 20, 400, 70)  # 2.3 text heights tall, but long: large print
    hair = frame(640, 120, 47, 87)  # 2.6 text heights tall, shorter than it is tall
    unread = frame(640, 300, 120, 30)  # text-sized, but nothing read in it surely
    outline = frame(600, 100, 300, 200)  # a masked photo's outline
    kept = text_for_pictures([label, title, hair, unread, outline], [False, False, False, True, False], 34.0)
    assert [k.tolist() for k in kept] == [label.tolist(), title.tolist()]
