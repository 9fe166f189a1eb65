from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor.core.ailicenserec import parse_response, render_response
from redactor.core.fields import CardType
from redactor.core.results import Detection, LocatedField, Polygon
from redactor.errors import ResponseParseError

SEED = """<Response>
<Status>1</Status>
<IdInfo><Name>Name</Name><DetectedText>xxx</DetectedText><Score>99</Score>
<Location><Point>553,439</Point><Point>553,576</Point><Point>989,576</Point><Point>989,439</Point></Location></IdInfo>
<IdInfo><Name>Identification Number (ID Number)</Name><DetectedText>43xxxx</DetectedText><Score>99</Score>
<Location><Point>842,1372</Point><Point>842,1615</Point><Point>2284,1615</Point><Point>2284,1372</Point></Location></IdInfo>
</Response>"""


def test_seed_example_parses():
    d = parse_response(SEED)
    assert d.status == 1
    assert [f.canonical for f in d.fields] == ["name", "id_number"]
    assert d.fields[1].polygon.bounds == (842, 1372, 2284, 1615)
    assert d.fields[0].detected_text == "xxx"


def test_single_idinfo_single_point_locations_and_chinese_names():
    xml = (
        "<Response><Status>1</Status><IdInfo><Name>公民身份号码</Name><Score>88</Score>"
        "<Location><Point>1,2</Point></Location><Location><Point>30,2</Point></Location>"
        "<Location><Point>30,20</Point></Location></IdInfo></Response>"
    )
    d = parse_response(xml, card_type=CardType.ID_CARD)
    (f,) = d.fields
    assert f.canonical == "id_number" and f.score == 88 and len(f.polygon.points) == 3
    assert f.detected_text is None and f.card_type is CardType.ID_CARD


def test_status_zero_and_empty_text():
    assert parse_response("<Response><Status>0</Status></Response>").found_anything is False
    d = parse_response(
        "<Response><Status>1</Status><IdInfo><Name>住址</Name><DetectedText/><Score>90</Score><Location>"
        "<Point>0,0</Point><Point>5,0</Point><Point>5,5</Point></Location></IdInfo></Response>"
    )
    assert d.fields[0].detected_text is None


def test_namespaced_root_is_accepted():
    d = parse_response('<Response xmlns="http://www.qcloud.com/x"><Status>0</Status></Response>')
    assert d.status == 0


def test_points_outside_the_image_are_clamped():
    xml = (
        "<Response><Status>1</Status><IdInfo><Name>姓名</Name><Score>90</Score><Location>"
        "<Point>-5,-3</Point><Point>120,-1</Point><Point>130,70</Point><Point>-2,60</Point></Location></IdInfo></Response>"
    )
    f = parse_response(xml, image_size=(100, 50)).fields[0]
    assert f.polygon.bounds == (0, 0, 100, 50)


def test_unknown_name_kept_as_unknown():
    xml = (
        "<Response><Status>1</Status><IdInfo><Name>Mystery</Name><Score>90</Score><Location>"
        "<Point>0,0</Point><Point>5,0</Point><Point>5,5</Point></Location></IdInfo></Response>"
    )
    f = parse_response(xml).fields[0]
    assert f.canonical is None and f.raw_name == "Mystery"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Response><Status>1</Status><IdInfo><Name>&lol3;</Name></IdInfo></Response>"""

EXTERNAL = """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Response><Status>&x;</Status></Response>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL,
        "",
        "not xml",
        "<Response>",
        "<Other><Status>1</Status></Other>",
        "<Response><Status>2</Status></Response>",
        "<Response></Response>",
        "<Response><Status>1</Status><IdInfo><Name>姓名</Name><Score>x</Score></IdInfo></Response>",
        "<Response><Status>1</Status><IdInfo><Name>姓名</Name><Score>101</Score></IdInfo></Response>",
        "<Response><Status>1</Status><IdInfo><Name>姓名</Name><Location><Point>1;2</Point></Location></IdInfo></Response>",
        "<Response><Status>1</Status><IdInfo><Name>姓名</Name><Location><Point>1,2</Point></Location></IdInfo></Response>",
        b"\xff\xfe\x00<",
    ],
)
def test_malformed_raises_typed_error(body):
    with pytest.raises(ResponseParseError):
        parse_response(body)


def test_error_message_never_quotes_detected_text():
    xml = (
        "<Response><Status>1</Status><IdInfo><Name>姓名</Name><DetectedText>CANARY-王小明</DetectedText>"
        "<Score>90</Score><Location><Point>bad</Point></Location></IdInfo></Response>"
    )
    with pytest.raises(ResponseParseError) as info:
        parse_response(xml)
    assert "CANARY" not in str(info.value)


def test_render_round_trip():
    fields = (
        LocatedField.named("姓名", 97, Polygon.rect(10, 10, 50, 20), CardType.ID_CARD, "张 & <三>"),
        LocatedField.named("住址", 91, Polygon.of([(1, 1), (9, 1), (9, 9), (1, 9)]), CardType.ID_CARD),
    )
    xml = render_response(Detection(1, fields, CardType.ID_CARD))
    back = parse_response(xml, card_type=CardType.ID_CARD)
    assert [(f.canonical, f.score, f.polygon) for f in back.fields] == [
        (f.canonical, f.score, f.polygon) for f in fields
    ]
    assert back.fields[0].detected_text == "张 & <三>"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.binary()))
def test_arbitrary_input_raises_only_typed_error(body):
    try:
        parse_response(body)
    except ResponseParseError:
        pass


xml_fragments = st.lists(
    st.sampled_from(
        [
            "<Response>",
            "</Response>",
            "<Status>1</Status>",
            "<Status>0</Status>",
            "<IdInfo>",
            "</IdInfo>",
            "<Name>姓名</Name>",
            "<Score>90</Score>",
            "<Score>-1</Score>",
            "<Location>",
            "</Location>",
            "<Point>1,2</Point>",
            "<Point>3,4</Point>",
            "<Point>9,9</Point>",
            "<Point>nan,1</Point>",
            "<Point>1e9,1</Point>",
            "<DetectedText>x</DetectedText>",
            "&amp;",
            "<![CDATA[x]]>",
            "<!-- c -->",
        ]
    ),
    max_size=30,
)


@settings(max_examples=500, deadline=None)
@given(xml_fragments)
def test_structured_fuzz_raises_only_typed_error(parts):
    try:
        d = parse_response("".join(parts))
    except ResponseParseError:
        return
    for f in d.fields:
        assert len(f.polygon.points) >= 3 and 0 <= f.score <= 100
