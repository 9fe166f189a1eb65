"""The library call: Redactor(policy, engine).redact(...) and its async twin."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from redactor import Decision, NotRedactedError, Redactor, UsageError
from redactor.core.ailicenserec import render_response
from redactor.core.fields import ID_CARD_FIELDS, CardType
from redactor.core.results import Detection, LocatedField, Polygon
from redactor.locators import StaticLocator
from redactor.verifiers import StaticVerifier

from .conftest import ID_CARD_BOXES

#: These tests are about the library call on noise images (no card to look at): the second
#: look is its in-memory twin here, and has its own tests (test_verification.py).
PASS = StaticVerifier()

W, H = 600, 379


def jpeg(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    b = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(b, "JPEG", quality=90)
    return b.getvalue()


def detection() -> Detection:
    return Detection(
        1,
        tuple(
            LocatedField.named(fid, 96, Polygon.rect(*(v * s for v, s in zip(ID_CARD_BOXES[fid], (W, H, W, H)))))
            for fid in (*ID_CARD_FIELDS, "portrait")
        ),
    )


def test_redact_bytes_with_saved_response_returns_masked_jpeg():
    redactor = Redactor(engine="replay", verify=PASS)  # bundled default policy
    result = redactor.redact(jpeg(), response=render_response(detection()))
    assert result.decision is Decision.REDACTED and result.format == "JPEG"
    assert result.card_type is CardType.ID_CARD
    out = result.image()
    assert out.size == (W, H)
    # the ID number zone is black now (box), the gender zone (keep) is not
    x0, y0, x1, y1 = ID_CARD_BOXES["id_number"]
    zone = np.asarray(out.convert("L"))[int(y0 * H) + 2 : int(y1 * H) - 2, int(x0 * W) + 2 : int(x1 * W) - 2]
    assert zone.mean() < 10
    assert {f.located.canonical: f.action for f in result.fields}["gender"] == "keep"


def test_path_input_reads_the_sidecar(tmp_path):
    image = tmp_path / "card.jpg"
    image.write_bytes(jpeg())
    (tmp_path / "card.jpg.ailicenserec.xml").write_bytes(render_response(detection()))
    assert Redactor(policy="strict", engine="replay", verify=PASS).redact(image).redacted


def test_pil_input_and_missing_response_quarantines():
    result = Redactor(engine="replay", verify=PASS).redact(Image.new("RGB", (100, 60)))
    assert result.decision is Decision.QUARANTINED and result.data is None
    assert "no saved AILicenseRec response" in result.reasons[0]
    with pytest.raises(NotRedactedError):
        result.raise_for_decision()


def test_shared_across_threads_gives_identical_results():
    redactor = Redactor(policy="default", engine=StaticLocator(detection()), verify=PASS)
    inputs = [jpeg(i % 3) for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(redactor.redact, inputs))
    serial = [redactor.redact(x) for x in inputs]
    assert [r.data for r in results] == [r.data for r in serial]


def test_async_twin():
    redactor = Redactor(engine=StaticLocator(detection()), verify=PASS)

    async def main():
        return await asyncio.gather(*(redactor.aredact(jpeg(i)) for i in range(3)))

    assert all(r.redacted for r in asyncio.run(main()))


def test_bad_arguments_are_usage_errors():
    with pytest.raises(UsageError):
        Redactor(engine="nope")
    with pytest.raises(UsageError):
        Redactor(card_type="Passport")


def test_exif_rotated_photo_is_masked_on_the_upright_grid():
    # Stored sideways (landscape pixels, EXIF orientation 6 = display rotated 90 degrees clockwise):
    stored = Image.fromarray(np.random.default_rng(4).integers(0, 200, (W, H, 3), dtype=np.uint8))
    exif = stored.getexif()
    exif[0x0112] = 6
    b = io.BytesIO()
    stored.save(b, "JPEG", quality=95, exif=exif)
    assert stored.size == (H, W)  # the stored grid is the transpose of the upright one
    result = Redactor(policy="strict", engine="replay", verify=PASS).redact(
        b.getvalue(), response=render_response(detection())
    )
    assert result.redacted
    out = result.image()
    assert out.size == (W, H) and not out.getexif()
    x0, y0, x1, y1 = ID_CARD_BOXES["id_number"]
    zone = np.asarray(out.convert("L"))[int(y0 * H) + 2 : int(y1 * H) - 2, int(x0 * W) + 2 : int(x1 * W) - 2]
    assert zone.mean() < 10


def test_response_for_another_grid_is_quarantined():
    # Points on a 1600-px-wide grid do not belong to a 600-px-wide image.
    far = Detection(
        1,
        tuple(
            replace(f, polygon=Polygon(tuple((x * 2.7, y) for x, y in f.polygon.points))) for f in detection().fields
        ),
    )
    result = Redactor(engine="replay", verify=PASS).redact(jpeg(), response=render_response(far))
    assert result.decision is Decision.QUARANTINED
    assert any("another image size or orientation" in r for r in result.reasons)
