"""Card templates for the local locator: fixed texts to register on, value zones to mask.

A card is registered by its fixed texts (labels, and the start of left-aligned values),
whose detector boxes were measured by :mod:`redactor.locators.local.calibrate`
(``template_data.py``). Each field is then reported as its whole *template zone* (where
its value may be printed, whatever its length), mapped into the image. That is both
faster and safer than tracing the glyphs that happened to be found.

Coordinates are card pixels of the reference layout (ID card 1000x631, licence 1000x682).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from redactor.core.fields import CardType
from redactor.locators.local.template_data import FRAMES

Point = tuple[float, float]


def _rect(x0: float, y0: float, x1: float, y1: float) -> tuple[Point, ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _circle(cx: float, cy: float, r: float, n: int = 16) -> tuple[Point, ...]:
    r = r / math.cos(math.pi / n)  # circumscribe the circle
    return tuple((cx + r * math.cos(2 * math.pi * k / n), cy + r * math.sin(2 * math.pi * k / n)) for k in range(n))


@dataclass(frozen=True)
class CardTemplate:
    kind: str
    card_type: CardType | None  # None: a side AILicenseRec does not support (ID back)
    size: tuple[float, float]
    #: recognition key (first two characters of a label) -> the label's role in FRAMES
    keys: dict[str, str]
    #: keys that only this template has
    unique: frozenset[str]
    #: field id -> value zone; field id -> the raw name AILicenseRec would use
    zones: dict[str, tuple[Point, ...]] = field(default_factory=dict)
    raw_names: dict[str, str] = field(default_factory=dict)
    portrait: tuple[Point, ...] | None = None
    #: label role -> the field whose value follows it on the same line
    label_fields: dict[str, str] = field(default_factory=dict)
    #: advance of one label character (card pixels): where a label ends in a merged line
    label_advance: float = 28.0

    @property
    def starts(self) -> dict[str, list[list[float]]]:
        return dict(FRAMES[self.kind]["start"])

    @property
    def ends(self) -> dict[str, list[list[float]]]:
        return dict(FRAMES[self.kind]["end"])

    @property
    def fixed_boxes(self) -> list[tuple[float, float, float, float]]:
        """Where the card's fixed texts (labels, titles, sub-labels) are printed: (x0, y0, x1, y1).

        Measured where the detector saw them alone; otherwise (a label always merged with
        its value) from where it starts and how many characters it has.
        """
        out = []
        for role, start in self.starts.items():
            if role.startswith("value:"):
                continue
            end = self.ends.get(role)
            if end is None:
                end = [[self.label_end(role), start[0][1]], [self.label_end(role), start[1][1]]]
            xs = [p[0] for p in (*start, *end)]
            ys = [p[1] for p in (*start, *end)]
            out.append((min(xs), min(ys), max(xs), max(ys)))
        return out

    def label_end(self, role: str) -> float:
        """Where a label's last glyph ends (card x), from its detector start and its length."""
        start = self.starts[role]
        height = abs(start[1][1] - start[0][1])
        return (start[0][0] + start[1][0]) / 2 + 0.25 * height + len(role) * self.label_advance

    @property
    def outline(self) -> tuple[Point, ...]:
        return _rect(0, 0, *self.size)


ID_FRONT = CardTemplate(
    kind="id_front",
    card_type=CardType.ID_CARD,
    size=(1000.0, 631.0),
    keys={"姓名": "姓名", "性别": "性别", "民族": "民族", "出生": "出生", "住址": "住址", "公民": "公民身份号码"},
    unique=frozenset({"民族", "公民"}),
    zones={
        "name": _rect(172, 72, 620, 122),
        "gender": _rect(172, 152, 318, 202),
        "ethnicity": _rect(430, 152, 630, 202),
        "birth": _rect(172, 232, 630, 282),
        "address": _rect(172, 312, 630, 462),
        "id_number": _rect(322, 502, 965, 553),
    },
    raw_names={
        "name": "姓名",
        "gender": "性别",
        "ethnicity": "民族",
        "birth": "出生",
        "address": "住址",
        "id_number": "公民身份号码",
    },
    portrait=_rect(632, 72, 933, 453),
    label_fields={
        "姓名": "name",
        "性别": "gender",
        "民族": "ethnicity",
        "出生": "birth",
        "住址": "address",
        "公民身份号码": "id_number",
    },
)

ID_BACK = CardTemplate(
    kind="id_back",
    card_type=None,
    size=(1000.0, 631.0),
    keys={"中华": "中华人民共和国", "居民": "居民身份证", "签发": "签发机关", "有效": "有效期限"},
    unique=frozenset({"居民", "签发"}),
)

DRIVER_LICENSE = CardTemplate(
    kind="dl_main",
    card_type=CardType.DRIVER_LICENSE,
    size=(1000.0, 682.0),
    keys={
        "中华": "中华人民共和国机动车驾驶证",
        "证号": "证号",
        "姓名": "姓名",
        "性别": "性别",
        "国籍": "国籍",
        "住址": "住址",
        "出生": "出生日期",
        "初次": "初次领证日期",
        "准驾": "准驾车型",
        "有效": "有效期限",
    },
    unique=frozenset({"证号", "国籍", "初次", "准驾"}),
    zones={
        "license_number": _rect(172, 136, 745, 180),
        "name": _rect(142, 196, 352, 246),
        "gender": _rect(432, 196, 532, 246),
        "nationality": _rect(642, 196, 762, 246),
        "address": _rect(142, 260, 762, 352),
        "birth": _rect(222, 376, 745, 421),
        "first_issue_date": _rect(222, 438, 745, 483),
        "vehicle_class": _rect(222, 500, 745, 545),
        "valid_period": _rect(222, 574, 745, 624),
        "issuing_authority": _circle(845.0, 555.0, 122.0),
    },
    raw_names={
        "license_number": "证号",
        "name": "姓名",
        "gender": "性别",
        "nationality": "国籍",
        "address": "住址",
        "birth": "出生日期",
        "first_issue_date": "初次领证日期",
        "vehicle_class": "准驾车型",
        "valid_period": "有效期限",
        "issuing_authority": "发证单位",
    },
    portrait=_rect(762, 142, 958, 408),
    label_fields={
        "证号": "license_number",
        "姓名": "name",
        "性别": "gender",
        "国籍": "nationality",
        "住址": "address",
        "出生日期": "birth",
        "初次领证日期": "first_issue_date",
        "准驾车型": "vehicle_class",
        "有效期限": "valid_period",
    },
)

TEMPLATES: tuple[CardTemplate, ...] = (ID_FRONT, DRIVER_LICENSE, ID_BACK)
