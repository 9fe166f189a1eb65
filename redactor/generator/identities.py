"""Fake identities for specimen cards: every value is drawn from small pools with a seeded RNG.

The pools are deliberately small and generic: combinations of common characters and place
words, never a real person's record. They are also the exact character set the bundled font
subset covers (see :func:`pool_characters`), so keep them modest and regenerate the subset
(``fonts/make_subset.py``) after adding characters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from redactor.core.vocabulary import LABELS, TITLES

#: A fixed "today" so that a seed gives the same card on any day.
REFERENCE_DATE = date(2024, 6, 30)

ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆"
    "汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏飞辉建国文宇浩然思雨欣怡子涵佳琪晨博宁轩梓诗嘉瑞鑫颖婷"
    "雪晓慧俊凯峰斌志海春兰梅云亮成宏振德永兴安昊哲睿欢乐晴阳光远航"
)
GENDERS = ("男", "女")
MINOR_ETHNICITIES = ("满", "回", "蒙古", "壮", "苗", "维吾尔", "藏", "彝", "土家", "朝鲜", "侗", "瑶", "白", "布依")


@dataclass(frozen=True)
class Province:
    """A province with its real two-digit region prefix and a few city names (public geography)."""

    name: str
    code: str
    cities: tuple[str, ...]
    municipality: bool = False


PROVINCES: tuple[Province, ...] = (
    Province("北京市", "11", ("北京市",), municipality=True),
    Province("上海市", "31", ("上海市",), municipality=True),
    Province("天津市", "12", ("天津市",), municipality=True),
    Province("重庆市", "50", ("重庆市",), municipality=True),
    Province("河北省", "13", ("石家庄市", "保定市", "唐山市")),
    Province("江苏省", "32", ("南京市", "苏州市", "无锡市")),
    Province("浙江省", "33", ("杭州市", "宁波市", "温州市")),
    Province("福建省", "35", ("福州市", "厦门市", "泉州市")),
    Province("山东省", "37", ("济南市", "青岛市", "烟台市")),
    Province("河南省", "41", ("郑州市", "洛阳市", "开封市")),
    Province("湖北省", "42", ("武汉市", "宜昌市", "襄阳市")),
    Province("湖南省", "43", ("长沙市", "株洲市", "岳阳市")),
    Province("广东省", "44", ("广州市", "深圳市", "佛山市")),
    Province("四川省", "51", ("成都市", "绵阳市", "南充市")),
    Province("陕西省", "61", ("西安市", "宝鸡市", "咸阳市")),
)
#: Generic district names (many cities have one of these); the code digits are random.
DISTRICTS = (
    "东城区",
    "西城区",
    "新华区",
    "城关区",
    "中山区",
    "开发区",
    "高新区",
    "南湖区",
    "北湖区",
    "长安区",
    "和平区",
    "建设区",
)
STREETS = (
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平街",
    "文化路",
    "光明街",
    "新华路",
    "长江路",
    "黄河路",
    "友谊路",
    "花园街",
    "朝阳路",
    "幸福街",
    "东风路",
    "胜利街",
)
VILLAGES = ("东山村", "西河村", "南岗村", "北坡村", "新田村", "石桥村", "杨树村", "青山村")
TOWNS = ("城南镇", "城北镇", "新华镇", "河口镇", "长安镇", "白石镇")
VEHICLE_CLASSES = ("C1", "C1", "C1", "C2", "C1E", "A1", "A2", "B1", "B2", "C1D", "D", "E")
#: Fixed words the renderer prints besides the vocabulary's labels and titles (which the font
#: subset covers too): the birth date's 年月日, 长期 and 至 of a validity, an authority's words.
FIXED_TEXT = "年月日长期至中国公安局分局交通警察支队总队管理号栋单元室楼村组镇省市区"
ASCII_TEXT = "".join(chr(c) for c in range(0x20, 0x7F))


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of an 18-digit resident ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("expected exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def is_valid_id_number(s: str) -> bool:
    """True when ``s`` is 17 digits plus the correct check character (``X`` upper case)."""
    if len(s) != 18 or not s[:17].isascii() or not s[:17].isdigit():
        return False
    return id_check_digit(s[:17]) == s[17]


@dataclass(frozen=True)
class Identity:
    """One fake person with a resident ID card (front and back)."""

    name: str
    gender: str
    ethnicity: str
    birth: date
    address: str
    id_number: str
    province: Province
    city: str
    district: str
    id_issuer: str  # 签发机关 on the back
    id_valid_from: date
    id_valid_to: date | None  # None: 长期

    @property
    def id_valid_period(self) -> str:
        """As printed on the back: ``2015.03.12-2035.03.12`` or ``2015.03.12-长期``."""
        end = "长期" if self.id_valid_to is None else self.id_valid_to.strftime("%Y.%m.%d")
        return f"{self.id_valid_from.strftime('%Y.%m.%d')}-{end}"


@dataclass(frozen=True)
class License:
    """A driving licence main page for an :class:`Identity`."""

    holder: Identity
    license_number: str
    nationality: str
    first_issue: date
    vehicle_class: str
    valid_from: date
    valid_to: date | None  # None: 长期
    authority: str

    @property
    def valid_period(self) -> str:
        end = "长期" if self.valid_to is None else self.valid_to.isoformat()
        return f"{self.valid_from.isoformat()} 至 {end}"


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(max(1, (end - start).days)))


def _address(rng: random.Random, prov: Province, city: str, district: str) -> str:
    head = prov.name if prov.municipality else prov.name + city
    if rng.random() < 0.25:
        tail = f"{rng.choice(TOWNS)}{rng.choice(VILLAGES)}{rng.randint(1, 12)}组{rng.randint(1, 99)}号"
    else:
        tail = f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
        if rng.random() < 0.6:
            tail += f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 30)}{rng.randint(1, 4):02d}室"
    return head + district + tail


def make_identity(rng: random.Random) -> Identity:
    """A fake identity; the ID number encodes its region, birth date and gender."""
    gender = rng.choice(GENDERS)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
    ethnicity = "汉" if rng.random() < 0.8 else rng.choice(MINOR_ETHNICITIES)
    birth = _random_date(rng, date(1955, 1, 1), date(2004, 12, 31))
    prov = rng.choice(PROVINCES)
    city_index = rng.randrange(len(prov.cities))
    city = prov.cities[city_index]
    district_index = rng.randrange(len(DISTRICTS))
    district = DISTRICTS[district_index]
    region = f"{prov.code}{city_index + 1:02d}{district_index + 1:02d}"
    seq = rng.randint(0, 99) * 10 + rng.choice((1, 3, 5, 7, 9) if gender == "男" else (0, 2, 4, 6, 8))
    first17 = f"{region}{birth.strftime('%Y%m%d')}{seq:03d}"
    issued = _random_date(rng, _add_years(birth, 16), REFERENCE_DATE)
    age = issued.year - birth.year
    years = 10 if age < 26 else 20 if age < 46 else None
    short = district[:-1] if len(district) > 2 else district
    return Identity(
        name=name,
        gender=gender,
        ethnicity=ethnicity,
        birth=birth,
        address=_address(rng, prov, city, district),
        id_number=first17 + id_check_digit(first17),
        province=prov,
        city=city,
        district=district,
        id_issuer=f"{city}公安局{short}分局",
        id_valid_from=issued,
        id_valid_to=None if years is None else _add_years(issued, years),
    )


def make_license(rng: random.Random, holder: Identity | None = None) -> License:
    """A licence for ``holder`` (a new identity when omitted); licence number = ID number."""
    person = holder if holder is not None else make_identity(rng)
    first = _random_date(rng, _add_years(person.birth, 18), REFERENCE_DATE - timedelta(days=30))
    # Renewals: 6 years, then 10 years, then 长期.
    valid_from, span = first, 6
    valid_to: date | None = _add_years(first, 6)
    while valid_to is not None and valid_to < REFERENCE_DATE:
        valid_from = valid_to
        span = 10 if span == 6 else 0
        valid_to = _add_years(valid_from, span) if span else None
    prov = person.province
    if prov.municipality:
        authority = f"{prov.name}公安局公安交通管理局"
    else:
        authority = f"{prov.name}{person.city}公安局交通警察支队"
    return License(
        holder=person,
        license_number=person.id_number,
        nationality="中国",
        first_issue=first,
        vehicle_class=rng.choice(VEHICLE_CLASSES),
        valid_from=valid_from,
        valid_to=valid_to,
        authority=authority,
    )


def pool_characters() -> set[str]:
    """Every character the generator can ever print (the font subset must cover all of them)."""
    chars: set[str] = set(SURNAMES) | set(GIVEN_CHARS) | set(GENDERS) | set("汉") | set(FIXED_TEXT) | set(ASCII_TEXT)
    for word in (*(label.text for label in LABELS), *(title for title, _ in TITLES)):
        chars |= set(word)
    for word in (*MINOR_ETHNICITIES, *DISTRICTS, *STREETS, *VILLAGES, *TOWNS, *VEHICLE_CLASSES):
        chars |= set(word)
    for prov in PROVINCES:
        chars |= set(prov.name)
        for city in prov.cities:
            chars |= set(city)
    return chars
