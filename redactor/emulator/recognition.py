"""``ci-process=AILicenseRec`` answered by an engine: ``replay`` returns the object
``<key>.ailicenserec.xml`` of the same bucket (``<Status>0</Status>`` when there is none, or
when it is about another card type); ``local`` runs the offline ``LocalLocator`` on the
EXIF-upright image and also reports the face photo as a field named ``portrait`` (an emulator
extension: the real service does not locate it). A rate caps requests per second; excess ones
get 503 ``SlowDown``, the real service's throttling answer. Results of ``local`` are cached by
(sha256 of the object, CardType, engine)."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from redactor.core.companions import SIDECAR_SUFFIX
from redactor.cos.ratelimit import TokenBucket
from redactor.emulator.protocol import HOST_RE, ErrorReply, Reply, Request, split_host
from redactor.emulator.store import Store

ENGINES = ("replay", "local")
CARD_TYPES = ("IDCard", "DriverLicense")
_NO_MATCH = b"<Response><Status>0</Status></Response>"


class Recognition:
    """The emulated AILicenseRec of one emulator (thread-safe)."""

    def __init__(self, store: Store, engine: str, rate: float = 0.0) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown ci engine {engine!r}; expected one of {', '.join(ENGINES)}")
        self.store, self.engine = store, engine
        #: ``rate`` requests per second at most (0: unlimited).
        self.limiter = TokenBucket(rate) if rate > 0 else None
        self._cache: dict[tuple[str, str, str], bytes] = {}
        self._lock = threading.Lock()
        self._locator: Any = None

    async def answer(self, request: Request) -> Reply:
        """``GET /<key>?ci-process=AILicenseRec&CardType=...`` (or ``detect-url=``)."""
        if request.param("ci-process") != "AILicenseRec":
            raise ErrorReply(400, "InvalidArgument", "Only ci-process=AILicenseRec is emulated.")
        card = request.param("CardType") or "DriverLicense"
        if card not in CARD_TYPES:
            raise ErrorReply(400, "InvalidArgument", "CardType must be IDCard or DriverLicense.")
        bucket, key = request.bucket, request.key
        if not key:
            url = request.param("detect-url")
            if not url:
                raise ErrorReply(400, "InvalidArgument", "Give an object key or detect-url.")
            bucket, key = self._resolve_url(url)
        if self.limiter is not None and not self.limiter.try_take():
            raise ErrorReply(503, "SlowDown", "Please reduce your request rate.")
        found = self.store.get(bucket, key) if self.store.has_bucket(bucket) else None
        if found is None:
            raise ErrorReply(404, "NoSuchKey", "The specified key does not exist.")
        digest = hashlib.sha256(found[1]).hexdigest()
        if self.engine == "replay":
            sidecar = self.store.get(bucket, key + SIDECAR_SUFFIX)
            body = _NO_MATCH if sidecar is None or not _replay_matches(sidecar[1], card) else sidecar[1]
        else:
            cache_key = (digest, card, self.engine)
            cached = self._cache.get(cache_key)
            if cached is None:
                cached = await asyncio.to_thread(self._run_local, found[1], card, key)
                self._cache[cache_key] = cached
            body = cached
        return Reply(200, body, [("Content-Type", "application/xml")])

    def _resolve_url(self, url: str) -> tuple[str, str]:
        """detect-url must name an object of this emulator: it never fetches the network."""
        parts = urlsplit(url)
        host = split_host(parts.netloc)
        path = unquote_to_bytes(parts.path or "/").decode("utf-8", "replace")
        match = HOST_RE.match(host)
        if match:
            return match.group("bucket"), path[1:]
        if host in ("localhost", "127.0.0.1", "[::1]"):
            bucket, _, key = path[1:].partition("/")
            return bucket, key
        raise ErrorReply(400, "InvalidImageSource", "detect-url must point at an object of this emulator.")

    def _run_local(self, data: bytes, card: str, name: str) -> bytes:
        from redactor.core.ailicenserec import render_response
        from redactor.core.fields import CardType, CardTypeHint
        from redactor.core.imaging import decode
        from redactor.core.results import Detection
        from redactor.errors import ImageError, ImageTooLargeError, RedactorError
        from redactor.locators.base import LocateRequest
        from redactor.locators.local import LocalLocator

        try:
            image = decode(data).image
        except ImageTooLargeError:
            raise ErrorReply(400, "ImageTooLarge", "The image is too large.") from None
        except ImageError:
            raise ErrorReply(400, "InvalidImageFormat", "The object is not an image the service reads.") from None
        with self._lock:
            if self._locator is None:
                self._locator = LocalLocator()
            locator = self._locator
        try:
            detection: Detection = locator.locate(LocateRequest(image, CardTypeHint(card), name))
        except RedactorError:
            raise ErrorReply(500, "InternalError", "Recognition failed.") from None
        wanted = CardType(card)
        if detection.card_type is not None and detection.card_type is not wanted:
            return render_response(Detection(0))
        fields = tuple(f for f in detection.fields if f.card_type in (None, wanted))
        return render_response(Detection(1 if fields else 0, fields))


def _replay_matches(sidecar: bytes, card: str) -> bool:
    """A saved response answers only the card type it is about, as the service would: a
    driving licence asked about as an ID card finds nothing."""
    from redactor.core.ailicenserec import parse_response
    from redactor.core.fields import infer_card_type
    from redactor.errors import ResponseParseError

    try:
        detection = parse_response(sidecar)
    except ResponseParseError:
        return True  # let the client see (and refuse) the malformed body
    kind = infer_card_type(f.canonical for f in detection.fields if f.canonical)
    return kind is None or kind.value == card
