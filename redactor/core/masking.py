"""Apply mask actions to regions of an image, in the image's own mode.

Each action works on the region's bounding box only (fast on large scans) and is
pasted back through the region's hard-edged mask (0 or 255, no feathering), so
every pixel inside is replaced and none outside changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from redactor.core.geometry import Region

#: Below these sizes, relative to the field's text height, blur and mosaic leave text
#: legible (or recoverable by matching, Hill et al. 2016), so they are raised to them.
BLUR_FLOOR_PER_HEIGHT = 0.5
PIXELATE_FLOOR_PER_HEIGHT = 0.75
MIN_BLUR_PX = 4.0
MIN_BLOCK_PX = 6.0

_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I", "F")
SUPPORTED_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I;16", "I", "F", "YCbCr")


@dataclass(frozen=True)
class MaskOp:
    """One region to mask: ``action`` is box, blur or pixelate; ``strength_px`` is final."""

    region: Region
    action: str
    color: tuple[int, int, int] = (0, 0, 0)
    strength_px: float = 24.0


def effective_strength(action: str, policy_strength: float, scale: float, text_height: float) -> float:
    """Policy strength (px at 1000 px card width) scaled to this image, raised to the floor."""
    scaled = policy_strength * scale
    if action == "blur":
        return max(scaled, BLUR_FLOOR_PER_HEIGHT * text_height, MIN_BLUR_PX)
    if action == "pixelate":
        return max(scaled, PIXELATE_FLOOR_PER_HEIGHT * text_height, MIN_BLOCK_PX)
    return scaled


def fill_value(
    mode: str, color: tuple[int, int, int], palette_image: Image.Image | None = None
) -> float | tuple[int, ...]:
    """The pixel value that paints ``color`` in ``mode`` (opaque where there is alpha)."""
    r, g, b = color
    lum = (r * 299 + g * 587 + b * 114) // 1000
    if mode in ("RGB",):
        return (r, g, b)
    if mode == "RGBA":
        return (r, g, b, 255)
    if mode == "CMYK":
        k = 255 - max(r, g, b)
        if k == 255:
            return (0, 0, 0, 255)
        return (
            (255 - r - k) * 255 // (255 - k),
            (255 - g - k) * 255 // (255 - k),
            (255 - b - k) * 255 // (255 - k),
            k,
        )
    if mode == "YCbCr":
        ycc = Image.new("RGB", (1, 1), color).convert("YCbCr").getpixel((0, 0))
        assert isinstance(ycc, tuple)
        return tuple(int(v) for v in ycc)
    if mode == "L":
        return lum
    if mode == "LA":
        return (lum, 255)
    if mode == "1":
        return 255 if lum >= 128 else 0
    if mode in ("I;16", "I"):
        return lum * 257
    if mode == "F":
        return float(lum)
    if mode in ("P", "PA") and palette_image is not None:
        return _nearest_palette_index(palette_image, color)
    raise ValueError(f"unsupported image mode {mode}")


def _nearest_palette_index(image: Image.Image, color: tuple[int, int, int]) -> int:
    palette = image.getpalette() or []
    entries = np.array(palette, dtype=np.int32).reshape(-1, 3)
    dist = ((entries - np.array(color, dtype=np.int32)) ** 2).sum(axis=1)
    return int(np.argmin(dist))


def apply_ops(image: Image.Image, ops: list[MaskOp]) -> None:
    """Mask ``image`` in place. Regions are processed in order; later ones see earlier masks."""
    for op in ops:
        if op.region.is_empty or op.action == "keep":
            continue
        mask_array = op.region.raster()
        if not mask_array.any():
            continue
        box = op.region.box
        if op.action == "box":
            replacement: Image.Image | float | tuple[int, ...] = fill_value(image.mode, op.color, image)
        elif op.action == "blur":
            replacement = _blurred(image, box, op.strength_px)
        elif op.action == "pixelate":
            replacement = _pixelated(image, box, op.strength_px)
        else:
            raise ValueError(f"unknown mask action {op.action!r}")
        _paste_masked(image, box, mask_array, replacement)


def _paste_masked(
    image: Image.Image,
    box: tuple[int, int, int, int],
    mask_array: np.ndarray,
    replacement: Image.Image | float | tuple[int, ...],
) -> None:
    """Replace the masked pixels of ``box`` and nothing else."""
    if image.mode not in _WIDE_MODES:
        # Mode "1" mask: binary, hard edges, and many times faster than an "L" mask.
        image.paste(replacement, box, Image.fromarray(mask_array))  # type: ignore[arg-type]
        return
    # Pillow mis-pastes multi-byte pixels through masks, so do those in numpy.
    current = np.array(image.crop(box))
    if isinstance(replacement, Image.Image):
        current[mask_array] = np.asarray(replacement)[mask_array]
    else:
        current[mask_array] = replacement
    image.paste(Image.fromarray(current), box)


def _blurred(image: Image.Image, box: tuple[int, int, int, int], radius: float) -> Image.Image:
    """The blurred content of ``box``, computed with a margin so edges blur like the interior.

    Large radii are done at reduced resolution (box-reduce, blur, bilinear enlarge):
    the result is as smooth as a full-size Gaussian and many times cheaper.
    """
    x0, y0, x1, y1 = box
    margin = int(radius) + 1
    outer = (max(0, x0 - margin), max(0, y0 - margin), min(image.width, x1 + margin), min(image.height, y1 + margin))
    crop = image.crop(outer)
    factor = max(1, int(radius // 4))
    if factor > 1 and crop.mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        small = crop.reduce(factor)
        blurred = small.filter(ImageFilter.GaussianBlur(radius / factor)).resize(crop.size, Image.Resampling.BILINEAR)
    else:
        blurred = _filter_any_mode(crop, radius)
    inner = (x0 - outer[0], y0 - outer[1], x1 - outer[0], y1 - outer[1])
    return blurred.crop(inner)


def _filter_any_mode(crop: Image.Image, radius: float) -> Image.Image:
    mode = crop.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return crop.filter(ImageFilter.GaussianBlur(radius))
    if mode in ("P", "PA", "1"):
        work = crop.convert("RGBA" if "transparency" in crop.info or mode == "PA" else "RGB")
        work = work.filter(ImageFilter.GaussianBlur(radius))
        return _back_to_mode(work, crop)
    if mode == "YCbCr":
        return crop.convert("RGB").filter(ImageFilter.GaussianBlur(radius)).convert("YCbCr")
    # 16/32-bit and float modes: three box blurs approximate a Gaussian (central limit).
    array = np.asarray(crop, dtype=np.float64)
    width = max(1, int(round(radius * 1.15)))
    for _ in range(3):
        array = _box_blur_axis(_box_blur_axis(array, width, 0), width, 1)
    if mode == "F":
        return Image.fromarray(array.astype(np.float32))
    info = np.iinfo(np.uint16) if mode == "I;16" else np.iinfo(np.int32)
    clipped = np.clip(np.rint(array), info.min, info.max)
    if mode == "I;16":
        return Image.fromarray(clipped.astype(np.uint16))
    return Image.fromarray(clipped.astype(np.int32))


def _box_blur_axis(array: np.ndarray, half: int, axis: int) -> np.ndarray:
    pad = [(0, 0)] * array.ndim
    pad[axis] = (half + 1, half)
    padded = np.pad(array, pad, mode="edge")
    summed = np.cumsum(padded, axis=axis)
    size = array.shape[axis]
    hi = np.take(summed, np.arange(2 * half + 1, 2 * half + 1 + size), axis=axis)
    lo = np.take(summed, np.arange(0, size), axis=axis)
    return np.asarray((hi - lo) / (2 * half + 1))


def _pixelated(image: Image.Image, box: tuple[int, int, int, int], block: float) -> Image.Image:
    """Mosaic of ``box`` with square blocks of ``block`` px (area average, then nearest)."""
    crop = image.crop(box)
    b = max(1, min(int(round(block)), crop.width, crop.height))  # a block over the box is one block
    small = (max(1, -(-crop.width // b)), max(1, -(-crop.height // b)))
    mode = crop.mode
    if mode in ("P", "PA", "1"):
        work = crop.convert("RGBA" if "transparency" in crop.info or mode == "PA" else "RGB")
        mosaic = work.resize(small, Image.Resampling.BOX).resize((small[0] * b, small[1] * b), Image.Resampling.NEAREST)
        return _back_to_mode(mosaic.crop((0, 0, crop.width, crop.height)), crop)
    if mode in ("I;16", "I", "F"):
        array = np.asarray(crop, dtype=np.float64)
        h, w = array.shape
        out = np.empty_like(array)
        for y in range(0, h, b):
            for x in range(0, w, b):
                out[y : y + b, x : x + b] = array[y : y + b, x : x + b].mean()
        if mode == "F":
            return Image.fromarray(out.astype(np.float32))
        if mode == "I;16":
            return Image.fromarray(np.rint(out).astype(np.uint16))
        return Image.fromarray(np.rint(out).astype(np.int32))
    mosaic = crop.resize(small, Image.Resampling.BOX).resize((small[0] * b, small[1] * b), Image.Resampling.NEAREST)
    return mosaic.crop((0, 0, crop.width, crop.height))


def _back_to_mode(work: Image.Image, original: Image.Image) -> Image.Image:
    if original.mode == "1":
        return work.convert("L").convert("1", dither=Image.Dither.NONE)
    palette_ref = Image.new("P", (1, 1))
    palette_ref.putpalette(original.getpalette() or [])
    converted = work.convert("RGB").quantize(palette=palette_ref, dither=Image.Dither.NONE)
    if original.mode == "PA":
        alpha = work.getchannel("A") if work.mode == "RGBA" else Image.new("L", work.size, 255)
        converted = converted.convert("PA")
        converted.putalpha(alpha)
    return converted
