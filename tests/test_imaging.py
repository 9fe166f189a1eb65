"""Decoding honours EXIF orientation and refuses what it cannot handle safely;
encoding drops all metadata (EXIF with its thumbnail, XMP, comments, GPS, text) but
keeps the ICC profile, the size, the mode and the format."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from redactor.core.imaging import decode, encode
from redactor.errors import ImageTooLargeError, UnreadableImageError, UnsupportedImageError


def jpeg_bytes(image: Image.Image, **kw) -> bytes:
    b = io.BytesIO()
    image.save(b, "JPEG", **kw)
    return b.getvalue()


def exif_with_thumbnail(orientation: int, thumbnail: bytes) -> bytes:
    """A little-endian TIFF/EXIF block: IFD0 (Orientation, GPS pointer), GPS IFD, IFD1 (JPEG thumbnail)."""
    entries0 = 2
    ifd0 = 8
    gps = ifd0 + 2 + entries0 * 12 + 4
    gps_entries = 1
    ifd1 = gps + 2 + gps_entries * 12 + 4
    thumb = ifd1 + 2 + 2 * 12 + 4
    out = b"II*\x00" + struct.pack("<I", ifd0)
    out += struct.pack("<H", entries0)
    out += struct.pack("<HHII", 0x0112, 3, 1, orientation)
    out += struct.pack("<HHII", 0x8825, 4, 1, gps)
    out += struct.pack("<I", ifd1)
    out += struct.pack("<H", gps_entries) + struct.pack("<HHI4s", 0x0001, 2, 2, b"N\x00\x00\x00") + struct.pack("<I", 0)
    out += struct.pack("<H", 2)
    out += struct.pack("<HHII", 0x0201, 4, 1, thumb)
    out += struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail))
    out += struct.pack("<I", 0)
    return b"Exif\x00\x00" + out + thumbnail


def test_exif_orientation_is_applied_and_all_metadata_dropped():
    img = Image.new("RGB", (120, 60), (255, 255, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))  # red square at the stored top-left
    thumb = jpeg_bytes(Image.new("RGB", (16, 8), (0, 0, 255)), comment=b"THUMB-CANARY")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = jpeg_bytes(
        img,
        exif=exif_with_thumbnail(6, thumb),
        comment=b"COMMENT-CANARY",
        icc_profile=srgb,
        xmp=b"<x:xmpmeta>XMP-CANARY</x:xmpmeta>",
    )
    assert b"THUMB-CANARY" in data and b"XMP-CANARY" in data
    decoded = decode(data)
    assert decoded.orientation == 6
    assert decoded.image.size == (60, 120)  # rotated 90 degrees clockwise for display
    # orientation 6: the stored top-left ends up at the top-right
    assert decoded.image.getpixel((55, 5))[0] > 200 and decoded.image.getpixel((5, 5))[1] > 200
    out = encode(decoded)
    for canary in (b"THUMB-CANARY", b"COMMENT-CANARY", b"XMP-CANARY", b"Exif\x00\x00"):
        assert canary not in out
    reopened = Image.open(io.BytesIO(out))
    assert reopened.size == (60, 120)
    assert reopened.info.get("icc_profile") == srgb
    assert not reopened.getexif()


def test_png_text_chunks_are_dropped_and_mode_kept():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "TEXT-CANARY")
    info.add_itxt("XML:com.adobe.xmp", "ITXT-CANARY")
    b = io.BytesIO()
    Image.new("LA", (30, 20), (10, 200)).save(b, "PNG", pnginfo=info)
    out = encode(decode(b.getvalue()))
    assert b"TEXT-CANARY" not in out and b"ITXT-CANARY" not in out
    assert Image.open(io.BytesIO(out)).mode == "LA"


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        ("PNG", "RGB"),
        ("PNG", "RGBA"),
        ("PNG", "L"),
        ("PNG", "LA"),
        ("PNG", "P"),
        ("PNG", "I;16"),
        ("TIFF", "CMYK"),
        ("TIFF", "RGB"),
        ("JPEG", "RGB"),
        ("JPEG", "L"),
        ("JPEG", "CMYK"),
        ("WEBP", "RGB"),
        ("BMP", "RGB"),
        ("GIF", "P"),
    ],
)
def test_format_and_mode_round_trip(fmt, mode):
    rng = np.random.default_rng(1)
    base = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    img = base.convert(mode) if mode != "I;16" else Image.fromarray(rng.integers(0, 65535, (24, 32), dtype=np.uint16))
    b = io.BytesIO()
    img.save(b, fmt)
    decoded = decode(b.getvalue())
    out = Image.open(io.BytesIO(encode(decoded)))
    assert out.format == fmt and out.size == (32, 24)
    assert out.mode == Image.open(io.BytesIO(b.getvalue())).mode


def _multi_frame(fmt: str) -> bytes:
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 255, 0))]
    b = io.BytesIO()
    frames[0].save(b, fmt, save_all=True, append_images=frames[1:])
    return b.getvalue()


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "TIFF"])
def test_multi_frame_images_are_refused(fmt):
    with pytest.raises(UnsupportedImageError, match="multi-frame"):
        decode(_multi_frame(fmt))


def test_corrupt_truncated_and_empty_inputs():
    data = jpeg_bytes(Image.new("RGB", (200, 200), (1, 2, 3)))
    for bad in (b"", b"GIF89a nonsense", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, data[: len(data) // 3]):
        with pytest.raises((UnreadableImageError, UnsupportedImageError)):
            decode(bad)


def test_huge_dimensions_are_refused_before_decoding():
    # A PNG header that claims 60000 x 60000 pixels, with almost no data behind it.
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    with pytest.raises(ImageTooLargeError):
        decode(png)
    with pytest.raises(ImageTooLargeError):
        decode(jpeg_bytes(Image.new("RGB", (300, 300))), max_pixels=1000)


def test_unsupported_format_is_refused_clearly():
    b = io.BytesIO()
    Image.new("RGB", (16, 16)).save(b, "ICO")
    with pytest.raises(UnsupportedImageError, match="not supported"):
        decode(b.getvalue())
