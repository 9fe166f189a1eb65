"""Run the emulator under uvicorn in a background thread (tests, the CLI, other tools).

``port=0`` lets the OS pick a free port; :attr:`EmulatorServer.url` is the bound address.
The h11 HTTP implementation is forced: the app relies on its handling of absolute-form
targets and of refused headers (to drop a connection without a response).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import uvicorn

from redactor.emulator.app import EmulatorApp
from redactor.emulator.faults import InjectedFault


class _DropInjected(logging.Filter):
    """Injected resets are not server errors: keep them out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedFault))


class EmulatorServer:
    """``with EmulatorServer(app) as server: httpx.get(server.url + ...)``."""

    def __init__(self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        self.app = app
        self.config = uvicorn.Config(
            app,
            host=host,
            port=port,
            http="h11",
            lifespan="off",
            log_level=log_level,
            access_log=False,
            server_header=False,
        )
        self._server = uvicorn.Server(self.config)
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> str:
        logging.getLogger("uvicorn.error").addFilter(_DropInjected())
        self._thread = threading.Thread(target=self._run, name="cos-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start on {self.config.host}:{self.config.port}")
            time.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        host, port = sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def spawn_emulator(
    data_dir: Path, buckets: Sequence[str], secret_id: str, secret_key: str, *extra: str, timeout: float = 60.0
) -> tuple[subprocess.Popen[str], str]:
    """``redactor emulator`` in its own process (as a real service, and one that survives the
    death of its clients), on a free loopback port; returns the process and its URL. The
    credentials go through its environment, never its command line (which ps shows)."""
    command = [sys.executable, "-m", "redactor.cli", "emulator", "--port", "0", "--data", str(data_dir)]
    for bucket in buckets:
        command += ["--bucket", bucket]
    command += list(extra)
    env = {**os.environ, "COS_SECRET_ID": secret_id, "COS_SECRET_KEY": secret_key}
    proc = subprocess.Popen(  # noqa: S603
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(r"emulator on (http://127\.0\.0\.1:\d+)", proc.stdout.readline())
        if match:
            # keep reading its output, or a full pipe would stall the server
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, match.group(1)
    proc.kill()
    raise RuntimeError("the emulator did not start")
