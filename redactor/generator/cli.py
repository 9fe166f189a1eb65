"""``redactor generate OUT``: write synthetic specimen images with truth and sidecars.

The lead's main typer app registers :func:`generate_command`; running this module directly
(``python -m redactor.generator.cli OUT``) is a dev shortcut that needs no main app.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from redactor.generator.families import ALL_KINDS, FAMILIES, HELD_OUT_FAMILIES, KINDS

ALL_FAMILIES = [f for names in FAMILIES.values() for f in names]


def generate_command(
    out: Annotated[Path, typer.Argument(help="Folder to write images, .truth.json and .ailicenserec.xml files into.")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many images to generate.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same files.")] = 1,
    kinds: Annotated[
        str,
        typer.Option(
            "--kinds",
            help="Comma-separated kinds to draw from: id_front, id_back, dl_main, photocopy (an A4 greyscale page "
            "with an ID front above its back), none (a background with no card), multi (two cards in one photo; "
            "only when listed).",
        ),
    ] = ",".join(KINDS),
    families: Annotated[
        str,
        typer.Option(
            "--families",
            help=f"Comma-separated layout families cards are drawn in: {', '.join(ALL_FAMILIES)} "
            f"(held out from tuning: {', '.join(sorted(HELD_OUT_FAMILIES))}). Kinds with no chosen family are "
            "left out. Default: all.",
        ),
    ] = ",".join(ALL_FAMILIES),
    photos: Annotated[
        float,
        typer.Option(
            "--photos",
            min=0.0,
            max=1.0,
            help="Fraction of single-card images made as phone photos (rest: scans, 30% of them cropped at the card "
            "edge).",
        ),
    ] = 0.5,
    sample_set: Annotated[
        bool,
        typer.Option(
            "--sample-set",
            help="Write the fixed 12-image set committed in samples/ instead (base layouts; ignores --count, "
            "--kinds, --families, --photos).",
        ),
    ] = False,
) -> None:
    """Generate synthetic (fake) ID card and driving licence images with exact ground truth."""
    from redactor.generator.sets import generate_samples, generate_set  # drawing code: only now

    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
    unknown = [k for k in chosen if k not in ALL_KINDS]
    if unknown or not chosen:
        raise typer.BadParameter(f"unknown kind(s) {', '.join(unknown) or '(none given)'}; use: {', '.join(ALL_KINDS)}")
    picked = tuple(f.strip() for f in families.split(",") if f.strip())
    bad = [f for f in picked if f not in ALL_FAMILIES]
    if bad or not picked:
        raise typer.BadParameter(
            f"unknown family(s) {', '.join(bad) or '(none given)'}; use: {', '.join(ALL_FAMILIES)}"
        )
    started = time.monotonic()
    if sample_set:
        paths = generate_samples(out, seed=seed)
    else:
        try:
            paths = generate_set(out, count=count, seed=seed, kinds=chosen, photo_fraction=photos, families=picked)
        except ValueError as exc:  # e.g. --kinds dl_main --families idf-a: nothing to draw
            raise typer.BadParameter(str(exc)) from None
    typer.echo(f"wrote {len(paths)} images to {out} in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    typer.run(generate_command)
