"""The resident ID card: front and back layouts, and drawing a card in one.

The layouts imitate the second-generation card closely enough for locators to be exercised,
not to be mistaken for a real document: the emblem and portrait are simple drawings and all
values are synthetic. The labels and titles are the vocabulary's (:mod:`redactor.core.vocabulary`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from redactor.core.fields import ID_CARD_BACK_FIELDS, ID_CARD_FIELDS, CardType
from redactor.core.vocabulary import ID_BACK_TITLE, printed_labels
from redactor.generator.drawings import card_base, draw_portrait, emblem, rounded
from redactor.generator.identities import Identity
from redactor.generator.painter import FlatCard, Painter, Style, portrait_box
from redactor.generator.text import BLACK, Color, draw_text, font, text_field, union

ID_SIZE = (1000, 631)  # 85.6 x 54 mm
#: The front's label of each field, in the order the truth lists the fields.
ID_LABELS = printed_labels(CardType.ID_CARD, ID_CARD_FIELDS)
#: The back's label of each field.
ID_BACK_LABELS = printed_labels(CardType.ID_CARD_BACK, ID_CARD_BACK_FIELDS)


@dataclass(frozen=True)
class IdFrontLayout:
    """Where an ID card front's texts and photo go (card pixels, text baselines): one per family."""

    family: str
    base: tuple[Color, Color, Color]  #: card gradient top, bottom, guilloche colour
    label_colour: Color
    label_face: str
    sizes: tuple[int, int, int]  #: label, value, ID number px
    label_x: float
    value_x: float
    rows: tuple[float, float, float, float, float]  #: name, gender, birth, address, ID number
    ethnicity_x: tuple[float, float]  #: label and value x on the gender row
    address_step: float
    number_x: float
    number_dy: float  #: the ID number's baseline below its label's
    number_tracking: float
    birth_gap: float  #: between the numbers and 年/月/日
    portrait: tuple[int, int, int, int]
    portrait_bg: Color
    label_em: float = 0.0  #: letter-spacing the family prints its two-character labels with (姓  名)
    address_lines: int = 3


def draw_id_front(layout: IdFrontLayout, person: Identity, rng: random.Random, style: Style) -> FlatCard:
    """An ID card front in ``layout`` moved by ``style``; the random draws are base, then photo."""
    img = card_base(ID_SIZE, *layout.base, rng)
    lsize, vsize, nsize = layout.sizes
    name_y, gender_y, birth_y, address_y, number_y = layout.rows
    p = Painter(img, style, top=name_y, label_colour=layout.label_colour, label_face=layout.label_face)
    number_top = p.y(number_y) + layout.number_dy - 0.9 * p.px(nsize) - 12
    box = portrait_box(layout.portrait, style, (560.0, 30.0, ID_SIZE[0] - 30.0, number_top))
    p.obstacles.append(tuple(float(v) for v in box))  # type: ignore[arg-type]
    em = layout.label_em
    sizes = (lsize, vsize)
    for name, y, value in (("name", name_y, person.name), ("gender", gender_y, person.gender)):
        p.labelled(name, ID_LABELS[name], layout.label_x, layout.value_x, y, value, sizes, extra_em=em)
    ex, evx = layout.ethnicity_x
    p.labelled("ethnicity", ID_LABELS["ethnicity"], ex, evx, gender_y, person.ethnicity, sizes, extra_em=em)
    # birth: numbers in black, 年/月/日 in the label colour, one field covering all of it
    y, x = p.y(birth_y), p.vx(layout.value_x)
    p.label(ID_LABELS["birth"], (p.lx(layout.label_x), y), lsize, until=x, extra_em=em)
    b, vf, boxes = person.birth, p.value_font(vsize), []
    parts = (str(b.year), "年", str(b.month), "月", str(b.day), "日")
    for part, colour in zip(parts, (BLACK, p.label_colour) * 3, strict=True):
        boxes.append(draw_text(p.draw, (x, y), part, vf, colour))
        x = boxes[-1][2] + layout.birth_gap * style.text_scale
    p.fields.append(text_field("birth", ID_LABELS["birth"], f"{b.year} 年 {b.month} 月 {b.day} 日", [union(boxes)]))
    # address: up to 3 lines left of the portrait
    y, x = p.y(address_y), p.vx(layout.value_x)
    p.label(ID_LABELS["address"], (p.lx(layout.label_x), y), lsize, until=x, extra_em=em)
    p.lines("address", ID_LABELS["address"], person.address, (x, y), vsize, layout.address_step, box[0] - 30, 3)
    # ID number: wider digits at the bottom
    p.labelled(
        "id_number",
        ID_LABELS["id_number"],
        layout.label_x,
        layout.number_x,
        number_y,
        person.id_number,
        (lsize, nsize),
        value_dy=layout.number_dy,
        tracking=layout.number_tracking,
    )
    card = rounded(img, 34)
    portrait = draw_portrait(card, box, style.portrait_backdrop or layout.portrait_bg, rng)
    return FlatCard("id_front", card, p.sorted_fields(list(ID_LABELS)), portrait, layout.family, p.labels)


@dataclass(frozen=True)
class IdBackLayout:
    """An ID card back: emblem, the two title lines, and the two labelled rows."""

    family: str
    base: tuple[Color, Color, Color]
    emblem: tuple[float, float, float]  #: centre x, y and radius
    titles: tuple[tuple[float, float, int, float], tuple[float, float, int, float]]  #: x, y, px, tracking per line
    label_colour: Color
    sizes: tuple[int, int]  #: label, value px
    label_x: float
    value_x: float
    rows: tuple[float, float]  #: 签发机关, 有效期限 baselines
    label_em: float = 0.0


def draw_id_back(layout: IdBackLayout, person: Identity, rng: random.Random, style: Style) -> FlatCard:
    img = card_base(ID_SIZE, *layout.base, rng)
    p = Painter(img, style, top=layout.rows[0], label_colour=layout.label_colour, label_face="regular")
    emblem(p.draw, *layout.emblem)
    for text, (x, y, size, tracking) in zip(ID_BACK_TITLE, layout.titles, strict=True):
        box = draw_text(p.draw, (x, y), text, font(size, "bold"), BLACK, tracking=tracking)
        p.labels.append((text, box))
    values = (("issuing_authority", person.id_issuer), ("valid_period", person.id_valid_period))
    for y, (name, value) in zip(layout.rows, values, strict=True):
        label = ID_BACK_LABELS[name]
        p.labelled(name, label, layout.label_x, layout.value_x, y, value, layout.sizes, extra_em=layout.label_em)
    return FlatCard("id_back", rounded(img, 34), p.fields, None, layout.family, p.labels)
