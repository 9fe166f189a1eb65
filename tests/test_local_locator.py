"""The offline locator on the real OCR model: committed samples, rotations, several cards,
refusals, and proof that it never touches the network."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
from PIL import Image, ImageFilter

from redactor.core.fields import CardTypeHint
from redactor.core.imaging import decode
from redactor.core.results import Decision
from redactor.evaluation import evaluate_detection, evaluate_image, find_images, load_truth
from redactor.generator import render_one
from redactor.locators.base import LocateRequest
from redactor.locators.local import LocalLocator
from redactor.policy_files import load_bundled_policy

from .conftest import SAMPLES

POLICY = load_bundled_policy("default")


@pytest.fixture(scope="module")
def locator() -> LocalLocator:
    return LocalLocator()


@pytest.mark.parametrize("path", find_images(SAMPLES), ids=lambda p: p.name)
def test_committed_samples(locator, path):
    result = evaluate_image(path, locator, POLICY)
    assert not result.silent_leak
    if result.kind == "none":
        assert result.decision is Decision.QUARANTINED
        return
    assert result.decision is Decision.REDACTED, result.reasons
    assert result.all_sensitive_covered, result.failures()
    wanted = {"issuing_authority", "valid_period"} if result.kind == "id_back" else {"name", "address", "portrait"}
    assert {f.field for f in result.sensitive} >= wanted
    if result.variant == "scan":  # on photos a kept value may be boxed with a doubtful neighbour
        assert result.kept_intact is not False, result.failures()


def _rotate(image: Image.Image, truth: dict, quarter_turns: int) -> tuple[Image.Image, dict]:
    """Turn the image (and every truth polygon) clockwise by 90 degrees ``quarter_turns`` times."""
    truth = json.loads(json.dumps(truth))
    for _ in range(quarter_turns):
        w, h = image.size
        image = image.transpose(Image.Transpose.ROTATE_270)

        def turn(poly, h=h):
            return [[h - y, x] for x, y in poly]

        for key in ("card_quad", "portrait"):
            if truth.get(key):
                truth[key] = turn(truth[key])
        for f in truth["fields"]:
            f["polygon"] = turn(f["polygon"])
        truth["width"], truth["height"] = h, w
    return image, truth


@pytest.mark.parametrize("turns", [1, 2, 3])
@pytest.mark.parametrize("kind", ["id_front", "dl_main"])
def test_rotated_cards(locator, kind, turns):
    family = {"id_front": "idf-a", "dl_main": "dl-a"}[kind]
    image, truth = render_one(kind, "scan", seed=41 + turns, family=family)
    image, truth = _rotate(image, truth, turns)
    detection = locator.locate(LocateRequest(image))
    result = evaluate_detection(f"{kind}-{turns}", load_truth(truth), detection, POLICY)
    assert result.decision is Decision.REDACTED, result.reasons
    assert result.all_sensitive_covered, result.failures()


def test_two_cards_in_one_photo(locator, tmp_path):
    from redactor.generator import generate_set

    (path,) = generate_set(tmp_path, count=1, seed=11, kinds=("multi",))
    result = evaluate_image(path, locator, POLICY)
    assert not result.silent_leak
    assert len({f.card for f in result.fields}) == 2
    if result.decision is Decision.REDACTED:
        assert result.all_sensitive_covered, result.failures()


def test_illegible_card_is_refused_not_guessed(locator):
    image, _ = render_one("id_front", "scan", seed=5, family="idf-a")
    blurred = image.filter(ImageFilter.GaussianBlur(9))
    detection = locator.locate(LocateRequest(blurred))
    assert detection.status == 0 and not detection.fields


def test_card_type_hint_limits_the_search(locator):
    image = decode((SAMPLES / "idcard-front-scan-0001.png").read_bytes()).image
    assert locator.locate(LocateRequest(image, CardTypeHint.DRIVER_LICENSE)).status == 0
    assert locator.locate(LocateRequest(image, CardTypeHint.ID_CARD)).status == 1


def test_scores_and_shape_match_the_cloud_result(locator):
    image = decode((SAMPLES / "license-scan-0007.png").read_bytes()).image
    detection = locator.locate(LocateRequest(image))
    assert detection.card_quad is not None
    names = {f.canonical: f.raw_name for f in detection.fields}
    assert names["license_number"] == "证号" and names["portrait"] == "portrait"
    assert all(0 <= f.score <= 100 and len(f.polygon.points) >= 3 for f in detection.fields)
    assert all(f.detected_text is None for f in detection.fields)  # it locates, it does not transcribe


def test_works_with_the_network_blocked(monkeypatch):
    """No model or file is fetched at run time: load the models and locate with sockets refused."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    from redactor.locators.local.ocr import OcrModels

    fresh = LocalLocator(OcrModels())
    image = decode((SAMPLES / "idcard-front-photo-0005.jpg").read_bytes()).image
    detection = fresh.locate(LocateRequest(image))
    assert detection.status == 1 and detection.fields
    assert attempts == []


def test_shared_across_threads(locator):
    from concurrent.futures import ThreadPoolExecutor

    images = [decode(p.read_bytes()).image for p in find_images(SAMPLES)[:4]]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda im: locator.locate(LocateRequest(im)), images))
    serial = [locator.locate(LocateRequest(im)) for im in images]
    for a, b in zip(parallel, serial, strict=True):
        assert [(f.canonical, f.score) for f in a.fields] == [(f.canonical, f.score) for f in b.fields]
        for fa, fb in zip(a.fields, b.fields, strict=True):
            assert np.allclose(fa.polygon.points, fb.polygon.points)


# --------------------------------------------------------------------------- cards read as printed
# Tuned families only (idf-a/b, dl-a/b, idb-a): held-out families are for evaluation.


def _specimen_result(locator, kind, variant, seed, **options):
    from redactor.generator import render_specimen
    from redactor.pipeline import locate_fields

    spec = render_specimen(kind, variant, seed, **options)
    request = LocateRequest(spec.image)
    detection = locate_fields(locator, request, POLICY)
    return spec, evaluate_detection(f"{kind}-{seed}", load_truth(spec.truth), detection, POLICY)


def _assert_served(result):
    assert result.decision is Decision.REDACTED, result.reasons
    assert not result.silent_leak and result.all_sensitive_covered, result.failures()
    assert result.kept_intact is not False, result.failures()


@pytest.mark.parametrize("tracking", [0.8, 1.5])
def test_letter_spaced_labels(locator, tracking):
    _spec, result = _specimen_result(locator, "id_front", "scan", 301, family="idf-b", tracking_em=tracking)
    _assert_served(result)
    assert result.portrait_covered


def test_card_cropped_at_its_edge(locator):
    spec, result = _specimen_result(locator, "id_front", "scan", 302, family="idf-a", cropped=True)
    assert spec.truth["cropped"] is True
    _assert_served(result)
    assert result.portrait_covered


@pytest.mark.parametrize("dpi", [200, 300])
def test_photocopy_page_with_front_and_back_redacts_both(locator, dpi):
    spec, result = _specimen_result(locator, "photocopy", "photocopy", 303 + dpi, dpi=dpi)
    assert [c["card_type"] for c in spec.truth["cards"]] == ["IDCard", "IDCardBack"]
    _assert_served(result)
    assert {f.card for f in result.sensitive} == {0, 1}  # the front's fields and the back's


def test_licence_with_the_photo_lower_and_the_seal_lower_left(locator):
    _spec, result = _specimen_result(locator, "dl_main", "scan", 304, family="dl-b")
    _assert_served(result)
    assert result.portrait_covered


def test_a_seal_over_the_photo_beyond_the_values_is_found(locator, monkeypatch):
    # the seal printed right of the value columns, over the photo's top (a print version
    # with a narrow value column): looked for as far as the photo is, not only by the rows
    from dataclasses import replace

    from redactor.generator import specimens

    layout = replace(specimens.LAYOUTS["dl-b"], seal=(925.0, 330.0, 62.0), seal_jitter=(0.0, 0.0))
    monkeypatch.setitem(specimens.LAYOUTS, "dl-b", layout)
    _spec, result = _specimen_result(locator, "dl_main", "scan", 307, family="dl-b", randomise=False)
    _assert_served(result)
    assert result.portrait_covered
    assert any(f.field == "issuing_authority" and f.covered for f in result.sensitive)


def test_the_two_last_rows_are_named_by_their_order_when_their_labels_are_unreadable(locator):
    # a seal or a smudge over the lower labels of a licence (准驾车型, 有效期限): the two
    # value rows under the last label read are the two rows missing, in order
    from PIL import ImageDraw

    from redactor.generator import render_specimen
    from redactor.pipeline import locate_fields

    spec = render_specimen("dl_main", "scan", 308, family="dl-a", randomise=False)
    image = spec.image.copy()
    draw = ImageDraw.Draw(image)
    left = min(p[0] for p in spec.truth["card_quad"]) + 15
    for f in spec.truth["fields"]:
        if f["field"] in ("vehicle_class", "valid_period"):
            xs, ys = [p[0] for p in f["polygon"]], [p[1] for p in f["polygon"]]
            card_colour = image.getpixel((int(min(xs)) - 8, int(min(ys)) - 8))
            draw.rectangle([left, min(ys) - 6, min(xs) - 12, max(ys) + 6], fill=card_colour)
    detection = locate_fields(locator, LocateRequest(image), POLICY)
    result = evaluate_detection("unreadable-lower-labels", load_truth(spec.truth), detection, POLICY)
    _assert_served(result)
    named = {f.canonical for f in detection.fields}
    assert {"vehicle_class", "valid_period"} <= named


def test_ailicenserec_answer_for_such_a_licence_gets_its_portrait_from_the_pixels():
    from redactor.core.ailicenserec import parse_response
    from redactor.generator import render_specimen
    from redactor.locators import StaticLocator
    from redactor.pipeline import locate_fields

    spec = render_specimen("dl_main", "photo", 305, family="dl-b")
    answer = parse_response(spec.sidecar)
    assert not any(f.is_portrait for f in answer.fields)  # the service never returns the photo
    detection = locate_fields(StaticLocator(answer), LocateRequest(spec.image), POLICY)
    portrait = [f for f in detection.fields if f.is_portrait]
    assert len(portrait) == 1
    result = evaluate_detection("cloud-dl-b", load_truth(spec.truth), detection, POLICY)
    _assert_served(result)
    assert result.portrait_covered


def test_id_back_is_redacted_by_the_local_engine(locator):
    spec, result = _specimen_result(locator, "id_back", "photo", 306, family="idb-a")
    assert spec.truth["card_type"] == "IDCardBack"
    _assert_served(result)
    assert {f.field for f in result.sensitive} == {"issuing_authority", "valid_period"}
