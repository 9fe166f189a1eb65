"""Dev tool: measure where the detector puts the boxes of each card's fixed texts.

The local locator registers a card by matching detected text boxes (labels, and the
start of left-aligned values) to a template. Detector boxes carry a margin around the
glyphs that depends on the detector, so the template is measured with the detector
itself: flat synthetic cards are rendered at several scales, detected, and the box
frames of every fixed text are averaged in card pixel units.

    python -m redactor.locators.local.calibrate > redactor/locators/local/template_data.py

Not used at run time.
"""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from typing import Any

import numpy as np
from PIL import Image

import redactor.generator.render as R
from redactor.generator.identities import make_identity, make_license
from redactor.locators.local.ocr import line_frame, shared_models

RENDERS = 12
SCALES = (0.55, 0.8, 1.0)


#: Values that always have the same printed width: their box end is an anchor too.
FIXED_VALUES = {"id_front": {"id_number"}, "dl_main": {"license_number", "birth", "first_issue_date"}, "id_back": set()}


def _render(
    kind: str, rng: random.Random
) -> tuple[Image.Image, list[tuple[str, tuple[float, float, float, float], bool]]]:
    """A flat card and its fixed items: (role, glyph box, whether the box end is fixed)."""
    record: list[tuple[str, tuple[float, float, float, float]]] = []
    original = R.draw_text

    def spy(draw: Any, xy: Any, text: str, *args: Any, **kwargs: Any) -> Any:
        box = original(draw, xy, text, *args, **kwargs)
        record.append((text, box))
        return box

    R.draw_text = spy  # type: ignore[assignment]
    try:
        if kind == "id_front":
            card = R.render_id_front(make_identity(rng), rng)
        elif kind == "id_back":
            card = R.render_id_back(make_identity(rng), rng)
        else:
            card = R.render_dl_main(make_license(rng), rng)
    finally:
        R.draw_text = original  # type: ignore[assignment]
    labels = _labels(kind)
    items = [(text, box, True) for text, box in record if text in labels]
    for f in card.fields:
        if f.field == "issuing_authority" and kind == "dl_main":
            continue  # the seal: not a text line
        (x0, y0), _, (x1, y1), _ = f.lines[0]
        m = R.MARGIN
        items.append((f"value:{f.field}", (x0 + m, y0 + m, x1 - m, y1 - m), f.field in FIXED_VALUES[kind]))
    return card.image, items


def _labels(kind: str) -> set[str]:
    return {
        "id_front": set(R.ID_LABELS.values()),
        "id_back": set(R.ID_BACK_LABELS.values()) | set(R.ID_BACK_TITLE),
        "dl_main": {zh for zh, _ in R.DL_LABELS.values()}
        | {en for _, en in R.DL_LABELS.values()}
        | {R.DL_TITLE, R.DL_TITLE_EN},
    }[kind]


def main() -> None:
    models = shared_models()
    out: dict[str, Any] = {}
    for kind in ("id_front", "id_back", "dl_main"):
        starts: dict[str, list[np.ndarray]] = defaultdict(list)
        ends: dict[str, list[np.ndarray]] = defaultdict(list)
        rng = random.Random(1234)  # noqa: S311 - reproducible synthetic cards
        size: tuple[int, int] | None = None
        for _ in range(RENDERS):
            card, items = _render(kind, rng)
            size = card.size
            for scale in SCALES:
                w, h = int(card.width * scale), int(card.height * scale)
                canvas = Image.new("RGB", (w + 80, h + 80), (255, 255, 255))
                small = card.resize((w, h))
                canvas.paste(small, (40, 40), small)
                bgr = np.asarray(canvas)[:, :, ::-1].copy()
                frames = [line_frame(b.corners) for b in models.detect(bgr, limit=736)]
                for role, (x0, y0, x1, y1), fixed_end in items:
                    gx0, gx1 = x0 * scale + 40, x1 * scale + 40
                    gy0, gy1 = y0 * scale + 40, y1 * scale + 40
                    gh = gy1 - gy0
                    for f in frames:
                        mid_y = (f[0][1] + f[3][1]) / 2
                        if not (gy0 <= mid_y <= gy1) or abs(f[0][0] - gx0) > 0.6 * gh:
                            continue  # this box does not start at this text
                        card_frame = (f - 40) / scale
                        starts[role].append(card_frame[[0, 3]])
                        if fixed_end and abs(f[1][0] - gx1) <= 0.6 * gh:
                            ends[role].append(card_frame[[1, 2]])
        assert size is not None
        entry: dict[str, Any] = {"size": [float(size[0]), float(size[1])], "start": {}, "end": {}}
        for name, table in (("start", starts), ("end", ends)):
            for role, found in sorted(table.items()):
                med = np.median(np.stack(found), axis=0)
                entry[name][role] = [[round(float(v), 1) for v in p] for p in med]
                spread = float(np.std(np.stack(found)[:, :, 0]))
                print(f"# {kind} {name} {role!r}: {len(found)} boxes, x spread {spread:.1f}px", file=sys.stderr)
        out[kind] = entry
    print('"""Generated by ``python -m redactor.locators.local.calibrate``: where the detector puts the')
    print("boxes of each card's fixed texts, in card pixels (card size under 'size').")
    print()
    print("'start': the start edge (top, bottom) of boxes that begin with the text; 'end': the end")
    print('edge (top, bottom) of boxes that end with it (labels alone on their line, fixed-width values)."""')
    print()
    print("from typing import Any")
    print()
    print(f"FRAMES: dict[str, Any] = {out!r}")


if __name__ == "__main__":
    main()
