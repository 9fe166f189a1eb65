"""``redactor eval DIR``: measure a locator (plus the policy's padding) against generated ground truth.

The lead's main typer app registers :func:`eval_command` as ``eval``. It prints figures and
asserts nothing, so it exits 0 whatever it measures (2 only for usage errors). It prints
field ids and image names, never DetectedText or truth values.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from redactor.core.policy import Policy
from redactor.errors import PolicyError, UsageError
from redactor.locators import ENGINES, make_locator
from redactor.policy_files import load_policy_option

EXIT_USAGE = 2


def eval_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder of generated images, each with <image>.truth.json next to it (recursive).")
    ],
    engine: Annotated[str, typer.Option("--engine", "-e", help=f"Locator to measure: {', '.join(ENGINES)}.")] = "local",
    policy: Annotated[
        Optional[str],
        typer.Option(
            "--policy",
            "-p",
            help="Policy YAML file, or a bundled policy name (default, strict, minimal). Default: the bundled default.",
        ),
    ] = None,
    json_out: Annotated[
        Optional[Path], typer.Option("--json", help="Write the summary and every per-image record to this JSON file.")
    ] = None,
    limit: Annotated[
        Optional[int], typer.Option("--limit", min=1, help="Only the first N images (path order).")
    ] = None,
    show_failures: Annotated[
        bool,
        typer.Option("--show-failures", help="List images with uncovered sensitive fields (field ids and reasons)."),
    ] = False,
    perturb: Annotated[
        bool,
        typer.Option(
            "--perturb",
            help="Measure the second look instead of a locator: mask each image from its truth and from injected "
            "faults (shifted polygons, a dropped field, another image's response, a moved portrait) and report "
            "the share of leaking outputs caught and of correct ones quarantined.",
        ),
    ] = False,
    verify: Annotated[
        str,
        typer.Option(
            "--verify", help="on: measure what the pipeline writes, after its second look (the default); off: the plan."
        ),
    ] = "on",
) -> None:
    """Measure how well a locator and policy cover the ground-truth fields (prints figures, asserts nothing)."""
    from redactor.evaluation import format_report, run_evaluation  # heavy: only when measuring
    from redactor.verifiers import default_verifier

    try:
        if not directory.is_dir():
            raise UsageError(f"{directory} is not a folder")
        pol = load_policy_option(policy)
        locator = make_locator(engine)
        if verify not in ("on", "off"):
            raise UsageError(f"--verify must be on or off, not {verify!r}")
        verifier = default_verifier() if verify == "on" else None
    except (PolicyError, UsageError) as exc:
        typer.echo(f"redactor: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None

    if perturb:
        _perturb(directory, pol, limit, json_out)
        return
    progress = _progress_printer(lambda n, r: f"evaluated {n} images ({r.decision.value}: {r.name[-40:]})")
    evaluation = run_evaluation(directory, locator, pol, limit=limit, on_progress=progress, verifier=verifier)
    if progress is not None:
        sys.stderr.write("\r\033[K")
    if not evaluation.results:
        typer.echo(f"redactor: no images with a .truth.json file found below {directory}", err=True)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(evaluation.to_record(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    typer.echo(format_report(evaluation, show_failures=show_failures))
    if json_out is not None:
        typer.echo(f"per-image records: {json_out}", err=True)


def _perturb(directory: Path, policy: Policy, limit: int | None, json_out: Path | None) -> None:
    from redactor.perturbation import format_study, run_perturbation
    from redactor.verifiers import default_verifier

    tick = _progress_printer(lambda n, t: f"verified {n} outputs ({t.fault}: {t.image[-40:]})")
    study = run_perturbation(directory, policy, default_verifier(), limit=limit, on_progress=tick)
    if tick is not None:
        sys.stderr.write("\r\033[K")
    if not study.trials:
        typer.echo(f"redactor: no card images with a .truth.json file found below {directory}", err=True)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(study.to_record(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    typer.echo(format_study(study))


def _progress_printer(line: Callable[[int, Any], str]) -> Callable[[Any], None] | None:
    """A one-line counter on a terminal (slow engines take a while), ``line(count, item)``
    after each item; nothing when piped."""
    if not sys.stderr.isatty():
        return None
    count = 0

    def tick(item: Any) -> None:
        nonlocal count
        count += 1
        sys.stderr.write(f"\r{line(count, item)}\033[K")
        sys.stderr.flush()

    return tick
