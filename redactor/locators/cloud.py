"""The cloud locator: Tencent Cloud Infinite's AILicenseRec (``--engine cos``).

The service must see exactly the pixels the masks will be drawn on (reference 4.4: it
is not documented whether it applies EXIF orientation). So the locator never sends the
original file: it uploads the decoded, upright, metadata-free image to a staging key,
asks AILicenseRec about that object, and deletes the staging object whatever happens.
``auto`` tries IDCard, then DriverLicense when nothing was found.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from redactor.core.ailicenserec import parse_response
from redactor.core.fields import CardType, CardTypeHint
from redactor.core.results import Detection
from redactor.cos.factory import make_cos_client
from redactor.errors import LocatorError, RedactorError
from redactor.locators.base import BaseLocator, LocateRequest
from redactor.locators.replay import fit_to_image

if TYPE_CHECKING:
    from redactor.cos.ports import CosOperations


#: Where local images are uploaded for AILicenseRec (and deleted after) unless told otherwise.
STAGING_PREFIX = "redactor-staging/"


@dataclass(frozen=True)
class Staging:
    """Where images are uploaded for detection: ``cos://<bucket>/<prefix>``."""

    bucket: str
    prefix: str = STAGING_PREFIX

    def key(self) -> str:
        name = f"{uuid.uuid4().hex}.png"
        return f"{self.prefix.rstrip('/')}/{name}" if self.prefix else name


def _upright_png(image: Image.Image) -> bytes:
    """Lossless, so the service sees exactly the pixels the masks will be drawn on."""
    rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class CloudLocator(BaseLocator):
    """AILicenseRec through our own COS client; ``client`` is a ``redactor.cos.client.CosClient``."""

    name = "cos"

    def __init__(self, client: CosOperations, staging: Staging) -> None:
        self._client = client
        self._staging = staging

    def locate(self, request: LocateRequest) -> Detection:
        stored = request.stored
        if stored is not None and stored.as_decoded:
            # Already in COS, and its pixels are the ones the masks go on: no upload needed.
            return self._recognise(stored.bucket, stored.key, request)
        key = self._staging.key()
        try:
            self._client.put_object(self._staging.bucket, key, _upright_png(request.image), content_type="image/png")
            return self._recognise(self._staging.bucket, key, request)
        except RedactorError as exc:
            raise LocatorError(f"AILicenseRec failed: {exc}") from None
        finally:
            try:
                self._client.delete_object(self._staging.bucket, key)
            except Exception:  # noqa: S110 - best effort; the staging prefix can carry a lifecycle rule too
                pass

    def _recognise(self, bucket: str, key: str, request: LocateRequest) -> Detection:
        """AILicenseRec on ``key``; for ``auto``, IDCard first, then DriverLicense when nothing was found."""
        order = (
            [request.card_type.card_type()]
            if request.card_type is not CardTypeHint.AUTO
            else [CardType.ID_CARD, CardType.DRIVER_LICENSE]
        )
        detection = Detection(0)
        try:
            for card_type in order:
                assert card_type is not None
                body = self._client.ai_license_rec(bucket, key, card_type.value)
                detection = fit_to_image(parse_response(body, card_type=card_type), *request.image.size)
                if detection.found_anything:
                    break
        except RedactorError as exc:
            raise LocatorError(f"AILicenseRec failed: {exc}") from None
        return detection


def build_cloud_locator(
    *, staging: str | None, endpoint: str | None = None, region: str | None = None, ci_rate: float | None = None
) -> CloudLocator:
    """A CloudLocator from CLI-style settings: credentials and region from the environment
    (or ``~/.cos.yaml``), the endpoint from ``--endpoint``/``COS_ENDPOINT``, and the staging
    place ``cos://<bucket>/<prefix>`` from ``--staging``/``REDACTOR_STAGING``."""
    import os

    from redactor.cos.config import parse_cos_url
    from redactor.errors import UsageError

    staging = staging or os.environ.get("REDACTOR_STAGING")
    if not staging:
        raise UsageError("--engine cos needs a staging place: --staging cos://<bucket-appid>/<prefix>/")
    try:
        bucket, prefix = parse_cos_url(staging)
    except RedactorError as exc:
        raise UsageError(str(exc)) from None
    client = make_cos_client(endpoint=endpoint, region=region, bucket=bucket, ci_rate=ci_rate)
    return CloudLocator(client, Staging(bucket, prefix or STAGING_PREFIX))
