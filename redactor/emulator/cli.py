"""``redactor emulator``: serve the COS + AILicenseRec emulator until Ctrl-C."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
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
    secret_key_file: Annotated[
        Optional[Path],
        typer.Option(
            help="Read the SecretKey accepted from this file (its first line), with --secret-id. "
            "Default: $COS_SECRET_KEY, then $TENCENTCLOUD_SECRET_KEY.",
            metavar="PATH",
        ),
    ] = None,
    secret_key: Annotated[
        Optional[str],
        typer.Option(
            help="SecretKey accepted. Discouraged: a command line is visible to every user in ps; "
            "prefer $COS_SECRET_KEY or --secret-key-file.",
        ),
    ] = None,
) -> None:
    """Serve a local Tencent COS + AILicenseRec emulator (private buckets, signed requests, faults).

    Credentials: COS_SECRET_ID/COS_SECRET_KEY (or TENCENTCLOUD_SECRET_ID/_KEY) from the
    environment, or --secret-id with --secret-key-file.
    """
    from redactor.emulator.app import EmulatorApp, EmulatorConfig  # only when serving
    from redactor.emulator.faults import parse_faults
    from redactor.emulator.server import EmulatorServer
    from redactor.emulator.store import Store

    pair = credentials(secret_id, secret_key_file, secret_key, os.environ)
    if ci_engine not in ENGINES:
        raise _bad(f"expected one of {', '.join(ENGINES)}", "--ci-engine")
    try:
        parse_faults(faults)
    except ValueError as exc:
        raise _bad(str(exc), "--faults") from None
    store = Store(data)
    for name in bucket or []:
        try:
            store.create_bucket(name)
        except ValueError as exc:
            raise _bad(str(exc), "--bucket") from None
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


#: What a command line shows: to every local user (ps, /proc/<pid>/cmdline), and often to logs.
CMDLINE_WARNING = (
    "warning: --secret-key is visible to every user of this machine in ps; "
    "set COS_SECRET_KEY in the environment or use --secret-key-file PATH instead"
)


def credentials(
    secret_id: str | None, key_file: Path | None, secret_key: str | None, environ: Mapping[str, str]
) -> tuple[str, str]:
    """The (SecretId, SecretKey) to accept: --secret-id with --secret-key-file (or, still
    accepted because documented, --secret-key, with a warning), else the environment.
    Errors name the option or the file, never a value."""
    from redactor.emulator.app import credentials_from_env

    if key_file is not None and secret_key is not None:
        raise _bad("give --secret-key-file or --secret-key, not both", "--secret-key-file")
    explicit = key_file is not None or secret_key is not None
    if explicit != (secret_id is not None):
        raise _bad("give --secret-id with --secret-key-file (or --secret-key), or neither", "--secret-id")
    if secret_key is not None:
        typer.echo(f"redactor emulator: {CMDLINE_WARNING}", err=True)
    if key_file is not None:
        try:
            lines = key_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise _bad(f"cannot read {key_file}: {reason}", "--secret-key-file") from None
        secret_key = lines[0].strip() if lines else ""
        if not secret_key:
            raise _bad(f"{key_file} holds no key on its first line", "--secret-key-file")
    if secret_id is not None and secret_key:
        return secret_id, secret_key
    pair = credentials_from_env(environ)
    if pair is None:
        typer.echo(
            "redactor emulator: error: no credentials: set COS_SECRET_ID/COS_SECRET_KEY, "
            "or give --secret-id with --secret-key-file",
            err=True,
        )
        raise typer.Exit(2)
    return pair


def _bad(message: str, option: str) -> typer.Exit:
    """A usage error as one line and exit 2 (typer's BadParameter raised in a command body
    would reach the CLI's guard as an internal error)."""
    typer.echo(f"redactor emulator: error: {option}: {message}", err=True)
    return typer.Exit(2)
