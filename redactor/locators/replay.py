"""Replay a saved AILicenseRec response stored next to the image.

Users re-apply a changed policy without paying for detection again: the response
for ``a.jpg`` is ``a.jpg.ailicenserec.xml``. Its points are on the upright image grid
(redactor always sends upright, EXIF-free images to the service).
"""

from __future__ import annotations

from dataclasses import replace

from redactor.core.ailicenserec import parse_response
from redactor.core.companions import SIDECAR_SUFFIX
from redactor.core.results import Detection
from redactor.errors import LocatorError
from redactor.locators.base import BaseLocator, LocateRequest


class ReplayLocator(BaseLocator):
    name = "replay"
    companions: tuple[str, ...] = (SIDECAR_SUFFIX,)

    def __init__(self, response: bytes | None = None) -> None:
        """``response`` pins one saved response (library use); otherwise the sidecar is read."""
        self._response = response
        if response is not None:
            self.companions = ()

    def locate(self, request: LocateRequest) -> Detection:
        data = self._response
        if data is None and request.companion is not None:
            data = request.companion(SIDECAR_SUFFIX)
        if data is None:
            raise LocatorError(f"no saved AILicenseRec response: expected {request.name}{SIDECAR_SUFFIX}")
        detection = parse_response(data, card_type=request.card_type.card_type())
        return fit_to_image(detection, *request.image.size)


#: How far (as a fraction of the image side) a point may lie outside the image before the
#: response is taken to belong to another image (another size or orientation).
OUTSIDE_TOLERANCE = 0.05


def fit_to_image(detection: Detection, width: int, height: int) -> Detection:
    """Clamp points into the image, and flag responses that do not fit it at all."""
    problems = list(detection.problems)
    fields = []
    for located in detection.fields:
        x0, y0, x1, y1 = located.polygon.bounds
        if (
            x0 < -OUTSIDE_TOLERANCE * width
            or y0 < -OUTSIDE_TOLERANCE * height
            or x1 > (1 + OUTSIDE_TOLERANCE) * width
            or y1 > (1 + OUTSIDE_TOLERANCE) * height
        ):
            problems.append(
                f"{located.canonical or 'unknown field'}: polygon reaches far outside the {width}x{height} image "
                "(is the saved response for another image size or orientation?)"
            )
        fields.append(replace(located, polygon=located.polygon.clamped(width, height)))
    return replace(detection, fields=tuple(fields), problems=tuple(dict.fromkeys(problems)))
