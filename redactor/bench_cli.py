"""``redactor bench``: benchmarks that print figures side by side from one run (asserting nothing)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer

from redactor.console import VerifyMode
from redactor.errors import UsageError


def bench_command(
    what: Annotated[
        str, typer.Argument(help="masking (the masking stage), cos (COS to COS at steady state) or cos-memory.")
    ] = "masking",
    iterations: Annotated[int, typer.Option(min=3, help="masking: timed repetitions per variant.")] = 30,
    objects: Annotated[
        Optional[int],
        typer.Option(min=10, help="cos: source keys (default: enough for the window); cos-memory: objects (300)."),
    ] = None,
    workers: Annotated[
        Optional[int],
        typer.Option(
            min=1, help="cos: --workers of the measured run (default: the run's own default); cos-memory: 32."
        ),
    ] = None,
    duration: Annotated[
        Optional[float], typer.Option(min=1, help="cos: seconds of the measured steady-state window (30).")
    ] = None,
    warmup: Annotated[
        Optional[float],
        typer.Option(min=0, help="cos: seconds of the run never measured (10); the cap's burst is also excluded."),
    ] = None,
    latency: Annotated[
        Optional[float], typer.Option(min=0, help="cos: milliseconds the emulator adds to every request (50).")
    ] = None,
    ci_cap: Annotated[
        Optional[float], typer.Option(min=0, help="cos: AILicenseRec requests/s the emulator allows (100; 0: no cap).")
    ] = None,
    verify: Annotated[
        VerifyMode,
        typer.Option("--verify", help="cos: the run's --verify, and the CPU floor's.", case_sensitive=False),
    ] = VerifyMode.ON,
    quick: Annotated[
        bool, typer.Option("--quick", help="cos: a smoke run of a few seconds (small images; figures not meaningful).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Benchmarks that print figures side by side from one run (asserting nothing)."""
    from redactor.bench import cos_memory_benchmark, masking_benchmark

    if what == "masking":
        result = masking_benchmark(iterations=iterations)
    elif what == "cos":
        from redactor.bench_cos import CosBenchOptions, cos_benchmark

        given = {
            "workers": workers,
            "objects": objects,
            "duration_s": duration,
            "warmup_s": warmup,
            "latency_ms": latency,
            "ci_cap": ci_cap,
        }
        chosen: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        chosen["verify"] = verify is VerifyMode.ON
        bench_options = CosBenchOptions.quick(**chosen) if quick else CosBenchOptions(**chosen)
        result = cos_benchmark(bench_options).as_dict()
    elif what == "cos-memory":
        result = cos_memory_benchmark(objects or 300, workers or 32)
    else:
        raise UsageError(f"unknown benchmark {what!r}: masking, cos or cos-memory")
    typer.echo(json.dumps(result, indent=1) if as_json else result["text"])
