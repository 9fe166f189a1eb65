"""The driving licence main page: its layouts, and drawing a page in one.

The Chinese labels and the title are the vocabulary's (:mod:`redactor.core.vocabulary`), the
words the local engine reads; the English sub-labels are this page's own print.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import ImageDraw

from redactor.core.fields import DRIVER_LICENSE_FIELDS, CardType
from redactor.core.vocabulary import DL_TITLE, SEAL_LABEL, printed_labels
from redactor.generator.drawings import card_base, draw_portrait, draw_seal, rounded
from redactor.generator.identities import License
from redactor.generator.painter import LABEL_GAP, FlatCard, Painter, Style, portrait_box
from redactor.generator.text import BLACK, Box, Color, FieldTruth, draw_text, font, rect_quad, union

DL_SIZE = (1000, 682)  # 88 x 60 mm
#: The English sub-label printed with each field's Chinese label.
DL_ENGLISH = {
    "license_number": "License No.",
    "name": "Name",
    "gender": "Sex",
    "nationality": "Nationality",
    "address": "Address",
    "birth": "Date of Birth",
    "first_issue_date": "Date of First Issue",
    "vehicle_class": "Class",
    "valid_period": "Valid Period",
    "issuing_authority": "Issuing Authority",
}
_CHINESE = printed_labels(CardType.DRIVER_LICENSE, tuple(f for f in DRIVER_LICENSE_FIELDS if f != SEAL_LABEL.field))
#: Each field's Chinese label and English sub-label, in the order the truth lists the fields.
#: The issuing authority is a seal, printed with no label: it is named as the seal is.
DL_LABELS = {
    field_id: (SEAL_LABEL.text if field_id == SEAL_LABEL.field else _CHINESE[field_id], english)
    for field_id, english in DL_ENGLISH.items()
}
DL_TITLE_EN = "Driving License of the People's Republic of China"


@dataclass(frozen=True)
class DlRow:
    """One labelled row of the licence: the field, its label x, its value x and baseline."""

    field: str
    label_x: float
    value_x: float
    y: float


@dataclass(frozen=True)
class DlLayout:
    """A driving licence main page print layout."""

    family: str
    base: tuple[Color, Color, Color]
    title: tuple[float | None, float, float]  #: x (``None``: centred), title and English title baselines
    rule_y: float | None  #: the line under the title, if printed
    rows: tuple[DlRow, ...]  #: every text field, ``address`` included (wrapped on two lines)
    sizes: tuple[int, int, int]  #: label, English sub-label, value px
    label_colour: Color
    english: tuple[float, float] | None  #: English sub-label offset from the label; ``None``: right after it
    address_step: float
    portrait: tuple[int, int, int, int]
    portrait_bg: Color
    portrait_limit: Box
    seal: tuple[float, float, float]  #: centre x, y and radius
    seal_jitter: tuple[float, float] = (10.0, 6.0)


ENGLISH_GREY: Color = (90, 90, 100)


def _seal_cover(cx: float, cy: float, radius: float) -> Box:
    """The box :func:`draw_seal`'s cover polygon can reach."""
    r = (radius + 3) / math.cos(math.pi / 16) + 1
    return (cx - r, cy - r, cx + r, cy + r)


def draw_dl_main(layout: DlLayout, lic: License, rng: random.Random, style: Style) -> FlatCard:
    """A licence page in ``layout``; random draws: base, photo, then the seal's position."""
    img = card_base(DL_SIZE, *layout.base, rng)
    draw = ImageDraw.Draw(img)
    title_x, title_y, en_y = layout.title
    title, en = font(40, "bold"), font(18)
    tw = title.getlength(DL_TITLE) + 4 * (len(DL_TITLE) - 1)
    tx = (DL_SIZE[0] - tw) / 2 if title_x is None else title_x
    draw_text(draw, (tx, title_y), DL_TITLE, title, BLACK, tracking=4)
    ex = (DL_SIZE[0] - en.getlength(DL_TITLE_EN)) / 2 if title_x is None else title_x
    draw_text(draw, (ex, en_y), DL_TITLE_EN, en, (70, 70, 70))
    if layout.rule_y is not None:
        draw.line([(40, layout.rule_y), (DL_SIZE[0] - 40, layout.rule_y)], fill=(120, 120, 130), width=2)
    lsize, esize, vsize = layout.sizes
    p = Painter(img, style, top=layout.rows[0].y, label_colour=layout.label_colour, label_face="regular")
    box = portrait_box(layout.portrait, style, layout.portrait_limit)
    cx, cy, radius = layout.seal
    jx, jy = layout.seal_jitter
    p.obstacles += [tuple(float(v) for v in box), _seal_cover(cx, cy, radius + max(jx, jy))]  # type: ignore[list-item]
    holder = lic.holder
    values = {
        "license_number": lic.license_number,
        "name": holder.name,
        "gender": holder.gender,
        "nationality": lic.nationality,
        "birth": holder.birth.isoformat(),
        "first_issue_date": lic.first_issue.isoformat(),
        "vehicle_class": lic.vehicle_class,
        "valid_period": lic.valid_period,
    }

    def english(row: DlRow, y: float) -> Callable[[Box], Box]:
        def draw_english(zh_box: Box) -> Box:
            text, efont = DL_LABELS[row.field][1], font(p.px(esize))
            if layout.english is None:  # on the label's baseline, right after it
                e_box = p.label(text, (zh_box[2] + 8, y), esize, colour=ENGLISH_GREY, tracked=False)
                return union([zh_box, e_box])
            dx, dy = layout.english
            e_box = draw_text(p.draw, (p.lx(row.label_x) + dx, y + dy * style.text_scale), text, efont, ENGLISH_GREY)
            p.labels.append((text, e_box))
            return zh_box

        return draw_english

    for row in layout.rows:
        zh = DL_LABELS[row.field][0]
        y = p.y(row.y)
        if row.field != "address":
            p.labelled(row.field, zh, row.label_x, row.value_x, row.y, values[row.field], (lsize, vsize),
                       after_label=english(row, y))  # fmt: skip
            continue
        x = p.vx(row.value_x)
        label_box = english(row, y)(p.label(zh, (p.lx(row.label_x), y), lsize, until=x))
        x = max(x, label_box[2] + LABEL_GAP)
        right = p.right_limit(x, y, vsize, DL_SIZE[0] - 40)
        p.lines("address", zh, holder.address, (x, y), vsize, layout.address_step, min(right, box[0] - 40), 2)

    card = rounded(img, 24)
    portrait = draw_portrait(card, box, style.portrait_backdrop or layout.portrait_bg, rng)
    center = (cx + rng.uniform(-jx, jx), cy + rng.uniform(-jy, jy))
    seal = draw_seal(card, center, radius, lic.authority)
    xs, ys = [q[0] for q in seal], [q[1] for q in seal]
    square = rect_quad((min(xs), min(ys), max(xs), max(ys)))
    fields = p.sorted_fields([f for f in DL_LABELS if f != "issuing_authority"])
    zh = DL_LABELS["issuing_authority"][0]
    fields.append(FieldTruth("issuing_authority", zh, lic.authority, seal, [square], square))
    return FlatCard("dl_main", card, fields, portrait, layout.family, p.labels)
