"""Replay a saved AILicenseRec response stored next to the image.

Users re-apply a changed policy without paying for detection again: the response
for ``a.jpg`` is ``a.jpg.ailicenserec.xml``. Its points are on the upright image grid
(redactor always sends upright, EXIF-free images to the service).
"""

from __future__ import annotations

from redactor.core.ailicenserec import parse_response
from redactor.core.results import Detection
from redactor.errors import LocatorError
from redactor.locators.base import SIDECAR_SUFFIX, BaseLocator, LocateRequest


class ReplayLocator(BaseLocator):
    name = "replay"

    def __init__(self, response: bytes | None = None) -> None:
        """``response`` pins one saved response (library use); otherwise the sidecar is read."""
        self._response = response

    def locate(self, request: LocateRequest) -> Detection:
        data = self._response
        if data is None and request.companion is not None:
            data = request.companion(SIDECAR_SUFFIX)
        if data is None:
            raise LocatorError(f"no saved AILicenseRec response: expected {request.name}{SIDECAR_SUFFIX}")
        return parse_response(
            data,
            card_type=request.card_type.card_type(),
            image_size=request.image.size,
        )
