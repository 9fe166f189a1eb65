"""Decode images safely and encode masked ones without their metadata.

Bytes in, bytes out: no files. Decoding applies the EXIF orientation first, so that
detection, masks and output all live on the upright pixel grid. Encoding writes only
pixels, the ICC profile (colour fidelity), transparency and resolution: EXIF (with its
embedded thumbnail, which can hold the unredacted picture), XMP, IPTC, GPS and comments
are all dropped.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageFile, JpegImagePlugin

from redactor.errors import ImageTooLargeError, UnreadableImageError, UnsupportedImageError

#: Formats we read and write back in kind. MPO (multi-picture JPEG from phones) is read
#: as its primary picture and written as JPEG.
SUPPORTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "TIFF", "BMP", "GIF")
OUTPUT_FORMAT = {"MPO": "JPEG"}
EXTENSIONS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".gif": "GIF",
}
#: Images with more pixels are refused before decoding (decompression-bomb guard).
DEFAULT_MAX_PIXELS = 80_000_000
#: Input files over this size are refused (by their size, before reading, for folders).
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
#: Output quality for JPEG and lossy WebP.
DEFAULT_JPEG_QUALITY = 95
#: ICC profiles larger than this are dropped, not copied: real ones are a few kB to a
#: few hundred kB; a bigger one is junk (or a payload) riding on the image.
MAX_ICC_BYTES = 1024 * 1024
#: JPEG start-of-frame markers of arithmetic-coded images (SOF9-SOF11, SOF13-SOF15).
_ARITHMETIC_SOF = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})

_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


@dataclass
class DecodedImage:
    """An upright image plus what is needed to write it back in kind."""

    image: Image.Image
    format: str
    orientation: int = 1
    icc_profile: bytes | None = None
    save_options: dict[str, Any] = field(default_factory=dict)

    @property
    def output_format(self) -> str:
        return OUTPUT_FORMAT.get(self.format, self.format)


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says, read without decoding its pixels."""

    format: str
    size: tuple[int, int]
    orientation: int

    @property
    def upright_size(self) -> tuple[int, int]:
        """The size once EXIF orientation is applied (5-8 swap width and height)."""
        return (self.size[1], self.size[0]) if self.orientation in (5, 6, 7, 8) else self.size


def peek(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES) -> ImageHeader:
    """The header of an image, with every check :func:`decode` makes before it decodes
    (limits, format, frames): for deciding what to do with an image before paying for it."""
    im, fmt = _open_checked(data, max_pixels=max_pixels, max_bytes=max_bytes)
    return ImageHeader(fmt, im.size, _orientation(im))


def _orientation(im: Image.Image) -> int:
    try:
        orientation = int(im.getexif().get(_ORIENTATION_TAG, 1) or 1)
    except Exception:
        orientation = 1
    return orientation if orientation in _TRANSPOSE else 1


def _open_checked(data: bytes, *, max_pixels: int, max_bytes: int) -> tuple[Image.Image, str]:
    """The image opened lazily (header only), refused if over a limit or not one we read."""
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"image is {len(data)} bytes, over the {max_bytes} byte limit")
    if not data:
        raise UnreadableImageError("image is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(f"image has too many pixels (limit {max_pixels})") from None
    except Exception as exc:  # Pillow raises many kinds for garbage input
        raise UnreadableImageError(f"not a readable image ({type(exc).__name__})") from None
    fmt = im.format or ""
    if fmt not in SUPPORTED_FORMATS:
        raise UnsupportedImageError(
            f"image format {fmt or 'unknown'} is not supported; use one of JPEG, PNG, WEBP, TIFF, BMP, GIF"
        )
    width, height = im.size
    if width <= 0 or height <= 0:
        raise UnreadableImageError("image has no pixels")
    if width * height > max_pixels:
        raise ImageTooLargeError(f"image is {width}x{height} = {width * height} pixels, over the {max_pixels} limit")
    frames = getattr(im, "n_frames", 1)
    if frames > 1 and fmt != "MPO":
        raise UnsupportedImageError(
            f"multi-frame image ({frames} frames, {fmt}): animations and multi-page files are refused; "
            "split it into single images first"
        )
    return im, fmt


def decode(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> DecodedImage:
    """Decode, check limits, refuse animations, apply EXIF orientation."""
    im, fmt = _open_checked(data, max_pixels=max_pixels, max_bytes=max_bytes)
    save_options = _save_options(im, fmt)
    orientation = _orientation(im)
    icc = _usable_icc(im.info.get("icc_profile"))
    transparency = im.info.get("transparency")
    try:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        im.load()
    except Exception as exc:
        if fmt in ("JPEG", "MPO") and _is_arithmetic_jpeg(data):
            raise UnsupportedImageError(
                "arithmetic-coded JPEG, which cannot be decoded here; re-save it as a baseline JPEG"
            ) from None
        raise UnreadableImageError(f"image data is corrupt or truncated ({type(exc).__name__})") from None
    upright: Image.Image = im
    for op in _TRANSPOSE.get(orientation, []):
        upright = upright.transpose(op)
    if upright is im:
        upright = im.copy() if fmt == "MPO" else im
    # Drop every piece of metadata from the working image; only what encode() is told survives.
    upright.info = {}
    if transparency is not None:
        upright.info["transparency"] = transparency
    return DecodedImage(upright, fmt, orientation, icc, save_options)


def _usable_icc(icc: Any) -> bytes | None:
    """The ICC profile to write back: only one that is small enough and parses."""
    if not isinstance(icc, bytes) or not icc or len(icc) > MAX_ICC_BYTES:
        return None
    try:
        from PIL import ImageCms

        ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except Exception:
        return None
    return icc


def _is_arithmetic_jpeg(data: bytes) -> bool:
    """Whether the JPEG's frame header (before the first scan) says arithmetic coding."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker in _ARITHMETIC_SOF:
            return True
        if marker == 0xDA:  # start of scan: no frame header came before it
            return False
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return False


def _save_options(im: Image.Image, fmt: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    dpi = im.info.get("dpi")
    if isinstance(dpi, tuple) and len(dpi) == 2:
        options["dpi"] = tuple(float(v) for v in dpi)
    if fmt in ("JPEG", "MPO"):
        try:
            sampling = JpegImagePlugin.get_sampling(im)
        except Exception:
            sampling = -1
        if sampling in (0, 1, 2):
            options["subsampling"] = sampling
        if im.info.get("progressive") or im.info.get("progression"):
            options["progressive"] = True
    elif fmt == "TIFF":
        compression = im.info.get("compression")
        if compression in ("raw", "tiff_lzw", "tiff_deflate", "tiff_adobe_deflate", "packbits", "jpeg"):
            options["compression"] = (
                "tiff_deflate" if compression == "jpeg" and im.mode not in ("RGB", "L", "CMYK") else compression
            )
    elif fmt == "WEBP" and im.info.get("lossless"):
        options["lossless"] = True
    return options


def encode(
    decoded: DecodedImage, image: Image.Image | None = None, *, jpeg_quality: int = DEFAULT_JPEG_QUALITY
) -> bytes:
    """Encode ``image`` (default: the decoded one) in the input's format, metadata-free."""
    im = decoded.image if image is None else image
    fmt = decoded.output_format
    options = dict(decoded.save_options)
    if decoded.icc_profile and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["icc_profile"] = decoded.icc_profile
    transparency = im.info.get("transparency")
    im.info = {}
    if transparency is not None and fmt in ("PNG", "GIF"):
        options["transparency"] = transparency
    if fmt == "JPEG":
        options["quality"] = jpeg_quality
        options.setdefault("optimize", False)
    elif fmt == "WEBP" and not options.get("lossless"):
        options["quality"] = jpeg_quality
    out = io.BytesIO()
    try:
        im.save(out, format=fmt, exif=b"", **options)
    except (OSError, ValueError, KeyError) as exc:
        raise UnsupportedImageError(f"cannot write a {im.mode} image as {fmt} ({type(exc).__name__})") from None
    return out.getvalue()
