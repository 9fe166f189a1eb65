"""Tests for the synthetic specimen generator: ID arithmetic, font coverage, determinism, truth."""

from __future__ import annotations

import json
import random
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from redactor.core.ailicenserec import parse_response
from redactor.core.fields import DRIVER_LICENSE_FIELDS, ID_CARD_FIELDS
from redactor.generator import generate_set, render_one, render_specimen
from redactor.generator.identities import (
    ID_CHECK_CHARS,
    id_check_digit,
    is_valid_id_number,
    make_identity,
    make_license,
    pool_characters,
)
from redactor.generator.render import (
    DL_LABELS,
    DL_TITLE,
    DL_TITLE_EN,
    FONT_FILES,
    ID_BACK_LABELS,
    ID_BACK_TITLE,
    ID_LABELS,
)

# ---------------------------------------------------------------- ID numbers


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        # 5*7+1*9+0*10+1*5+0*8+8*4+1*2+9*1+8*6+5*3+0*7+6*9+1*10+2*5+0*8+0*4+3*2 = 235; 235 % 11 = 4 -> "8"
        ("51010819850612003", "8"),
        # 21+27+0+5+0+24+2+9+54+6+0+72+10+25+0+0+8 = 263; 263 % 11 = 10 -> "2"
        ("33010619920815004", "2"),
        # 7+9+0+5+0+8+2+9+48+0+0+9+0+5+0+0+10 = 112; 112 % 11 = 2 -> "X"
        ("11010219800101005", "X"),
    ],
)
def test_check_digit_known_vectors(first17: str, check: str) -> None:
    assert id_check_digit(first17) == check
    assert is_valid_id_number(first17 + check)
    assert not is_valid_id_number(first17 + ("0" if check != "0" else "1"))


def test_check_digit_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        id_check_digit("1234")
    assert not is_valid_id_number("11010219800101005x")
    assert not is_valid_id_number("1101021980010100")


@pytest.mark.parametrize("seed", range(200))
def test_identity_numbers_are_consistent(seed: int) -> None:
    person = make_identity(random.Random(seed))
    number = person.id_number
    assert is_valid_id_number(number)
    assert number[:2] == person.province.code
    assert number[6:14] == person.birth.strftime("%Y%m%d")
    assert int(number[16]) % 2 == (1 if person.gender == "男" else 0)
    # changing any single digit breaks the check (MOD 11-2 detects all single errors)
    i = seed % 17
    other = str((int(number[i]) + 1 + seed % 9) % 10)
    assert not is_valid_id_number(number[:i] + other + number[i + 1 :])
    assert ID_CHECK_CHARS.index(number[17]) >= 0


def test_license_number_is_the_id_number() -> None:
    lic = make_license(random.Random(3))
    assert lic.license_number == lic.holder.id_number
    assert lic.first_issue.year - lic.holder.birth.year >= 18
    assert " 至 " in lic.valid_period


# ---------------------------------------------------------------- font


@cache
def _cmap(style: str) -> set[int]:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # dev dependency; only the tests and make_subset.py need it

    ref = resources.files("redactor.generator").joinpath("fonts", FONT_FILES[style])
    with resources.as_file(ref) as path:
        return set(TTFont(str(path))["cmap"].getBestCmap())


def test_every_pool_character_is_in_the_font_subset() -> None:
    pytest.importorskip("fontTools")
    printed = (
        "".join(ID_LABELS.values()) + "".join(ID_BACK_LABELS.values()) + "".join(a + b for a, b in DL_LABELS.values())
    )
    assert set(printed + DL_TITLE + DL_TITLE_EN + "".join(ID_BACK_TITLE)) <= pool_characters()
    missing = sorted(c for c in pool_characters() if ord(c) not in _cmap("regular"))
    assert missing == []
    bold_missing = sorted(c for c in DL_TITLE + "".join(ID_BACK_TITLE) if ord(c) not in _cmap("bold"))
    assert bold_missing == []


def test_generated_text_only_uses_pool_characters() -> None:
    chars = pool_characters()
    for seed in range(300):
        lic = make_license(random.Random(seed))
        person = lic.holder
        values = (person.name, person.address, person.ethnicity, person.id_issuer, person.id_valid_period)
        for value in (*values, lic.authority, lic.valid_period, lic.vehicle_class, lic.license_number):
            assert set(value) <= chars, value
    for seed in range(4):  # and what the renderer formats (dates with 年月日, etc.)
        _, truth = render_one(("id_front", "id_back", "dl_main")[seed % 3], "scan", seed)
        for f in truth["fields"]:
            assert set(f["value"]) <= chars, f["field"]


def test_font_subset_is_small() -> None:
    for name in FONT_FILES.values():
        size = resources.files("redactor.generator").joinpath("fonts", name).read_bytes()
        assert len(size) < 600 * 1024


# ---------------------------------------------------------------- images and truth


def test_same_seed_same_output() -> None:
    a_img, a_truth = render_one("dl_main", "photo", 42)
    b_img, b_truth = render_one("dl_main", "photo", 42)
    assert a_truth == b_truth
    assert np.array_equal(np.asarray(a_img), np.asarray(b_img))
    _, c_truth = render_one("dl_main", "photo", 43)
    assert c_truth != a_truth


def _inside(points: list[list[float]], width: int, height: int) -> bool:
    return all(0 <= x <= width and 0 <= y <= height for x, y in points)


def _mask(polygon: list[list[float]], size: tuple[int, int]) -> np.ndarray:
    img = Image.new("L", size, 0)
    ImageDraw.Draw(img).polygon([tuple(p) for p in polygon], fill=255, outline=255)
    return np.asarray(img) > 0


@pytest.mark.parametrize(
    ("kind", "variant", "rotation"),
    [("id_front", "scan", None), ("dl_main", "scan", None), ("id_front", "photo", 90), ("dl_main", "photo", 180)],
)
def test_truth_polygons_are_inside_and_cover_dark_glyphs(kind: str, variant: str, rotation: int | None) -> None:
    img, truth = render_one(kind, variant, 11, rotation)
    w, h = img.size
    assert (truth["width"], truth["height"]) == (w, h)
    assert truth["rotation"] == (rotation or 0)
    assert _inside(truth["card_quad"], w, h) and _inside(truth["portrait"], w, h)
    expected = ID_CARD_FIELDS if kind == "id_front" else DRIVER_LICENSE_FIELDS
    assert [f["field"] for f in truth["fields"]] == list(expected)
    gray = np.asarray(img.convert("L"), dtype=np.int16)
    portrait = _mask(truth["portrait"], (w, h))
    for f in truth["fields"]:
        assert _inside(f["polygon"], w, h) and all(_inside(q, w, h) for q in f["lines"])
        if f["field"] == "issuing_authority":
            continue  # red seal text, checked by eye; its polygon is a circle around the ring
        poly = _mask(f["polygon"], (w, h))
        grown = np.asarray(Image.fromarray(poly).filter(ImageFilter.MaxFilter(3)))  # shared edges rasterise differently
        for line in f["lines"]:
            assert not (_mask(line, (w, h)) & ~grown).any(), f"{f['field']}: a line quad sticks out of the polygon"
            xs, ys = [p[0] for p in line], [p[1] for p in line]
            pad = 4
            x0, y0 = max(int(min(xs)) - pad, 0), max(int(min(ys)) - pad, 0)
            x1, y1 = min(int(max(xs)) + pad + 1, w), min(int(max(ys)) + pad + 1, h)
            # the line quad grown by ``pad`` px: ink that spills out of the quad would be found here
            near = Image.fromarray(_mask(line, (w, h))[y0:y1, x0:x1]).filter(ImageFilter.MaxFilter(2 * pad + 1))
            region = np.asarray(near) & ~portrait[y0:y1, x0:x1]
            local = gray[y0:y1, x0:x1]
            # scans: fixed ink level; photos (uneven light, blur): halfway between paper and the darkest ink
            threshold = 70 if variant == "scan" else (np.median(local[region]) + local[region].min()) / 2
            window = (local < threshold) & region
            assert window.sum() > 10, f"{f['field']}: no glyph pixels near the line"
            outside = window & ~poly[y0:y1, x0:x1]
            # photos are blurred: allow a faint fringe, never a stroke left outside
            assert outside.sum() <= (0 if variant == "scan" else 0.03 * window.sum()), f["field"]


def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    truth = json.loads(Path(f"{path}.truth.json").read_text(encoding="utf-8"))
    return truth, Path(f"{path}.ailicenserec.xml").read_bytes()


def test_generate_set_writes_images_truth_and_sidecars(tmp_path: Path) -> None:
    paths = generate_set(tmp_path, count=10, seed=5, photo_fraction=0.5)
    assert len(paths) == 10
    kinds = set()
    for path in paths:
        truth, xml = _read(path)
        kinds.add(truth["kind"])
        assert truth["image"] == path.name
        with Image.open(path) as img:
            assert img.size == (truth["width"], truth["height"])
            assert img.format == ("PNG" if truth["variant"] == "scan" else "JPEG")
        detection = parse_response(xml)
        if truth["kind"] in ("id_front", "dl_main"):
            assert detection.status == 1
            assert [f.canonical for f in detection.fields] == [f["field"] for f in truth["fields"]]
            for located, f in zip(detection.fields, truth["fields"], strict=True):
                assert located.detected_text == f["value"]
                assert 90 <= located.score <= 99
                assert len(located.polygon.points) == 4
                assert all(float(x).is_integer() and float(y).is_integer() for x, y in located.polygon.points)
                x0, y0, x1, y1 = located.polygon.bounds
                tx = [p[0] for q in f["lines"] for p in q]
                ty = [p[1] for q in f["lines"] for p in q]
                assert x0 <= min(tx) and y0 <= min(ty) and x1 >= max(tx) and y1 >= max(ty)
        else:
            assert detection.status == 0 and detection.fields == ()
            assert xml.strip() == b"<Response>\n<Status>0</Status>\n</Response>"
    assert {"id_front", "dl_main"} <= kinds
    again = generate_set(tmp_path / "again", count=3, seed=5, photo_fraction=0.5)  # a prefix of the same set
    assert [p.name for p in again] == [p.name for p in paths[:3]]
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(paths, again, strict=False))


def test_id_back_and_noncard_sidecars_have_status_zero() -> None:
    for kind in ("id_back", "none"):
        spec = render_specimen(kind, "photo", 9)
        assert parse_response(spec.sidecar).status == 0
        assert spec.truth["card_type"] == (None if kind == "none" else "IDCard")
    assert render_specimen("none", "photo", 9).truth["card_quad"] is None


def test_sidecar_names_resolve_in_chinese_and_english() -> None:
    seen: set[str] = set()
    for seed in range(16):
        spec = render_specimen("id_front", "scan", seed)
        names = [f.raw_name for f in parse_response(spec.sidecar).fields]
        seen.add("en" if names[0] == "Name" else "zh")
        assert [f.canonical for f in parse_response(spec.sidecar).fields] == list(ID_CARD_FIELDS)
    assert seen == {"en", "zh"}


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        render_one("passport", "scan", 1)
    with pytest.raises(ValueError):
        render_one("id_front", "scan", 1, rotation=45)
    with pytest.raises(ValueError):
        generate_set(tmp_path, count=1, seed=1, kinds=("passport",))


def test_committed_samples_are_consistent(samples_dir: Path) -> None:
    images = sorted(p for p in samples_dir.iterdir() if p.suffix in (".png", ".jpg"))
    if not images:
        pytest.skip("no committed samples")
    assert len(images) == 12
    assert sum(p.stat().st_size for p in samples_dir.iterdir()) <= 3 * 1024 * 1024
    for path in images:
        truth, xml = _read(path)
        assert truth["image"] == path.name
        detection = parse_response(xml, image_size=(truth["width"], truth["height"]))
        if truth["kind"] in ("id_front", "dl_main"):
            assert [f.canonical for f in detection.fields] == [f["field"] for f in truth["fields"]]
        else:
            assert detection.status == 0


# ---------------------------------------------------------------- multi-card photos keep old outputs stable

#: sha256 over the names and bytes of the truth and sidecar files of ``generate_set(count=8, seed=5)``, as
#: written before multi-card photos existed: adding the ``multi`` kind must not change any existing output.
DEFAULT_SET_DIGEST = "e9d7448d08f768834fd4719e4a9845e4277d33fd5d475ea72c4ab91f67a9f2d1"


def test_default_kinds_still_give_the_same_files(tmp_path: Path) -> None:
    import hashlib

    generate_set(tmp_path, count=8, seed=5)
    digest = hashlib.sha256()
    for p in sorted(tmp_path.iterdir()):
        if p.name.endswith((".truth.json", ".ailicenserec.xml")):
            digest.update(p.name.encode())
            digest.update(p.read_bytes())
    assert digest.hexdigest() == DEFAULT_SET_DIGEST
    assert not any("multicard" in p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("index", [4, 10, 11])  # photos: the placement code that multi-card photos share
def test_committed_photo_samples_regenerate_identically(samples_dir: Path, tmp_path: Path, index: int) -> None:
    from redactor.generator import sample_plan, write_specimen  # the full set takes seconds; photos suffice

    kind, variant, rotation = sample_plan()[index - 1]
    committed = next(p for p in samples_dir.iterdir() if p.name.endswith(f"-{index:04d}.jpg"))
    spec = render_specimen(kind, variant, 2024 * 1000 + index, rotation)
    written = write_specimen(spec, tmp_path, committed.name.removesuffix(".jpg"))
    for suffix in (".truth.json", ".ailicenserec.xml"):
        assert Path(f"{written}{suffix}").read_bytes() == Path(f"{committed}{suffix}").read_bytes()
    with Image.open(committed) as img:
        diff = np.abs(np.asarray(img.convert("RGB"), dtype=np.float32) - np.asarray(spec.image, dtype=np.float32))
    assert diff.mean() < 4  # JPEG loss only: a moved card or another background would be far off


def test_multi_card_photo_truth_and_sidecar_agree() -> None:
    spec = render_specimen("multi", "photo", 11, rotation=90)
    truth = spec.truth
    assert [c["rotation"] for c in truth["cards"]] == [90, 90]
    detection = parse_response(spec.sidecar, image_size=(truth["width"], truth["height"]))
    assert detection.status == 1
    assert len(detection.fields) == sum(len(c["fields"]) for c in truth["cards"])
    values = [f["value"] for c in truth["cards"] for f in c["fields"]]
    assert [f.detected_text for f in detection.fields] == values
    w, h = truth["width"], truth["height"]
    for card in truth["cards"]:
        assert _inside(card["card_quad"], w, h) and _inside(card["portrait"], w, h)
        assert all(_inside(f["polygon"], w, h) for f in card["fields"])
    a, b = (_mask(c["card_quad"], (w, h)) for c in truth["cards"])
    assert not (a & b).any()
    assert render_specimen("multi", "scan", 11).truth == render_specimen("multi", "photo", 11).truth
