"""``redactor emulator``: serve the COS + AILicenseRec emulator until Ctrl-C."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from redactor.emulator.recognition import ENGINES


def emulator_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 9000,
    data: Annotated[
        Optional[Path],
        typer.Option(help="Keep buckets under this folder (one folder per bucket); default: in memory."),
    ] = None,
    bucket: Annotated[
        Optional[list[str]],
        typer.Option("--bucket", help="Create this bucket, named <name>-<appid> (repeatable)."),
    ] = None,
    latency: Annotated[float, typer.Option(min=0, help="Delay every request by this many milliseconds.")] = 0.0,
    ci_engine: Annotated[
        str, typer.Option(help=f"What answers AILicenseRec: {', '.join(ENGINES)} (replay: <key>.ailicenserec.xml).")
    ] = "replay",
    ci_rate: Annotated[
        float, typer.Option(min=0, help="AILicenseRec requests per second before 503 SlowDown (0: unlimited).")
    ] = 0.0,
    faults: Annotated[
        str,
        typer.Option(
            help="Injected faults, e.g. 'get:5xx=0.1,slowdown=0.05,reset=0.01,truncate=0.01;put:5xx=0.1;*:latency=50'."
        ),
    ] = "",
    seed: Annotated[int, typer.Option(help="Seed for the injected faults (same seed, same faults).")] = 0,
    secret_id: Annotated[
        Optional[str],
        typer.Option(help="SecretId accepted (default: $COS_SECRET_ID, then $TENCENTCLOUD_SECRET_ID)."),
    ] = None,
    secret_key: Annotated[
        Optional[str],
        typer.Option(help="SecretKey accepted (default: $COS_SECRET_KEY, then $TENCENTCLOUD_SECRET_KEY)."),
    ] = None,
) -> None:
    """Serve a local Tencent COS + AILicenseRec emulator (private buckets, signed requests, faults)."""
    from redactor.emulator.app import EmulatorApp, EmulatorConfig, credentials_from_env  # only when serving
    from redactor.emulator.faults import parse_faults
    from redactor.emulator.server import EmulatorServer
    from redactor.emulator.store import Store

    if (secret_id is None) != (secret_key is None):
        raise typer.BadParameter("give both --secret-id and --secret-key, or neither")
    pair = (secret_id, secret_key) if secret_id and secret_key else credentials_from_env(os.environ)
    if pair is None:
        typer.echo("error: no credentials: give --secret-id/--secret-key or set COS_SECRET_ID/COS_SECRET_KEY", err=True)
        raise typer.Exit(2)
    if ci_engine not in ENGINES:
        raise typer.BadParameter(f"expected one of {', '.join(ENGINES)}", param_hint="--ci-engine")
    try:
        parse_faults(faults)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None
    store = Store(data)
    for name in bucket or []:
        try:
            store.create_bucket(name)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--bucket") from None
    config = EmulatorConfig({pair[0]: pair[1]}, latency, ci_engine, ci_rate, faults, seed)
    server = EmulatorServer(EmulatorApp(store, config), host=host, port=port, log_level="info")
    url = server.start()
    typer.echo(f"COS emulator on {url} (buckets: {', '.join(store.buckets()) or 'none'}); Ctrl-C stops it", err=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
