"""Writing specimens: one image with its ``.truth.json`` and ``.ailicenserec.xml``, a generated
set (kinds weighted towards what gets redacted), and the committed ``samples/`` set."""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redactor.core.companions import SIDECAR_SUFFIX, TRUTH_SUFFIX
from redactor.generator.families import ALL_KINDS, FAMILIES, KINDS, LEGACY_FAMILIES, MULTI, PHOTOCOPY, family_kind
from redactor.generator.specimens import (
    MULTI_CARD_KINDS,
    CardOptions,
    Specimen,
    render_multi,
    render_photocopy,
    render_single,
    render_specimen,
)

#: Relative frequency in generated sets: fronts and licence pages are what gets redacted.
KIND_WEIGHTS = {"id_front": 4.0, "dl_main": 3.0, "id_back": 1.5, PHOTOCOPY: 1.0, "none": 1.0, MULTI: 1.0}
#: File name stem of each kind in a generated set.
STEMS = {
    "id_front": "idcard-front",
    "id_back": "idcard-back",
    "dl_main": "license",
    "none": "noncard",
    MULTI: "multicard",
    PHOTOCOPY: "photocopy",
}


def write_specimen(spec: Specimen, out_dir: Path, stem: str) -> Path:
    """Write ``<stem>.png|jpg`` plus ``.truth.json`` and ``.ailicenserec.xml`` next to it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (stem + spec.extension)
    if spec.extension == ".png":
        spec.image.save(path, optimize=spec.variant == "scan")  # pages are large: default compression
    else:
        quality = 60 + int(spec.truth["seed"]) % 31  # 60-90, fixed per seed
        spec.image.save(path, quality=quality)
    truth = dict(spec.truth, image=path.name)
    Path(f"{path}{TRUTH_SUFFIX}").write_text(_dump(truth), encoding="utf-8")
    Path(f"{path}{SIDECAR_SUFFIX}").write_bytes(spec.sidecar + b"\n")
    return path


_POINT_JSON = re.compile(r"\[\s*(-?[\d.]+),\s*(-?[\d.]+)\s*\]")


def _dump(truth: dict[str, Any]) -> str:
    """Indented JSON with each ``[x, y]`` point on one line, so the files stay readable."""
    return _POINT_JSON.sub(r"[\1, \2]", json.dumps(truth, ensure_ascii=False, indent=1)) + "\n"


def stem(kind: str, variant: str, index: int) -> str:
    if kind in ("none", PHOTOCOPY):
        return f"{STEMS[kind]}-{index:04d}"
    return f"{STEMS[kind]}-{variant}-{index:04d}"


def _drawable(kind: str, families: frozenset[str] | None) -> bool:
    """Whether ``kind`` can be drawn from the chosen families (``none`` needs no family)."""
    if families is None or kind == "none":
        return True
    if kind == MULTI:
        return any(set(FAMILIES[k]) & families for k in MULTI_CARD_KINDS)
    if kind == PHOTOCOPY:
        return any(set(FAMILIES[k]) & families for k in ("id_front", "id_back"))
    return bool(set(FAMILIES[kind]) & families)


def generate_set(
    out_dir: Path,
    *,
    count: int,
    seed: int,
    kinds: Sequence[str] = KINDS,
    photo_fraction: float = 0.5,
    families: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``count`` specimens (kinds weighted towards ID fronts and licences); returns image paths.

    ``families`` limits the layout families cards are drawn in (default: all, held-out ones
    included); kinds with no chosen family are left out (``none`` has none and stays; a
    photocopy needs a front or a back family, its other side is then of any family).
    ``multi`` (two cards in one photo) is drawn only when listed in ``kinds``.
    """
    unknown = [k for k in kinds if k not in ALL_KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {unknown}; expected some of: {', '.join(ALL_KINDS)}")
    if not 0.0 <= photo_fraction <= 1.0 or math.isnan(photo_fraction):
        raise ValueError("photo_fraction must be within 0-1")
    chosen_families = None if families is None else frozenset(families)
    for fam in chosen_families or ():
        family_kind(fam)  # ValueError for an unknown family
    chosen = [k for k in dict.fromkeys(kinds) if _drawable(k, chosen_families)]
    if not chosen:
        raise ValueError(f"none of the kinds {list(kinds)} has a card in the families {sorted(families or ())}")
    options = CardOptions(None if chosen_families is None else tuple(sorted(chosen_families)))
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not security
    paths = []
    for index in range(1, count + 1):
        kind = rng.choices(chosen, weights=[KIND_WEIGHTS[k] for k in chosen])[0]
        if kind == PHOTOCOPY:
            variant = PHOTOCOPY
        else:
            variant = "photo" if kind in ("none", MULTI) or rng.random() < photo_fraction else "scan"
        item_seed = rng.randrange(2**31)
        if kind == PHOTOCOPY:
            spec = render_photocopy(item_seed, options=options)
        elif kind == MULTI:
            spec = render_multi(item_seed, None, options)
        else:
            spec = render_single(kind, variant, item_seed, None, options, None)
        paths.append(write_specimen(spec, out_dir, stem(kind, variant, index)))
    return paths


def sample_plan() -> list[tuple[str, str, int | None]]:
    """The committed ``samples/`` set: (kind, variant, forced rotation) per image."""
    return [
        ("id_front", "scan", None),
        ("id_front", "scan", None),
        ("id_front", "scan", None),
        ("id_front", "photo", 0),
        ("id_front", "photo", 90),
        ("id_front", "photo", 180),
        ("dl_main", "scan", None),
        ("dl_main", "scan", None),
        ("dl_main", "photo", 0),
        ("dl_main", "photo", 270),
        ("id_back", "photo", None),
        ("none", "photo", None),
    ]


def render_sample(kind: str, variant: str, seed: int, rotation: int | None) -> Specimen:
    """One image of the committed set: base layouts (``*-a``), uncropped scans, as before families existed."""
    family = LEGACY_FAMILIES.get(kind)
    return render_specimen(kind, variant, seed, rotation, family=family, cropped=False, randomise=False)


def generate_samples(out_dir: Path, *, seed: int = 2024) -> list[Path]:
    """Write the fixed sample set (see :func:`sample_plan`, :func:`render_sample`), deterministic for ``seed``."""
    paths = []
    for index, (kind, variant, rotation) in enumerate(sample_plan(), start=1):
        spec = render_sample(kind, variant, seed * 1000 + index, rotation)
        paths.append(write_specimen(spec, out_dir, stem(kind, variant, index)))
    return paths
