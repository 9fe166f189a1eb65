"""The field catalog: canonical field ids per card type and the names APIs use for them.

AILicenseRec's ``<Name>`` strings are not pinned down by any public source (reference
section 4.3): the Chinese page shows printed labels, the English page translated names.
So names are data, matched through a tolerant alias table, and a name we do not know
stays an *unknown* field, which the policy masks with its default action (fail closed).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from enum import Enum


class CardType(str, Enum):
    """Card types as AILicenseRec's ``CardType`` parameter names them."""

    ID_CARD = "IDCard"
    DRIVER_LICENSE = "DriverLicense"
    #: The back of the ID card (签发机关, 有效期限). AILicenseRec does not read it (it answers
    #: Status 0); the local engine does, so backs can be redacted offline.
    ID_CARD_BACK = "IDCardBack"

    @property
    def cloud(self) -> bool:
        """Whether AILicenseRec accepts this as its ``CardType`` parameter."""
        return self is not CardType.ID_CARD_BACK

    @classmethod
    def parse(cls, text: str) -> CardType:
        key = normalise_name(text)
        for member in cls:
            if normalise_name(member.value) == key:
                return member
        raise ValueError(f"unknown card type {text!r}; expected one of: IDCard, DriverLicense, IDCardBack")


class CardTypeHint(str, Enum):
    """What the caller tells a locator about the card; ``auto`` lets it decide."""

    AUTO = "auto"
    ID_CARD = "IDCard"
    DRIVER_LICENSE = "DriverLicense"

    def card_type(self) -> CardType | None:
        return None if self is CardTypeHint.AUTO else CardType(self.value)


#: Fields on the front side of the second-generation resident ID card.
ID_CARD_FIELDS: tuple[str, ...] = ("name", "gender", "ethnicity", "birth", "address", "id_number")
#: Fields on the main page of the driving licence.
DRIVER_LICENSE_FIELDS: tuple[str, ...] = (
    "license_number",
    "name",
    "gender",
    "nationality",
    "address",
    "birth",
    "first_issue_date",
    "vehicle_class",
    "valid_period",
    "issuing_authority",
)
#: Fields on the back of the ID card.
ID_CARD_BACK_FIELDS: tuple[str, ...] = ("issuing_authority", "valid_period")
#: The face photo: not returned by AILicenseRec, located by other locators.
PORTRAIT = "portrait"

FIELDS_BY_CARD: dict[CardType, tuple[str, ...]] = {
    CardType.ID_CARD: ID_CARD_FIELDS + (PORTRAIT,),
    CardType.DRIVER_LICENSE: DRIVER_LICENSE_FIELDS + (PORTRAIT,),
    CardType.ID_CARD_BACK: ID_CARD_BACK_FIELDS,
}

ALL_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(ID_CARD_FIELDS + DRIVER_LICENSE_FIELDS + (PORTRAIT,)))

#: Aliases per canonical id: printed Chinese labels, the documentation's wording, the
#: English documentation's names and a few obvious spellings. Matching is tolerant
#: (see :func:`normalise_name`), so only distinct words need listing.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "Name", "Full Name"),
    "gender": ("性别", "Gender", "Sex"),
    "ethnicity": ("民族", "Ethnicity", "Nation", "Ethnic Group"),
    "birth": ("出生", "出生日期", "Birth", "Birth (Date)", "Birth Date", "Date of Birth", "Birthday"),
    "address": ("住址", "地址", "Address"),
    "id_number": (
        "公民身份号码",
        "公民身份证号",
        "公民身份证号码",
        "身份证号",
        "身份证号码",
        "Identification Number (ID Number)",
        "Identification Number",
        "ID Number",
        "IdNum",
    ),
    "license_number": ("证号", "驾驶证号", "驾驶证号码", "License Number", "Licence Number", "Driving License Number"),
    "nationality": ("国籍", "Nationality"),
    "first_issue_date": (
        "初次领证日期",
        "First Issue Date",
        "Initial Issuance Date",
        "Date of First Issue",
        "First Issuance Date",
    ),
    "vehicle_class": (
        "准驾车型",
        "Vehicle Class",
        "Permitted Vehicle Type",
        "Permitted Vehicle Class",
        "Class",
    ),
    "valid_period": ("有效期限", "有效期", "Valid Period", "Validity Period", "Valid Date", "ValidDate"),
    "issuing_authority": ("发证单位", "发证机关", "签发机关", "Issuing Authority", "Issuing Unit", "Authority"),
    "portrait": ("照片", "头像", "人像", "Portrait", "Photo", "Face"),
}

_SEPARATORS = re.compile(r"[\s_\-:：·・.()（）\[\]【】]+")


def normalise_name(text: str) -> str:
    """Fold a field name for matching: NFKC (full-width to half-width), case, separators."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SEPARATORS.sub("", folded)


_INDEX: dict[str, str] = {}
for _canonical, _names in ALIASES.items():
    for _alias in (_canonical, *_names):
        _INDEX[normalise_name(_alias)] = _canonical


def canonical_field(name: str) -> str | None:
    """The canonical id for an API or policy name, or ``None`` when the name is unknown."""
    return _INDEX.get(normalise_name(name))


def is_known_field(name: str) -> bool:
    return canonical_field(name) is not None


_LICENCE_ONLY = frozenset(
    {"license_number", "nationality", "first_issue_date", "vehicle_class", "valid_period", "issuing_authority"}
)
_ID_ONLY = frozenset({"ethnicity", "id_number"})


def infer_card_type(canonical_ids: Iterable[str]) -> CardType | None:
    """Guess the card type from the fields found; ``None`` when they fit both or neither."""
    found = set(canonical_ids)
    licence = bool(found & _LICENCE_ONLY)
    identity = bool(found & _ID_ONLY)
    if licence and not identity:
        return CardType.DRIVER_LICENSE
    if identity and not licence:
        return CardType.ID_CARD
    return None
