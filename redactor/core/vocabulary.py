"""What is printed on each card side: its labels (and the field each introduces), its titles.

This is the only card knowledge the local engine has: words, never positions. Where a
value is printed is read from the card itself (its label, its row, the next label). The
verifier uses the same words to tell printed wording from values left visible, and the
generator prints them on its specimens: one spelling for all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from redactor.core.fields import CardType


@dataclass(frozen=True)
class Label:
    """A printed label: its text, the field whose value follows it, the sides it appears on."""

    text: str
    field: str
    card_types: frozenset[CardType]
    #: The value may wrap onto further lines below the label's row (an address).
    multiline: bool = False


ID = CardType.ID_CARD
DL = CardType.DRIVER_LICENSE
BACK = CardType.ID_CARD_BACK

#: The licence's issuing authority: printed as a seal with no label of its own; the seal is
#: named with this label's words (by the local engine and in the generator's truth).
SEAL_LABEL = Label("发证单位", "issuing_authority", frozenset({DL}), multiline=True)

LABELS: tuple[Label, ...] = (
    Label("公民身份号码", "id_number", frozenset({ID})),
    Label("初次领证日期", "first_issue_date", frozenset({DL})),
    Label("出生日期", "birth", frozenset({DL})),
    Label("准驾车型", "vehicle_class", frozenset({DL})),
    Label("有效期限", "valid_period", frozenset({DL, BACK})),
    Label("有效期至", "valid_period", frozenset({DL})),
    Label("签发机关", "issuing_authority", frozenset({BACK}), multiline=True),
    Label("发证机关", "issuing_authority", frozenset({DL}), multiline=True),
    SEAL_LABEL,
    Label("姓名", "name", frozenset({ID, DL})),
    Label("性别", "gender", frozenset({ID, DL})),
    Label("民族", "ethnicity", frozenset({ID})),
    Label("出生", "birth", frozenset({ID})),
    Label("住址", "address", frozenset({ID, DL}), multiline=True),
    Label("证号", "license_number", frozenset({DL})),
    Label("国籍", "nationality", frozenset({DL})),
)

#: The licence page's title line.
DL_TITLE = "中华人民共和国机动车驾驶证"
#: The ID card back's two title lines.
ID_BACK_TITLE = ("中华人民共和国", "居民身份证")
#: Titles and other fixed wording: not values, never masked, and they tell the side.
TITLES: tuple[tuple[str, frozenset[CardType]], ...] = (
    (DL_TITLE, frozenset({DL})),
    ("机动车驾驶证", frozenset({DL})),
    (ID_BACK_TITLE[1], frozenset({BACK})),
    (ID_BACK_TITLE[0], frozenset({BACK, DL})),
)

#: English sub-labels printed under the licence's labels (read only when large enough).
ENGLISH = re.compile(
    r"^(licen[sc]eno|name|sex|nationality|address|dateofbirth|dateoffirstissue|class|validperiod|validfrom|"
    r"validfor|issuingauthority|drivinglicen[sc]e.*|.*republicofchina)\.?$",
    re.IGNORECASE,
)

#: Characters the recogniser confuses in labels (seen on blurred and photocopied cards).
CONFUSIONS: dict[str, str] = {
    "刻": "别",
    "姐": "姓",
    "佳": "住",
    "往": "住",
    "正": "证",
    # traditional forms the recogniser reads in some label fonts (國籍 for 国籍)
    "別": "别",
    "號": "号",
    "國": "国",
    "證": "证",
    "駕": "驾",
    "車": "车",
    "發": "发",
    "關": "关",
    "簽": "签",
    "機": "机",
    "碼": "码",
    "領": "领",
    "効": "效",
}

#: Label characters and the components the recogniser reads for them when a line's crop
#: cuts the character (性别 read 性另, 住址 read 住土, 日期 read 日其): a two-character label
#: with one character read as its own component, the other exact, is still the label.
COMPONENTS: dict[str, str] = {"别": "另刂", "址": "土止", "期": "其月", "籍": "耤", "码": "马石", "驶": "史马"}

#: Values a kept field may show; anything else found in its place is masked as unknown.
KEPT_VALUE = {
    "gender": re.compile(r"^[男女]$"),
    "ethnicity": re.compile(r"^[\u4e00-\u9fff]{1,6}族?$"),
    "nationality": re.compile(r"^[\u4e00-\u9fffA-Za-z]{1,12}$"),
    "vehicle_class": re.compile(r"^[A-EFMNP][0-9A-EFMNP]{0,5}$"),
}


#: The order of a side's rows, top to bottom (fields printed on one row share a group). Used
#: only to name a value row whose label could not be read (a seal printed over it): it lies
#: between two rows that were read, and exactly one row is missing between them.
ROW_ORDER: dict[CardType, tuple[tuple[str, ...], ...]] = {
    ID: (("name",), ("gender", "ethnicity"), ("birth",), ("address",), ("id_number",)),
    DL: (
        ("license_number",),
        ("name", "gender", "nationality"),
        ("address",),
        ("birth",),
        ("first_issue_date",),
        ("vehicle_class",),
        ("valid_period",),
    ),
    BACK: (("issuing_authority",), ("valid_period",)),
}

#: What a value of a field looks like, for a row named by its order alone.
VALUE_SHAPE = {
    "birth": re.compile(r"^\d{4}[-.年]?\d{1,2}[-.月]?\d{1,2}日?$"),
    "first_issue_date": re.compile(r"^\d{4}[-.]?\d{2}[-.]?\d{2}$"),
    "valid_period": re.compile(r"^\d{4}[-.]?\d{2}[-.]?\d{2}(至.*)?$|^\d{4}\.\d{2}\.\d{2}-.*$"),
    "id_number": re.compile(r"^\d{17}[\dXx]$"),
    "license_number": re.compile(r"^\d{17}[\dXx]$|^\d{12}$"),
    "vehicle_class": KEPT_VALUE["vehicle_class"],
    "gender": KEPT_VALUE["gender"],
}


def label_for(field_id: str, card_type: CardType) -> Label | None:
    """The printed label of ``field_id`` on ``card_type`` (the first in the vocabulary)."""
    return next((lab for lab in LABELS if lab.field == field_id and card_type in lab.card_types), None)


def printed_labels(card_type: CardType, fields: tuple[str, ...]) -> dict[str, str]:
    """The words of each field's label on ``card_type`` (:func:`label_for`), in ``fields``' order:
    what a card of that side prints before each value."""
    out: dict[str, str] = {}
    for field_id in fields:
        label = label_for(field_id, card_type)
        if label is None:
            raise ValueError(f"{card_type.value} prints no label for {field_id!r}")
        out[field_id] = label.text
    return out


def side_votes(labels: list[Label]) -> dict[CardType, float]:
    """How strongly a set of labels points to each card side: shared labels count a little,
    labels of one side only count a lot."""
    votes: dict[CardType, float] = {}
    for label in labels:
        weight = 3.0 if len(label.card_types) == 1 else 1.0
        for card_type in label.card_types:
            votes[card_type] = votes.get(card_type, 0.0) + weight
    return votes
