"""Masks are polygon-exact with hard edges: every pixel inside the grown polygon is
replaced, none outside the padding band changes, in every supported mode."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from redactor.core.geometry import grow, text_height
from redactor.core.masking import MaskOp, apply_ops, effective_strength
from redactor.core.results import Polygon

MAGENTA = (255, 0, 255)


def noise_image(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 200, (h, w, 3), dtype=np.uint8)  # never pure magenta
    return Image.fromarray(arr)


def inside(points, xs, ys):
    """Pixel centres strictly inside a convex polygon (either orientation)."""
    n = len(points)
    signs = []
    for i in range(n):
        x0, y0 = points[i]
        x1, y1 = points[(i + 1) % n]
        signs.append((x1 - x0) * (ys - y0) - (y1 - y0) * (xs - x0))
    s = np.stack(signs)
    return (s > 0).all(axis=0) | (s < 0).all(axis=0)


def grown_polygon_points(poly: Polygon, d: float):
    """Reference growth: the polygon's points moved out by d along both axes-free normals
    is hard to write independently, so test containment of the un-grown polygon dilated
    by a disc, sampled as the polygon shifted by d in 16 directions."""
    out = []
    for k in range(16):
        a = 2 * np.pi * k / 16
        out.extend((x + d * np.cos(a), y + d * np.sin(a)) for x, y in poly.points)
    return out


quads = st.builds(
    lambda cx, cy, w, h, angle: Polygon.of(
        [
            (cx + dx * np.cos(angle) - dy * np.sin(angle), cy + dx * np.sin(angle) + dy * np.cos(angle))
            for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
        ]
    ),
    st.floats(-20, 220),
    st.floats(-20, 140),
    st.floats(3, 150),
    st.floats(3, 60),
    st.floats(-np.pi, np.pi),
)


@settings(max_examples=200, deadline=None)
@given(quads, st.floats(0, 0.5))
def test_box_replaces_every_pixel_inside_and_nothing_outside(poly, padding):
    w, h = 200, 120
    image = noise_image(w, h)
    before = np.asarray(image).copy()
    d = padding * text_height(poly)
    region = grow(poly, d, w, h)
    apply_ops(image, [MaskOp(region, "box", MAGENTA)])
    after = np.asarray(image)
    changed = (after != before).any(axis=2)
    is_magenta = (after == MAGENTA).all(axis=2)
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    # 1. every pixel whose centre lies inside the grown polygon (disc dilation) is masked
    from redactor.core.geometry import convex_hull

    hull = convex_hull(grown_polygon_points(poly, d * 0.999))
    must = inside(hull, xs, ys)
    assert is_magenta[must].all()
    # also every pixel touched by the original polygon
    assert is_magenta[inside(poly.points, xs, ys)].all()
    # 2. nothing changes outside the grown polygon's band (mitre + 1.5 px raster slack)
    far = ~inside(convex_hull(grown_polygon_points(poly, d * 1.5 + 2.5)), xs, ys)
    assert not changed[far].any()
    # 3. hard edges: a changed pixel is exactly the fill
    assert (is_magenta == changed).all()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "1", "I", "F"])
@pytest.mark.parametrize("action", ["box", "blur", "pixelate"])
def test_every_mode_keeps_size_and_mode_and_changes_only_the_region(mode, action):
    base = noise_image(160, 100, 3)
    image = (
        base.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)
    )
    before = np.asarray(image).copy()
    poly = Polygon.rect(40, 30, 120, 60)
    region = grow(poly, 3, 160, 100)
    apply_ops(image, [MaskOp(region, action, (0, 0, 0), 8)])
    assert image.mode == mode and image.size == (160, 100)
    after = np.asarray(image)
    diff = after != before
    if diff.ndim == 3:
        diff = diff.any(axis=2)
    x0, y0, x1, y1 = region.box
    outside = np.ones_like(diff)
    outside[y0:y1, x0:x1] = False
    assert not diff[outside].any()
    floor = 0.3 if mode == "1" else 0.5  # bilevel noise is already half black
    assert diff[35:55, 45:115].mean() > floor  # the noise inside is destroyed


def test_blur_destroys_text_detail():
    image = Image.new("L", (300, 80), 255)
    from PIL import ImageDraw

    ImageDraw.Draw(image).text((10, 20), "110101199003071234", fill=0, font_size=30)
    poly = Polygon.rect(5, 15, 295, 60)
    strength = effective_strength("blur", 1, 1.0, text_height(poly))
    before = np.asarray(image).astype(float)
    apply_ops(image, [MaskOp(grow(poly, 0, 300, 80), "blur", strength_px=strength)])
    after = np.asarray(image).astype(float)
    # high-frequency energy (horizontal gradient) inside the field collapses
    g_before = np.abs(np.diff(before[15:60, 5:295], axis=1)).mean()
    g_after = np.abs(np.diff(after[15:60, 5:295], axis=1)).mean()
    assert g_after < g_before * 0.1


def test_strength_floors_scale_with_text_height():
    assert effective_strength("blur", 1, 1.0, 40) == pytest.approx(20)
    assert effective_strength("pixelate", 1, 1.0, 40) == pytest.approx(30)
    assert effective_strength("blur", 24, 2.0, 10) == pytest.approx(48)


def test_palette_box_uses_a_palette_entry_and_keeps_outside_bytes():
    image = noise_image(80, 60, 5).convert("P")
    before = np.asarray(image).copy()
    region = grow(Polygon.rect(10, 10, 40, 30), 0, 80, 60)
    apply_ops(image, [MaskOp(region, "box", (0, 0, 0))])
    after = np.asarray(image)
    assert len(np.unique(after[12:28, 12:38])) == 1
    assert (after[40:, :] == before[40:, :]).all()
