"""Regenerate the bundled font subsets (dev-only; needs fonttools and Debian's fonts-noto-cjk).

The generator must render identically on machines without CJK fonts, so it ships small
subsets of Noto Sans CJK SC and Noto Serif CJK SC (both SIL OFL 1.1, see ``OFL.txt``; the
serif face gives values a second type family) holding exactly the characters
it can print (:func:`redactor.generator.identities.pool_characters`). Run after changing
any pool or label, from the repository root::

    python -m redactor.generator.fonts.make_subset

Reads ``/usr/share/fonts/opentype/noto/NotoSansCJK-{Regular,Bold}.ttc`` and
``NotoSerifCJK-Regular.ttc`` (faces "Noto Sans CJK SC" / "Noto Serif CJK SC", found by family
name, not by index) and writes ``NotoSansCJKsc-{Regular,Bold}-subset.otf`` and
``NotoSerifCJKsc-Regular-subset.otf`` next to this file. Hinting and vertical metrics are
dropped to keep the files small.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTCollection, TTFont  # type: ignore[import-untyped]

from redactor.generator.identities import pool_characters

SOURCE_DIR = Path("/usr/share/fonts/opentype/noto")
OUT_DIR = Path(__file__).resolve().parent
#: Output file -> (source collection, family name of the SC face in it).
FACES = {
    "NotoSansCJKsc-Regular-subset.otf": ("NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    "NotoSansCJKsc-Bold-subset.otf": ("NotoSansCJK-Bold.ttc", "Noto Sans CJK SC"),
    "NotoSerifCJKsc-Regular-subset.otf": ("NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC"),
}


def _sc_face(path: Path, family: str) -> int:
    """Index of the SC face in the collection (checked by name: the order is not guaranteed)."""
    collection = TTCollection(str(path), lazy=True)
    for index, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == family:
            return index
    raise SystemExit(f"{path}: no face named {family!r}")


def make_subset(name: str, text: str) -> Path:
    collection, family = FACES[name]
    source = SOURCE_DIR / collection
    font = TTFont(str(source), fontNumber=_sc_face(source, family), lazy=False, recalcTimestamp=False)  # reproducible
    options = subset.Options()
    options.hinting = False
    options.desubroutinize = True
    options.layout_features = ["kern", "liga", "locl", "palt"]
    options.drop_tables += ["VORG", "vhea", "vmtx", "BASE"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    out = OUT_DIR / name
    font.save(str(out))
    return out


def main() -> int:
    text = "".join(sorted(pool_characters()))
    for name in FACES:
        out = make_subset(name, text)
        print(f"{out.name}: {len(text)} characters, {out.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
