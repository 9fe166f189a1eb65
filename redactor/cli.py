"""The command line: ``redactor run SRC DST`` and friends. Thin: it parses options,
builds the adapters, and hands over to the pipeline.

Exit codes: 0 every image redacted; 1 some quarantined, failed or refused; 2 usage or
environment errors (one line on stderr, nothing processed); 3 an internal error (a bug).
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import click
import typer

from redactor.console import VerifyMode, open_report, printable, progress_counter, run_with_progress, summary_line
from redactor.core.fields import CardTypeHint
from redactor.core.imaging import DEFAULT_JPEG_QUALITY, DEFAULT_MAX_PIXELS
from redactor.core.policy import format_effective_rules, policy_warnings
from redactor.emulator.cli import emulator_command
from redactor.errors import PolicyError, RedactorError, UsageError
from redactor.eval_cli import eval_command
from redactor.policy_files import load_policy_option
from redactor.reporting import default_page_path
from redactor.runs import Places, RunSettings, build_locator, build_runner, cos_checkpoint

app = typer.Typer(
    name="redactor",
    help="Mask the sensitive fields of Chinese ID card and driving licence images according to a YAML policy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(help="Work with redaction policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

#: Exit codes: all clear; something in doubt (quarantined, failed, refused); usage or
#: environment error; internal error (a bug: never shown as a traceback).
EXIT_OK, EXIT_DOUBT, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
_F = TypeVar("_F", bound=Callable[..., Any])


class Executor(str, enum.Enum):
    """Where ``redactor run`` processes the images."""

    LOCAL = "local"
    RAY = "ray"


def _guarded(command: _F) -> _F:
    """A command whose errors end as one line on stderr: redactor's own and the
    environment's (OSError) exit 2, anything else is an internal error (exit 3)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except typer.BadParameter:  # typer's bundled click: its own usage errors, printed by typer
            raise
        except RedactorError as exc:
            raise _fail(str(exc)) from None
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            raise _fail(f"{exc.strerror or type(exc).__name__}{where}") from None
        except Exception as exc:
            raise _fail(
                f"internal error ({type(exc).__name__}); this is a bug, please report it", EXIT_INTERNAL
            ) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("redactor")
        except PackageNotFoundError:
            number = "unknown"
        typer.echo(f"redactor {number}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Mask the sensitive fields of Chinese ID card and driving licence images according to a YAML policy."""


PolicyOption = Annotated[
    Optional[str],
    typer.Option(
        "--policy",
        "-p",
        help="A policy file (a path: holds a / or ends in .yaml/.yml) or a bundled policy name "
        "(default, strict, minimal). Default: the bundled default.",
        metavar="FILE|NAME",
    ),
]
EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        "-e",
        help="How fields are located: local (offline OCR, the default), replay (saved <image>.ailicenserec.xml), "
        "cos (Tencent Cloud Infinite AILicenseRec; needs --staging).",
        metavar="ENGINE",
    ),
]
EndpointOption = Annotated[
    Optional[str],
    typer.Option(
        help="COS endpoint to send requests to (e.g. the emulator, http://127.0.0.1:9000). Env: COS_ENDPOINT.",
        metavar="URL",
    ),
]
RegionOption = Annotated[
    Optional[str], typer.Option(help="COS region, e.g. ap-guangzhou. Env: COS_REGION.", metavar="REGION")
]
StagingOption = Annotated[
    Optional[str],
    typer.Option(
        help="For --engine cos: where local images are uploaded for detection (and deleted after), "
        "cos://<bucket-appid>/<prefix>/. Env: REDACTOR_STAGING.",
        metavar="URL",
    ),
]
CardTypeOption = Annotated[
    CardTypeHint,
    typer.Option(
        "--card-type",
        help="Card type hint for the locator: auto, IDCard or DriverLicense.",
        case_sensitive=False,
        metavar="TYPE",
    ),
]


def _absolute_folder(place: str, cos: object) -> str:
    """A folder place as an absolute path (a Ray worker's working folder is not the driver's)."""
    return place if cos is not None else str(Path(place).resolve())


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"redactor: {message}", err=True)
    return typer.Exit(code)


@app.command()
@_guarded
def run(
    src: Annotated[
        str,
        typer.Argument(help="Folder of card images (recursive), or cos://<bucket-appid>/<prefix>/.", metavar="SRC"),
    ],
    dst: Annotated[
        str,
        typer.Argument(
            help="Folder (or cos://<bucket-appid>/<prefix>/) for masked images; paths mirrored.", metavar="DST"
        ),
    ],
    policy: PolicyOption = None,
    engine: Annotated[
        Optional[str],
        typer.Option(
            "--engine",
            "-e",
            help="How fields are located: local (offline OCR; the default for folders), cos (Tencent Cloud "
            "Infinite AILicenseRec; the default for cos:// sources), replay (saved <image>.ailicenserec.xml).",
            metavar="ENGINE",
        ),
    ] = None,
    card_type: CardTypeOption = CardTypeHint.AUTO,
    report: Annotated[
        Optional[Path],
        typer.Option(
            help="JSONL report file (one line per entry below SRC, then a summary); never inside SRC. "
            "Default: DST/.redactor/reports/.",
            metavar="FILE",
        ),
    ] = None,
    quarantine: Annotated[
        Optional[str],
        typer.Option(
            help="Folder or cos:// prefix for images in doubt (default: next to DST, named '<DST name>.quarantine'); "
            "'none': report them only, copy nothing.",
            metavar="WHERE",
        ),
    ] = None,
    workers: Annotated[
        Optional[int],
        typer.Option(
            min=1,
            max=64,
            help="Images in flight (1-64; default: the cores for local work, 32 when COS is involved; "
            "CPU work never runs on more images than there are cores).",
            metavar="N",
        ),
    ] = None,
    include: Annotated[
        Optional[list[str]],
        typer.Option(help="Only paths matching this glob (repeatable; matches path or file name).", metavar="GLOB"),
    ] = None,
    exclude: Annotated[
        Optional[list[str]], typer.Option(help="Skip paths matching this glob (repeatable).", metavar="GLOB")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Locate and decide, write nothing (report only).")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Redo every image and replace existing outputs, even foreign ones.")
    ] = False,
    jpeg_quality: Annotated[
        int, typer.Option(min=1, max=100, help="JPEG/WebP output quality (1-100).", metavar="Q")
    ] = DEFAULT_JPEG_QUALITY,
    max_pixels: Annotated[
        int, typer.Option(min=1, help="Refuse images with more pixels than this.", metavar="N")
    ] = DEFAULT_MAX_PIXELS,
    endpoint: EndpointOption = None,
    region: RegionOption = None,
    staging: StagingOption = None,
    ci_rate: Annotated[
        float,
        typer.Option(
            min=0.1, help="AILicenseRec requests per second for the whole run (the account allows 100).", metavar="RATE"
        ),
    ] = 50.0,
    in_place: Annotated[
        bool,
        typer.Option(
            "--in-place",
            help="COS only, DST = SRC: replace each original by its verified masked copy (one PUT, its MD5 "
            "checked by COS). Doubtful originals stay in place (and are copied to quarantine).",
        ),
    ] = False,
    upload_report: Annotated[
        bool,
        typer.Option(
            "--upload-report",
            help="Also store the report (and the --html page) in DST under .redactor/reports/ (COS or folder).",
        ),
    ] = False,
    html: Annotated[
        bool,
        typer.Option(
            "--html",
            help="Also write the run's HTML page (summary, chart, contact sheet of the masked outputs) beside "
            "the report: same name, .html (local even for cos:// destinations; see redactor report).",
        ),
    ] = False,
    checkpoint: Annotated[
        Optional[Path],
        typer.Option(
            help="Local checkpoint file for resuming (default: DST/.redactor/manifest.jsonl for folders, "
            "~/.cache/redactor/checkpoints/<hash of SRC and DST>.jsonl for cos:// destinations); never inside SRC.",
            metavar="FILE",
        ),
    ] = None,
    verify: Annotated[
        VerifyMode,
        typer.Option(
            "--verify",
            help="A second look at every masked image before it is written (its own text detection on the "
            "masked pixels): what fails goes to quarantine. 'off' is recorded in the report.",
            case_sensitive=False,
        ),
    ] = VerifyMode.ON,
    executor: Annotated[
        Executor,
        typer.Option(
            "--executor",
            help="Where the images are processed: local (this process's threads) or ray (long-lived actors on "
            "a Ray cluster, one AILicenseRec rate for all of them; needs redactor's 'ray' extra; folders "
            "must be at the same path on every node).",
            case_sensitive=False,
        ),
    ] = Executor.LOCAL,
    ray_address: Annotated[
        Optional[str],
        typer.Option(
            help="For --executor ray: the cluster to join (e.g. ray://head:10001 or auto). Default: a cluster "
            "already started in this process, else a local one started for the run.",
            metavar="ADDR",
        ),
    ] = None,
    ray_actors: Annotated[
        Optional[int],
        typer.Option(
            min=1,
            max=4096,
            help="For --executor ray: worker actors (one CPU each; default: the cluster's CPUs). Each has "
            "--workers images in flight.",
            metavar="N",
        ),
    ] = None,
    from_inventory: Annotated[
        Optional[str],
        typer.Option(
            "--from-inventory",
            help="Take SRC's keys from this COS inventory report (cos://<bucket-appid>/.../manifest.json, CSV) "
            "instead of listing SRC: every key in it must be below SRC.",
            metavar="MANIFEST",
        ),
    ] = None,
) -> None:
    """Redact every image below SRC into DST; images in doubt go to the quarantine folder or prefix.

    Every entry below SRC is in the report once, with what happened to it; links and special files are refused.

    Nothing is written inside SRC.

    Examples:

      redactor run scans/ masked/   # offline OCR, the bundled default policy

      redactor run scans/ masked/ -p strict --report run.jsonl

      redactor run scans/ masked/ --dry-run --report plan.jsonl

      redactor run cos://bucket-1250000000/in/ cos://bucket-1250000000/out/
    """
    from redactor.pipeline import MANIFEST_NAME, STATE_DIR, default_workers
    from redactor.policy_files import policy_option_text

    places = Places.parse(src, dst, quarantine)
    pol = load_policy_option(policy)
    places.check(in_place)
    if executor is Executor.RAY:
        # a folder reaches the workers as an absolute path: on a cluster of several machines
        # it must be mounted at that path on every node (a shared filesystem)
        src, dst = _absolute_folder(src, places.src_cos), _absolute_folder(dst, places.dst_cos)
        quarantine = places.quarantine if places.report_only else _absolute_folder(places.quarantine, places.q_cos)
        places = Places.parse(src, dst, quarantine)
    elif ray_address is not None or ray_actors is not None:
        raise UsageError("--ray-address and --ray-actors need --executor ray")
    if from_inventory is not None and places.src_cos is None:
        raise UsageError("--from-inventory needs a cos:// SRC (the bucket the inventory is of)")
    engine = engine or ("cos" if places.src_cos else "local")
    if engine == "cos" and staging is None and places.src_cos:
        from redactor.locators.cloud import STAGING_PREFIX

        staging = f"cos://{places.src_cos[0]}/{STAGING_PREFIX}"
    if report is None and not dry_run:
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        folder = Path(dst) / STATE_DIR / "reports" if places.dst_cos is None else Path.cwd()
        report = folder / f"redactor-report-{stamp}.jsonl" if places.dst_cos else folder / f"run-{stamp}.jsonl"
    if checkpoint is None:
        checkpoint = Path(dst) / STATE_DIR / MANIFEST_NAME if places.dst_cos is None else cos_checkpoint(src, dst)
    if html and report is None:
        raise UsageError("--html needs a report: give --report FILE with --dry-run")
    page = default_page_path(report) if html and report is not None else None
    places.check_files({"--report": report, "--checkpoint": None if dry_run else checkpoint, "--html": page})
    for warning in policy_warnings(pol):
        typer.echo(f"redactor: warning: {warning}", err=True)
    policy_text, policy_source = policy_option_text(policy)
    settings = RunSettings(
        src=src,
        dst=dst,
        quarantine=places.quarantine,
        policy_text=policy_text,
        policy_source=policy_source,
        engine=engine,
        card_type=card_type,
        workers=workers or default_workers(bool(places.src_cos or places.dst_cos or places.q_cos) or engine == "cos"),
        include=tuple(include or ()),
        exclude=tuple(exclude or ()),
        dry_run=dry_run,
        overwrite=overwrite,
        in_place=in_place,
        jpeg_quality=jpeg_quality,
        max_pixels=max_pixels,
        endpoint=endpoint,
        region=region,
        staging=staging,
        ci_rate=ci_rate,
        verify=verify is VerifyMode.ON,
        inventory=from_inventory,
    )
    q = places.quarantine
    if executor is Executor.RAY:
        from redactor.executors.ray import run_on_ray

        dest = places.storages(endpoint, region, create=not dry_run, ci_rate=ci_rate)[1]
        with progress_counter() as tick:
            summary = run_on_ray(
                settings,
                report=report,
                checkpoint=None if dry_run else checkpoint,
                address=ray_address,
                actors=ray_actors,
                on_progress=tick,
            )
    else:
        runner = build_runner(settings, manifest_path=checkpoint)
        dest = runner.dest
        runner.manifest.open()
        report_handle = open_report(report)
        runner.report = report_handle
        try:
            summary = run_with_progress(runner)
        finally:
            runner.manifest.close()
            if report_handle is not None:
                report_handle.close()
    if upload_report and report is not None and not dry_run:
        key = f"{STATE_DIR}/reports/{report.name}"
        try:
            dest.write(key, report.read_bytes())
        except (RedactorError, OSError) as exc:
            typer.echo(f"redactor: the report could not be uploaded: {exc}", err=True)
    if page is not None and report is not None:
        _write_page(report, page, dest, places, upload_report and not dry_run)
    typer.echo(summary_line(summary.to_record(), dry_run, report, q), err=True)
    if summary.aborted is not None:
        typer.echo(f"redactor: the run stopped early ({printable(summary.aborted)}); rerun to continue", err=True)
    for source_key, reason in summary.examples:
        typer.echo(f"  {printable(source_key)}: {printable(reason)[:200]}", err=True)
    raise typer.Exit(EXIT_OK if summary.all_clear else EXIT_DOUBT)


def _write_page(report: Path, page: Path, dest: Any, places: Places, upload: bool) -> None:
    """``run --html``: the page beside the report (and in DST with --upload-report); a page
    that cannot be written is a warning, never a change to the run's exit code."""
    from redactor.pipeline import STATE_DIR
    from redactor.reporting import write_run_page

    try:
        result = write_run_page(report, page, dest=dest, dst=places.dst, quarantine=places.quarantine)
    except (RedactorError, OSError) as exc:
        typer.echo(f"redactor: the HTML page could not be written: {printable(str(exc))[:300]}", err=True)
        return
    typer.echo(
        f"redactor: page: {printable(str(page))} ({result.cards} images, {result.thumbnails} thumbnails, "
        f"{result.bytes / 1e6:.1f} MB)",
        err=True,
    )
    if upload:
        try:
            dest.write(f"{STATE_DIR}/reports/{page.name}", result.html.encode("utf-8"))
        except (RedactorError, OSError) as exc:
            typer.echo(f"redactor: the HTML page could not be uploaded: {printable(str(exc))[:300]}", err=True)


@app.command("report")
@_guarded
def report_page(
    report_file: Annotated[
        Path, typer.Argument(help="A run's JSONL report (redactor run --report).", metavar="REPORT.jsonl")
    ],
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out", "-o", help="The page to write. Default: beside the report, same name, .html.", metavar="FILE"
        ),
    ] = None,
    dst: Annotated[
        Optional[str],
        typer.Option(
            help="The run's DST (folder or cos://<bucket-appid>/<prefix>/), whose masked outputs become the "
            "thumbnails. Default: the folder holding the report when it is DST/.redactor/reports/...; "
            "without one the page draws the located fields only.",
            metavar="DST",
        ),
    ] = None,
    quarantine: Annotated[
        Optional[str],
        typer.Option(
            help="The run's quarantine, for the links of images in doubt (never read). Default: next to DST, "
            "as redactor run's.",
            metavar="WHERE",
        ),
    ] = None,
    max_images: Annotated[
        int,
        typer.Option(
            min=1,
            max=20000,
            help="Images on the contact sheet (every one in doubt first, then an even spread of the redacted; "
            "the page says what it left out).",
            metavar="N",
        ),
    ] = 1000,
    endpoint: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Write one self-contained HTML page of a run: counts by decision, card type, engine and
    reason, timings, the policy, a chart, and a filterable contact sheet of the masked outputs
    with their fields drawn.

    The page holds nothing the report does not: no text read on a card, no unmasked pixels
    (an output is shown only if it is byte for byte what the run wrote; images in doubt are
    drawn as diagrams), no credentials. It fetches nothing when opened.

    Examples:

      redactor report masked/.redactor/reports/run-20250101T000000000000Z.jsonl

      redactor report redactor-report-….jsonl --dst cos://bucket-1250000000/out/ --out run.html
    """
    from redactor.reporting import write_run_page
    from redactor.reporting.build import inferred_destination, store_for
    from redactor.runs import default_quarantine

    if report_file.is_dir():
        raise UsageError(f"{report_file} is a folder: give the report file")
    page = out or default_page_path(report_file)
    if page.resolve() == report_file.resolve():
        raise UsageError(f"--out {page} is the report itself")
    if page.is_dir():
        raise UsageError(f"--out {page} is a folder: give a file name")
    dst = dst or inferred_destination(report_file)
    store = store_for(dst, endpoint, region) if dst else None
    if quarantine is None and dst:
        quarantine = default_quarantine(dst)
    result = write_run_page(report_file, page, dest=store, dst=dst, quarantine=quarantine, max_cards=max_images)
    typer.echo(
        f"{printable(str(page))}: {result.cards} images, {result.thumbnails} thumbnails, {result.bytes / 1e6:.1f} MB"
    )


@app.command()
@_guarded
def inspect(
    image: Annotated[Path, typer.Argument(help="One card image.", metavar="IMAGE")],
    policy: PolicyOption = None,
    engine: EngineOption = "local",
    card_type: CardTypeOption = CardTypeHint.AUTO,
    draw: Annotated[
        Optional[Path],
        typer.Option(help="Write a PNG of the image with each field's polygon, name and action.", metavar="FILE"),
    ] = None,
    endpoint: EndpointOption = None,
    region: RegionOption = None,
    staging: StagingOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    show_text: Annotated[
        bool, typer.Option("--show-text", help="Also print DetectedText (personal data: only when you must).")
    ] = False,
) -> None:
    """List the fields located on IMAGE and what the policy would do with each."""
    from redactor.inspect import inspect_image

    try:
        pol = load_policy_option(policy)
        locator = build_locator(engine, endpoint, region, staging)
        text = inspect_image(image, pol, locator, card_type, draw=draw, as_json=as_json, show_text=show_text)
    except (PolicyError, UsageError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(text)


@policy_app.command("check")
@_guarded
def policy_check(
    file: Annotated[
        str,
        typer.Argument(
            help="A policy file (holds a / or ends in .yaml/.yml) or a bundled policy name.", metavar="FILE|NAME"
        ),
    ],
) -> None:
    """Validate a policy and print the effective rule for every field of every card type."""
    try:
        pol = load_policy_option(file)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    typer.echo(format_effective_rules(pol))
    for warning in policy_warnings(pol):
        typer.echo(f"warning: {warning}", err=True)


def _register_commands() -> None:
    """The commands defined beside their subsystems, with the same one-line error ending."""
    from redactor.bench_cli import bench_command
    from redactor.generator.cli import generate_command

    app.command("bench")(_guarded(bench_command))
    app.command("eval")(_guarded(eval_command))
    app.command("emulator")(_guarded(emulator_command))
    app.command("generate", help="Render synthetic specimen cards with ground truth (never real people).")(
        _guarded(generate_command)
    )


_register_commands()


def main() -> None:
    from redactor.runtime import limit_malloc_arenas

    limit_malloc_arenas()
    app()


if __name__ == "__main__":
    main()
