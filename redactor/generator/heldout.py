"""Held-out layout families: drawn by the shared helpers, never used to tune a locator.

A locator's figures on these families say how it does on layouts nobody tuned it for, so
keep their geometry out of templates, calibration and thresholds: evaluate on them only.

- ``idf-h``: an ID card front following the real second-generation card's proportions:
  letter-spaced two-character labels (姓  名, 性  别, 民  族 on the gender row, 出  生, 住  址),
  the birth row with 年/月/日, a multi-line address, 公民身份号码 at the bottom, photo right.
- ``idb-h``: an ID card back with the title lines and the labels elsewhere, letter-spaced labels.
- ``dl-h``: a licence page with a left-aligned title, English sub-labels right after the
  Chinese ones, a wide label column, the photo lower right and the seal over its top.
"""

from __future__ import annotations

from redactor.generator.idcard import IdBackLayout, IdFrontLayout
from redactor.generator.licence import DlLayout, DlRow

#: ``idf-h``: the real card's proportions (85.6 x 54 mm on 1000 x 631 px).
IDF_H = IdFrontLayout(
    family="idf-h",
    base=((222, 236, 242), (240, 246, 246), (198, 218, 230)),
    label_colour=(70, 140, 200),
    label_face="regular",
    sizes=(25, 33, 37),
    label_x=82,
    value_x=196,
    rows=(122, 206, 288, 370, 560),
    ethnicity_x=(368, 468),
    address_step=44,
    number_x=345,
    number_dy=0,
    number_tracking=6,
    birth_gap=10,
    portrait=(612, 92, 912, 470),
    portrait_bg=(246, 248, 250),
    label_em=1.0,
)
#: ``idb-h``: titles further right, labels letter-spaced and further left, rows lower.
IDB_H = IdBackLayout(
    family="idb-h",
    base=((236, 242, 240), (222, 234, 240), (200, 220, 226)),
    emblem=(140, 135, 85),
    titles=((270, 130, 46, 14), (250, 262, 74, 30)),
    label_colour=(60, 100, 150),
    sizes=(27, 31),
    label_x=110,
    value_x=340,
    rows=(478, 548),
    label_em=0.6,
)
#: ``dl-h``: a wide label column with inline English, photo lower right under the seal.
DL_H = DlLayout(
    family="dl-h",
    base=((242, 238, 240), (236, 240, 238), (220, 210, 218)),
    title=(40, 68, 96),
    rule_y=None,
    rows=(
        DlRow("license_number", 36, 330, 160),
        DlRow("name", 36, 330, 218),
        DlRow("gender", 36, 330, 276),
        DlRow("nationality", 430, 600, 276),
        DlRow("address", 36, 300, 334),
        DlRow("birth", 36, 350, 438),
        DlRow("first_issue_date", 36, 350, 494),
        DlRow("vehicle_class", 36, 350, 550),
        DlRow("valid_period", 36, 350, 612),
    ),
    sizes=(23, 13, 29),
    label_colour=(52, 40, 46),
    english=None,
    address_step=40,
    portrait=(795, 385, 955, 615),
    portrait_bg=(224, 230, 236),
    portrait_limit=(760, 360, 975, 660),
    seal=(860, 360, 80),
    seal_jitter=(10.0, 8.0),
)
