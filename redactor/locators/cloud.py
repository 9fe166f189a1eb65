"""The cloud locator: Tencent Cloud Infinite's AILicenseRec (``--engine cos``).

The service must see exactly the pixels the masks will be drawn on (reference 4.4: it
is not documented whether it applies EXIF orientation). An object already in COS whose
stored bytes are those pixels is recognised where it is: nothing is uploaded. Any other
image (a local file, an EXIF-rotated photo, a format the service does not read) is
uploaded decoded, upright and metadata-free to a staging key, recognised, and deleted.

A staged image is an unmasked copy outside the source, so none may outlive a run: each is
deleted as soon as it was recognised; :meth:`CloudLocator.close` deletes any left at the
end; and :meth:`CloudLocator.open` deletes everything below the staging prefix that a
killed run left (a run that finds its own staged image gone meanwhile stages it again).
``auto`` asks for the card type that answered most often so far first, so a bucket of one
kind of card costs one AILicenseRec call per object.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from PIL import Image

from redactor.core.ailicenserec import parse_response
from redactor.core.fields import CardType, CardTypeHint
from redactor.core.results import Detection
from redactor.cos.errors import CosNotFoundError, CosRetryExhausted, retryable
from redactor.cos.factory import make_cos_client
from redactor.errors import LocatorError, LocatorUnavailableError, RedactorError
from redactor.locators.base import BaseLocator, LocateRequest
from redactor.locators.replay import fit_to_image

if TYPE_CHECKING:
    from redactor.cos.ports import CosOperations
    from redactor.cos.ratelimit import Limiter

log = logging.getLogger(__name__)

#: Where local images are uploaded for AILicenseRec (and deleted after) unless told otherwise.
STAGING_PREFIX = "redactor-staging/"
#: The name of a staged image below the staging prefix (what :meth:`Staging.key` makes).
_STAGED_NAME = re.compile(r"[0-9a-f]{32}\.png")
#: How many times an image whose staged copy vanished (another run's clean-up) is staged again.
RESTAGE_ATTEMPTS = 2


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


def _failure(exc: RedactorError) -> LocatorError:
    """A transient failure (retries outlasted) leaves the image undecided; others are final."""
    if isinstance(exc, CosRetryExhausted) or retryable(exc):
        return LocatorUnavailableError(f"AILicenseRec unavailable: {exc}")
    return LocatorError(f"AILicenseRec failed: {exc}")


class CloudLocator(BaseLocator):
    """AILicenseRec through our own COS client."""

    name = "cos"
    io_bound = True

    def __init__(self, client: CosOperations, staging: Staging) -> None:
        self._client = client
        self._staging = staging
        self._lock = threading.Lock()
        #: Staged keys not deleted yet (deleted by close() if a delete failed).
        self._staged: set[str] = set()
        #: How often each card type answered ``auto``: the likelier one is asked first.
        self._answers = {CardType.ID_CARD: 0, CardType.DRIVER_LICENSE: 0}

    def open(self) -> None:
        """Delete every staged image a killed run left below the staging prefix: only names
        redactor gives them (``<32 hex>.png`` right below it), so a staging place set to a
        prefix holding anything else never loses it."""
        prefix = self._staging.prefix if self._staging.prefix.endswith("/") else self._staging.prefix + "/"
        if prefix == "/":
            return  # never sweep a whole bucket
        left = 0
        for info in self._client.iter_objects(self._staging.bucket, prefix):
            if _STAGED_NAME.fullmatch(info.key[len(prefix) :]):
                self._client.delete_object(self._staging.bucket, info.key)
                left += 1
        if left:
            log.warning("deleted %d staged image(s) left by an earlier run below the staging prefix", left)

    def close(self) -> None:
        with self._lock:
            staged, self._staged = list(self._staged), set()
        for key in staged:
            self._delete(key)

    def _delete(self, key: str) -> bool:
        try:
            self._client.delete_object(self._staging.bucket, key)
        except Exception:  # kept for close() and the next run's open(); a lifecycle rule too
            return False
        return True

    def locate(self, request: LocateRequest) -> Detection:
        stored = request.stored
        if stored is not None and stored.as_decoded:
            # Already in COS, and its pixels are the ones the masks go on: no upload needed.
            return self._recognise(stored.bucket, stored.key, request)
        png = _upright_png(request.image)
        for attempt in range(RESTAGE_ATTEMPTS + 1):
            key = self._staging.key()
            with self._lock:
                self._staged.add(key)
            try:
                self._client.put_object(self._staging.bucket, key, png, content_type="image/png")
                return self._recognise(self._staging.bucket, key, request)
            except _Vanished:
                if attempt == RESTAGE_ATTEMPTS:
                    raise LocatorUnavailableError("the staged image kept vanishing (a run clearing staging)") from None
            except LocatorError:
                raise
            except RedactorError as exc:
                raise _failure(exc) from None
            finally:
                if self._delete(key):
                    with self._lock:
                        self._staged.discard(key)
        raise AssertionError("unreachable")

    def _order(self, request: LocateRequest) -> list[CardType]:
        if request.card_type is not CardTypeHint.AUTO:
            wanted = request.card_type.card_type()
            assert wanted is not None
            return [wanted]
        with self._lock:
            return sorted(self._answers, key=lambda t: -self._answers[t])

    def _recognise(self, bucket: str, key: str, request: LocateRequest) -> Detection:
        """AILicenseRec on ``key``; for ``auto``, the likelier card type first, then the other."""
        detection = Detection(0)
        calls = 0
        try:
            for card_type in self._order(request):
                calls += 1
                body = self._client.ai_license_rec(bucket, key, card_type.value)
                detection = fit_to_image(parse_response(body, card_type=card_type), *request.image.size)
                if detection.found_anything:
                    with self._lock:
                        self._answers[card_type] += 1
                    break
        except CosNotFoundError:
            if bucket == self._staging.bucket and key.startswith(self._staging.prefix):
                raise _Vanished() from None
            raise LocatorError("AILicenseRec failed: the object is gone") from None
        except RedactorError as exc:
            raise _failure(exc) from None
        return replace(detection, service_calls=calls)


class _Vanished(Exception):
    """The staged image was deleted before it was recognised."""


def build_cloud_locator(
    *,
    staging: str | None,
    endpoint: str | None = None,
    region: str | None = None,
    ci_rate: float | None = None,
    ai_limiter: Limiter | None = None,
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
    client = make_cos_client(endpoint=endpoint, region=region, bucket=bucket, ci_rate=ci_rate, ai_limiter=ai_limiter)
    return CloudLocator(client, Staging(bucket, prefix or STAGING_PREFIX))
