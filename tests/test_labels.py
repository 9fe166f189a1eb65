"""Label reading on lines as the detector cuts them (synthetic lines, no model)."""

from __future__ import annotations

import numpy as np

from redactor.locators.local.labels import find_labels
from redactor.locators.local.ocr import TextBox
from redactor.locators.local.reading import Line

HEIGHT = 30.0
PITCH = 30.0  # one character per text height


def line(text: str, x: float, y: float = 100.0, gap_after: float = 0.0) -> Line:
    """A read line of ``text`` starting at ``x``, one character per ``PITCH``."""
    length = PITCH * len(text) + gap_after
    frame = np.array([[x, y], [x + length, y], [x + length, y + HEIGHT], [x, y + HEIGHT]], dtype=np.float32)
    centres = tuple((i + 0.5) * PITCH / length for i in range(len(text)))
    return Line(
        TextBox(frame, 0.9),
        frame,
        np.zeros((1, 1, 3), np.uint8),
        text,
        centres,
        (0.99,) * len(text),
        0.99,
        read=True,
    )


def fields(lines: list[Line]) -> dict[str, bool]:
    return {hit.label.field: hit.exact for hit in find_labels(lines)}


def test_a_label_cut_into_pieces_whose_last_piece_goes_on_with_the_value():
    pieces = [line("初", 40), line("次领证日", 75), line("期2024-03-22", 198)]
    hits = find_labels(pieces)
    assert [h.label.field for h in hits] == ["first_issue_date"]
    hit = hits[0]
    assert hit.exact and hit.last_chars == 1  # 期 is the label's, the date is the value's
    assert hit.quad[1][0] < 198 + 2 * PITCH  # the label ends before the date starts


def test_a_label_with_its_first_character_unread_under_a_seal():
    # 有 hidden by the seal: 效 | 期 | 限 are still 有效期限
    assert fields([line("效", 70), line("期", 110), line("限", 150)]) == {"valid_period": False}
    # but two characters alone are no label, and pieces on another row do not join
    assert fields([line("期", 110), line("限", 150)]) == {}
    assert fields([line("效", 70), line("期", 110, y=160), line("限", 150, y=220)]) == {}


def test_a_short_label_read_whole_gives_way_to_the_longer_one_it_starts():
    # 出生 | 日期 on a licence is 出生日期, not the ID card's 出生 and a stray 日期
    hits = find_labels([line("出生", 40), line("日期", 110)])
    assert [h.label.text for h in hits] == ["出生日期"]


def test_a_value_that_merely_follows_a_label_is_not_taken_as_one():
    hits = find_labels([line("住址", 40), line("北京市", 120)])
    assert [h.label.text for h in hits] == ["住址"]
    assert fields([line("期", 40), line("北京市", 80)]) == {}


def test_a_label_read_in_its_traditional_form_is_the_label():
    # some label fonts read as traditional characters: 國籍 is 国籍
    hits = find_labels([line("國籍中國", 40)])
    assert [h.label.field for h in hits] == ["nationality"]


def test_an_english_sub_label_merged_into_a_kept_value_is_cut_off_it():
    from redactor.locators.local.bands import kept_value_ok, without_english
    from redactor.locators.local.cards import Span

    merged = line("Nationality中国", 300)
    value = without_english(Span(merged, merged.frame.astype(np.float64), merged.text))
    assert value.text == "中国" and kept_value_ok("nationality", value.text)
    assert value.quad[0][0] >= 300 + 10 * PITCH  # the value starts after the sub-label
    # Latin that is no sub-label stays: it is what the band holds
    other = line("Zhang中国", 300)
    assert without_english(Span(other, other.frame.astype(np.float64), other.text)).text == "Zhang中国"


def test_a_licence_with_every_printed_label_read_is_not_looked_at_again():
    # its issuing authority is the seal, printed with no label: not a label left unread
    from redactor.core.fields import FIELDS_BY_CARD, PORTRAIT, CardType
    from redactor.core.frame import CardFrame
    from redactor.core.vocabulary import label_for
    from redactor.locators.local.cards import CardReading
    from redactor.locators.local.labels import LabelHit
    from redactor.locators.local.locator import _labels_missing

    licence = CardType.DRIVER_LICENSE
    quad = line("证号", 0).frame.astype(np.float64)
    printed = [f for f in FIELDS_BY_CARD[licence] if f not in (PORTRAIT, "issuing_authority")]
    hits = [LabelHit(label, quad, [], 0.99, True) for f in printed if (label := label_for(f, licence)) is not None]
    card = CardReading(licence, CardFrame((0.0, 0.0), (1.0, 0.0), HEIGHT), [], hits)
    assert not _labels_missing(card)
    card.hits = hits[1:]  # one printed label not read
    assert _labels_missing(card)
