"""The tuned layout families: the ones locators may be tuned on.

Each card kind has several layout families (one :class:`~redactor.generator.idcard.IdFrontLayout`,
:class:`~redactor.generator.idcard.IdBackLayout` or :class:`~redactor.generator.licence.DlLayout`
each; the held-out ones live in :mod:`redactor.generator.heldout`), and every card departs from
its family's base layout by a random :class:`~redactor.generator.painter.Style`. The ``*-a``
families are the layouts the generator always drew, which the committed samples show.
"""

from __future__ import annotations

import random

from redactor.generator.idcard import IdBackLayout, IdFrontLayout, draw_id_back, draw_id_front
from redactor.generator.identities import Identity, License
from redactor.generator.licence import DlLayout, DlRow, draw_dl_main
from redactor.generator.painter import FlatCard, Style
from redactor.generator.text import Color

#: The label colour of ``idf-a`` and ``idb-a``.
LABEL_BLUE: Color = (48, 112, 178)

#: ``idf-a``: the layout the generator always drew (``Style()`` reproduces those cards exactly).
IDF_A = IdFrontLayout(
    family="idf-a",
    base=((226, 238, 246), (246, 249, 250), (204, 222, 236)),
    label_colour=LABEL_BLUE,
    label_face="regular",
    sizes=(28, 34, 40),
    label_x=70,
    value_x=180,
    rows=(110, 190, 270, 350, 540),
    ethnicity_x=(330, 440),
    address_step=46,
    number_x=330,
    number_dy=2,
    number_tracking=7,
    birth_gap=12,
    portrait=(640, 80, 925, 445),
    portrait_bg=(236, 243, 248),
)
#: ``idf-b``: tighter rows, a wider label column, bold slate labels, a smaller photo set lower.
IDF_B = IdFrontLayout(
    family="idf-b",
    base=((232, 240, 244), (244, 246, 240), (210, 224, 230)),
    label_colour=(62, 84, 116),
    label_face="bold",
    sizes=(26, 32, 38),
    label_x=50,
    value_x=205,
    rows=(100, 168, 236, 304, 520),
    ethnicity_x=(360, 465),
    address_step=44,
    number_x=300,
    number_dy=0,
    number_tracking=9,
    birth_gap=8,
    portrait=(695, 130, 925, 420),
    portrait_bg=(232, 236, 240),
)
#: ``idb-a``: the back the generator always drew.
IDB_A = IdBackLayout(
    family="idb-a",
    base=((238, 244, 248), (226, 238, 246), (206, 224, 238)),
    emblem=(150, 150, 95),
    titles=((300, 150, 52, 10), (300, 290, 78, 26)),
    label_colour=LABEL_BLUE,
    sizes=(28, 32),
    label_x=180,
    value_x=330,
    rows=(470, 545),
)
_DL_BASE = ((246, 240, 236), (238, 240, 246), (228, 214, 214))
#: ``dl-a``: photo upper right, seal lower right (the page the generator always drew).
DL_A = DlLayout(
    family="dl-a",
    base=_DL_BASE,
    title=(None, 72, 102),
    rule_y=118,
    rows=(
        DlRow("license_number", 40, 180, 168),
        DlRow("name", 40, 150, 232),
        DlRow("gender", 360, 440, 232),
        DlRow("nationality", 540, 650, 232),
        DlRow("address", 40, 150, 296),
        DlRow("birth", 40, 230, 408),
        DlRow("first_issue_date", 40, 230, 470),
        DlRow("vehicle_class", 40, 230, 532),
        DlRow("valid_period", 40, 230, 610),
    ),
    sizes=(24, 13, 30),
    label_colour=(40, 40, 50),
    english=(0, 18),
    address_step=42,
    portrait=(770, 150, 950, 400),
    portrait_bg=(214, 232, 246),
    portrait_limit=(720, 130, 975, 440),
    seal=(845, 555, 100),
)
#: ``dl-b``: photo lower on the right, the red seal over the lower-left labels.
DL_B = DlLayout(
    family="dl-b",
    base=((244, 242, 234), (236, 242, 244), (222, 218, 206)),
    title=(None, 66, 94),
    rule_y=110,
    rows=(
        DlRow("license_number", 48, 200, 160),
        DlRow("name", 48, 160, 222),
        DlRow("gender", 330, 410, 222),
        DlRow("nationality", 500, 600, 222),
        DlRow("address", 48, 160, 284),
        DlRow("birth", 48, 290, 396),
        DlRow("first_issue_date", 48, 290, 456),
        DlRow("vehicle_class", 48, 290, 516),
        DlRow("valid_period", 48, 290, 600),
    ),
    sizes=(22, 12, 29),
    label_colour=(30, 50, 90),
    english=(0, 17),
    address_step=40,
    portrait=(780, 300, 950, 540),
    portrait_bg=(228, 236, 244),
    portrait_limit=(730, 270, 975, 655),
    seal=(150, 545, 88),
    seal_jitter=(8.0, 6.0),
)


def render_id_front(person: Identity, rng: random.Random, style: Style | None = None) -> FlatCard:
    """An ``idf-a`` front (the base layout unless a ``style`` is given)."""
    return draw_id_front(IDF_A, person, rng, style or Style())


def render_id_back(person: Identity, rng: random.Random, style: Style | None = None) -> FlatCard:
    """An ``idb-a`` back (the base layout unless a ``style`` is given)."""
    return draw_id_back(IDB_A, person, rng, style or Style())


def render_dl_main(lic: License, rng: random.Random, style: Style | None = None) -> FlatCard:
    """A ``dl-a`` licence page (the base layout unless a ``style`` is given)."""
    return draw_dl_main(DL_A, lic, rng, style or Style())
