"""``redactor emulator`` as a real process: where its SecretKey comes from (the environment or
``--secret-key-file``; ``--secret-key`` still works, with a warning), and that the key never
shows on its command line or in an error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from redactor.cli import app
from redactor.cos.signing import sign

SID, SKEY = "AKIDclitest", "cli-test-secret-key-0123456789"
BUCKET = "cli-1250000000"
HOST = f"{BUCKET}.cos.ap-guangzhou.myqcloud.com"
#: The environment without any credentials the developer's shell may hold.
CLEAN_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("COS_SECRET", "TENCENTCLOUD_SECRET", "TENCENTCLOUD_"))
}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "redactor.cli", "emulator", "--port", "0", "--bucket", BUCKET, *args]


@pytest.fixture
def start() -> Iterator:  # type: ignore[type-arg]
    """Start the emulator; returns (process, url, output lines before it listened)."""
    procs: list[subprocess.Popen[str]] = []

    def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str, list[str]]:
        proc = subprocess.Popen(command(*args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        procs.append(proc)
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "emulator on " in line:
                url = line.split("emulator on ", 1)[1].split()[0]
                return proc, url, lines
        raise AssertionError(f"the emulator did not start: {lines}")

    yield _start
    for proc in procs:
        proc.kill()
        proc.wait()


def status_with(url: str, secret_key: str) -> int:
    """The status of a GET of a missing key signed with ``secret_key``: 404 when accepted."""
    now = int(time.time())
    sig = sign(
        secret_id=SID,
        secret_key=secret_key,
        method="GET",
        path="/missing.jpg",
        headers={"host": HOST},
        start=now - 60,
        end=now + 60,
    )
    return httpx.get(f"{url}/missing.jpg", headers={"host": HOST, "Authorization": sig.authorization()}).status_code


def cmdline(proc: subprocess.Popen[str]) -> str:
    return Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_key_from_a_file_is_not_on_the_command_line(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "key"
    key_file.write_text(SKEY + "\n")
    proc, url, lines = start(["--secret-id", SID, "--secret-key-file", str(key_file)], CLEAN_ENV)
    assert SKEY not in cmdline(proc)
    assert not any("warning" in line for line in lines)
    assert status_with(url, SKEY) == 404
    assert status_with(url, "another-key") == 403


def test_key_from_the_environment(start) -> None:  # type: ignore[no-untyped-def]
    proc, url, lines = start([], {**CLEAN_ENV, "COS_SECRET_ID": SID, "COS_SECRET_KEY": SKEY})
    assert SKEY not in cmdline(proc) and not any("warning" in line for line in lines)
    assert status_with(url, SKEY) == 404


def test_key_on_the_command_line_still_works_with_a_warning(start) -> None:  # type: ignore[no-untyped-def]
    _, url, lines = start(["--secret-id", SID, "--secret-key", SKEY], CLEAN_ENV)
    warning = "".join(line for line in lines if "warning" in line)
    assert "--secret-key is visible" in warning and " ps" in warning
    assert "COS_SECRET_KEY" in warning and "--secret-key-file" in warning
    assert SKEY not in "".join(lines)
    assert status_with(url, SKEY) == 404


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--secret-id", SID, "--secret-key-file", "{missing}"], "cannot read"),
        (["--secret-id", SID, "--secret-key-file", "{empty}"], "holds no key"),
        (["--secret-key-file", "{key}"], "--secret-id"),
        (["--secret-id", SID, "--secret-key-file", "{key}", "--secret-key", SKEY], "not both"),
        ([], "no credentials"),
    ],
    ids=["missing-file", "empty-file", "no-id", "both", "none"],
)
def test_credential_errors_name_no_secret(tmp_path: Path, args: list[str], expected: str) -> None:
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "key").write_text(SKEY)
    paths = {"missing": tmp_path / "nope", "empty": tmp_path / "empty", "key": tmp_path / "key"}
    run = subprocess.run(
        command(*(a.format(**paths) for a in args)), capture_output=True, text=True, env=CLEAN_ENV, timeout=60
    )
    assert run.returncode == 2
    output = run.stdout + run.stderr
    assert expected in " ".join(output.split())  # rich may wrap the message
    assert SKEY not in output


def test_help_names_the_file_option_and_the_warning() -> None:
    result = CliRunner().invoke(app, ["emulator", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--secret-key-file" in text and "visible to every user in ps" in text
