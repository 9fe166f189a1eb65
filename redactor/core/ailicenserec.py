"""Parse (and write) AILicenseRec responses (reference section 4.2).

Accepts: one or many ``IdInfo``; one ``Location`` holding many ``Point`` (Go/PHP SDKs)
or many ``Location`` each holding one ``Point`` (Android SDK); ``Status`` 0; empty or
missing ``DetectedText``; namespaced roots; points outside the image (clamped when the
image size is given). Parsing goes through defusedxml, so entity-expansion and external
entity tricks are refused. Anything malformed raises :class:`ResponseParseError` and
nothing else; the message never quotes DetectedText.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from redactor.core.fields import CardType
from redactor.core.results import Detection, LocatedField, Polygon
from redactor.errors import ResponseParseError

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
_POINT = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*[,，]\s*([-+]?\d+(?:\.\d+)?)\s*$")


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if _local(c.tag) == name]


def _text(elem: ET.Element, name: str) -> str | None:
    found = _children(elem, name)
    if not found:
        return None
    return (found[0].text or "").strip()


def parse_response(
    data: bytes | str,
    *,
    card_type: CardType | None = None,
    image_size: tuple[int, int] | None = None,
    request_id: str | None = None,
) -> Detection:
    """Parse one AILicenseRec XML body into a :class:`Detection`."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_RESPONSE_BYTES:
        raise ResponseParseError(f"response is {len(raw)} bytes, over the {MAX_RESPONSE_BYTES} byte limit")
    try:
        root = safe_et.fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ResponseParseError(
            f"response refused: {type(exc).__name__} (DTDs and entities are not allowed)"
        ) from None
    except ET.ParseError as exc:
        raise ResponseParseError(
            f"response is not well-formed XML ({exc.msg if hasattr(exc, 'msg') else 'parse error'})"
        ) from None
    except (ValueError, TypeError, UnicodeError, RecursionError):
        raise ResponseParseError("response is not well-formed XML") from None

    if _local(root.tag) != "Response":
        raise ResponseParseError(f"root element is <{_local(root.tag)[:40]}>, expected <Response>")

    status_text = _text(root, "Status")
    if status_text is None:
        raise ResponseParseError("<Status> is missing")
    if status_text not in ("0", "1"):
        raise ResponseParseError(f"<Status> is {status_text[:20]!r}, expected 0 or 1")
    status = int(status_text)

    fields: list[LocatedField] = []
    for index, info in enumerate(_children(root, "IdInfo"), start=1):
        fields.append(_parse_id_info(info, index, card_type, image_size))
    return Detection(status=status, fields=tuple(fields), card_type=card_type, request_id=request_id)


def _parse_id_info(
    info: ET.Element, index: int, card_type: CardType | None, image_size: tuple[int, int] | None
) -> LocatedField:
    name = _text(info, "Name") or ""
    score_text = _text(info, "Score")
    if score_text is None or score_text == "":
        score = 0.0  # no confidence given: treat as the least confident (fail closed)
    else:
        try:
            score = float(score_text)
        except ValueError:
            raise ResponseParseError(f"IdInfo #{index}: <Score> is not a number") from None
        if not math.isfinite(score) or not 0.0 <= score <= 100.0:
            raise ResponseParseError(f"IdInfo #{index}: <Score> is outside 0-100")

    points: list[tuple[float, float]] = []
    for location in _children(info, "Location"):
        for point in _children(location, "Point"):
            match = _POINT.match(point.text or "")
            if match is None:
                raise ResponseParseError(f"IdInfo #{index}: a <Point> is not of the form 'x,y'")
            points.append((float(match.group(1)), float(match.group(2))))
    if len(points) < 3:
        raise ResponseParseError(f"IdInfo #{index}: <Location> has {len(points)} point(s), at least 3 are needed")
    try:
        polygon = Polygon(tuple(points))
    except ValueError as exc:
        raise ResponseParseError(f"IdInfo #{index}: {exc}") from None
    if image_size is not None:
        polygon = polygon.clamped(*image_size)
    detected = _text(info, "DetectedText")
    return LocatedField.named(name, score, polygon, card_type, detected_text=detected or None)


def _fmt(value: float) -> str:
    """The service reports integer pixels; fractions (from our own engines) are written
    exactly, so a response written and read back gives the very same polygons."""
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.10f}".rstrip("0").rstrip(".")  # fixed point: never an exponent


def render_response(detection: Detection, *, include_text: bool = True) -> bytes:
    """Write a Detection in the service's XML shape (for sidecars and the emulator)."""
    parts = ["<Response>", f"<Status>{detection.status}</Status>"]
    for located in detection.fields:
        parts.append("<IdInfo>")
        parts.append(f"<Name>{escape(located.raw_name)}</Name>")
        text = located.detected_text if include_text and located.detected_text else ""
        parts.append(f"<DetectedText>{escape(text)}</DetectedText>")
        parts.append(f"<Score>{int(round(located.score))}</Score>")
        parts.append("<Location>")
        parts.extend(f"<Point>{_fmt(x)},{_fmt(y)}</Point>" for x, y in located.polygon.points)
        parts.append("</Location>")
        parts.append("</IdInfo>")
    parts.append("</Response>")
    return "\n".join(parts).encode("utf-8")
