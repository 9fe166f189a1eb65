"""The photo and the seal found from the pixels (the core's finder, on synthetic cards)."""

from __future__ import annotations

import numpy as np

from redactor.core.frame import Box, CardFrame
from redactor.core.portrait import find_portrait, find_seal

FRAME = CardFrame((0.0, 0.0), (1.0, 0.0), 24.0)


def _card_on_a_page() -> tuple[np.ndarray, list[np.ndarray]]:
    """A grey card on a white page (as photocopied), labels on its left, a photo on its right,
    and a dark smudge on the page just beyond the card's right edge, larger than the photo."""
    rgb = np.full((700, 1100, 3), 250, np.uint8)  # the page
    rgb[100:600, 100:900] = 200  # the card
    labels = []
    for y in range(150, 500, 60):
        rgb[y : y + 24, 150:250:8] = 60  # strokes of a label
        rgb[y : y + 24, 300:640:9] = 70  # strokes of a value
        labels.append(np.array([(148, y - 2), (252, y - 2), (252, y + 26), (148, y + 26)], np.float32))
        labels.append(np.array([(298, y - 2), (642, y - 2), (642, y + 26), (298, y + 26)], np.float32))
    rgb[220:300, 700:790] = 40  # hair
    rgb[270:400, 710:780] = 150  # a face, grey
    rgb[400:480, 680:810] = 90  # shoulders
    rgb[130:560, 930:1060] = 110  # a smudge on the page, off the card
    return rgb, labels


def test_the_photo_is_found_on_the_card_not_beside_it():
    rgb, labels = _card_on_a_page()
    region = Box(60, 60, 1090, 660)
    found = find_portrait(rgb, FRAME, region, labels, rows=Box(148, 148, 642, 500))
    assert found is not None
    assert found.core is not None and found.core.u1 <= 900  # not the smudge beyond the card's edge
    assert found.box.u0 <= 690 and found.box.u1 >= 800 and found.box.v0 <= 225 and found.box.v1 >= 470


def test_a_narrow_figure_is_still_a_photo():
    # a pale face like the card shows nothing: what stands out (hair, a strip of shirt) is a
    # figure under a third as wide as it is tall
    rgb, labels = _card_on_a_page()
    rgb[220:480, 680:820] = 200  # no photo as drawn ...
    rgb[210:300, 710:790] = 40  # ... but dark hair
    rgb[300:400, 740:790] = 120  # a shadowed side of the face
    rgb[400:480, 730:800] = 90  # and a narrow strip of shirt
    found = find_portrait(rgb, FRAME, Box(60, 60, 1090, 660), labels, rows=Box(148, 148, 642, 500))
    assert found is not None
    assert found.box.u0 <= 710 and found.box.u1 >= 790 and found.box.v0 <= 210 and found.box.v1 >= 480


def test_a_photo_cut_by_the_search_region_is_looked_for_again_wider():
    # values that end early leave the region short of the photo's far side: the photo is
    # found whole, not as far as the region reached
    rgb, labels = _card_on_a_page()
    found = find_portrait(rgb, FRAME, Box(60, 60, 790, 660), labels, rows=Box(148, 148, 642, 500))
    assert found is not None and found.core is not None
    assert found.core.u1 >= 800 and found.box.u1 >= 810


def test_a_photo_under_a_seal_reaches_as_far_as_the_seal_does():
    # the seal over the photo's top hides where the photo starts: its box goes up to the seal's
    rgb, labels = _card_on_a_page()
    seal = np.array([(690, 120), (830, 120), (830, 250), (690, 250)], np.float32)
    found = find_portrait(rgb, FRAME, Box(60, 60, 1090, 660), labels, rows=Box(148, 148, 642, 500), exclude=[seal])
    assert found is not None
    assert found.box.v0 <= 120 and found.box.v1 >= 470


def test_a_seal_two_and_a_half_text_heights_across_is_found():
    rgb, labels = _card_on_a_page()
    rgb[220:480, 680:820] = 200  # no photo on this card
    yy, xx = np.mgrid[0:700, 0:1100]
    ring = np.abs(np.hypot(xx - 380, yy - 520) - 27) <= 4  # 60 px across: 2.5 text heights
    rgb[ring] = (210, 40, 40)
    found = find_seal(rgb, FRAME, Box(60, 60, 1090, 660), labels)
    assert found is not None
    assert found.box.u0 <= 353 and found.box.u1 >= 407 and found.box.v0 <= 493 and found.box.v1 >= 547


def test_a_washed_out_seal_is_found_and_a_solid_red_sticker_is_none():
    rgb, labels = _card_on_a_page()
    rgb[220:480, 680:820] = 200  # no photo on this card
    yy, xx = np.mgrid[0:700, 0:1100]
    ring = np.abs(np.hypot(xx - 380, yy - 520) - 40) <= 4
    rgb[ring] = (215, 150, 150)  # a phone photo's seal: pink, not red
    found = find_seal(rgb, FRAME, Box(60, 60, 1090, 660), labels)
    assert found is not None
    assert found.box.u0 <= 340 and found.box.u1 >= 420 and found.box.v0 <= 480 and found.box.v1 >= 560
    rgb[ring] = 200
    rgb[500:560, 700:760] = (210, 40, 40)  # a solid red square on the card: a sticker, no seal
    assert find_seal(rgb, FRAME, Box(60, 60, 1090, 660), labels) is None
