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
from redactor.core.fields import DRIVER_LICENSE_FIELDS, ID_CARD_BACK_FIELDS, ID_CARD_FIELDS
from redactor.core.vocabulary import DL_TITLE, ID_BACK_TITLE
from redactor.generator import FAMILIES, HELD_OUT_FAMILIES, generate_set, render_one, render_specimen
from redactor.generator.idcard import ID_BACK_LABELS, ID_LABELS
from redactor.generator.identities import (
    ID_CHECK_CHARS,
    id_check_digit,
    is_valid_id_number,
    make_identity,
    make_license,
    pool_characters,
)
from redactor.generator.licence import DL_LABELS, DL_TITLE_EN
from redactor.generator.text import FONT_FILES

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


def test_font_subsets_are_small_and_the_serif_one_covers_the_pools() -> None:
    pytest.importorskip("fontTools")
    for name in FONT_FILES.values():
        size = resources.files("redactor.generator").joinpath("fonts", name).read_bytes()
        assert len(size) < 300 * 1024
    assert sorted(c for c in pool_characters() if ord(c) not in _cmap("serif")) == []
    licence = resources.files("redactor.generator").joinpath("fonts", "OFL.txt").read_text("utf-8")
    assert all(name in licence for name in FONT_FILES.values())


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


EXPECTED_FIELDS = {"id_front": ID_CARD_FIELDS, "id_back": ID_CARD_BACK_FIELDS, "dl_main": DRIVER_LICENSE_FIELDS}
ROTATIONS = {"scan": None, "photo": 90}


@pytest.mark.parametrize("variant", ["scan", "photo"])
@pytest.mark.parametrize("family", [f for names in FAMILIES.values() for f in names])
def test_truth_polygons_are_inside_and_cover_dark_glyphs(family: str, variant: str) -> None:
    kind = next(k for k, names in FAMILIES.items() if family in names)
    rotation = ROTATIONS[variant] if kind != "dl_main" else 180
    img, truth = render_one(kind, variant, 11, rotation, family=family, cropped=False)
    w, h = img.size
    assert (truth["width"], truth["height"]) == (w, h) and truth["family"] == family
    assert truth["rotation"] == (rotation if variant == "photo" else 0)
    assert _inside(truth["card_quad"], w, h)
    assert (truth["portrait"] is None) == (kind == "id_back")
    assert truth["portrait"] is None or _inside(truth["portrait"], w, h)
    assert [f["field"] for f in truth["fields"]] == list(EXPECTED_FIELDS[kind])
    gray = np.asarray(img.convert("L"), dtype=np.int16)
    portrait = _mask(truth["portrait"] or [[0, 0], [0, 0], [0, 0]], (w, h))
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
    paths = generate_set(tmp_path, count=12, seed=7, photo_fraction=0.5)
    assert len(paths) == 12
    kinds = set()
    for path in paths:
        truth, xml = _read(path)
        kinds.add(truth["kind"])
        assert truth["image"] == path.name
        with Image.open(path) as img:
            assert img.size == (truth["width"], truth["height"])
            if truth["variant"] != "photocopy":  # pages are PNG or JPEG at random
                assert img.format == ("PNG" if truth["variant"] == "scan" else "JPEG")
        detection = parse_response(xml)
        card = truth["cards"][0] if truth["kind"] == "photocopy" else truth  # a page's sidecar: its front only
        if card["kind"] in ("id_front", "dl_main"):
            assert detection.status == 1
            assert [f.canonical for f in detection.fields] == [f["field"] for f in card["fields"]]
            for located, f in zip(detection.fields, card["fields"], strict=True):
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
    assert {"id_front", "dl_main", "photocopy", "id_back"} <= kinds
    again = generate_set(tmp_path / "again", count=3, seed=7, photo_fraction=0.5)  # a prefix of the same set
    assert [p.name for p in again] == [p.name for p in paths[:3]]
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(paths, again, strict=False))


def test_id_back_and_noncard_sidecars_have_status_zero() -> None:
    for kind in ("id_back", "none"):
        spec = render_specimen(kind, "photo", 9)
        assert parse_response(spec.sidecar).status == 0
        assert spec.truth["card_type"] == (None if kind == "none" else "IDCardBack")
        assert spec.truth["family"] in ((None,) if kind == "none" else FAMILIES["id_back"])
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


# ---------------------------------------------------------------- stable outputs

#: sha256 over the names and bytes of the truth and sidecar files of ``generate_set(count=8, seed=5)``, as
#: written when layout families, photocopies and ID backs as cards were added: later changes must not move it.
DEFAULT_SET_DIGEST = "8ebc3853639be3b17ead3bf012c703980a9e2db6f578c3ab24a4acee3cbdda4b"


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


@pytest.mark.parametrize("index", [1, 4, 10, 11])  # a scan and photos (the placement code multi-card photos share)
def test_committed_samples_regenerate_identically(samples_dir: Path, tmp_path: Path, index: int) -> None:
    """The committed samples are base layouts: images and sidecars come out the same; the truth
    files predate families, so they lack ``family``/``cropped`` and call a back ``IDCard``."""
    from redactor.generator import render_sample, sample_plan, write_specimen

    kind, variant, rotation = sample_plan()[index - 1]
    committed = next(p for p in samples_dir.iterdir() if p.name.endswith((f"-{index:04d}.jpg", f"-{index:04d}.png")))
    spec = render_sample(kind, variant, 2024 * 1000 + index, rotation)
    written = write_specimen(spec, tmp_path, committed.name.rsplit(".", 1)[0])
    assert Path(f"{written}.ailicenserec.xml").read_bytes() == Path(f"{committed}.ailicenserec.xml").read_bytes()
    old = json.loads(Path(f"{committed}.truth.json").read_text("utf-8"))
    new = json.loads(Path(f"{written}.truth.json").read_text("utf-8"))
    assert new.pop("family") == {"id_front": "idf-a", "dl_main": "dl-a", "id_back": "idb-a"}[kind]
    assert new.pop("cropped", False) is False
    if kind == "id_back":
        assert (old["card_type"], new["card_type"]) == ("IDCard", "IDCardBack")
        old["card_type"] = new["card_type"]
    assert new == old
    if variant == "scan":
        assert written.read_bytes() == committed.read_bytes()
        return
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
    assert all(c["family"] in FAMILIES[c["kind"]] for c in truth["cards"])
    assert render_specimen("multi", "scan", 11).truth == render_specimen("multi", "photo", 11).truth


# ---------------------------------------------------------------- layout families and per-card variation


def _flat(family: str, seed: int, **options: Any) -> Any:
    """A flat card of ``family`` (its kind's identity, random style unless ``randomise=False``)."""
    from redactor.generator import CardOptions, _flat_card
    from redactor.generator.families import family_kind

    opts = CardOptions(families=(family,), **options)
    return _flat_card(family_kind(family), random.Random(seed), opts)


def _boxes_overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    ax, ay, bx, by = [p[0] for p in a], [p[1] for p in a], [p[0] for p in b], [p[1] for p in b]
    return min(ax) < max(bx) and min(bx) < max(ax) and min(ay) < max(by) and min(by) < max(ay)


@pytest.mark.parametrize("family", [f for names in FAMILIES.values() for f in names])
def test_random_styles_keep_values_on_the_card_clear_of_labels_photo_and_each_other(family: str) -> None:
    for seed in range(6):
        card = _flat(family, seed)
        w, h = card.image.size
        values = [f for f in card.fields if f.field != "issuing_authority" or card.kind != "dl_main"]  # seal: below
        for f in card.fields:
            assert all(6 <= x <= w - 6 and 6 <= y <= h - 6 for x, y in f.polygon), (family, seed, f.field)
        for i, f in enumerate(values):
            for g in values[i + 1 :]:
                assert not _boxes_overlap(f.polygon, g.polygon), (family, seed, f.field, g.field)
            if card.portrait is not None:
                assert not _boxes_overlap(f.polygon, card.portrait), (family, seed, f.field)
            for text, (x0, y0, x1, y1) in card.labels:
                label = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
                assert not _boxes_overlap(f.polygon, label), (family, seed, f.field, text)
            own = [box for text, box in card.labels if text == f.label]  # right of its label, on its row
            assert own and own[0][2] < min(p[0] for p in f.lines[0]) and own[0][1] < f.lines[0][2][1], f.field
        # the seal may cover labels (and the photo), never a kept value
        seal = next((f for f in card.fields if f.field == "issuing_authority" and card.kind == "dl_main"), None)
        for f in values if seal is not None else ():
            assert f.field not in ("gender", "nationality", "vehicle_class") or not _boxes_overlap(
                f.polygon, seal.lines[0]
            )
    # the same seed in two families: other positions
    a, b = _flat(family, 1), _flat(family, 2)
    assert [f.polygon for f in a.fields] != [f.polygon for f in b.fields]


def test_families_of_a_kind_differ_and_base_layouts_are_stable() -> None:
    for kind, names in FAMILIES.items():
        polygons = [[f.polygon for f in _flat(name, 3, randomise=False).fields] for name in names]
        assert all(p != q for i, p in enumerate(polygons) for q in polygons[i + 1 :]), kind
    assert _flat("idf-a", 3, randomise=False).fields == _flat("idf-a", 3, randomise=False).fields
    assert {names[-1] for names in FAMILIES.values()} == HELD_OUT_FAMILIES


def test_label_letter_spacing_widens_labels_and_leaves_values_alone() -> None:
    plain = _flat("idf-a", 4, randomise=False, tracking_em=0.0)
    spaced = _flat("idf-a", 4, randomise=False, tracking_em=1.0)
    width = {t: b[2] - b[0] for t, b in plain.labels}
    wide = {t: b[2] - b[0] for t, b in spaced.labels}
    assert wide["姓名"] - width["姓名"] == pytest.approx(28, abs=1.5)  # one em of the 28 px label font
    assert wide["住址"] > width["住址"] + 20
    assert wide["公民身份号码"] < width["公民身份号码"] + 5 * 28  # clipped: it ends before the ID number
    assert [f.polygon for f in spaced.fields] == [f.polygon for f in plain.fields]
    assert not np.array_equal(np.asarray(plain.image), np.asarray(spaced.image))
    held = _flat("idf-h", 4, randomise=False, tracking_em=0.0)  # letter-spaced by design: 姓  名
    name = next(b for t, b in held.labels if t == "姓名")
    assert name[2] - name[0] > 2 * 25 + 20


def test_values_use_both_type_families() -> None:
    from redactor.generator.idcard import draw_id_front
    from redactor.generator.identities import make_identity
    from redactor.generator.painter import Style, random_style
    from redactor.generator.tuned import IDF_A

    faces = {random_style(random.Random(seed), (1000, 631), (255, 255, 255), None).value_face for seed in range(20)}
    assert faces == {"regular", "serif"}
    person = make_identity(random.Random(5))
    sans = draw_id_front(IDF_A, person, random.Random(1), Style())
    serif = draw_id_front(IDF_A, person, random.Random(1), Style(value_face="serif"))
    assert sans.labels == serif.labels  # labels stay sans
    assert [f.polygon for f in sans.fields] != [f.polygon for f in serif.fields]  # other glyphs, other extents
    name = [round(v) for v in sans.fields[0].polygon[0] + sans.fields[0].polygon[2]]
    crop = (name[0], name[1], name[2], name[3])
    assert not np.array_equal(np.asarray(sans.image.crop(crop)), np.asarray(serif.image.crop(crop)))


def test_cropped_scans_have_no_background() -> None:
    cropped, uncropped = 0, 0
    for seed in range(8):
        spec = render_specimen("id_front", "scan", seed, family="idf-b")
        truth, img = spec.truth, np.asarray(spec.image, dtype=np.int16)
        h, w, _ = img.shape
        (x0, y0), (x1, _), (_, y1), _ = truth["card_quad"]
        # the middle of each edge (away from the rounded corners): scanner bed is neutral light grey
        strips = [
            img[2, w // 4 : 3 * w // 4],
            img[h - 3, w // 4 : 3 * w // 4],
            img[h // 4 : 3 * h // 4, 2],
            img[h // 4 : 3 * h // 4, w - 3],
        ]
        bed = [bool(((s.max(axis=1) - s.min(axis=1) <= 2) & (s.min(axis=1) >= 240)).mean() > 0.9) for s in strips]
        if truth["cropped"]:
            cropped += 1
            assert not any(bed), seed
            assert x0 <= 0 and y0 <= 0 and x1 >= w and y1 >= h  # the card fills the image ...
            assert x0 >= -0.011 * 1000 - 1 and x1 <= w + 0.011 * 1000 + 1  # ... trimmed by at most 1%
        else:
            uncropped += 1
            assert all(bed) and x0 >= 30 and y0 >= 30, seed
    assert cropped and uncropped


@pytest.mark.parametrize("dpi", [200, 300])
def test_photocopy_page_is_grey_a4_with_front_above_back(dpi: int) -> None:
    spec = render_specimen("photocopy", "photocopy", dpi, dpi=dpi)
    truth = spec.truth
    assert (truth["kind"], truth["variant"], truth["dpi"]) == ("photocopy", "photocopy", dpi)
    assert (truth["width"], truth["height"]) == spec.image.size == (round(210 / 25.4 * dpi), round(297 / 25.4 * dpi))
    arr = np.asarray(spec.image)
    assert spec.image.mode == "L" or (spec.image.mode == "RGB" and (arr == arr[..., :1]).all())
    front, back = truth["cards"]
    assert (front["kind"], front["card_type"], back["kind"], back["card_type"]) == (
        "id_front",
        "IDCard",
        "id_back",
        "IDCardBack",
    )
    assert front["portrait"] and back["portrait"] is None
    w, h = spec.image.size
    for card in truth["cards"]:
        quad = card["card_quad"]
        assert _inside(quad, w, h)
        top = np.hypot(quad[1][0] - quad[0][0], quad[1][1] - quad[0][1])
        assert top == pytest.approx(85.6 / 25.4 * dpi, rel=0.002)  # true size
        angle = np.degrees(np.arctan2(quad[1][1] - quad[0][1], quad[1][0] - quad[0][0]))
        assert abs(angle) <= 3.0
        assert all(_inside(f["polygon"], w, h) for f in card["fields"])
    assert max(p[1] for p in front["card_quad"]) < min(p[1] for p in back["card_quad"])  # front above back
    assert back["fields"][0]["value"].split("公安局")[0] in front["fields"][4]["value"]  # one person: issuer's city
    detection = parse_response(spec.sidecar)
    assert [f.canonical for f in detection.fields] == list(ID_CARD_FIELDS)  # the front only
    # the ink of the front's ID number is inside its polygon
    number = next(f for f in front["fields"] if f["field"] == "id_number")
    gray = np.asarray(spec.image.convert("L"), dtype=np.int16)
    mask = _mask(number["polygon"], (w, h))
    xs, ys = [p[0] for p in number["polygon"]], [p[1] for p in number["polygon"]]
    pad = 6
    x0, y0, x1, y1 = int(min(xs)) - pad, int(min(ys)) - pad, int(max(xs)) + pad, int(max(ys)) + pad
    window = gray[y0:y1, x0:x1] < 70
    assert window[mask[y0:y1, x0:x1]].sum() > 50 and window[~mask[y0:y1, x0:x1]].sum() <= 0.02 * window.sum()


def test_photocopies_come_as_png_and_jpeg_in_both_modes(tmp_path: Path) -> None:
    seen = set()
    for seed in range(6):
        spec = render_specimen("photocopy", "photocopy", seed, dpi=60)  # tiny pages: only the choices matter
        seen.add((spec.extension, spec.image.mode))
    assert {e for e, _ in seen} == {".png", ".jpg"} and {m for _, m in seen} == {"L", "RGB"}


def test_generate_set_draws_only_the_chosen_families(tmp_path: Path) -> None:
    paths = generate_set(tmp_path, count=6, seed=2, kinds=("id_front", "dl_main", "photocopy"), families=["idf-h"])
    for path in paths:
        truth = json.loads(Path(f"{path}.truth.json").read_text("utf-8"))
        front = truth["cards"][0] if truth["kind"] == "photocopy" else truth
        assert front["kind"] == "id_front" and front["family"] == "idf-h", path.name
    with pytest.raises(ValueError):
        generate_set(tmp_path, count=1, seed=1, families=["idf-z"])
    with pytest.raises(ValueError):
        generate_set(tmp_path, count=1, seed=1, kinds=("dl_main",), families=["idf-a"])
    with pytest.raises(ValueError):
        render_specimen("id_front", "scan", 1, family="dl-a")
    with pytest.raises(ValueError):
        render_specimen("id_front", "photocopy", 1)


def test_generate_cli_families_option(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from redactor.generator.cli import generate_command

    app = typer.Typer()
    app.command("generate")(generate_command)
    app.command("noop")(lambda: None)
    ok = CliRunner().invoke(app, ["generate", str(tmp_path), "-n", "2", "--kinds", "dl_main", "--families", "dl-b"])
    assert ok.exit_code == 0, ok.output
    truths = [json.loads(p.read_text("utf-8")) for p in tmp_path.glob("*.truth.json")]
    assert len(truths) == 2 and {t["family"] for t in truths} == {"dl-b"}
    bad = CliRunner().invoke(app, ["generate", str(tmp_path), "--families", "nope"])
    assert bad.exit_code == 2 and "unknown family" in bad.output
    empty = CliRunner().invoke(app, ["generate", str(tmp_path), "--kinds", "dl_main", "--families", "idf-a"])
    assert empty.exit_code == 2
